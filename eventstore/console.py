"""The admin console's facts in the log: sign-outs and failed sign-ins.

Why the log: ``parako-config serve`` may run as several processes over one store, a sign-out must
end its session in all of them at once (a copied cookie included), and the sign-in limit must be
one limit for all of them. The log is the one store every process already reads, and it is
hash-chained, so a sign-out cannot be deleted unnoticed — the same reasons as for API tokens
(:mod:`eventstore.tokens`). Each kind of fact has a stream of its own, so a burst of failed
sign-ins never delays a sign-out's append.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Final

from eventstore.events import ConsoleSignedOut, ConsoleSignInFailed, decode, encode
from eventstore.log import EventLog, NewEvent
from eventstore.retry import until_appended

SESSION_STREAM: Final = "auth/console-sessions"
SIGN_IN_STREAM: Final = "auth/console-sign-ins"

Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


class ConsoleRecords:
    """Appends the console's facts (each append retried until no other writer beats it)."""

    def __init__(self, log: EventLog, clock: Clock = _utc_now) -> None:
        self._log = log
        self._clock = clock

    async def signed_out(self, session: str, actor: str) -> None:
        await self._append(SESSION_STREAM, encode(ConsoleSignedOut(session, actor, self._clock())))

    async def sign_in_failed(self, token: str, client: str) -> None:
        event = encode(ConsoleSignInFailed(token, client, self._clock()))
        await self._append(SIGN_IN_STREAM, event)

    async def _append(self, stream: str, event: NewEvent) -> None:
        async def attempt() -> None:
            version = await self._log.stream_version(stream)
            await self._log.append(stream, version, [event])

        await until_appended(attempt)


class EndedSessions:
    """The ids of the sessions signed out, as the log has them now.

    Each look asks the log for the stream's version and reads only what was appended since the
    last look. A sign-out older than ``keep`` (the longest a session cookie lives) is forgotten:
    every cookie it could stop has expired by then.
    """

    def __init__(self, log: EventLog, keep: timedelta, clock: Clock = _utc_now) -> None:
        self._log = log
        self._keep = keep
        self._clock = clock
        self._version = 0
        self._ended: dict[str, datetime] = {}

    async def ended(self, session: str) -> bool:
        await self._refresh()
        return session in self._ended

    async def _refresh(self) -> None:
        version = await self._log.stream_version(SESSION_STREAM)
        if version > self._version:
            for recorded in await self._log.read_stream(SESSION_STREAM, self._version + 1):
                event = decode(recorded)
                if isinstance(event, ConsoleSignedOut):
                    self._ended[event.session] = event.at
                self._version = max(self._version, recorded.version)
        horizon = self._clock() - self._keep
        if any(at < horizon for at in self._ended.values()):
            self._ended = {id_: at for id_, at in self._ended.items() if at >= horizon}
