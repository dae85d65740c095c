"""The admin console over plain HTTP (no browser): sign-in, CSRF, scopes, masking, import/export,
audit, health, tenants, and the form ↔ schema mapping. The browser flows are in
``test_admin_browser.py``."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
from litestar.datastructures import FormMultiDict
from support.api_support import RunningApi

from adapters.admin.forms import build_group, change_from_form, errors_by_field, label_of, leaves
from adapters.admin.sessions import MAX_AGE_SECONDS, SessionKeys
from adapters.service import ConfigService
from adapters.wiring import open_service
from eventstore.commands import Author
from eventstore.errors import Issue
from eventstore.schema import AppConfig, unstructure
from eventstore.schema.sections.branding import Branding
from eventstore.schema.sections.security import Security
from eventstore.secret import MASK
from eventstore.tokens import READ, TENANT_READ, TokenStore

CONFLICT = "Configuration was modified by another user. Please refresh the page and try again."
_CSRF = re.compile(r'name="_csrf" value="([^"]+)"')


class Console:
    """A signed-in browser stand-in: keeps the cookies, reads CSRF tokens off the pages."""

    def __init__(self, api: RunningApi, token: str) -> None:
        self.http = httpx.Client(base_url=api.base_url, follow_redirects=False, timeout=30)
        login = self.http.get("/admin/login")
        signed = self.http.post("/admin/login", data={"_csrf": csrf_of(login), "token": token})
        assert signed.status_code == 303, signed.text
        self.set_cookie = signed.headers.get_list("set-cookie")
        self.landing = signed.headers["location"]
        self.csrf = csrf_of(self.http.get("/admin/settings"))  # error pages carry it too

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.get(path, **kwargs)

    def post(self, path: str, data: dict[str, Any], csrf: bool = True) -> httpx.Response:
        return self.http.post(path, data={**data, **({"_csrf": self.csrf} if csrf else {})})


def csrf_of(response: httpx.Response) -> str:
    found = _CSRF.search(response.text)
    assert found, response.text[:500]
    return found.group(1)


def hidden(response: httpx.Response, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', response.text)
    assert found, f"no hidden {name}"
    return found.group(1)


# --- sign-in and the session cookie -----------------------------------------------------------


def test_the_session_cookie_is_httponly_strict_and_scoped(api: RunningApi) -> None:
    console = Console(api, api.token("alice"))
    session = next(c for c in console.set_cookie if c.startswith("parako_admin="))
    attributes = {part.strip().lower() for part in session.split(";")}
    assert "httponly" in attributes
    assert "samesite=strict" in attributes
    assert "path=/admin" in attributes
    assert f"max-age={MAX_AGE_SECONDS}" in attributes
    # the cookie holds no token
    assert "pkc_" not in session


def test_pages_need_a_session(api: RunningApi) -> None:
    anonymous = httpx.Client(base_url=api.base_url, timeout=30)
    for path in ("/admin/settings", "/admin/settings/branding", "/admin/settings/history"):
        response = anonymous.get(path)
        assert response.status_code == 303
        assert response.headers["location"] == "/admin/login"
    forged = httpx.Client(base_url=api.base_url, timeout=30, cookies={"parako_admin": "e30.AAAA"})
    assert forged.get("/admin/settings").headers["location"] == "/admin/login"


def test_sign_in_needs_the_forms_csrf_token(api: RunningApi) -> None:
    client = httpx.Client(base_url=api.base_url, timeout=30)
    client.get("/admin/login")
    refused = client.post("/admin/login", data={"token": api.token("alice")})
    assert refused.status_code == 403
    assert "parako_admin=" not in refused.headers.get("set-cookie", "")


def test_revoking_the_token_ends_the_session(api: RunningApi) -> None:
    console = Console(api, api.token("alice"))
    assert console.get("/admin/settings").status_code == 200

    async def revoke(service: ConfigService) -> None:
        await TokenStore(service.event_log).revoke("alice", "tests")

    api.run(revoke)
    assert console.get("/admin/settings").headers["location"] == "/admin/login"


def test_signing_out_clears_the_cookie(api: RunningApi) -> None:
    console = Console(api, api.token("alice"))
    out = console.post("/admin/logout", {})
    assert out.status_code == 303
    assert console.get("/admin/settings").status_code == 303


def test_a_session_cookie_expires() -> None:
    now = [1_000_000.0]
    keys = SessionKeys(b"k" * 32, clock=lambda: now[0])
    cookie = keys.issue("alice", "ab" * 32)
    assert keys.read(cookie) is not None
    now[0] += MAX_AGE_SECONDS + 1
    assert keys.read(cookie) is None
    other = SessionKeys(b"x" * 32, clock=lambda: now[0])
    assert other.read(keys.issue("alice", "ab" * 32)) is None  # another key: forged


def test_sign_outs_and_failed_sign_ins_are_in_the_audit_trail(api: RunningApi) -> None:
    token = api.token("alice")
    client = httpx.Client(base_url=api.base_url, timeout=30)
    wrong = token[:12] + "x" * (len(token) - 12)
    failed = client.post(
        "/admin/login", data={"_csrf": csrf_of(client.get("/admin/login")), "token": wrong}
    )
    assert failed.status_code == 401
    console = Console(api, token)
    assert console.post("/admin/logout", {}).status_code == 303

    async def entries(service: ConfigService) -> list[Any]:
        return [e for e in await service.audit_entries() if e.kind in ("sign-in", "sign-out")]

    sign_in, sign_out = api.run(entries)
    assert (sign_in.kind, sign_in.who) == ("sign-in", "127.0.0.1")
    assert token[4:12] not in json.dumps(sign_in.to_json())  # a keyed tag, not the characters
    assert (sign_out.kind, sign_out.who, sign_out.version) == ("sign-out", "alice", None)
    audit = Console(api, token).get("/admin/settings/audit").text
    assert "console sign-in failed" in audit
    assert "signed out of the admin console" in audit


def test_the_token_tag_is_the_same_in_every_process_and_keyed() -> None:
    token = "pkc_" + "a" * 43
    one, other = SessionKeys(b"k" * 32), SessionKeys(b"k" * 32)
    assert one.token_tag(token) == other.token_tag(token)
    assert one.token_tag(token) == one.token_tag(token[:12] + "different-rest")
    assert one.token_tag(token) != one.token_tag("pkc_" + "b" * 43)
    assert SessionKeys(b"x" * 32).token_tag(token) != one.token_tag(token)
    assert "aaaa" not in one.token_tag(token)


def test_a_session_id_is_not_its_nonce() -> None:
    keys = SessionKeys(b"k" * 32)
    session = keys.read(keys.issue("alice", "ab" * 32))
    assert session is not None
    assert session.nonce not in session.id
    assert session.id != keys.read(keys.issue("alice", "ab" * 32)).id  # type: ignore[union-attr]


async def test_sign_outs_are_forgotten_once_no_cookie_they_end_can_be_alive() -> None:
    from datetime import UTC, datetime, timedelta

    from adapters.storage.memory import MemoryEventLog
    from eventstore.console import ConsoleRecords, EndedSessions
    from eventstore.hashchain import HashChain

    now = [datetime(2030, 1, 1, tzinfo=UTC)]
    log = MemoryEventLog(HashChain(bytes(32)))
    ended = EndedSessions(log, timedelta(hours=9), clock=lambda: now[0])
    await ConsoleRecords(log, clock=lambda: now[0]).signed_out("s1", "alice")
    assert await ended.ended("s1")
    assert not await ended.ended("s2")
    now[0] += timedelta(hours=8)
    await ConsoleRecords(log, clock=lambda: now[0]).signed_out("s2", "alice")
    assert await ended.ended("s1")
    assert await ended.ended("s2")
    now[0] += timedelta(hours=2)
    assert not await ended.ended("s1")  # every cookie it could stop has expired
    assert await ended.ended("s2")


async def test_one_process_records_a_bounded_number_of_failed_sign_ins(tmp_path: Path) -> None:
    from adapters.http.limits import SignInLimit
    from eventstore.console import SIGN_IN_STREAM

    (tmp_path / "runtime").mkdir()
    async with await open_service(
        tmp_path, {"USE_FILE_CONFIG": "false", "ENCRYPTION_KEY": "5a" * 32}
    ) as service:
        limit = SignInLimit(service, limit=3, recorded_per_minute=5)
        for n in range(8):
            await limit.failed(f"10.0.0.{n}", "tag")
        assert await service.event_log.stream_version(SIGN_IN_STREAM) == 5
        assert await limit.wait("10.0.0.1", "tag") is None  # one failure each: under the limit
        for _ in range(3):
            await SignInLimit(service).failed("10.0.0.9", "tag")
        wait = await limit.wait("10.0.0.9", "tag")
        assert wait is not None
        assert 1 <= wait <= 60
        assert await limit.wait("10.0.0.9", "other") is None


# --- CSRF -------------------------------------------------------------------------------------


def test_every_form_post_without_the_csrf_token_is_refused(api: RunningApi) -> None:
    console = Console(api, api.token("alice"))
    version = hidden(console.get("/admin/settings/branding"), "_version")
    posts = {
        "/admin/settings/branding": {"_version": version, "branding.companyName": "Forged"},
        "/admin/settings/branding/save": {"pending": "x", "reason": "forged"},
        "/admin/settings/restore": {"version": "1.0.0", "reason": "forged"},
        "/admin/settings/import": {"document": '{"branding": {"companyName": "Forged"}}'},
        "/admin/settings/import/apply": {"pending": "x"},
        "/admin/settings/reveal": {"reveal": "security.secrets.jwt_secret"},
        "/admin/logout": {},
    }
    for path, data in posts.items():
        response = console.post(path, data, csrf=False)
        assert response.status_code == 403, path
        assert "CSRF" in response.text, path
        wrong = console.http.post(path, data={**data, "_csrf": "not-the-token"})
        assert wrong.status_code == 403, path
    assert console.get("/admin/settings").status_code == 200  # still signed in
    assert api.run(_version) == 1  # nothing was written


async def _version(service: ConfigService) -> int:
    return service.version


def test_a_confirmation_cannot_be_replayed_by_another_session(api: RunningApi) -> None:
    alice = Console(api, api.token("alice"))
    bob = Console(api, api.token("bob"))
    editor = alice.get("/admin/settings/branding")
    preview = alice.post(
        "/admin/settings/branding",
        {"_version": hidden(editor, "_version"), "branding.companyName": "Acme"},
    )
    sealed = hidden(preview, "pending")
    replay = bob.post("/admin/settings/branding/save", {"pending": sealed, "reason": "x"})
    assert replay.status_code == 403
    assert alice.post("/admin/settings/branding/save", {"pending": sealed}).status_code == 303


# --- scopes -----------------------------------------------------------------------------------


def test_a_read_only_token_cannot_change_anything(api: RunningApi) -> None:
    reader = Console(api, api.token("reader", READ))
    editor = reader.get("/admin/settings/branding")
    assert editor.status_code == 200
    assert "Review changes" not in editor.text
    assert 'name="branding.companyName"' not in editor.text  # inputs without names: read-only
    refused = reader.post(
        "/admin/settings/branding",
        {"_version": hidden(editor, "_version"), "branding.companyName": "X"},
    )
    assert refused.status_code == 403
    assert "parako:config:write" in refused.text
    assert (
        reader.post("/admin/settings/reveal", {"reveal": "security.secrets.jwt_secret"}).status_code
        == 403
    )
    assert reader.get("/admin/settings/history/1.0.0").status_code == 403


def test_a_tenant_only_token_cannot_read_the_platform_config(api: RunningApi) -> None:
    console = Console(api, api.token("tenants", TENANT_READ))
    assert console.landing == "/admin/tenants"
    assert console.get("/admin/settings/branding").status_code == 403


# --- editing ----------------------------------------------------------------------------------


def test_validation_errors_name_the_field_and_save_nothing(api: RunningApi) -> None:
    console = Console(api, api.token("alice"))
    version = hidden(console.get("/admin/settings/security"), "_version")
    response = console.post(
        "/admin/settings/security",
        {
            "_version": version,
            "security.protection.device_matching.trust_duration_days": "0",
            "security.authentication.multi_factor.email.code_ttl_seconds": "abc",
        },
    )
    assert response.status_code == 422
    errors = dict(
        re.findall(r'<p class="field-error" id="([^"]+)-error">([^<]+)</p>', response.text)
    )
    assert errors == {
        "f-security-protection-device_matching-trust_duration_days": (
            "Too small: expected number to be &gt;=1"
        ),
        "f-security-authentication-multi_factor-email-code_ttl_seconds": (
            "Invalid input: expected number, received string"
        ),
    }
    # what was typed is shown again
    assert 'value="abc"' in response.text
    assert api.run(_version) == 1


def test_a_stale_confirmation_gets_the_conflict_message(api: RunningApi) -> None:
    console = Console(api, api.token("alice"))
    editor = console.get("/admin/settings/branding")
    preview = console.post(
        "/admin/settings/branding",
        {"_version": hidden(editor, "_version"), "branding.companyName": "Mine"},
    )

    async def other_writer(service: ConfigService) -> None:
        await service.save({"branding": {"companyName": "Theirs"}}, Author("bob", "meanwhile"))

    api.run(other_writer)
    saved = console.post("/admin/settings/branding/save", {"pending": hidden(preview, "pending")})
    assert saved.status_code == 409
    assert CONFLICT in saved.text
    assert 'href="/admin/settings/branding"' in saved.text


def test_secrets_stay_masked_in_editor_diff_history_audit_and_export(api: RunningApi) -> None:
    console = Console(api, api.token("alice"))
    secret = "smtp-password-of-the-test"
    editor = console.get("/admin/settings/integrations")
    preview = console.post(
        "/admin/settings/integrations",
        {"_version": hidden(editor, "_version"), "integrations.email.smtp_password": secret},
    )
    assert preview.status_code == 200
    assert secret not in preview.text  # the pending change travels sealed
    assert "integrations.email.smtp_password" in preview.text
    assert (
        console.post(
            "/admin/settings/integrations/save", {"pending": hidden(preview, "pending")}
        ).status_code
        == 303
    )
    pages = [
        console.get("/admin/settings/integrations"),
        console.get("/admin/settings/diff?from=1.0.0&to=1.0.1"),
        console.get("/admin/settings/diff?from=1.0.0&to=1.0.1&view=side"),
        console.get("/admin/settings/history"),
        console.get("/admin/settings/audit?path=integrations.email"),
        console.get("/admin/settings/export"),
    ]
    for response in pages:
        assert response.status_code == 200
        assert secret not in response.text
    assert MASK in pages[1].text
    revealed = console.http.post(
        "/admin/settings/reveal",
        data={"reveal": "integrations.email.smtp_password"},
        headers={"Accept": "application/json", "X-CSRF-Token": console.csrf},
    )
    assert revealed.json() == {"path": "integrations.email.smtp_password", "value": secret}
    assert revealed.headers["cache-control"] == "no-store"


def test_the_reveal_limit_applies(api: RunningApi) -> None:
    console = Console(api, api.token("alice"))
    headers = {"Accept": "application/json", "X-CSRF-Token": console.csrf}
    statuses = [
        console.http.post(
            "/admin/settings/reveal",
            data={"reveal": "security.secrets.jwt_secret"},
            headers=headers,
        ).status_code
        for _ in range(11)
    ]
    assert statuses == [200] * 10 + [429]
    audit = console.get("/admin/settings/audit?kind=reveal")
    assert audit.text.count("security.secrets.jwt_secret") == 10


def test_import_previews_then_applies(api: RunningApi) -> None:
    console = Console(api, api.token("alice"))
    exported = console.get("/admin/settings/export")
    assert exported.headers["content-disposition"].startswith("attachment;")
    document = exported.json()
    assert document["security"]["secrets"]["jwt_secret"] == MASK
    document["branding"]["companyName"] = "Imported Inc"

    bad = console.post("/admin/settings/import", {"document": "[1, 2]"})
    assert bad.status_code == 422
    assert "Configuration must be a JSON object" in bad.text
    preview = console.post("/admin/settings/import", {"document": json.dumps(document)})
    assert preview.status_code == 200
    assert "Company name changed" in preview.text
    assert "jwt_secret" not in preview.text  # masked secrets keep their values: no change
    applied = console.post("/admin/settings/import/apply", {"pending": hidden(preview, "pending")})
    assert applied.headers["location"] == "/admin/settings/history?imported=1.0.1"

    async def company(service: ConfigService) -> str:
        return service.config.branding.company_name

    assert api.run(company) == "Imported Inc"


def test_audit_filters_and_health(api: RunningApi) -> None:
    async def changes(service: ConfigService) -> None:
        await service.save({"branding": {"companyName": "A"}}, Author("bob", "one"))
        await service.save({"application": {"title": "T"}}, Author("carol", "two"))

    api.run(changes)
    console = Console(api, api.token("alice"))
    by_actor = console.get("/admin/settings/audit?actor=carol").text
    assert "application.title" in by_actor
    assert "branding.companyName" not in by_actor
    by_path = console.get("/admin/settings/audit?path=branding&kind=change").text
    assert "branding.companyName" in by_path
    assert "application.title" not in by_path
    future = console.get("/admin/settings/audit?since=2999-01-01T00:00:00").text
    assert "No entry matches." in future
    health = console.get("/admin/settings/health")
    assert health.status_code == 200
    assert "hash_chain" in health.text


# --- forms ↔ schema ---------------------------------------------------------------------------


def _shown() -> dict[str, Any]:
    return unstructure(AppConfig())


def test_an_untouched_form_changes_nothing() -> None:
    shown = _shown()
    for cls, section in ((Branding, "branding"), (Security, "security")):
        group = build_group(cls, section, shown, {})
        form = FormMultiDict(
            [(f.path, f.value) for f in leaves(group) if not f.read_only and f.widget != "switch"]
            + [
                (f.path, "true" if f.checked else "false")
                for f in leaves(group)
                if f.widget == "switch"
            ]
        )
        change, issues = change_from_form(group, cls, form, shown)
        assert (change, issues) == ({}, [])


def test_form_values_are_typed_by_the_schema() -> None:
    shown = _shown()
    group = build_group(Security, "security", shown, {})
    paths = {f.path: f for f in leaves(group)}
    assert paths["security.secrets.jwt_secret"].widget == "secret"
    assert paths["security.secrets.cookie_secrets"].multiple_secrets
    form = FormMultiDict(
        [
            ("security.protection.device_matching.trust_duration_days", "12"),
            # a checked switch posts its hidden "false" and then "true"
            ("security.protection.encrypt_device_data", "false"),
            ("security.protection.encrypt_device_data", "true"),
            ("security.authentication.multi_factor.enabled", "false"),
        ]
    )
    before = shown["security"]
    change, issues = change_from_form(group, Security, form, shown)
    assert issues == []
    protection = change["security"]["protection"]
    assert protection["device_matching"] == {"trust_duration_days": 12}
    if before["protection"]["encrypt_device_data"] is False:
        assert protection["encrypt_device_data"] is True
    if before["authentication"]["multi_factor"]["enabled"] is True:
        assert change["security"]["authentication"]["multi_factor"] == {"enabled": False}


def test_bootstrap_only_fields_are_read_only_with_their_variable() -> None:
    from eventstore.schema.sections.deployment import Deployment

    group = build_group(Deployment, "deployment", _shown(), {"DEPLOYMENT_URL": "https://x.test"})
    fields = {f.path: f for f in leaves(group)}
    assert fields["deployment.server.port"].read_only
    assert "DEPLOYMENT_SERVER_PORT" in fields["deployment.server.port"].note
    assert fields["deployment.url"].read_only  # the variable is set: it wins
    assert "DEPLOYMENT_URL" in fields["deployment.url"].note


def test_colours_get_a_colour_input_and_issues_find_their_field() -> None:
    group = build_group(Branding, "branding", _shown(), {})
    fields = {f.path: f for f in leaves(group)}
    assert fields["branding.colors.light.primary"].widget == "color"
    by_field, rest = errors_by_field(
        [Issue("branding.colors.light.primary", "Invalid hex color"), Issue("", "whole")],
        list(fields),
    )
    assert by_field == {"branding.colors.light.primary": ["Invalid hex color"]}
    assert rest == [Issue("", "whole")]
    assert label_of("companyName") == "Company name"
    assert label_of("smtp_host") == "Smtp host"


# --- tenants ----------------------------------------------------------------------------------


def test_tenants_show_overrides_against_platform_values(tenant_api: RunningApi) -> None:
    async def override(service: ConfigService) -> None:
        assert service.tenants is not None
        await service.tenants.save(
            "acme",
            {"branding": {"companyName": "Acme"}, "oidc": {"token_ttl": {"access_token": 999999}}},
            Author("ops", "tenant branding"),
        )

    tenant_api.run(override)
    console = Console(tenant_api, tenant_api.token("ops"))
    listing = console.get("/admin/tenants")
    assert listing.status_code == 200
    assert 'href="/admin/tenants/acme"' in listing.text
    detail = console.get("/admin/tenants/acme").text
    row = re.search(
        r"<tr class=\"override\">\s*<th scope=\"row\"><code>branding.companyName.*?</tr>",
        detail,
        re.S,
    )
    assert row
    assert "Acme" in row.group(0)
    clamped = re.search(
        r'<tr class="override">.*?oidc.token_ttl.access_token.*?</tr>', detail, re.S
    )
    assert clamped
    assert "3600" in clamped.group(0)
    adjustments = detail[detail.index('id="adjustments-title"') :]
    assert "oidc.token_ttl.access_token" in adjustments
    assert "999999" in adjustments
    assert '<tr class="inherited">' in detail
    audit = console.get("/admin/settings/audit?kind=adjustment").text
    assert "oidc.token_ttl.access_token" in audit
    assert "tenant acme" in audit
    assert console.get("/admin/tenants/nobody").status_code == 404


# --- file mode --------------------------------------------------------------------------------


async def test_file_mode_shows_the_banner(tmp_path: Path) -> None:
    """In file mode the console says that changes do not persist. (The API's ``create_app``
    needs the event store for its tokens, so the router is mounted on a bare app here.)"""
    from litestar import Litestar
    from litestar.testing import AsyncTestClient

    from adapters.admin import admin_router
    from adapters.http.context import STATE_KEY, ApiContext
    from adapters.http.limits import RevealLimit

    (tmp_path / "runtime").mkdir()
    service = await open_service(tmp_path, {"USE_FILE_CONFIG": "true"})
    assert service.file_mode
    app = Litestar(route_handlers=[admin_router()])
    app.state[STATE_KEY] = ApiContext(
        service=service,
        authenticator=None,  # type: ignore[arg-type]
        reveals=RevealLimit(service),
        metrics=None,  # type: ignore[arg-type]
    )
    async with AsyncTestClient(app) as client:
        response = await client.get("/admin/login")
    assert response.status_code == 200
    assert 'class="banner" role="alert"' in response.text
    assert "Changes made here do not persist" in response.text
    assert "Sign-in needs the event store" in response.text


# --- accessibility ----------------------------------------------------------------------------


def test_every_input_of_every_editor_has_a_label(api: RunningApi) -> None:
    console = Console(api, api.token("alice"))
    for section in (
        "application",
        "branding",
        "deployment",
        "security",
        "features",
        "oidc",
        "integrations",
        "notifications",
    ):
        html = console.get(f"/admin/settings/{section}").text
        controls = re.findall(r"<(?:input|select|textarea)\b[^>]*>", html)
        labelled = set(re.findall(r'<label for="([^"]+)"', html))
        for control in controls:
            if re.search(r'type="(hidden|submit)"', control):
                continue
            found = re.search(r'\bid="([^"]+)"', control)
            assert found or "aria-label=" in control, f"{section}: {control}"
            if found and "aria-label=" not in control:
                assert found.group(1) in labelled, f"{section}: no label for {found.group(1)}"
        assert html.count("<h1>") == 1
        assert 'href="#main"' in html  # the skip link


# --- settings: labels and help, changed badges and resets, search, conflicts -------------------


def _field_html(page: httpx.Response, path: str) -> str:
    """The markup of one field of an editor page (up to the next field or group)."""
    found = re.search(
        rf'<div class="field[^"]*" data-path="{re.escape(path)}">'
        r'.*?(?=<div class="field|<details|</form>)',
        page.text,
        re.S,
    )
    assert found, f"no field {path}"
    return found.group(0)


def test_each_field_shows_its_label_and_help_from_the_schema(api: RunningApi) -> None:
    console = Console(api, api.token("alice"))
    page = console.get("/admin/settings/security")
    jwt = _field_html(page, "security.secrets.jwt_secret")
    assert '<label for="f-security-secrets-jwt_secret">JWT secret</label>' in jwt
    assert '<p class="help" id="f-security-secrets-jwt_secret-help">Signs the service' in jwt
    assert re.search(r'aria-describedby="f-security-secrets-jwt_secret-help\b', jwt)
    assert "Jwt secret" not in page.text
    # groups too: a label and their help instead of the key
    assert "<summary>Sessions <code" in page.text
    assert "Session cookie, binding, timeouts and limits." in page.text
    branding = console.get("/admin/settings/branding").text
    assert "<summary>User interface <code" in branding
    assert "<summary>Ui <code" not in branding


def test_changed_settings_are_marked_filtered_and_counted(api: RunningApi) -> None:
    async def changes(service: ConfigService) -> None:
        await service.save(
            {
                "branding": {"companyName": "Acme", "fonts": {"sans": "Inter, sans-serif"}},
                "integrations": {
                    "email": {"smtp_password": "another-password"},
                    "ipinfo": {"api_token": "ipinfo-token"},
                },
            },
            Author("bob", "set up"),
        )

    api.run(changes)
    console = Console(api, api.token("alice"))
    page = console.get("/admin/settings/branding")
    company = _field_html(page, "branding.companyName")
    assert "Changed from default" in company
    assert "Default: <code>Your Organization</code>" in company
    assert 'value="branding.companyName"' in company  # its reset button
    assert "Changed from default" not in _field_html(page, "branding.logo")
    assert "2 settings changed from their defaults." in page.text
    only = console.get("/admin/settings/branding?changed=1")
    assert re.findall(r'data-path="([^"]+)"', only.text) == [
        "branding.companyName",
        "branding.fonts.sans",
    ]
    assert "Show all settings" in only.text
    # a secret is "changed" only when being set differs from its default's: comparing a stored
    # secret with a default would say more about it than its mask does
    integrations = console.get("/admin/settings/integrations")
    assert "Changed from default" not in _field_html(
        integrations, "integrations.email.smtp_password"
    )
    token = _field_html(integrations, "integrations.ipinfo.api_token")
    assert "Changed from default" in token
    assert "Default: not set" in token
    assert "ipinfo-token" not in integrations.text
    overview = console.get("/admin/settings").text
    assert 'href="/admin/settings/branding?changed=1"' in overview
    assert ">2 changed</a>" in overview
    # generated secrets are never offered a reset
    security = console.get("/admin/settings/security")
    assert "Changed from default" not in _field_html(security, "security.secrets.jwt_secret")


def test_a_reset_is_reviewed_then_unsets_the_setting(api: RunningApi) -> None:
    async def rename(service: ConfigService) -> None:
        await service.save({"branding": {"companyName": "Acme"}}, Author("bob", "rename"))

    api.run(rename)
    console = Console(api, api.token("alice"))
    version = hidden(console.get("/admin/settings/branding"), "_version")
    review = console.post(
        "/admin/settings/branding/reset", {"_version": version, "reset": "branding.companyName"}
    )
    assert review.status_code == 200, review.text
    assert "Review your change to Branding" in review.text
    changes = review.text[review.text.index('id="changes-title"') :]
    assert "branding.companyName" in changes
    assert "Acme" in changes
    assert "Your Organization" in changes
    # the names that follow the company name change too, and say so
    assert "security.authentication.multi_factor.totp.issuer_name" in changes
    assert "Reset branding.companyName to its default" in review.text
    assert api.run(_version) == 2  # nothing written yet
    saved = console.post("/admin/settings/branding/save", {"pending": hidden(review, "pending")})
    assert saved.status_code == 303
    assert saved.headers["location"] == "/admin/settings/branding?reset=1.0.2"
    page = console.get(saved.headers["location"])
    assert "Reset to the default: saved as version 1.0.2." in page.text
    assert "Changed from default" not in _field_html(page, "branding.companyName")

    async def stored(service: ConfigService) -> tuple[bool, str, str]:
        from eventstore.docpath import has_path

        document = await service.plaintext_at()
        last = history_of(await service.recorded_events())[0]
        return has_path(document, "branding.companyName"), last.origin, last.last_modified_by

    assert api.run(stored) == (False, "unset", "alice")


def history_of(recorded: list[Any]) -> list[Any]:
    from projections.history import history_from

    return history_from(recorded)


def test_only_a_changed_setting_can_be_reset_and_a_stale_reset_conflicts(
    api: RunningApi,
) -> None:
    console = Console(api, api.token("alice"))
    version = hidden(console.get("/admin/settings/branding"), "_version")
    unchanged = console.post(
        "/admin/settings/branding/reset", {"_version": version, "reset": "branding.logo"}
    )
    assert unchanged.status_code == 404
    computed = console.post(
        "/admin/settings/security/reset",
        {"_version": version, "reset": "security.secrets.jwt_secret"},
    )
    assert computed.status_code == 404

    async def rename(service: ConfigService) -> None:
        await service.save({"branding": {"companyName": "Acme"}}, Author("bob", "rename"))

    api.run(rename)
    stale = console.post(
        "/admin/settings/branding/reset", {"_version": version, "reset": "branding.companyName"}
    )
    assert stale.status_code == 409
    assert CONFLICT in stale.text
    reader = Console(api, api.token("reader", READ))
    refused = reader.post(
        "/admin/settings/branding/reset", {"_version": "2", "reset": "branding.companyName"}
    )
    assert refused.status_code == 403


def test_search_finds_settings_by_label_path_and_help(api: RunningApi) -> None:
    console = Console(api, api.token("reader", READ))
    found = console.get("/admin/settings/search", params={"q": "idle timeout"})
    assert found.status_code == 200
    hits = found.text[found.text.index('<ol class="hits">') :]
    links = re.findall(r'<li>\s*<a href="([^"]+)">([^<]+)</a>', hits)
    assert links[0] == (
        "/admin/settings/security?focus=security.authentication.session.idle_timeout_minutes"
        "#f-security-authentication-session-idle_timeout_minutes",
        "Idle timeout (minutes)",
    )
    by_path = console.get("/admin/settings/search", params={"q": "smtp_port"}).text
    assert "integrations.email.smtp_port" in by_path
    by_help = console.get("/admin/settings/search", params={"q": "authenticator apps"}).text
    assert "security.authentication.multi_factor.totp.issuer_name" in by_help
    nothing = console.get("/admin/settings/search", params={"q": "zzzz nothing"}).text
    assert "0 settings found" in nothing
    # only what the console edits: runtime-only sections are not offered
    assert (
        "storage.sqlite.path"
        not in console.get("/admin/settings/search", params={"q": "sqlite"}).text
    )
    # the link opens the groups around the setting, without JavaScript
    target = console.get(links[0][0].split("#")[0]).text
    session_group = re.search(
        r'<details class="group depth-1" id="g-security-authentication-session"( open)?>', target
    )
    assert session_group
    assert session_group.group(1) == " open"
    assert re.search(
        r'<details class="group depth-1" id="g-security-authentication-login">', target
    )


def test_the_search_index_is_the_schemas_and_needs_a_session(api: RunningApi) -> None:
    anonymous = httpx.Client(base_url=api.base_url, timeout=30)
    assert anonymous.get("/admin/settings/search.json").status_code == 303
    console = Console(api, api.token("reader", READ))
    index = console.get("/admin/settings/search.json").json()
    paths = {entry["path"] for entry in index}
    assert "branding.companyName" in paths
    assert not any(p.startswith(("storage.", "oidc_storage.")) for p in paths)
    jwt = next(e for e in index if e["path"] == "security.secrets.jwt_secret")
    assert jwt["title"] == "Security › Secrets › JWT secret"
    assert jwt["url"].endswith("#f-security-secrets-jwt_secret")
    assert set(jwt) == {"path", "section", "title", "label", "help", "url"}  # no values


def test_section_pages_load_their_script_and_styles_without_inline_script(
    api: RunningApi,
) -> None:
    console = Console(api, api.token("alice"))
    page = console.get("/admin/settings/branding")
    assert '<script src="/admin/static/settings.js" defer></script>' in page.text
    assert '<link rel="stylesheet" href="/admin/static/settings.css">' in page.text
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page.text)
    assert "script-src 'self'" in page.headers["content-security-policy"]
    script = console.get("/admin/static/settings.js")
    assert script.status_code == 200
    assert "beforeunload" in script.text
    assert console.get("/admin/static/settings.css").status_code == 200


def test_a_conflict_keeps_the_edits_and_reapplies_those_that_do_not_overlap(
    api: RunningApi,
) -> None:
    console = Console(api, api.token("alice"))
    editor = console.get("/admin/settings/branding")
    version = hidden(editor, "_version")

    async def other_writer(service: ConfigService) -> None:
        await service.save({"branding": {"companyName": "Theirs"}}, Author("bob", "meanwhile"))

    api.run(other_writer)
    stale = console.post(
        "/admin/settings/branding",
        {
            "_version": version,
            "branding.companyName": "Mine",
            "branding.fonts.sans": "Inter, sans-serif",
            "branding.logo": "/images/logo-light.png",  # as shown: not an edit
        },
    )
    assert stale.status_code == 409
    assert CONFLICT in stale.text
    since = stale.text[stale.text.index('id="since"') :]
    assert re.search(r"<td[^>]*>1\.0\.1</td>\s*<td>bob</td>", since)
    assert "meanwhile" in since
    assert "<code>branding.companyName</code>" in since
    edits = stale.text[stale.text.index('id="edits"') :]
    edits = edits[: edits.index("</table>")]
    rows = {
        path: kind for kind, path in re.findall(r'<tr class="(\w+)" data-path="([^"]+)">', edits)
    }
    assert rows == {"branding.companyName": "overlaps", "branding.fonts.sans": "applies"}
    assert "now <code>Theirs</code>" in edits
    assert "Mine" in edits
    reapply = stale.text[stale.text.index('id="reapply"') :]
    assert 'name="_version" value="2"' in reapply
    assert 'name="branding.fonts.sans" value="Inter, sans-serif"' in reapply
    assert "branding.companyName" not in reapply
    assert "Review my 1 edit on 1.0.1…" in reapply
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', reapply))
    review = console.post("/admin/settings/branding", fields)
    assert review.status_code == 200, review.text
    changes = review.text[review.text.index('id="changes-title"') :]
    assert "branding.fonts.sans" in changes
    assert "branding.companyName" not in changes
    saved = console.post("/admin/settings/branding/save", {"pending": hidden(review, "pending")})
    assert saved.status_code == 303

    async def result(service: ConfigService) -> tuple[str, str | None]:
        branding = service.config.branding
        return branding.company_name, branding.fonts.sans

    assert api.run(result) == ("Theirs", "Inter, sans-serif")


def test_a_stale_confirmation_lists_its_edits_too(api: RunningApi) -> None:
    console = Console(api, api.token("alice"))
    editor = console.get("/admin/settings/integrations")
    preview = console.post(
        "/admin/settings/integrations",
        {
            "_version": hidden(editor, "_version"),
            "integrations.email.smtp_password": "typed-secret-value",
            "integrations.email.smtp_port": "2525",
        },
    )

    async def other_writer(service: ConfigService) -> None:
        await service.save({"integrations": {"email": {"smtp_port": 465}}}, Author("bob", "tls"))

    api.run(other_writer)
    saved = console.post(
        "/admin/settings/integrations/save", {"pending": hidden(preview, "pending")}
    )
    assert saved.status_code == 409
    edits = saved.text[saved.text.index('id="edits"') :]
    assert re.search(r'<tr class="overlaps" data-path="integrations.email.smtp_port">', edits)
    assert re.search(r'<tr class="applies" data-path="integrations.email.smtp_password">', edits)
    table = edits[: edits.index("</table>")]
    assert "typed-secret-value" not in table  # shown masked
    assert MASK in table


# --- the audit trail: pages, filters in the URL, exports ---------------------------------------


def _links(response: httpx.Response, rel: str) -> list[str]:
    import html

    return [
        html.unescape(href) for href in re.findall(rf'href="([^"]+)" rel="{rel}"', response.text)
    ]


def _audit_rows(response: httpx.Response) -> list[str]:
    body = response.text[response.text.index("<tbody>") : response.text.index("</tbody>")]
    return re.findall(r'<time datetime="[^"]+">.*?</tr>', body, re.S)


def test_the_audit_page_pages_with_the_apis_cursor_and_keeps_its_filters(api: RunningApi) -> None:
    from urllib.parse import parse_qs, urlsplit

    from projections.audit import decode_cursor

    async def saves(service: ConfigService) -> None:
        for n in range(60):
            await service.save({"branding": {"companyName": f"Name {n}"}}, Author("bob", f"n{n}"))
        await service.save({"application": {"title": "Other"}}, Author("carol", "other"))

    api.run(saves)
    console = Console(api, api.token("alice"))
    first = console.get("/admin/settings/audit?path=branding.companyName&kind=change&actor=bob")
    assert first.status_code == 200
    assert "60 entries match, newest first; showing 1–50." in first.text
    rows = _audit_rows(first)
    assert len(rows) == 50
    assert "Name 59" in rows[0]  # newest first
    assert "application.title" not in first.text
    (next_url,) = _links(first, "next")
    query = parse_qs(urlsplit(next_url).query)
    # the filters ride along, and the cursor is the API's own
    assert query["path"] == ["branding.companyName"]
    assert (query["kind"], query["actor"]) == (["change"], ["bob"])
    assert decode_cursor(query["cursor"][0])[0] > 0

    # an entry recorded meanwhile does not shift the next page
    api.run(lambda s: s.save({"branding": {"companyName": "Late"}}, Author("bob", "late")))
    second = console.get(next_url)
    assert "showing 51–60." in second.text
    assert [r for r in _audit_rows(second) if "Name 9<" in r or "Name 0<" in r]
    assert not _links(second, "next")
    assert _links(second, "first") == [
        "/admin/settings/audit?path=branding.companyName&actor=bob&kind=change"
    ]
    shown = [re.findall(r"Name \d+", r)[-1] for r in rows + _audit_rows(second)]  # the "after"
    assert shown == [f"Name {n}" for n in range(59, -1, -1)]

    bad = console.get("/admin/settings/audit?cursor=not-a-cursor&kind=change")
    assert bad.status_code == 400
    assert "not valid" in bad.text


def test_the_kind_filter_lists_every_kind_of_audit_entry(api: RunningApi) -> None:
    from typing import get_args

    from adapters.admin.routes_history import AUDIT_KINDS
    from projections.audit import EntryKind

    assert set(AUDIT_KINDS) == set(get_args(EntryKind))
    console = Console(api, api.token("alice"))
    page = console.get("/admin/settings/audit?kind=sign-out").text
    select = page[page.index('<select id="a-kind"') : page.index("</select>")]
    options = re.findall(r'<option value="([^"]*)"', select)
    assert options == ["", *AUDIT_KINDS]
    assert '<option value="sign-out" selected>' in select
    # the tokens minted by the tests are audited like any token
    tokens = console.get("/admin/settings/audit?kind=token").text
    assert "API token created" in tokens
    assert "alice" in tokens


def test_audit_exports_hold_every_matching_entry_as_csv_and_json(api: RunningApi) -> None:
    import csv
    import io

    secret = "smtp-password-never-exported"

    async def saves(service: ConfigService) -> None:
        for n in range(55):
            await service.save({"branding": {"companyName": f"C{n}"}}, Author("bob", "bulk"))
        await service.save({"branding": {"companyName": "=HYPERLINK(1)"}}, Author("bob", "+x"))
        await service.save(
            {"integrations": {"email": {"smtp_password": secret}}}, Author("bob", "smtp")
        )

    api.run(saves)
    console = Console(api, api.token("alice"))
    page = console.get("/admin/settings/audit?actor=bob")
    csv_url, json_url = re.findall(r'href="(/admin/settings/audit/export[^"]+)"', page.text)
    assert "actor=bob" in csv_url
    assert "format=csv" in csv_url
    exported = console.get(csv_url.replace("&amp;", "&"))
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    assert exported.headers["content-disposition"].startswith('attachment; filename="')
    assert exported.headers["cache-control"] == "no-store"
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert len(rows) == 57  # every entry, not one page
    assert {row["who"] for row in rows} == {"bob"}
    assert rows[0]["new"] == "C0"  # oldest first
    assert rows[55]["new"] == "'=HYPERLINK(1)"  # a formula is made inert
    assert rows[55]["why"] == "'+x"
    assert secret not in exported.text
    assert rows[56]["new"] == MASK

    as_json = console.get(json_url.replace("&amp;", "&"))
    assert as_json.headers["content-type"].startswith("application/json")
    body = as_json.json()
    assert body["filters"] == {"actor": "bob"}
    assert body["count"] == len(body["entries"]) == 57
    assert body["entries"][55]["new"] == "=HYPERLINK(1)"
    assert secret not in as_json.text
    only_reveals = console.get("/admin/settings/audit/export?format=json&kind=reveal").json()
    assert only_reveals["count"] == 0
    assert console.get("/admin/settings/audit/export?format=xml").status_code == 400
    reader = Console(api, api.token("tenants-only", TENANT_READ))
    assert reader.get("/admin/settings/audit/export?format=csv").status_code == 403


def test_audit_pages_newest_first_with_the_same_cursor() -> None:
    from datetime import UTC, datetime

    from projections.audit import AuditEntry, encode_cursor, page

    def entry(position: int, index: int) -> AuditEntry:
        at = datetime(2030, 1, 1, tzinfo=UTC)
        return AuditEntry(
            "change", "a", at, "", "p", 0, 1, 1, "1.0.0", "save", "s", position, index
        )

    entries = [entry(p, i) for p in (1, 2, 3) for i in (0, 1)]
    first, cursor = page(entries, None, 4, newest_first=True)
    assert [e.key for e in first] == [(3, 1), (3, 0), (2, 1), (2, 0)]
    assert cursor == encode_cursor((2, 0))
    rest, last = page(entries, cursor, 4, newest_first=True)
    assert ([e.key for e in rest], last) == ([(1, 1), (1, 0)], None)
    after = page(entries, cursor, 4)[0]  # oldest first: what comes after it in the log
    assert [e.key for e in after] == [(2, 1), (3, 0), (3, 1)]


# --- the site root, the icon, the look --------------------------------------------------------


def test_the_root_redirects_to_the_console_and_the_icon_is_served(api: RunningApi) -> None:
    client = httpx.Client(base_url=api.base_url, timeout=30)
    root = client.get("/")
    assert (root.status_code, root.headers["location"]) == (302, "/admin")
    assert client.get("/", follow_redirects=True).url.path == "/admin/login"
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200
    assert icon.headers["content-type"] == "image/vnd.microsoft.icon"
    assert icon.content[:4] == b"\x00\x00\x01\x00"
    svg = client.get("/admin/static/favicon.svg")
    assert svg.headers["content-type"] == "image/svg+xml"
    assert svg.text.startswith("<svg")
    login = client.get("/admin/login").text
    assert '<link rel="icon" href="/admin/static/favicon.svg" type="image/svg+xml">' in login
    # the API's own paths are untouched, and its 404 keeps its shape
    missing = client.get("/nowhere")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    assert client.get("/api/v1/health").status_code == 200
    # no setting may take the icon's path
    writer = api.client(api.token("writer"))
    refused = writer.put("/config/features", json={"metrics": {"path": "/favicon.ico"}})
    assert refused.status_code == 422
    assert refused.json()["error"]["details"][0]["path"] == "features.metrics.path"


def test_the_stylesheet_has_a_dark_scheme_and_never_breaks_words_anywhere(
    api: RunningApi,
) -> None:
    css = httpx.get(f"{api.base_url}/admin/static/admin.css").text
    assert "@media (prefers-color-scheme: dark)" in css
    assert "overflow-wrap: anywhere" not in css.split("table.list, table.diff {")[1].split("}")[1]
    assert ".table-scroll" in css
    page = Console(api, api.token("alice")).get("/admin/settings/audit").text
    assert '<meta name="color-scheme" content="light dark">' in page
    assert '<div class="table-scroll">' in page


# --- tenants: create, edit a section with a preview, reset, roll back -------------------------


def _tenant_field(html: str, path: str) -> str:
    """The markup of one field of a tenant's section editor."""
    start = html.index(f'data-path="{path}"')
    ends = [html.find(m, start + 1) for m in ('data-path="', "</fieldset>")]
    return html[start : min(e for e in ends if e != -1)]


