"""Computed fields against the reference data (computed_fields.json) and decisions D6–D8."""

from __future__ import annotations

import copy
import itertools
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from eventstore.computed import (
    BASE_URL,
    COMPANY_NAME,
    CONTACT_URL,
    COOKIE_SECRETS,
    DOCS_URL,
    EMPTY_SECRET_MESSAGE,
    HMAC_SECRET,
    ISSUER,
    JWT_SECRET,
    PAIRWISE_SALT,
    PRIVACY_URL,
    RP_ID,
    TERMS_URL,
    DerivationContext,
    GeneratedSecret,
    MissingSecretError,
    Rule,
    TenantRef,
    apply_derived,
    compute_oidc_storage,
    compute_storage,
    hostname_of,
    mongodb_database,
    resolve_secrets,
    tenant_base_url,
)
from eventstore.errors import ConfigError, ValidationFailed

REFERENCE = json.loads(
    (Path(__file__).parent / "data" / "reference" / "computed_fields.json").read_text()
)

SECRET_SPECS: dict[str, GeneratedSecret] = {
    "security.secrets.jwt_secret": JWT_SECRET,
    "security.secrets.cookie_secrets": COOKIE_SECRETS,
    "security.secrets.hmac_secret": HMAC_SECRET,
    "oidc.secrets.pairwise_salt": PAIRWISE_SALT,
}

MFA = "security.authentication.multi_factor"
DERIVED_RULES: dict[str, Rule] = {
    "oidc.issuer": ISSUER,
    "oidc.discovery.op_policy_uri": PRIVACY_URL,
    "oidc.discovery.op_tos_uri": TERMS_URL,
    "oidc.discovery.service_documentation": DOCS_URL,
    "integrations.urls.website": BASE_URL,
    "integrations.urls.privacy_policy": PRIVACY_URL,
    "integrations.urls.terms_of_service": TERMS_URL,
    "integrations.urls.contact": CONTACT_URL,
    f"{MFA}.totp.issuer_name": COMPANY_NAME,
    f"{MFA}.webauthn.rp_name": COMPANY_NAME,
    f"{MFA}.webauthn.rp_id": RP_ID,
}

HEX_128 = re.compile(r"[0-9a-f]{128}")
HEX_64 = re.compile(r"[0-9a-f]{64}")


def counting_token_hex() -> Callable[[int], str]:
    """Deterministic stand-in for secrets.token_hex: 1, 2, 3… left-padded to the right length."""
    calls = itertools.count(1)

    def token_hex(nbytes: int) -> str:
        return f"{next(calls):x}".rjust(nbytes * 2, "0")

    return token_hex


def pad(n: int, width: int) -> str:
    return f"{n:x}".rjust(width, "0")


def get(doc: dict[str, Any], path: str) -> Any:
    node: Any = doc
    for part in path.split("."):
        node = node[part]
    return node


# ---------------------------------------------------------------------------------------------
# Mappings mirror the reference registry


def test_secret_mapping_covers_the_reference_paths() -> None:
    assert list(SECRET_SPECS) == [item["path"] for item in REFERENCE["auto_generated"]]


def test_derived_mapping_covers_the_reference_paths() -> None:
    assert list(DERIVED_RULES) == [item["path"] for item in REFERENCE["derived"]]


# ---------------------------------------------------------------------------------------------
# A. Generated secrets


def test_development_generates_every_missing_secret_with_the_documented_lengths() -> None:
    doc, generated = resolve_secrets({}, SECRET_SPECS, environment="development", environ={})

    jwt = doc["security"]["secrets"]["jwt_secret"]
    hmac = doc["security"]["secrets"]["hmac_secret"]
    cookies = doc["security"]["secrets"]["cookie_secrets"]
    salt = doc["oidc"]["secrets"]["pairwise_salt"]
    assert HEX_128.fullmatch(jwt)
    assert HEX_128.fullmatch(hmac)
    assert isinstance(cookies, list)
    assert len(cookies) == 2
    assert all(HEX_128.fullmatch(value) for value in cookies)
    assert cookies[0] != cookies[1]
    assert HEX_64.fullmatch(salt)
    assert len({jwt, hmac, *cookies}) == 4
    assert generated == (
        "security.secrets.jwt_secret",
        "security.secrets.cookie_secrets",
        "security.secrets.hmac_secret",
        "oidc.secrets.pairwise_salt",
    )


