"""Nothing is folded that has not been verified: the log as every reader in a process sees it.

:class:`VerifiedLog` wraps an adapter's log and checks every event it hands out before anyone
can fold it: the event's link must be the keyed hash of its predecessor's link and its own
content, its stream versions must follow one another without a gap, and a page of the global
log must hold consecutive positions. A snapshot is used only when its seal (a MAC over stream,
version, position, the state and the link of the event it stops at) is intact and that event
still carries that link. The log head may only grow: the wrapper remembers the highest head it
has seen, and the checkpoint the adapter keeps with every append (position and link of the
newest event) must still be there with the same link, so deleting the newest events is seen too.

Any failure raises :class:`LogIntegrityError` naming the first bad position. Without the chain
key nobody can make an edited, inserted, reordered or forged event verify; what the chain cannot
prove against someone who *has* the key is written in the README's security section.
"""

from __future__ import annotations

import hmac
import itertools
import struct
from collections.abc import Awaitable, Mapping, Sequence
from typing import Final, TypeVar

import attrs

from eventstore.errors import ConfigError
from eventstore.hashchain import GENESIS, LINK_SIZE, HashChain
from eventstore.log import Checkpoint, EventLog, NewEvent, RecordedEvent, Snapshot

#: sealed snapshot state: magic, MAC, link of the event the snapshot stops at, then the state
_SEAL_MAGIC: Final = b"PKS1"
_SEAL_DOMAIN: Final = b"parako-config/snapshot/v1"
_HEADER: Final = len(_SEAL_MAGIC) + 2 * LINK_SIZE
_INT: Final = struct.Struct(">q")
#: what turning an edited row (a column of the wrong type or range) into an event raises
UNREADABLE: Final = (TypeError, ValueError, OverflowError, AttributeError, struct.error)
T = TypeVar("T")


class LogIntegrityError(ConfigError):
    """The log is not what the chain says it was: edited, truncated, reordered or forged."""

    def __init__(self, position: int, reason: str) -> None:
        self.position = position
        self.reason = reason
        super().__init__(f"the event log failed verification at position {position}: {reason}")


@attrs.frozen
class SnapshotProblem:
    """A snapshot that was ignored (the stream was folded from its events instead)."""

    stream: str
    version: int
    reason: str
    #: the global position the snapshot claims to stop at
    position: int = 0
    #: False for a snapshot an earlier release wrote without a seal (ignored, not an attack)
    tampered: bool = True


def seal_snapshot(chain: HashChain, snapshot: Snapshot, link: bytes) -> Snapshot:
    """``snapshot`` with its state sealed to the chain key and the link it stops at."""
    mac = chain.mac(_SEAL_DOMAIN, *_sealed_fields(snapshot, link, snapshot.state))
    return attrs.evolve(snapshot, state=_SEAL_MAGIC + mac + link + snapshot.state)


UNSEALED: Final = "not sealed (written by an earlier release)"


def open_snapshot(chain: HashChain, snapshot: Snapshot) -> tuple[Snapshot, bytes] | str:
    """The unsealed snapshot and the link it claims, or why it cannot be trusted."""
    sealed = snapshot.state
    if not sealed.startswith(_SEAL_MAGIC):
        return UNSEALED
    if len(sealed) < _HEADER:
        return "its seal is cut short (the snapshot was edited)"
    mac = sealed[len(_SEAL_MAGIC) : len(_SEAL_MAGIC) + LINK_SIZE]
    link = sealed[len(_SEAL_MAGIC) + LINK_SIZE : _HEADER]
    state = sealed[_HEADER:]
    expected = chain.mac(_SEAL_DOMAIN, *_sealed_fields(snapshot, link, state))
    if not hmac.compare_digest(mac, expected):
        return "its seal does not match (the snapshot was edited or moved)"
    return attrs.evolve(snapshot, state=state), link


def _ascending(events: Sequence[RecordedEvent]) -> bool:
    return all(a.position < b.position for a, b in itertools.pairwise(events))


def _sealed_fields(snapshot: Snapshot, link: bytes, state: bytes) -> tuple[bytes, ...]:
    return (
        snapshot.stream.encode("utf-8"),
        _INT.pack(snapshot.version),
        _INT.pack(snapshot.position),
        link,
        state,
    )


