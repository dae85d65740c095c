"""Bad input through the Management API: each attack gets a 4xx with the error shape, names what
and where, and nothing is written."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.api_support import RunningApi, serving

from eventstore.commands import Author
from eventstore.errors import ValidationFailed
from eventstore.shape import PROTOTYPE_KEYS, shape_issues
from eventstore.tokens import READ, TENANT_READ, TENANT_WRITE, WRITE

JSON = {"content-type": "application/json"}


def writer(api: RunningApi) -> httpx.Client:
    return api.client(api.token("attacker", READ, WRITE))


def send(client: httpx.Client, method: str, path: str, body: str) -> httpx.Response:
    return client.request(method, path, content=body, headers=JSON)


def refused(response: httpx.Response, status: int = 422) -> list[dict[str, Any]]:
    """The error's details, once the answer is ``status`` with the one error shape."""
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"code", "message", "details"}
    return list(error["details"] or [])


def version_of(client: httpx.Client) -> str:
    return str(client.get("/config").headers["etag"])


# --- shapes the schema cannot hold ------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("PATCH", "/config", '{"branding":' + '{"a":' * 1200 + "1" + "}" * 1201),
        ("PUT", "/config/branding", '{"a":' * 1500 + "1" + "}" * 1500),
        ("POST", "/config/import", '{"a":' * 1500 + "1" + "}" * 1500),
        ("PATCH", "/config", '{"features":{"oidc":{"claims":' + "[" * 5000 + "]" * 5000 + "}}}"),
    ],
)
def test_a_body_nested_thousands_deep_is_400(
    api: RunningApi, method: str, path: str, body: str
) -> None:
    client = writer(api)
    before = version_of(client)
    refused(send(client, method, path, body), 400)
    assert version_of(client) == before


def test_an_audit_cursor_nested_thousands_deep_is_400(api: RunningApi) -> None:
    response = writer(api).get("/config/audit", params={"cursor": "[" * 5000})
    refused(response, 400)


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"deployment": "x"}, "deployment"),
        ({"features": 5}, "features"),
        ({"features": {"oidc": []}}, "features.oidc"),
        ({"security": {"authentication": []}}, "security.authentication"),
    ],
)
def test_a_section_given_a_scalar_is_422_naming_it(
    api: RunningApi, body: dict[str, Any], where: str
) -> None:
    client = writer(api)
    before = version_of(client)
    details = refused(send(client, "PATCH", "/config", json.dumps(body)))
    assert [d["path"] for d in details] == [where]
    assert version_of(client) == before


@pytest.mark.parametrize(
    ("key", "says"),
    [
        ("__proto__", "prototype"),
        ("constructor", "prototype"),
        ("prototype", "prototype"),
        ("a.b", "must not contain"),
        ("a[0]", "must not contain"),
        ("", "must not be empty"),
        ("a\u0000b", "control characters"),
        ("tab\there", "control characters"),
    ],
)
def test_a_key_javascript_or_the_log_cannot_hold_is_refused_in_a_free_form_map(
    api: RunningApi, key: str, says: str
) -> None:
    client = writer(api)
    before = version_of(client)
    body = {"features": {"oidc": {"claims": {key: ["email"]}}}}
    details = refused(send(client, "PATCH", "/config", json.dumps(body)))
    assert details[0]["path"] == "features.oidc.claims"
    assert says in details[0]["message"]
    assert version_of(client) == before


def test_a_nul_character_in_a_value_is_refused(api: RunningApi) -> None:
    client = writer(api)
    body = {"branding": {"companyName": "Acme\u0000 Inc"}}
    details = refused(send(client, "PATCH", "/config", json.dumps(body)))
    assert details == [
        {"path": "branding.companyName", "message": "text must not contain NUL characters"}
    ]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.dictionaries(
        st.text(max_size=6),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=6),
            lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
            max_leaves=8,
        ),
        max_size=4,
    )
)
def test_every_key_the_shape_check_passes_is_safe_for_a_javascript_reader(
    claims: dict[str, Any],
) -> None:
    issues = shape_issues({"features": {"oidc": {"claims": claims}}})

    def keys(value: Any) -> list[str]:
        if isinstance(value, dict):
            return [k for k, v in value.items() for k in (k, *keys(v))]
        if isinstance(value, list):
            return [k for item in value for k in keys(item)]
        return []

    def texts(value: Any) -> list[str]:
        if isinstance(value, dict):
            return [t for v in value.values() for t in texts(v)]
        if isinstance(value, list):
            return [t for item in value for t in texts(item)]
        return [value] if isinstance(value, str) else []

    unsafe = [
        k
        for k in keys(claims)
        if not k
        or k in PROTOTYPE_KEYS
        or any(c in k for c in ".[]")
        or any(ord(c) < 0x20 or c == "\x7f" for c in k)
    ]
    unsafe += [t for t in texts(claims) if "\x00" in t]
    assert bool(issues) == bool(unsafe), (issues, unsafe)