def _tenant_overrides(api: RunningApi, slug: str = "acme") -> tuple[int, dict[str, Any]]:
    async def read(service: ConfigService) -> tuple[int, dict[str, Any]]:
        assert service.tenants is not None
        state = await service.tenants.overrides(slug)
        return state.version, service.tenants.commands.plaintext(slug, state)

    return api.run(read)


def test_a_tenant_writer_creates_tenants_and_a_reader_only_looks(tenant_api: RunningApi) -> None:
    from eventstore.tokens import TENANT_WRITE

    writer = Console(tenant_api, tenant_api.token("ops", READ, TENANT_READ, TENANT_WRITE))
    listing = writer.get("/admin/tenants").text
    assert 'action="/admin/tenants"' in listing
    refused = writer.post("/admin/tenants", {"slug": "Not A Slug"})
    assert refused.status_code == 422
    assert "not created" in refused.text
    assert 'value="Not A Slug"' in refused.text  # what was typed stays
    created = writer.post(
        "/admin/tenants",
        {"slug": "globex", "display_name": "Globex", "domain": "", "reason": "onboarding"},
    )
    assert created.headers["location"] == "/admin/tenants/globex?created=1"
    detail = writer.get(created.headers["location"]).text
    assert "Tenant created" in detail
    assert 'href="/admin/tenants/globex/sections/oidc"' in detail
    assert writer.post("/admin/tenants", {"slug": "globex"}).status_code == 422  # exists

    reader = Console(tenant_api, tenant_api.token("auditor", TENANT_READ))
    assert 'action="/admin/tenants"' not in reader.get("/admin/tenants").text
    assert reader.post("/admin/tenants", {"slug": "initech"}).status_code == 403
    editor = reader.get("/admin/tenants/acme/sections/branding")
    assert editor.status_code == 200
    assert 'name="branding.companyName"' not in editor.text  # read-only: no named inputs
    assert "Read-only" in editor.text
    for path in (
        "/admin/tenants/acme/sections/branding",
        "/admin/tenants/acme/sections/branding/save",
        "/admin/tenants/acme/sections/branding/reset",
        "/admin/tenants/acme/rollback",
    ):
        assert reader.post(path, {"reason": "x"}).status_code == 403, path
    assert reader.get("/admin/tenants/acme/history/1.0.0").status_code == 403
    assert _tenant_overrides(tenant_api)[0] == 0


