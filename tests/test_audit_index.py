"""History and audit reads that do not grow with the log: the newest versions read from the end
of the stream, audit pages from the trail's index; both equal to the plain replay they replace."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.storage.memory import MemoryEventLog
from eventstore import events
from eventstore.events import ConfigChanged, FieldChange, SecretRevealed, TenantOverrideChanged
from eventstore.hashchain import HashChain
from eventstore.integrity import VerifiedLog
from eventstore.state import PLATFORM_STREAM
from eventstore.tenants import tenant_stream
from projections.audit import AuditTrail, encode_cursor, filter_entries, page
from projections.history import history_from, latest_versions, version_info, versions_in

CHAIN = HashChain(bytes(range(32)))
T0 = datetime(2026, 1, 1, tzinfo=UTC)
ACTORS = ("alice", "bob", "carol")
PATHS = ("branding.companyName", "branding.logo", "oidc.path", "security.secrets.jwt_secret")

# one recorded event: (kind, actor, minutes after T0 — not always increasing, as clocks of
# several processes are not —, path, tenant)
events_drawn = st.lists(
    st.tuples(
        st.sampled_from(("change", "tenant", "reveal")),
        st.sampled_from(ACTORS),
        st.integers(0, 40),
        st.sampled_from(PATHS),
        st.sampled_from(("acme", "globex")),
    ),
    max_size=60,
)


async def _log(drawn: list[tuple[str, str, int, str, str]]) -> MemoryEventLog:
    log = MemoryEventLog(CHAIN)
    for i, (kind, actor, minutes, path, slug) in enumerate(drawn):
        at = T0 + timedelta(minutes=minutes)
        changes = (FieldChange(path, None, f"v{i}"), FieldChange("application.title", None, "t"))
        if kind == "change":
            stream = PLATFORM_STREAM
            event: events.DomainEvent = ConfigChanged(
                changes, "1.0.0", actor, "", ("main",), "dev", at
            )
        elif kind == "tenant":
            stream = tenant_stream(slug)
            event = TenantOverrideChanged(
                changes, "1.0.0", actor, "", ("main",), "dev", at, tenant=slug
            )
        else:
            stream = "audit/platform"
            event = SecretRevealed(path, actor, "", at)
        version = await log.stream_version(stream)
        await log.append(stream, version, [events.encode(event)])
    return log


filters = st.fixed_dictionaries(
    {},
    optional={
        "actor": st.sampled_from((*ACTORS, "nobody")),
        "path_prefix": st.sampled_from(("branding", "branding.logo", "oidc", "application")),
        "since": st.integers(0, 40).map(lambda m: T0 + timedelta(minutes=m)),
        "until": st.integers(0, 40).map(lambda m: T0 + timedelta(minutes=m)),
        "tenant": st.sampled_from(("acme", "globex")),
    },
)


@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(events_drawn, filters, st.booleans(), st.booleans(), st.integers(1, 7), st.data())
async def test_pages_from_the_index_are_the_pages_of_a_scan(
    drawn: list[tuple[str, str, int, str, str]],
    chosen: dict[str, object],
    platform_only: bool,
    newest_first: bool,
    limit: int,
    data: st.DataObject,
) -> None:
    trail = AuditTrail(page_size=7, block=4)  # small blocks: the time index is walked
    await trail.refresh(await _log(drawn))
    everything = await trail.catch_up(MemoryEventLog(CHAIN))  # nothing new: the same
    scanned = filter_entries(everything, **chosen)  # type: ignore[arg-type]
    if platform_only:
        scanned = [e for e in scanned if e.tenant is None]
    selected = trail.select(**chosen, platform_only=platform_only)  # type: ignore[arg-type]
    assert selected == scanned
    cursor = None
    from_a_cursor = data.draw(st.booleans(), label="from a cursor")
    if everything and from_a_cursor:
        cursor = encode_cursor(data.draw(st.sampled_from(everything), label="cursor").key)
    found = trail.page(
        cursor,
        limit,
        newest_first=newest_first,
        platform_only=platform_only,
        **chosen,  # type: ignore[arg-type]
    )
    assert found == page(scanned, cursor, limit, newest_first=newest_first)


def test_a_page_reads_the_index_not_every_entry() -> None:
    """A page of one actor's entries touches that actor's list only."""
    trail = AuditTrail()
    changes = (FieldChange("branding.logo", None, "x"),)

    async def fill() -> None:
        log = MemoryEventLog(CHAIN)
        for i in range(2000):
            actor = "rare" if i % 500 == 0 else "busy"
            event = ConfigChanged(changes, "1.0.0", actor, "", ("main",), "dev", T0)
            await log.append(PLATFORM_STREAM, i, [events.encode(event)])
        await trail.refresh(log)

    import asyncio

    asyncio.run(fill())
    seen: list[int] = []
    entries = trail._entries

    class Counting(list):  # type: ignore[type-arg]
        def __getitem__(self, index: int) -> object:  # type: ignore[override]
            seen.append(index)
            return super().__getitem__(index)

    trail._entries = Counting(entries)
    items, cursor = trail.page(None, 2, actor="rare")
    assert [e.position for e in items] == [1, 501]
    assert cursor is not None
    assert len(seen) < 20


@settings(deadline=None)
@given(st.integers(0, 30), st.integers(0, 40))
async def test_the_newest_versions_are_the_end_of_the_full_history(count: int, n: int) -> None:
    log = MemoryEventLog(CHAIN)
    for i in range(count):
        event = ConfigChanged(
            (FieldChange("branding.companyName", None, f"v{i}"),),
            f"1.0.{i}",
            "ops",
            "",
            ("main",),
            "dev",
            T0,
        )
        await log.append(PLATFORM_STREAM, i, [events.encode(event)])
    everything = history_from(await log.read_stream(PLATFORM_STREAM))
    assert await latest_versions(log, n) == everything[:n]
    assert await versions_in(log) == len(everything)
    for info in everything:
        assert await version_info(log, info.version) == info
    assert await version_info(log, f"1.0.{count}") is None
    assert await version_info(log, "2.0.0") is None


async def test_a_negative_count_is_refused() -> None:
    with pytest.raises(ValueError, match="n must be >= 0"):
        await latest_versions(MemoryEventLog(CHAIN), -1)


async def test_a_trail_longer_than_a_page_is_read_by_a_process_that_saw_its_head() -> None:
    """Full pages of ``read_all`` say nothing of where the head is: reading the trail from the
    start, in a process that already saw the head far beyond the first page, is no rollback."""
    inner = MemoryEventLog(CHAIN)
    change = (FieldChange("branding.logo", None, "x"),)
    for i in range(25):
        batch = [
            events.encode(ConfigChanged(change, "1.0.0", "ops", "", ("main",), "dev", T0))
            for _ in range(100)
        ]
        await inner.append(PLATFORM_STREAM, i * 100, batch)
    log = VerifiedLog(inner, CHAIN)
    assert await log.head_position() == 2500
    trail = AuditTrail(page_size=1000)
    await trail.refresh(log)
    assert (len(trail), log.failure) == (2500, None)
