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

The pause does not grow with the losses. The writer that won a race starts its next save at
once, ahead of those it beat; a loser whose pause doubled after every loss would start ever
further behind and lose again, so a few writers would take most saves. A pause far shorter than
one attempt only breaks lockstep, and every writer keeps its share (``python -m bench fairness``:
four processes, each at least 15 % of the saves).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import Final, TypeVar

from eventstore.errors import VersionConflict
from eventstore.log import WrongExpectedVersion

T = TypeVar("T")

#: the longest pause after a lost race (seconds): the pause is random, up to this
PAUSE: Final = 0.002


async def until_appended(
    attempt: Callable[[], Awaitable[T]], expected_version: int | None = None
) -> T:
    """Run ``attempt`` until its append is not beaten by another writer.

    ``attempt`` must re-read everything it decides on: it runs again from scratch after a lost
    race. With ``expected_version`` the first lost race is a :class:`VersionConflict`.
    """
    while True:
        try:
            return await attempt()
        except WrongExpectedVersion as exc:
            if expected_version is not None:
                raise VersionConflict(expected_version, exc.actual) from None
        # full jitter, not growing: spreads colliding writers out without holding back the
        # writer that has lost most
        await asyncio.sleep(random.uniform(0, PAUSE))
