"""The keyed hash chain: its byte format, sealing, and what verification catches."""

from __future__ import annotations

import hashlib
import hmac
import pickle
import struct
from datetime import UTC, datetime, timedelta, timezone

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from eventstore.hashchain import (
    GENESIS,
    BreakReason,
    ChainVerifier,
    HashChain,
    stored_bytes,
    verify_chain,
)
from eventstore.log import NewEvent, RecordedEvent

KEY = bytes(range(32))
CHAIN = HashChain(KEY)
MOMENT = datetime(2024, 5, 17, 12, 30, 45, 123456, tzinfo=UTC)


def build(
    batches: list[tuple[str, list[NewEvent]]], chain: HashChain = CHAIN
) -> list[RecordedEvent]:
    """Seal batches the way an adapter would: versions per stream, positions global."""
    records: list[RecordedEvent] = []
    versions: dict[str, int] = {}
    for index, (stream, events) in enumerate(batches):
        sealed = chain.seal(
            records[-1].link if records else GENESIS,
            stream,
            versions.get(stream, 0) + 1,
            len(records) + 1,
            events,
            MOMENT + timedelta(microseconds=index),
        )
        versions[stream] = sealed[-1].version
        records.extend(sealed)
    return records


def sample(count: int = 10) -> list[RecordedEvent]:
    streams = ["a", "b", "c"]
    return build(
        [(streams[n % 3], [NewEvent(f"T{n}", f'{{"n":{n}}}'.encode())]) for n in range(count)]
    )


# -- format ----------------------------------------------------------------------------------


