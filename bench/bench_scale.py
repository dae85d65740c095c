"""Costs that grow no faster than the work: each read and fold at 1,000 / 10,000 / 100,000
versions and tenants, with the growth from one size to the next (linear = 10× per 10×).

Logs are made of the events the command path writes. The first saves and tenants of each log go
through the commands themselves (``service.save``, ``service.tenants.create`` / ``save``); the
rest are those events again, each derived from the previous one with ``attrs.evolve`` (the next
semver, the next value, the old value it replaces, another author), appended 1,000 per append,
with the platform snapshot every 50 versions the command path leaves (and the registry snapshot
the registry fold leaves) — building 100,000 versions through full validation would take an hour
here, and the fold, the reads and ``verify`` cannot tell the difference.

* **versions** (a SQLite store): ``history`` (the newest 10) in a fresh process — open, read,
  close, as the command does — beside the full replay it replaced; an audit page from the
  trail's index (one actor's first page, and a page from a cursor) beside ``page`` over a scan;
  ``verify`` in events/s (links, checkpoint and every snapshot) and ``verify --since``.
* **tenants**: the registry fold (the plain one it replaced, which copied the table per event,
  up to 10,000); a fresh process reading its first tenant (PostgreSQL, multi-tenancy on, from
  the snapshot the creating process left, and without it); and on the in-memory log, as
  ``bench tenants``, every tenant built into one cache, its memory beyond the platform (objects
  not reachable from the platform config or the registry, over all cached tenants: the most
  recently read, held as objects, and the others, kept as their differences), the process's
  memory, and every cached tenant re-derived after a platform change.

``python -m bench scale [--quick]``; ``--quick`` stops at 10,000 (under two minutes).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final, TypeVar

import asyncpg
import attrs

from adapters.service import ConfigService
from adapters.wiring import open_service, open_verifier
from bench import bench_tenants
from bench.report import Row, status, table
from bench.scratch_pg import drop_database, scratch_database
from eventstore import events
from eventstore.commands import SNAPSHOT_EVERY, Author
from eventstore.events import ConfigChanged, FieldChange, TenantChanged
from eventstore.log import NewEvent, RecordedEvent
from eventstore.state import PLATFORM_STREAM
from eventstore.tenants import REGISTRY_STREAM, Registry, Tenant, TenantStatus, bulk_fold
from projections.audit import AuditTrail, encode_cursor, filter_entries, page
from projections.history import history_from, latest_versions
from projections.verification import verify_log

KEY_HEX: Final = "9e" * 32
SIZES: Final = (1_000, 10_000, 100_000)
QUICK_SIZES: Final = (1_000, 10_000)
#: saves and tenants made by the commands themselves before the rest follow their events
REAL: Final = 100
BATCH: Final = 1_000
AT: Final = datetime(2026, 1, 1, tzinfo=UTC)
T = TypeVar("T")

# targets
HISTORY_RATIO: Final = 1.2
#: an audit page read from the index: flat, but for the bisection that finds its cursor and a
#: larger heap's cache misses (a scan grows as much as the log)
AUDIT_RATIO: Final = 2.0
VERIFY_RATE: Final = 20_000
FIRST_TENANT_SECONDS: Final = 1.0
BUILD_RATE: Final = 3_000
MEMORY_BYTES: Final = 2 * 1024
REDERIVE_RATE: Final = 10 * 1_029  # ten times the rate of rebuilding every tenant before


def _environ(root: Path, **more: str) -> dict[str, str]:
    return {
        "USE_FILE_CONFIG": "false",
        "ENCRYPTION_KEY": KEY_HEX,
        "PARAKO_HOME": str(root),
        **more,
    }


async def _median(runs: int, measure: Callable[[], Awaitable[float]]) -> float:
    return statistics.median([await measure() for _ in range(runs)])


async def _timed(call: Callable[[], Awaitable[T]]) -> tuple[float, T]:
    start = time.perf_counter()
    result = await call()
    return time.perf_counter() - start, result


# --- versions ---------------------------------------------------------------------------------


async def _versions_store(root: Path, n: int) -> None:
    """A SQLite store of ``n`` platform versions (see the module docstring)."""
    environ = _environ(root, STORAGE_ADAPTER="sqlite")
    async with await open_service(root, environ) as service:
        for i in range(1, min(n, REAL)):
            author = Author(f"user{i % 20}", f"change {i}")
            await service.save({"branding": {"companyName": f"Company {i}"}}, author)
        log = service.event_log
        last = events.decode((await log.read_stream(PLATFORM_STREAM, service.version))[-1])
        assert isinstance(last, ConfigChanged)
        state = await service.stored_at(None)
        while state.version < n:
            batch: list[NewEvent] = []
            folded = state
            for version in range(state.version + 1, min(n, state.version + BATCH) + 1):
                i = version - 1
                old = folded.document["branding"]["companyName"]
                event = attrs.evolve(
                    last,
                    changes=(FieldChange("branding.companyName", old, f"Company {i}"),),
                    semver=f"1.0.{i}",
                    actor=f"user{i % 20}",
                    reason=f"change {i}",
                    at=AT + timedelta(seconds=i),
                )
                batch.append(events.encode(event))
                folded = folded.apply(event, version, 0)
            recorded = await log.append(PLATFORM_STREAM, state.version, batch)
            for record in recorded:
                change = events.decode(record)
                assert isinstance(change, ConfigChanged)
                state = state.apply(change, record.version, record.position)
                if record.version % SNAPSHOT_EVERY == 0:  # as the command path leaves them
                    await log.save_snapshot(state.to_snapshot(PLATFORM_STREAM))


async def _history_fresh(root: Path) -> float:
    """What ``parako-config history`` does: open the store, read the newest 10, close."""
    start = time.perf_counter()
    async with await open_service(root, _environ(root, STORAGE_ADAPTER="sqlite")) as service:
        found = await latest_versions(service.event_log, 10)
    assert len(found) == 10
    return time.perf_counter() - start


async def _history_replayed(root: Path) -> float:
    """The same before: every version decoded, the newest 10 kept."""
    start = time.perf_counter()
    async with await open_service(root, _environ(root, STORAGE_ADAPTER="sqlite")) as service:
        found = history_from(await service.recorded_events())[:10]
    assert len(found) == 10
    return time.perf_counter() - start


async def _audit(service: ConfigService) -> tuple[float, float, float, float]:
    """Index build, an actor's page, a page from a cursor mid-trail, and the scan's page."""
    trail = AuditTrail()
    build, _ = await _timed(lambda: trail.refresh(service.event_log))
    entries = await trail.catch_up(service.event_log)
    middle = encode_cursor(entries[len(entries) // 2].key)

    def per_call(call: Callable[[], object], number: int) -> float:
        start = time.perf_counter()
        for _ in range(number):
            call()
        return (time.perf_counter() - start) / number

    def actor_page() -> object:
        items, _ = trail.page(None, 50, actor="user7", platform_only=True)
        assert items
        return items

    def cursor_page() -> object:
        items, _ = trail.page(middle, 50, platform_only=True, path_prefix="branding")
        assert items
        return items

    def scanned_page() -> object:
        chosen = [e for e in filter_entries(entries, actor="user7") if e.tenant is None]
        items, _ = page(chosen, None, 50)
        assert items
        return items

    return (
        build,
        statistics.median(per_call(actor_page, 200) for _ in range(5)),
        statistics.median(per_call(cursor_page, 200) for _ in range(5)),
        statistics.median(per_call(scanned_page, 3) for _ in range(3)),
    )


async def _verify(root: Path) -> tuple[float, float, int]:
    log, chain = await open_verifier(root, _environ(root, STORAGE_ADAPTER="sqlite"))
    try:
        whole, report = await _timed(lambda: verify_log(log, chain))
        assert report.ok, report
        since = max(0, report.chain.last_position - 1_000)
        tail, recent = await _timed(lambda: verify_log(log, chain, since=since))
        assert recent.ok
        return whole, tail, report.chain.checked
    finally:
        await log.close()


async def _versions(rows: list[Row], sizes: tuple[int, ...], base: Path) -> None:
    name = "versions"
    results: dict[int, dict[str, float]] = {}
    roots = {n: base / f"versions-{n}" for n in sizes}
    made: dict[int, float] = {}
    for n, root in roots.items():
        (root / "runtime").mkdir(parents=True)
        made[n], _ = await _timed(lambda: _versions_store(root, n))  # noqa: B023 - awaited here
    # the sizes in turn, round after round: a busy moment of the machine weighs on all alike
    fresh: dict[int, list[float]] = {n: [] for n in sizes}
    for _ in range(7):
        for n, root in roots.items():
            fresh[n].append(await _history_fresh(root))
    for n, root in roots.items():
        history = statistics.median(fresh[n])
        replayed = await _median(3, lambda: _history_replayed(root))  # noqa: B023
        async with await open_service(root, _environ(root, STORAGE_ADAPTER="sqlite")) as service:
            build, actor, cursor, scanned = await _audit(service)
        whole, tail, checked = await _verify(root)
        results[n] = {
            "history": history,
            "replayed": replayed,
            "actor": actor,
            "cursor": cursor,
            "scanned": scanned,
        }
        rows += [
            (name, f"{n:,}: build the store", f"{made[n]:.1f} s", ""),
            (name, f"{n:,}: history, newest 10, fresh process", _ms(history), ""),
            (name, f"{n:,}:   before (replay of every version)", _ms(replayed), ""),
            (name, f"{n:,}: audit index built (one pass)", _ms(build), ""),
            (name, f"{n:,}: audit page, one actor", _ms(actor), ""),
            (name, f"{n:,}: audit page from a mid-trail cursor", _ms(cursor), ""),
            (name, f"{n:,}:   before (filter + page over a scan)", _ms(scanned), ""),
            (
                name,
                f"{n:,}: verify ({checked:,} events, snapshots)",
                f"{checked / whole:,.0f} ev/s",
                status(checked / whole >= VERIFY_RATE, f">= {VERIFY_RATE:,}/s"),
            ),
            (name, f"{n:,}: verify --since (last 1,000 events)", _ms(tail), ""),
        ]
    low, high = sizes[0], sizes[-1]
    for key, label, target in (
        ("history", "history", HISTORY_RATIO),
        ("actor", "audit page, one actor", AUDIT_RATIO),
        ("cursor", "audit page from a cursor", AUDIT_RATIO),
    ):
        ratio = results[high][key] / results[low][key]
        rows.append(
            (
                name,
                f"{label}: {high:,} / {low:,}",
                f"{ratio:.2f}",
                status(ratio <= target, f"<= {target} (flat)"),
            )
        )
    for key, label in (("replayed", "before: history"), ("scanned", "before: audit page")):
        rows.append((name, f"{label}: {high:,} / {low:,}", _ratio(results, key, low, high), ""))


# --- tenants ------------------------------------------------------------------------------------


@attrs.frozen
class _PlainRegistry:
    """The fold as it was, for comparison: the whole table copied per event."""

    tenants: Mapping[str, Tenant] = attrs.field(factory=dict)
    version: int = 0

    def apply(self, event: TenantChanged, version: int) -> _PlainRegistry:
        tenant = Tenant(event.slug, event.display_name, event.domain, TenantStatus(event.status))
        return _PlainRegistry({**self.tenants, event.slug: tenant}, version)


def _tenant_event(i: int) -> TenantChanged:
    domain = f"auth.tenant{i}.example" if i % 10 == 0 else None
    return TenantChanged(f"t{i}", f"Tenant {i}", domain, "active", "ops", "", AT, True)


def _fold_times(n: int) -> tuple[float, float | None]:
    stored = [
        RecordedEvent(REGISTRY_STREAM, i + 1, i + 1, new.type, new.data, AT, b"")
        for i, new in enumerate(events.encode(_tenant_event(i)) for i in range(n))
    ]
    start = time.process_time()
    registry = Registry()
    with bulk_fold():  # as TenantCommands.registry folds a long tail
        for record in stored:
            event = events.decode(record)
            assert isinstance(event, TenantChanged)
            registry = registry.apply(event, record.version, record.position)
    new = time.process_time() - start
    assert registry.by_domain("auth.tenant0.example") is not None
    if n > 10_000:
        return new, None
    start = time.process_time()
    plain = _PlainRegistry()
    for record in stored:
        event = events.decode(record)
        assert isinstance(event, TenantChanged)
        plain = plain.apply(event, record.version)
    return new, time.process_time() - start


def _tenant_environ(root: Path, url: str) -> dict[str, str]:
    return _environ(
        root,
        STORAGE_ADAPTER="postgresql",
        STORAGE_POSTGRESQL_URL=url,
        MULTI_TENANCY_ENABLED="true",
        DEPLOYMENT_URL="https://parako.id",
    )


async def _tenants_store(root: Path, url: str, n: int) -> None:
    """``n`` tenants: the first through the commands (with overrides), the rest their events."""
    async with await open_service(root, _tenant_environ(root, url)) as service:
        tenants = service.tenants
        assert tenants is not None
        author = Author("ops", "onboarding")
        for i in range(min(n, REAL)):
            await tenants.create(f"t{i}", author, display_name=f"Tenant {i}")
            await tenants.save(f"t{i}", {"branding": {"companyName": f"Company {i}"}}, author)
        log = service.event_log
        version = await log.stream_version(REGISTRY_STREAM)
        for base in range(REAL, n, BATCH):
            batch = [events.encode(_tenant_event(i)) for i in range(base, min(n, base + BATCH))]
            await log.append(REGISTRY_STREAM, version, batch)
            version += len(batch)
        await tenants.registry()  # the fold that leaves the snapshot a fresh process starts from


async def _first_tenant(root: Path, url: str) -> float:
    """A fresh process: open the store and read one tenant's effective config."""
    start = time.perf_counter()
    async with await open_service(root, _tenant_environ(root, url)) as service:
        assert service.tenants is not None
        config = (await service.tenants.effective("t7")).config
    assert config.branding.company_name == "Company 7"
    return time.perf_counter() - start