def test_generation_uses_the_injected_generator_with_byte_counts() -> None:
    asked: list[int] = []

    def token_hex(nbytes: int) -> str:
        asked.append(nbytes)
        return "ab" * nbytes

    doc, _ = resolve_secrets(
        {}, SECRET_SPECS, environment="development", environ={}, token_hex=token_hex
    )

    assert asked == [64, 64, 64, 64, 32]
    assert doc["oidc"]["secrets"]["pairwise_salt"] == "ab" * 32


def test_none_absent_and_empty_list_are_missing() -> None:
    source = {
        "security": {"secrets": {"jwt_secret": None, "cookie_secrets": []}},
        "oidc": {"secrets": {}},
    }

    doc, generated = resolve_secrets(
        source,
        SECRET_SPECS,
        environment="development",
        environ={},
        token_hex=counting_token_hex(),
    )

    assert doc == {
        "security": {
            "secrets": {
                "jwt_secret": pad(1, 128),
                "cookie_secrets": [pad(2, 128), pad(3, 128)],
                "hmac_secret": pad(4, 128),
            }
        },
        "oidc": {"secrets": {"pairwise_salt": pad(5, 64)}},
    }
    assert len(generated) == 4


def test_empty_string_is_kept_not_regenerated() -> None:
    source = {
        "security": {"secrets": {"jwt_secret": "", "cookie_secrets": "", "hmac_secret": "h" * 40}},
        "oidc": {"secrets": {"pairwise_salt": ""}},
    }

    doc, generated = resolve_secrets(
        source, SECRET_SPECS, environment="development", environ={"JWT_SECRET": "e" * 40}
    )

    assert doc == source
    assert generated == ()
    assert EMPTY_SECRET_MESSAGE == "Secret is an empty string; delete the field to regenerate it"


def test_present_values_are_untouched_and_input_not_mutated() -> None:
    source = {
        "security": {
            "secrets": {
                "jwt_secret": "j" * 40,
                "cookie_secrets": ["c" * 40],
                "hmac_secret": "h" * 40,
            }
        },
        "oidc": {"secrets": {"pairwise_salt": "salt"}},
    }
    before = copy.deepcopy(source)

    doc, generated = resolve_secrets(
        source, SECRET_SPECS, environment="production", environ={"JWT_SECRET": "env" * 20}
    )

    assert doc == before
    assert source == before
    assert doc is not source
    assert generated == ()


def test_environment_values_fill_missing_secrets_and_do_not_count_as_generated() -> None:
    environ = {
        "JWT_SECRET": "jwt-from-env",
        "COOKIE_SECRET_1": "cookie-one",
        "COOKIE_SECRET_2": "cookie-two",
        "HMAC_SECRET": "hmac-from-env",
        "PAIRWISE_SALT": "salt-from-env",
    }

    doc, generated = resolve_secrets({}, SECRET_SPECS, environment="production", environ=environ)

    assert doc == {
        "security": {
            "secrets": {
                "jwt_secret": "jwt-from-env",
                "cookie_secrets": ["cookie-one", "cookie-two"],
                "hmac_secret": "hmac-from-env",
            }
        },
        "oidc": {"secrets": {"pairwise_salt": "salt-from-env"}},
    }
    assert generated == ()


def test_one_cookie_variable_set_in_development_generates_the_other() -> None:
    doc, generated = resolve_secrets(
        {},
        {"security.secrets.cookie_secrets": COOKIE_SECRETS},
        environment="development",
        environ={"COOKIE_SECRET_1": "cookie-one", "COOKIE_SECRET_2": ""},
        token_hex=counting_token_hex(),
    )

    assert doc["security"]["secrets"]["cookie_secrets"] == ["cookie-one", pad(1, 128)]
    assert generated == ("security.secrets.cookie_secrets",)


def test_empty_environment_variable_counts_as_unset() -> None:
    doc, generated = resolve_secrets(
        {},
        {"security.secrets.jwt_secret": JWT_SECRET},
        environment="development",
        environ={"JWT_SECRET": ""},
        token_hex=counting_token_hex(),
    )

    assert doc["security"]["secrets"]["jwt_secret"] == pad(1, 128)
    assert generated == ("security.secrets.jwt_secret",)


@pytest.mark.parametrize("environment", ["production", "staging"])
def test_outside_development_every_missing_secret_is_fatal(environment: str) -> None:
    with pytest.raises(MissingSecretError) as caught:
        resolve_secrets({}, SECRET_SPECS, environment=environment, environ={"JWT_SECRET": ""})

    suffix = "must be explicitly configured in production. Generate one with: openssl rand -hex 32"
    expected = (
        f"[FATAL] JWT_SECRET is not set. JWT signing secret {suffix}",
        f"[FATAL] COOKIE_SECRET_1 is not set. Cookie encryption secret 1 {suffix}",
        f"[FATAL] COOKIE_SECRET_2 is not set. Cookie encryption secret 2 {suffix}",
        f"[FATAL] HMAC_SECRET is not set. HMAC signing secret {suffix}",
        f"[FATAL] PAIRWISE_SALT is not set. OIDC pairwise subject salt {suffix}",
    )
    assert caught.value.messages == expected
    assert str(caught.value) == "\n".join(expected)
    assert isinstance(caught.value, ConfigError)


