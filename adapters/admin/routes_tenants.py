"""Tenants in the console: the list, a tenant's settings, and — with
``parako:cross-tenant:write`` — creating a tenant, editing its overrides one section at a time,
resetting a section, and rolling its overrides back to an earlier version.

A section edit goes as a platform edit does: the form, a preview (the changed overrides, masked,
and the platform policy's adjustments, D22 in docs/decisions.md), then a confirmation that
writes. The pending overrides travel sealed to the session (they may hold a tenant secret in
clear), with the overrides' version they were previewed against, so a write made meanwhile is
a conflict rather than overwritten. Tokens with ``parako:cross-tenant:read`` only see the same
pages without a form that writes.
"""

from __future__ import annotations

from typing import Any, Final

from litestar import Request, Response, get, post
from litestar.datastructures import FormMultiDict
from litestar.params import FromPath

from adapters.admin.auth import Forbidden, admin_state, posted, signed_in
from adapters.admin.forms import errors_by_field
from adapters.admin.render import page, redirect
from adapters.admin.routes_settings import UnknownPage
from adapters.admin.sessions import AdminSession
from adapters.admin.tenant_editor import (
    TenantField,
    overrides_from_form,
    preview,
    section_fields,
    section_paths,
    section_write,
)
from adapters.http.context import api_context
from adapters.tenant_service import TenantService
from eventstore.commands import Author
from eventstore.docpath import get_path
from eventstore.errors import Issue, ValidationFailed, VersionConflict
from eventstore.schema import unstructure
from eventstore.schema.paths import ALLOWED_TENANT_FIELDS, TENANT_SECTIONS
from eventstore.tenants import TenantNotFound
from eventstore.tokens import TENANT_READ, TENANT_WRITE

Req = Request[Any, Any, Any]
PREFIX: Final = "/admin/tenants"
_REASON_MAX: Final = 500


def _tenants(request: Req) -> TenantService:
    tenants = api_context(request).service.tenants
    if tenants is None:
        raise UnknownPage("Multi-tenancy is off (MULTI_TENANCY_ENABLED is not true).")
    return tenants


async def _reading(request: Req) -> tuple[AdminSession, TenantService]:
    session = await signed_in(request)
    if not (session.can(TENANT_READ) or session.can(TENANT_WRITE)):
        raise Forbidden(f"Your token lacks the scope {TENANT_READ} needed here.")
    return session, _tenants(request)


async def _writing(request: Req) -> tuple[AdminSession, FormMultiDict, TenantService]:
    session, form = await posted(request, TENANT_WRITE)
    if api_context(request).service.file_mode:
        raise Forbidden("File mode: changes cannot be saved here.")
    return session, form, _tenants(request)


def _section(section: str) -> str:
    if section not in TENANT_SECTIONS:
        raise UnknownPage(
            f"Tenants cannot override {section!r}; they can override {', '.join(TENANT_SECTIONS)}."
        )
    return section


def _reason(form: FormMultiDict, default: str) -> str:
    return str(form.get("reason") or "").strip()[:_REASON_MAX] or default


def _expected(form: FormMultiDict) -> int | None:
    raw = str(form.get("_version") or "")
    return int(raw) if raw.isdigit() and len(raw) <= 18 else None


def _conflict(request: Req, session: AdminSession, reload_url: str) -> Response[str]:
    return page(
        request,
        "tenant_message.html",
        session,
        status=409,
        title="Not saved",
        text=VersionConflict.MESSAGE,
        link=reload_url,
        link_text="Reload the tenant's settings",
    )


# --- the list, and creating a tenant ----------------------------------------------------------


async def _list_page(
    request: Req,
    session: AdminSession,
    tenants: TenantService,
    status: int = 200,
    issues: tuple[Issue, ...] = (),
    typed: FormMultiDict | None = None,
) -> Response[str]:
    registry = await tenants.registry()
    listed = sorted(registry.tenants.values(), key=lambda t: t.slug)
    return page(
        request,
        "tenants.html",
        session,
        status=status,
        tenants=listed,
        issues=issues,
        typed={k: str(typed.get(k) or "") for k in ("slug", "display_name", "domain", "reason")}
        if typed
        else {},
    )


@get("/tenants")
async def tenants_list(request: Req) -> Response[str]:
    session, tenants = await _reading(request)
    return await _list_page(request, session, tenants)


