"""Rate limits: the reveal limit (D11 in docs/decisions.md) and a plain sliding window (console
sign-in attempts).

The reveal limit — at most 10 reveals per minute per token holder — is counted from the audit
trail, where every reveal is an event anyway: every API and console process of an installation
then enforces one shared limit with no extra state, and a restart does not reset it. Denied
attempts are not recorded, so hammering the endpoint does not extend the wait. (Two processes
allowing a reveal at the same instant can both let the 10th through: the limit stops a script
from dumping secrets, it is not a counter.)
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Final

from adapters.service import ConfigService

REVEALS_PER_WINDOW: Final = 10
WINDOW_SECONDS: Final = 60.0


class RevealLimit:
    def __init__(
        self,
        service: ConfigService,
        limit: int = REVEALS_PER_WINDOW,
        window: float = WINDOW_SECONDS,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._service = service
        self._limit = limit
        self._window = timedelta(seconds=window)
        self._clock = clock

    async def wait(self, actor: str) -> int | None:
        """None when ``actor`` may reveal now, else the seconds to wait (at least 1)."""
        now = self._clock()
        recent = [
            entry
            for entry in await self._service.audit_entries(actor=actor, since=now - self._window)
            if entry.kind == "reveal"
        ]
        if len(recent) < self._limit:
            return None
        frees_up = recent[-self._limit].when + self._window
        return max(1, math.ceil((frees_up - now).total_seconds()))


class SlidingWindowLimiter:
    """At most ``limit`` attempts per ``window`` seconds per key, in this process's memory."""

    def __init__(
        self,
        limit: int = REVEALS_PER_WINDOW,
        window: float = WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._limit = limit
        self._window = window
        self._clock = clock
        self._hits: dict[str, deque[float]] = {}

    def acquire(self, key: str) -> int | None:
        """Record an attempt for ``key``; None when allowed, else the seconds to wait (≥ 1)."""
        now = self._clock()
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - self._window:
            hits.popleft()
        if len(hits) >= self._limit:
            return max(1, math.ceil(hits[0] + self._window - now))
        hits.append(now)
        return None
