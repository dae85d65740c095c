"""The reveal limit (D11): at most 10 reveals per minute per token holder.

A sliding window of the holder's recent attempts, kept in this process's memory: a reveal is a
human action (an admin looking at one secret), so a per-process window is enough to stop a
script from dumping every secret, and it needs no shared store. Denied attempts are not
recorded, so hammering the endpoint does not extend the wait.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from typing import Final

REVEALS_PER_WINDOW: Final = 10
WINDOW_SECONDS: Final = 60.0


class SlidingWindowLimiter:
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