def test_a_tenant_section_is_previewed_with_the_policy_then_saved(tenant_api: RunningApi) -> None:
    from adapters.admin.tenant_editor import section_paths
    from eventstore.tokens import TENANT_WRITE

    console = Console(tenant_api, tenant_api.token("ops", READ, TENANT_READ, TENANT_WRITE))
    editor = console.get("/admin/tenants/acme/sections/oidc")
    assert editor.status_code == 200
    listed = re.findall(r'class="field tenant-field [^"]*" data-path="([^"]+)"', editor.text)
    assert listed == list(section_paths("oidc"))  # the allow-list only
    assert 'data-path="oidc.issuer"' not in editor.text
    # an empty input inherits, and shows what it inherits
    access = _tenant_field(editor.text, "oidc.token_ttl.access_token")
    assert 'value=""' in access
    assert 'Platform value: <span class="inherited-value">3600</span>' in access
    version = hidden(editor, "_version")

    preview = console.post(
        "/admin/tenants/acme/sections/oidc",
        {"_version": version, "oidc.token_ttl.access_token": "999999"},
    )
    assert preview.status_code == 200
    adjustments = preview.text[preview.text.index('id="adjustments-title"') :]
    row = re.search(
        r"<tr><th scope=\"row\"><code>oidc.token_ttl.access_token</code>.*?</tr>", adjustments, re.S
    )
    assert row
    assert "999999" in row.group(0)
    assert "3600" in row.group(0)
    assert "oidc.token_ttl.access_token" in preview.text[preview.text.index('id="changes-title"') :]
    assert _tenant_overrides(tenant_api)[0] == 0  # a preview writes nothing

    saved = console.post(
        "/admin/tenants/acme/sections/oidc/save",
        {"pending": hidden(preview, "pending"), "reason": "shorter tokens"},
    )
    assert saved.status_code == 303
    assert saved.headers["location"] == "/admin/tenants/acme?saved=1.0.0&adjusted=1"
    assert "the platform policy adjusted 1 value(s)" in console.get(saved.headers["location"]).text
    version_now, stored = _tenant_overrides(tenant_api)
    assert (version_now, stored) == (1, {"oidc": {"token_ttl": {"access_token": 3600}}})
    shown = console.get("/admin/tenants/acme/sections/oidc").text
    kept = _tenant_field(shown, "oidc.token_ttl.access_token")
    assert 'value="3600"' in kept  # what the policy kept is stored
    assert (
        '<div class="field tenant-field override" data-path="oidc.token_ttl.access_token"' in shown
    )
    audit = console.get("/admin/settings/audit?kind=adjustment").text
    assert "oidc.token_ttl.access_token" in audit
    assert "must be &lt;= platform value (3600)" in audit
    changes = console.get("/admin/settings/audit?kind=change&actor=ops&path=oidc").text
    assert "shorter tokens" in changes
    assert "tenant acme" in changes

    # a value the schema refuses comes back next to its input, and nothing is written
    bad = console.post(
        "/admin/tenants/acme/sections/branding",
        {"_version": "1", "branding.colors.light.primary": "blue", "branding.companyName": "Acme"},
    )
    assert bad.status_code == 422
    assert 'id="t-branding-colors-light-primary-error">Invalid hex color</p>' in bad.text
    assert 'value="Acme"' in bad.text
    assert _tenant_overrides(tenant_api)[0] == 1

    # a preview made before someone else's write cannot be saved over it
    stale = console.post(
        "/admin/tenants/acme/sections/branding",
        {"_version": "1", "branding.companyName": "Acme"},
    )

    async def other_writer(service: ConfigService) -> None:
        assert service.tenants is not None
        await service.tenants.save(
            "acme", {"branding": {"companyName": "Theirs"}}, Author("b", "x")
        )

    tenant_api.run(other_writer)
    conflict = console.post(
        "/admin/tenants/acme/sections/branding/save", {"pending": hidden(stale, "pending")}
    )
    assert conflict.status_code == 409
    assert CONFLICT in conflict.text
    assert _tenant_overrides(tenant_api)[1]["branding"] == {"companyName": "Theirs"}


