"""The EventLog contract, written once and run against every adapter.

An adapter's test module subclasses :class:`EventLogContract` (name starting with ``Test``) and
provides one fixture, ``harness``, yielding a :class:`LogHarness` over a fresh, empty store and
closing every log it opened on teardown. Everything else here is adapter-agnostic.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Protocol

import pytest

from eventstore.errors import VersionConflict
from eventstore.hashchain import GENESIS, BreakReason, HashChain, verify_chain, verify_log
from eventstore.integrity import LogIntegrityError, VerifiedLog
from eventstore.log import (
    Checkpoint,
    EventLog,
    NewEvent,
    RecordedEvent,
    Snapshot,
    WrongExpectedVersion,
)


class LogHarness(Protocol):
    """What the contract needs from an adapter's test module."""

    @property
    def chain(self) -> HashChain: ...

    async def open_log(self) -> EventLog:
        """A new handle (connection) onto the one store under test."""
        ...

    async def tamper_data(self, position: int) -> None:
        """Flip one byte of the stored ``data`` of the event at ``position``, bypassing the log."""
        ...

    async def delete_event(self, position: int) -> None:
        """Remove the stored event at ``position``, bypassing the log."""
        ...

    async def swap_data(self, first: int, second: int) -> None:
        """Exchange the stored ``data`` of two events, bypassing the log."""
        ...


# Typed wrongly on purpose: what a caller bypassing the type checker could pass.
STR_DATA = NewEvent("T", "not bytes")  # type: ignore[arg-type]


def event(type_: str = "SettingChanged", **fields: object) -> NewEvent:
    return NewEvent(type_, json.dumps(fields, sort_keys=True, separators=(",", ":")).encode())


def positions(events: Sequence[RecordedEvent]) -> list[int]:
    return [e.position for e in events]


async def append_with_retry(log: EventLog, stream: str, new: NewEvent) -> RecordedEvent:
    """Optimistic-concurrency loop as a real writer would run it."""
    while True:
        try:
            (recorded,) = await log.append(stream, await log.stream_version(stream), [new])
        except WrongExpectedVersion:
            continue
        return recorded


