"""Effective tenant configs at scale: cold and warm reads, 10,000 resident tenants.

The projection is measured on the in-memory log so the numbers are about building and caching,
not about a database round trip (each build reads one tenant stream; add the adapter's read
latency for a production figure). Tenants and their overrides are appended as events directly:
the write path's validation is not what is measured here.

Memory per tenant is counted exactly over a sample of 200 cached tenants: every object reachable
from them that is not part of the platform config (nor the tenants' registry records), by
``sys.getsizeof``, objects they share counted once.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
import timeit
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any, Final, cast

import attrs

from adapters.storage.memory import MemoryEventLog
from bench.report import Row, status, table
from eventstore import events
from eventstore.commands import Author, ConfigCommands
from eventstore.crypto import FieldCipher, Keyring
from eventstore.events import FieldChange, TenantChanged, TenantOverrideChanged
from eventstore.hashchain import HashChain
from eventstore.resolve import Bootstrap
from eventstore.schema import AppConfig
from eventstore.state import StoredConfig
from eventstore.tenant_commands import TenantCommands
from eventstore.tenants import REGISTRY_STREAM, tenant_stream
from projections.tenant_configs import TenantConfigs

TENANTS: Final = 10_000
COLD_SAMPLES: Final = 200
WARM_ITERATIONS: Final = 200_000
KEY_HEX: Final = "cd" * 32
MEMORY_TARGET: Final = 10 * 1024
AT: Final = datetime(2026, 1, 1, tzinfo=UTC)
ENVIRON: Final = {
    "ENCRYPTION_KEY": KEY_HEX,
    "JWT_SECRET": "j" * 40,
    "COOKIE_SECRET_1": "c" * 40,
    "HMAC_SECRET": "h" * 40,
    "PAIRWISE_SALT": "p" * 20,
}


def _overrides(i: int) -> tuple[FieldChange, ...]:
    """Ten overrides spread over five sections, different for every tenant."""
    values: dict[str, Any] = {
        "application.title": f"Tenant {i}",
        "branding.companyName": f"Company {i}",
        "branding.logo": f"/logos/{i}.svg",
        "branding.colors.light.primary": f"#{i % 0xFFFFFF:06x}",
        "branding.colors.dark.primary": f"#{(i * 7) % 0xFFFFFF:06x}",
        "oidc.token_ttl.access_token": 600 + i % 3000,
        "oidc.token_ttl.id_token": 300 + i % 3000,
        "security.authentication.login.password_policy.min_length": 8 + i % 8,
        "security.authentication.session.idle_timeout_minutes": 5 + i % 50,
        "notifications.defaults.security_alerts": bool(i % 2),
    }
    return tuple(FieldChange(path, None, value) for path, value in values.items())


@attrs.define
class World:
    log: MemoryEventLog
    platform: ConfigCommands
    tenants: TenantCommands
    configs: TenantConfigs
    current: tuple[StoredConfig, AppConfig]

    async def refresh(self) -> None:
        """As the runtime view does after a platform save: the new config built from the old
        one (unchanged parts shared); the cache re-derives each tenant on its next read."""
        state = await self.platform.load()
        previous = (self.current[1], self.platform.runtime_document(self.current[0]))
        self.current = (state, self.platform.runtime(state, previous))


async def _world(n: int) -> World:
    log = MemoryEventLog(HashChain(bytes(32)))
    cipher = FieldCipher(Keyring.from_values(KEY_HEX))
    bootstrap = Bootstrap(overrides={"deployment.url": "https://parako.id"}, environ=ENVIRON)
    platform = ConfigCommands(log, cipher, bootstrap)
    await platform.initialize()
    tenants = TenantCommands(log, cipher, platform, bootstrap)
    state = await platform.load()
    holder: list[World] = []
    configs = TenantConfigs(
        tenants, bootstrap, lambda: holder[0].current, platform.plaintext, max_size=n
    )
    world = World(log, platform, tenants, configs, (state, platform.runtime(state)))
    holder.append(world)
    for base in range(0, n, 1000):
        batch = [
            events.encode(TenantChanged(f"t{i}", f"Tenant {i}", None, "active", "bench", "", AT))
            for i in range(base, min(base + 1000, n))
        ]
        await log.append(REGISTRY_STREAM, base, batch)
    for i in range(n):
        event = TenantOverrideChanged(
            _overrides(i), "1.0.0", "bench", "", ("main",), "development", AT, tenant=f"t{i}"
        )
        await log.append(tenant_stream(f"t{i}"), 0, [events.encode(event)])
    return world


def _reachable(root: object, skip: set[int]) -> Iterator[object]:
    """Objects reachable from ``root`` that are not in ``skip`` (ids), each once."""
    stack = [root]
    while stack:
        obj = stack.pop()
        if id(obj) in skip:
            continue
        skip.add(id(obj))
        yield obj
        if attrs.has(type(obj)):
            stack.extend(getattr(obj, f.name) for f in attrs.fields(cast(Any, type(obj))))
        elif isinstance(obj, tuple | list | frozenset | set):
            stack.extend(obj)
        elif isinstance(obj, dict):
            stack.extend(obj.keys())
            stack.extend(obj.values())


def _bytes_beyond(platform: AppConfig, tenants: list[Any], shared: Iterable[object] = ()) -> float:
    """Bytes per tenant reachable from ``tenants`` and not from the platform config nor
    ``shared`` (what exists without the cache: the tenants' registry records); an object
    several tenants share (the tuple of the paths they override) is counted once."""
    seen: set[int] = set()
    for root in (platform, *shared):
        for _ in _reachable(root, seen):
            pass
    return sum(sys.getsizeof(obj) for t in tenants for obj in _reachable(t, seen)) / len(tenants)


async def _run(rows: list[Row], n: int) -> None:
    started = time.perf_counter()
    world = await _world(n)
    setup = time.perf_counter() - started
    name = f"5. tenants ({n:,} with 10 overrides)"

    cold = []
    for i in range(COLD_SAMPLES):
        start = time.perf_counter()
        await world.configs.get(f"t{i}")
        cold.append(time.perf_counter() - start)
    cached = world.configs.cached("t0")
    assert cached is not None

    async def warm_reads() -> float:
        start = time.perf_counter()
        for _ in range(WARM_ITERATIONS):
            await world.configs.get("t0")
        return time.perf_counter() - start

    warm = await warm_reads()
    attribute = min(
        timeit.repeat(lambda: cached.config.branding.company_name, number=WARM_ITERATIONS, repeat=3)
    )

    world.configs.evict_all()
    start = time.perf_counter()
    for i in range(n):
        await world.configs.get(f"t{i}")
    build_all = time.perf_counter() - start
    assert len(world.configs) == n

    platform_config = world.current[1]
    sample = [world.configs.cached(f"t{i}") for i in range(0, n, max(1, n // 200))]
    records = (await world.tenants.registry()).tenants
    per_tenant = _bytes_beyond(platform_config, sample, [records[t.slug] for t in sample if t])

    await world.platform.save({"branding": {"fonts": {"mono": "Iosevka"}}}, Author("b", "b"))
    start = time.perf_counter()
    await world.refresh()
    for i in range(n):
        config = (await world.configs.get(f"t{i}")).config
        assert config.branding.fonts.mono == "Iosevka"
    after_change = time.perf_counter() - start

    rows += [
        (name, "setup: append registry + overrides", f"{setup:.1f} s", ""),
        (name, f"cold read, one tenant (median of {COLD_SAMPLES})", _ms(cold), ""),
        (name, "warm read, await configs.get(slug)", f"{warm / WARM_ITERATIONS * 1e9:.0f} ns", ""),
        (
            name,
            "warm field read, cached.config.…",
            f"{attribute / WARM_ITERATIONS * 1e9:.0f} ns",
            "",
        ),
        (name, f"build all {n:,}", f"{build_all:.1f} s", f"{n / build_all:,.0f} tenants/s"),
        (
            name,
            "memory per cached tenant beyond platform",
            f"{per_tenant / 1024:.1f} KB",
            status(per_tenant <= MEMORY_TARGET, "<= 10 KB"),
        ),
        (name, "platform change, then read all", f"{after_change:.1f} s", ""),
    ]


def _ms(samples: list[float]) -> str:
    return f"{statistics.median(samples) * 1000:.2f} ms"


def main(argv: list[str] | None = None) -> None:
    n = int(argv[0]) if argv else TENANTS
    rows: list[Row] = []
    asyncio.run(_run(rows, n))
    print(f"parako-config bench: tenants — Python {sys.version.split()[0]}")
    print(table(rows))