# --- computed fields ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body", "field", "follows"),
    [
        (
            "PATCH",
            "/config",
            {"oidc": {"issuer": "https://evil.example/oidc/v1"}},
            "oidc.issuer",
            "deployment.url and oidc.path",
        ),
        (
            "PUT",
            "/config/oidc",
            {"issuer": "https://evil.example/oidc/v1"},
            "oidc.issuer",
            "deployment.url and oidc.path",
        ),
        (
            "POST",
            "/config/import",
            {"security": {"authentication": {"multi_factor": {"totp": {"issuer_name": "Evil"}}}}},
            "security.authentication.multi_factor.totp.issuer_name",
            "branding.companyName",
        ),
        (
            "PATCH",
            "/config",
            {
                "security": {
                    "authentication": {"multi_factor": {"webauthn": {"rp_id": "evil.example"}}}
                }
            },
            "security.authentication.multi_factor.webauthn.rp_id",
            "deployment.url",
        ),
    ],
)
def test_a_write_to_an_always_computed_field_is_refused_naming_what_it_follows(
    api: RunningApi, method: str, path: str, body: dict[str, Any], field: str, follows: str
) -> None:
    client = writer(api)
    before = version_of(client)
    details = refused(send(client, method, path, json.dumps(body)))
    assert [d["path"] for d in details] == [field]
    assert follows in details[0]["message"]
    assert version_of(client) == before
    assert client.get("/config/diff", params={"from": "1.0.0"}).json()["data"]["changes"] == []


def test_sending_back_what_a_read_returned_writes_nothing(api: RunningApi) -> None:
    """The computed values a read shows are the ones in force: sending them back is no write."""
    client = writer(api)
    before = version_of(client)
    for section in ("oidc", "security"):
        shown = client.get(f"/config/{section}").json()["data"]
        response = send(client, "PUT", f"/config/{section}", json.dumps(shown))
        assert response.status_code == 200, response.text
        assert response.json()["data"]["appended"] is False
    assert version_of(client) == before


def test_changing_the_url_and_sending_the_issuer_it_makes_is_accepted(api: RunningApi) -> None:
    client = writer(api)
    body = {
        "deployment": {"url": "https://id.example.com"},
        "oidc": {"issuer": "https://id.example.com/oidc/v1"},
    }
    response = send(client, "PATCH", "/config", json.dumps(body))
    assert response.status_code == 200, response.text
    assert response.json()["data"]["changed"] == ["deployment.url"]
    assert client.get("/config/oidc").json()["data"]["issuer"] == "https://id.example.com/oidc/v1"


# --- settings that would stop the next start ------------------------------------------------


@pytest.mark.parametrize("path", ["/api/v1/health", "/api/v1", "/admin", "/admin/login/", "x"])
def test_a_metrics_path_the_service_cannot_mount_is_refused_at_save_time(
    api: RunningApi, path: str
) -> None:
    client = writer(api)
    before = version_of(client)
    body = {"features": {"metrics": {"enabled": True, "path": path}}}
    details = refused(send(client, "PATCH", "/config", json.dumps(body)))
    assert [d["path"] for d in details] == ["features.metrics.path"]
    assert version_of(client) == before


PRODUCTION = {
    "DEPLOYMENT_ENVIRONMENT": "production",
    "DEPLOYMENT_URL": "https://id.example.com",
    "JWT_SECRET": "j" * 64,
    "COOKIE_SECRET_1": "c" * 64,
    "COOKIE_SECRET_2": "d" * 64,
    "HMAC_SECRET": "h" * 64,
    "PAIRWISE_SALT": "p" * 32,
}


def test_a_null_secret_in_production_is_422_naming_the_path_and_the_variable(
    tmp_path: Path,
) -> None:
    """The secret is stored (not given by the environment): a null would leave it unset."""

    async def store_secret(service: Any) -> None:
        await service.save(
            {"security": {"secrets": {"jwt_secret": "s" * 64}}}, Author("ops", "store it")
        )

    with serving(tmp_path, PRODUCTION, prepare=store_secret):
        pass
    without_variable = {k: v for k, v in PRODUCTION.items() if k != "JWT_SECRET"}
    with serving(tmp_path, without_variable) as api:
        client = writer(api)
        before = version_of(client)
        body = {"security": {"secrets": {"jwt_secret": None}}}
        details = refused(send(client, "PATCH", "/config", json.dumps(body)))
        assert details[0]["path"] == "security.secrets.jwt_secret"
        assert "JWT_SECRET" in details[0]["message"]
        assert version_of(client) == before


