"""resolve(): defaults ⊕ stored ⊕ bootstrap → generated secrets → derived fields → validation."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from adapters.sources.bootstrap import read_bootstrap
from adapters.sources.env_files import read_env
from eventstore.computed import MissingSecretError
from eventstore.errors import ValidationFailed
from eventstore.resolve import Bootstrap, layered_document, resolve, strip_unpersisted
from eventstore.schema import AppConfig, unstructure
from eventstore.secret import MASK, Secret

HEX128 = re.compile(r"\A[0-9a-f]{128}\Z")
HEX64 = re.compile(r"\A[0-9a-f]{64}\Z")
URL = "https://auth.example.com:8443"


def from_env(root: Path, **environ: str) -> Bootstrap:
    return read_bootstrap(read_env(root, environ))


def plain(secret: Secret | None) -> str:
    assert isinstance(secret, Secret)
    return secret.reveal()


def cookie_secrets(config: AppConfig) -> list[str]:
    values = config.security.secrets.cookie_secrets
    assert values is not None
    return [plain(v) for v in values]


def test_issuer_is_deployment_url_plus_oidc_path_by_default() -> None:
    config = resolve(None, Bootstrap())
    assert config.oidc.issuer == config.deployment.url + config.oidc.path
    assert config.oidc.issuer == "http://localhost:9007/oidc/v1"
    assert config.security.authentication.multi_factor.webauthn.rp_id == "localhost"


def test_deployment_url_from_the_environment_drives_the_derived_fields(project: Path) -> None:
    config = resolve(None, from_env(project, DEPLOYMENT_URL=URL))
    assert config.deployment.url == URL
    assert config.oidc.issuer == "https://auth.example.com:8443/oidc/v1"
    assert config.security.authentication.multi_factor.webauthn.rp_id == "auth.example.com"
    urls = config.integrations.urls
    assert (urls.website, urls.privacy_policy, urls.terms_of_service, urls.contact) == (
        URL,
        f"{URL}/privacy",
        f"{URL}/terms",
        f"{URL}/contact",
    )
    discovery = config.oidc.discovery
    assert (discovery.op_policy_uri, discovery.op_tos_uri, discovery.service_documentation) == (
        f"{URL}/privacy",
        f"{URL}/terms",
        f"{URL}/docs",
    )


def test_issuer_follows_a_stored_oidc_path_and_ignores_a_stored_issuer() -> None:
    stored = {"oidc": {"path": "/auth/oidc", "issuer": "https://stale.example/oidc/v1"}}
    config = resolve(stored, Bootstrap(overrides={"deployment.url": "https://id.acme.example/"}))
    assert config.oidc.issuer == "https://id.acme.example/auth/oidc"


def test_environment_url_beats_the_stored_one_and_stored_beats_the_default() -> None:
    stored = {"deployment": {"url": "https://stored.example"}}
    assert resolve(stored, Bootstrap()).oidc.issuer == "https://stored.example/oidc/v1"
    overridden = resolve(stored, Bootstrap(overrides={"deployment.url": URL}))
    assert overridden.deployment.url == URL


def test_stored_integration_url_is_kept_and_the_empty_ones_filled() -> None:
    stored = {"integrations": {"urls": {"website": "https://www.acme.example"}}}
    config = resolve(stored, Bootstrap(overrides={"deployment.url": URL}))
    assert config.integrations.urls.website == "https://www.acme.example"
    assert config.integrations.urls.contact == f"{URL}/contact"


def test_company_name_names_the_mfa_issuers() -> None:
    config = resolve({"branding": {"companyName": "Acme"}}, Bootstrap())
    mfa = config.security.authentication.multi_factor
    assert (mfa.totp.issuer_name, mfa.webauthn.rp_name) == ("Acme", "Acme")


def test_stored_bootstrap_only_paths_are_ignored() -> None:
    stored = {
        "deployment": {"environment": "production", "server": {"port": 1234}},
        "storage": {"adapter": "postgresql"},
        "integrations": {"file_storage": {"provider": "s3"}},
        "features": {"multi_tenancy": {"tenant_header": "x-stored"}},
    }
    config = resolve(stored, Bootstrap())
    assert config.deployment.environment == "development"
    assert config.deployment.server.port == 9007
    assert config.storage.adapter == "sqlite"
    assert config.integrations.file_storage.provider == "local"
    assert config.features.multi_tenancy.tenant_header == "x-tenant-id"

    from_bootstrap = resolve(stored, Bootstrap(overrides={"deployment.server.port": 8080}))
    assert from_bootstrap.deployment.server.port == 8080


def test_strip_unpersisted_removes_bootstrap_only_paths_and_runtime_sections() -> None:
    doc = {
        "deployment": {"server": {"port": 1234, "trust_proxy_hops": 2}, "url": URL},
        "storage": {"adapter": "sqlite"},
        "oidc_storage": {},
        "features": {"multi_tenancy": {"enabled": True, "tenant_header": "x"}},
    }
    assert strip_unpersisted(doc) == {
        "deployment": {"server": {"trust_proxy_hops": 2}, "url": URL},
        "features": {"multi_tenancy": {"enabled": True}},
    }


def test_stored_multi_tenancy_flag_does_not_switch_it_on() -> None:
    # D23: the bootstrap value always wins over the stored one; otherwise a stored true would
    # enable tenants on SQLite behind the start-up check's back.
    stored = {"features": {"multi_tenancy": {"enabled": True}}}
    assert resolve(stored, Bootstrap()).features.multi_tenancy.enabled is False
    on = Bootstrap(
        overrides={
            "features.multi_tenancy.enabled": True,
            "storage.adapter": "postgresql",
            "storage.postgresql.url": "postgresql://db/parako",
        }
    )
    assert resolve({}, on).features.multi_tenancy.enabled is True


def test_storage_sections_are_computed_from_the_bootstrap(project: Path) -> None:
    bootstrap = from_env(
        project,
        STORAGE_ADAPTER="mongodb",
        STORAGE_MONGODB_URI="mongodb://mongo.internal:27017/parako%20tenant?replicaSet=rs0",
        OIDC_STORAGE_ADAPTER="redis",
        REDIS_HOST="cache.internal",
        REDIS_PORT="6380",
        REDIS_DATABASE="3",
    )
    config = resolve(None, bootstrap)
    assert config.storage.adapter == "mongodb"
    assert config.storage.mongodb.uri == (
        "mongodb://mongo.internal:27017/parako%20tenant?replicaSet=rs0"
    )
    adapter = config.oidc_storage.oidc_adapter
    assert adapter.type == "redis"
    assert adapter.mongodb.database == "parako tenant"
    assert (adapter.redis.host, adapter.redis.port, adapter.redis.database) == (
        "cache.internal",
        6380,
        3,
    )
    assert adapter.redis.password is None


def test_default_storage_sections() -> None:
    config = resolve(None, Bootstrap())
    assert config.storage.adapter == "sqlite"
    assert config.storage.sqlite.path == "./runtime/data/parako.db"
    adapter = config.oidc_storage.oidc_adapter
    assert adapter.type == "sqlite"
    assert (adapter.mongodb.uri, adapter.mongodb.database) == (
        "mongodb://localhost:27017",
        "parako-id-dev",
    )


def test_generated_secrets_in_development() -> None:
    _, generated = layered_document(None, Bootstrap())
    assert set(generated) == {
        "security.secrets.jwt_secret",
        "security.secrets.cookie_secrets",
        "security.secrets.hmac_secret",
        "oidc.secrets.pairwise_salt",
    }
    config = resolve(None, Bootstrap())
    secrets = config.security.secrets
    assert isinstance(secrets.jwt_secret, Secret)
    assert HEX128.match(plain(secrets.jwt_secret))
    assert HEX128.match(plain(secrets.hmac_secret))
    first, second = cookie_secrets(config)
    assert HEX128.match(first)
    assert HEX128.match(second)
    assert first != second
    assert HEX64.match(plain(config.oidc.secrets.pairwise_salt))


def test_stored_and_environment_secrets_are_not_regenerated(project: Path) -> None:
    stored = {"security": {"secrets": {"jwt_secret": "s" * 40}}}
    config = resolve(stored, from_env(project, COOKIE_SECRET_1="a" * 32, COOKIE_SECRET_2="b" * 32))
    assert plain(config.security.secrets.jwt_secret) == "s" * 40
    assert cookie_secrets(config) == ["a" * 32, "b" * 32]


def test_empty_stored_secret_is_not_regenerated_but_rejected() -> None:
    with pytest.raises(ValidationFailed) as caught:
        resolve({"security": {"secrets": {"jwt_secret": ""}}}, Bootstrap())
    assert [(i.path, i.message) for i in caught.value.issues] == [
        (
            "security.secrets.jwt_secret",
            "Secret is an empty string; delete the field to regenerate it",
        )
    ]


def test_production_without_secrets_is_fatal(project: Path) -> None:
    with pytest.raises(MissingSecretError) as caught:
        resolve(None, from_env(project, DEPLOYMENT_ENVIRONMENT="production"))
    assert caught.value.messages[0] == (
        "[FATAL] JWT_SECRET is not set. JWT signing secret must be explicitly configured in "
        "production. Generate one with: openssl rand -hex 32"
    )
    assert [m.split(" ")[1] for m in caught.value.messages] == [
        "JWT_SECRET",
        "COOKIE_SECRET_1",
        "COOKIE_SECRET_2",
        "HMAC_SECRET",
        "PAIRWISE_SALT",
    ]


def test_production_with_secrets_from_the_env_file_starts(project: Path) -> None:
    (project / "runtime" / ".env").write_text(
        "DEPLOYMENT_ENVIRONMENT=production\n"
        f"JWT_SECRET={'j' * 64}\nCOOKIE_SECRET_1={'c' * 64}\nCOOKIE_SECRET_2={'d' * 64}\n"
        f"HMAC_SECRET={'h' * 64}\nPAIRWISE_SALT={'p' * 32}\n",
        encoding="utf-8",
    )
    config = resolve(None, from_env(project))
    assert config.deployment.environment == "production"
    assert plain(config.security.secrets.jwt_secret) == "j" * 64
    assert plain(config.oidc.secrets.pairwise_salt) == "p" * 32


def test_staging_also_refuses_to_generate(project: Path) -> None:
    with pytest.raises(MissingSecretError):
        resolve(None, from_env(project, DEPLOYMENT_ENVIRONMENT="staging"))


def test_runtime_config_secrets_are_masked_in_repr() -> None:
    stored = {"security": {"secrets": {"jwt_secret": "plain-jwt-secret-" * 3}}}
    config = resolve(stored, Bootstrap())
    secret = config.security.secrets.jwt_secret
    assert isinstance(secret, Secret)
    assert repr(secret) == f"Secret({MASK!r})"
    assert str(secret) == MASK
    text = repr(config)
    assert "plain-jwt-secret" not in text
    assert plain(config.oidc.secrets.pairwise_salt) not in text
    assert unstructure(config)["security"]["secrets"]["jwt_secret"] == MASK


def test_several_stored_errors_are_reported_together() -> None:
    stored = {
        "deployment": {"url": "not a url", "redis_prefix": "a b"},
        "branding": {"compnyName": "Acme"},
    }
    with pytest.raises(ValidationFailed) as caught:
        resolve(stored, Bootstrap())
    assert [(i.path, i.message) for i in caught.value.issues] == [
        ("branding.compnyName", "Unknown setting (not part of the schema)"),
        ("deployment.url", "Application URL must be a valid URL"),
        (
            "deployment.redis_prefix",
            "Redis prefix must contain only alphanumeric characters, hyphens, and underscores",
        ),
    ]


def test_a_bad_deployment_url_is_reported_once_not_in_every_derived_url() -> None:
    stored = {
        "deployment": {"url": "not a url"},
        "integrations": {"urls": {"contact": "also bad"}},
    }
    with pytest.raises(ValidationFailed) as caught:
        resolve(stored, Bootstrap())
    # The stored contact URL is the user's own mistake and stays reported.
    assert [(i.path, i.message) for i in caught.value.issues] == [
        ("deployment.url", "Application URL must be a valid URL"),
        ("integrations.urls.contact", "Contact URL must be valid"),
    ]


def test_a_bad_oidc_path_is_reported_once() -> None:
    with pytest.raises(ValidationFailed) as caught:
        resolve({"oidc": {"path": "oidc"}}, Bootstrap())
    assert [(i.path, i.message) for i in caught.value.issues] == [
        ("oidc.path", "OIDC path must start with /")
    ]
