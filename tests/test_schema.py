"""The configuration schema: its defaults, the messages a user reads, and lossless round trips."""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Callable, Mapping
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from adapters.sources.bootstrap import read_bootstrap
from adapters.sources.env_files import EnvLayers
from eventstore.docpath import delete_path, get_path, set_path
from eventstore.errors import ValidationFailed
from eventstore.resolve import default_document
from eventstore.schema import AppConfig, structure, unstructure
from eventstore.schema.declare import Declared
from eventstore.schema.kinds import (
    AssetLocation,
    Boolean,
    Choice,
    EmailAddress,
    HttpUrlOrEmpty,
    Integer,
    Kind,
    ListOf,
    MapOf,
    Sensitive,
    Text,
    UrlOrEmpty,
)
from eventstore.schema.paths import RUNTIME_ONLY_SECTIONS, walk
from eventstore.secret import Secret

Doc = dict[str, Any]
Load = Callable[[str], Any]


def issues_of(doc: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Every (path, message) the schema reports for ``doc``; [] when it is valid."""
    try:
        structure(AppConfig, doc)
    except ValidationFailed as failed:
        return [(i.path, i.message) for i in failed.issues]
    return []


def changed(doc: Doc, changes: Mapping[str, Any]) -> Doc:
    for path, value in changes.items():
        doc = set_path(doc, path, value)
    return doc


# --------------------------------------------------------------------------------------------
# Defaults


def test_default_document_is_the_reference_defaults_except_documented_differences(
    reference: Load,
) -> None:
    expected = reference("defaults.json")
    # D2 and docs/decisions.md X1: the documented default URL, not the reference's example.com.
    expected["deployment"]["url"] = "http://localhost:9007"
    # D2: the two bootstrap settings are declared where they live, with the documented defaults
    # (the reference had them only in its bootstrap schema, without defaults: X20).
    expected["deployment"]["environment"] = "development"
    expected["deployment"]["server"]["port"] = 9007
    # Runtime-only section computed from STORAGE_* (never persisted); the reference kept it
    # outside its default object (X20). Unset locations are absent, the SQLite path has its default.
    expected["storage"] = {
        "adapter": "sqlite",
        "mongodb": {},
        "sqlite": {"path": "./runtime/data/parako.db"},
        "postgresql": {},
    }
    # Placeholders: empty so that the derived-field rules fill them from deployment.url (D6);
    # the reference baked https://example.com into them (X4).
    expected["oidc"]["issuer"] = ""
    for key in ("website", "privacy_policy", "terms_of_service", "contact"):
        expected["integrations"]["urls"][key] = ""
    # Optional without a default: absent rather than null (the generator fills it either way).
    assert expected["security"]["secrets"].pop("hmac_secret") is None

    assert default_document() == expected


def test_default_document_leaves_the_required_secrets_to_be_generated() -> None:
    doc = default_document()
    assert doc["security"]["secrets"]["jwt_secret"] is None
    assert doc["security"]["secrets"]["cookie_secrets"] is None
    assert doc["oidc"]["secrets"]["pairwise_salt"] is None
    assert "hmac_secret" not in doc["security"]["secrets"]


def test_defaults_with_secrets_filled_validate_unchanged(valid_doc: Doc) -> None:
    config = structure(AppConfig, valid_doc)
    assert unstructure(config, reveal=True) == valid_doc
    assert config.deployment.url == "http://localhost:9007"
    assert config.oidc.issuer == "http://localhost:9007/oidc/v1"


def test_reference_defaults_with_secrets_substituted_validate(reference: Load) -> None:
    doc = reference("defaults.json")
    doc["security"]["secrets"].update(jwt_secret="j" * 32, cookie_secrets=["c" * 32, "d" * 32])
    doc["oidc"]["secrets"]["pairwise_salt"] = "salt"
    config = structure(AppConfig, doc)
    assert config.deployment.url == "https://example.com"
    assert config.security.secrets.hmac_secret is None


def test_raw_defaults_need_generated_secrets_and_derived_urls() -> None:
    assert issues_of(default_document()) == [
        ("security.secrets.jwt_secret", "Invalid input: expected string, received null"),
        ("security.secrets.cookie_secrets", "Invalid input: expected array, received null"),
        ("oidc.issuer", "OIDC issuer must be a valid URL"),
        ("oidc.secrets.pairwise_salt", "Invalid input: expected string, received null"),
        ("integrations.urls.website", "Website URL must be valid"),
        ("integrations.urls.privacy_policy", "Privacy policy URL must be valid"),
        ("integrations.urls.terms_of_service", "Terms of service URL must be valid"),
        ("integrations.urls.contact", "Contact URL must be valid"),
    ]


# --------------------------------------------------------------------------------------------
# Messages: the reference's custom messages and its generic wording, verbatim (D18)

JWT = "security.secrets.jwt_secret"
COOKIES = "security.secrets.cookie_secrets"
HMAC = "security.secrets.hmac_secret"
SALT = "oidc.secrets.pairwise_salt"
POLICY_URI = "oidc.discovery.op_policy_uri"
OIDC_FEATURES = "features.oidc"
SOCIAL = "features.social_providers"

MESSAGE_CASES: list[tuple[str, dict[str, Any], list[tuple[str, str]]]] = [
    (
        "short jwt secret",
        {JWT: "x" * 10},
        [(JWT, "JWT secret should be at least 32 characters for security")],
    ),
    ("jwt secret of exactly 32 is enough", {JWT: "x" * 32}, []),
    (
        "short cookie secret",
        {COOKIES: ["x" * 40, "short"]},
        [(f"{COOKIES}[1]", "Cookie secret should be at least 32 characters for security")],
    ),
    ("no cookie secret", {COOKIES: []}, [(COOKIES, "At least one cookie secret is required")]),
    (
        "short hmac secret",
        {HMAC: "x" * 31},
        [(HMAC, "HMAC secret should be at least 32 characters for security")],
    ),
    (
        "route without slash",
        {"deployment.routes.auth_routes.login": "login"},
        [("deployment.routes.auth_routes.login", 'Invalid string: must start with "/"')],
    ),
    (
        "route too short",
        {"deployment.routes.auth": "/"},
        [("deployment.routes.auth", "Too small: expected string to have >=2 characters")],
    ),
    (
        "bad hex colour",
        {"branding.colors.light.primary": "#zzz"},
        [("branding.colors.light.primary", "Invalid hex color")],
    ),
    (
        # JavaScript's $ is end of input; a trailing newline is not a colour.
        "hex colour with trailing newline",
        {"branding.colors.dark.primary": "#fff\n"},
        [("branding.colors.dark.primary", "Invalid hex color")],
    ),
    ("short hex colour is fine", {"branding.colors.dark.primary": "#FfF"}, []),
    (
        "redis prefix with a space",
        {"deployment.redis_prefix": "a b"},
        [
            (
                "deployment.redis_prefix",
                "Redis prefix must contain only alphanumeric characters, hyphens, and underscores",
            )
        ],
    ),
    (
        "redis prefix with a trailing newline",
        {"deployment.redis_prefix": "parako\n"},
        [
            (
                "deployment.redis_prefix",
                "Redis prefix must contain only alphanumeric characters, hyphens, and underscores",
            )
        ],
    ),
    (
        "default locale not available",
        {"application.locales.default": "xx"},
        [("application.locales.default", "Default locale must be included in available locales")],
    ),
    (
        "no locale available",
        {"application.locales.available": []},
        [("application.locales.available", "At least one locale must be available")],
    ),
    (
        "deployment url not a url",
        {"deployment.url": "not a url"},
        [("deployment.url", "Application URL must be a valid URL")],
    ),
    (
        "same-site enum",
        {"deployment.cookies.defaults.sameSite": "Strict"},
        [
            (
                "deployment.cookies.defaults.sameSite",
                'Invalid option: expected one of "strict"|"lax"|"none"',
            )
        ],
    ),
    (
        "string where a number goes",
        {"deployment.server.port": "9007"},
        [("deployment.server.port", "Invalid input: expected number, received string")],
    ),
    (
        "number where a string goes",
        {"application.title": 5},
        [("application.title", "Invalid input: expected string, received number")],
    ),
    (
        "string where a boolean goes",
        {"features.metrics.enabled": "yes"},
        [("features.metrics.enabled", "Invalid input: expected boolean, received string")],
    ),
    (
        "string where an array goes",
        {"application.locales.available": "en"},
        [("application.locales.available", "Invalid input: expected array, received string")],
    ),
    (
        "null where an object goes",
        {"branding.colors": None},
        [("branding.colors", "Invalid input: expected object, received null")],
    ),
    (
        "fraction where an integer goes",
        {"security.authentication.multi_factor.webauthn.max_credentials_per_user": 2.5},
        [
            (
                "security.authentication.multi_factor.webauthn.max_credentials_per_user",
                "Invalid input: expected int, received number",
            )
        ],
    ),
    (
        # the schema's own message replaces the generic one for the integer check too
        "fractional ttl",
        {"oidc.token_ttl.access_token": 1.5},
        [("oidc.token_ttl.access_token", "Access token TTL must be a positive integer")],
    ),
    (
        "negative ttl",
        {"oidc.token_ttl.refresh_token": -1},
        [("oidc.token_ttl.refresh_token", "Refresh token TTL must be a positive integer")],
    ),
    (
        "port zero",
        {"deployment.server.port": 0},
        [("deployment.server.port", "Port must be a positive integer")],
    ),
    (
        "unknown key in a section",
        {"branding.compnyName": "Acme"},
        [("branding.compnyName", "Unknown setting (not part of the schema)")],
    ),
    (
        "unknown top-level section",
        {"brnding": {}},
        [("brnding", "Unknown setting (not part of the schema)")],
    ),
    (
        "op policy uri with ftp",
        {POLICY_URI: "ftp://x"},
        [(POLICY_URI, "OP policy URI must use HTTP or HTTPS")],
    ),
    (
        "op policy uri not a url",
        {POLICY_URI: "not-a-url"},
        [
            (POLICY_URI, "OP policy URI must be a valid URL"),
            (POLICY_URI, "OP policy URI must use HTTP or HTTPS"),
        ],
    ),
    ("op policy uri may be empty", {POLICY_URI: ""}, []),
    (
        "jwt introspection without introspection",
        {
            f"{OIDC_FEATURES}.jwt_introspection.enabled": True,
            f"{OIDC_FEATURES}.token_introspection.enabled": False,
        },
        [
            (
                f"{OIDC_FEATURES}.jwt_introspection.enabled",
                "JWT introspection requires the token introspection endpoint to be enabled",
            )
        ],
    ),
    (
        "jwt userinfo without userinfo",
        {
            f"{OIDC_FEATURES}.jwt_userinfo.enabled": True,
            f"{OIDC_FEATURES}.userinfo_endpoint.enabled": False,
        },
        [
            (
                f"{OIDC_FEATURES}.jwt_userinfo.enabled",
                "JWT UserInfo requires the UserInfo endpoint to be enabled",
            )
        ],
    ),
    (
        "registration management without dynamic registration",
        {
            f"{OIDC_FEATURES}.client_registration_management.enabled": True,
            f"{OIDC_FEATURES}.dynamic_client_registration.enabled": False,
        },
        [
            (
                f"{OIDC_FEATURES}.client_registration_management.enabled",
                "Client registration management requires dynamic client registration to be enabled",
            )
        ],
    ),
    (
        "social provider enabled without credentials",
        {f"{SOCIAL}.enabled": ["google"]},
        [
            (
                f"{SOCIAL}.google.client_id",
                "Enabled social provider google requires a usable client_id",
            )
        ],
    ),
    (
        "social provider enabled with a placeholder secret",
        {
            f"{SOCIAL}.enabled": ["github"],
            f"{SOCIAL}.github.client_id": "Iv1.abc",
            f"{SOCIAL}.github.client_secret": "your-github-client-secret",
        },
        [
            (
                f"{SOCIAL}.github.client_secret",
                "Enabled social provider github requires a usable client_secret",
            )
        ],
    ),
    (
        "social provider enabled with credentials",
        {
            f"{SOCIAL}.enabled": ["github"],
            f"{SOCIAL}.github.client_id": "Iv1.abc",
            f"{SOCIAL}.github.client_secret": "s3cr3t",
        },
        [],
    ),
]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [pytest.param(c, e, id=name) for name, c, e in MESSAGE_CASES],
)
def test_validation_messages(
    valid_doc: Doc, changes: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    assert issues_of(changed(valid_doc, changes)) == expected


EMPTY_SECRET = "Secret is an empty string; delete the field to regenerate it"


@pytest.mark.parametrize("path", [JWT, HMAC, SALT])
def test_empty_string_secret_says_to_delete_the_field(valid_doc: Doc, path: str) -> None:
    assert issues_of(set_path(valid_doc, path, "")) == [(path, EMPTY_SECRET)]


def test_missing_deployment_url_takes_the_documented_default(valid_doc: Doc) -> None:
    config = structure(AppConfig, delete_path(valid_doc, "deployment.url"))
    assert config.deployment.url == "http://localhost:9007"


def test_several_errors_are_all_reported_at_once(valid_doc: Doc) -> None:
    doc = changed(
        valid_doc,
        {
            JWT: "short",
            "deployment.redis_prefix": "a b",
            "deployment.routes.auth_routes.login": "login",
            "branding.colors.light.primary": "#zzz",
            "branding.compnyName": "Acme",
            "oidc.token_ttl.access_token": 0,
            "application.title": "   ",
        },
    )
    with pytest.raises(ValidationFailed) as caught:
        structure(AppConfig, doc)
    issues = caught.value.issues
    assert len(issues) == 7
    assert {i.path for i in issues} == {
        JWT,
        "deployment.redis_prefix",
        "deployment.routes.auth_routes.login",
        "branding.colors.light.primary",
        "branding.compnyName",
        "oidc.token_ttl.access_token",
        "application.title",
    }
    text = str(caught.value)
    assert text.startswith("Invalid configuration:\n")
    assert "  application.title: Application title cannot be empty" in text
    assert "  oidc.token_ttl.access_token: Access token TTL must be a positive integer" in text


def test_port_zero_from_the_environment_is_not_a_positive_integer() -> None:
    layers = EnvLayers((("environment", {"DEPLOYMENT_SERVER_PORT": "0"}),))
    with pytest.raises(ValidationFailed) as caught:
        read_bootstrap(layers)
    assert [(i.path, i.message) for i in caught.value.issues] == [
        ("DEPLOYMENT_SERVER_PORT", "Port must be a positive integer")
    ]


def test_values_are_normalised_as_declared(valid_doc: Doc) -> None:
    doc = changed(
        valid_doc,
        {
            "application.title": "  Acme ID  ",
            "application.locales.available": [" en ", "fr", "en"],
            "security.authentication.session.bind_ip": "on",
        },
    )
    config = structure(AppConfig, doc)
    assert config.application.title == "Acme ID"
    assert config.application.locales.available == ("en", "fr")
    assert config.security.authentication.session.bind_ip is True


def test_secrets_are_masked_unless_revealed(valid_doc: Doc) -> None:
    config = structure(AppConfig, valid_doc)
    assert isinstance(config.security.secrets.jwt_secret, Secret)
    masked = unstructure(config)
    assert masked["security"]["secrets"]["jwt_secret"] == "•••••••"
    assert masked["security"]["secrets"]["cookie_secrets"] == ["•••••••", "•••••••"]
    assert unstructure(config, reveal=True)["security"]["secrets"]["jwt_secret"] == "j" * 40
    assert "j" * 40 not in repr(config)


# --------------------------------------------------------------------------------------------
# Round trip (Hypothesis)

URLS = st.sampled_from(["https://example.com", "http://localhost:9007/x", "https://a.b:8443/p?q=1"])


def values_for(kind: Kind | None, default: Any) -> st.SearchStrategy[Any]:
    """Values a user might write for a setting of ``kind``: mostly valid, some not."""
    keep: st.SearchStrategy[Any] = st.just(default)
    if isinstance(kind, Sensitive):
        return values_for(kind.inner, default)
    if isinstance(kind, Boolean):
        html = st.sampled_from(["on", "off", "TRUE", "", "1"]) if kind.html else st.nothing()
        return st.booleans() | html
    if isinstance(kind, Integer):
        low = kind.min if kind.min is not None else (kind.gt + 1 if kind.gt is not None else -5)
        high = kind.max if kind.max is not None else low + 10_000
        ints = st.integers(math.ceil(low), math.floor(high))
        if kind.whole:
            return ints
        return ints | st.floats(low, high, allow_nan=False, allow_infinity=False)
    if isinstance(kind, Choice):
        return st.sampled_from(kind.values)
    if isinstance(kind, ListOf):
        low = kind.min_items or 0
        high = max(kind.max_items if kind.max_items is not None else 4, low)
        return keep | st.lists(values_for(kind.item, None), min_size=low, max_size=high)
    if isinstance(kind, MapOf):
        return keep | st.dictionaries(
            st.from_regex(r"\A[a-z_]{1,8}\Z"), values_for(kind.value, None), max_size=3
        )
    if isinstance(kind, HttpUrlOrEmpty):
        return st.just("") | URLS
    if isinstance(kind, UrlOrEmpty):
        return st.just("") | URLS
    if isinstance(kind, EmailAddress):
        return st.sampled_from(["a@b.co", "Acme <no-reply@acme.example>"])
    if isinstance(kind, AssetLocation):
        return st.sampled_from(["/images/x.png", "default/logos/x.svg", "https://cdn.example/x"])
    if isinstance(kind, Text):
        if kind.url:
            return URLS
        if kind.patterns or kind.starts_with is not None or kind.length is not None:
            return keep
        low = kind.min_length or 0
        padding = st.sampled_from(["", " ", "\t"]) if kind.trim else st.just("")
        core = st.text(
            # no surrogates (not UTF-8), no spaces or controls (kept apart from the padding)
            st.characters(codec="utf-8", exclude_categories=["Cs", "Zs", "Cc"]),
            min_size=low,
            max_size=max(low, kind.max_length or low + 12),
        )
        return st.builds(lambda pad, text: f"{pad}{text}{pad}", padding, core)
    return keep


LEAVES: list[tuple[str, Declared]] = [
    (path, declared)
    for path, declared in walk()
    if declared.info.nested is None and path.split(".")[0] not in RUNTIME_ONLY_SECTIONS
]


@st.composite
def edited_documents(draw: st.DrawFn, base: Doc) -> Doc:
    """The valid document with a few settings given values drawn from their kind."""
    doc = copy.deepcopy(base)
    for path, declared in draw(st.lists(st.sampled_from(LEAVES), min_size=1, max_size=6)):
        current = get_path(doc, path, None)
        options = values_for(declared.info.kind, current)
        if declared.info.nullable:
            options = options | st.none()
        doc = set_path(doc, path, draw(options))
    return doc


def _base_document() -> Doc:
    doc = default_document()
    doc["security"]["secrets"].update(
        jwt_secret="j" * 40, cookie_secrets=["c" * 40, "d" * 40], hmac_secret="h" * 40
    )
    doc["oidc"]["secrets"]["pairwise_salt"] = "salt"
    doc["oidc"]["issuer"] = "http://localhost:9007/oidc/v1"
    for key in ("website", "privacy_policy", "terms_of_service", "contact"):
        doc["integrations"]["urls"][key] = "http://localhost:9007"
    return doc


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(edited_documents(_base_document()))
def test_unstructured_documents_round_trip(doc: Doc) -> None:
    try:
        config = structure(AppConfig, doc)
    except ValidationFailed:
        assume(False)
        raise
    out = unstructure(config, reveal=True)
    assert json.loads(json.dumps(out)) == out  # plain JSON, storable as is
    again = structure(AppConfig, out)
    assert again == config
    assert unstructure(again, reveal=True) == out