def test_tenant_secrets_stay_masked_and_a_guess_always_shows_as_a_change(
    tenant_api: RunningApi,
) -> None:
    from eventstore.tokens import TENANT_WRITE

    secret = "tenant-smtp-password"
    console = Console(tenant_api, tenant_api.token("ops", READ, TENANT_READ, TENANT_WRITE))
    preview = console.post(
        "/admin/tenants/acme/sections/integrations",
        {"_version": "0", "integrations.email.smtp_password": secret},
    )
    assert preview.status_code == 200
    assert secret not in preview.text
    save = {"pending": hidden(preview, "pending")}
    assert console.post("/admin/tenants/acme/sections/integrations/save", save).status_code == 303
    assert _tenant_overrides(tenant_api)[1]["integrations"]["email"]["smtp_password"] == secret
    editor = console.get("/admin/tenants/acme/sections/integrations")
    assert secret not in editor.text
    field = editor.text[editor.text.index('id="t-integrations-email-smtp_password"') - 200 :]
    assert f'value="{MASK}"' in field[:500]
    # the right guess is shown as a change all the same (never an oracle)
    guess = console.post(
        "/admin/tenants/acme/sections/integrations",
        {"_version": "1", "integrations.email.smtp_password": secret},
    )
    assert (
        "integrations.email.smtp_password" in guess.text[guess.text.index('id="changes-title"') :]
    )
    # leaving the mask keeps the secret
    kept = console.post(
        "/admin/tenants/acme/sections/integrations",
        {"_version": "1", "integrations.email.smtp_password": MASK},
    )
    assert "0 overrides will change" in kept.text


