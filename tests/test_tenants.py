"""Multi-tenancy on the write and read side: registry, override writes, policy, effective configs.

The store here is the in-memory log (multi-tenancy needs PostgreSQL or MongoDB in production;
the behaviour under test is the same on every adapter, which the contract suite guarantees).
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import attrs
import pytest

from adapters.storage.memory import MemoryEventLog
from eventstore import events
from eventstore.commands import Author, ConfigCommands
from eventstore.crypto import DecryptionError, FieldCipher, Keyring
from eventstore.errors import ValidationFailed, VersionConflict
from eventstore.hashchain import HashChain, verify_log
from eventstore.resolve import Bootstrap
from eventstore.schema import AppConfig
from eventstore.secret import MASK
from eventstore.state import StoredConfig
from eventstore.tenant_commands import TenantCommands, tenant_scope
from eventstore.tenants import TenantNotFound, tenant_stream
from projections.audit import audit_entries
from projections.history import history_from
from projections.tenant_configs import TenantConfigs

KEY = "7e" * 32
SECRETS_ENV = {
    "JWT_SECRET": "j" * 40,
    "COOKIE_SECRET_1": "c" * 40,
    "HMAC_SECRET": "h" * 40,
    "PAIRWISE_SALT": "p" * 20,
}
OPS = Author("ops", "test")
ACCESS = "oidc.token_ttl.access_token"


@attrs.define
class Store:
    """A platform and its tenants on one in-memory log, with the platform view kept current."""

    log: MemoryEventLog
    cipher: FieldCipher
    platform: ConfigCommands
    tenants: TenantCommands
    configs: TenantConfigs
    current: tuple[StoredConfig, AppConfig]

    async def refresh(self) -> None:
        state = await self.platform.load()
        self.current = (state, self.platform.runtime(state))
        self.configs.evict_all()

    async def platform_save(self, partial: dict[str, Any]) -> None:
        await self.platform.save(partial, OPS)
        await self.refresh()

    async def effective(self, slug: str) -> AppConfig:
        return (await self.configs.get(slug)).config

    async def tenant_events(self, slug: str) -> list[events.TenantOverrideChanged]:
        out = []
        for recorded in await self.log.read_stream(tenant_stream(slug)):
            event = events.decode(recorded)
            assert isinstance(event, events.TenantOverrideChanged)
            out.append(event)
        return out


@pytest.fixture
async def store() -> Store:
    log = MemoryEventLog(HashChain(bytes(range(32))))
    cipher = FieldCipher(Keyring.from_values(KEY))
    bootstrap = Bootstrap(
        overrides={"deployment.url": "https://parako.id:8443"},
        environ={**SECRETS_ENV, "ENCRYPTION_KEY": KEY},
    )
    platform = ConfigCommands(log, cipher, bootstrap)
    await platform.initialize()
    tenants = TenantCommands(log, cipher, platform, bootstrap)
    state = await platform.load()
    holder: list[Store] = []
    configs = TenantConfigs(tenants, bootstrap, lambda: holder[0].current, platform.plaintext)
    built = Store(log, cipher, platform, tenants, configs, (state, platform.runtime(state)))
    holder.append(built)
    await tenants.create("acme", OPS, display_name="Acme Inc.")
    return built


def token_ttl(config: AppConfig) -> int:
    return config.oidc.token_ttl.access_token


# -- the registry -------------------------------------------------------------------------------


async def test_created_tenants_are_in_the_registry(store: Store) -> None:
    await store.tenants.create("  Globex-2 ", OPS, domain="Auth.Globex.COM.")
    registry = await store.tenants.registry()
    assert sorted(registry.tenants) == ["acme", "globex-2"]
    globex = registry.tenants["globex-2"]
    assert (globex.display_name, globex.domain, globex.status.value) == (
        "globex-2",
        "auth.globex.com",
        "active",
    )


@pytest.mark.parametrize(
    ("slug", "message"),
    [
        ("api", "Slug 'api' is reserved for system infrastructure"),
        ("_ops", "Slug '_ops' is reserved for system infrastructure"),
        ("-acme", "Slug must be lowercase alphanumeric with optional hyphens"),
        ("ac_me", "Slug must be lowercase alphanumeric with optional hyphens"),
        ("a", "Slug must be lowercase alphanumeric with optional hyphens"),
        ("x" * 64, "Slug must be lowercase alphanumeric with optional hyphens"),
    ],
)
async def test_bad_slugs_are_refused_by_name(store: Store, slug: str, message: str) -> None:
    with pytest.raises(ValidationFailed, match=message):
        await store.tenants.create(slug, OPS)


async def test_duplicates_and_bad_or_taken_domains_are_refused(store: Store) -> None:
    with pytest.raises(ValidationFailed, match="Tenant 'acme' already exists"):
        await store.tenants.create("acme", OPS)
    for bad in ("https://acme.com", "acme.com:443", "10.0.0.1", "acme.com/x"):
        with pytest.raises(ValidationFailed, match="Domain must be a hostname"):
            await store.tenants.create("other", OPS, domain=bad)
    await store.tenants.update("acme", OPS, domain="auth.acme.com")
    with pytest.raises(ValidationFailed, match="already used by tenant acme"):
        await store.tenants.create("other", OPS, domain="auth.acme.com")


async def test_writes_to_an_unknown_tenant_are_refused(store: Store) -> None:
    with pytest.raises(TenantNotFound, match="Tenant not found: nope"):
        await store.tenants.save("nope", {"branding": {"companyName": "X"}}, OPS)


# -- override writes ----------------------------------------------------------------------------


async def test_an_override_shows_in_the_tenant_config_only(store: Store) -> None:
    result = await store.tenants.save("acme", {"branding": {"companyName": "Acme"}}, OPS)
    assert (result.semver, result.version, result.stripped) == ("1.0.0", 1, ())
    assert (await store.effective("acme")).branding.company_name == "Acme"
    assert store.current[1].branding.company_name == "Your Organization"


async def test_disallowed_paths_are_stripped_and_reported(store: Store) -> None:
    result = await store.tenants.save(
        "acme",
        {
            "branding": {"companyName": "Acme", "ui": {"x": 1}},
            "security": {"secrets": {"jwt_secret": "x" * 40}},
            "deployment": {"url": "https://evil.example"},
        },
        OPS,
    )
    # every stripped path in full, never only the section it is in
    assert result.stripped == ("branding.ui.x", "security.secrets.jwt_secret", "deployment.url")
    (event,) = await store.tenant_events("acme")
    assert event.stripped == result.stripped
    assert [c.path for c in event.changes] == ["branding.companyName"]


async def test_a_section_replacement_names_each_stripped_path(store: Store) -> None:
    roles = {"available": ["user", "admin"], "default": "admin"}
    result = await store.tenants.save(
        "acme",
        {"security": {"secrets": {"jwt_secret": "x" * 40}, "authentication": {"roles": roles}}},
        OPS,
        replace_sections=True,
    )
    assert result.stripped == (
        "security.secrets.jwt_secret",
        "security.authentication.roles.available",
    )
    assert (await store.tenants.load("acme")).document == {
        "security": {"authentication": {"roles": {"default": "admin"}}}
    }


async def test_only_disallowed_paths_is_an_error_naming_each_and_appends_nothing(
    store: Store,
) -> None:
    with pytest.raises(ValidationFailed) as outside:
        await store.tenants.save("acme", {"deployment": {"url": "https://x.example"}}, OPS)
    assert outside.value.heading == "No valid override fields provided"
    assert [(i.path, i.message) for i in outside.value.issues] == [
        (
            "deployment.url",
            "cannot be overridden by a tenant (only these sections can be: application, "
            "branding, security, features, oidc, integrations, notifications)",
        )
    ]
    with pytest.raises(ValidationFailed) as inside:
        await store.tenants.save(
            "acme",
            {"security": {"secrets": {"jwt_secret": "x", "hmac_secret": "y"}}},
            OPS,
            replace_sections=True,
        )
    assert [(i.path, i.message) for i in inside.value.issues] == [
        ("security.secrets.jwt_secret", "cannot be overridden by a tenant"),
        ("security.secrets.hmac_secret", "cannot be overridden by a tenant"),
    ]
    assert await store.log.stream_version(tenant_stream("acme")) == 0


async def test_replacing_a_section_by_nothing_inherits_it_again(store: Store) -> None:
    await store.tenants.save(
        "acme", {"branding": {"companyName": "Acme"}, "oidc": {"token_ttl": {"grant": 60}}}, OPS
    )
    result = await store.tenants.save("acme", {"branding": {}}, OPS, replace_sections=True)
    assert (result.appended, result.stripped) == (True, ())
    assert (await store.tenants.load("acme")).document == {"oidc": {"token_ttl": {"grant": 60}}}
    assert (await store.effective("acme")).branding.company_name == "Your Organization"
    again = await store.tenants.save("acme", {"branding": {}}, OPS, replace_sections=True)
    assert again.appended is False


async def test_empty_string_inherits_the_platform_value(store: Store) -> None:
    await store.tenants.save("acme", {"branding": {"companyName": "Acme"}}, OPS)
    await store.tenants.save("acme", {"branding": {"companyName": ""}}, OPS)
    assert (await store.tenants.load("acme")).document == {}
    assert (await store.effective("acme")).branding.company_name == "Your Organization"


async def test_replacing_a_section_drops_its_other_overrides(store: Store) -> None:
    await store.tenants.save(
        "acme",
        {"branding": {"companyName": "Acme", "logo": "/acme.svg"}, "oidc": {"token_ttl": {}}},
        OPS,
    )
    await store.tenants.save("acme", {"branding": {"logo": "/new.svg"}}, OPS, replace_sections=True)
    assert (await store.tenants.load("acme")).document == {"branding": {"logo": "/new.svg"}}


async def test_an_invalid_override_names_the_path_and_appends_nothing(store: Store) -> None:
    await store.tenants.save("acme", {"branding": {"companyName": "Acme"}}, OPS)
    with pytest.raises(ValidationFailed) as caught:
        await store.tenants.save("acme", {"oidc": {"token_ttl": {"access_token": "soon"}}}, OPS)
    assert [issue.path for issue in caught.value.issues] == [ACCESS]
    assert await store.log.stream_version(tenant_stream("acme")) == 1


async def test_expected_version_conflict_on_a_tenant_stream(store: Store) -> None:
    await store.tenants.save("acme", {"branding": {"companyName": "A"}}, OPS)
    with pytest.raises(VersionConflict):
        await store.tenants.save("acme", {"branding": {"companyName": "B"}}, OPS, 0)


# -- policy, at write and at build --------------------------------------------------------------


async def test_a_ceiling_is_stored_and_the_adjustment_recorded(store: Store) -> None:
    result = await store.tenants.save(
        "acme", {"oidc": {"token_ttl": {"access_token": 999999}}}, OPS
    )
    assert [a.to_json() for a in result.adjustments] == [
        {
            "path": ACCESS,
            "original": 999999,
            "adjusted": 3600,
            "reason": "Ceiling: must be <= platform value (3600)",
        }
    ]
    assert (await store.tenants.load("acme")).document == {
        "oidc": {"token_ttl": {"access_token": 3600}}
    }
    (event,) = await store.tenant_events("acme")
    assert event.adjustments == tuple(a.to_json() for a in result.adjustments)
    assert token_ttl(await store.effective("acme")) == 3600


async def test_a_tightened_platform_limit_binds_existing_tenants_at_once(store: Store) -> None:
    await store.tenants.save("acme", {"oidc": {"token_ttl": {"access_token": 1800}}}, OPS)
    assert token_ttl(await store.effective("acme")) == 1800
    await store.platform_save({"oidc": {"token_ttl": {"access_token": 900}}})

    tenant = await store.configs.get("acme")
    assert token_ttl(tenant.config) == 900
    assert [a.reason for a in tenant.adjustments] == ["Ceiling: must be <= platform value (900)"]
    # the stored overrides are untouched: loosening the platform again gives 1800 back
    assert await store.log.stream_version(tenant_stream("acme")) == 1
    await store.platform_save({"oidc": {"token_ttl": {"access_token": 7200}}})
    assert token_ttl(await store.effective("acme")) == 1800


async def test_a_boolean_floor_on_the_platform_enables_it_for_tenants(store: Store) -> None:
    mfa = {"security": {"authentication": {"multi_factor": {"enabled": False}}}}
    await store.tenants.save("acme", mfa, OPS)
    await store.platform_save({"security": {"authentication": {"multi_factor": {"enabled": True}}}})
    config = await store.effective("acme")
    assert config.security.authentication.multi_factor.enabled is True


# -- computed fields in the tenant's context ----------------------------------------------------


async def test_subdomain_tenant_urls_keep_the_platform_port(store: Store) -> None:
    config = await store.effective("acme")
    assert config.oidc.issuer == "https://acme.parako.id:8443/oidc/v1"
    assert config.security.authentication.multi_factor.webauthn.rp_id == "parako.id"
    assert store.current[1].oidc.issuer == "https://parako.id:8443/oidc/v1"


async def test_custom_domain_tenant_urls_and_rp_id(store: Store) -> None:
    await store.tenants.update("acme", OPS, domain="auth.acme.com")
    store.configs.evict("acme")
    config = await store.effective("acme")
    assert config.oidc.issuer == "https://auth.acme.com/oidc/v1"
    assert config.security.authentication.multi_factor.webauthn.rp_id == "auth.acme.com"
    assert config.oidc.discovery.op_policy_uri == "https://auth.acme.com/privacy"


# -- the cache ----------------------------------------------------------------------------------


async def test_concurrent_first_reads_build_once(store: Store) -> None:
    results = await asyncio.gather(*(store.configs.get("acme") for _ in range(20)))
    assert store.configs.builds == 1
    assert all(r is results[0] for r in results)


async def test_unchanged_sections_are_the_platform_objects(store: Store) -> None:
    await store.tenants.save(
        "acme", {"branding": {"colors": {"light": {"primary": "#123456"}}}}, OPS
    )
    tenant = await store.effective("acme")
    platform = store.current[1]
    assert tenant.features is platform.features
    assert tenant.branding is not platform.branding
    assert tenant.branding.colors.dark is platform.branding.colors.dark
    assert tenant.branding.fonts is platform.branding.fonts
    assert tenant.branding.colors.light.primary == "#123456"
    assert sys.getsizeof(tenant) < 1000


async def test_the_cache_is_bounded_and_evicts_the_least_recently_used(store: Store) -> None:
    configs = TenantConfigs(
        store.tenants,
        store.configs._bootstrap,
        lambda: store.current,
        store.platform.plaintext,
        max_size=2,
    )
    for slug in ("b1", "b2", "b3"):
        await store.tenants.create(slug, OPS)
    await configs.get("b1")
    await configs.get("b2")
    await configs.get("b1")
    await configs.get("b3")
    assert (configs.cached("b1") is not None, configs.cached("b2"), len(configs)) == (
        True,
        None,
        2,
    )


async def test_a_tenant_change_is_seen_after_eviction(store: Store) -> None:
    await store.effective("acme")
    await store.tenants.save("acme", {"branding": {"companyName": "New"}}, OPS)
    store.configs.evict("acme")
    assert (await store.effective("acme")).branding.company_name == "New"


# -- secrets, history, restore ------------------------------------------------------------------


async def test_tenant_secrets_are_encrypted_bound_to_the_tenant(store: Store) -> None:
    secret = "Gh-Cl1ent-S3cret-Walrus-8841"
    google = {"features": {"social_providers": {"google": {"client_secret": secret}}}}
    await store.tenants.save("acme", google, OPS)
    stored = (await store.tenants.load("acme")).document
    envelope = stored["features"]["social_providers"]["google"]["client_secret"]
    assert envelope.startswith("enc:v1:")
    assert all(secret.encode() not in e.data for e in store.log.storage.events)
    path = "features.social_providers.google.client_secret"
    assert store.cipher.decrypt(envelope, scope=tenant_scope("acme"), path=path) == secret
    with pytest.raises(DecryptionError):
        store.cipher.decrypt(envelope, scope=tenant_scope("globex"), path=path)
    # saving the masked value back keeps the secret and appends nothing
    masked = {"features": {"social_providers": {"google": {"client_secret": MASK}}}}
    assert (await store.tenants.save("acme", masked, OPS)).appended is False


async def test_history_and_restore_per_tenant(store: Store) -> None:
    for name in ("One", "Two", "Three"):
        await store.tenants.save("acme", {"branding": {"companyName": name}}, OPS)
    restored = await store.tenants.restore("acme", "1.0.0", Author("ops", "undo"))
    assert (restored.semver, restored.version) == ("1.0.3", 4)
    assert (await store.effective("acme")).branding.company_name == "One"
    recorded = await store.log.read_stream(tenant_stream("acme"))
    history = history_from(recorded, stream=tenant_stream("acme"))
    assert [v.version for v in history] == ["1.0.3", "1.0.2", "1.0.1", "1.0.0"]
    assert (await verify_log(store.log, HashChain(bytes(range(32))))).ok


async def test_audit_shows_the_adjustment_the_registry_and_masks_tenant_secrets(
    store: Store,
) -> None:
    too_long = {"oidc": {"token_ttl": {"access_token": 999999}}}
    secret = {"features": {"social_providers": {"github": {"client_secret": "Zebra-9911-Quokka"}}}}
    await store.tenants.save("acme", {**too_long, **secret}, Author("tenant-admin", "tighten"))
    entries = audit_entries(store.log.storage.events, tenant="acme")
    kinds = [(e.kind, e.path) for e in entries]
    assert kinds == [
        ("tenant", "acme"),
        ("change", ACCESS),
        ("change", "features.social_providers.github.client_secret"),
        ("adjustment", ACCESS),
    ]
    adjustment = entries[-1]
    assert (adjustment.old, adjustment.new, adjustment.who) == (999999, 3600, "tenant-admin")
    assert adjustment.why == "Ceiling: must be <= platform value (3600)"
    assert entries[2].new == MASK
    assert all(e.tenant == "acme" for e in entries)
    assert audit_entries(store.log.storage.events, tenant="globex") == []
