"""Tenant configs built by merging into the platform's document, and re-derived after a platform
change, are exactly what the definition builds from scratch.

The definition is ``effective_document`` then ``structure_like`` (what the cache did for every
build before). Hypothesis draws a platform (a valid save of policy limits, URLs, names, the SMTP
settings the credential guard watches) and a tenant (overrides written straight to its stream,
so they may break the policy and be clamped, and a custom domain or none); then a platform
change. The cached tenant, built before the change and re-derived after it, must equal the
definition's build of the new platform: the same config and the same adjustments (or the same
refusal).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.storage.memory import MemoryEventLog
from eventstore import events
from eventstore.commands import Author, ConfigCommands
from eventstore.crypto import FieldCipher, Keyring
from eventstore.docpath import set_path
from eventstore.errors import ValidationFailed
from eventstore.events import FieldChange, TenantChanged, TenantOverrideChanged
from eventstore.hashchain import HashChain
from eventstore.resolve import Bootstrap
from eventstore.schema import AppConfig, structure_like
from eventstore.schema.paths import ALLOWED_TENANT_FIELDS
from eventstore.state import StoredConfig
from eventstore.tenant_commands import TenantCommands, effective_document
from eventstore.tenant_policy import ConstraintViolation
from eventstore.tenants import REGISTRY_STREAM, Tenant, tenant_stream
from projections.tenant_configs import (
    DEFAULT_CACHE_SIZE,
    DEFAULT_HELD,
    TenantConfig,
    TenantConfigs,
)
from projections.tenant_derivation import (
    POLICED,
    Leaves,
    changed_paths,
    merge_leaves,
    shared_adjustments,
)

KEY = "6d" * 32
AT = datetime(2026, 1, 1, tzinfo=UTC)
OPS = Author("ops", "test")
ENVIRON = {
    "JWT_SECRET": "j" * 40,
    "COOKIE_SECRET_1": "c" * 40,
    "HMAC_SECRET": "h" * 40,
    "PAIRWISE_SALT": "p" * 20,
    "ENCRYPTION_KEY": KEY,
}

#: platform settings a change may touch: policy limits, derivation inputs, derived URLs, names
PLATFORM_CHOICES: dict[str, list[Any]] = {
    "deployment.url": ["https://parako.id", "https://auth.example.org:8443"],
    "oidc.path": ["/oidc/v1", "/op"],
    "branding.companyName": ["Parako", "Umbrella"],
    "branding.fonts.mono": ["Iosevka", "Menlo"],
    "integrations.urls.website": ["", "https://www.example.org"],
    "oidc.discovery.op_policy_uri": ["", "https://legal.example.org/privacy"],
    "oidc.token_ttl.access_token": [300, 3600, 7200],
    "oidc.token_ttl.id_token": [600, 3600],
    "security.authentication.login.password_policy.min_length": [8, 12, 16],
    "security.authentication.multi_factor.enabled": [True, False],
    "security.authentication.multi_factor.webauthn.user_verification": [
        "required",
        "preferred",
        "discouraged",
    ],
    "security.authentication.session.idle_timeout_minutes": [15, 30, 120],
    "integrations.email.smtp_host": ["smtp.parako.id", "mail.example.org"],
    "integrations.email.tls_reject_unauthorized": [True, False],
}

#: tenant overrides, including values the policy clamps and the credential guard sets back
TENANT_CHOICES: dict[str, list[Any]] = {
    "application.title": ["Acme portal"],
    "branding.companyName": ["Acme", "Globex"],
    "branding.colors.light.primary": ["#123456", "#abcdef"],
    "branding.logo": ["/logos/acme.svg"],
    "integrations.urls.website": ["", "https://acme.example.com"],
    "oidc.discovery.op_tos_uri": ["https://acme.example.com/tos"],
    "oidc.token_ttl.access_token": [60, 900, 99999],
    "oidc.token_ttl.id_token": [0, 1200],
    "security.authentication.login.password_policy.min_length": [4, 10, 20],
    "security.authentication.multi_factor.enabled": [False, True],
    "security.authentication.multi_factor.webauthn.user_verification": [
        "discouraged",
        "required",
    ],
    "security.authentication.session.idle_timeout_minutes": [5, 500],
    "integrations.email.smtp_host": ["smtp.acme.com"],
    "integrations.email.smtp_username": ["acme"],
    "integrations.email.tls_reject_unauthorized": [False],
    "notifications.defaults.security_alerts": [False],
}


def _choices(table: dict[str, list[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    return st.dictionaries(
        st.sampled_from(sorted(table)), st.just(None), max_size=len(table)
    ).flatmap(lambda chosen: st.fixed_dictionaries({p: st.sampled_from(table[p]) for p in chosen}))


platforms = _choices(PLATFORM_CHOICES)
overrides = _choices(TENANT_CHOICES)
domains = st.none() | st.just("auth.acme.com")


def _document(values: Mapping[str, Any]) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    for path, value in values.items():
        doc = set_path(doc, path, value)
    return doc


@attrs.define
class World:
    platform: ConfigCommands
    tenants: TenantCommands
    configs: TenantConfigs
    bootstrap: Bootstrap
    current: tuple[StoredConfig, AppConfig]
    document: dict[str, Any]

    async def save(self, values: Mapping[str, Any]) -> bool:
        """A platform save; False when the platform refuses it (an invalid combination)."""
        try:
            await self.platform.save(_document(values), OPS)
        except ValidationFailed:
            return False
        state = await self.platform.load()
        document = self.platform.runtime_document(state)
        # as the runtime view does: unchanged parts of the platform config stay the same objects
        config = self.platform.runtime_from(document, (self.current[1], self.document))
        self.current, self.document = (state, config), document
        return True

    def expected(self, tenant: Tenant, values: Mapping[str, Any]) -> tuple[AppConfig, Any] | str:
        """The definition's build against the current platform (or its refusal)."""
        state, config = self.current
        plain = self.platform.plaintext(state)
        try:
            built = effective_document(
                plain, self.document, _document(values), tenant, self.bootstrap
            )
            structured = structure_like(AppConfig, built.document, config, self.document)
        except ValidationFailed as failed:
            return "refused: " + ", ".join(sorted(i.path for i in failed.issues))
        return structured, built.adjustments