def test_link_matches_an_independent_encoding() -> None:
    """Pins the byte format: other implementations (and old logs) depend on it never changing."""

    def field(value: bytes) -> bytes:
        return struct.pack(">Q", len(value)) + value

    micros = int((MOMENT - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds()) * 10**6 + 123456
    expected_content = b"".join(
        field(v)
        for v in (
            b"parako-config/event-chain/v1",
            "tenant:é".encode(),
            struct.pack(">q", 3),
            struct.pack(">q", 41),
            b"Changed",
            b'{"x":1}',
            struct.pack(">q", micros),
        )
    )
    previous = bytes([7]) * 32

    content = stored_bytes("tenant:é", 3, 41, "Changed", b'{"x":1}', MOMENT)

    assert content == expected_content
    assert CHAIN.link(previous, content) == hmac.digest(KEY, previous + content, hashlib.sha256)


@pytest.mark.parametrize(
    ("left", "right"),
    [
        (("ab", 1, 1, "c", b""), ("a", 1, 1, "bc", b"")),
        (("s", 1, 1, "ab", b"c"), ("s", 1, 1, "a", b"bc")),
        (("s", 1, 2, "t", b""), ("s", 2, 1, "t", b"")),
        (("", 1, 1, "t", b"x"), ("t", 1, 1, "", b"x")),
    ],
)
def test_stored_bytes_are_unambiguous(
    left: tuple[str, int, int, str, bytes], right: tuple[str, int, int, str, bytes]
) -> None:
    assert stored_bytes(*left, MOMENT) != stored_bytes(*right, MOMENT)


def test_recorded_at_is_signed_to_the_microsecond() -> None:
    later = MOMENT + timedelta(microseconds=1)
    assert stored_bytes("s", 1, 1, "t", b"", MOMENT) != stored_bytes("s", 1, 1, "t", b"", later)


def test_same_instant_in_another_zone_signs_identically() -> None:
    elsewhere = MOMENT.astimezone(timezone(timedelta(hours=-5)))
    assert stored_bytes("s", 1, 1, "t", b"", MOMENT) == stored_bytes("s", 1, 1, "t", b"", elsewhere)


def test_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        stored_bytes("s", 1, 1, "t", b"", MOMENT.replace(tzinfo=None))


# -- the key ---------------------------------------------------------------------------------


@pytest.mark.parametrize("key", [b"", bytes(31), bytes(33)])
def test_key_must_be_32_bytes(key: bytes) -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        HashChain(key)


def test_key_stays_out_of_repr_and_pickle() -> None:
    assert KEY.hex() not in repr(CHAIN)
    assert repr(KEY) not in repr(CHAIN)
    with pytest.raises(TypeError, match="not picklable"):
        pickle.dumps(CHAIN)


def test_previous_link_must_be_32_bytes() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        CHAIN.link(b"short", b"content")


# -- sealing ---------------------------------------------------------------------------------


def test_seal_numbers_and_links_a_batch() -> None:
    previous = bytes([9]) * 32
    events = [NewEvent("A", b"1"), NewEvent("B", b"2"), NewEvent("C", b"3")]
    eastern = MOMENT.astimezone(timezone(timedelta(hours=3)))

    sealed = CHAIN.seal(previous, "s", 5, 20, events, eastern)

    assert [(e.version, e.position, e.type, e.data) for e in sealed] == [
        (5, 20, "A", b"1"),
        (6, 21, "B", b"2"),
        (7, 22, "C", b"3"),
    ]
    assert all(e.recorded_at == MOMENT and e.recorded_at.tzinfo is UTC for e in sealed)
    assert sealed[0].link == CHAIN.link_of(previous, sealed[0])
    assert sealed[1].link == CHAIN.link_of(sealed[0].link, sealed[1])
    assert sealed[2].link == CHAIN.link_of(sealed[1].link, sealed[2])


# -- verification ----------------------------------------------------------------------------


def test_intact_chain_verifies() -> None:
    events = sample(25)
    report = verify_chain(events, CHAIN)
    assert report.ok
    assert (report.checked, report.last_position, report.last_link) == (25, 25, events[-1].link)


def test_empty_chain_verifies_and_reports_genesis() -> None:
    report = verify_chain([], CHAIN)
    assert report.ok
    assert (report.checked, report.last_position, report.last_link) == (0, 0, GENESIS)


def test_wrong_key_breaks_at_the_first_event() -> None:
    report = verify_chain(sample(), HashChain(bytes(32)))
    assert report.first_break is not None
    assert (report.first_break.position, report.first_break.reason) == (
        1,
        BreakReason.LINK_MISMATCH,
    )
    assert report.checked == 0


def test_wrong_start_link_breaks_at_the_first_event() -> None:
    report = verify_chain(sample(), CHAIN, bytes([1]) * 32)
    assert report.first_break is not None
    assert report.first_break.position == 1


EDITS = {
    "stream": lambda e: attrs.evolve(e, stream=e.stream + "x"),
    "version": lambda e: attrs.evolve(e, version=e.version + 1),
    "type": lambda e: attrs.evolve(e, type=e.type + "x"),
    "data": lambda e: attrs.evolve(e, data=e.data + b" "),
    "recorded_at": lambda e: attrs.evolve(e, recorded_at=e.recorded_at + timedelta(microseconds=1)),
    "link": lambda e: attrs.evolve(e, link=bytes(32)),
}


@given(
    sizes=st.lists(st.integers(1, 4), min_size=2, max_size=8),
    streams=st.lists(st.sampled_from(["a", "b", "c"]), min_size=8, max_size=8),
    data=st.data(),
)
def test_any_single_field_edit_is_caught_where_it_happened(
    sizes: list[int], streams: list[str], data: st.DataObject
) -> None:
    events = build(
        [
            (stream, [NewEvent(f"T{i}", bytes([i, k])) for k in range(size)])
            for i, (stream, size) in enumerate(zip(streams, sizes, strict=False))
        ]
    )
    index = data.draw(st.integers(0, len(events) - 1))
    field = data.draw(st.sampled_from(sorted(EDITS)))
    tampered = [*events[:index], EDITS[field](events[index]), *events[index + 1 :]]

    report = verify_chain(tampered, CHAIN)

    assert report.first_break is not None
    assert report.first_break.reason is BreakReason.LINK_MISMATCH
    assert report.first_break.position == events[index].position
    assert report.checked == index


def test_deletion_is_caught_at_the_next_event() -> None:
    events = sample(10)
    report = verify_chain(events[:4] + events[5:], CHAIN)
    assert report.first_break is not None
    assert report.first_break.reason is BreakReason.POSITION_GAP
    assert (report.first_break.position, report.first_break.expected_position) == (6, 5)
    assert report.checked == 4


def test_deletion_with_renumbering_is_caught() -> None:
    events = sample(10)
    renumbered = events[:4] + [attrs.evolve(e, position=e.position - 1) for e in events[5:]]
    report = verify_chain(renumbered, CHAIN)
    assert report.first_break is not None
    assert (report.first_break.position, report.first_break.reason) == (
        5,
        BreakReason.LINK_MISMATCH,
    )


def test_truncating_the_newest_events_is_only_visible_through_the_report() -> None:
    """A chain cannot know it was cut short; the report's anchor is what reveals it."""
    events = sample(10)
    full = verify_chain(events, CHAIN)
    cut = verify_chain(events[:7], CHAIN)
    assert cut.ok
    assert (cut.last_position, cut.last_link) != (full.last_position, full.last_link)


def test_reordering_is_caught() -> None:
    events = sample(10)
    swapped = [*events[:3], events[4], events[3], *events[5:]]
    report = verify_chain(swapped, CHAIN)
    assert report.first_break is not None
    assert (report.first_break.position, report.first_break.reason) == (
        5,
        BreakReason.POSITION_GAP,
    )


def test_reordering_with_renumbering_is_caught() -> None:
    events = sample(10)
    swapped = [
        *events[:3],
        attrs.evolve(events[4], position=4),
        attrs.evolve(events[3], position=5),
        *events[5:],
    ]
    report = verify_chain(swapped, CHAIN)
    assert report.first_break is not None
    assert (report.first_break.position, report.first_break.reason) == (
        4,
        BreakReason.LINK_MISMATCH,
    )


def test_insertion_is_caught() -> None:
    """Whoever inserts lacks the key, so the forged event's link cannot be right."""
    events = sample(10)
    forged = HashChain(bytes([5]) * 32).seal(
        events[5].link, "a", 99, 7, [NewEvent("Forged", b"{}")], MOMENT
    )
    shifted = [attrs.evolve(e, position=e.position + 1) for e in events[6:]]
    report = verify_chain([*events[:6], *forged, *shifted], CHAIN)
    assert report.first_break is not None
    assert (report.first_break.position, report.first_break.reason) == (
        7,
        BreakReason.LINK_MISMATCH,
    )
    assert report.checked == 6


def test_duplicate_position_is_reported_as_out_of_order() -> None:
    events = sample(5)
    report = verify_chain([*events[:3], events[2], *events[3:]], CHAIN)
    assert report.first_break is not None
    assert (report.first_break.position, report.first_break.reason) == (
        3,
        BreakReason.POSITION_ORDER,
    )
    assert report.first_break.expected_position == 4


# -- incremental verification ----------------------------------------------------------------


def test_incremental_verification_matches_one_pass() -> None:
    events = sample(23)
    verifier = ChainVerifier(CHAIN)
    for start in range(0, len(events), 5):
        assert verifier.feed(events[start : start + 5])
        assert verifier.last_position == min(start + 5, len(events))
    assert verifier.report() == verify_chain(events, CHAIN)


def test_verification_resumes_from_a_report() -> None:
    events = sample(20)
    first = verify_chain(events[:12], CHAIN)
    rest = verify_chain(events[12:], CHAIN, first.last_link, after_position=first.last_position)
    assert rest.ok
    assert rest.last_link == events[-1].link
    assert rest.checked == 8


def test_feeding_after_a_break_changes_nothing() -> None:
    events = sample(10)
    verifier = ChainVerifier(CHAIN)
    assert not verifier.feed([*events[:3], attrs.evolve(events[3], data=b"x")])
    assert verifier.broken
    broken = verifier.report()
    assert not verifier.feed(events[4:])
    assert verifier.report() == broken
    assert broken.first_break is not None
    assert broken.first_break.position == 4
