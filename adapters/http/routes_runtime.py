"""The configuration as app processes read it: secrets in clear, current, and watchable.

``/runtime`` serves the RuntimeConfig — every section but ``storage`` (this store's own
connection) with secrets decrypted — to tokens of the ``parako:config:runtime`` scope, which can
do nothing else. ``?tenant=SLUG`` serves a tenant's effective config. The ETag is the version
(``"<_version>"``, a tenant's ``"<platform _version>.<tenant _version>"``), so ``If-None-Match``
answers 304, and ``?after=<etag>&wait=30s`` holds the request until a newer version is applied
(Consul's blocking query). ``/runtime/watch`` streams one Server-Sent Event per applied version,
resumable with ``Last-Event-ID``; ``/config/watch`` is the same stream for admins, masked.

Reads are read-after-write consistent across processes unless ``?consistency=stale``.
"""

from __future__ import annotations

import asyncio
import functools
import json
import re
from collections.abc import AsyncIterator
from typing import Annotated, Any, Final

import structlog
from litestar import Request, Response, get
from litestar.params import FromPath, HeaderParameter, QueryParameter
from litestar.response import ServerSentEvent
from litestar.response.sse import ServerSentEventMessage

from adapters.http.auth import SCOPE_OPT, caller, require_scope, still_active, unauthorized
from adapters.http.common import BEARER, Consistency, consistent, errors, visible
from adapters.http.context import ApiContext, api_context, runtime_document
from adapters.http.errors import ApiError
from adapters.http.feed import Change, ChangeFeed, fresh
from adapters.http.routes_config import READING
from adapters.service import ConfigService
from eventstore.schema import unstructure
from eventstore.state import semver_of
from eventstore.tenants import TenantNotFound
from eventstore.tokens import RUNTIME

Req = Request[Any, Any, Any]
_log = structlog.get_logger("parako-config.api")
RUNTIME_READ: dict[str, Any] = {
    "guards": [require_scope],
    "opt": {SCOPE_OPT: RUNTIME},
    "security": BEARER,
}

#: the longest a long-poll may hold a request, and the default
MAX_WAIT_SECONDS: Final = 300.0
DEFAULT_WAIT_SECONDS: Final = 30.0
#: a comment line this often keeps proxies from closing an idle stream
HEARTBEAT_SECONDS: Final = 15.0
_WAIT: Final = re.compile(r"(\d{1,6}(?:\.\d{1,3})?)(ms|s|m)?")
_UNITS: Final = {"ms": 0.001, "s": 1.0, "m": 60.0, None: 1.0}

Tenant = Annotated[
    str | None, QueryParameter(description="a tenant's effective config (its slug)", max_length=64)
]
After = Annotated[
    str | None,
    QueryParameter(description="an ETag already held: answer when a newer version exists"),
]
Wait = Annotated[
    str | None, QueryParameter(description="how long to hold the request (0–300 s, e.g. 30s)")
]
Full = Annotated[bool, QueryParameter(description="each event carries the whole config")]
LastEventId = Annotated[str | None, HeaderParameter(name="Last-Event-ID", required=False)]


# --- what a read is ---------------------------------------------------------------------------


class Snapshot:
    """One version of what a runtime read serves: the document and its ETag value."""

    def __init__(self, tag: str, meta: dict[str, Any], document: dict[str, Any]) -> None:
        self.tag = tag
        self.meta = meta
        self.document = document


async def snapshot(context: ApiContext, tenant: str | None, *, masked: bool = False) -> Snapshot:
    service = context.service
    if tenant is None:
        version = service.version
        meta = {"version": semver_of(version) if version else None, "_version": version}
        doc = visible(context.shown_config()) if masked else context.runtime_config()
        return Snapshot(platform_tag(service), meta, doc)
    tenants = service.tenants
    if tenants is None:
        raise ApiError(404, "multi-tenancy is off: there are no tenant configurations")
    try:
        effective = await tenants.effective(tenant)
    except TenantNotFound:
        raise ApiError(404, f"no tenant {tenant!r}", code="unknown_tenant") from None
    tag = f"{effective.platform_version}.{effective.overrides_version}"
    meta = {
        "tenant": tenant,
        "platform_version": effective.platform_version,
        "_version": effective.overrides_version,
        "etag": tag,
    }
    return Snapshot(tag, meta, context.tenant_runtime_config(tenant, effective.config))


def platform_tag(service: ConfigService) -> str:
    """The ETag value of the platform's runtime config: its version."""
    return str(service.version)


def count_not_modified(context: ApiContext) -> None:
    context.metrics.runtime_not_modified.inc()


def etag_header(tag: str) -> str:
    return f'"{tag}"'


def held_tags(header: str | None) -> set[str]:
    if not header:
        return set()
    return {part.strip().removeprefix("W/").strip('"') for part in header.split(",")}