#: tenants by slug: the overrides stored for each (written as stored, the policy not applied:
#: builds must clamp) and its custom domain
Population = Mapping[str, tuple[Mapping[str, Any], str | None]]


def display_name(slug: str) -> str:
    return slug.capitalize()


async def tenants_world(
    population: Population, *, max_size: int = DEFAULT_CACHE_SIZE, held: int = DEFAULT_HELD
) -> World:
    """A platform at its first version and ``population``, cached by a
    :class:`TenantConfigs` of the given bounds."""
    log = MemoryEventLog(HashChain(bytes(range(32))))
    cipher = FieldCipher(Keyring.from_values(KEY))
    bootstrap = Bootstrap(environ=ENVIRON)
    platform = ConfigCommands(log, cipher, bootstrap)
    await platform.initialize()
    tenants = TenantCommands(log, cipher, platform, bootstrap)
    state = await platform.load()
    document = platform.runtime_document(state)
    holder: list[World] = []
    configs = TenantConfigs(
        tenants,
        bootstrap,
        lambda: holder[0].current,
        platform.plaintext,
        max_size=max_size,
        held=held,
    )
    world = World(
        platform, tenants, configs, bootstrap, (state, platform.runtime_from(document)), document
    )
    holder.append(world)
    registered = [
        events.encode(
            TenantChanged(slug, display_name(slug), domain, "active", "ops", "", AT, True)
        )
        for slug, (_, domain) in population.items()
    ]
    await log.append(REGISTRY_STREAM, 0, registered)
    for slug, (values, _) in population.items():
        if values:
            change = TenantOverrideChanged(
                tuple(FieldChange(path, None, value) for path, value in values.items()),
                "1.0.0",
                "ops",
                "",
                ("main",),
                "development",
                AT,
                tenant=slug,
            )
            await log.append(tenant_stream(slug), 0, [events.encode(change)])
    return world


async def _world(values: Mapping[str, Any], domain: str | None) -> tuple[World, Tenant]:
    """The tenant ``acme`` with ``values`` stored as its overrides."""
    world = await tenants_world({"acme": (values, domain)})
    return world, Tenant("acme", display_name("acme"), domain)


async def _built(configs: TenantConfigs) -> TenantConfig | str:
    try:
        return await configs.get("acme")
    except ValidationFailed as failed:
        return "refused: " + ", ".join(sorted(i.path for i in failed.issues))


def _same(found: TenantConfig | str, expected: tuple[AppConfig, Any] | str) -> None:
    if isinstance(expected, str) or isinstance(found, str):
        assert found == expected
        return
    assert found.config == expected[0]
    assert found.adjustments == expected[1]


PROPERTY = settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)


@PROPERTY
@given(platforms, overrides, domains)
async def test_a_build_equals_the_definition(
    platform: dict[str, Any], tenant_values: dict[str, Any], domain: str | None
) -> None:
    world, tenant = await _world(tenant_values, domain)
    if not await world.save(platform):
        return
    _same(await _built(world.configs), world.expected(tenant, tenant_values))


@PROPERTY
@given(platforms, overrides, domains, platforms)
async def test_a_tenant_re_derived_after_a_platform_change_equals_a_build_from_scratch(
    before: dict[str, Any],
    tenant_values: dict[str, Any],
    domain: str | None,
    after: dict[str, Any],
) -> None:
    world, tenant = await _world(tenant_values, domain)
    if not await world.save(before):
        return
    first = await _built(world.configs)
    version = world.current[0].version
    if isinstance(first, str) or not await world.save(after):
        return
    _same(await _built(world.configs), world.expected(tenant, tenant_values))
    # re-derived from the changes, or (when they reach what it cannot update part by part)
    # built again from the overrides it keeps: never read from the log again
    changed = world.current[0].version != version
    assert world.configs.rederived + world.configs.builds == 1 + changed