def test_a_tenant_section_resets_and_the_overrides_roll_back(tenant_api: RunningApi) -> None:
    from eventstore.tokens import TENANT_WRITE

    async def two_writes(service: ConfigService) -> None:
        assert service.tenants is not None
        await service.tenants.save("acme", {"branding": {"companyName": "One"}}, Author("o", "1"))
        await service.tenants.save("acme", {"branding": {"companyName": "Two"}}, Author("o", "2"))

    tenant_api.run(two_writes)
    console = Console(tenant_api, tenant_api.token("ops", READ, TENANT_READ, TENANT_WRITE))
    history = console.get("/admin/tenants/acme/history").text
    assert history.index('id="v-1.0.1"') < history.index('id="v-1.0.0"')  # newest first
    assert 'href="/admin/tenants/acme/history/1.0.0"' in history
    diff = console.get("/admin/tenants/acme/diff?from=1.0.0&to=1.0.1").text
    assert "One" in diff
    assert "Two" in diff
    assert console.get("/admin/tenants/acme/diff?from=9.9.9&to=1.0.1").status_code == 404

    form = console.get("/admin/tenants/acme/history/1.0.0")
    assert "Two" in form.text
    assert "One" in form.text
    missing_reason = console.post(
        "/admin/tenants/acme/rollback", {"version": "1.0.0", "_version": "2", "reason": ""}
    )
    assert missing_reason.status_code == 422
    assert "A reason is required to roll back." in missing_reason.text
    rolled = console.post(
        "/admin/tenants/acme/rollback",
        {"version": "1.0.0", "_version": hidden(form, "_version"), "reason": "undo"},
    )
    assert rolled.headers["location"] == "/admin/tenants/acme/history?rolled_back=1.0.2"
    assert _tenant_overrides(tenant_api)[1] == {"branding": {"companyName": "One"}}
    assert "rolled back to 1.0.0" in console.get(rolled.headers["location"]).text

    reset = console.post(
        "/admin/tenants/acme/sections/branding/reset", {"_version": "3", "reason": "inherit"}
    )
    assert reset.headers["location"] == "/admin/tenants/acme?reset=branding"
    assert _tenant_overrides(tenant_api) == (4, {})

    # an emptied form is a reset too: previewed, then saved
    async def override(service: ConfigService) -> None:
        assert service.tenants is not None
        await service.tenants.save("acme", {"branding": {"companyName": "X"}}, Author("o", "3"))

    tenant_api.run(override)
    emptied = console.post(
        "/admin/tenants/acme/sections/branding", {"_version": "5", "branding.companyName": ""}
    )
    assert "1 override will change" in emptied.text
    done = console.post(
        "/admin/tenants/acme/sections/branding/save", {"pending": hidden(emptied, "pending")}
    )
    assert done.status_code == 303
    assert _tenant_overrides(tenant_api) == (6, {})