class VerifiedLog:
    """An :class:`EventLog` whose reads are verified; writes pass through unchanged."""

    def __init__(self, log: EventLog, chain: HashChain) -> None:
        self.inner = log
        self._chain = chain
        #: the highest log head this process has seen; the head never legitimately shrinks
        self.highest_head = 0
        #: snapshots found untrustworthy since this log was opened (reported by health)
        self.snapshot_problems: list[SnapshotProblem] = []
        self._last: tuple[int, bytes] = (0, GENESIS)  # the newest (position, link) verified
        #: the first failure found; from then on nothing more is appended through this log
        self.failure: LogIntegrityError | None = None

    # --- reads, verified ---------------------------------------------------------------------

    async def read_stream(
        self, stream: str, from_version: int = 1, to_version: int | None = None
    ) -> Sequence[RecordedEvent]:
        events = await self._read(self.inner.read_stream(stream, from_version, to_version))
        expected = from_version
        for event in events:
            if event.stream != stream or event.version != expected:
                raise self._fail(
                    event.position, f"{stream} version {expected} is missing or out of place"
                )
            expected += 1
        await self._check_links(events)
        return events

    async def read_all(
        self, after_position: int = 0, limit: int | None = None
    ) -> Sequence[RecordedEvent]:
        known_before = self.highest_head
        events = await self._read(self.inner.read_all(after_position, limit))
        expected = after_position + 1
        for event in events:
            if event.position != expected:
                raise self._fail(expected, "the position is missing (events were deleted or moved)")
            expected += 1
        await self._check_links(events)
        if events and (limit is None or len(events) < limit):
            self._seen_head(events[-1].position, known_before)  # the page reached the end
        elif events:  # a full page only says the head is at least this far
            self.highest_head = max(self.highest_head, events[-1].position)
        return events

    async def stream_version(self, stream: str) -> int:
        return await self.inner.stream_version(stream)

    async def head_position(self) -> int:
        known_before = self.highest_head
        head = await self.inner.head_position()
        self._seen_head(head, known_before)
        return head

    async def latest_snapshot(self, stream: str, max_version: int | None = None) -> Snapshot | None:
        """The newest snapshot whose seal holds and whose event still has the sealed link;
        a broken one is recorded in :attr:`snapshot_problems` and an older one is tried."""
        while True:
            snapshot = await self._read(self.inner.latest_snapshot(stream, max_version))
            if snapshot is None:
                return None
            try:
                opened = open_snapshot(self._chain, snapshot)
            except UNREADABLE:
                opened = "its columns cannot be read (the snapshot was edited)"
            if not isinstance(opened, str):
                plain, link = opened
                links = await self._read(self.inner.read_links([snapshot.position]))
                if links.get(snapshot.position) == link:
                    return plain
                opened = "the event it stops at is not the one it was taken at"
            self._snapshot_problem(snapshot, opened)
            max_version = snapshot.version - 1
            if max_version < 1:
                return None

    async def read_meta(self, key: str) -> bytes | None:
        return await self.inner.read_meta(key)

    async def read_links(self, positions: Sequence[int]) -> Mapping[int, bytes]:
        return await self.inner.read_links(positions)

    async def read_checkpoint(self) -> Checkpoint | None:
        return await self.inner.read_checkpoint()

    # --- writes ------------------------------------------------------------------------------

    async def append(
        self, stream: str, expected_version: int, events: Sequence[NewEvent]
    ) -> Sequence[RecordedEvent]:
        """Refused once tampering was found: a write decided on a log that is not what the
        chain says would build on what an attacker left behind."""
        if self.failure is not None:
            raise self.failure
        await self.head_position()  # a log that went back is not built on
        known_before = self.highest_head
        recorded = await self.inner.append(stream, expected_version, events)
        if recorded and recorded[0].position <= self._last[0]:
            raise self._fail(
                recorded[0].position,
                "an append landed where this process had already verified another event (the "
                "newest events were deleted)",
            )
        if recorded:
            self._seen_head(recorded[-1].position, known_before)
        return recorded

    async def save_snapshot(self, snapshot: Snapshot) -> None:
        """Seal ``snapshot`` to the link of the event it stops at, then store it. Skipped once
        tampering was found: a fresh snapshot would hide an edited one from the next start."""
        if self.failure is not None:
            return
        link = (await self._read(self.inner.read_links([snapshot.position]))).get(snapshot.position)
        if link is None:
            raise self._fail(snapshot.position, "the snapshot's event is missing")
        await self.inner.save_snapshot(seal_snapshot(self._chain, snapshot, link))

    async def write_meta(self, key: str, value: bytes, *, only_if_absent: bool = False) -> bool:
        return await self.inner.write_meta(key, value, only_if_absent=only_if_absent)

    async def close(self) -> None:
        await self.inner.close()

    # --- the head ----------------------------------------------------------------------------

    async def check_head(self) -> Checkpoint:
        """The head as verified now: it has not gone back below what this process saw, and
        the adapter's checkpoint still names an event that exists with the same link.

        The checkpoint may lag behind the head (an adapter without multi-document transactions
        writes it just after the append), never lead it, and the events after it are checked
        by the chain like all others.
        """
        # the checkpoint first: it only ever moves up to the head, so a head read after it is
        # at least as far even when other processes append in between
        checkpoint = await self._read(self.inner.read_checkpoint())
        head = await self.head_position()
        if checkpoint is None and head:
            # the first events were appended in between: their checkpoint is there by now
            checkpoint = await self._read(self.inner.read_checkpoint())
        if checkpoint is None:
            if head:
                raise self._fail(head, "the log has events but no head checkpoint")
            return Checkpoint(0, GENESIS)
        if checkpoint.position > head:
            raise self._fail(
                head + 1,
                f"the newest events were deleted: the checkpoint is at {checkpoint.position}, "
                f"the log ends at {head}",
            )
        if checkpoint.position < head and getattr(self.inner, "checkpoint_in_append", False):
            # moved in the append's own transaction, it reaches any head read before it
            checkpoint = await self._read(self.inner.read_checkpoint()) or checkpoint
            if checkpoint.position < head:
                raise self._fail(
                    checkpoint.position + 1,
                    "the head checkpoint no longer follows the appends (its trigger was removed?)",
                )
        seen_position, seen_link = self._last
        links = await self._read(self.inner.read_links([checkpoint.position, head, seen_position]))
        if links.get(checkpoint.position) != checkpoint.link:
            raise self._fail(checkpoint.position, "the event does not match the head checkpoint")
        if seen_position and links.get(seen_position) != seen_link:
            raise self._fail(
                seen_position,
                "the event this process verified there was replaced (the newest events were "
                "deleted and others appended in their place)",
            )
        return Checkpoint(head, links.get(head, GENESIS) if head else GENESIS)

    def _seen_head(self, head: int, known_before: int) -> None:
        """``head`` was observed by a read that started when ``known_before`` was the highest
        head seen. Only a head below that proves events were deleted: reads run concurrently
        (a head check answers while a page started earlier is still being read, and another
        process appends in between), so a head below one seen *during* the read proves
        nothing."""
        if head < known_before:
            raise self._fail(
                head + 1,
                f"the log head went back from {known_before} to {head} "
                "(the newest events were deleted)",
            )
        self.highest_head = max(self.highest_head, head)

    # --- links -------------------------------------------------------------------------------

    async def _check_links(self, events: Sequence[RecordedEvent]) -> None:
        """Each event's link must follow from its predecessor's link and its own content."""
        if not events:
            return
        first, newest = events[0], events[-1]
        if newest.position - first.position == len(events) - 1 and _ascending(events):
            # a run of consecutive positions (every page of read_all): one predecessor to
            # look up, then each event vouches for the next
            known = await self._links_before([first.position])
            self._check_run(known.get(first.position - 1), events)
        else:
            known = await self._links_before([event.position for event in events])
            for event in events:
                self._check_run(known.get(event.position - 1), (event,))
            newest = max(events, key=lambda event: event.position)
        if newest.position >= self._last[0]:
            self._last = (newest.position, newest.link)

    def _check_run(self, previous: bytes | None, run: Sequence[RecordedEvent]) -> None:
        if previous is None:
            raise self._fail(run[0].position - 1, "the event is missing (deleted from the log)")
        bad = self._chain.first_mismatch(previous, run)
        if bad is not None:
            raise self._fail(
                bad.position,
                "link does not match (the event was altered, inserted without the key, "
                "or the chain key is different)",
            )

    async def _links_before(self, positions: Sequence[int]) -> dict[int, bytes]:
        """The links of the events just before ``positions``: from what this log verified
        last when it can, from the store otherwise (GENESIS stands before position 1)."""
        last_position, last_link = self._last
        known = {0: GENESIS, last_position: last_link}
        wanted = {p - 1 for p in positions} - known.keys()
        if wanted:
            known.update(await self._read(self.inner.read_links(sorted(wanted))))
        return known

    async def _read(self, call: Awaitable[T]) -> T:
        """A row whose columns an edit gave the wrong type cannot even become an event: that
        is tampering too, not a crash."""
        try:
            return await call
        except UNREADABLE as exc:
            raise self._fail(0, f"a stored row cannot be read ({type(exc).__name__})") from None

    def record_failure(self, position: int, reason: str) -> LogIntegrityError:
        """Record tampering found outside the reads (a full verification of the log)."""
        return self._fail(position, reason)

    def _fail(self, position: int, reason: str) -> LogIntegrityError:
        """Record the first failure (what health, metrics and refused writes report)."""
        error = LogIntegrityError(position, reason)
        if self.failure is None:
            self.failure = error
        return error

    def _snapshot_problem(self, snapshot: Snapshot, reason: str) -> None:
        """Record a snapshot that was ignored; an edited one is tampering like an edited event
        (the fold goes on from the events, but nothing more is appended)."""
        problem = SnapshotProblem(
            snapshot.stream, snapshot.version, reason, snapshot.position, reason != UNSEALED
        )
        if problem not in self.snapshot_problems:
            self.snapshot_problems.append(problem)
        if problem.tampered:
            self._fail(
                snapshot.position,
                f"the snapshot of {snapshot.stream} at version "
                f"{snapshot.version} was ignored: {reason}",
            )
