"""The admin console: server-rendered pages at ``/admin`` over the same store, tokens
and scopes as the Management API.

``admin_router()`` is mounted by ``adapters.http.app.create_app``; it brings its own error
handlers, so the console answers with pages (or a redirect to the sign-in form) where the API
answers with JSON.
"""

from __future__ import annotations

from typing import Any, Final

import structlog
from litestar import Request, Response, Router
from litestar.exceptions import HTTPException

from adapters.admin import (
    routes_auth,
    routes_history,
    routes_misc,
    routes_settings,
    routes_tenants,
    routes_tokens,
)
from adapters.admin.auth import Forbidden, NotSignedIn
from adapters.admin.render import page, redirect
from adapters.admin.routes_settings import UnknownPage
from adapters.http.owned_paths import ADMIN_PREFIX
from adapters.service import FileModeError
from eventstore.errors import ConfigError

PREFIX: Final = ADMIN_PREFIX
_log = structlog.get_logger("parako-config.admin")
Req = Request[Any, Any, Any]


def _not_signed_in(request: Req, _: NotSignedIn) -> Response[str]:
    return redirect(f"{PREFIX}/login")


def _message(request: Req, status: int, title: str, text: str) -> Response[str]:
    """An error page; signed-in details (navigation) only when the request got that far."""
    session = request.state.get("admin_session")
    return page(request, "message.html", session, status=status, title=title, text=text)


def _forbidden(request: Req, exc: Forbidden) -> Response[str]:
    return _message(request, 403, "Not allowed", exc.message)


def _unknown(request: Req, exc: UnknownPage) -> Response[str]:
    return _message(request, 404, "Not found", str(exc))


def _file_mode(request: Req, exc: FileModeError) -> Response[str]:
    return _message(request, 409, "File mode", str(exc))


def _store_error(request: Req, exc: ConfigError) -> Response[str]:
    # the class name only: a store error can quote a connection string
    _log.error("admin request failed", error=type(exc).__name__, path=request.url.path)
    return _message(
        request, 503, "Store unavailable", "The configuration store could not complete this."
    )


def _http(request: Req, exc: HTTPException) -> Response[str]:
    return _message(request, exc.status_code, "Request refused", str(exc.detail))


def _internal(request: Req, exc: Exception) -> Response[str]:
    _log.error("admin request failed", error=type(exc).__name__, path=request.url.path)
    return _message(request, 500, "Error", "An unexpected error occurred.")


def admin_router() -> Router:
    """The console's routes under ``/admin``, with the site root (a redirect to the console)
    and ``/favicon.ico``; its state is built on first use from the API's context (see
    ``auth.admin_state``)."""
    console = Router(
        PREFIX,
        route_handlers=[
            *routes_auth.ROUTES,
            *routes_settings.ROUTES,
            *routes_history.ROUTES,
            *routes_misc.ROUTES,
            *routes_tenants.ROUTES,
            *routes_tokens.ROUTES,
        ],
    )
    return Router(
        "/",
        route_handlers=[console, *routes_misc.ROOT_ROUTES],
        exception_handlers={
            NotSignedIn: _not_signed_in,
            Forbidden: _forbidden,
            UnknownPage: _unknown,
            FileModeError: _file_mode,
            ConfigError: _store_error,
            HTTPException: _http,
            Exception: _internal,
        },
        include_in_schema=False,
    )


__all__ = ["PREFIX", "admin_router"]
