"""Announcing committed writes to other processes: one hint per write, on every transport.

Every write path (platform saves, restores and imports; tenant overrides; the tenant registry)
announces through one :class:`Announcer`, so the rules live once: nothing is sent for a write
that appended nothing, the position sent is the log head after the append (a receiver already
there skips its catch-up), and announcing never fails a committed write — a lost hint only
delays a change until the next poll (D19, D20 in docs/decisions.md).
"""

from __future__ import annotations

from collections.abc import Sequence

import structlog

from adapters.propagation.hints import Hint, HintTransport, new_origin_id, publish_all
from eventstore.log import EventLog

_log = structlog.get_logger(__name__)


class Announcer:
    """Publishes hints for one process; ``origin_id`` lets the process ignore its own."""

    def __init__(
        self,
        log: EventLog | None,
        transports: Sequence[HintTransport] = (),
        origin_id: str | None = None,
    ) -> None:
        self._log = log
        self.transports: list[HintTransport] = list(transports)
        #: random per process (per service): hints carry it so a process can ignore its own
        self.origin_id = origin_id or new_origin_id()

    async def announce(self, stream: str, version: int | None = None) -> None:
        """Tell every other process that ``stream`` moved (to ``version`` when known)."""
        if not self.transports or self._log is None:
            return
        try:
            head: int | None = await self._log.head_position()
        except Exception as exc:  # the write is committed; the hint can go without a position
            _log.debug("head unknown for a hint", error=type(exc).__name__)
            head = None
        await publish_all(self.transports, Hint(self.origin_id, stream, version, head))

    async def close(self) -> None:
        for transport in self.transports:
            await transport.close()