@post("/tenants", status_code=200)
async def tenant_create(request: Req) -> Response[str]:
    session, form, tenants = await _writing(request)
    try:
        tenant = await tenants.create(
            str(form.get("slug") or "").strip(),
            Author(session.token_name, _reason(form, "Created via the admin console")),
            display_name=str(form.get("display_name") or "").strip() or None,
            domain=str(form.get("domain") or "").strip() or None,
        )
    except ValidationFailed as exc:
        return await _list_page(
            request, session, tenants, status=422, issues=tuple(exc.issues), typed=form
        )
    return redirect(f"{PREFIX}/{tenant.slug}?created=1")


# --- one tenant -------------------------------------------------------------------------------


async def _views(
    request: Req, tenants: TenantService, slug: str
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any], set[str], int]:
    """The tenant's overrides, the platform config and the tenant's effective config (all
    masked), the adjusted paths and the overrides' version."""
    try:
        state = await tenants.overrides(slug)
        effective = await tenants.effective(slug)
    except TenantNotFound:
        raise UnknownPage(f"There is no tenant {slug!r}.") from None
    platform = api_context(request).shown_config()
    adjusted = {a.path for a in effective.adjustments}
    return tenants.masked(state), platform, unstructure(effective.config), adjusted, state.version


@get("/tenants/{slug:str}")
async def tenant_detail(request: Req, slug: FromPath[str]) -> Response[str]:
    """Each allowed tenant setting: the tenant's value, the platform's, and whether the tenant
    overrides it, inherits it, or had its override adjusted by the platform policy."""
    session, tenants = await _reading(request)
    overrides, platform, mine, adjusted, version = await _views(request, tenants, slug)
    rows = []
    for path in ALLOWED_TENANT_FIELDS:
        overridden = get_path(overrides, path, None) is not None
        status = "inherited"
        if overridden:
            status = "adjusted" if path in adjusted else "override"
        rows.append(
            {
                "path": path,
                "tenant": get_path(mine, path, None),
                "platform": get_path(platform, path, None),
                "status": status,
            }
        )
    rows.sort(key=lambda row: (row["status"] == "inherited", row["path"]))
    per_section = {
        section: sum(1 for row in rows if row["status"] != "inherited" and row["path"] in paths_of)
        for section in TENANT_SECTIONS
        for paths_of in [set(section_paths(section))]
    }
    adjustments = [e for e in await tenants.audit(slug) if e.kind == "adjustment"][::-1]
    tenant = (await tenants.registry()).tenants[slug]
    return page(
        request,
        "tenant.html",
        session,
        tenant=tenant,
        slug=slug,
        rows=rows,
        overrides_version=version,
        override_count=sum(row["status"] != "inherited" for row in rows),
        per_section=per_section,
        adjustments=adjustments,
        flash=_flash(request),
    )


def _flash(request: Req) -> str:
    query = request.query_params
    if query.get("created"):
        return "Tenant created. It inherits every setting until you override one."
    if query.get("saved"):
        adjusted = query.get("adjusted") or "0"
        note = "" if adjusted == "0" else f"; the platform policy adjusted {adjusted} value(s)"
        return f"Saved as overrides version {query['saved']}{note}."
    if query.get("reset"):
        return f"The section {query['reset']} is inherited again."
    if query.get("unchanged"):
        return "Nothing changed: the overrides already were these."
    return ""


# --- editing one section of a tenant's overrides ------------------------------------------------


async def _editor(
    request: Req,
    session: AdminSession,
    tenants: TenantService,
    slug: str,
    section: str,
    *,
    status: int = 200,
    submitted: FormMultiDict | None = None,
    issues: tuple[Issue, ...] = (),
) -> Response[str]:
    overrides, platform, mine, adjusted, version = await _views(request, tenants, slug)
    paths = section_paths(section)
    by_field, other = errors_by_field(issues, paths)
    fields = section_fields(section, overrides, platform, mine, adjusted, submitted, by_field)
    groups: dict[str, list[TenantField]] = {}
    for field in fields:
        groups.setdefault(field.group, []).append(field)
    form_version = _expected(submitted) if submitted is not None else version
    return page(
        request,
        "tenant_section.html",
        session,
        status=status,
        slug=slug,
        area=section,
        tenant_sections=TENANT_SECTIONS,
        groups=groups,
        form_version=form_version,
        field_errors=[(f, message) for f in fields for message in f.errors],
        other_issues=other,
        override_count=sum(f.status != "inherited" for f in fields),
    )


