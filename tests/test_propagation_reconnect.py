"""The reconnect loop every hint transport shares: the order in which it subscribes, reports to
the sink, logs health transitions, releases a session and backs off, on every way a session
can end (an outage, a permanent refusal, a bug, cancellation)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
import structlog

from adapters.propagation.hints import Health, Hint
from adapters.propagation.reconnect import Backoff, Session, run_with_reconnect

Steps = list[str]


class RecordingSink:
    def __init__(self, steps: Steps) -> None:
        self.steps = steps

    def hint(self, source: str, hint: Hint | None) -> None:
        self.steps.append(f"hint {source}")

    def connected(self, source: str) -> None:
        self.steps.append(f"connected {source}")

    def lost(self, source: str) -> None:
        self.steps.append(f"lost {source}")


class RecordingBackoff(Backoff):
    """Delays of zero, recording what the real schedule would have been."""

    def __init__(self, steps: Steps) -> None:
        super().__init__()
        self.steps = steps

    def reset(self) -> None:
        self.steps.append("reset")
        super().reset()

    def next(self) -> float:
        self.steps.append(f"sleep {super().next()}")
        return 0


def sessions(steps: Steps, outcomes: list[BaseException | None]) -> Callable[[], Session]:
    """Sessions whose subscribe (None: succeeds) or else listen fails as ``outcomes`` say.

    An outcome ``None`` subscribes and then fails in ``listen`` with ``ConnectionError``; an
    exception fails ``subscribe`` itself. Past the list, sessions block in ``listen``.
    """
    remaining = iter(outcomes)

    def new() -> Session:
        outcome = next(remaining, "block")
        steps.append("open")

        async def subscribe() -> None:
            steps.append("subscribe")
            if isinstance(outcome, BaseException):
                raise outcome

        async def listen() -> None:
            steps.append("listen")
            if outcome == "block":
                await asyncio.Event().wait()
            raise ConnectionError("gone")

        async def close() -> None:
            steps.append("close")

        return Session(subscribe, listen, close)

    return new


async def run_until(steps: Steps, count: int, loop: asyncio.Task[None]) -> None:
    """Let ``loop`` run until ``count`` steps were recorded, then cancel it."""
    for _ in range(1000):
        if len(steps) >= count or loop.done():
            break
        await asyncio.sleep(0)
    loop.cancel()
    with pytest.raises(asyncio.CancelledError):
        await loop


async def test_outages_are_reported_released_and_retried_in_order() -> None:
    steps: Steps = []
    health = Health("test hints")
    loop = asyncio.create_task(
        run_with_reconnect(
            "t",
            sessions(steps, [OSError("refused"), OSError("refused"), None]),
            RecordingSink(steps),
            health,
            (OSError, ConnectionError),
            backoff=RecordingBackoff(steps),
        )
    )
    with structlog.testing.capture_logs() as logs:
        await run_until(steps, 19, loop)
    assert steps[:19] == [
        *("open", "subscribe", "lost t", "close", "sleep 0.05"),
        *("open", "subscribe", "lost t", "close", "sleep 0.1"),
        *("open", "subscribe", "reset", "connected t", "listen", "lost t", "close", "sleep 0.05"),
        "open",
    ]
    assert steps[-1] == "close"  # cancelled while blocked in listen: still released
    # one line per transition, not per failed attempt
    assert [entry["event"] for entry in logs] == [
        "test hints unavailable",
        "test hints restored",
        "test hints unavailable",
        "test hints restored",
    ]
    assert logs[0]["error"] == "OSError"


async def test_a_permanent_error_ends_the_loop_without_a_health_warning() -> None:
    steps: Steps = []
    health = Health("test hints")
    with structlog.testing.capture_logs() as logs:
        await run_with_reconnect(
            "t",
            sessions(steps, [LookupError("unsupported")]),
            RecordingSink(steps),
            health,
            (LookupError,),
            permanent=lambda error: isinstance(error, LookupError),
            backoff=RecordingBackoff(steps),
        )
    assert steps == ["open", "subscribe", "lost t", "close"]
    assert logs == []
    assert health.up is None


async def test_an_unexpected_error_is_a_bug_and_ends_the_loop_after_releasing() -> None:
    steps: Steps = []
    with pytest.raises(ZeroDivisionError):
        await run_with_reconnect(
            "t",
            sessions(steps, [ZeroDivisionError()]),
            RecordingSink(steps),
            Health("test hints"),
            (OSError,),
            backoff=RecordingBackoff(steps),
        )
    assert steps == ["open", "subscribe", "close"]


def test_backoff_doubles_up_to_its_ceiling_and_resets() -> None:
    backoff = Backoff(first=0.05, ceiling=0.3)
    assert [backoff.next() for _ in range(5)] == [0.05, 0.1, 0.2, 0.3, 0.3]
    backoff.reset()
    assert backoff.next() == 0.05
