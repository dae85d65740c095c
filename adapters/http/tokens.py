"""Authenticating Management API requests against the tokens of :mod:`eventstore.tokens`."""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import Sequence

from adapters.http.feed import fresh
from adapters.service import ConfigService
from eventstore.log import RecordedEvent
from eventstore.tokens import TOKEN_STREAM, ApiToken, digest_of, fold


class TokenAuthenticator:
    """Finds the active token a request presents, in a table this process keeps current.

    The table is read from the log once, then folded forward from the token records the
    process's catch-up applies (the same pass that moves its config), so checking a token costs
    no query. Before a lookup, :func:`~adapters.http.feed.fresh` checks the log's head and
    catches up when another process appended, so a token revoked anywhere is refused by the
    next request; a read that accepts staleness (``consistency=stale``) skips that check and
    sees revocations when this process next catches up (D30 in docs/decisions.md).

    The presented token's digest is compared with every active token's digest in constant time,
    and the loop does not stop at a match, so timing reveals neither which token nor how much of
    one matched.
    """

    def __init__(self, service: ConfigService) -> None:
        self._service = service
        #: every token by name as of stream version ``_version``; None until first read
        self._tokens: dict[str, ApiToken] | None = None
        self._version = 0
        #: token records applied while the table was being read (folded in after it)
        self._arrived: list[RecordedEvent] = []
        self._reading = asyncio.Lock()
        if not service.file_mode:
            service.view.on_records("token-table", self._records)

    def _records(self, records: Sequence[RecordedEvent], position: int) -> None:
        del position
        mine = [r for r in records if r.stream == TOKEN_STREAM]
        if self._tokens is None:
            self._arrived += mine
        else:
            self._apply(mine)

    def _apply(self, records: Sequence[RecordedEvent]) -> None:
        assert self._tokens is not None
        newer = [r for r in records if r.version > self._version]
        if not newer:
            return
        if newer[0].version != self._version + 1:  # a gap: read the stream again
            self._tokens = None
            return
        self._tokens = fold(newer, self._tokens)
        self._version = newer[-1].version

    async def _table(self, *, current: bool) -> dict[str, ApiToken]:
        """The tokens as of the log's head (``current``) or of this process's last catch-up."""
        if self._service.file_mode:
            return {}  # no store: no token is ever valid
        if current:
            await fresh(self._service)
        while self._tokens is None:
            async with self._reading:
                if self._tokens is None:
                    self._arrived = []
                    records = await self._service.event_log.read_stream(TOKEN_STREAM)
                    self._tokens = fold(records)
                    self._version = records[-1].version if records else 0
                    arrived, self._arrived = self._arrived, []
                    self._apply(arrived)
        return self._tokens

    async def authenticate(self, presented: str, *, current: bool = True) -> ApiToken | None:
        digest = digest_of(presented).encode("ascii")
        found: ApiToken | None = None
        for token in (await self._table(current=current)).values():
            matches = hmac.compare_digest(digest, token.digest.encode("ascii"))
            if matches and token.active:
                found = token
        return found

    async def active(self, name: str, *, current: bool = True) -> ApiToken | None:
        """The active token called ``name`` as it is now (sessions that name a token use it)."""
        token = (await self._table(current=current)).get(name)
        return token if token is not None and token.active else None
