"""API tokens in the console (``parako:tokens:admin``): the list, issuing a token (shown once,
on the page that answers the form), and revoking one.

Same rules as the API's ``/api/v1/tokens``: a token gets no scope its issuer lacks (D29 in
docs/decisions.md), the signed-in token's name is the actor, and both facts are events of the
token stream, so they are in the audit trail (kind ``token``). Revoking the token you are signed
in with ends your session, as any revocation ends that token's sessions.
"""

from __future__ import annotations

from typing import Any, Final
from urllib.parse import urlencode

from litestar import Request, Response, get, post
from litestar.datastructures import FormMultiDict
from litestar.params import FromPath

from adapters.admin.auth import Forbidden, posted, signed_in
from adapters.admin.render import page, redirect
from adapters.admin.sessions import AdminSession
from adapters.http.context import api_context
from eventstore.errors import Issue, ValidationFailed
from eventstore.tokens import (
    READ,
    RUNTIME,
    SCOPES,
    TENANT_READ,
    TENANT_WRITE,
    TOKENS_ADMIN,
    WRITE,
    NoActiveToken,
    ScopeNotHeld,
    TokenStore,
)

Req = Request[Any, Any, Any]
PREFIX: Final = "/admin/tokens"
#: what each scope lets a token do, in the words of the form
SCOPE_HELP: Final = {
    READ: "read the platform configuration, its history and audit trail",
    WRITE: "change, restore and import the platform configuration; reveal secrets",
    TENANT_READ: "read tenants and their overrides",
    TENANT_WRITE: "create tenants and change, reset or roll back their overrides",
    RUNTIME: "app processes: the runtime configuration with secrets in clear",
    TOKENS_ADMIN: "issue and revoke tokens, with no scope beyond its own",
}


def _store(request: Req) -> TokenStore:
    service = api_context(request).service
    if service.file_mode:
        raise Forbidden("File mode has no tokens: they are kept in the event store.")
    return TokenStore(service.event_log)


async def _list_page(
    request: Req,
    session: AdminSession,
    *,
    status: int = 200,
    issues: tuple[Issue, ...] = (),
    typed: FormMultiDict | None = None,
    flash: str = "",
) -> Response[str]:
    tokens = await _store(request).tokens()
    listed = sorted(tokens.values(), key=lambda t: (not t.active, t.name))
    chosen = set(typed.getall("scopes", [])) if typed is not None else set()
    return page(
        request,
        "tokens.html",
        session,
        status=status,
        tokens=listed,
        scopes=[(scope, SCOPE_HELP[scope], session.can(scope)) for scope in SCOPES],
        chosen=chosen,
        typed_name=str(typed.get("name") or "") if typed is not None else "",
        issues=issues,
        flash=flash,
    )


@get("/tokens")
async def tokens_page(request: Req) -> Response[str]:
    session = await signed_in(request, TOKENS_ADMIN)
    revoked = request.query_params.get("revoked")
    flash = f"Token {revoked} revoked: every process refuses it from now on." if revoked else ""
    return await _list_page(request, session, flash=flash)


@post("/tokens", status_code=200)
async def token_create(request: Req) -> Response[str]:
    """The answer shows the new token: the only time anyone sees it."""
    session, form = await posted(request, TOKENS_ADMIN)
    store = _store(request)
    name = str(form.get("name") or "").strip()
    try:
        token, plaintext = await store.create(
            name, form.getall("scopes", []), session.token_name, issuer_scopes=session.scopes
        )
    except ScopeNotHeld as exc:
        return await _list_page(request, session, status=403, issues=tuple(exc.issues), typed=form)
    except ValidationFailed as exc:
        return await _list_page(request, session, status=422, issues=tuple(exc.issues), typed=form)
    return page(request, "token_created.html", session, token=token, plaintext=plaintext)


@post("/tokens/{name:str}/revoke", status_code=200)
async def token_revoke(request: Req, name: FromPath[str]) -> Response[str]:
    session, _ = await posted(request, TOKENS_ADMIN)
    try:
        await _store(request).revoke(name, session.token_name)
    except NoActiveToken as exc:
        return await _list_page(request, session, status=404, issues=tuple(exc.issues))
    return redirect(f"{PREFIX}?{urlencode({'revoked': name})}")


ROUTES = [tokens_page, token_create, token_revoke]
