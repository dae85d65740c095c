"""The overview and the section editors: edit, see the impact, confirm, save; reveal a secret;
reset a setting to its default; find a setting.

A save is two posts. The first validates the form and answers with the impact summary and the
changed settings (or the editor again, with the messages next to the inputs); the second, the
confirmation, saves with the ``_version`` the editor was loaded at, so a save over someone else's
newer version fails with the conflict message of D14 (docs/decisions.md) instead of overwriting it.
The conflict page keeps the edits, says who saved what since, and offers to send the edits that
do not overlap again, through the same review (``conflicts``).

A reset is the same two posts around the store's ``unset``: the review shows the setting going
back to its default (and what follows it), and only the confirmation writes. Search runs over the
labels, paths and help the schema declares (``search``); without JavaScript it is a page of
results, with it the page's script filters the same index as you type.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.datastructures import FormMultiDict
from litestar.params import FromPath

from adapters.admin import conflicts, search
from adapters.admin.auth import Forbidden, admin_state, posted, signed_in
from adapters.admin.conflicts import Conflict
from adapters.admin.forms import (
    Baseline,
    Group,
    build_group,
    change_from_form,
    errors_by_field,
    leaves,
)
from adapters.admin.preview import preview_save
from adapters.admin.render import SECTION_LABELS, page, redirect
from adapters.admin.reset import preview_unset
from adapters.admin.sessions import AdminSession
from adapters.http.context import api_context
from adapters.http.health import health_report
from adapters.service import ConfigService
from eventstore.commands import Author
from eventstore.errors import Issue, ValidationFailed, VersionConflict
from eventstore.resolve import default_document
from eventstore.schema.config import AppConfig
from eventstore.schema.declare import declared_fields
from eventstore.schema.paths import PERSISTED_SECTIONS, SECRET_FIELDS
from eventstore.tokens import READ, WRITE
from projections.history import latest_versions

Req = Request[Any, Any, Any]
_CLASSES = {d.info.key: d.info.nested for d in declared_fields(AppConfig)}
_INFOS = {d.info.key: d.info for d in declared_fields(AppConfig)}


class UnknownPage(Exception):
    """A section, version or tenant that does not exist: a 404 page."""


def section_class(section: str) -> type:
    cls = _CLASSES.get(section)
    if section not in PERSISTED_SECTIONS or cls is None:
        raise UnknownPage(f"There is no configuration section {section!r}.")
    return cls


def conflict_page(
    request: Req,
    session: AdminSession,
    reload_url: str,
    conflict: Conflict | None = None,
    section: str = "",
) -> Response[str]:
    return page(
        request,
        "conflict.html",
        session,
        status=409,
        message=VersionConflict.MESSAGE,
        reload_url=reload_url,
        conflict=conflict,
        section=section,
    )


async def baseline(service: ConfigService) -> Baseline:
    """What "changed from default" compares: the stored document (none in file mode, where
    nothing is stored and nothing can be reset) and the defaults."""
    if service.file_mode:
        return Baseline(None, default_document())
    return Baseline((await service.stored_at()).document, default_document())


def editor(
    request: Req, section: str, base: Baseline, *, only_changed: bool = False
) -> tuple[type, Group]:
    """The section's class and its editor as the current config shows it."""
    context = api_context(request)
    cls = section_class(section)
    group = build_group(
        cls,
        section,
        context.shown_config(),
        context.service.sources.bootstrap.environ,
        baseline=base,
        only_changed=only_changed,
        info=_INFOS[section],
    )
    return cls, group


def _expected(form: FormMultiDict) -> int | None:
    raw = str(form.get("_version") or "")
    return int(raw) if raw.isdigit() and len(raw) <= 18 else None


@get("/settings")
async def overview(request: Req) -> Response[str]:
    session = await signed_in(request, READ)
    service = api_context(request).service
    versions = [] if service.file_mode else await latest_versions(service.event_log, 10)
    report = await health_report(service, api_context(request).health_chain_window)
    base = await baseline(service)
    changed = {s: editor(request, s, base)[1].count_changed() for s in PERSISTED_SECTIONS}
    return page(
        request, "overview.html", session, versions=versions, health=report, changed=changed
    )


@get("/settings/search")
async def search_page(request: Req) -> Response[str]:
    """Settings whose label, path or help matches every word of ``q``."""
    session = await signed_in(request, READ)
    query = request.query_params.get("q", "")[:200]
    hits = search.search(query) if query.strip() else []
    return page(request, "search.html", session, query=query, hits=hits)


@get("/settings/search.json")
async def search_index(request: Req) -> Response[Any]:
    """The index the search page's script filters as you type (no values, only the schema)."""
    await signed_in(request, READ)
    return Response(search.index(), headers={"Cache-Control": "private, max-age=300"})


