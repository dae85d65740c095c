"""The event log port: what the write model needs from storage, and nothing about how.

Adapters (memory, SQLite, later PostgreSQL and MongoDB) implement :class:`EventLog`; the shared
contract suite in ``tests/contract`` is the executable definition of the guarantees listed on it.
The argument checks live here so that every adapter rejects the same bad calls in the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Protocol

import attrs

from eventstore.errors import VersionConflict

EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND: Final = timedelta(microseconds=1)


@attrs.frozen
class NewEvent:
    """An event the caller wants appended; ``data`` is already canonical JSON bytes.

    The log never parses ``data``: canonical bytes are what the hash chain signs, so the caller,
    not the storage, must decide the encoding.
    """

    type: str
    data: bytes


@attrs.frozen
class RecordedEvent:
    """An event as the log stored it, with everything the hash chain covers plus the link."""

    stream: str
    version: int
    position: int
    type: str
    data: bytes
    recorded_at: datetime
    link: bytes


@attrs.frozen
class Snapshot:
    """Folded state of a stream up to ``version``, so loading need not replay from version 1."""

    stream: str
    version: int
    position: int
    state: bytes


@attrs.frozen
class Checkpoint:
    """The log head as the adapter recorded it with the newest append: position and link.

    Kept by the adapter in the append's own transaction (or, without multi-document
    transactions, right after it), so that deleting the newest events leaves a checkpoint that
    points past the end of the log.
    """

    position: int
    link: bytes


class WrongExpectedVersion(VersionConflict):
    """The stream moved on since the caller read it; another writer won the race."""

    def __init__(self, stream: str, expected: int, actual: int) -> None:
        super().__init__(expected, actual)
        self.stream = stream


class EventLog(Protocol):
    """Append-only, hash-chained storage of events, grouped into streams.

    Guarantees every adapter keeps:

    * ``append`` is atomic (all events or none) and optimistic: ``expected_version`` must equal
      the stream's current version (0 for a stream with no events), else
      :class:`WrongExpectedVersion` and nothing is written.
    * Stream versions start at 1 and have no gaps; global positions start at 1, have no gaps and
      become visible in position order — a reader that has seen position N will never later find
      an event with a position at or below N.
    * Each recorded event carries ``link``, the keyed hash chain value computed at append time.
    """

    async def append(
        self, stream: str, expected_version: int, events: Sequence[NewEvent]
    ) -> Sequence[RecordedEvent]: ...

    async def read_stream(
        self, stream: str, from_version: int = 1, to_version: int | None = None
    ) -> Sequence[RecordedEvent]: ...

    async def stream_version(self, stream: str) -> int: ...

    async def read_all(
        self, after_position: int = 0, limit: int | None = None
    ) -> Sequence[RecordedEvent]: ...

    async def head_position(self) -> int: ...

    async def save_snapshot(self, snapshot: Snapshot) -> None: ...

    async def latest_snapshot(
        self, stream: str, max_version: int | None = None
    ) -> Snapshot | None: ...

    async def read_meta(self, key: str) -> bytes | None: ...

    async def read_links(self, positions: Sequence[int]) -> Mapping[int, bytes]:
        """The links of the events at ``positions`` (absent positions are left out): what a
        reader needs to verify an event whose predecessor it did not read."""
        ...

    async def read_checkpoint(self) -> Checkpoint | None:
        """The head checkpoint written with the newest append; None for an empty log."""
        ...

    async def write_meta(self, key: str, value: bytes, *, only_if_absent: bool = False) -> bool: ...

    async def close(self) -> None: ...


def check_append(stream: str, expected_version: int, events: Sequence[NewEvent]) -> None:
    """Reject a malformed append before any adapter touches storage.

    Checking ``data`` is bytes matters because SQLite would happily store a ``str`` and hand it
    back as one, silently breaking the chain's byte-exact signature later.
    """
    _check_stream(stream)
    if isinstance(expected_version, bool) or not isinstance(expected_version, int):
        raise TypeError("expected_version must be an int")
    if expected_version < 0:
        raise ValueError("expected_version must be >= 0")
    if not events:
        raise ValueError("an append needs at least one event")
    for index, event in enumerate(events):
        if not isinstance(event.type, str) or not event.type:
            raise ValueError(f"event {index}: type must be a non-empty string")
        if not isinstance(event.data, bytes):
            raise TypeError(f"event {index}: data must be bytes")


def check_read_stream(stream: str, from_version: int) -> None:
    """Versions start at 1, so a lower start is a caller bug rather than an empty result."""
    _check_stream(stream)
    if from_version < 1:
        raise ValueError("from_version must be >= 1")


def check_read_all(after_position: int, limit: int | None) -> None:
    """Negative bounds have no meaning for a position-ordered log; refuse them loudly."""
    if after_position < 0:
        raise ValueError("after_position must be >= 0")
    if limit is not None and limit < 0:
        raise ValueError("limit must be >= 0")


def check_snapshot(snapshot: Snapshot) -> None:
    """A snapshot of version 0 would describe an empty stream, which is never worth storing."""
    _check_stream(snapshot.stream)
    if snapshot.version < 1 or snapshot.position < 1:
        raise ValueError("a snapshot needs version >= 1 and position >= 1")
    if not isinstance(snapshot.state, bytes):
        raise TypeError("snapshot state must be bytes")


def check_meta(key: str, value: bytes | None = None) -> None:
    """Same reasoning as event data: only bytes round-trip identically through every backend."""
    if not isinstance(key, str) or not key:
        raise ValueError("meta key must be a non-empty string")
    if value is not None and not isinstance(value, bytes):
        raise TypeError("meta value must be bytes")


def to_epoch_micros(moment: datetime) -> int:
    """Timestamps travel as integer microseconds so every backend stores them without loss."""
    if moment.tzinfo is None:
        raise ValueError("recorded_at must be timezone-aware")
    return (moment - EPOCH) // _MICROSECOND


def from_epoch_micros(micros: int) -> datetime:
    """Inverse of :func:`to_epoch_micros`; always yields an aware UTC datetime."""
    return EPOCH + timedelta(0, 0, micros)


#: Column order of a stored event row, shared by the SQL adapters' SELECTs and :func:`records`.
EVENT_COLUMNS: Final = "stream, version, position, type, data, recorded_at, link"


def records(rows: Iterable[Sequence[Any]]) -> tuple[RecordedEvent, ...]:
    """Build RecordedEvents from rows in :data:`EVENT_COLUMNS` order (``recorded_at`` in micros).

    Replays run every stored event through here, so the loop is kept free of per-row calls;
    ``bytes()`` turns a driver's buffer type (``memoryview``, ``bytearray``) into bytes, and is
    free for bytes.
    """
    make, epoch, delta = RecordedEvent, EPOCH, timedelta
    return tuple(
        make(
            stream, version, position, type_, bytes(data), epoch + delta(0, 0, micros), bytes(link)
        )
        for stream, version, position, type_, data, micros, link in rows
    )


def utc_now() -> datetime:
    """The default clock of the adapters; injectable so tests can pin ``recorded_at``."""
    return datetime.now(UTC)


def _check_stream(stream: str) -> None:
    if not isinstance(stream, str) or not stream:
        raise ValueError("stream must be a non-empty string")