# --- API tokens in the console ----------------------------------------------------------------


def test_the_token_page_issues_a_token_once_and_revokes_it_both_audited(api: RunningApi) -> None:
    from eventstore.tokens import TOKENS_ADMIN

    console = Console(api, api.token("admin", READ, TOKENS_ADMIN))
    listing = console.get("/admin/tokens")
    assert listing.status_code == 200
    assert '<a href="/admin/tokens">Tokens</a>' in listing.text
    issued = console.post("/admin/tokens", {"name": "ci-bot", "scopes": [READ]})
    assert issued.status_code == 200
    assert issued.headers["cache-control"] == "no-store"
    plaintext = re.search(r'id="new-token" class="token-value" value="(pkc_[^"]+)"', issued.text)
    assert plaintext
    token = plaintext.group(1)
    assert api.client(token).get("/config").status_code == 200
    again = console.get("/admin/tokens").text
    assert token not in again  # shown once
    assert 'id="token-ci-bot"' in again
    assert console.post("/admin/tokens", {"name": "ci-bot", "scopes": [READ]}).status_code == 422

    revoked = console.post("/admin/tokens/ci-bot/revoke", {})
    assert revoked.headers["location"] == "/admin/tokens?revoked=ci-bot"
    assert api.client(token).get("/config").status_code == 401
    assert console.post("/admin/tokens/ci-bot/revoke", {}).status_code == 404
    audit = console.get("/admin/settings/audit?kind=token&actor=admin").text
    rows = [r for r in _audit_rows(console.get("/admin/settings/audit?kind=token&actor=admin"))]
    assert len(rows) == 2
    assert "API token revoked" in rows[0]
    assert "API token created" in rows[1]
    assert "ci-bot" in audit
    assert token not in audit


