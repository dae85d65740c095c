"""The Management API through real HTTP: uvicorn on a loopback port, driven with httpx."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import structlog
from support.api_support import RunningApi, serving

from adapters.service import ConfigService
from eventstore.commands import Author
from eventstore.errors import VersionConflict
from eventstore.secret import MASK
from eventstore.tokens import (
    READ,
    SCOPES,
    TENANT_READ,
    TENANT_WRITE,
    TOKEN_STREAM,
    TOKENS_ADMIN,
    WRITE,
    TokenStore,
)

CONFLICT = "Configuration was modified by another user. Please refresh the page and try again."


def error_of(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    return dict(body["error"])


# --- authentication and scopes --------------------------------------------------------------

#: (method, path, body, scope) for every route that needs a token
ROUTES: list[tuple[str, str, Any, str]] = [
    ("GET", "/config", None, READ),
    ("GET", "/config/branding", None, READ),
    ("PUT", "/config/branding", {"companyName": "X"}, WRITE),
    ("PATCH", "/config", {"branding": {"companyName": "Y"}}, WRITE),
    ("POST", "/config/reveal", {"path": "security.secrets.jwt_secret"}, WRITE),
    ("GET", "/config/versions", None, READ),
    ("GET", "/config/versions/1.0.0", None, READ),
    ("GET", "/config/diff?from=1.0.0", None, READ),
    ("POST", "/config/restore", {"version": "1.0.0"}, WRITE),
    ("GET", "/config/as-of?version=1.0.0", None, READ),
    ("GET", "/config/export", None, READ),
    ("POST", "/config/import", {"branding": {"companyName": "Z"}}, WRITE),
    ("GET", "/config/audit", None, READ),
    ("GET", "/tenants/acme/config", None, TENANT_READ),
    ("GET", "/tenants/acme/config/branding", None, TENANT_READ),
    ("PUT", "/tenants/acme/config/branding", {"companyName": "A"}, TENANT_WRITE),
    ("GET", "/tokens", None, TOKENS_ADMIN),
    ("POST", "/tokens", {"name": "matrix", "scopes": [TOKENS_ADMIN]}, TOKENS_ADMIN),
    ("DELETE", "/tokens/nobody", None, TOKENS_ADMIN),
]


def test_the_401_403_matrix(api: RunningApi) -> None:
    tokens = {scope: api.token(scope.replace(":", "-"), scope) for scope in SCOPES}
    revoked = api.token("revoked", *SCOPES)
    api.run(lambda service: TokenStore(service.event_log).revoke("revoked", "tests"))
    anonymous = api.client()
    wrong_scheme = api.client(None, Authorization=f"Basic {tokens[READ]}")
    unknown = api.client("pkc_" + "A" * 43)
    for method, path, body, scope in ROUTES:
        for client in (anonymous, wrong_scheme, unknown, api.client(revoked)):
            response = client.request(method, path, json=body)
            assert response.status_code == 401, (method, path)
            assert error_of(response)["code"] == "unauthorized"
            assert response.headers["www-authenticate"].startswith("Bearer")
        for other, token in tokens.items():
            response = api.client(token).request(method, path, json=body)
            if other == scope:
                assert response.status_code not in (401, 403), (method, path)
            else:
                assert response.status_code == 403, (method, path, other)
                error = error_of(response)
                assert (error["code"], error["details"]) == (
                    "forbidden",
                    {"required_scopes": [scope]},
                )


def test_the_token_name_is_the_actor(api: RunningApi) -> None:
    client = api.client(api.token("deploy-bot", READ, WRITE))
    response = client.put("/config/branding", json={"companyName": "Acme"}, params={"reason": "r"})
    assert response.status_code == 200
    newest = client.get("/config/versions").json()["data"][0]
    assert (newest["last_modified_by"], newest["change_reason"]) == ("deploy-bot", "r")


# --- reading and writing --------------------------------------------------------------------


def test_reads_mask_secrets_and_carry_the_version_as_etag(api: RunningApi) -> None:
    client = api.client(api.token("reader", READ))
    whole = client.get("/config")
    assert whole.headers["etag"] == '"1"'
    assert whole.json()["meta"] == {"version": "1.0.0", "_version": 1}
    assert set(whole.json()["data"]) >= {"application", "branding", "security", "oidc"}
    assert "storage" not in whole.json()["data"]  # bootstrap-only connection strings
    security = client.get("/config/security").json()["data"]
    assert security["secrets"]["jwt_secret"] == MASK
    missing = client.get("/config/nope")
    assert missing.status_code == 404
    assert error_of(missing)["code"] == "unknown_section"


def test_if_match_conflict_is_409_with_the_exact_text_and_appends_nothing(
    api: RunningApi,
) -> None:
    client = api.client(api.token("writer", READ, WRITE))
    etag = client.get("/config/branding").headers["etag"]
    first = client.patch(
        "/config", json={"branding": {"companyName": "A"}}, headers={"If-Match": etag}
    )
    assert (first.status_code, first.headers["etag"]) == (200, '"2"')
    assert first.json()["data"]["changed"] == ["branding.companyName"]
    stale = client.put("/config/branding", json={"companyName": "B"}, headers={"If-Match": etag})
    assert stale.status_code == 409
    error = error_of(stale)
    assert (error["code"], error["message"]) == ("version_conflict", CONFLICT)
    assert error["message"] == VersionConflict.MESSAGE
    assert client.get("/config/versions").json()["total"] == 2
    bad = client.patch("/config", json={}, headers={"If-Match": "yesterday"})
    assert (bad.status_code, error_of(bad)["code"]) == (400, "invalid_if_match")


def test_invalid_writes_are_422_naming_every_path_and_append_nothing(api: RunningApi) -> None:
    client = api.client(api.token("writer", READ, WRITE))
    response = client.put(
        "/config/security",
        json={"secrets": {"jwt_secret": "short"}, "bogus": 1, "protection": {"typo": True}},
    )
    assert response.status_code == 422
    error = error_of(response)
    paths = {issue["path"]: issue["message"] for issue in error["details"]}
    assert set(paths) == {
        "security.bogus",
        "security.protection.typo",
        "security.secrets.jwt_secret",
    }
    assert "Unknown setting" in paths["security.bogus"]
    assert "32 characters" in paths["security.secrets.jwt_secret"]
    not_an_object = client.put("/config/branding", json=[1, 2])
    assert not_an_object.status_code == 422
    assert error_of(not_an_object)["code"] == "validation_failed"
    assert client.get("/config/versions").json()["total"] == 1


def test_sending_back_a_masked_read_keeps_the_secrets(api: RunningApi) -> None:
    client = api.client(api.token("writer", READ, WRITE))
    before = client.post("/config/reveal", json={"path": "security.secrets.jwt_secret"})
    section = client.get("/config/security").json()["data"]
    response = client.put("/config/security", json=section)
    assert response.status_code == 200
    assert response.json()["data"]["appended"] is False
    after = client.post("/config/reveal", json={"path": "security.secrets.jwt_secret"})
    assert before.json()["data"]["value"] == after.json()["data"]["value"] != MASK


def test_bootstrap_only_paths_are_stripped_and_reported(api: RunningApi) -> None:
    client = api.client(api.token("writer", READ, WRITE))
    response = client.put("/config/deployment", json={"server": {"port": 1234}})
    assert response.status_code == 200
    assert response.json()["data"]["stripped"] == ["deployment.server.port"]


# --- reveal ---------------------------------------------------------------------------------


def test_the_eleventh_reveal_in_a_minute_is_429_and_every_reveal_is_audited(
    api: RunningApi,
) -> None:
    client = api.client(api.token("admin", READ, WRITE))
    body = {"path": "oidc.secrets.pairwise_salt", "reason": "support ticket 7"}
    for _ in range(10):
        response = client.post("/config/reveal", json=body)
        assert response.status_code == 200
        assert response.json()["data"]["value"] not in ("", MASK)
    denied = client.post("/config/reveal", json=body)
    assert denied.status_code == 429
    assert 1 <= int(denied.headers["retry-after"]) <= 60
    assert error_of(denied)["code"] == "rate_limited"
    other = api.client(api.token("other-admin", WRITE))  # the limit is per token holder
    assert other.post("/config/reveal", json=body).status_code == 200
    audit = client.get("/config/audit", params={"path": body["path"], "limit": 100}).json()
    reveals = [e for e in audit["data"] if e["kind"] == "reveal"]
    assert [e["who"] for e in reveals] == ["admin"] * 10 + ["other-admin"]
    assert {e["why"] for e in reveals} == {"support ticket 7"}
    not_secret = client.post("/config/reveal", json={"path": "branding.companyName"})
    assert not_secret.status_code in (422, 429)


def test_reveals_made_by_another_process_count_towards_the_limit(api: RunningApi) -> None:
    """The limit is read from the audit trail, so every process of an installation shares it."""
    path = "oidc.secrets.pairwise_salt"

    async def reveal_ten_times(service: ConfigService) -> None:
        for _ in range(10):
            await service.reveal(path, Author("ops", "from another process"))

    api.run(reveal_ten_times)
    client = api.client(api.token("ops", WRITE))
    denied = client.post("/config/reveal", json={"path": path, "reason": "one more"})
    assert denied.status_code == 429
    assert 1 <= int(denied.headers["retry-after"]) <= 60


# --- history --------------------------------------------------------------------------------


def test_versions_diff_restore_and_as_of(api: RunningApi) -> None:
    client = api.client(api.token("writer", READ, WRITE))
    client.put("/config/branding", json={"companyName": "Acme"})
    middle = datetime.now(UTC)
    client.patch("/config", json={"oidc": {"token_ttl": {"access_token": 1200}}})
    versions = client.get("/config/versions").json()["data"]
    assert [v["version"] for v in versions] == ["1.0.2", "1.0.1", "1.0.0"]
    assert client.get("/config/versions", params={"limit": 1}).json()["data"][0]["_version"] == 3
    one = client.get("/config/versions/1.0.1").json()["data"]
    assert one["config"]["branding"]["companyName"] == "Acme"
    assert one["config"]["security"]["secrets"]["jwt_secret"] == MASK
    assert client.get("/config/versions/9.9.9").status_code == 404

    diff = client.get("/config/diff", params={"from": "1.0.0", "to": "1.0.1"}).json()["data"]
    assert [c["field"] for c in diff["changes"]] == ["branding.companyName"]
    assert any("Company name changed" in w for w in diff["impact"]["warnings"])

    restored = client.post("/config/restore", json={"version": "1.0.0", "reason": "undo"})
    assert restored.status_code == 200
    assert restored.json()["data"] | {"changed": None} == {
        "version": "1.0.3",
        "_version": 4,
        "appended": True,
        "changed": None,
        "stripped": [],
        "restored_from": "1.0.0",
    }
    assert client.get("/config/branding").json()["data"]["companyName"] == "Your Organization"
    stale = client.post("/config/restore", json={"version": "1.0.1"}, headers={"If-Match": '"2"'})
    assert error_of(stale)["message"] == CONFLICT

    as_of = client.get("/config/as-of", params={"version": "1.0.1"}).json()
    assert as_of["data"]["branding"]["companyName"] == "Acme"
    assert as_of["meta"]["version"] == "1.0.1"
    by_time = client.get("/config/as-of", params={"at": middle.isoformat()}).json()
    assert by_time["meta"]["version"] == "1.0.1"
    neither = client.get("/config/as-of")
    assert neither.status_code == 400


def test_an_export_imported_back_round_trips(api: RunningApi) -> None:
    client = api.client(api.token("writer", READ, WRITE))
    client.put("/config/branding", json={"companyName": "Acme"})
    secret = client.post("/config/reveal", json={"path": "security.secrets.jwt_secret"})
    exported = client.get("/config/export")
    assert "attachment" in exported.headers["content-disposition"]
    document = exported.json()
    assert document["security"]["secrets"]["jwt_secret"] == MASK
    original = client.get("/config").json()["data"]
    client.patch("/config", json={"branding": {"companyName": "Changed"}, "oidc": {"path": "/x"}})
    imported = client.post("/config/import", json=document, params={"reason": "roll back"})
    assert imported.status_code == 200
    assert imported.json()["data"]["appended"] is True
    assert client.get("/config").json()["data"] == original
    again = client.post("/config/reveal", json={"path": "security.secrets.jwt_secret"})
    assert again.json()["data"]["value"] == secret.json()["data"]["value"]


def test_audit_filters_and_pages_with_a_cursor(api: RunningApi) -> None:
    client = api.client(api.token("writer", READ, WRITE))
    for name in ("A", "B", "C"):
        client.put("/config/branding", json={"companyName": name})
    seen: list[Any] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"path": "branding.companyName", "limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = client.get("/config/audit", params=params).json()
        seen += [(e["new"], e["position"]) for e in page["data"]]
        cursor = page["pagination"]["next_cursor"]
        assert page["pagination"]["has_more"] is (cursor is not None)
        if cursor is None:
            break
    assert [new for new, _ in seen] == ["Your Organization", "A", "B", "C"]
    by_actor = client.get("/config/audit", params={"actor": "system", "limit": 500}).json()
    assert {e["who"] for e in by_actor["data"]} == {"system"}
    later = client.get("/config/audit", params={"since": datetime.now(UTC).isoformat()}).json()
    assert later["data"] == []
    bad = client.get("/config/audit", params={"cursor": "not-a-cursor"})
    assert (bad.status_code, error_of(bad)["code"]) == (400, "invalid_cursor")


# --- the envelope around it -----------------------------------------------------------------


def test_errors_have_one_shape_even_for_unknown_routes(api: RunningApi) -> None:
    client = api.client(api.token("reader", READ))
    for response in (
        client.get("/nowhere"),
        client.delete("/config"),
        api.client().get("/config"),
        client.get("/config/versions", params={"limit": "many"}),
    ):
        assert response.status_code in (400, 401, 404, 405)
        error_of(response)


def test_bodies_over_the_limit_are_413(api: RunningApi) -> None:
    client = api.client(api.token("writer", READ, WRITE))
    huge = {"branding": {"companyName": "x" * (2 * 1024 * 1024)}}
    response = client.patch("/config", json=huge)
    assert response.status_code == 413
    assert error_of(response)["code"] == "body_too_large"


def test_request_ids_are_echoed_and_logged(api: RunningApi) -> None:
    captured = structlog.testing.LogCapture()
    structlog.configure(processors=[structlog.contextvars.merge_contextvars, captured])
    try:
        client = api.client(api.token("reader", READ))
        given = client.get("/config/application", headers={"X-Request-ID": "req-42"})
        fresh = client.get("/config/application")
    finally:
        structlog.reset_defaults()
    assert given.headers["x-request-id"] == "req-42"
    assert len(fresh.headers["x-request-id"]) == 32
    lines = [e for e in captured.entries if e.get("request_id") == "req-42"]
    assert lines
    assert (lines[-1]["status"], lines[-1]["actor"]) == (200, "reader")


def test_health_reports_each_check(api: RunningApi) -> None:
    response = api.client().get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["hash_chain"]["ok"] is True
    assert body["checks"]["store"]["head_position"] >= 1
    assert body["checks"]["redis"] == {"ok": True, "configured": False}
    assert body["checks"]["config"]["version"] == "1.0.0"


def test_metrics_follow_features_metrics(api: RunningApi) -> None:
    scraper = httpx.Client(base_url=api.base_url)
    assert scraper.get("/metrics").status_code == 404
    client = api.client(api.token("writer", READ, WRITE))
    client.patch("/config", json={"features": {"metrics": {"enabled": True}}})
    client.patch("/config", json={"branding": {"companyName": "A"}}, headers={"If-Match": '"1"'})
    client.put("/config/branding", json={"logo": 5})
    text = scraper.get("/metrics").text
    assert 'parako_config_saves_total{kind="save"} 1.0' in text
    assert "parako_config_conflicts_total 1.0" in text
    assert "parako_config_validation_failures_total 1.0" in text
    assert "parako_log_head_position" in text
    assert "parako_propagation_lag_events 0.0" in text


# --- tenants --------------------------------------------------------------------------------


def test_tenant_routes_say_when_multi_tenancy_is_off(api: RunningApi) -> None:
    client = api.client(api.token("tenants", TENANT_READ, TENANT_WRITE))
    for response in (
        client.get("/tenants/acme/config"),
        client.put("/tenants/acme/config/branding", json={"companyName": "A"}),
    ):
        assert response.status_code == 404
        assert error_of(response)["code"] == "multi_tenancy_disabled"


def test_tenant_writes_report_stripped_paths_and_clamped_values(tenant_api: RunningApi) -> None:
    client = tenant_api.client(tenant_api.token("tenant-admin", TENANT_READ, TENANT_WRITE))
    assert client.get("/tenants/nobody/config").status_code == 404
    assert error_of(client.get("/tenants/nobody/config"))["code"] == "tenant_not_found"
    assert error_of(client.get("/tenants/acme/config/storage"))["code"] == "section_not_allowed"

    branding = client.put(
        "/tenants/acme/config/branding", json={"companyName": "Acme", "ui": {"x": 1}}
    )
    assert branding.status_code == 200
    assert branding.json()["data"]["stripped"] == ["branding.ui.x"]
    assert branding.headers["etag"] == '"1"'

    oidc = client.put(
        "/tenants/acme/config/oidc",
        json={"token_ttl": {"access_token": 999999}},
        headers={"If-Match": '"1"'},
    )
    assert oidc.status_code == 200
    assert oidc.json()["data"]["adjustments"] == [
        {
            "path": "oidc.token_ttl.access_token",
            "original": 999999,
            "adjusted": 3600,
            "reason": "Ceiling: must be <= platform value (3600)",
        }
    ]
    stale = client.put(
        "/tenants/acme/config/oidc",
        json={"token_ttl": {"access_token": 100}},
        headers={"If-Match": '"1"'},
    )
    assert error_of(stale)["message"] == CONFLICT

    read = client.get("/tenants/acme/config").json()
    assert read["data"]["overrides"] == {
        "branding": {"companyName": "Acme"},
        "oidc": {"token_ttl": {"access_token": 3600}},
    }
    assert read["data"]["effective"]["branding"]["companyName"] == "Acme"
    section = client.get("/tenants/acme/config/oidc").json()["data"]
    assert section["effective"]["token_ttl"]["access_token"] == 3600
    invalid = client.put("/tenants/acme/config/oidc", json={"token_ttl": {"access_token": "x"}})
    assert invalid.status_code == 422
    assert [i["path"] for i in error_of(invalid)["details"]] == ["oidc.token_ttl.access_token"]
    history = client.get("/tenants/acme/config")
    assert history.headers["etag"] == '"2"'


def test_tenant_puts_name_every_dropped_path_and_an_empty_body_clears_the_section(
    tenant_api: RunningApi,
) -> None:
    client = tenant_api.client(tenant_api.token("tenant-admin", TENANT_READ, TENANT_WRITE))
    security = client.put(
        "/tenants/acme/config/security",
        json={
            "secrets": {"jwt_secret": "x" * 40},
            "authentication": {"session": {"bind_ip": True}},
        },
    )
    assert security.status_code == 200
    assert security.json()["data"]["stripped"] == ["security.secrets.jwt_secret"]

    refused = client.put(
        "/tenants/acme/config/security",
        json={"secrets": {"jwt_secret": "x" * 40}, "key_store": {"algorithms": ["RS256"]}},
    )
    assert refused.status_code == 422
    error = error_of(refused)
    assert error["message"].startswith("No valid override fields provided")
    assert [(i["path"], i["message"]) for i in error["details"]] == [
        ("security.secrets.jwt_secret", "cannot be overridden by a tenant"),
        ("security.key_store.algorithms", "cannot be overridden by a tenant"),
    ]
    assert client.get("/tenants/acme/config").headers["etag"] == '"1"'

    cleared = client.put("/tenants/acme/config/security", json={})
    assert cleared.status_code == 200
    assert cleared.json()["data"]["changed"] == ["security.authentication.session.bind_ip"]
    read = client.get("/tenants/acme/config").json()["data"]
    assert read["overrides"] == {}
    assert read["effective"]["security"]["authentication"]["session"]["bind_ip"] is False


PRODUCTION_SECRETS = {
    "JWT_SECRET": "J" * 64,
    "COOKIE_SECRET_1": "c" * 64,
    "COOKIE_SECRET_2": "d" * 64,
    "HMAC_SECRET": "h" * 64,
    "PAIRWISE_SALT": "p" * 32,
}


def test_reveal_answers_a_secret_the_environment_supplies(tmp_path: Path) -> None:
    environ = {"DEPLOYMENT_ENVIRONMENT": "production", **PRODUCTION_SECRETS}
    with serving(tmp_path, environ) as running:
        client = running.client(running.token("admin"))
        for path, value in [
            ("security.secrets.jwt_secret", "J" * 64),
            ("security.secrets.cookie_secrets", ["c" * 64, "d" * 64]),
            ("oidc.secrets.pairwise_salt", "p" * 32),
        ]:
            revealed = client.post("/config/reveal", json={"path": path})
            assert revealed.status_code == 200
            assert revealed.json()["data"] == {"path": path, "value": value}
        # a stored value wins over the variable, and is what a reveal then shows
        saved = client.put("/config/security", json={"secrets": {"jwt_secret": "S" * 64}})
        assert saved.status_code == 200, saved.text
        again = client.post("/config/reveal", json={"path": "security.secrets.jwt_secret"})
        assert again.json()["data"]["value"] == "S" * 64
        audit = client.get("/config/audit", params={"path": "security.secrets", "limit": 100})
        reveals = [e["path"] for e in audit.json()["data"] if e["kind"] == "reveal"]
        assert reveals == [
            "security.secrets.jwt_secret",
            "security.secrets.cookie_secrets",
            "security.secrets.jwt_secret",
        ]


def test_serve_runs_in_file_mode_with_health_and_the_console_banner(tmp_path: Path) -> None:
    """File mode has no store (so no tokens): the API answers health, refuses every token, and
    the console explains why instead of the process failing to start."""
    (tmp_path / "runtime").mkdir()
    (tmp_path / "runtime" / "parako.jsonc").write_text('{"branding": {"companyName": "F"}}')
    with serving(tmp_path, {"USE_FILE_CONFIG": "true", "ENCRYPTION_KEY": ""}) as api:
        assert api.client().get("/health").status_code == 200
        assert api.client("pkc_anything").get("/config").status_code == 401
        page = httpx.get(f"{api.base_url}/admin/login", timeout=30)
        assert page.status_code == 200
        assert "do not persist" in page.text or "not persist" in page.text


# --- API tokens ---------------------------------------------------------------------------------


def test_tokens_are_issued_listed_and_revoked_and_every_step_is_audited(api: RunningApi) -> None:
    admin = api.client(api.token("keys", READ, WRITE, TOKENS_ADMIN))
    issued = admin.post("/tokens", json={"name": "deploy-bot", "scopes": [READ, WRITE]})
    assert issued.status_code == 201
    assert issued.headers["cache-control"] == "no-store"
    data = issued.json()["data"]
    assert data["name"] == "deploy-bot"
    assert (data["scopes"], data["created_by"], data["active"]) == ([READ, WRITE], "keys", True)
    token = data["token"]
    assert token.startswith("pkc_")
    bot = api.client(token)
    assert bot.put("/config/branding", json={"companyName": "Bot"}).status_code == 200

    listed = admin.get("/tokens")
    assert listed.headers["cache-control"] == "no-store"
    names = {t["name"]: t for t in listed.json()["data"]}
    assert names["deploy-bot"]["active"] is True
    assert token not in listed.text
    assert "digest" not in listed.text
    again = admin.post("/tokens", json={"name": "deploy-bot", "scopes": [READ]})
    assert (again.status_code, error_of(again)["code"]) == (409, "token_exists")
    bad = admin.post("/tokens", json={"name": "no spaces", "scopes": ["parako:everything"]})
    assert bad.status_code == 422
    assert {i["path"] for i in error_of(bad)["details"]} == {"name"}
    assert admin.post("/tokens", json={"name": "x", "scopes": []}).status_code == 422
    assert admin.post("/tokens", json={"name": "x"}).status_code == 422

    revoked = admin.delete("/tokens/deploy-bot")
    assert revoked.status_code == 200
    assert revoked.json()["data"]["revoked_by"] == "keys"
    assert revoked.json()["data"]["active"] is False
    assert bot.get("/config").status_code == 401
    gone = admin.delete("/tokens/deploy-bot")
    assert (gone.status_code, error_of(gone)["code"]) == (404, "token_not_found")
    # the name can be issued again: a new token, the old one stays revoked
    assert admin.post("/tokens", json={"name": "deploy-bot", "scopes": [READ]}).status_code == 201
    assert bot.get("/config").status_code == 401

    audit = admin.get("/config/audit", params={"actor": "keys", "limit": 500}).json()["data"]
    tokens = [(e["why"], e["path"]) for e in audit if e["kind"] == "token"]
    assert tokens == [
        ("API token created", "deploy-bot"),
        ("API token revoked", "deploy-bot"),
        ("API token created", "deploy-bot"),
    ]
    assert token not in str(audit)


def test_a_token_never_gets_a_scope_its_issuer_lacks(api: RunningApi) -> None:
    delegate = api.client(api.token("delegate", READ, TOKENS_ADMIN))

    async def tokens_written(service: ConfigService) -> int:
        return await service.event_log.stream_version(TOKEN_STREAM)

    before = api.run(tokens_written)
    refused = delegate.post("/tokens", json={"name": "wider", "scopes": [READ, WRITE]})
    assert refused.status_code == 403
    error = error_of(refused)
    assert (error["code"], error["details"]) == ("scope_not_held", {"scopes": [WRITE]})
    assert api.run(tokens_written) == before
    # within its own scopes it delegates, including the right to delegate
    narrower = delegate.post("/tokens", json={"name": "narrower", "scopes": [TOKENS_ADMIN]})
    assert narrower.status_code == 201
    sub = api.client(narrower.json()["data"]["token"])
    assert sub.post("/tokens", json={"name": "x", "scopes": [READ]}).status_code == 403
    assert sub.get("/config").status_code == 403
