"""API tokens over HTTP: list them, issue one (its plaintext in that answer only), revoke one.

Every route needs ``parako:tokens:admin``. A token is issued with scopes its issuer holds, never
more (D29 in docs/decisions.md), so this scope delegates access and cannot widen it. The token's
name is the actor of the issue or revocation: both are events of the token stream, hash-chained
and in the audit trail (kind ``token``) like every other write. Only digests are stored and no
answer carries one.
"""

from __future__ import annotations

from typing import Any

import attrs
from litestar import Request, Response, delete, get, post
from litestar.params import FromPath, JSONBody

from adapters.http.auth import SCOPE_OPT, caller, require_scope
from adapters.http.common import BEARER, errors, need_store
from adapters.http.context import api_context
from adapters.http.errors import ApiError
from eventstore.tokens import (
    TOKENS_ADMIN,
    ApiToken,
    NoActiveToken,
    ScopeNotHeld,
    TokenNameTaken,
    TokenStore,
)

Req = Request[Any, Any, Any]
_ADMIN: dict[str, Any] = {
    "guards": [require_scope],
    "opt": {SCOPE_OPT: TOKENS_ADMIN},
    "security": BEARER,
}
#: answers about tokens are never kept by a cache (one of them holds a token)
_NO_STORE = {"Cache-Control": "no-store"}


@attrs.frozen
class TokenRequest:
    """A token to issue: its name (the actor of its writes) and its scopes."""

    name: str
    scopes: list[str]


def shown(token: ApiToken) -> dict[str, Any]:
    """A token as answers show it: never its digest, and whether it is active."""
    return {**token.to_json(), "active": token.active}


def _store(request: Req) -> TokenStore:
    service = api_context(request).service
    need_store(service)
    return TokenStore(service.event_log)


@get(
    "/tokens",
    **_ADMIN,
    responses=errors(401, 403, 409),
    summary="API tokens: names, scopes, who issued and revoked them (never a token)",
)
async def list_tokens(request: Req) -> Response[dict[str, Any]]:
    """Active and revoked tokens by name; a name revoked and issued again shows the newest."""
    tokens = await _store(request).tokens()
    body = {"data": [shown(tokens[name]) for name in sorted(tokens)]}
    return Response(body, headers=_NO_STORE)


@post(
    "/tokens",
    **_ADMIN,
    status_code=201,
    responses=errors(401, 403, 409, 413, 422),
    summary="Issue a token; the answer holds it, and nothing shows it again",
)
async def create_token(request: Req, data: JSONBody[TokenRequest]) -> Response[dict[str, Any]]:
    """403 ``scope_not_held`` when a scope asked for is not one of the caller's; 409
    ``token_exists`` when an active token has the name."""
    issuer = caller(request)
    try:
        token, plaintext = await _store(request).create(
            data.name, data.scopes, issuer.name, issuer_scopes=issuer.scopes
        )
    except ScopeNotHeld as exc:
        raise ApiError(
            403,
            str(exc.issues[0].message),
            code="scope_not_held",
            details={"scopes": list(exc.missing)},
        ) from None
    except TokenNameTaken:
        raise ApiError(
            409, f"an active token is named {data.name!r}: revoke it first", code="token_exists"
        ) from None
    return Response(
        {"data": {**shown(token), "token": plaintext}}, status_code=201, headers=_NO_STORE
    )


@delete(
    "/tokens/{name:str}",
    **_ADMIN,
    status_code=200,
    responses=errors(401, 403, 404, 409),
    summary="Revoke a token: every process refuses it from its next request",
)
async def revoke_token(request: Req, name: FromPath[str]) -> Response[dict[str, Any]]:
    try:
        token = await _store(request).revoke(name, caller(request).name)
    except NoActiveToken:
        raise ApiError(404, f"no active token is named {name!r}", code="token_not_found") from None
    return Response({"data": shown(token)}, headers=_NO_STORE)


ROUTES = [list_tokens, create_token, revoke_token]
