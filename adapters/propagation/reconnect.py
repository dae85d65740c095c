"""Keeping one hint subscription alive: subscribe, report, listen, and after a failure start over.

Every transport (Redis pub/sub, PostgreSQL LISTEN, MongoDB change streams) lives the same way:
subscribe; tell the sink it is connected (the Propagator then catches up, because whatever was
sent while nobody listened is gone); deliver hints until the connection fails; tell the sink it
is lost (polling covers meanwhile); release the connection; wait; start over. The loop is
written once, here, so the order of those steps, the health log (one line per transition, not
per retry) and the delays are the same for every transport; a transport only says how to
subscribe, listen and clean up, as a :class:`Session`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import attrs

from adapters.propagation.hints import Health, HintSink


class Backoff:
    """Exponential reconnect delays: quick after a blip, at most ``ceiling`` while it lasts."""

    def __init__(self, first: float = 0.05, ceiling: float = 2.0) -> None:
        self._first, self._ceiling = first, ceiling
        self._next = first

    def reset(self) -> None:
        self._next = self._first

    def next(self) -> float:
        delay = self._next
        self._next = min(self._next * 2, self._ceiling)
        return delay


@attrs.frozen
class Session:
    """One connection's life, as the steps :func:`run_with_reconnect` takes in order.

    ``subscribe`` returns once hints sent from then on will be delivered; ``listen`` delivers
    them until the connection fails, by raising; ``close`` releases whatever ``subscribe`` got
    to open, whichever step failed, and never raises.
    """

    subscribe: Callable[[], Awaitable[None]]
    listen: Callable[[], Awaitable[None]]
    close: Callable[[], Awaitable[None]]


def _never(error: BaseException) -> bool:
    return False


async def run_with_reconnect(
    name: str,
    new_session: Callable[[], Session],
    sink: HintSink,
    health: Health,
    errors: tuple[type[BaseException], ...],
    *,
    permanent: Callable[[BaseException], bool] = _never,
    backoff: Backoff | None = None,
) -> None:
    """Run sessions of the transport ``name`` one after another until cancelled.

    A session that fails with one of ``errors`` is an outage: ``health`` logs it (once per
    outage), the sink hears the transport is lost, and the next session starts after a backoff
    delay that a successful subscription resets. Any other exception is a bug and ends the
    loop. ``permanent`` picks the errors retrying cannot cure (and logs why): the sink hears the
    transport is lost and the loop ends, leaving the process on polling.
    """
    backoff = backoff or Backoff()
    while True:
        session = new_session()
        try:
            await session.subscribe()
            health.restored()
            backoff.reset()
            sink.connected(name)
            await session.listen()
        except errors as exc:
            if permanent(exc):
                sink.lost(name)
                return
            health.failed(exc)
            sink.lost(name)
        finally:
            await session.close()
        await asyncio.sleep(backoff.next())
