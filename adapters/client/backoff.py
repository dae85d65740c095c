"""Reconnection delays: doubling from ``initial`` up to ``cap``, each drawn at random from the
upper half of its step ("equal jitter"), so clients cut off together do not return together
while none waits much less than the step."""

from __future__ import annotations

import random


class Backoff:
    def __init__(self, initial: float = 0.5, cap: float = 30.0) -> None:
        if not 0 < initial <= cap:
            raise ValueError("backoff needs 0 < initial <= cap")
        self.initial = initial
        self.cap = cap
        self.attempt = 0

    def next_delay(self) -> float:
        step = min(self.cap, self.initial * 2 ** min(self.attempt, 32))
        self.attempt += 1
        return random.uniform(step / 2, step)

    def reset(self) -> None:
        self.attempt = 0