def test_a_token_gets_no_scope_its_issuer_lacks(api: RunningApi) -> None:
    from eventstore.tokens import TOKEN_STREAM, TOKENS_ADMIN, WRITE

    console = Console(api, api.token("delegate", READ, TOKENS_ADMIN))
    page = console.get("/admin/tokens").text
    write_box = re.search(rf'<input type="checkbox" [^>]*value="{WRITE}"[^>]*>', page)
    assert write_box
    assert "disabled" in write_box.group(0)

    async def head(service: ConfigService) -> int:
        return await service.event_log.stream_version(TOKEN_STREAM)

    before = api.run(head)
    refused = console.post("/admin/tokens", {"name": "escalated", "scopes": [READ, WRITE]})
    assert refused.status_code == 403
    assert f"you cannot grant a scope your own token lacks: {WRITE}" in refused.text
    assert api.run(head) == before
    assert console.post("/admin/tokens", {"name": "bad name!", "scopes": [READ]}).status_code == 422
    assert console.post("/admin/tokens", {"name": "none", "scopes": []}).status_code == 422


def test_the_token_page_needs_its_scope_and_a_csrf_token(api: RunningApi) -> None:
    from eventstore.tokens import TOKENS_ADMIN

    reader = Console(api, api.token("reader", READ))
    assert reader.get("/admin/tokens").status_code == 403
    assert '<a href="/admin/tokens">' not in reader.get("/admin/settings").text
    assert reader.post("/admin/tokens", {"name": "x", "scopes": [READ]}).status_code == 403
    admin = Console(api, api.token("keys-only", TOKENS_ADMIN))
    assert admin.landing == "/admin/tokens"
    assert (
        admin.post("/admin/tokens", {"name": "x", "scopes": [TOKENS_ADMIN]}, csrf=False).status_code
        == 403
    )
    assert admin.post("/admin/tokens/reader/revoke", {}, csrf=False).status_code == 403
    assert api.client(api.token("probe", READ)).get("/config").status_code == 200  # reader lives


