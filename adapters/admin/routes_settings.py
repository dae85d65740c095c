"""The overview and the section editors: edit, see the impact, confirm, save; reveal a secret.

A save is two posts. The first validates the form and answers with the impact summary and the
changed settings (or the editor again, with the messages next to the inputs); the second, the
confirmation, saves with the ``_version`` the editor was loaded at, so a save over someone else's
newer version fails with the conflict message of D14 (docs/decisions.md) instead of overwriting it.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.datastructures import FormMultiDict
from litestar.params import FromPath

from adapters.admin.auth import Forbidden, admin_state, posted, signed_in
from adapters.admin.forms import build_group, change_from_form, errors_by_field, leaves
from adapters.admin.preview import preview_save
from adapters.admin.render import SECTION_LABELS, page, redirect
from adapters.admin.sessions import AdminSession
from adapters.http.context import api_context
from adapters.http.health import health_report
from adapters.service import ConfigService
from eventstore.commands import Author
from eventstore.errors import Issue, ValidationFailed, VersionConflict
from eventstore.schema.config import AppConfig
from eventstore.schema.declare import declared_fields
from eventstore.schema.paths import PERSISTED_SECTIONS, SECRET_FIELDS
from eventstore.tokens import READ, WRITE
from projections.history import history_from

Req = Request[Any, Any, Any]
_CLASSES = {d.info.key: d.info.nested for d in declared_fields(AppConfig)}


class UnknownPage(Exception):
    """A section, version or tenant that does not exist: a 404 page."""


def section_class(section: str) -> type:
    cls = _CLASSES.get(section)
    if section not in PERSISTED_SECTIONS or cls is None:
        raise UnknownPage(f"There is no configuration section {section!r}.")
    return cls


def conflict_page(request: Req, session: AdminSession, reload_url: str) -> Response[str]:
    return page(
        request,
        "conflict.html",
        session,
        status=409,
        message=VersionConflict.MESSAGE,
        reload_url=reload_url,
    )


def _expected(form: FormMultiDict) -> int | None:
    raw = str(form.get("_version") or "")
    return int(raw) if raw.isdigit() and len(raw) <= 18 else None


@get("/settings")
async def overview(request: Req) -> Response[str]:
    session = await signed_in(request, READ)
    service = api_context(request).service
    versions = [] if service.file_mode else history_from(await service.recorded_events())[:10]
    report = await health_report(service, api_context(request).health_chain_window)
    return page(request, "overview.html", session, versions=versions, health=report)


def editor_page(
    request: Req,
    session: AdminSession,
    section: str,
    *,
    submitted: FormMultiDict | None = None,
    issues: list[Issue] | None = None,
    version: int | None = None,
    notice: str = "",
) -> Response[str]:
    context = api_context(request)
    cls = section_class(section)
    shown = context.shown_config()
    environ = context.service.sources.bootstrap.environ
    group = build_group(cls, section, shown, environ)
    by_field, rest = errors_by_field(issues or [], [f.path for f in leaves(group)])
    group = build_group(cls, section, shown, environ, submitted, by_field)
    return page(
        request,
        "section.html",
        session,
        status=422 if issues else 200,
        section=section,
        label=SECTION_LABELS[section],
        group=group,
        form_version=context.service.version if version is None else version,
        error_count=sum(len(v) for v in by_field.values()) + len(rest),
        field_errors=[(f, message) for f in leaves(group) for message in f.errors],
        other_issues=rest,
        notice=notice,
        secret_paths=SECRET_FIELDS,
        saved=request.query_params.get("saved", ""),
    )


@get("/settings/{section:str}")
async def edit_section(request: Req, section: FromPath[str]) -> Response[str]:
    session = await signed_in(request, READ)
    section_class(section)
    await api_context(request).service.catch_up()
    return editor_page(request, session, section)


async def _stale(service: ConfigService, expected: int | None) -> bool:
    await service.catch_up()
    return expected is None or expected != service.version


@post("/settings/{section:str}", status_code=200)
async def preview(request: Req, section: FromPath[str]) -> Response[str]:
    """The impact summary of the edited form (or the form again, with its messages)."""
    session, form = await posted(request, WRITE)
    cls = section_class(section)
    context = api_context(request)
    service = context.service
    expected = _expected(form)
    if service.file_mode:
        raise Forbidden("File mode: changes cannot be saved here.")
    if await _stale(service, expected):
        return conflict_page(request, session, f"/admin/settings/{section}")
    shown = context.shown_config()
    group = build_group(cls, section, shown, service.sources.bootstrap.environ)
    change, issues = change_from_form(group, cls, form, shown)
    if issues:
        return editor_page(request, session, section, submitted=form, issues=issues)
    if not change:
        return editor_page(request, session, section, notice="Nothing changed.")
    try:
        pending = await preview_save(service, change)
    except ValidationFailed as exc:
        return editor_page(request, session, section, submitted=form, issues=list(exc.issues))
    sealed = admin_state(request).keys.seal(
        session.nonce, {"section": section, "version": expected, "change": pending.change}
    )
    return page(
        request,
        "confirm.html",
        session,
        section=section,
        label=SECTION_LABELS[section],
        diff=pending.diff,
        sealed=sealed,
        default_reason=f"Updated {section} configuration via the admin console",
    )


@post("/settings/{section:str}/save", status_code=200)
async def save(request: Req, section: FromPath[str]) -> Response[str]:
    session, form = await posted(request, WRITE)
    section_class(section)
    pending = admin_state(request).keys.unseal(session.nonce, str(form.get("pending") or ""))
    if pending is None or pending.get("section") != section:
        raise Forbidden("This confirmation is not valid for your session. Edit and preview again.")
    service = api_context(request).service
    reason = str(form.get("reason") or "").strip()
    reason = reason or f"Updated {section} configuration via the admin console"
    try:
        result = await service.save(
            pending["change"], Author(session.token_name, reason), pending["version"]
        )
    except VersionConflict:
        return conflict_page(request, session, f"/admin/settings/{section}")
    except ValidationFailed as exc:
        return editor_page(request, session, section, issues=list(exc.issues))
    return redirect(f"/admin/settings/{section}?saved={result.semver}")


@post("/settings/reveal", status_code=200)
async def reveal(request: Req) -> Response[Any]:
    """One secret's plaintext, within the API's reveal limit; the reveal is audited (D11).

    The page's script asks for JSON; without JavaScript the button posts the editor's form here
    and gets a small page with the value.
    """
    session, form = await posted(request, WRITE)
    context = api_context(request)
    path = str(form.get("reveal") or form.get("path") or "")
    wants_json = "application/json" in request.headers.get("accept", "")
    if path not in SECRET_FIELDS:
        raise UnknownPage("That is not a secret setting.")
    wait = await context.reveals.wait(session.token_name)
    if wait is not None:
        context.metrics.reveal_denials.inc()
        message = f"Too many reveals: at most 10 per minute. Try again in {wait} s."
        if wants_json:
            return Response({"error": message}, status_code=429, headers={"Retry-After": str(wait)})
        return page(request, "message.html", session, status=429, title="Slow down", text=message)
    value = await context.service.reveal(
        path, Author(session.token_name, "revealed in the admin console")
    )
    if wants_json:
        return Response({"path": path, "value": value}, headers={"Cache-Control": "no-store"})
    return page(request, "revealed.html", session, path=path, value=value)


ROUTES = [overview, edit_section, preview, save, reveal]
