"""Reading and writing the platform configuration, and revealing one secret.

Writes take the raw JSON object and hand it to the store's own validation (the schema's own rules,
D18 in docs/decisions.md), not to Litestar's msgspec models: the store's messages and paths are the
ones the product promises. What a read returned, sent back unchanged, changes nothing (see
``writes``).
"""

from __future__ import annotations

from typing import Annotated, Any

import attrs
from litestar import Request, Response, get, patch, post, put
from litestar.params import FromPath, JSONBody, QueryParameter

from adapters.http.auth import SCOPE_OPT, caller, require_scope
from adapters.http.common import (
    BEARER,
    Consistency,
    check_section,
    consistent,
    errors,
    expected_version,
    need_store,
    version_meta,
    visible,
    with_etag,
)
from adapters.http.context import api_context
from adapters.http.errors import ApiError
from adapters.http.writes import intended_change, nulls_meaning_default
from eventstore.commands import Author, SaveResult
from eventstore.tokens import READ, WRITE

Req = Request[Any, Any, Any]
READING: dict[str, Any] = {"guards": [require_scope], "opt": {SCOPE_OPT: READ}, "security": BEARER}
WRITING: dict[str, Any] = {"guards": [require_scope], "opt": {SCOPE_OPT: WRITE}, "security": BEARER}

#: why the change is made, recorded as its change_reason
Reason = Annotated[str | None, QueryParameter(description="Why (change_reason)", max_length=500)]
Body = JSONBody[dict[str, Any]]


def save_outcome(result: SaveResult) -> dict[str, Any]:
    return {
        "data": {
            **version_meta(result.version),
            "appended": result.appended,
            "changed": [change.path for change in result.changes],
            "stripped": list(result.stripped),
        }
    }


async def _save(request: Req, partial: dict[str, Any], reason: str) -> Response[Any]:
    context = api_context(request)
    service = context.service
    need_store(service)
    expected = expected_version(request)
    partial, defaults = nulls_meaning_default(partial)
    change = await intended_change(service, context.shown_config(), partial)
    author = Author(caller(request).name, reason)
    write = service.save(change, author, expected, unset=defaults)
    result = await context.metrics.counting("save", write)
    return with_etag(save_outcome(result), result.version)


@get("/config", **READING, responses=errors(401, 403), summary="The effective configuration")
async def read_config(request: Req, consistency: Consistency = None) -> Response[dict[str, Any]]:
    """Every section the API manages, secrets masked; the ETag is the ``_version``."""
    await consistent(request, consistency)
    context = api_context(request)
    version = context.service.version
    body = {"data": visible(context.shown_config()), "meta": version_meta(version)}
    return with_etag(body, version)


@get(
    "/config/{section:str}",
    **READING,
    responses=errors(401, 403, 404),
    summary="One section of the effective configuration",
)
async def read_section(
    request: Req, section: FromPath[str], consistency: Consistency = None
) -> Response[dict[str, Any]]:
    await consistent(request, consistency)
    context = api_context(request)
    check_section(section)
    version = context.service.version
    body = {"data": context.shown_config()[section], "meta": version_meta(version)}
    return with_etag(body, version)


@put(
    "/config/{section:str}",
    **WRITING,
    responses=errors(401, 403, 404, 409, 413, 422),
    summary="Change one section",
)
async def write_section(
    request: Req,
    section: FromPath[str],
    data: Body,
    reason: Reason = None,
) -> Response[dict[str, Any]]:
    """The body holds settings of ``section``; they are merged over the current section (keys
    left out keep their values, as the admin panel's section forms do). ``If-Match: "<_version>"``
    makes the write fail with 409 if someone saved meanwhile."""
    check_section(section)
    why = reason or f"Updated {section} configuration via Management API"
    return await _save(request, {section: data}, why)


@patch(
    "/config",
    **WRITING,
    responses=errors(401, 403, 409, 413, 422),
    summary="Change any settings (a partial document)",
)
async def write_partial(
    request: Req, data: Body, reason: Reason = None
) -> Response[dict[str, Any]]:
    """Merged over the current configuration; the whole result is validated (D18). ``null``
    for a setting (or a group) that cannot be null returns it to its default."""
    return await _save(request, data, reason or "Updated configuration via Management API")


@attrs.frozen
class RevealRequest:
    path: str
    reason: str = ""


@post(
    "/config/reveal",
    **WRITING,
    status_code=200,
    responses=errors(401, 403, 409, 422, 429),
    summary="Reveal one secret (10 per minute per token)",
)
async def reveal(request: Req, data: JSONBody[RevealRequest]) -> dict[str, Any]:
    """The plaintext of one secret path; every reveal is recorded in the audit trail (D11)."""
    context = api_context(request)
    need_store(context.service)
    token = caller(request)
    wait = await context.reveals.wait(token.name)
    if wait is not None:
        context.metrics.reveal_denials.inc()
        raise ApiError(
            429,
            "too many reveals: at most 10 per minute per token",
            details={"retry_after": wait},
            headers={"Retry-After": str(wait)},
        )
    author = Author(token.name, data.reason or "revealed via Management API")
    value = await context.service.reveal(data.path, author)
    return {"data": {"path": data.path, "value": value}}


ROUTES = [read_config, read_section, write_section, write_partial, reveal]
