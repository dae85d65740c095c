"""The admin console: stolen cookies, sign-in floods behind proxies and across processes, cookie
flags, and guessing secrets through previews. Everything over real HTTP, as a browser would."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from support.api_support import RunningApi, serving

from adapters.http.limits import SIGN_IN_FAILURES_PER_WINDOW, UNKNOWN_CLIENT, client_address
from adapters.service import ConfigService
from eventstore.tokens import TokenStore

_CSRF = re.compile(r'name="_csrf" value="([^"]+)"')
JWT = "security.secrets.jwt_secret"


def _csrf(response: httpx.Response) -> str:
    found = _CSRF.search(response.text)
    assert found, response.text[:500]
    return found.group(1)


def _hidden(response: httpx.Response, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', response.text)
    assert found, f"no hidden {name}"
    return found.group(1)


def sign_in(api: RunningApi, token: str, **headers: str) -> httpx.Response:
    """One sign-in through the form, from a fresh browser; the answer to the post."""
    browser = httpx.Client(base_url=api.base_url, headers=headers, timeout=30)
    form = browser.get("/admin/login")
    return browser.post("/admin/login", data={"_csrf": _csrf(form), "token": token})


class Browser:
    """A signed-in browser: its cookies, and the CSRF token its pages carry."""

    def __init__(self, api: RunningApi, token: str) -> None:
        self.http = httpx.Client(base_url=api.base_url, timeout=30)
        form = self.http.get("/admin/login")
        signed = self.http.post("/admin/login", data={"_csrf": _csrf(form), "token": token})
        assert signed.status_code == 303, signed.text
        self.csrf = _csrf(self.http.get("/admin/settings"))

    def copy(self, base_url: str) -> httpx.Client:
        """Another client holding the same cookies (a stolen or copied cookie jar)."""
        return httpx.Client(base_url=base_url, cookies=dict(self.http.cookies), timeout=30)

    def post(self, path: str, data: dict[str, Any]) -> httpx.Response:
        return self.http.post(path, data={**data, "_csrf": self.csrf})


@pytest.fixture
def second(api: RunningApi) -> Iterator[RunningApi]:
    """Another API process over the same store as ``api``."""
    with serving(api.root, api.environ) as running:
        yield running


def _stored(api: RunningApi, path: str) -> Any:
    async def read(service: ConfigService) -> Any:
        document = await service.plaintext_at()
        for key in path.split("."):
            document = document[key]
        return document

    return api.run(read)


def _version(api: RunningApi) -> int:
    async def read(service: ConfigService) -> int:
        return service.version

    return api.run(read)


# --- sign-out ---------------------------------------------------------------------------------


def _refused_everywhere(copy: httpx.Client, csrf: str, version: str) -> None:
    """Every page, a reveal and a save answer the copied cookie with the sign-in form."""
    for path in ("/admin/settings", "/admin/settings/security", "/admin/settings/audit"):
        assert copy.get(path).headers.get("location") == "/admin/login", path
    posts = {
        "/admin/settings/reveal": {"reveal": JWT},
        "/admin/settings/branding": {"_version": version, "branding.companyName": "Stolen"},
    }
    for path, data in posts.items():
        response = copy.post(path, data={**data, "_csrf": csrf})
        assert response.status_code == 303, path
        assert response.headers["location"] == "/admin/login", path


def test_a_cookie_copied_before_sign_out_is_refused_after_it(api: RunningApi) -> None:
    alice = Browser(api, api.token("alice"))
    copy = alice.copy(api.base_url)
    version = _hidden(alice.http.get("/admin/settings/branding"), "_version")
    assert copy.get("/admin/settings").status_code == 200  # the copy works while signed in

    assert alice.post("/admin/logout", {}).status_code == 303
    _refused_everywhere(copy, alice.csrf, version)
    assert _version(api) == 1  # nothing was saved


def test_a_sign_out_in_one_process_ends_the_session_in_every_other(
    api: RunningApi, second: RunningApi
) -> None:
    alice = Browser(api, api.token("alice"))
    elsewhere = alice.copy(second.base_url)
    version = _hidden(elsewhere.get("/admin/settings/branding"), "_version")
    assert elsewhere.get("/admin/settings").status_code == 200

    assert alice.post("/admin/logout", {}).status_code == 303
    _refused_everywhere(elsewhere, alice.csrf, version)


def test_a_session_of_a_revoked_token_is_refused_by_every_process(
    api: RunningApi, second: RunningApi
) -> None:
    alice = Browser(api, api.token("alice"))
    elsewhere = alice.copy(second.base_url)
    version = _hidden(elsewhere.get("/admin/settings/branding"), "_version")

    async def revoke(service: ConfigService) -> None:
        await TokenStore(service.event_log).revoke("alice", "security")

    api.run(revoke)
    _refused_everywhere(alice.copy(api.base_url), alice.csrf, version)
    _refused_everywhere(elsewhere, alice.csrf, version)


def test_signing_out_does_not_end_other_sessions_of_the_same_token(api: RunningApi) -> None:
    token = api.token("alice")
    laptop, desktop = Browser(api, token), Browser(api, token)
    assert laptop.post("/admin/logout", {}).status_code == 303
    assert desktop.http.get("/admin/settings").status_code == 200


# --- the sign-in limit ------------------------------------------------------------------------


def _wrong(token: str) -> str:
    """A wrong token with the same first characters as ``token`` (the same limit key)."""
    return token[:20] + ("A" if token[20] != "A" else "B") + token[21:]


def test_failed_sign_ins_from_one_proxy_do_not_lock_out_other_clients(api: RunningApi) -> None:
    victim = api.token("victim")
    # every request comes from the proxy's address (127.0.0.1); with no forwarded address at
    # all, the attacker's wrong token and the victim's right one share that address
    attempts = [sign_in(api, "pkc_guessed-by-the-attacker").status_code for _ in range(15)]
    assert attempts[:SIGN_IN_FAILURES_PER_WINDOW] == [401] * SIGN_IN_FAILURES_PER_WINDOW
    assert set(attempts[SIGN_IN_FAILURES_PER_WINDOW:]) == {429}
    assert sign_in(api, victim).status_code == 303
    # and the forwarded address of another client behind the proxy counts on its own, even for
    # the victim's own token's beginning
    for _ in range(15):
        sign_in(api, _wrong(victim), **{"X-Forwarded-For": "203.0.113.9"})
    assert sign_in(api, _wrong(victim), **{"X-Forwarded-For": "203.0.113.9"}).status_code == 429
    assert sign_in(api, victim, **{"X-Forwarded-For": "198.51.100.7"}).status_code == 303


def test_a_forged_forwarded_for_entry_does_not_reset_the_limit(api: RunningApi) -> None:
    # one trusted proxy (the default): only the entry it appended counts; what the client wrote
    # to the left of it is the client's to invent and is never read
    answers = [
        sign_in(api, "pkc_same-wrong-token", **{"X-Forwarded-For": f"10.9.{n}.1, 203.0.113.9"})
        for n in range(SIGN_IN_FAILURES_PER_WINDOW + 2)
    ]
    assert answers[-1].status_code == 429
    assert int(answers[-1].headers["retry-after"]) >= 1


def test_a_second_process_does_not_double_the_sign_in_limit(
    api: RunningApi, second: RunningApi
) -> None:
    half = SIGN_IN_FAILURES_PER_WINDOW // 2
    for server in (api, second):
        for _ in range(half):
            assert sign_in(server, "pkc_wrong-everywhere").status_code == 401
    assert sign_in(api, "pkc_wrong-everywhere").status_code == 429
    assert sign_in(second, "pkc_wrong-everywhere").status_code == 429


def test_successful_sign_ins_never_count(api: RunningApi) -> None:
    token = api.token("alice")
    for _ in range(SIGN_IN_FAILURES_PER_WINDOW + 5):
        assert sign_in(api, token).status_code == 303
    # the failures before the limit are all still there to use: the successes took none
    for _ in range(SIGN_IN_FAILURES_PER_WINDOW):
        assert sign_in(api, _wrong(token)).status_code == 401
    assert sign_in(api, token).status_code == 429  # then the limit holds, for this key only


# --- cookie flags -----------------------------------------------------------------------------


def test_the_session_cookie_is_secure_in_production(tmp_path: Path) -> None:
    from conftest import SECRETS_ENV

    with serving(tmp_path, {"DEPLOYMENT_ENVIRONMENT": "production", **SECRETS_ENV}) as prod:
        token = prod.token("alice")
        # plain HTTP, and a proxy that says so: the cookie is Secure all the same
        browser = httpx.Client(base_url=prod.base_url, timeout=30)
        form = browser.get("/admin/login", headers={"X-Forwarded-Proto": "http"})
        # a client keeps a Secure cookie away from plain HTTP: hand the form's cookie back
        nonce = form.cookies["parako_admin_login"]
        signed = browser.post(
            "/admin/login",
            data={"_csrf": _csrf(form), "token": token},
            headers={"Cookie": f"parako_admin_login={nonce}", "X-Forwarded-Proto": "http"},
        )
        assert signed.status_code == 303
        cookies = form.headers.get_list("set-cookie") + signed.headers.get_list("set-cookie")
        assert cookies
        for cookie in cookies:
            assert "secure" in {part.strip().lower() for part in cookie.split(";")}, cookie


def test_the_session_cookie_is_not_secure_over_plain_http_in_development(api: RunningApi) -> None:
    signed = sign_in(api, api.token("alice"))
    session = next(c for c in signed.headers.get_list("set-cookie") if "parako_admin=" in c)
    assert "secure" not in {part.strip().lower() for part in session.split(";")}


# --- secrets through previews -----------------------------------------------------------------


def _shown(response: httpx.Response) -> str:
    """What a preview page tells: everything but its per-request tokens."""
    return re.sub(r'name="(_csrf|pending)" value="[^"]*"', "", response.text)


def test_a_preview_does_not_tell_whether_a_guessed_secret_is_right(api: RunningApi) -> None:
    stored = _stored(api, JWT)
    assert isinstance(stored, str)
    assert len(stored) >= 32
    alice = Browser(api, api.token("alice"))
    version = _hidden(alice.http.get("/admin/settings/security"), "_version")

    def preview(guess: str) -> httpx.Response:
        response = alice.post("/admin/settings/security", {"_version": version, JWT: guess})
        assert response.status_code == 200, response.text[:500]
        return response

    right, wrong = preview(stored), preview("w" * len(stored))
    assert _shown(right) == _shown(wrong)
    assert JWT in _shown(right)  # shown as a change either way
    assert stored not in right.text
    assert "w" * len(stored) not in wrong.text


def test_an_import_preview_does_not_tell_whether_a_guessed_secret_is_right(
    api: RunningApi,
) -> None:
    stored = _stored(api, JWT)
    alice = Browser(api, api.token("alice"))

    def preview(guess: str) -> httpx.Response:
        document = {"security": {"secrets": {"jwt_secret": guess}}}
        response = alice.post("/admin/settings/import", {"document": json.dumps(document)})
        assert response.status_code == 200, response.text[:500]
        return response

    right, wrong = preview(stored), preview("w" * len(stored))
    assert _shown(right) == _shown(wrong)
    assert JWT in _shown(right)


def test_saving_a_guessed_secret_is_a_write_and_a_wrong_guess_replaces_the_secret(
    api: RunningApi,
) -> None:
    """What a guess costs: the confirmation saves it. A right guess appends nothing; a wrong
    one replaces the secret, in the audit trail for everyone to see."""
    stored = _stored(api, JWT)
    alice = Browser(api, api.token("alice"))

    def guess(value: str) -> None:
        version = _hidden(alice.http.get("/admin/settings/security"), "_version")
        preview = alice.post("/admin/settings/security", {"_version": version, JWT: value})
        sealed = _hidden(preview, "pending")
        saved = alice.post("/admin/settings/security/save", {"pending": sealed, "reason": "x"})
        assert saved.status_code == 303

    guess(stored)
    assert _version(api) == 1
    guess("w" * 40)
    assert _version(api) == 2
    assert _stored(api, JWT) == "w" * 40


# --- the client address -----------------------------------------------------------------------

_ENTRY = st.one_of(
    st.ip_addresses().map(str),
    st.ip_addresses(v=4).map(lambda a: f"{a}:{8080}"),
    st.ip_addresses(v=6).map(lambda a: f"[{a}]:443"),
    st.text(max_size=20),
)


@given(
    peer=st.one_of(st.none(), st.ip_addresses().map(str), st.text(max_size=20)),
    headers=st.lists(st.lists(_ENTRY, max_size=6).map(", ".join), max_size=3),
    hops=st.integers(min_value=-1, max_value=12),
)
def test_the_client_address_never_comes_from_beyond_the_trusted_hops(
    peer: str | None, headers: list[str], hops: int
) -> None:
    found = client_address(peer, headers, hops)
    # only the peer and the last `hops` forwarded entries may be the answer
    trusted = ",".join(headers).split(",")[-hops:] if hops > 0 and headers else []
    allowed = {client_address(peer, [], 0), UNKNOWN_CLIENT}
    allowed |= {client_address(None, [entry], 1) for entry in trusted}
    assert found in allowed


def test_the_client_address_follows_the_trusted_hops() -> None:
    chain = ["198.51.100.7, 10.0.0.1", "10.0.0.2"]
    assert client_address("10.0.0.3", chain, 0) == "10.0.0.3"
    assert client_address("10.0.0.3", chain, 1) == "10.0.0.2"
    assert client_address("10.0.0.3", chain, 2) == "10.0.0.1"
    assert client_address("10.0.0.3", chain, 3) == "198.51.100.7"
    assert client_address("10.0.0.3", chain, 9) == "198.51.100.7"  # a shorter chain: its end
    assert client_address("10.0.0.3", ["evil, 10.0.0.2"], 2) == "10.0.0.2"  # not an address
    assert client_address("10.0.0.3", ["[2001:db8::1]:443"], 1) == "2001:db8::1"
    assert client_address(None, [], 1) == UNKNOWN_CLIENT
