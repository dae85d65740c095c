"""Assembling the Management API: routes under ``/api/v1``, the error shape, body limit, OpenAPI
3.1 at ``/api/v1/openapi``, request ids, and Prometheus metrics at ``features.metrics.path``."""

from __future__ import annotations

import itertools
import json
import re
import secrets
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Final

import attrs
import structlog
from litestar import Litestar, Request, Response, Router, get
from litestar.openapi import OpenAPIConfig
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme

from adapters.admin import admin_router
from adapters.http import (
    routes_config,
    routes_runtime,
    routes_schema,
    routes_tenants,
    routes_tokens,
    routes_versions,
)
from adapters.http.conditional import answer_not_modified
from adapters.http.context import STATE_KEY, ApiContext, api_context
from adapters.http.errors import EXCEPTION_HANDLERS, ApiError
from adapters.http.health import health_report
from adapters.http.limits import RevealLimit
from adapters.http.metrics import ApiMetrics
from adapters.http.owned_paths import API_PREFIX, OPENAPI_PATH
from adapters.http.tokens import TokenAuthenticator
from adapters.service import ConfigService

MAX_BODY_BYTES: Final = 1024 * 1024
#: the most header bytes a request may carry (h11's limit; httptools sets none of its own)
MAX_HEADER_BYTES: Final = 16 * 1024
_REQUEST_ID: Final = re.compile(r"[A-Za-z0-9._-]{1,64}")
_log = structlog.get_logger("parako-config.api")

#: plain ASGI types: the wrapper sits outside Litestar and sees raw ASGI messages
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


@attrs.frozen
class ApiSettings:
    max_body_bytes: int = MAX_BODY_BYTES
    #: how many of the newest events the health check re-verifies
    health_chain_window: int = 100


@get(
    "/health",
    summary="Store, hash chain, Redis and config checks",
    responses={503: ResponseSpec(dict[str, Any], description="A check failed")},
)
async def health(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    """Public (no token), for load balancers and probes; 503 when any check fails."""
    context = api_context(request)
    report = await health_report(context.service, context.health_chain_window)
    return Response(report, status_code=200 if report["status"] == "ok" else 503)


def _metrics_route(path: str) -> Any:
    @get(path, include_in_schema=False, media_type="text/plain; version=0.0.4")
    async def metrics(request: Request[Any, Any, Any]) -> bytes:
        """Public like /health (scrapers carry no token); off unless features.metrics.enabled,
        read per request so switching it on takes effect without a restart."""
        context = api_context(request)
        if not context.service.config.features.metrics.enabled:
            raise ApiError(404, "metrics are off (features.metrics.enabled)")
        return await context.metrics.render(context.service)

    return metrics


class RequestIds:
    """Outermost ASGI layer: every request gets an id (the caller's ``X-Request-ID`` when it is
    a plain token, else a new one), bound into the log context of everything the request logs,
    echoed in the response, and one access line with status and duration.

    It wraps the whole application rather than being a Litestar middleware, so unrouted requests
    (404, 405) and errors get an id too. An app's repeated runtime read whose ETag is still
    current is answered here, before the framework (see :mod:`adapters.http.conditional`).
    """

    def __init__(self, app: Litestar) -> None:
        self.litestar = app
        # ids need to be unique, not secret: a random prefix per process and a counter are,
        # and cost a tenth of a random UUID per request
        prefix = secrets.token_hex(8)
        self._next_id = map(f"{prefix}{{:016x}}".format, itertools.count()).__next__
        self._access_log: Any = None

    @property
    def context(self) -> ApiContext:
        """What the routes share (the server ends watch streams through it)."""
        context = self.litestar.state[STATE_KEY]
        assert isinstance(context, ApiContext)
        return context

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.litestar(scope, receive, send)  # type: ignore[arg-type]
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _REQUEST_ID.fullmatch(incoming) else self._next_id()
        bound = structlog.contextvars.bind_contextvars(request_id=request_id)
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
                message = {**message, "headers": headers}
            await send(message)

        try:
            if sum(len(name) + len(value) for name, value in scope["headers"]) > MAX_HEADER_BYTES:
                await _too_large_headers(send_with_id)
            elif not await answer_not_modified(self.context, scope, send_with_id):
                await self.litestar(scope, receive, send_with_id)  # type: ignore[arg-type]
        finally:
            if self._access_log is None:
                # bound on the first request, after logging was configured: a logger proxy
                # binds itself again on every call, which cost more than the rest of a 304
                self._access_log = _log.bind()
            self._access_log.info(
                "request",
                method=scope["method"],
                path=scope["path"],
                status=status,
                ms=round((time.perf_counter() - started) * 1000, 2),
            )
            structlog.contextvars.reset_contextvars(**bound)


async def _too_large_headers(send: Send) -> None:
    """431 in the one error shape, before anything reads the headers."""
    message = f"the request's headers exceed {MAX_HEADER_BYTES // 1024} KiB"
    body = json.dumps({"error": {"code": "headers_too_large", "message": message, "details": None}})
    encoded = body.encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(encoded))]
    await send({"type": "http.response.start", "status": 431, "headers": headers})
    await send({"type": "http.response.body", "body": encoded})


def create_app(service: ConfigService, settings: ApiSettings | None = None) -> RequestIds:
    """The ASGI application serving ``service``; metrics follow ``features.metrics`` at start."""
    settings = settings or ApiSettings()
    metrics_settings = service.config.features.metrics
    context = ApiContext(
        service=service,
        authenticator=TokenAuthenticator(service),
        reveals=RevealLimit(service),
        metrics=ApiMetrics(
            metrics_settings.prefix, include_default=metrics_settings.include_default_metrics
        ),
        health_chain_window=settings.health_chain_window,
    )
    api = Router(
        API_PREFIX,
        route_handlers=[
            health,
            *routes_schema.ROUTES,
            *routes_config.ROUTES,
            *routes_versions.ROUTES,
            *routes_tenants.ROUTES,
            *routes_runtime.ROUTES,
            *routes_tokens.ROUTES,
        ],
    )
    handlers: list[Any] = [api, _metrics_route(metrics_settings.path), admin_router()]
    openapi = OpenAPIConfig(
        title="parako-config Management API",
        version="1.0.0",
        description="The platform configuration and tenant overrides of Parako.ID.",
        path=OPENAPI_PATH,
        render_plugins=[JsonRenderPlugin(path=["/", "/openapi.json"])],
        components=Components(
            security_schemes={
                "bearerAuth": SecurityScheme(
                    type="http",
                    scheme="bearer",
                    description="A token from `parako-config token create`",
                )
            }
        ),
    )
    app = Litestar(
        route_handlers=handlers,
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        request_max_body_size=settings.max_body_bytes,
        openapi_config=openapi,
        state=None,
        logging_config=None,
    )
    app.state[STATE_KEY] = context
    return RequestIds(app)


__all__ = ["API_PREFIX", "OPENAPI_PATH", "ApiSettings", "RequestIds", "create_app"]