def test_a_null_secret_is_refused_by_the_commands_too(tmp_path: Path) -> None:
    """The same refusal below the API, for every writer of the store."""

    async def store_secret(service: Any) -> None:
        await service.save(
            {"security": {"secrets": {"hmac_secret": "s" * 64}}}, Author("ops", "store it")
        )

    async def attempt(service: Any) -> None:
        with pytest.raises(ValidationFailed, match="HMAC_SECRET"):
            await service.save(
                {"security": {"secrets": {"hmac_secret": None}}}, Author("ops", "try")
            )

    with serving(tmp_path, PRODUCTION, prepare=store_secret):
        pass
    without_variable = {k: v for k, v in PRODUCTION.items() if k != "HMAC_SECRET"}
    with serving(tmp_path, without_variable) as api:
        api.run(attempt)


# --- tenants --------------------------------------------------------------------------------


def tenant_writer(api: RunningApi) -> httpx.Client:
    return api.client(api.token("tenant-admin", TENANT_READ, TENANT_WRITE))


@pytest.mark.parametrize(
    "email",
    [
        {"smtp_host": "mail.tenant-chose.example"},
        {"tls_reject_unauthorized": False},
        {"smtp_host": "mail.tenant-chose.example", "smtp_username": "own@tenant.example"},
    ],
)
def test_a_tenant_cannot_send_the_platforms_smtp_credentials_to_a_host_it_chose(
    tenant_api: RunningApi, email: dict[str, Any]
) -> None:
    client = tenant_writer(tenant_api)
    before = client.get("/tenants/acme/config").headers["etag"]
    body = json.dumps({"email": email})
    details = refused(send(client, "PUT", "/tenants/acme/config/integrations", body))
    assert {d["path"] for d in details} <= {
        "integrations.email.smtp_host",
        "integrations.email.tls_reject_unauthorized",
    }
    assert all("must supply its own" in d["message"] for d in details)
    assert client.get("/tenants/acme/config").headers["etag"] == before


def test_a_tenant_with_its_own_smtp_credentials_may_use_its_own_host(
    tenant_api: RunningApi,
) -> None:
    client = tenant_writer(tenant_api)
    email = {
        "smtp_host": "mail.tenant.example",
        "smtp_username": "own@tenant.example",
        "smtp_password": "its-own-password",
        "tls_reject_unauthorized": True,
    }
    body = json.dumps({"email": email})
    response = send(client, "PUT", "/tenants/acme/config/integrations", body)
    assert response.status_code == 200, response.text


def test_a_platform_host_change_never_sends_its_credentials_to_a_tenants_old_copy(
    tenant_api: RunningApi,
) -> None:
    """A tenant that stored the platform's own host keeps it when the platform moves: its
    effective config goes back to the platform's host rather than sending the credentials to
    the old one."""
    client = tenant_writer(tenant_api)
    platform = tenant_api.client(tenant_api.token("ops", READ, WRITE))
    old_host = platform.get("/config/integrations").json()["data"]["email"]["smtp_host"]
    body = json.dumps({"email": {"smtp_host": old_host}})
    assert send(client, "PUT", "/tenants/acme/config/integrations", body).status_code == 200
    moved = json.dumps({"integrations": {"email": {"smtp_host": "mail.platform.example"}}})
    assert send(platform, "PATCH", "/config", moved).status_code == 200
    shown = client.get("/tenants/acme/config/integrations").json()["data"]
    assert shown["overrides"]["email"]["smtp_host"] == old_host
    assert shown["effective"]["email"]["smtp_host"] == "mail.platform.example"


@pytest.mark.parametrize(
    ("domain", "says"),
    [("localhost", "platform's own host"), ("beta.localhost", "under the platform's host")],
)
def test_a_custom_domain_may_not_be_the_platform_host_or_a_tenant_subdomain(
    tenant_api: RunningApi, domain: str, says: str
) -> None:
    async def attempt(service: Any) -> None:
        with pytest.raises(ValidationFailed, match=says):
            await service.tenants.create("beta", Author("ops", "x"), domain=domain)
        with pytest.raises(ValidationFailed, match=says):
            await service.tenants.update("acme", Author("ops", "x"), domain=domain)

    tenant_api.run(attempt)


# --- the console ----------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [40, 900, 5000])
def test_the_consoles_json_fields_and_import_refuse_deep_nesting(
    api: RunningApi, depth: int
) -> None:
    from test_admin import Console, hidden

    reader = writer(api)
    before = version_of(reader)
    console = Console(api, api.token("alice"))
    deep = '{"a":' * depth + "1" + "}" * depth
    page = console.get("/admin/settings/features")
    form = {"_version": hidden(page, "_version"), "features.oidc.claims": deep}
    answer = console.post("/admin/settings/features", form)
    assert answer.status_code == 422, answer.text[:300]
    imported = console.post("/admin/settings/import", {"document": '{"branding":' + deep + "}"})
    assert imported.status_code == 422, imported.text[:300]
    assert version_of(reader) == before
