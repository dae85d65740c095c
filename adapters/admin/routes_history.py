"""Version history, diff between any two versions, restore, and the audit trail.

Everything here is a replay of the event log (D13 in docs/decisions.md): every version stays listed
and restorable, and the audit view includes reveals and the policy adjustments of tenant writes.
Values are masked where the projections build them (``diff_documents``, the audit entries), so a
page can only show what they let through.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

from litestar import Request, Response, get, post
from litestar.params import FromPath

from adapters.admin.auth import Forbidden, posted, signed_in
from adapters.admin.render import page, redirect
from adapters.admin.routes_settings import UnknownPage, conflict_page
from adapters.http.context import api_context
from adapters.service import ConfigService
from eventstore.commands import Author
from eventstore.errors import ValidationFailed, VersionConflict
from eventstore.state import semver_of
from eventstore.tokens import READ, WRITE
from projections.diff import Diff
from projections.history import VersionInfo, history_from

Req = Request[Any, Any, Any]
#: the audit view shows this many of the newest matching entries
AUDIT_LIMIT: Final = 200


async def _history(service: ConfigService) -> list[VersionInfo]:
    if service.file_mode:
        raise Forbidden("File mode has no history: the configuration comes from a file.")
    return history_from(await service.recorded_events())


def _find(versions: list[VersionInfo], semver: str) -> VersionInfo:
    for info in versions:
        if info.version == semver:
            return info
    raise UnknownPage(f"There is no version {semver}.")


@get("/settings/history")
async def history(request: Req) -> Response[str]:
    session = await signed_in(request, READ)
    service = api_context(request).service
    await service.catch_up()
    versions = await _history(service)
    query = request.query_params
    flash = ""
    if query.get("restored"):
        flash = f"Restored: the settings are now version {query['restored']}."
    elif query.get("imported"):
        flash = f"Imported as version {query['imported']}."
    return page(request, "history.html", session, versions=versions, flash=flash)


@get("/settings/diff")
async def diff(request: Req) -> Response[str]:
    """``?from=&to=`` (default: the newest against the one before it); ``view=side`` for
    side by side."""
    session = await signed_in(request, READ)
    service = api_context(request).service
    versions = await _history(service)
    newest = versions[0].version
    to = request.query_params.get("to") or newest
    to_info = _find(versions, to)
    default_from = semver_of(max(1, to_info.stream_version - 1))
    old = request.query_params.get("from") or default_from
    _find(versions, old)
    changes = Diff.between(await service.plaintext_at(old), await service.plaintext_at(to))
    view = "side" if request.query_params.get("view") == "side" else "inline"
    return page(
        request,
        "diff.html",
        session,
        versions=versions,
        old=old,
        new=to,
        diff=changes,
        view=view,
    )


@get("/settings/history/{version:str}")
async def restore_form(request: Req, version: FromPath[str]) -> Response[str]:
    """What restoring ``version`` would change now, and the form asking why."""
    session = await signed_in(request, WRITE)
    service = api_context(request).service
    await service.catch_up()
    info = _find(await _history(service), version)
    changes = Diff.between(await service.plaintext_at(), await service.plaintext_at(version))
    return page(
        request,
        "restore.html",
        session,
        info=info,
        diff=changes,
        form_version=service.version,
        error="",
    )


@post("/settings/restore", status_code=200)
async def restore(request: Req) -> Response[str]:
    session, form = await posted(request, WRITE)
    service = api_context(request).service
    version = str(form.get("version") or "")
    info = _find(await _history(service), version)
    reason = str(form.get("reason") or "").strip()
    raw_expected = str(form.get("_version") or "")
    expected = int(raw_expected) if raw_expected.isdigit() and len(raw_expected) <= 18 else None
    if not reason:
        changes = Diff.between(await service.plaintext_at(), await service.plaintext_at(version))
        return page(
            request,
            "restore.html",
            session,
            status=422,
            info=info,
            diff=changes,
            form_version=expected,
            error="A reason is required to restore a version.",
        )
    try:
        result = await service.restore(version, Author(session.token_name, reason), expected)
    except VersionConflict:
        return conflict_page(request, session, f"/admin/settings/history/{version}")
    except ValidationFailed as exc:
        text = "; ".join(str(issue) for issue in exc.issues)
        return page(request, "message.html", session, status=422, title="Cannot restore", text=text)
    return redirect(f"/admin/settings/history?restored={result.semver}")


def _moment(raw: str | None) -> datetime | None:
    """A ``datetime-local`` input (no zone) is read as UTC, the zone every page shows."""
    if not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@get("/settings/audit")
async def audit(request: Req) -> Response[str]:
    session = await signed_in(request, READ)
    service = api_context(request).service
    if service.file_mode:
        raise Forbidden("File mode has no audit trail: the configuration comes from a file.")
    query = request.query_params
    filters = {
        "path": (query.get("path") or "").strip(),
        "actor": (query.get("actor") or "").strip(),
        "since": query.get("since") or "",
        "until": query.get("until") or "",
        "kind": query.get("kind") or "",
    }
    entries = await service.audit_entries(
        path_prefix=filters["path"] or None,
        actor=filters["actor"] or None,
        since=_moment(filters["since"]),
        until=_moment(filters["until"]),
    )
    if filters["kind"]:
        entries = [e for e in entries if e.kind == filters["kind"]]
    total = len(entries)
    shown = entries[::-1][:AUDIT_LIMIT]
    return page(
        request,
        "audit.html",
        session,
        entries=shown,
        total=total,
        filters=filters,
        limit=AUDIT_LIMIT,
    )


ROUTES = [history, diff, restore_form, restore, audit]
