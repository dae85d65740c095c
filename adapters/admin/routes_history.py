"""Version history, diff between any two versions, restore, and the audit trail.

Everything here is read from the event log (D13 in docs/decisions.md): every version stays listed
and restorable. The history is read a page at a time from the end of the stream, and a version
to show, compare or restore by itself, so a page costs what it shows, not the length of the log.
The audit view has every kind of entry (changes, reveals, tenant policy adjustments and records,
tokens, console sign-ins and sign-outs), paged with the API's cursor and exported as CSV or JSON
with the filters of the page. Values are masked where the projections build them
(``diff_documents``, the audit entries), so a page or an export can only show what they let
through.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import urlencode

import attrs
from litestar import Request, Response, get, post
from litestar.enums import MediaType
from litestar.params import FromPath

from adapters.admin.auth import Forbidden, posted, signed_in
from adapters.admin.render import page, redirect
from adapters.admin.routes_settings import UnknownPage, conflict_page
from adapters.http.context import api_context
from adapters.service import ConfigService
from eventstore.commands import Author
from eventstore.errors import ValidationFailed, VersionConflict
from eventstore.log import EventLog
from eventstore.state import semver_of
from eventstore.tokens import READ, WRITE
from projections.audit import AuditEntry, InvalidCursorError, decode_cursor
from projections.audit import page as audit_page
from projections.diff import Diff
from projections.history import (
    VersionInfo,
    latest_versions,
    version_info,
    versions_before,
    versions_in,
)

Req = Request[Any, Any, Any]
HISTORY_PATH: Final = "/admin/settings/history"
#: versions per history page, and the newest ones the diff selectors offer
HISTORY_PAGE: Final = 25
AUDIT_PATH: Final = "/admin/settings/audit"
AUDIT_EXPORT_PATH: Final = "/admin/settings/audit/export"
#: entries per page (``?limit=`` asks for up to AUDIT_MAX_PAGE, as the API allows)
AUDIT_PAGE: Final = 50
AUDIT_MAX_PAGE: Final = 500
#: every kind of audit entry (``projections.audit.EntryKind``), with the words the Kind filter
#: uses for it
AUDIT_KINDS: Final = {
    "change": "changes",
    "reveal": "reveals",
    "adjustment": "tenant policy adjustments",
    "tenant": "tenant records",
    "token": "API tokens issued and revoked",
    "sign-out": "console sign-outs",
    "sign-in": "failed console sign-ins",
}


def _log(service: ConfigService) -> EventLog:
    if service.file_mode:
        raise Forbidden("File mode has no history: the configuration comes from a file.")
    return service.event_log


async def _find(service: ConfigService, semver: str) -> VersionInfo:
    """One version, read alone: any version can be shown, compared or restored, however old."""
    info = await version_info(_log(service), semver)
    if info is None:
        raise UnknownPage(f"There is no version {semver}.")
    return info


def _before(raw: str | None) -> int | None:
    """``?before=``: the stream version a page of older versions stops short of."""
    return int(raw) if raw and raw.isdigit() and len(raw) <= 18 else None


@get("/settings/history")
async def history(request: Req) -> Response[str]:
    """The newest HISTORY_PAGE versions, then older ones a page at a time (``?before=``, the
    stream version the page stops short of): a page reads its own events, not the whole log,
    and a version saved meanwhile does not shift an older page."""
    session = await signed_in(request, READ)
    service = api_context(request).service
    log = _log(service)
    await service.catch_up()
    total = await versions_in(log)
    before = _before(request.query_params.get("before"))
    if before is not None and before <= total:
        versions = await versions_before(log, before, HISTORY_PAGE)
    else:
        before = None
        versions = await latest_versions(log, HISTORY_PAGE)
    older_url = newer_url = None
    if versions and versions[-1].stream_version > 1:
        older_url = f"{HISTORY_PATH}?before={versions[-1].stream_version}"
    if before is not None:
        newer = before + HISTORY_PAGE
        newer_url = f"{HISTORY_PATH}?before={newer}" if newer <= total else HISTORY_PATH
    query = request.query_params
    flash = ""
    if query.get("restored"):
        flash = f"Restored: the settings are now version {query['restored']}."
    elif query.get("imported"):
        flash = f"Imported as version {query['imported']}."
    return page(
        request,
        "history.html",
        session,
        versions=versions,
        total=total,
        current=semver_of(total) if total else "",
        older_url=older_url,
        newer_url=newer_url,
        newest_url=HISTORY_PATH if before is not None else None,
        flash=flash,
    )


@get("/settings/diff")
async def diff(request: Req) -> Response[str]:
    """``?from=&to=`` (default: the newest against the one before it); ``view=side`` for
    side by side. Any two versions can be compared; the selectors offer the newest page and
    the two compared."""
    session = await signed_in(request, READ)
    service = api_context(request).service
    log = _log(service)
    newest = await latest_versions(log, HISTORY_PAGE)
    if not newest:
        raise UnknownPage("There is no version to compare yet.")
    to = request.query_params.get("to") or newest[0].version
    to_info = await _find(service, to)
    default_from = semver_of(max(1, to_info.stream_version - 1))
    old = request.query_params.get("from") or default_from
    old_info = await _find(service, old)
    offered = {v.stream_version: v for v in (*newest, old_info, to_info)}
    versions = [offered[k] for k in sorted(offered, reverse=True)]
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
    info = await _find(service, version)
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
    info = await _find(service, version)
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


@attrs.frozen
class AuditQuery:
    """The audit filters of a request, as its query string carries them: every link of the
    page (the next page, the exports) carries them too, so a filtered view can be bookmarked,
    shared and paged without losing its filters."""

    path: str = ""
    actor: str = ""
    since: str = ""
    until: str = ""
    kind: str = ""

    @classmethod
    def of(cls, request: Req) -> AuditQuery:
        query = request.query_params
        return cls(
            path=(query.get("path") or "").strip(),
            actor=(query.get("actor") or "").strip(),
            since=query.get("since") or "",
            until=query.get("until") or "",
            kind=query.get("kind") or "",
        )

    def params(self) -> dict[str, str]:
        """The filters that are set, in a stable order."""
        return {k: v for k, v in attrs.asdict(self).items() if v}

    def url(self, path: str, **extra: str | None) -> str:
        """``path`` with these filters and ``extra`` (``None`` values left out)."""
        params = {**self.params(), **{k: v for k, v in extra.items() if v is not None}}
        return f"{path}?{urlencode(params)}" if params else path

    async def entries(self, service: ConfigService) -> list[AuditEntry]:
        """The matching entries, oldest first."""
        entries = await service.audit_entries(
            path_prefix=self.path or None,
            actor=self.actor or None,
            since=_moment(self.since),
            until=_moment(self.until),
        )
        return [e for e in entries if e.kind == self.kind] if self.kind else entries


def _audited(request: Req) -> ConfigService:
    service = api_context(request).service
    if service.file_mode:
        raise Forbidden("File mode has no audit trail: the configuration comes from a file.")
    return service


def _limit(raw: str | None) -> int:
    if raw and raw.isdigit() and len(raw) <= 4:
        return min(max(int(raw), 1), AUDIT_MAX_PAGE)
    return AUDIT_PAGE


@get("/settings/audit")
async def audit(request: Req) -> Response[str]:
    """Newest first, a page at a time. ``cursor`` is the API's (``projections.audit.page``):
    it names the last entry shown, so entries recorded meanwhile never shift a page."""
    session = await signed_in(request, READ)
    service = _audited(request)
    query = AuditQuery.of(request)
    entries = await query.entries(service)
    cursor = request.query_params.get("cursor") or None
    raw_limit = request.query_params.get("limit")
    limit = _limit(raw_limit)
    try:
        shown, next_cursor = audit_page(entries, cursor, limit, newest_first=True)
        after = decode_cursor(cursor) if cursor else None
    except InvalidCursorError:
        return page(
            request,
            "message.html",
            session,
            status=400,
            title="Page link not valid",
            text="This page link is not valid (altered or cut short). Start again from the "
            "newest entries.",
        )
    first = 1 + (sum(1 for e in entries if e.key > after) if after else 0)
    kept_limit = str(limit) if raw_limit and limit != AUDIT_PAGE else None
    return page(
        request,
        "audit.html",
        session,
        entries=shown,
        total=len(entries),
        first=first,
        filters=query,
        kinds=AUDIT_KINDS,
        next_url=query.url(AUDIT_PATH, cursor=next_cursor, limit=kept_limit)
        if next_cursor
        else None,
        newest_url=query.url(AUDIT_PATH, limit=kept_limit) if cursor else None,
        csv_url=query.url(AUDIT_EXPORT_PATH, format="csv"),
        json_url=query.url(AUDIT_EXPORT_PATH, format="json"),
    )


#: the columns of a CSV export, in order
AUDIT_COLUMNS: Final = (
    "when",
    "who",
    "kind",
    "tenant",
    "semver",
    "path",
    "old",
    "new",
    "why",
    "origin",
    "stream",
    "position",
)
_NUMBER: Final = re.compile(r"-?\d+(\.\d+)?([eE][+-]?\d+)?")


def _cell(value: Any) -> str:
    """One CSV cell: values as the page shows them (JSON for non-strings), and text that a
    spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@`` …) made inert with a
    leading apostrophe: audit entries quote what people typed."""
    if value is None:
        text = ""
    elif isinstance(value, str):
        text = value
    else:
        text = json.dumps(value, ensure_ascii=False)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r") and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


def audit_csv(entries: Sequence[AuditEntry]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(AUDIT_COLUMNS)
    for entry in entries:
        row = entry.to_json()
        writer.writerow([_cell(row[column]) for column in AUDIT_COLUMNS])
    return out.getvalue()


@get("/settings/audit/export")
async def audit_export(request: Req) -> Response[Any]:
    """Every entry the filters match (not one page), oldest first, as CSV or JSON; masked
    exactly as the page is (entries are masked when they are built)."""
    session = await signed_in(request, READ)
    service = _audited(request)
    query = AuditQuery.of(request)
    kind = request.query_params.get("format") or "csv"
    if kind not in ("csv", "json"):
        return page(
            request,
            "message.html",
            session,
            status=400,
            title="Unknown format",
            text="Audit exports are CSV (format=csv) or JSON (format=json).",
        )
    entries = await query.entries(service)
    now = datetime.now(UTC)
    name = f"parako-config-audit-{now:%Y%m%dT%H%M%SZ}.{kind}"
    headers = {
        "Content-Disposition": f'attachment; filename="{name}"',
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
    }
    if kind == "csv":
        return Response(audit_csv(entries), media_type="text/csv; charset=utf-8", headers=headers)
    document = {
        "exported_at": now.isoformat(),
        "filters": query.params(),
        "count": len(entries),
        "entries": [e.to_json() for e in entries],
    }
    return Response(document, media_type=MediaType.JSON, headers=headers)


ROUTES = [history, diff, restore_form, restore, audit, audit_export]
