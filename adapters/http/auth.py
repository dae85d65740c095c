"""Bearer-token authentication and scope checks, as a Litestar guard.

A route declares the scope it needs in its ``opt``; the guard answers 401 when the request has no
valid token (missing header, wrong scheme, unknown or revoked token) and 403 when the token lacks
the scope. The token's name becomes the actor of every change the request makes
(``last_modified_by``) and is bound into the log context.
"""

from __future__ import annotations

from typing import Any, Final

import structlog
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from adapters.http.context import ApiContext, api_context
from adapters.http.errors import ApiError
from eventstore.tokens import ApiToken

SCOPE_OPT: Final = "scope"
#: set on a request whose token was checked against the log's head (see ``common.consistent``)
FRESH_STATE: Final = "fresh"
_CHALLENGE: Final = {"WWW-Authenticate": 'Bearer realm="parako-config"'}


def unauthorized(message: str) -> ApiError:
    return ApiError(401, message, headers=_CHALLENGE)


async def admitted(
    context: ApiContext, authorization: str | None, required: str | None, *, current: bool
) -> ApiToken:
    """The active token an ``Authorization`` header presents, holding ``required``; 401/403
    otherwise. ``current``: check the log's head first (see :class:`TokenAuthenticator`)."""
    if not authorization:
        raise unauthorized("missing Authorization header (expected: Bearer <token>)")
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise unauthorized("the Authorization header must be: Bearer <token>")
    token = await context.authenticator.authenticate(value.strip(), current=current)
    if token is None:
        raise unauthorized("unknown or revoked token")
    if required is not None and required not in token.scopes:
        raise ApiError(
            403,
            f"this token lacks the scope {required}",
            details={"required_scopes": [required]},
        )
    return token


def _stale_read(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> bool:
    """Whether the request is a read that asked for staleness, and may have it (D30): a GET of
    a route that takes ``consistency``, with that parameter given once, as ``stale``. Anything
    else (a write, a route without the parameter, the parameter repeated) is checked against
    the log's head, whatever its query string says."""
    return (
        connection.scope.get("method") == "GET"
        and "consistency" in handler.parsed_fn_signature.parameters
        and connection.query_params.getall("consistency", []) == ["stale"]
    )


async def require_scope(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    current = not _stale_read(connection, handler)
    token = await admitted(
        api_context(connection),
        connection.headers.get("authorization"),
        handler.opt.get(SCOPE_OPT),
        current=current,
    )
    if current:
        connection.state[FRESH_STATE] = True  # the head was checked: reads need not again
    connection.state["token"] = token
    structlog.contextvars.bind_contextvars(actor=token.name)


async def still_active(connection: ASGIConnection[Any, Any, Any, Any], token: ApiToken) -> bool:
    """Whether the token a request was admitted with is still active: requests held open (a
    long-poll, a watch stream) ask again when tokens changed, so a revocation ends them."""
    # asked after this process applied token records, so its table is current already
    current = await api_context(connection).authenticator.active(token.name, current=False)
    return current is not None and current.digest == token.digest


def caller(connection: ASGIConnection[Any, Any, Any, Any]) -> ApiToken:
    """The token the guard accepted for this request."""
    token = connection.state.get("token")
    assert isinstance(token, ApiToken), "route without the require_scope guard"
    return token
