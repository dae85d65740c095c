"""Signing in with an API token, and out.

The sign-in form has its own CSRF token, keyed by a short-lived cookie, so another site cannot
sign a browser in with the attacker's token (login CSRF). The token typed in is checked by the
Management API's authenticator and never stored: the session cookie names it and carries a
digest prefix only.

Failed sign-ins are limited per presented token and client address, across every process
(:class:`~adapters.http.limits.SignInLimit`); a successful one never counts. Signing out ends the
session in every process (D25 in docs/decisions.md). In production every console cookie is
``Secure``, whatever scheme the request came in with.
"""

from __future__ import annotations

import secrets
from typing import Any

from litestar import Request, Response, get, post
from litestar.datastructures import Cookie

from adapters.admin.auth import CSRF_FIELD, admin_state, current_session, posted
from adapters.admin.render import page, redirect
from adapters.admin.sessions import COOKIE, LOGIN_COOKIE, MAX_AGE_SECONDS
from adapters.http.context import api_context
from adapters.http.limits import client_address
from eventstore.console import ConsoleRecords
from eventstore.tokens import READ, TENANT_READ, TOKENS_ADMIN

Req = Request[Any, Any, Any]
_PATH = "/admin"


def _secure(request: Req) -> bool:
    """Always in production (a proxy that forgets ``X-Forwarded-Proto`` must not downgrade the
    cookie); elsewhere over HTTPS, also behind a proxy that terminates TLS."""
    if api_context(request).service.config.deployment.environment == "production":
        return True
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return request.url.scheme == "https" or forwarded == "https"


def _client(request: Req) -> str:
    hops = api_context(request).service.config.deployment.server.trust_proxy_hops
    peer = request.client.host if request.client else None
    return client_address(peer, request.headers.getall("x-forwarded-for", []), hops)


def _cookie(request: Req, key: str, value: str, max_age: int) -> Cookie:
    return Cookie(
        key=key,
        value=value,
        path=_PATH,
        max_age=max_age,
        httponly=True,
        samesite="strict",
        secure=_secure(request),
    )


@get("/")
async def index() -> Response[str]:
    return redirect("/admin/settings")


def _login_page(request: Req, error: str = "", status: int = 200) -> Response[str]:
    nonce = secrets.token_urlsafe(16)
    response = page(
        request,
        "login.html",
        status=status,
        login_csrf=admin_state(request).keys.csrf_for("login:" + nonce),
        error=error,
        store_available=not api_context(request).service.file_mode,
    )
    response.cookies.append(_cookie(request, LOGIN_COOKIE, nonce, 600))
    return response


@get("/login")
async def login_form(request: Req) -> Response[str]:
    if await current_session(request) is not None:
        return redirect("/admin/settings")
    return _login_page(request)


def _landing(scopes: tuple[str, ...]) -> str:
    """Where a sign-in starts: a token that cannot read the platform overview starts where it
    can look (its tenants, else its tokens)."""
    if READ in scopes:
        return "/admin/settings"
    if TENANT_READ in scopes:
        return "/admin/tenants"
    if TOKENS_ADMIN in scopes:
        return "/admin/tokens"
    return "/admin/settings"


@post("/login", status_code=200)
async def login(request: Req) -> Response[str]:
    state = admin_state(request)
    form = await request.form()
    nonce = request.cookies.get(LOGIN_COOKIE, "")
    if not nonce or not state.keys.csrf_ok("login:" + nonce, form.get(CSRF_FIELD)):
        return _login_page(request, "The sign-in form expired. Please try again.", 403)
    presented = str(form.get("token") or "").strip()
    if not presented:
        return _login_page(request, "Unknown or revoked token.", 401)
    client, tag = _client(request), state.keys.token_tag(presented)
    wait = await state.logins.wait(client, tag)
    if wait is not None:
        response = _login_page(request, f"Too many failed sign-ins. Wait {wait} s.", 429)
        response.headers["Retry-After"] = str(wait)
        return response
    token = await api_context(request).authenticator.authenticate(presented)
    if token is None:
        await state.logins.failed(client, tag)
        return _login_page(request, "Unknown or revoked token.", 401)
    response = redirect(_landing(token.scopes))
    cookie = state.keys.issue(token.name, token.digest)
    response.cookies.append(_cookie(request, COOKIE, cookie, MAX_AGE_SECONDS))
    response.cookies.append(_cookie(request, LOGIN_COOKIE, "", 0))
    return response


@post("/logout", status_code=200)
async def logout(request: Req) -> Response[str]:
    session, _ = await posted(request)
    # recorded before the cookie is cleared: a copy of it must stop working everywhere too
    await ConsoleRecords(api_context(request).service.event_log).signed_out(
        session.id, session.token_name
    )
    response = redirect("/admin/login")
    response.cookies.append(_cookie(request, COOKIE, "", 0))
    return response


ROUTES = [index, login_form, login, logout]