@get("/tenants/{slug:str}/sections/{section:str}")
async def tenant_section(
    request: Req, slug: FromPath[str], section: FromPath[str]
) -> Response[str]:
    session, tenants = await _reading(request)
    return await _editor(request, session, tenants, slug, _section(section))


@post("/tenants/{slug:str}/sections/{section:str}", status_code=200)
async def tenant_section_preview(
    request: Req, slug: FromPath[str], section: FromPath[str]
) -> Response[str]:
    """What saving the form would do, or the form again with every problem next to its input."""
    session, form, tenants = await _writing(request)
    _section(section)
    overrides, platform, mine, adjusted, version = await _views(request, tenants, slug)
    fields = section_fields(section, overrides, platform, mine, adjusted)
    values, unreadable = overrides_from_form(fields, form)
    if unreadable:
        return await _editor(
            request,
            session,
            tenants,
            slug,
            section,
            status=422,
            submitted=form,
            issues=tuple(unreadable),
        )
    expected = _expected(form)
    if expected is not None and expected != version:
        return _conflict(request, session, f"{PREFIX}/{slug}/sections/{section}")
    try:
        pending = await preview(
            api_context(request).service,
            tenants,
            slug,
            section_write(section, values),
            {section: values},
        )
    except ValidationFailed as exc:
        return await _editor(
            request,
            session,
            tenants,
            slug,
            section,
            status=422,
            submitted=form,
            issues=tuple(exc.issues),
        )
    sealed = admin_state(request).keys.seal(
        session.nonce,
        {"slug": slug, "section": section, "values": values, "version": pending.version},
    )
    return page(
        request,
        "tenant_confirm.html",
        session,
        slug=slug,
        area=section,
        diff=pending.diff,
        adjustments=pending.adjustments,
        sealed=sealed,
        default_reason=f"Updated {section} overrides via the admin console",
    )


@post("/tenants/{slug:str}/sections/{section:str}/save", status_code=200)
async def tenant_section_save(
    request: Req, slug: FromPath[str], section: FromPath[str]
) -> Response[str]:
    session, form, tenants = await _writing(request)
    _section(section)
    pending = admin_state(request).keys.unseal(session.nonce, str(form.get("pending") or ""))
    if pending is None or (pending.get("slug"), pending.get("section")) != (slug, section):
        raise Forbidden("This confirmation is not valid for your session. Preview again.")
    values: dict[str, Any] = pending["values"]
    version = pending["version"] if isinstance(pending.get("version"), int) else None
    author = Author(
        session.token_name, _reason(form, f"Updated {section} overrides via the admin console")
    )
    editor_url = f"{PREFIX}/{slug}/sections/{section}"
    try:
        if values:
            result = await tenants.save(
                slug, {section: values}, author, version, replace_sections=True
            )
        else:
            result = await tenants.reset_section(slug, section, author, version)
    except VersionConflict:
        return _conflict(request, session, editor_url)
    except TenantNotFound:
        raise UnknownPage(f"There is no tenant {slug!r}.") from None
    except ValidationFailed as exc:
        return await _editor(
            request, session, tenants, slug, section, status=422, issues=tuple(exc.issues)
        )
    if not result.appended:
        return redirect(f"{PREFIX}/{slug}?unchanged=1")
    return redirect(f"{PREFIX}/{slug}?saved={result.semver}&adjusted={len(result.adjustments)}")


@post("/tenants/{slug:str}/sections/{section:str}/reset", status_code=200)
async def tenant_section_reset(
    request: Req, slug: FromPath[str], section: FromPath[str]
) -> Response[str]:
    """Drop every override of the section: the tenant inherits it again."""
    session, form, tenants = await _writing(request)
    _section(section)
    author = Author(session.token_name, _reason(form, f"Reset {section} via the admin console"))
    try:
        result = await tenants.reset_section(slug, section, author, _expected(form))
    except VersionConflict:
        return _conflict(request, session, f"{PREFIX}/{slug}/sections/{section}")
    except TenantNotFound:
        raise UnknownPage(f"There is no tenant {slug!r}.") from None
    if not result.appended:
        return redirect(f"{PREFIX}/{slug}?unchanged=1")
    return redirect(f"{PREFIX}/{slug}?reset={section}")


