"""Version history folded from ConfigChanged events: order, JSON shape, incremental folding."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from eventstore.events import (
    ConfigChanged,
    FieldChange,
    SecretRevealed,
    canonical_json,
    encode,
)
from eventstore.log import RecordedEvent
from eventstore.state import AUDIT_STREAM, PLATFORM_STREAM, semver_of
from projections.history import HistoryView, VersionInfo, history_from

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def recorded(
    event: ConfigChanged | SecretRevealed, *, version: int, position: int, stream: str
) -> RecordedEvent:
    new = encode(event)
    return RecordedEvent(stream, version, position, new.type, new.data, T0, b"")


def change(version: int, *, paths: tuple[str, ...] = ("branding.companyName",)) -> ConfigChanged:
    return ConfigChanged(
        changes=tuple(FieldChange(p, f"old-{version}", f"new-{version}") for p in paths),
        semver=semver_of(version),
        actor=f"admin{version}",
        reason=f"reason {version}",
        tags=("main", "configuration"),
        environment="production",
        at=T0 + timedelta(minutes=version),
        origin="initial" if version == 1 else "save",
    )


def platform_events(count: int) -> list[RecordedEvent]:
    return [
        recorded(change(v), version=v, position=v, stream=PLATFORM_STREAM)
        for v in range(1, count + 1)
    ]


def test_history_lists_versions_newest_first() -> None:
    history = history_from(platform_events(3))

    assert [info.version for info in history] == ["1.0.2", "1.0.1", "1.0.0"]
    assert [info.stream_version for info in history] == [3, 2, 1]
    assert [info.last_modified_by for info in history] == ["admin3", "admin2", "admin1"]


def test_version_info_carries_the_event_metadata() -> None:
    restore = ConfigChanged(
        changes=(
            FieldChange("branding.companyName", "Acme", "Old Acme"),
            FieldChange("deployment.url", "https://b.example", None, removed=True),
        ),
        semver="1.0.4",
        actor="alice",
        reason="roll back the rename",
        tags=("main", "rollback"),
        environment="staging",
        at=datetime(2025, 3, 2, 14, 5, 6, tzinfo=UTC),
        origin="restore",
        restored_from="1.0.1",
    )

    [info] = history_from([recorded(restore, version=5, position=9, stream=PLATFORM_STREAM)])

    assert info == VersionInfo(
        version="1.0.4",
        stream_version=5,
        last_modified_by="alice",
        change_reason="roll back the rename",
        tags=("main", "rollback"),
        environment="staging",
        timestamp=datetime(2025, 3, 2, 14, 5, 6, tzinfo=UTC),
        origin="restore",
        restored_from="1.0.1",
        changed_paths=("branding.companyName", "deployment.url"),
    )
    assert info.to_json() == {
        "version": "1.0.4",
        "_version": 5,
        "last_modified_by": "alice",
        "change_reason": "roll back the rename",
        "tags": ["main", "rollback"],
        "environment": "staging",
        "timestamp": "2025-03-02T14:05:06+00:00",
        "origin": "restore",
        "restored_from": "1.0.1",
        "changed_paths": ["branding.companyName", "deployment.url"],
    }


def test_history_ignores_other_streams_and_event_types() -> None:
    reveal = SecretRevealed("security.secrets.jwt_secret", "bob", "debugging", T0)
    events = [
        recorded(change(1), version=1, position=1, stream=PLATFORM_STREAM),
        recorded(reveal, version=1, position=2, stream=AUDIT_STREAM),
        recorded(change(1), version=1, position=3, stream="config/tenant/acme"),
        recorded(change(2), version=2, position=4, stream=PLATFORM_STREAM),
    ]

    assert [info.stream_version for info in history_from(events)] == [2, 1]
    tenant = history_from(events, stream="config/tenant/acme")
    assert [(info.version, info.stream_version) for info in tenant] == [("1.0.0", 1)]


def test_history_reads_first_prototype_events_through_the_upcaster() -> None:
    body = {
        "schema": 1,
        "changes": {"branding.companyName": [None, "Acme"]},
        "version": "1.0.0",
        "by": "system",
        "at": T0.isoformat(),
    }
    event = RecordedEvent(PLATFORM_STREAM, 1, 1, "ConfigChanged", canonical_json(body), T0, b"")

    [info] = history_from([event])

    assert info.last_modified_by == "system"
    assert info.tags == ("main", "configuration")
    assert info.environment == "development"
    assert info.origin == "save"
    assert info.changed_paths == ("branding.companyName",)


def test_view_folds_incrementally_and_skips_redelivered_events() -> None:
    view = HistoryView()
    events = platform_events(3)

    first = view.apply(events[0])
    assert first is not None
    assert first.version == "1.0.0"
    assert view.apply(events[1]) is not None
    assert view.apply(events[0]) is None  # re-delivered after a catch-up
    assert view.apply(events[1]) is None
    assert view.apply(events[2]) is not None

    assert len(view) == 3
    assert view.stream_version == 3
    assert [info.stream_version for info in view.all()] == [3, 2, 1]


def test_view_ignores_events_it_does_not_fold() -> None:
    view = HistoryView()
    reveal = SecretRevealed("security.secrets.jwt_secret", "bob", "debugging", T0)

    assert view.apply(recorded(reveal, version=1, position=1, stream=AUDIT_STREAM)) is None
    assert view.apply(recorded(change(1), version=1, position=2, stream="other")) is None
    assert len(view) == 0
    assert view.stream_version == 0
    assert view.latest() == []


def test_latest_defaults_to_ten_newest_but_keeps_every_version() -> None:
    view = HistoryView()
    for event in platform_events(12):
        view.apply(event)

    assert [info.stream_version for info in view.latest()] == [12, 11, 10, 9, 8, 7, 6, 5, 4, 3]
    assert [info.version for info in view.latest(2)] == ["1.0.11", "1.0.10"]
    assert len(view.latest(50)) == 12
    assert view.latest(0) == []
    assert len(view.all()) == 12  # D13: older versions stay readable


def test_latest_refuses_a_negative_count() -> None:
    with pytest.raises(ValueError, match="n must be >= 0"):
        HistoryView().latest(-1)


# --- reading pages of the history from the end of the stream -----------------------------------


class ReadingLog:
    """A memory log holding ``count`` platform versions that records the stream ranges read."""

    def __init__(self, count: int) -> None:
        from adapters.storage.memory import MemoryEventLog
        from eventstore.hashchain import HashChain

        self.log = MemoryEventLog(HashChain(bytes(range(32))))
        self.count = count
        self.reads: list[tuple[int, int | None]] = []

    async def fill(self) -> ReadingLog:
        from collections.abc import Sequence

        for version in range(1, self.count + 1):
            await self.log.append(PLATFORM_STREAM, version - 1, [encode(change(version))])
        original = self.log.read_stream

        async def read_stream(
            stream: str, from_version: int = 1, to_version: int | None = None
        ) -> Sequence[RecordedEvent]:
            self.reads.append((from_version, to_version))
            return await original(stream, from_version, to_version)

        self.log.read_stream = read_stream  # type: ignore[method-assign]
        return self

    def events_read(self) -> int:
        return sum(
            min(upper if upper is not None else self.count, self.count) - lower + 1
            for lower, upper in self.reads
        )


async def test_versions_before_pages_back_to_the_first_version_reading_only_each_page() -> None:
    from projections.history import latest_versions, versions_before

    reading = await ReadingLog(60).fill()
    newest = await latest_versions(reading.log, 25)
    assert [v.stream_version for v in newest] == list(range(60, 35, -1))
    pages = [newest]
    while pages[-1][-1].stream_version > 1:
        reading.reads.clear()
        pages.append(await versions_before(reading.log, pages[-1][-1].stream_version, 25))
        assert reading.events_read() == len(pages[-1])  # that page's events, nothing more
    assert [len(p) for p in pages] == [25, 25, 10]
    assert [v.stream_version for p in pages for v in p] == list(range(60, 0, -1))
    assert pages[-1][-1].version == "1.0.0"


async def test_versions_before_stays_within_the_stream() -> None:
    from projections.history import versions_before

    reading = await ReadingLog(5).fill()
    assert await versions_before(reading.log, 1, 25) == []
    assert await versions_before(reading.log, 0, 25) == []
    assert await versions_before(reading.log, 3, 0) == []
    assert [v.stream_version for v in await versions_before(reading.log, 3, 25)] == [2, 1]
    # a bound far past the end is the newest page, read in one go
    reading.reads.clear()
    far = await versions_before(reading.log, 10**18, 2)
    assert [v.stream_version for v in far] == [5, 4]
    assert reading.reads == [(4, 5)]
    with pytest.raises(ValueError, match="n must be >= 0"):
        await versions_before(reading.log, 3, -1)


async def test_versions_after_reads_only_the_newer_versions() -> None:
    from projections.history import versions_after

    reading = await ReadingLog(8).fill()
    after = await versions_after(reading.log, 5)
    assert [v.stream_version for v in after] == [8, 7, 6]
    assert reading.reads == [(6, None)]
    assert await versions_after(reading.log, 8) == []
    assert [v.stream_version for v in await versions_after(reading.log, 0)] == list(range(8, 0, -1))