async def test_a_platform_change_re_derives_only_what_it_reaches() -> None:
    values = {"branding.colors.light.primary": "#123456", "oidc.token_ttl.access_token": 900}
    world, _ = await _world(values, None)
    first = (await world.configs.get("acme")).config
    assert await world.save({"branding.fonts.mono": "Iosevka"})
    second = await world.configs.get("acme")
    assert (world.configs.builds, world.configs.rederived) == (1, 1)
    assert second.config.branding.fonts.mono == "Iosevka"
    assert second.config.branding.fonts is world.current[1].branding.fonts
    assert second.config.branding.colors is first.branding.colors  # not rebuilt
    assert second.config.oidc is first.oidc
    # a tightened limit binds at once (D22), by re-deriving
    assert await world.save({"oidc.token_ttl.access_token": 600})
    third = await world.configs.get("acme")
    assert third.config.oidc.token_ttl.access_token == 600
    assert [a.path for a in third.adjustments] == ["oidc.token_ttl.access_token"]
    assert (world.configs.builds, world.configs.rederived) == (1, 2)


def test_tenants_adjusted_alike_share_one_tuple_and_json_types_stay_apart() -> None:
    first = (ConstraintViolation("x.enabled", False, True, "Boolean floor"),)
    again = (ConstraintViolation("x.enabled", False, True, "Boolean floor"),)
    number = (ConstraintViolation("x.enabled", 0, True, "Boolean floor"),)
    assert shared_adjustments(first) is first
    assert shared_adjustments(again) is first
    assert number == first  # equal in Python, yet 0 is not false in the JSON served
    assert shared_adjustments(number) is number


@given(
    st.dictionaries(
        st.sampled_from(["a.b", "a.c", "d", "e.f.g", "e.h"]),
        st.one_of(st.integers(0, 3), st.just({}), st.just([1, 2]), st.none()),
    )
)
def test_merging_leaves_is_a_deep_merge(values: dict[str, Any]) -> None:
    from eventstore.docpath import deep_merge

    base = {"a": {"b": 1, "x": 2}, "d": {"y": 1}, "e": {"f": {"z": 3}}}
    doc = _document(values)
    leaves = Leaves.of(doc)
    assert merge_leaves(base, zip(leaves.paths, leaves.values, strict=True)) == deep_merge(
        base, doc
    )
    assert leaves.document() == doc


def test_changed_paths_names_every_difference_and_only_those() -> None:
    old = {"a": {"b": 1, "c": [1]}, "d": True, "e": {}}
    new = {"a": {"b": 1, "c": [1.0]}, "d": 1, "f": {"g": None}}
    assert changed_paths(old, new) == {"a.c", "d", "e", "f"}
    assert changed_paths(old, old) == set()


@pytest.mark.parametrize("bad", [{"a.b": 1}, {"": 1}])
def test_leaves_refuse_keys_that_are_no_path(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="cannot be used in a path"):
        Leaves.of({"x": bad})


#: values a tenant's stored overrides may hold at a policed setting, however they got there
ODD_VALUES = st.sampled_from([None, {}, {"x": 1}, {"x": {"y": True}}, [], [1], "text", 5, True])


@PROPERTY
@given(
    st.dictionaries(
        st.sampled_from(sorted(POLICED.intersection(ALLOWED_TENANT_FIELDS))), ODD_VALUES, max_size=3
    ),
    platforms,
    platforms,
)
async def test_odd_values_at_policed_settings_are_built_as_the_definition_builds_them(
    tenant_values: dict[str, Any], platform: dict[str, Any], after: dict[str, Any]
) -> None:
    """The policy judges a policed setting's value whole: an object stored there (its leaves
    are paths below the setting, which no rule names) must be clamped or set back as the
    definition does, not merged below the setting and refused; and a refusal names every
    setting the definition's names, once. Again after a platform change."""
    world, tenant = await _world(tenant_values, None)
    if not await world.save(platform):
        return
    _same(await _built(world.configs), world.expected(tenant, tenant_values))
    if await world.save(after):
        _same(await _built(world.configs), world.expected(tenant, tenant_values))


async def test_an_object_at_a_credential_guard_is_set_back_as_the_definition_does() -> None:
    values = {"integrations.email.tls_reject_unauthorized": {"x": 1}}
    world, tenant = await _world(values, None)
    found = await _built(world.configs)
    _same(found, world.expected(tenant, values))
    assert not isinstance(found, str)
    assert [a.path for a in found.adjustments] == ["integrations.email.tls_reject_unauthorized"]