async def _without_snapshot(url: str) -> None:
    connection = await asyncpg.connect(url, timeout=5)
    try:
        await connection.execute("DELETE FROM snapshots WHERE stream = $1", REGISTRY_STREAM)
    finally:
        await connection.close()


def _rss() -> int:
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize()


async def _cache(n: int) -> dict[str, float]:
    """Every tenant of ``n`` in one cache (the ``bench tenants`` world), then a platform change."""
    world = await bench_tenants._world(n)
    gc.collect()
    rss = _rss()
    start = time.process_time()
    for i in range(n):
        await world.configs.get(f"t{i}")
    build = time.process_time() - start
    registry = await world.tenants.registry()
    platform = world.current[1]
    shared: set[int] = set()
    for _ in bench_tenants._reachable(platform, shared):
        pass
    for tenant in registry.tenants.values():
        for _ in bench_tenants._reachable(tenant, shared):
            pass
    total = held = held_bytes = 0
    for i in range(n):
        cached = world.configs.cached(f"t{i}")
        size = sum(sys.getsizeof(o) for o in bench_tenants._reachable(cached, shared))
        total += size
        if cached is not None and cached.held is not None:
            held, held_bytes = held + 1, held_bytes + size
    timings: dict[str, float] = {
        "build": build,
        "bytes": total / n,
        "held": held,
        "held_bytes": held_bytes / held if held else 0.0,
        "kept_bytes": (total - held_bytes) / (n - held) if n > held else 0.0,
        "before_rss": rss,
    }
    for label, change in (
        ("fonts", {"branding": {"fonts": {"mono": "Iosevka"}}}),
        ("policy", {"oidc": {"token_ttl": {"access_token": 1200}}}),
    ):
        await world.platform.save(change, Author("bench", "scale"))
        state = await world.platform.load()
        previous = (world.current[1], world.platform.runtime_document(world.current[0]))
        world.current = (state, world.platform.runtime(state, previous))
        rederived = world.configs.rederived
        start = time.process_time()
        for i in range(n):
            await world.configs.get(f"t{i}")
        timings[label] = time.process_time() - start
        assert world.configs.rederived - rederived == n, "every tenant re-derived"
    timings["process_rss"] = _rss()
    return timings