# --- history and rollback ---------------------------------------------------------------------


async def _history(tenants: TenantService, slug: str) -> list[Any]:
    try:
        return await tenants.history(slug)
    except TenantNotFound:
        raise UnknownPage(f"There is no tenant {slug!r}.") from None


@get("/tenants/{slug:str}/history")
async def tenant_history(request: Req, slug: FromPath[str]) -> Response[str]:
    session, tenants = await _reading(request)
    versions = await _history(tenants, slug)
    rolled = request.query_params.get("rolled_back")
    flash = f"Rolled back: the overrides are now version {rolled}." if rolled else ""
    return page(request, "tenant_history.html", session, slug=slug, versions=versions, flash=flash)


@get("/tenants/{slug:str}/diff")
async def tenant_diff(request: Req, slug: FromPath[str]) -> Response[str]:
    """``?from=&to=``: what changed in the tenant's overrides between two of its versions."""
    session, tenants = await _reading(request)
    versions = {v.version for v in await _history(tenants, slug)}
    old, new = request.query_params.get("from", ""), request.query_params.get("to", "")
    for wanted in (old, new):
        if wanted not in versions:
            raise UnknownPage(f"Tenant {slug} has no overrides version {wanted or '(none)'}.")
    return page(
        request,
        "tenant_diff.html",
        session,
        slug=slug,
        old=old,
        new=new,
        diff=await tenants.diff(slug, old, new),
    )


@get("/tenants/{slug:str}/history/{version:str}")
async def tenant_rollback_form(
    request: Req, slug: FromPath[str], version: FromPath[str]
) -> Response[str]:
    """What rolling back to ``version`` would change now, with today's policy applied."""
    session, tenants = await _reading(request)
    if not session.can(TENANT_WRITE):
        raise Forbidden(f"Your token lacks the scope {TENANT_WRITE} needed here.")
    return await _rollback_page(request, session, tenants, slug, version)


async def _rollback_page(
    request: Req,
    session: AdminSession,
    tenants: TenantService,
    slug: str,
    version: str,
    *,
    status: int = 200,
    error: str = "",
) -> Response[str]:
    versions = await _history(tenants, slug)
    info = next((v for v in versions if v.version == version), None)
    if info is None:
        raise UnknownPage(f"Tenant {slug} has no overrides version {version}.")
    commands = tenants.commands
    target = commands.plaintext(slug, await commands.load_version(slug, version))
    try:
        pending = await preview(api_context(request).service, tenants, slug, lambda _: target)
        problems: tuple[Issue, ...] = ()
    except ValidationFailed as exc:
        pending, problems = None, tuple(exc.issues)
    return page(
        request,
        "tenant_rollback.html",
        session,
        status=status,
        slug=slug,
        info=info,
        pending=pending,
        problems=problems,
        error=error,
    )


@post("/tenants/{slug:str}/rollback", status_code=200)
async def tenant_rollback(request: Req, slug: FromPath[str]) -> Response[str]:
    session, form, tenants = await _writing(request)
    version = str(form.get("version") or "")
    reason = str(form.get("reason") or "").strip()[:_REASON_MAX]
    if not reason:
        return await _rollback_page(
            request,
            session,
            tenants,
            slug,
            version,
            status=422,
            error="A reason is required to roll back.",
        )
    try:
        result = await tenants.restore(
            slug, version, Author(session.token_name, reason), _expected(form)
        )
    except VersionConflict:
        return _conflict(request, session, f"{PREFIX}/{slug}/history/{version}")
    except TenantNotFound:
        raise UnknownPage(f"There is no tenant {slug!r}.") from None
    except ValidationFailed as exc:
        text = "; ".join(str(issue) for issue in exc.issues)
        return page(
            request, "message.html", session, status=422, title="Cannot roll back", text=text
        )
    return redirect(f"{PREFIX}/{slug}/history?rolled_back={result.semver}")


ROUTES = [
    tenants_list,
    tenant_create,
    tenant_detail,
    tenant_section,
    tenant_section_preview,
    tenant_section_save,
    tenant_section_reset,
    tenant_history,
    tenant_diff,
    tenant_rollback_form,
    tenant_rollback,
]