def _wait_seconds(raw: str | None) -> float:
    if raw is None:
        return DEFAULT_WAIT_SECONDS
    found = _WAIT.fullmatch(raw.strip())
    seconds = float(found.group(1)) * _UNITS[found.group(2)] if found else -1.0
    if not 0 <= seconds <= MAX_WAIT_SECONDS:
        raise ApiError(
            400,
            f"wait must be a duration from 0 to {MAX_WAIT_SECONDS:.0f} seconds (e.g. 30s), "
            f"got {raw!r}",
            code="invalid_wait",
        )
    return seconds


def _after_tag(raw: str, tenant: str | None) -> str:
    tag = raw.strip().removeprefix("W/").strip('"')
    shape = r"\d{1,18}\.\d{1,18}" if tenant else r"\d{1,18}"
    if not re.fullmatch(shape, tag):
        example = '"12.3" (platform.tenant)' if tenant else '"12"'
        raise ApiError(
            400, f"after must be an ETag of this resource, e.g. {example}", code="invalid_after"
        )
    return tag


def _newer(current: str, held: str) -> bool:
    """Whether ``current`` is a version the holder of ``held`` has not seen."""
    mine = tuple(int(part) for part in current.split("."))
    theirs = tuple(int(part) for part in held.split("."))
    return mine != theirs and not all(m <= t for m, t in zip(mine, theirs, strict=True))


def _section_of(doc: dict[str, Any], section: str | None) -> Any:
    if section is None:
        return doc
    if section not in doc:
        raise ApiError(
            404,
            f"no configuration section {section!r}; sections: {', '.join(doc)}",
            code="unknown_section",
        )
    return doc[section]


# --- reads and long-polls ---------------------------------------------------------------------


async def _read(
    request: Req,
    section: str | None,
    tenant: str | None,
    after: str | None,
    wait: str | None,
    consistency: str | None,
) -> Response[Any]:
    context = api_context(request)
    await consistent(request, consistency)
    current = await snapshot(context, tenant)
    if after is not None:
        held = _after_tag(after, tenant)
        deadline = _wait_seconds(wait)
        feed = context.feed
        tokens_seen = feed.token_changes
        give_up = asyncio.get_running_loop().time() + deadline
        while not _newer(current.tag, held):
            remaining = give_up - asyncio.get_running_loop().time()
            if remaining <= 0 or not await feed.wait(remaining):
                return Response(None, status_code=304, headers={"ETag": etag_header(current.tag)})
            current = await snapshot(context, tenant)
        if feed.token_changes != tokens_seen and not await still_active(request, caller(request)):
            raise unauthorized("unknown or revoked token")
    elif current.tag in held_tags(request.headers.get("if-none-match")):
        count_not_modified(context)
        return Response(None, status_code=304, headers={"ETag": etag_header(current.tag)})
    context.metrics.runtime_reads.labels(outcome="read").inc()
    body = {"data": _section_of(current.document, section), "meta": current.meta}
    return Response(body, headers={"ETag": etag_header(current.tag)})


_READ_DOC = (
    "Secrets in clear: serve over TLS or loopback only. ``If-None-Match`` answers 304; "
    "``after`` + ``wait`` hold the request until a newer version is applied (304 when ``wait`` "
    "passes)."
)


@get(
    "/runtime",
    **RUNTIME_READ,
    responses=errors(401, 403, 404),
    summary="The runtime configuration for app processes (secrets in clear)",
    description=_READ_DOC,
)
async def read_runtime(
    request: Req,
    tenant: Tenant = None,
    after: After = None,
    wait: Wait = None,
    consistency: Consistency = None,
) -> Response[Any]:
    return await _read(request, None, tenant, after, wait, consistency)


@get(
    "/runtime/{section:str}",
    **RUNTIME_READ,
    responses=errors(401, 403, 404),
    summary="One section of the runtime configuration",
    description=_READ_DOC,
)
async def read_runtime_section(
    request: Req,
    section: FromPath[str],
    tenant: Tenant = None,
    after: After = None,
    wait: Wait = None,
    consistency: Consistency = None,
) -> Response[Any]:
    return await _read(request, section, tenant, after, wait, consistency)


# --- streams ----------------------------------------------------------------------------------


def _resume_point(raw: str | None) -> int | None:
    if raw is None or not raw.strip():
        return None
    if not raw.strip().isdigit() or len(raw.strip()) > 18:
        raise ApiError(400, "Last-Event-ID must be an event id of this stream", code="invalid_id")
    return int(raw.strip())


class _Encoded(ServerSentEventMessage):
    """An event encoded once, however many streams send it."""

    @functools.cached_property
    def _bytes(self) -> bytes:
        return super().encode()

    def encode(self) -> bytes:
        return self._bytes


def _event(position: int, body: dict[str, Any], kind: str) -> ServerSentEventMessage:
    return _Encoded(
        data=json.dumps(body, separators=(",", ":"), ensure_ascii=False), event=kind, id=position
    )


