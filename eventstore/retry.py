"""The one retry loop of the write model: read, decide, append, and again if beaten.

Every command that appends reads the stream head, decides what to append and appends with that
head as the expected version. When another writer appended in between, the log refuses
(:class:`WrongExpectedVersion`) and nothing was written, so the whole read-decide-append is
simply run again on the newer state.

A caller who named the version they edited (D14 in docs/decisions.md) gets the conflict instead
of a retry: their edit was made against a state that no longer exists. Everyone else retries,
with a short randomised pause so that writers in several processes stop colliding in lockstep,
and without a fixed give-up count: a refusal means another writer made progress, so a writer
that keeps retrying is never starved into an error by writers that keep succeeding.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import Final, TypeVar

from eventstore.errors import VersionConflict
from eventstore.log import WrongExpectedVersion

T = TypeVar("T")

#: first pause after a lost race, and the ceiling the pauses double up to (seconds)
FIRST_PAUSE: Final = 0.001
MAX_PAUSE: Final = 0.05


async def until_appended(
    attempt: Callable[[], Awaitable[T]], expected_version: int | None = None
) -> T:
    """Run ``attempt`` until its append is not beaten by another writer.

    ``attempt`` must re-read everything it decides on: it runs again from scratch after a lost
    race. With ``expected_version`` the first lost race is a :class:`VersionConflict`.
    """
    pause = FIRST_PAUSE
    while True:
        try:
            return await attempt()
        except WrongExpectedVersion as exc:
            if expected_version is not None:
                raise VersionConflict(expected_version, exc.actual) from None
        # full jitter: a random pause up to the current ceiling spreads colliding writers out
        await asyncio.sleep(random.uniform(0, pause))
        pause = min(pause * 2, MAX_PAUSE)
