"""The tenant registry fold: indexed, linear, snapshotted, and equal to the plain fold it replaced.

The reference below is the straightforward fold the registry used to be (a new dict per event, a
scan for a custom domain); hypothesis drives both with the same random events — tenants created
and edited, domains set, dropped and moved from one tenant to another, statuses changed — and
every answer must agree, including those of views taken earlier in the fold.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.storage.memory import MemoryEventLog, MemoryStorage
from eventstore import events
from eventstore.commands import Author, ConfigCommands
from eventstore.crypto import FieldCipher, Keyring
from eventstore.events import TenantChanged
from eventstore.hashchain import HashChain
from eventstore.integrity import VerifiedLog
from eventstore.resolve import Bootstrap
from eventstore.tenant_commands import TenantCommands
from eventstore.tenants import (
    REGISTRY_STREAM,
    SNAPSHOT_MIN_TAIL,
    Registry,
    Tenant,
    TenantStatus,
    snapshot_due,
)

AT = datetime(2026, 1, 1, tzinfo=UTC)
SLUGS = ("acme", "globex", "initech", "umbrella")
DOMAINS = ("a.example", "b.example", "c.example")
KEY = "3c" * 32
CHAIN = HashChain(bytes(range(32)))


@attrs.frozen
class PlainRegistry:
    """The fold as it was: the whole table copied per event, a scan per domain lookup."""

    tenants: Mapping[str, Tenant] = attrs.field(factory=dict)
    version: int = 0

    def apply(self, event: TenantChanged, version: int) -> PlainRegistry:
        tenant = Tenant(event.slug, event.display_name, event.domain, TenantStatus(event.status))
        return PlainRegistry({**self.tenants, event.slug: tenant}, version)

    def by_domain(self, host: str) -> Tenant | None:
        return next((t for t in self.tenants.values() if t.domain == host), None)


tenant_events = st.builds(
    lambda slug, name, domain, status, created: TenantChanged(
        slug, name, domain, status.value, "ops", "", AT, created
    ),
    st.sampled_from(SLUGS),
    st.sampled_from(("One", "Two")),
    st.none() | st.sampled_from(DOMAINS),
    st.sampled_from(list(TenantStatus)),
    st.booleans(),
)


def same(new: Registry, plain: PlainRegistry) -> None:
    assert new.version == plain.version
    assert list(new.tenants.items()) == list(plain.tenants.items())
    assert len(new.tenants) == len(plain.tenants)
    for slug in (*SLUGS, "nobody"):
        assert (slug in new.tenants) == (slug in plain.tenants)
        assert new.tenants.get(slug) == plain.tenants.get(slug)
    for domain in (*DOMAINS, "nowhere.example"):
        assert new.by_domain(domain) == plain.by_domain(domain)


@given(st.lists(tenant_events, max_size=40), st.data())
def test_the_indexed_fold_answers_as_the_plain_fold(
    sequence: list[TenantChanged], data: st.DataObject
) -> None:
    new, plain = Registry(), PlainRegistry()
    views: list[tuple[Registry, PlainRegistry]] = []
    snapshot_at = data.draw(st.integers(0, len(sequence)), label="snapshot at")
    for version, event in enumerate(sequence, start=1):
        if version - 1 == snapshot_at and new.version:
            # a fresh process starting from a snapshot folds on exactly as this one would
            new = Registry.from_snapshot(new.to_snapshot())
            same(new, plain)
        new, plain = new.apply(event, version, position=version * 2), plain.apply(event, version)
        same(new, plain)
        views.append((new, plain))
    # views taken earlier keep answering as of their own version
    for view, reference in views:
        same(view, reference)
    for slug in SLUGS:
        expected = tuple(v for v, e in enumerate(sequence, start=1) if e.slug == slug)
        assert new.versions_of(slug) == expected


@given(st.lists(tenant_events, min_size=2, max_size=20), st.data())
def test_a_fold_from_an_older_view_branches_without_changing_the_newer_one(
    sequence: list[TenantChanged], data: st.DataObject
) -> None:
    registry, plain = Registry(), PlainRegistry()
    folded = []
    for version, event in enumerate(sequence, start=1):
        registry, plain = registry.apply(event, version), plain.apply(event, version)
        folded.append((registry, plain))
    at = data.draw(st.integers(0, len(sequence) - 2), label="branch after")
    old, old_plain = folded[at]
    other = data.draw(tenant_events, label="other event")
    branched = old.apply(other, at + 2)
    same(branched, old_plain.apply(other, at + 2))
    same(registry, plain)  # the newest view did not see the branch


def test_refolding_the_same_event_shares_the_fold() -> None:
    """Two folds of one log (concurrent catch-ups of one process) end on the same views."""
    event = TenantChanged("acme", "Acme", "a.example", "active", "ops", "", AT, True)
    start = Registry()
    first = start.apply(event, 1, 10)
    second = start.apply(event, 1, 10)  # the history is ahead of `start`, with this very event
    assert first == second
    assert second.by_domain("a.example") == Tenant("acme", "Acme", "a.example")


def test_a_registry_built_from_a_mapping_is_indexed() -> None:
    registry = Registry({"acme": Tenant("acme", "Acme", domain="auth.acme.com")}, 3)
    assert registry.by_domain("auth.acme.com") == Tenant("acme", "Acme", domain="auth.acme.com")
    assert registry.versions_of("acme") == (3,)
    assert Registry.from_snapshot(attrs.evolve(registry.to_snapshot(), position=5)) == registry


@pytest.mark.parametrize(
    "state",
    [
        b"not json",
        b'{"format": 99, "tenants": []}',
        b'{"format": 1}',
        b'{"format": 1, "tenants": [1]}',
    ],
)
def test_an_unreadable_snapshot_is_a_value_error(state: bytes) -> None:
    snapshot = attrs.evolve(Registry().apply(_event("acme"), 1, 1).to_snapshot(), state=state)
    with pytest.raises(ValueError, match=r"snapshot|listed|column|version|expected"):
        Registry.from_snapshot(snapshot)


def test_snapshots_are_due_after_a_long_tail_and_grow_geometrically() -> None:
    assert not snapshot_due(SNAPSHOT_MIN_TAIL - 1, 0)
    assert snapshot_due(SNAPSHOT_MIN_TAIL, 0)
    assert not snapshot_due(100_000, 80_000)  # a fifth of the stream
    assert snapshot_due(100_000, 75_000)  # a quarter


# --- the fold in TenantCommands: snapshots written, read and checked -----------------------------


def _event(slug: str, domain: str | None = None) -> TenantChanged:
    return TenantChanged(slug, slug.title(), domain, "active", "ops", "", AT, True)


async def _commands(storage: MemoryStorage) -> tuple[TenantCommands, VerifiedLog]:
    log = VerifiedLog(MemoryEventLog(CHAIN, storage=storage), CHAIN)
    cipher = FieldCipher(Keyring.from_values(KEY))
    bootstrap = Bootstrap(
        overrides={"deployment.url": "https://parako.id"},
        environ={
            "JWT_SECRET": "j" * 40,
            "COOKIE_SECRET_1": "c" * 40,
            "HMAC_SECRET": "h" * 40,
            "PAIRWISE_SALT": "p" * 20,
        },
    )
    platform = ConfigCommands(log, cipher, bootstrap)
    await platform.initialize()
    return TenantCommands(log, cipher, platform, bootstrap), log


async def _registry_events(log: VerifiedLog, first: int, count: int) -> None:
    version = await log.stream_version(REGISTRY_STREAM)
    batch = [
        events.encode(_event(f"t{i}", f"t{i}.example" if i % 3 == 0 else None))
        for i in range(first, first + count)
    ]
    await log.append(REGISTRY_STREAM, version, batch)


async def test_a_fresh_process_starts_from_the_snapshot_a_long_fold_left() -> None:
    storage = MemoryStorage()
    commands, log = await _commands(storage)
    await _registry_events(log, 0, SNAPSHOT_MIN_TAIL + 10)
    folded = await commands.registry()
    assert set(storage.snapshots[REGISTRY_STREAM]) == {SNAPSHOT_MIN_TAIL + 10}
    await _registry_events(log, SNAPSHOT_MIN_TAIL + 10, 5)

    fresh, _ = await _commands(storage)
    registry = await fresh.registry()
    assert registry.version == SNAPSHOT_MIN_TAIL + 15
    assert list(registry.tenants.items())[: len(folded.tenants)] == list(folded.tenants.items())
    assert registry.by_domain("t1011.example") == Tenant("t1011", "T1011", "t1011.example")
    assert registry.versions_of("t3") == (4,)
    # it read 5 events past the snapshot, and wrote no snapshot for so short a tail
    assert set(storage.snapshots[REGISTRY_STREAM]) == {SNAPSHOT_MIN_TAIL + 10}


async def test_an_edited_registry_snapshot_is_ignored_and_reported() -> None:
    storage = MemoryStorage()
    commands, log = await _commands(storage)
    await _registry_events(log, 0, SNAPSHOT_MIN_TAIL)
    expected = await commands.registry()
    (version,) = storage.snapshots[REGISTRY_STREAM]
    sealed = storage.snapshots[REGISTRY_STREAM][version]
    edited = sealed.state.replace(b'"T5"', b'"Evil"')
    assert edited != sealed.state
    storage.snapshots[REGISTRY_STREAM][version] = attrs.evolve(sealed, state=edited)

    fresh, fresh_log = await _commands(storage)
    assert await fresh.registry() == expected  # folded from the events instead
    assert fresh_log.failure is not None
    assert "snapshot of tenants/registry" in fresh_log.failure.reason


def _state(registry: Registry) -> dict[str, Any]:
    return {slug: tenant.to_json() for slug, tenant in registry.tenants.items()}


async def test_creating_tenants_through_the_commands_keeps_one_registry() -> None:
    storage = MemoryStorage()
    commands, _ = await _commands(storage)
    for slug in ("acme", "globex"):
        await commands.create(slug, Author("ops"), domain=f"auth.{slug}.com")
    await commands.update("acme", Author("ops"), domain="login.acme.com")
    await commands.update("globex", Author("ops"), domain="auth.acme.com")  # freed by acme
    registry = await commands.registry()
    assert registry.by_domain("auth.acme.com") == registry.tenants["globex"]
    assert registry.by_domain("auth.globex.com") is None
    assert _state(registry)["acme"]["domain"] == "login.acme.com"
    assert registry.versions_of("globex") == (2, 4)