#: one encoded change event per (position, tenant, full, masked): a hundred watchers of one
#: version share its bytes; the oldest make room
_ENCODED_CHANGES: Final = 512


async def _change_event(
    context: ApiContext, change: Change, tenant: str | None, full: bool, masked: bool
) -> ServerSentEventMessage:
    cache = context.encoded_changes
    key = (change.position, tenant, full, masked)
    found = cache.get(key)
    if found is None:
        body = await _change_body(context, change, tenant, full, masked)
        found = _event(change.position, body, "change")
        if len(cache) >= _ENCODED_CHANGES:
            cache.pop(next(iter(cache)))
        cache[key] = found
    return found


async def _change_body(
    context: ApiContext, change: Change, tenant: str | None, full: bool, masked: bool
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "stream": "platform" if change.platform else "tenant",
        "version": change.semver or None,
        "_version": change.version,
        "paths": list(change.paths),
    }
    if full:
        current = await snapshot(context, tenant, masked=masked)
        if tenant is None and change.version != context.service.version:
            config = await context.service.config_at(change.semver)
            shown = visible(unstructure(config)) if masked else runtime_document(config)
            body["config"] = shown
        else:
            body["config"] = current.document
        if tenant is not None:
            body["etag"] = current.tag
    return body


async def _resumed(feed: ChangeFeed, cursor: int, tenant: str | None) -> list[Change] | None:
    """The changes after ``cursor`` for a resuming client, read from the log when this process
    started after them; None when the client must start over from the whole state."""
    pending = feed.since(cursor, tenant)
    if pending is not None:
        return pending
    try:
        if not await feed.backfill(cursor):
            return None
    except Exception as error:  # the log cannot be read now: the whole state instead
        _log.warning("could not read the changes a client resumes from", error=type(error).__name__)
        return None
    return feed.since(cursor, tenant)


async def _stream(
    request: Req,
    tenant: str | None,
    full: bool,
    masked: bool,
    last_event_id: int | None,
) -> AsyncIterator[ServerSentEventMessage]:
    context = api_context(request)
    token = caller(request)
    feed = context.feed
    tokens_seen = feed.token_changes
    cursor = last_event_id
    pending = None if cursor is None else await _resumed(feed, cursor, tenant)
    if pending is None:
        # a new watcher, or one resuming from before what is kept: the whole state first
        current = await snapshot(context, tenant, masked=masked)
        cursor = feed.position
        yield _event(cursor, {**current.meta, "config": current.document}, "snapshot")
        pending = []
    while True:
        for change in pending:
            yield await _change_event(context, change, tenant, full, masked)
            cursor = change.position
        if feed.closed:
            return
        if not await feed.wait(HEARTBEAT_SECONDS):
            if feed.closed:
                return
            yield ServerSentEventMessage(comment="keep-alive", data=None)
        if feed.token_changes != tokens_seen:  # a revoked token ends its streams
            tokens_seen = feed.token_changes
            if not await still_active(request, token):
                return
        assert cursor is not None
        since = feed.since(cursor, tenant)
        if since is None:  # fell behind what is kept: start over from the whole state
            current = await snapshot(context, tenant, masked=masked)
            cursor = feed.position
            yield _event(cursor, {**current.meta, "config": current.document}, "snapshot")
            since = []
        pending = since


def _sse(stream: AsyncIterator[ServerSentEventMessage]) -> ServerSentEvent:
    return ServerSentEvent(stream, headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


@get(
    "/runtime/watch",
    **RUNTIME_READ,
    responses=errors(401, 403, 404),
    summary="Server-Sent Events: one per applied version (resume with Last-Event-ID)",
)
async def watch_runtime(
    request: Req,
    tenant: Tenant = None,
    full: Full = False,
    last_event_id: LastEventId = None,
) -> ServerSentEvent:
    """The first event (``snapshot``) carries the whole config; then one ``change`` event per
    applied version: its ``id`` is the log position, its data the version and changed paths
    (the whole config with ``full=true``). A comment line every 15 s keeps the stream open."""
    context = api_context(request)
    resume = _resume_point(last_event_id)
    await fresh(context.service)
    await snapshot(context, tenant)  # an unknown tenant is a 404 before the stream starts
    context.metrics.runtime_reads.labels(outcome="watch").inc()
    return _sse(_stream(request, tenant, full, False, resume))


@get(
    "/config/watch",
    **READING,
    responses=errors(401, 403),
    summary="Server-Sent Events of the platform configuration for admins (masked)",
)
async def watch_config(
    request: Req, full: Full = False, last_event_id: LastEventId = None
) -> ServerSentEvent:
    """As ``/runtime/watch``, with secrets masked and the sections the API manages."""
    context = api_context(request)
    resume = _resume_point(last_event_id)
    await fresh(context.service)
    return _sse(_stream(request, None, full, True, resume))


ROUTES = [read_runtime, watch_runtime, read_runtime_section, watch_config]