async def _definition_rate(n: int) -> float:
    """Tenants/s of the build the cache made before: the definition, from scratch."""
    from eventstore.schema import AppConfig, structure_like
    from eventstore.tenant_commands import effective_document

    world = await bench_tenants._world(n)
    state, config = world.current
    plain = world.platform.plaintext(state)
    runtime = world.platform.runtime_document(state)
    registry = await world.tenants.registry()
    bootstrap = world.configs._bootstrap
    start = time.process_time()
    for i in range(n):
        slug = f"t{i}"
        overrides = world.tenants.plaintext(slug, await world.tenants.load(slug))
        built = effective_document(plain, runtime, overrides, registry.tenants[slug], bootstrap)
        structure_like(AppConfig, built.document, config, runtime)
    return n / (time.process_time() - start)


async def _tenants(rows: list[Row], sizes: tuple[int, ...], base: Path) -> None:
    name = "tenants"
    fold: dict[int, float] = {}
    first: dict[int, float] = {}
    for n in sizes:
        new, plain = _fold_times(n)
        fold[n] = new
        rows.append((name, f"{n:,}: registry fold (decoded events)", f"{new:.3f} s", ""))
        if plain is not None:
            rows.append((name, f"{n:,}:   before (a copy per event)", f"{plain:.3f} s", ""))
        url = await scratch_database()
        if url is None:
            rows.append((name, f"{n:,}: first tenant, fresh process", "no PostgreSQL", ""))
        else:
            try:
                root = base / f"tenants-{n}"
                (root / "runtime").mkdir(parents=True)
                made, _ = await _timed(lambda: _tenants_store(root, url, n))  # noqa: B023
                first[n] = await _median(3, lambda: _first_tenant(root, url))  # noqa: B023
                await _without_snapshot(url)
                cold = await _first_tenant(root, url)
            finally:
                await drop_database(url)
            target = (
                status(first[n] <= FIRST_TENANT_SECONDS, f"<= {FIRST_TENANT_SECONDS:.0f} s")
                if n == max(sizes)
                else ""
            )
            rows += [
                (name, f"{n:,}: build the store (PostgreSQL)", f"{made:.1f} s", ""),
                (name, f"{n:,}: first tenant, fresh process", _ms(first[n]), target),
                (name, f"{n:,}:   without a registry snapshot", _ms(cold), ""),
            ]
        cache = await _cache(n)
        last = n == max(sizes)
        build_rate, fonts_rate = n / cache["build"], n / cache["fonts"]
        rows += [
            (
                name,
                f"{n:,}: build every tenant into the cache",
                f"{build_rate:,.0f} tenants/s",
                status(build_rate >= BUILD_RATE, f">= {BUILD_RATE:,}/s") if last else "",
            ),
            (
                name,
                f"{n:,}: memory per cached tenant beyond the platform",
                _kb(cache["bytes"]),
                status(cache["bytes"] <= MEMORY_BYTES, "<= 2 KB") if last else "",
            ),
            (
                name,
                f"{n:,}:   held as objects ({cache['held']:,.0f} most recently read)",
                _kb(cache["held_bytes"]),
                "",
            ),
            (
                name,
                f"{n:,}:   kept as differences (the others)",
                _kb(cache["kept_bytes"]) if cache["held"] < n else "—",
                "",
            ),
            (
                name,
                f"{n:,}: platform change, every tenant re-derived",
                f"{fonts_rate:,.0f} tenants/s",
                status(fonts_rate >= REDERIVE_RATE, f">= {REDERIVE_RATE:,}/s") if last else "",
            ),
            (
                name,
                f"{n:,}:   a limit the tenants override tightened",
                f"{n / cache['policy']:,.0f} tenants/s",
                "",
            ),
            (
                name,
                f"{n:,}: process holding all {n:,} (RSS)",
                f"{cache['process_rss'] / 2**20:,.0f} MB",
                "",
            ),
            (
                name,
                f"{n:,}:   of which before the cache (in-memory log)",
                f"{cache['before_rss'] / 2**20:,.0f} MB",
                "",
            ),
        ]
    low, high = sizes[0], sizes[-1]
    rows.append((name, f"registry fold: {high:,} / {low:,}", f"{fold[high] / fold[low]:.1f}", ""))
    if low in first and high in first:
        ratio = first[high] / first[low]
        rows.append((name, f"first tenant: {high:,} / {low:,}", f"{ratio:.2f}", ""))
    rate = await _definition_rate(min(1_000, low))
    rows.append((name, "before: a tenant built from scratch", f"{rate:,.0f} tenants/s", ""))


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


def _kb(size: float) -> str:
    return f"{size / 1024:.2f} KB"


def _ratio(results: dict[int, dict[str, float]], key: str, low: int, high: int) -> str:
    return f"{results[high][key] / results[low][key]:.2f}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench scale")
    parser.add_argument("--quick", action="store_true", help="sizes up to 10,000")
    parser.add_argument("--only", choices=("versions", "tenants"))
    options = parser.parse_args(argv)
    sizes = QUICK_SIZES if options.quick else SIZES
    rows: list[Row] = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        if options.only != "tenants":
            asyncio.run(_versions(rows, sizes, Path(tmp)))
        if options.only != "versions":
            asyncio.run(_tenants(rows, sizes, Path(tmp)))
    print(f"parako-config bench: scale — Python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    print(table(rows))
    print(f"total {time.perf_counter() - started:.0f} s")
    load = os.getloadavg()
    print(f"note: load average at the end {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}")
