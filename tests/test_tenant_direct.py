"""Tenant configs built straight from their overrides are the configs the general build makes,
and the cache holds only the most recently read of them made.

:class:`~projections.tenant_direct.DirectBuild` skips the tenant's document: it computes the
values at the paths a tenant can differ at and parses only those, answering None for anything
out of the ordinary so that the general build (merge into the platform's document, derive,
``structure_patched``) takes over and words the errors. Nothing but these tests holds the two
to one result, so hypothesis draws overrides a store should never hold (null, objects, lists,
values of the wrong JSON type, huge numbers, long and unicode strings) next to valid ones, at
tenant settings, at the sections above them and at unknown settings below them: whenever the
direct build answers, the general build must succeed with an equal config sharing the same
parts with the platform; whenever the general build refuses, the direct build must not have
answered.

The cache keeps every tenant as its delta from the platform config and only the ``held`` most
recently read tenants with their config made: the example tests and a state machine check that
the held set follows the reads, is released by every kind of eviction, and that a tenant made
again from its delta (or re-derived after a platform change) is still the definition's build.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, Final

import attrs
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    rule,
    run_state_machine_as_test,
)
from test_tenant_derivation import (
    PLATFORM_CHOICES,
    PROPERTY,
    World,
    _same,
    _world,
    display_name,
    domains,
    overrides,
    platforms,
    tenants_world,
)

from eventstore.computed import TenantRef
from eventstore.docpath import set_path
from eventstore.errors import ValidationFailed
from eventstore.schema import AppConfig
from eventstore.schema.paths import ALLOWED_TENANT_FIELDS
from eventstore.tenants import Tenant
from projections.config_delta import ConfigDelta, delta
from projections.tenant_configs import PlatformBasis, TenantConfig, TenantConfigs
from projections.tenant_derivation import (
    Leaves,
    differs_from_platform,
    police,
    structure_patched,
)
from projections.tenant_direct import DirectBuild

# --- the direct build against the general build ----------------------------------------------

#: the settings a tenant may override
SETTINGS: Final = sorted(ALLOWED_TENANT_FIELDS)
#: the sections above them, and settings the schema does not know below them
AROUND: Final = sorted(
    {path.rpartition(".")[0] for path in ALLOWED_TENANT_FIELDS if "." in path}
    | {f"{path}.x" for path in ALLOWED_TENANT_FIELDS}
)

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(-5, 100_000),
    st.sampled_from([2**63, 2**64 + 1, -(10**30), 0]),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["", " ", "ünï©ødé ✓ 日本", "#123456", "preferred"]),
    st.sampled_from([("x", 5000), ("é", 3000)]).map(lambda long: long[0] * long[1]),
    st.text(max_size=30),
)
#: values of every JSON type, objects and lists nested a little
hostile_values: st.SearchStrategy[Any] = st.recursive(
    _scalars | st.just({}) | st.just([]),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(["a", "enabled", "x"]), inner, max_size=2)
    ),
    max_leaves=4,
)
hostile_overrides = st.dictionaries(
    # (mostly at settings: values at sections rarely fit the platform's document at all)
    st.sampled_from(SETTINGS) | st.sampled_from(SETTINGS) | st.sampled_from(AROUND),
    hostile_values,
    max_size=4,
)


def _document_of(values: Mapping[str, Any]) -> dict[str, Any]:
    """The overrides as a document; a path below a value already set is left out."""
    doc: dict[str, Any] = {}
    for path, value in values.items():
        try:
            doc = set_path(doc, path, value)
        except TypeError:
            continue
    return doc


async def _basis(platform: Mapping[str, Any]) -> PlatformBasis | None:
    """What the cache builds tenants of ``platform`` from (None: the platform refused it)."""
    world, _ = await _world({}, None)
    if not await world.save(platform):
        return None
    return world.configs._current_basis()


def _policed(basis: PlatformBasis, doc: Mapping[str, Any]) -> Leaves | None:
    """The overrides as the cache hands them to either build (None: built by the definition,
    as the cache does when they do not fit the platform's document)."""
    derivable = basis.derivable
    assert derivable is not None
    try:
        leaves = Leaves.of(doc)
    except ValueError:
        return None
    if not derivable.fits(leaves):
        return None
    policed = police(leaves, basis.runtime_document).leaves
    return policed if derivable.fits(policed) else None


def _general(basis: PlatformBasis, leaves: Leaves, tenant: TenantRef) -> AppConfig:
    """The general build: merged into the platform's document, derived, structured."""
    derivable = basis.derivable
    assert derivable is not None
    doc = derivable.document(zip(leaves.paths, leaves.values, strict=True), tenant)
    return structure_patched(
        AppConfig,
        doc,
        basis.config,
        basis.runtime_document,
        differs_from_platform(leaves.paths),
        "The effective config of the tenant is invalid",
    )


def _direct(basis: PlatformBasis, leaves: Leaves, tenant: TenantRef) -> Any:
    assert basis.direct is not None
    return basis.direct.build(leaves, tenant)


def _assert_agree(basis: PlatformBasis, leaves: Leaves, tenant: TenantRef) -> str:
    """Both builds of one tenant, held to one result; what happened, for the statistics."""
    direct = _direct(basis, leaves, tenant)
    try:
        general = _general(basis, leaves, tenant)
    except ValidationFailed:
        assert direct is None, "built directly, refused by the general build"
        return "refused, not built directly"
    if direct is None:
        return "built by the general build only"
    config, differences = direct
    assert isinstance(differences, ConfigDelta)
    assert config == general
    assert differences.base is basis.config
    assert differences.made() == config
    found = delta(config, basis.config)
    assert found.shape == differences.shape
    assert found.shape is differences.shape
    assert found.values == differences.values
    # the same parts shared with the platform as the general build (the memory kept)
    assert delta(general, basis.config).shape is differences.shape
    return "built directly"


DIRECT = settings(PROPERTY, max_examples=2 * (PROPERTY.max_examples or 100))


@DIRECT
@given(platforms, overrides, hostile_overrides, domains)
async def test_the_direct_build_agrees_with_the_general_build(
    platform: dict[str, Any],
    valid: dict[str, Any],
    hostile: dict[str, Any],
    domain: str | None,
) -> None:
    """The direct build answers only for a tenant the general build builds, with the same
    config: else the cache would serve a config the definition never makes, or one it
    refuses (nothing downstream checks it again)."""
    basis = await _basis(platform)
    if basis is None:
        return
    leaves = _policed(basis, _document_of({**valid, **hostile}))
    if leaves is None:
        event("built by the definition")
        return
    event(_assert_agree(basis, leaves, TenantRef("acme", domain)))


@attrs.define
class _Answers:
    """How often ``DirectBuild.build`` answered, and how often it declined."""

    answered: int = 0
    declined: int = 0


def _counted(monkeypatch: pytest.MonkeyPatch) -> _Answers:
    """``DirectBuild.build`` counted from now on (for this test)."""
    answers = _Answers()
    build = DirectBuild.build

    def counted(self: DirectBuild, leaves: Leaves, tenant: TenantRef) -> Any:
        found = build(self, leaves, tenant)
        if found is None:
            answers.declined += 1
        else:
            answers.answered += 1
        return found

    monkeypatch.setattr(DirectBuild, "build", counted)
    return answers


async def test_ordinary_tenants_are_built_directly(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tenants with plain overrides are built directly, so the property test above compares
    the two builds rather than the general build with itself."""
    counting = _counted(monkeypatch)
    world = await tenants_world(ordinary_tenants(50), max_size=50, held=50)
    built = [await world.configs.get(f"t{i}") for i in range(50)]
    assert (counting.answered, counting.declined) == (50, 0)
    basis = world.configs._current_basis()
    for entry in built:
        tenant = entry.tenant
        assert tenant is not None
        leaves = police(entry.overrides, basis.runtime_document).leaves
        assert entry.config == _general(basis, leaves, TenantRef(tenant.slug, tenant.domain))


@pytest.mark.parametrize(
    ("platform", "values", "refused"),
    [
        ({}, {"branding.logo": None}, True),
        ({}, {"branding.logo": {}}, True),
        ({}, {"security.authentication.recovery": {}}, False),
        (
            {"security.authentication.multi_factor.webauthn.authenticator_attachment": "platform"},
            {"security.authentication.multi_factor.webauthn.authenticator_attachment": None},
            False,
        ),
    ],
)
async def test_a_null_or_an_object_is_left_to_the_general_build(
    monkeypatch: pytest.MonkeyPatch,
    platform: dict[str, Any],
    values: dict[str, Any],
    refused: bool,
) -> None:
    """A null or an object where the platform has a value (or a section) is not built
    directly: the general build builds it (or words the refusal) as the definition does."""
    counting = _counted(monkeypatch)
    world, tenant = await _world(values, None)
    assert await world.save(platform)
    try:
        found: TenantConfig | str = await world.configs.get("acme")
    except ValidationFailed as failed:
        found = "refused: " + ", ".join(sorted(i.path for i in failed.issues))
    assert (counting.answered, counting.declined) == (0, 1)
    assert isinstance(found, str) == refused
    _same(found, world.expected(tenant, values))


# --- the held set ------------------------------------------------------------------------------

#: five tenants that differ from the platform at different places (and in how they are built:
#: clamped by the policy, their credentials guarded, a section given as an empty object)
TENANTS: Final[dict[str, tuple[dict[str, Any], str | None]]] = {
    "t0": ({}, None),
    "t1": ({"branding.companyName": "Acme", "oidc.token_ttl.access_token": 900}, "auth.acme.com"),
    "t2": (
        {
            "branding.colors.light.primary": "#123456",
            "security.authentication.login.password_policy.min_length": 4,
        },
        None,
    ),
    "t3": (
        {
            "integrations.email.smtp_host": "smtp.acme.com",
            "oidc.discovery.op_tos_uri": "https://acme.example.com/tos",
        },
        None,
    ),
    "t4": (
        {
            "security.authentication.recovery": {},
            "integrations.urls.website": "https://globex.example.com",
            "security.authentication.multi_factor.enabled": False,
        },
        "auth.globex.com",
    ),
}


def ordinary_tenants(count: int) -> dict[str, tuple[dict[str, Any], str | None]]:
    """Tenants as an installation has them: ten plain overrides over five sections (four of
    them policed), different for every tenant."""
    return {
        f"t{i}": (
            {
                "application.title": f"Tenant {i}",
                "branding.companyName": f"Company {i}",
                "branding.logo": f"/logos/{i}.svg",
                "branding.colors.light.primary": f"#{i:06x}",
                "branding.colors.dark.primary": f"#{i * 7:06x}",
                "oidc.token_ttl.access_token": 600 + i,
                "oidc.token_ttl.id_token": 300 + i,
                "security.authentication.login.password_policy.min_length": 8 + i % 8,
                "security.authentication.session.idle_timeout_minutes": 5 + i % 50,
                "notifications.defaults.security_alerts": bool(i % 2),
            },
            None,
        )
        for i in range(count)
    }


def _tenant(slug: str) -> Tenant:
    return Tenant(slug, display_name(slug), TENANTS[slug][1])


def _expected(world: World, slug: str) -> tuple[AppConfig, Any] | str:
    """The definition's build of ``slug`` against the world's current platform."""
    return world.expected(_tenant(slug), TENANTS[slug][0])


async def _read(configs: TenantConfigs, slug: str) -> TenantConfig | str:
    try:
        return await configs.get(slug)
    except ValidationFailed as failed:
        return "refused: " + ", ".join(sorted(i.path for i in failed.issues))


def _held_consistently(configs: TenantConfigs) -> list[str]:
    """The held slugs, least recently read first, once checked: every held entry is the
    cache's, holds its config, and that config is its delta made; every other cached entry
    holds nothing."""
    for slug, held in configs._held.items():
        assert configs.cached(slug) is held, f"{slug} is held but not cached"
        assert held.held is not None, f"{slug} is held without its config"
        assert held.held == held.delta.made()
    for slug in configs._cache.keys() - configs._held.keys():
        entry = configs.cached(slug)
        assert entry is not None
        assert entry.held is None, f"{slug} keeps its config without being held"
    return list(configs._held)


async def test_only_the_most_recently_read_tenants_are_held() -> None:
    """Of five cached tenants two are held; the others are made again on every read of their
    config (not kept), equal to the definition's build; reading one through the cache holds it
    and releases the least recently read."""
    world = await tenants_world(TENANTS, max_size=5, held=2)
    configs = world.configs
    for slug in TENANTS:
        _same(await configs.get(slug), _expected(world, slug))
    assert len(configs) == 5
    assert _held_consistently(configs) == ["t3", "t4"]
    builds = configs.builds

    first = configs.cached("t1")
    assert first is not None
    assert first.held is None
    made, again = first.config, first.config
    expected = _expected(world, "t1")
    assert not isinstance(expected, str)
    assert made == expected[0]
    assert again == made
    assert again is not made  # made anew, not stored
    assert first.held is None
    assert list(configs._held) == ["t3", "t4"]

    assert await configs.get("t1") is first
    assert configs.builds == builds  # held again, not built again
    assert first.held is not None
    assert first.held == expected[0]
    assert first.config is first.config
    assert _held_consistently(configs) == ["t4", "t1"]
    released = configs.cached("t3")
    assert released is not None
    assert released.held is None


async def test_every_eviction_releases_what_it_held() -> None:
    """An evicted tenant's config must not stay made (nor held) once the cache forgot it: by
    evict, by evict_all, and by the least recently used going first."""
    world = await tenants_world(TENANTS, max_size=2, held=3)  # (room to hold more than is cached)
    configs = world.configs
    t0, t1 = await configs.get("t0"), await configs.get("t1")
    assert _held_consistently(configs) == ["t0", "t1"]
    t2 = await configs.get("t2")  # t0 goes first, by the cache's bound alone
    assert configs.cached("t0") is None
    assert t0.held is None
    assert _held_consistently(configs) == ["t1", "t2"]

    configs.evict("t2")
    assert t2.held is None
    assert _held_consistently(configs) == ["t1"]
    configs.evict("t2")  # (evicting what is gone does nothing)
    assert _held_consistently(configs) == ["t1"]

    configs.evict_all()
    assert t1.held is None
    assert len(configs) == 0
    assert list(configs._held) == []
    _same(await configs.get("t1"), _expected(world, "t1"))
    assert _held_consistently(configs) == ["t1"]


async def test_a_tenant_not_held_is_re_derived_after_a_platform_change() -> None:
    """A cached tenant kept only as its delta from the old platform config is re-derived from
    it after a platform change: the definition's build of the new platform."""
    world = await tenants_world(TENANTS, max_size=5, held=2)
    configs = world.configs
    for slug in TENANTS:
        await configs.get(slug)
    assert list(configs._held) == ["t3", "t4"]
    old = world.current[1]
    assert await world.save(
        {
            "branding.companyName": "Umbrella",
            "oidc.token_ttl.access_token": 600,
            "deployment.url": "https://auth.example.org:8443",
        }
    )
    for slug in ["t0", "t1", "t2"]:  # not held
        entry = configs.cached(slug)
        assert entry is not None
        assert entry.held is None
        assert entry.delta.base is old
        found = await configs.get(slug)
        assert found is not entry
        assert found.delta.base is world.current[1]
        _same(found, _expected(world, slug))
    assert configs.rederived + configs.builds == 5 + 3
    assert _held_consistently(configs) == ["t1", "t2"]
    for slug in ["t3", "t4"]:  # their held configs released, then re-derived as well
        _same(await configs.get(slug), _expected(world, slug))
    assert _held_consistently(configs) == ["t3", "t4"]


# --- the held set under any sequence of reads, evictions and platform changes -----------------

_PLATFORM_CHANGES: Final = [
    (path, value) for path, values in PLATFORM_CHOICES.items() for value in values
]


class HeldConfigsMachine(RuleBasedStateMachine):
    """One cache of three tenants, two held, over five tenants and a changing platform."""

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        try:
            self.world = self.loop.run_until_complete(tenants_world(TENANTS, max_size=3, held=2))
        except BaseException:
            self.loop.close()
            raise
        #: the entry each tenant was last read as, and its config then
        self.seen: dict[str, tuple[TenantConfig, AppConfig]] = {}

    def teardown(self) -> None:
        self.loop.close()

    @property
    def configs(self) -> TenantConfigs:
        return self.world.configs

    @rule(slug=st.sampled_from(sorted(TENANTS)))
    def get(self, slug: str) -> None:
        found = self.loop.run_until_complete(_read(self.configs, slug))
        _same(found, _expected(self.world, slug))
        if isinstance(found, TenantConfig):
            assert self.configs.cached(slug) is found
            assert list(self.configs._held)[-1] == slug
            assert found.held is not None
            self.seen[slug] = (found, found.held)

    @rule(slug=st.sampled_from(sorted(TENANTS)))
    def read_cached(self, slug: str) -> None:
        """A cached entry's config read without the cache (as a caller holding the entry
        does): the config it was read as, made again if not held; holding is unchanged."""
        entry = self.configs.cached(slug)
        if entry is None:
            return
        held = list(self.configs._held)
        config = entry.config
        assert list(self.configs._held) == held
        assert (entry.held is None) == (slug not in held)
        last = self.seen.get(slug)
        if last is not None and last[0] is entry:
            assert config == last[1]

    @rule(slug=st.sampled_from(sorted(TENANTS)))
    def evict(self, slug: str) -> None:
        entry = self.configs.cached(slug)
        self.configs.evict(slug)
        assert self.configs.cached(slug) is None
        assert slug not in self.configs._held
        if entry is not None:
            assert entry.held is None

    @rule()
    def evict_all(self) -> None:
        entries = list(self.configs._cache.values())
        self.configs.evict_all()
        assert len(self.configs) == 0
        assert all(entry.held is None for entry in entries)

    @rule(change=st.sampled_from(_PLATFORM_CHANGES))
    def save_platform(self, change: tuple[str, Any]) -> None:
        path, value = change
        self.loop.run_until_complete(self.world.save({path: value}))

    @invariant()
    def bounded_and_held_consistently(self) -> None:
        assert len(self.configs) <= 3
        assert len(self.configs._held) <= 2
        _held_consistently(self.configs)


def test_the_held_set_under_reads_evictions_and_platform_changes() -> None:
    """The held set stays within its bound, a subset of the cache, and each entry holds its
    config exactly while held, whatever the order of reads, evictions and platform saves;
    every read is the definition's build of the platform at that moment."""
    profile = settings.default
    assert profile is not None
    run_state_machine_as_test(
        HeldConfigsMachine,
        settings=settings(
            max_examples=max(20, profile.max_examples // 2),
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