def test_production_lists_only_the_secrets_that_are_actually_missing() -> None:
    source = {"security": {"secrets": {"jwt_secret": "j" * 40, "hmac_secret": "h" * 40}}}

    with pytest.raises(MissingSecretError) as caught:
        resolve_secrets(
            source,
            SECRET_SPECS,
            environment="production",
            environ={"COOKIE_SECRET_1": "cookie-one", "PAIRWISE_SALT": "salt"},
        )

    assert caught.value.messages == (
        "[FATAL] COOKIE_SECRET_2 is not set. Cookie encryption secret 2 must be explicitly "
        "configured in production. Generate one with: openssl rand -hex 32",
    )


def test_secret_spec_rejects_inconsistent_shapes() -> None:
    with pytest.raises(ValueError, match="exactly one label"):
        GeneratedSecret(("A", "B"), ("only one",), 128, is_list=True)
    with pytest.raises(ValueError, match="exactly one environment variable"):
        GeneratedSecret(("A", "B"), ("a", "b"), 128)
    with pytest.raises(ValueError, match="positive even"):
        GeneratedSecret(("A",), ("a",), 63)


# ---------------------------------------------------------------------------------------------
# B. Derived fields


def platform_doc(url: str | None = "https://parako.id", **extra: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {"branding": {"companyName": "Acme Corp"}, "oidc": {"path": "/oidc/v1"}}
    if url is not None:
        doc["deployment"] = {"url": url}
    doc.update(extra)
    return doc


def derive(doc: dict[str, Any], tenant: TenantRef | None = None) -> dict[str, Any]:
    return apply_derived(doc, DERIVED_RULES, DerivationContext.from_document(doc, tenant))


def test_context_reads_the_document_with_fallbacks() -> None:
    ctx = DerivationContext.from_document(
        {"deployment": {"url": "https://parako.id//"}, "oidc": {"path": ""}, "branding": {}}
    )

    assert ctx == DerivationContext(
        deployment_url="https://parako.id",
        oidc_path="/oidc/v1",
        company_name="Parako.ID",
        tenant_id=None,
        tenant_domain=None,
        base_url="https://parako.id",
    )


def test_context_for_a_tenant() -> None:
    doc = platform_doc("https://parako.id:8443/")

    ctx = DerivationContext.from_document(doc, TenantRef("acme", "auth.acme.com"))

    assert ctx.tenant_id == "acme"
    assert ctx.tenant_domain == "auth.acme.com"
    assert ctx.base_url == "https://auth.acme.com"
    assert ctx.company_name == "Acme Corp"


def test_default_tenant_is_the_platform_context() -> None:
    ctx = DerivationContext.from_document(platform_doc(), TenantRef("default", "auth.acme.com"))

    assert ctx.tenant_id is None
    assert ctx.tenant_domain is None
    assert ctx.base_url == "https://parako.id"


def test_every_derived_field_on_an_empty_platform_config() -> None:
    doc = derive(platform_doc("https://auth.example.com:8443/"))

    assert doc["oidc"]["issuer"] == "https://auth.example.com:8443/oidc/v1"
    assert doc["oidc"]["discovery"] == {
        "op_policy_uri": "https://auth.example.com:8443/privacy",
        "op_tos_uri": "https://auth.example.com:8443/terms",
        "service_documentation": "https://auth.example.com:8443/docs",
    }
    assert doc["integrations"]["urls"] == {
        "website": "https://auth.example.com:8443",
        "privacy_policy": "https://auth.example.com:8443/privacy",
        "terms_of_service": "https://auth.example.com:8443/terms",
        "contact": "https://auth.example.com:8443/contact",
    }
    assert get(doc, f"{MFA}.totp.issuer_name") == "Acme Corp"
    assert get(doc, f"{MFA}.webauthn.rp_name") == "Acme Corp"
    assert get(doc, f"{MFA}.webauthn.rp_id") == "auth.example.com"


def test_issuer_names_and_rp_id_are_overwritten_urls_only_filled_when_empty() -> None:
    source = platform_doc(
        "https://parako.id",
        oidc={
            "path": "/auth/oidc",
            "issuer": "https://old.example.com/oidc/v1",
            "discovery": {
                "op_policy_uri": "https://legal.example.com/privacy",
                "op_tos_uri": "",
                "service_documentation": None,
            },
        },
        integrations={"urls": {"website": "https://www.acme.com", "contact": ""}},
        security={
            "authentication": {
                "multi_factor": {
                    "totp": {"issuer_name": "Something Else"},
                    "webauthn": {"rp_name": "OIDC Provider", "rp_id": "other.example.org"},
                }
            }
        },
    )
    before = copy.deepcopy(source)

    doc = derive(source)

    assert source == before
    assert doc["oidc"]["issuer"] == "https://parako.id/auth/oidc"
    assert doc["oidc"]["discovery"] == {
        "op_policy_uri": "https://legal.example.com/privacy",
        "op_tos_uri": "https://parako.id/terms",
        "service_documentation": "https://parako.id/docs",
    }
    assert doc["integrations"]["urls"] == {
        "website": "https://www.acme.com",
        "contact": "https://parako.id/contact",
        "privacy_policy": "https://parako.id/privacy",
        "terms_of_service": "https://parako.id/terms",
    }
    assert get(doc, f"{MFA}.totp.issuer_name") == "Acme Corp"
    assert get(doc, f"{MFA}.webauthn.rp_name") == "Acme Corp"
    assert get(doc, f"{MFA}.webauthn.rp_id") == "parako.id"


def test_without_deployment_url_only_the_names_are_derived() -> None:
    doc = derive({"branding": {"companyName": ""}, "oidc": {"issuer": "https://kept.example"}})

    assert doc == {
        "branding": {"companyName": ""},
        "oidc": {"issuer": "https://kept.example"},
        "security": {
            "authentication": {
                "multi_factor": {
                    "totp": {"issuer_name": "Parako.ID"},
                    "webauthn": {"rp_name": "Parako.ID"},
                }
            }
        },
    }


def test_apply_derived_accepts_plain_functions_as_rules() -> None:
    def shout(ctx: DerivationContext, current: Any) -> Any:
        return ctx.company_name.upper()

    doc = apply_derived({"a": {"b": 1}}, {"a.c": shout}, DerivationContext("", company_name="x"))

    assert doc == {"a": {"b": 1, "c": "X"}}


def test_apply_derived_refuses_to_overwrite_a_non_object_parent() -> None:
    with pytest.raises(ValidationFailed) as caught:
        derive(platform_doc(integrations="oops"))

    assert [issue.path for issue in caught.value.issues] == ["integrations"]


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("https://auth.example.com:8443/path", "auth.example.com"),
        ("http://localhost:9007", "localhost"),
        ("https://Parako.ID", "parako.id"),
        ("http://host:notaport", "localhost"),
        ("no scheme at all", "localhost"),
    ],
)
def test_hostname_of(url: str, host: str) -> None:
    assert hostname_of(url) == host


