"""Health, import/export, the console's static files, its icon and the root redirect.

Import is previewed like a save (the changed settings and their impact, then a confirmation);
the pending document travels sealed, because a pasted file may hold plaintext secrets. Export
is the store's own export: secrets masked, importable as is.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from importlib import resources
from typing import Any, Final

from litestar import Request, Response, get, post
from litestar.datastructures import FormMultiDict, UploadFile
from litestar.params import FromPath

from adapters.admin.auth import Forbidden, admin_state, posted, signed_in
from adapters.admin.preview import preview_import
from adapters.admin.render import page, redirect
from adapters.admin.routes_settings import UnknownPage
from adapters.http.context import api_context
from adapters.http.health import health_report
from adapters.http.owned_paths import ADMIN_PREFIX, FAVICON_PATH
from adapters.service import ConfigService
from eventstore.commands import Author
from eventstore.errors import ValidationFailed
from eventstore.tokens import READ, WRITE

Req = Request[Any, Any, Any]
_STATIC: Final = resources.files("adapters.admin").joinpath("static")
_TYPES: Final = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
    ".ico": "image/vnd.microsoft.icon",
}
#: only the files shipped with the package, by name: no path from a request reaches the disk
STATIC_FILES: Final = {
    entry.name: entry.read_bytes()
    for entry in _STATIC.iterdir()
    if entry.is_file() and entry.name.endswith(tuple(_TYPES))
}


@get("/static/{name:str}")
async def static(name: FromPath[str]) -> Response[bytes]:
    body = STATIC_FILES.get(name)
    if body is None:
        raise UnknownPage("No such file.")
    media = _TYPES[name[name.rindex(".") :]]
    return Response(body, media_type=media, headers={"Cache-Control": "max-age=300"})


# --- outside /admin: the site root and the icon browsers ask every site for --------------------


@get("/", sync_to_thread=False)
def root() -> Response[str]:
    """The service has no page of its own at ``/``: the console is what a person wants there
    (the API lives under its own prefix, see ``owned_paths``)."""
    return Response(
        "", status_code=302, headers={"Location": ADMIN_PREFIX}, media_type="text/plain"
    )


@get(FAVICON_PATH, sync_to_thread=False)
def favicon() -> Response[bytes]:
    """Browsers fetch it for any page (the API's too) whatever the page links."""
    return Response(
        STATIC_FILES["favicon.ico"],
        media_type=_TYPES[".ico"],
        headers={"Cache-Control": "max-age=86400"},
    )


@get("/settings/health")
async def health(request: Req) -> Response[str]:
    session = await signed_in(request, READ)
    context = api_context(request)
    report = await health_report(context.service, context.health_chain_window)
    return page(
        request,
        "health.html",
        session,
        status=200 if report["status"] == "ok" else 503,
        health=report,
    )


@get("/settings/export")
async def export(request: Req) -> Response[Any]:
    await signed_in(request, READ)
    document = await api_context(request).service.export()
    day = datetime.now(UTC).strftime("%Y-%m-%d")
    headers = {
        "Content-Disposition": f'attachment; filename="parako-config-export-{day}.json"',
        "Cache-Control": "no-store",
    }
    return Response(document, headers=headers)


def _need_store(service: ConfigService) -> None:
    if service.file_mode:
        raise Forbidden("File mode: changes cannot be saved here.")


@get("/settings/import")
async def import_form(request: Req) -> Response[str]:
    session = await signed_in(request, WRITE)
    return page(request, "import.html", session, error="", text="")


async def _document(form: FormMultiDict) -> tuple[Any, str]:
    """The posted JSON (file or textarea), and an error message ('' when fine); the messages
    are the reference's."""
    upload = form.get("file")
    text = str(form.get("document") or "")
    if isinstance(upload, UploadFile):
        raw = await upload.read()
        if raw:
            text = raw.decode("utf-8", "replace")
    if not text.strip():
        return None, "No configuration data provided"
    try:
        document = json.loads(text)
    except ValueError:
        return None, "Invalid JSON format"
    except RecursionError:
        return None, "Invalid JSON format: nested too deeply"
    if not isinstance(document, dict):
        return None, "Configuration must be a JSON object"
    return document, ""


@post("/settings/import", status_code=200)
async def import_preview(request: Req) -> Response[str]:
    session, form = await posted(request, WRITE)
    service = api_context(request).service
    _need_store(service)
    document, error = await _document(form)
    if error:
        return page(request, "import.html", session, status=422, error=error, text="")
    try:
        pending = await preview_import(service, document)
    except ValidationFailed as exc:
        issues = "; ".join(str(issue) for issue in exc.issues)
        return page(request, "import.html", session, status=422, error=issues, text="")
    await service.catch_up()
    sealed = admin_state(request).keys.seal(
        session.nonce, {"document": pending.change, "version": service.version}
    )
    return page(request, "import_preview.html", session, diff=pending.diff, sealed=sealed)


@post("/settings/import/apply", status_code=200)
async def import_apply(request: Req) -> Response[str]:
    session, form = await posted(request, WRITE)
    service = api_context(request).service
    _need_store(service)
    pending = admin_state(request).keys.unseal(session.nonce, str(form.get("pending") or ""))
    if pending is None:
        raise Forbidden("This confirmation is not valid for your session. Preview again.")
    reason = str(form.get("reason") or "").strip() or "Imported via the admin console"
    try:
        result = await service.import_document(
            pending["document"], Author(session.token_name, reason)
        )
    except ValidationFailed as exc:
        issues = "; ".join(str(issue) for issue in exc.issues)
        return page(request, "import.html", session, status=422, error=issues, text="")
    return redirect(f"/admin/settings/history?imported={result.semver}")


ROUTES = [
    static,
    health,
    export,
    import_form,
    import_preview,
    import_apply,
]
#: served at the site root, outside the console's prefix
ROOT_ROUTES = [root, favicon]
