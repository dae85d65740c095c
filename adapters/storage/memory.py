"""In-memory event log: the reference adapter for tests and for running without a database.

The data lives in a :class:`MemoryStorage` separate from the :class:`MemoryEventLog` handle, the
way a database file is separate from its connections: several handles can share one storage and
then behave exactly like several connections to one database (one lock, one sequence).
"""

from __future__ import annotations

import asyncio
import bisect
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

import attrs

from eventstore.hashchain import GENESIS, HashChain
from eventstore.log import (
    Checkpoint,
    NewEvent,
    RecordedEvent,
    Snapshot,
    WrongExpectedVersion,
    check_append,
    check_meta,
    check_read_all,
    check_read_stream,
    check_snapshot,
    utc_now,
)


@attrs.define
class MemoryStorage:
    """The "database": ``events`` is in position order and is what ``read_all`` serves.

    ``streams`` indexes the same records per stream in version order. Both are plain attributes
    on purpose: tests that check tamper detection edit them directly, as one would edit rows.
    """

    events: list[RecordedEvent] = attrs.field(factory=list)
    streams: dict[str, list[RecordedEvent]] = attrs.field(factory=dict)
    snapshots: dict[str, dict[int, Snapshot]] = attrs.field(factory=dict)
    meta: dict[str, bytes] = attrs.field(factory=dict)
    #: the head checkpoint, set with every append (an attribute tests may roll back)
    checkpoint: Checkpoint | None = None
    append_lock: asyncio.Lock = attrs.field(factory=asyncio.Lock)


class MemoryEventLog:
    """:class:`~eventstore.log.EventLog` over a :class:`MemoryStorage`.

    Appends hold the storage's lock and mutate the lists without awaiting in between, so readers
    (which never await while copying) cannot observe a half-applied append.
    """

    #: the head checkpoint moves in the append's own transaction (VerifiedLog relies on it)
    checkpoint_in_append = True

    def __init__(
        self,
        chain: HashChain,
        *,
        storage: MemoryStorage | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._chain = chain
        self._storage = storage if storage is not None else MemoryStorage()
        self._clock = clock
        self._closed = False

    @property
    def storage(self) -> MemoryStorage:
        return self._storage

    async def append(
        self, stream: str, expected_version: int, events: Sequence[NewEvent]
    ) -> Sequence[RecordedEvent]:
        check_append(stream, expected_version, events)
        self._check_open()
        storage = self._storage
        async with storage.append_lock:
            stream_events = storage.streams.get(stream, [])
            actual = stream_events[-1].version if stream_events else 0
            if actual != expected_version:
                raise WrongExpectedVersion(stream, expected_version, actual)
            last = storage.events[-1] if storage.events else None
            records = self._chain.seal(
                last.link if last is not None else GENESIS,
                stream,
                actual + 1,
                last.position + 1 if last is not None else 1,
                events,
                self._clock(),
            )
            storage.events.extend(records)
            storage.streams.setdefault(stream, []).extend(records)
            storage.checkpoint = Checkpoint(records[-1].position, records[-1].link)
        return tuple(records)

    async def read_stream(
        self, stream: str, from_version: int = 1, to_version: int | None = None
    ) -> Sequence[RecordedEvent]:
        check_read_stream(stream, from_version)
        self._check_open()
        events: Sequence[RecordedEvent] = self._storage.streams.get(stream, ())
        if events and events[0].version == 1 and events[-1].version == len(events):
            # versions 1..n at indexes 0..n-1 (unless a test edited the list in between, which
            # the filter below and the verified reads still see): read only the range asked for
            stop = len(events) if to_version is None else max(from_version - 1, to_version)
            events = events[from_version - 1 : stop]
        return tuple(
            event
            for event in events
            if event.version >= from_version and (to_version is None or event.version <= to_version)
        )

    async def stream_version(self, stream: str) -> int:
        self._check_open()
        stream_events = self._storage.streams.get(stream)
        return stream_events[-1].version if stream_events else 0

    async def read_all(
        self, after_position: int = 0, limit: int | None = None
    ) -> Sequence[RecordedEvent]:
        check_read_all(after_position, limit)
        self._check_open()
        events = self._storage.events
        start = bisect.bisect_right(events, after_position, key=_position)
        stop = len(events) if limit is None else start + limit
        return tuple(events[start:stop])

    async def read_links(self, positions: Sequence[int]) -> Mapping[int, bytes]:
        self._check_open()
        events = self._storage.events
        found: dict[int, bytes] = {}
        for position in positions:
            index = bisect.bisect_left(events, position, key=_position)
            if index < len(events) and events[index].position == position:
                found[position] = events[index].link
        return found

    async def read_checkpoint(self) -> Checkpoint | None:
        self._check_open()
        return self._storage.checkpoint

    async def head_position(self) -> int:
        self._check_open()
        events = self._storage.events
        return events[-1].position if events else 0

    async def save_snapshot(self, snapshot: Snapshot) -> None:
        check_snapshot(snapshot)
        self._check_open()
        self._storage.snapshots.setdefault(snapshot.stream, {})[snapshot.version] = snapshot

    async def latest_snapshot(self, stream: str, max_version: int | None = None) -> Snapshot | None:
        self._check_open()
        candidates = [
            version
            for version in self._storage.snapshots.get(stream, {})
            if max_version is None or version <= max_version
        ]
        return self._storage.snapshots[stream][max(candidates)] if candidates else None

    async def read_meta(self, key: str) -> bytes | None:
        check_meta(key)
        self._check_open()
        return self._storage.meta.get(key)

    async def write_meta(self, key: str, value: bytes, *, only_if_absent: bool = False) -> bool:
        check_meta(key, value)
        self._check_open()
        if only_if_absent and key in self._storage.meta:
            return False
        self._storage.meta[key] = value
        return True

    async def close(self) -> None:
        self._closed = True

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("the event log is closed")


def _position(event: RecordedEvent) -> int:
    return event.position