@pytest.mark.parametrize(
    ("platform", "tenant", "domain", "expected"),
    [
        ("https://parako.id", "acme", None, "https://acme.parako.id"),
        ("https://parako.id:8443", "acme", None, "https://acme.parako.id:8443"),
        ("http://localhost:9007", "acme", None, "http://acme.localhost:9007"),
        ("http://parako.id/", "acme", None, "http://acme.parako.id"),
        ("https://parako.id/base/", "acme", None, "https://acme.parako.id/base"),
        ("https://parako.id:8443", "acme", "auth.acme.com", "https://auth.acme.com"),
        ("http://localhost:9007", "acme", "auth.acme.com", "http://auth.acme.com"),
        ("https://parako.id", "default", "auth.acme.com", "https://parako.id"),
        ("https://parako.id/", None, None, "https://parako.id"),
    ],
)
def test_tenant_base_url(
    platform: str, tenant: str | None, domain: str | None, expected: str
) -> None:
    assert tenant_base_url(platform, tenant, domain) == expected


@pytest.mark.parametrize(
    ("platform", "path", "tenant", "issuer"), REFERENCE["tenant_base_url"]["examples"]
)
def test_tenant_issuer_reference_examples(
    platform: str, path: str, tenant: str, issuer: str
) -> None:
    doc = derive({"deployment": {"url": platform}, "oidc": {"path": path}}, TenantRef(tenant))

    assert doc["oidc"]["issuer"] == issuer