def editor_page(
    request: Req,
    session: AdminSession,
    section: str,
    *,
    submitted: FormMultiDict | None = None,
    issues: list[Issue] | None = None,
    version: int | None = None,
    notice: str = "",
    base: Baseline | None = None,
) -> Response[str]:
    context = api_context(request)
    cls = section_class(section)
    shown = context.shown_config()
    environ = context.service.sources.bootstrap.environ
    base = base or Baseline(None, default_document())
    only_changed = request.query_params.get("changed") == "1" and not issues
    group = build_group(cls, section, shown, environ, info=_INFOS[section])
    by_field, rest = errors_by_field(issues or [], [f.path for f in leaves(group)])
    group = build_group(
        cls,
        section,
        shown,
        environ,
        submitted,
        by_field,
        baseline=base,
        only_changed=only_changed,
        info=_INFOS[section],
    )
    changed_count = (
        group.count_changed()
        if not only_changed
        else editor(request, section, base)[1].count_changed()
    )
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
        reset_done=request.query_params.get("reset", ""),
        only_changed=only_changed,
        changed_count=changed_count,
        focus=request.query_params.get("focus", ""),
        help=_INFOS[section].help,
    )


@get("/settings/{section:str}")
async def edit_section(request: Req, section: FromPath[str]) -> Response[str]:
    session = await signed_in(request, READ)
    section_class(section)
    service = api_context(request).service
    await service.catch_up()
    return editor_page(request, session, section, base=await baseline(service))


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
        conflict = None
        if expected is not None:
            conflict = await conflicts.from_form(
                service, cls, section, form, expected, context.shown_config()
            )
        return conflict_page(request, session, f"/admin/settings/{section}", conflict, section)
    shown = context.shown_config()
    base = await baseline(service)
    group = build_group(cls, section, shown, service.sources.bootstrap.environ)
    change, issues = change_from_form(group, cls, form, shown)
    if issues:
        return editor_page(request, session, section, submitted=form, issues=issues, base=base)
    if not change:
        return editor_page(request, session, section, notice="Nothing changed.", base=base)
    try:
        pending = await preview_save(service, change)
    except ValidationFailed as exc:
        return editor_page(
            request, session, section, submitted=form, issues=list(exc.issues), base=base
        )
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
    author = Author(session.token_name, reason)
    unset = pending.get("unset")
    try:
        if isinstance(unset, list):
            result = await service.unset(unset, author, pending["version"])
        else:
            result = await service.save(pending["change"], author, pending["version"])
    except VersionConflict:
        await service.catch_up()
        conflict = None
        if not isinstance(unset, list):
            _, group = editor(request, section, Baseline(None, {}))
            conflict = await conflicts.from_change(
                service,
                group,
                pending["change"],
                pending["version"],
                api_context(request).shown_config(),
            )
        return conflict_page(request, session, f"/admin/settings/{section}", conflict, section)
    except ValidationFailed as exc:
        return editor_page(
            request, session, section, issues=list(exc.issues), base=await baseline(service)
        )
    if isinstance(unset, list):
        return redirect(f"/admin/settings/{section}?reset={result.semver}")
    return redirect(f"/admin/settings/{section}?saved={result.semver}")


@post("/settings/{section:str}/reset", status_code=200)
async def reset(request: Req, section: FromPath[str]) -> Response[str]:
    """Review of one setting going back to its default (the store's ``unset``)."""
    session, form = await posted(request, WRITE)
    section_class(section)
    service = api_context(request).service
    if service.file_mode:
        raise Forbidden("File mode: changes cannot be saved here.")
    expected = _expected(form)
    if await _stale(service, expected):
        return conflict_page(request, session, f"/admin/settings/{section}", None, section)
    path = str(form.get("reset") or "")
    base = await baseline(service)
    _, group = editor(request, section, base)
    field = next((f for f in leaves(group) if f.path == path), None)
    if field is None or not field.resettable:
        raise UnknownPage("That setting cannot be reset here: it is not changed from its default.")
    try:
        diff = await preview_unset(service, [path])
    except ValidationFailed as exc:
        return editor_page(request, session, section, issues=list(exc.issues), base=base)
    sealed = admin_state(request).keys.seal(
        session.nonce, {"section": section, "version": expected, "unset": [path]}
    )
    return page(
        request,
        "confirm.html",
        session,
        section=section,
        label=SECTION_LABELS[section],
        diff=diff,
        sealed=sealed,
        default_reason=f"Reset {path} to its default via the admin console",
    )


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


ROUTES = [overview, search_page, search_index, edit_section, preview, save, reset, reveal]
