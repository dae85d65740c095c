"""The head a log handle last wrote, so its next append can skip reading it (SQL adapters).

Reading the head (stream version, last position, last link) costs a round trip per append and,
done safely, a lock. A handle that wrote the newest event already knows it. It seals the next
events after that head and inserts them in one statement; if anyone appended meanwhile, position
``head + 1`` is taken (positions are gap-free), the primary key refuses the statement and
nothing is written, so the adapter forgets the head and runs its careful path. The memory can be
wrong; it can never cause a wrong append.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from eventstore.hashchain import HashChain
from eventstore.log import NewEvent, RecordedEvent


class KnownHead:
    def __init__(self, max_events: int) -> None:
        self._max_events = max_events  # what one INSERT statement can carry
        self._head: tuple[int, bytes] | None = None
        self._versions: dict[str, int] = {}

    def seal(
        self,
        chain: HashChain,
        stream: str,
        expected_version: int,
        events: Sequence[NewEvent],
        clock: Callable[[], datetime],
    ) -> list[RecordedEvent] | None:
        """The records to insert at the known head, or None when the head is not known (or
        the caller expects another version of the stream: let the careful path decide)."""
        if (
            self._head is None
            or self._versions.get(stream) != expected_version
            or len(events) > self._max_events
        ):
            return None
        position, link = self._head
        return chain.seal(link, stream, expected_version + 1, position + 1, events, clock())

    def wrote(self, records: Sequence[RecordedEvent]) -> None:
        """``records`` are committed and nothing is known beyond them: they are the head."""
        last = records[-1]
        self._head = (last.position, last.link)
        self._versions = {last.stream: last.version}

    def forget(self) -> None:
        self._head, self._versions = None, {}
