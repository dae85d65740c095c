"""History of the platform configuration: versions, one version, diff, restore, as-of, export,
import and the audit trail. Every one of them is a replay of the event log (D13 in
docs/decisions.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import attrs
from litestar import Request, Response, get, post
from litestar.params import FromPath, JSONBody, QueryParameter

from adapters.http.auth import caller
from adapters.http.common import errors, expected_version, need_store, version_meta, with_etag
from adapters.http.context import api_context
from adapters.http.errors import ApiError
from adapters.http.routes_config import READING, WRITING, Body, Reason, save_outcome
from eventstore.commands import Author
from projections.audit import InvalidCursorError
from projections.diff import analyze_impact, diff_documents
from projections.history import VersionInfo, latest_versions, version_info, versions_in

Req = Request[Any, Any, Any]


async def _known(request: Req, semver: str) -> VersionInfo:
    service = api_context(request).service
    need_store(service)
    info = await version_info(service.event_log, semver)
    if info is None:
        raise ApiError(404, f"version {semver} does not exist", code="unknown_version")
    return info


@get("/config/versions", **READING, responses=errors(401, 403, 409), summary="Newest versions")
async def list_versions(
    request: Req, limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 10
) -> dict[str, Any]:
    """Newest first: who, when, why, which paths (the admin panel shows the newest 10)."""
    service = api_context(request).service
    need_store(service)
    log = service.event_log
    versions = await latest_versions(log, limit)
    return {"data": [v.to_json() for v in versions], "total": await versions_in(log)}


@get(
    "/config/versions/{version:str}",
    **READING,
    responses=errors(401, 403, 404, 409),
    summary="One version: its metadata and stored document (secrets masked)",
)
async def read_version(request: Req, version: FromPath[str]) -> dict[str, Any]:
    info = await _known(request, version)
    document = await api_context(request).service.export(version)
    document.pop("_export_metadata", None)
    return {"data": {"info": info.to_json(), "config": document}}


@get(
    "/config/diff",
    **READING,
    responses=errors(401, 403, 404, 409),
    summary="What changed between two versions, and what it affects",
)
async def diff(
    request: Req,
    old: Annotated[str, QueryParameter(name="from", description="older version, e.g. 1.0.0")],
    new: Annotated[str | None, QueryParameter(name="to", description="default: newest")] = None,
) -> dict[str, Any]:
    """Changed settings (secrets masked) with the impact warnings of ``impact_rules.json``."""
    service = api_context(request).service
    await _known(request, old)
    if new is not None:
        await _known(request, new)
    changes = diff_documents(await service.plaintext_at(old), await service.plaintext_at(new))
    impact = analyze_impact(changes)
    target = new or version_meta(service.version)["version"]
    return {
        "data": {
            "from": old,
            "to": target,
            "changes": [c.to_json() for c in changes],
            "impact": impact.to_json(),
        }
    }


@attrs.frozen
class RestoreRequest:
    version: str
    reason: str = ""


@post(
    "/config/restore",
    **WRITING,
    status_code=200,
    responses=errors(401, 403, 404, 409, 422),
    summary="Make a new version equal to an older one",
)
async def restore(request: Req, data: JSONBody[RestoreRequest]) -> Response[dict[str, Any]]:
    """Any version, not only the newest 10 (D16); honours ``If-Match``."""
    context = api_context(request)
    await _known(request, data.version)
    author = Author(caller(request).name, data.reason or f"Restored version {data.version}")
    write = context.service.restore(data.version, author, expected_version(request))
    result = await context.metrics.counting("restore", write)
    body = save_outcome(result)
    body["data"]["restored_from"] = data.version
    return with_etag(body, result.version)


@get(
    "/config/as-of",
    **READING,
    responses=errors(401, 403, 404, 409),
    summary="The effective configuration as it was at a version or a time",
)
async def as_of(
    request: Req,
    version: Annotated[str | None, QueryParameter()] = None,
    at: Annotated[datetime | None, QueryParameter(description="ISO 8601 with a UTC offset")] = None,
) -> dict[str, Any]:
    from adapters.http.common import visible_config

    service = api_context(request).service
    need_store(service)
    if (version is None) == (at is None):
        raise ApiError(400, "give exactly one of ?version= and ?at=")
    if at is not None:
        if at.utcoffset() is None:
            raise ApiError(400, "?at= needs a UTC offset, e.g. 2026-01-31T12:00:00Z")
        version = await service.version_at_time(at)
        if version is None:
            raise ApiError(404, "no version existed at that time", code="unknown_version")
    assert version is not None
    info = await _known(request, version)
    config = await service.config_at(version)
    return {"data": visible_config(config), "meta": version_meta(info.stream_version)}


@get(
    "/config/export",
    **READING,
    responses=errors(401, 403, 404, 409),
    summary="The stored configuration as a file, secrets masked",
)
async def export(
    request: Req, version: Annotated[str | None, QueryParameter()] = None
) -> Response[dict[str, Any]]:
    """POST it back to ``/config/import``: masked secrets keep their current values."""
    service = api_context(request).service
    need_store(service)
    if version is not None:
        await _known(request, version)
    document = await service.export(version)
    name = f"parako-config-{document['_export_metadata']['version']}.json"
    headers = {"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"}
    return Response(document, headers=headers)


@post(
    "/config/import",
    **WRITING,
    status_code=200,
    responses=errors(401, 403, 409, 413, 422),
    summary="Load an export document",
)
async def import_document(
    request: Req, data: Body, reason: Reason = None
) -> Response[dict[str, Any]]:
    context = api_context(request)
    need_store(context.service)
    author = Author(caller(request).name, reason or "Imported via Management API")
    result = await context.metrics.counting("import", context.service.import_document(data, author))
    return with_etag(save_outcome(result), result.version)


@get(
    "/config/audit",
    **READING,
    responses=errors(401, 403, 409),
    summary="Who changed or revealed which setting, when and why",
)
async def audit(
    request: Req,
    path: Annotated[str | None, QueryParameter(description="path prefix")] = None,
    actor: Annotated[str | None, QueryParameter()] = None,
    since: Annotated[datetime | None, QueryParameter(description="inclusive")] = None,
    until: Annotated[datetime | None, QueryParameter(description="exclusive")] = None,
    cursor: Annotated[str | None, QueryParameter()] = None,
    limit: Annotated[int, QueryParameter(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    """Oldest first; ``pagination.next_cursor`` fetches the next page (None on the last)."""
    service = api_context(request).service
    need_store(service)
    try:
        items, next_cursor = await service.audit_page(
            cursor,
            limit,
            platform_only=True,
            path_prefix=path,
            actor=actor,
            since=since,
            until=until,
        )
    except InvalidCursorError:
        raise ApiError(
            400, "invalid cursor: start again without one", code="invalid_cursor"
        ) from None
    except ValueError as exc:  # a time without a UTC offset
        raise ApiError(400, str(exc)) from None
    return {
        "data": [e.to_json() for e in items],
        "pagination": {"has_more": next_cursor is not None, "next_cursor": next_cursor},
    }


ROUTES = [list_versions, read_version, diff, restore, as_of, export, import_document, audit]