def test_subdomain_tenant_urls_keep_the_port_and_rp_id_is_the_platform_host() -> None:
    doc = derive(platform_doc("https://parako.id:8443"), TenantRef("acme"))

    assert doc["oidc"]["issuer"] == "https://acme.parako.id:8443/oidc/v1"
    assert doc["oidc"]["discovery"]["op_policy_uri"] == "https://acme.parako.id:8443/privacy"
    assert doc["integrations"]["urls"]["website"] == "https://acme.parako.id:8443"
    assert get(doc, f"{MFA}.webauthn.rp_id") == "parako.id"


def test_custom_domain_tenant_uses_its_domain_for_urls_and_rp_id() -> None:
    doc = derive(platform_doc("https://parako.id:8443"), TenantRef("acme", "auth.acme.com"))

    assert doc["oidc"]["issuer"] == "https://auth.acme.com/oidc/v1"
    assert doc["oidc"]["discovery"] == {
        "op_policy_uri": "https://auth.acme.com/privacy",
        "op_tos_uri": "https://auth.acme.com/terms",
        "service_documentation": "https://auth.acme.com/docs",
    }
    assert doc["integrations"]["urls"]["contact"] == "https://auth.acme.com/contact"
    assert get(doc, f"{MFA}.webauthn.rp_id") == "auth.acme.com"


def test_default_tenant_derives_platform_values() -> None:
    doc = derive(platform_doc("https://parako.id:8443"), TenantRef("default", "auth.acme.com"))

    assert doc["oidc"]["issuer"] == "https://parako.id:8443/oidc/v1"
    assert get(doc, f"{MFA}.webauthn.rp_id") == "parako.id"


# ---------------------------------------------------------------------------------------------
# C. Storage sections from bootstrap


def test_storage_defaults_to_sqlite_without_sub_objects() -> None:
    assert compute_storage() == {"adapter": "sqlite"}


def test_storage_includes_only_configured_sub_objects() -> None:
    assert compute_storage("sqlite", sqlite_path="./runtime/data/parako.db") == {
        "adapter": "sqlite",
        "sqlite": {"path": "./runtime/data/parako.db"},
    }
    assert compute_storage("mongodb", mongodb_uri="mongodb://db:27017/idp") == {
        "adapter": "mongodb",
        "mongodb": {"uri": "mongodb://db:27017/idp"},
    }
    assert compute_storage(
        "postgresql",
        postgresql_url="postgresql://pg/idp",
        mongodb_uri="mongodb://db:27017/idp",
        sqlite_path="/data/p.db",
    ) == {
        "adapter": "postgresql",
        "mongodb": {"uri": "mongodb://db:27017/idp"},
        "sqlite": {"path": "/data/p.db"},
        "postgresql": {"url": "postgresql://pg/idp"},
    }


def test_oidc_storage_defaults_follow_the_storage_adapter() -> None:
    assert compute_oidc_storage("postgresql") == {
        "oidc_adapter": {
            "type": "postgresql",
            "mongodb": {"uri": "mongodb://localhost:27017", "database": "parako-id-dev"},
            "redis": {"host": "localhost", "port": 6379, "database": 0},
        }
    }


def test_oidc_storage_with_redis_adapter_and_all_variables() -> None:
    section = compute_oidc_storage(
        "mongodb",
        oidc_adapter="redis",
        mongodb_uri="mongodb://mongo.internal:27017/parako%20tenant?replicaSet=rs0",
        redis_host="redis.internal",
        redis_port=6380,
        redis_password="s3cret",
        redis_database=3,
    )

    assert section == {
        "oidc_adapter": {
            "type": "redis",
            "mongodb": {
                "uri": "mongodb://mongo.internal:27017/parako%20tenant?replicaSet=rs0",
                "database": "parako tenant",
            },
            "redis": {"host": "redis.internal", "port": 6380, "password": "s3cret", "database": 3},
        }
    }
    assert list(section["oidc_adapter"]["redis"]) == ["host", "port", "password", "database"]


@pytest.mark.parametrize(
    ("uri", "database"),
    [
        ("mongodb://localhost:27017/parako", "parako"),
        ("mongodb+srv://user:p%40ss@cluster.example.net/idp?retryWrites=true", "idp"),
        ("mongodb://a:27017,b:27017,c:27017/replicated?replicaSet=rs0", "replicated"),
        ("mongodb://localhost:27017", "parako-id-dev"),
        ("mongodb://localhost:27017/?replicaSet=rs0", "parako-id-dev"),
        ("not a uri", "parako-id-dev"),
        ("", "parako-id-dev"),
    ],
)
def test_mongodb_database(uri: str, database: str) -> None:
    assert mongodb_database(uri) == database