class EventLogContract:
    """Behaviour every :class:`~eventstore.log.EventLog` must show."""

    @pytest.fixture
    async def log(self, harness: LogHarness) -> EventLog:
        return await harness.open_log()

    # -- append and read back -------------------------------------------------------------------

    async def test_append_records_every_field(self, log: EventLog, harness: LogHarness) -> None:
        before = datetime.now(UTC)
        recorded = await log.append(
            "tenant:α",
            0,
            [
                NewEvent("Created", b'{"a":1}'),
                NewEvent("Raw", bytes(range(256))),
                NewEvent("E", b""),
            ],
        )
        after = datetime.now(UTC)

        assert [(e.stream, e.version, e.position, e.type) for e in recorded] == [
            ("tenant:α", 1, 1, "Created"),
            ("tenant:α", 2, 2, "Raw"),
            ("tenant:α", 3, 3, "E"),
        ]
        assert [e.data for e in recorded] == [b'{"a":1}', bytes(range(256)), b""]
        for e in recorded:
            assert e.recorded_at.utcoffset() is not None
            assert e.recorded_at.utcoffset() == UTC.utcoffset(None)
            assert before <= e.recorded_at <= after
        resealed = harness.chain.seal(
            GENESIS,
            "tenant:α",
            1,
            1,
            [NewEvent(r.type, r.data) for r in recorded],
            recorded[0].recorded_at,
        )
        assert resealed == list(recorded)
        assert list(await log.read_stream("tenant:α")) == list(recorded)
        assert list(await log.read_all()) == list(recorded)

    async def test_versions_per_stream_positions_global(self, log: EventLog) -> None:
        await log.append("a", 0, [event(n=1), event(n=2)])
        await log.append("b", 0, [event(n=3)])
        await log.append("a", 2, [event(n=4)])

        assert [(e.stream, e.version, e.position) for e in await log.read_all()] == [
            ("a", 1, 1),
            ("a", 2, 2),
            ("b", 1, 3),
            ("a", 3, 4),
        ]
        assert await log.stream_version("a") == 3
        assert await log.stream_version("b") == 1
        assert await log.stream_version("never") == 0

    async def test_handles_share_one_store(self, harness: LogHarness) -> None:
        writer, reader = await harness.open_log(), await harness.open_log()
        written = await writer.append("s", 0, [event(n=1)])
        assert list(await reader.read_stream("s")) == list(written)
        assert await reader.head_position() == 1

    # -- atomicity and optimistic concurrency ---------------------------------------------------

    @pytest.mark.parametrize(
        ("bad", "error", "message"),
        [(NewEvent("", b"{}"), ValueError, "type"), (STR_DATA, TypeError, "bytes")],
        ids=["empty-type", "str-data"],
    )
    async def test_append_with_a_bad_event_writes_nothing(
        self, log: EventLog, bad: NewEvent, error: type[Exception], message: str
    ) -> None:
        await log.append("s", 0, [event(n=1)])
        before = list(await log.read_all())

        with pytest.raises(error, match=message):
            await log.append("s", 1, [event(n=2), event(n=3), bad])

        assert list(await log.read_all()) == before
        assert await log.stream_version("s") == 1
        assert await log.head_position() == 1
        # the log is still usable and continues without a gap
        (next_event,) = await log.append("s", 1, [event(n=4)])
        assert (next_event.version, next_event.position) == (2, 2)

    @pytest.mark.parametrize(
        ("stream", "expected", "events", "message"),
        [
            ("", 0, [event()], "stream"),
            ("s", -1, [event()], "expected_version"),
            ("s", 0, [], "at least one event"),
        ],
        ids=["empty-stream", "negative-version", "no-events"],
    )
    async def test_malformed_append_is_refused(
        self, log: EventLog, stream: str, expected: int, events: list[NewEvent], message: str
    ) -> None:
        with pytest.raises(ValueError, match=message):
            await log.append(stream, expected, events)
        assert await log.head_position() == 0

    @pytest.mark.parametrize("expected", [0, 1, 3, 7])
    async def test_wrong_expected_version(self, log: EventLog, expected: int) -> None:
        await log.append("s", 0, [event(n=1), event(n=2)])
        await log.append("other", 0, [event(n=3)])

        with pytest.raises(WrongExpectedVersion) as caught:
            await log.append("s", expected, [event(n=4)])

        error = caught.value
        assert isinstance(error, VersionConflict)
        assert (error.stream, error.expected, error.actual) == ("s", expected, 2)
        assert str(error) == VersionConflict.MESSAGE
        assert await log.stream_version("s") == 2
        assert await log.head_position() == 3

    async def test_new_stream_must_be_expected_at_zero(self, log: EventLog) -> None:
        with pytest.raises(WrongExpectedVersion) as caught:
            await log.append("fresh", 1, [event()])
        assert (caught.value.expected, caught.value.actual) == (1, 0)
        assert list(await log.read_all()) == []

    async def test_exactly_one_winner_among_concurrent_appends(self, harness: LogHarness) -> None:
        handles = [await harness.open_log() for _ in range(6)]
        expected = 0
        for round_ in range(4):
            outcomes = await asyncio.gather(
                *(
                    h.append("contested", expected, [event(w=i, r=round_), event(w=i, r=round_)])
                    for i, h in enumerate(handles)
                ),
                return_exceptions=True,
            )
            winners = [o for o in outcomes if not isinstance(o, BaseException)]
            losers = [o for o in outcomes if isinstance(o, BaseException)]
            assert len(winners) == 1, outcomes
            assert all(isinstance(o, WrongExpectedVersion) for o in losers), losers
            assert {o.actual for o in losers if isinstance(o, WrongExpectedVersion)} == {
                expected + 2
            }
            stored = await handles[0].read_stream("contested", expected + 1)
            assert list(stored) == list(winners[0])
            expected += 2
        assert await handles[-1].head_position() == expected

    async def test_readers_never_see_a_gap_filled_later(self, harness: LogHarness) -> None:
        writers = [await harness.open_log() for _ in range(4)]
        reader = await harness.open_log()
        seen: list[RecordedEvent] = []
        writing = True

        async def write(index: int, log: EventLog) -> None:
            for n in range(15):
                await append_with_retry(log, "shared", event(w=index, n=n))
                await asyncio.sleep(0)  # interleave even where an adapter never suspends
                await log.append(f"own-{index}", 2 * n, [event(w=index, n=n), event(w=index)])

        async def read() -> None:
            while True:
                still_writing = writing
                page = await reader.read_all(seen[-1].position if seen else 0)
                expected_start = len(seen) + 1
                assert positions(page) == list(range(expected_start, expected_start + len(page)))
                seen.extend(page)
                if not still_writing:
                    return
                await asyncio.sleep(0)

        reading = asyncio.create_task(read())
        await asyncio.gather(*(write(i, w) for i, w in enumerate(writers)))
        writing = False
        await reading

        assert len(seen) == 4 * 15 * 3
        assert list(await reader.read_all()) == seen
        assert await reader.stream_version("shared") == 60

    # -- reading ---------------------------------------------------------------------------------

    async def test_read_all_after_position_in_commit_order(self, log: EventLog) -> None:
        order = [("a", 0), ("b", 0), ("a", 1), ("c", 0), ("b", 1), ("a", 2)]
        for stream, version in order:
            await log.append(stream, version, [event(s=stream, v=version)])

        everything = await log.read_all()
        assert [(e.stream, e.version - 1) for e in everything] == order
        assert positions(everything) == [1, 2, 3, 4, 5, 6]
        assert positions(await log.read_all(2)) == [3, 4, 5, 6]
        assert positions(await log.read_all(2, limit=3)) == [3, 4, 5]
        assert positions(await log.read_all(5, limit=10)) == [6]
        assert list(await log.read_all(6)) == []
        assert list(await log.read_all(0, limit=0)) == []
        with pytest.raises(ValueError, match="after_position"):
            await log.read_all(-1)
        with pytest.raises(ValueError, match="limit"):
            await log.read_all(0, limit=-1)

    async def test_read_stream_ranges(self, log: EventLog) -> None:
        await log.append("s", 0, [event(n=n) for n in range(1, 6)])
        await log.append("t", 0, [event(n=99)])

        async def versions(from_version: int = 1, to_version: int | None = None) -> list[int]:
            return [e.version for e in await log.read_stream("s", from_version, to_version)]

        assert await versions() == [1, 2, 3, 4, 5]
        assert await versions(3) == [3, 4, 5]
        assert await versions(2, 4) == [2, 3, 4]
        assert await versions(4, 4) == [4]
        assert await versions(4, 3) == []
        assert await versions(6) == []
        assert list(await log.read_stream("missing")) == []
        with pytest.raises(ValueError, match="from_version"):
            await log.read_stream("s", 0)

    async def test_head_position(self, log: EventLog) -> None:
        assert await log.head_position() == 0
        await log.append("a", 0, [event(), event()])
        assert await log.head_position() == 2
        await log.append("b", 0, [event()])
        assert await log.head_position() == 3

    # -- snapshots and meta ----------------------------------------------------------------------

    async def test_snapshots_round_trip(self, log: EventLog) -> None:
        assert await log.latest_snapshot("s") is None
        first = Snapshot("s", 2, 2, b'{"v":2}')
        later = Snapshot("s", 5, 9, bytes(range(256)))
        await log.save_snapshot(first)
        await log.save_snapshot(later)
        await log.save_snapshot(Snapshot("t", 7, 10, b"other stream"))

        assert await log.latest_snapshot("s") == later
        assert await log.latest_snapshot("s", max_version=5) == later
        assert await log.latest_snapshot("s", max_version=4) == first
        assert await log.latest_snapshot("s", max_version=2) == first
        assert await log.latest_snapshot("s", max_version=1) is None
        assert await log.latest_snapshot("missing") is None

        replaced = Snapshot("s", 5, 9, b"rebuilt")
        await log.save_snapshot(replaced)
        assert await log.latest_snapshot("s") == replaced

    async def test_snapshot_of_nothing_is_refused(self, log: EventLog) -> None:
        with pytest.raises(ValueError, match="version"):
            await log.save_snapshot(Snapshot("s", 0, 0, b""))

    async def test_meta(self, log: EventLog) -> None:
        assert await log.read_meta("key-fingerprint") is None
        assert await log.write_meta("key-fingerprint", b"\x00abc", only_if_absent=True) is True
        assert await log.write_meta("key-fingerprint", b"other", only_if_absent=True) is False
        assert await log.read_meta("key-fingerprint") == b"\x00abc"
        assert await log.write_meta("key-fingerprint", b"replaced") is True
        assert await log.read_meta("key-fingerprint") == b"replaced"
        assert await log.read_meta("another") is None

    async def test_only_one_concurrent_first_writer_of_meta(self, harness: LogHarness) -> None:
        handles = [await harness.open_log() for _ in range(5)]
        results = await asyncio.gather(
            *(h.write_meta("k", bytes([i]), only_if_absent=True) for i, h in enumerate(handles))
        )
        assert results.count(True) == 1
        assert await handles[0].read_meta("k") == bytes([results.index(True)])

    # -- hash chain ------------------------------------------------------------------------------

    async def _fill(self, log: EventLog, count: int = 120) -> list[RecordedEvent]:
        streams = ["alpha", "beta", "gamma", "delta", "epsilon"]
        for n in range(count // 3):
            stream = streams[n % len(streams)]
            await log.append(
                stream,
                await log.stream_version(stream),
                [event(n=n, k=k) for k in range(1 + n % 3)],
            )
        return list(await log.read_all())

    async def test_chain_verifies_after_many_appends(
        self, log: EventLog, harness: LogHarness
    ) -> None:
        stored = await self._fill(log)
        progress: list[tuple[int, int]] = []

        report = await verify_log(
            log, harness.chain, page_size=7, on_progress=lambda *p: progress.append(p)
        )

        assert report.ok, report
        assert report.checked == len(stored) == await log.head_position()
        assert report.last_link == stored[-1].link
        assert [p for p, _ in progress] == [*range(7, len(stored), 7), len(stored)]
        assert all(head == len(stored) for _, head in progress)

    async def test_chain_refuses_a_different_key(self, log: EventLog) -> None:
        await self._fill(log, 9)
        report = verify_chain(await log.read_all(), HashChain(bytes(range(32))))
        assert report.first_break is not None
        assert (report.first_break.position, report.first_break.reason) == (
            1,
            BreakReason.LINK_MISMATCH,
        )

    async def test_chain_catches_changed_data(self, log: EventLog, harness: LogHarness) -> None:
        stored = await self._fill(log)
        victim = stored[40]
        await harness.tamper_data(victim.position)

        report = await verify_log(log, harness.chain)

        assert report.first_break is not None
        assert report.first_break.reason is BreakReason.LINK_MISMATCH
        assert (report.first_break.position, report.first_break.stream) == (
            victim.position,
            victim.stream,
        )
        assert report.first_break.version == victim.version
        assert report.checked == victim.position - 1

    async def test_chain_catches_a_deleted_event(self, log: EventLog, harness: LogHarness) -> None:
        stored = await self._fill(log)
        await harness.delete_event(stored[30].position)

        report = await verify_log(log, harness.chain, page_size=10)

        assert report.first_break is not None
        assert report.first_break.reason is BreakReason.POSITION_GAP
        assert report.first_break.position == stored[31].position
        assert report.first_break.expected_position == stored[30].position

    async def test_chain_catches_swapped_data(self, log: EventLog, harness: LogHarness) -> None:
        stored = await self._fill(log)
        first, second = stored[20], stored[55]
        assert first.data != second.data
        await harness.swap_data(first.position, second.position)

        report = await verify_log(log, harness.chain)

        assert report.first_break is not None
        assert report.first_break.reason is BreakReason.LINK_MISMATCH
        assert report.first_break.position == first.position

    # -- links and the head checkpoint (what verified reads rely on) ------------------------------

    async def test_read_links_gives_the_stored_links(self, log: EventLog) -> None:
        stored = await self._fill(log)
        wanted = [stored[0].position, stored[40].position, stored[-1].position, 10_000]
        links = await log.read_links(wanted)
        assert links == {e.position: e.link for e in stored if e.position in wanted}
        assert await log.read_links([]) == {}

    async def test_the_checkpoint_follows_every_append(self, log: EventLog) -> None:
        assert await log.read_checkpoint() is None
        stored = await self._fill(log)
        checkpoint = await log.read_checkpoint()
        assert checkpoint is not None
        assert (checkpoint.position, checkpoint.link) == (stored[-1].position, stored[-1].link)
        [more] = await log.append("s", await log.stream_version("s"), [event()])
        assert await log.read_checkpoint() == Checkpoint(more.position, more.link)

    async def test_verified_reads_refuse_changed_data(
        self, log: EventLog, harness: LogHarness
    ) -> None:
        stored = await self._fill(log)
        await harness.tamper_data(stored[30].position)
        verified = VerifiedLog(log, harness.chain)
        with pytest.raises(LogIntegrityError, match=f"position {stored[30].position}"):
            await verified.read_stream(stored[30].stream)
        with pytest.raises(LogIntegrityError):
            await verified.append("s", await log.stream_version("s"), [event()])

    async def test_verified_reads_refuse_a_deleted_middle_event(
        self, log: EventLog, harness: LogHarness
    ) -> None:
        stored = await self._fill(log)
        await harness.delete_event(stored[30].position)
        with pytest.raises(LogIntegrityError, match=f"position {stored[30].position}"):
            await VerifiedLog(log, harness.chain).read_all()

    async def test_deleting_the_newest_event_breaks_the_checkpoint(
        self, log: EventLog, harness: LogHarness
    ) -> None:
        stored = await self._fill(log)
        await harness.delete_event(stored[-1].position)
        with pytest.raises(LogIntegrityError, match="the newest events were deleted"):
            await VerifiedLog(log, harness.chain).check_head()

    # -- lifecycle -------------------------------------------------------------------------------

    async def test_closed_log_refuses_work(self, harness: LogHarness) -> None:
        log = await harness.open_log()
        await log.append("s", 0, [event()])
        await log.close()
        await log.close()  # closing twice is harmless
        with pytest.raises(RuntimeError, match="closed"):
            await log.append("s", 1, [event()])
        with pytest.raises(RuntimeError, match="closed"):
            await log.read_all()
        other = await harness.open_log()
        assert await other.stream_version("s") == 1