# --- the history a page at a time ------------------------------------------------------------


async def _sixty_saves(service: ConfigService) -> None:
    for n in range(60):
        await service.save({"branding": {"companyName": f"Name {n}"}}, Author("bob", f"n{n}"))


def _history_versions(response: httpx.Response) -> list[str]:
    return re.findall(r'<li class="version" id="v-([0-9.]+)">', response.text)


def _history_count(response: httpx.Response) -> str:
    found = re.search(r'<p id="history-count">([^<]*)</p>', response.text)
    assert found, response.text[:500]
    return found.group(1)


def test_the_history_shows_the_newest_page_and_pages_back_to_the_first_version(
    api: RunningApi,
) -> None:
    from adapters.admin.routes_history import HISTORY_PAGE

    api.run(_sixty_saves)  # 61 versions: the initial one and 60 saves
    console = Console(api, api.token("alice"))
    newest = console.get("/admin/settings/history")
    assert newest.status_code == 200
    shown = _history_versions(newest)
    assert shown == [f"1.0.{n}" for n in range(60, 60 - HISTORY_PAGE, -1)]
    assert _history_count(newest) == f"Versions {61 - HISTORY_PAGE + 1}–61 of 61, newest first."
    assert newest.text.count('<span class="tag current">current</span>') == 1
    assert not _links(newest, "first")
    seen = list(shown)
    page = newest
    while older := _links(page, "next"):
        (url,) = older
        page = console.get(url)
        assert page.status_code == 200
        assert _links(page, "first") == ["/admin/settings/history"]
        assert len(_history_versions(page)) <= HISTORY_PAGE
        seen += _history_versions(page)
    assert seen == [f"1.0.{n}" for n in range(60, -1, -1)]  # every version, once, in order
    assert _history_count(page) == "Versions 1–11 of 61, newest first."
    # an old page: no "current", but a diff with it and a restore of each version
    assert "tag current" not in page.text
    assert 'href="/admin/settings/diff?from=1.0.0&amp;to=1.0.60"' in page.text
    assert 'href="/admin/settings/history/1.0.0"' in page.text
    (newer,) = _links(page, "prev")
    assert _history_versions(console.get(newer))[-1] == "1.0.11"  # the page before it
    # a page link a version saved meanwhile does not shift, and a bound past the end is the
    # newest page
    api.run(lambda s: s.save({"branding": {"companyName": "Late"}}, Author("bob", "late")))
    assert _history_versions(console.get("/admin/settings/history?before=12"))[0] == "1.0.10"
    assert _history_versions(console.get("/admin/settings/history?before=999"))[0] == "1.0.61"
    assert _history_versions(console.get("/admin/settings/history?before=x"))[0] == "1.0.61"


def test_an_old_version_is_shown_compared_and_restored(api: RunningApi) -> None:
    api.run(_sixty_saves)
    console = Console(api, api.token("alice"))
    form = console.get("/admin/settings/history/1.0.1")
    assert form.status_code == 200
    assert "Name 0" in form.text
    diff = console.get("/admin/settings/diff?from=1.0.1&to=1.0.2")
    assert diff.status_code == 200
    assert "Name 0" in diff.text
    assert "Name 1" in diff.text
    selects = re.findall(r"<select[^>]*>(.*?)</select>", diff.text, re.S)
    assert len(selects) == 2
    for select in selects:
        options = re.findall(r"<option[^>]*>([0-9.]+)</option>", select)
        assert options[0] == "1.0.60"  # the newest page, then the two compared
        assert options[-2:] == ["1.0.2", "1.0.1"]
    assert "<option selected>1.0.1</option>" in selects[0]
    assert "<option selected>1.0.2</option>" in selects[1]
    newest = console.get("/admin/settings/diff")
    assert re.search(r"<h1>Diff 1\.0\.59 → 1\.0\.60</h1>", newest.text)
    for path in (
        "/admin/settings/diff?from=1.0.99&to=1.0.1",
        "/admin/settings/diff?from=1.0.1&to=nonsense",
        "/admin/settings/history/1.0.61",
    ):
        assert console.get(path).status_code == 404, path
    restored = console.post(
        "/admin/settings/restore",
        {"version": "1.0.1", "reason": "back to the start", "_version": hidden(form, "_version")},
    )
    assert restored.status_code == 303, restored.text
    assert restored.headers["location"] == "/admin/settings/history?restored=1.0.61"
    assert api.run(lambda s: _company(s)) == "Name 0"
    missing = console.post("/admin/settings/restore", {"version": "1.0.99", "reason": "x"})
    assert missing.status_code == 404


async def _company(service: ConfigService) -> str:
    return service.config.branding.company_name


class PlatformReads:
    """Counts the platform events a served log hands out (``read_stream`` and ``read_all``)."""

    def __init__(self) -> None:
        self.events = 0

    async def wrap(self, service: ConfigService) -> None:
        from eventstore.state import PLATFORM_STREAM

        log: Any = service.event_log
        for name in ("read_stream", "read_all"):
            original = getattr(log, name)

            async def counted(*args: Any, _original: Any = original, **kwargs: Any) -> Any:
                found = await _original(*args, **kwargs)
                self.events += sum(1 for event in found if event.stream == PLATFORM_STREAM)
                return found

            setattr(log, name, counted)


def test_a_history_page_reads_its_own_versions_not_the_whole_log(tmp_path: Path) -> None:
    from support.api_support import serving

    from adapters.admin.routes_history import HISTORY_PAGE

    reads = PlatformReads()

    async def prepare(service: ConfigService) -> None:
        await _sixty_saves(service)  # by the serving process: it has nothing to catch up on
        await reads.wrap(service)

    with serving(tmp_path, prepare=prepare) as api:
        console = Console(api, api.token("alice"))
        console.get("/admin/settings/audit")  # the session and the token table are read
        reads.events = 0
        newest = console.get("/admin/settings/history")
        assert len(_history_versions(newest)) == HISTORY_PAGE
        assert reads.events == HISTORY_PAGE
        reads.events = 0
        (older,) = _links(newest, "next")
        assert len(_history_versions(console.get(older))) == HISTORY_PAGE
        assert reads.events == HISTORY_PAGE
        reads.events = 0
        assert console.get("/admin/settings/history?before=3").status_code == 200
        assert reads.events == 2
