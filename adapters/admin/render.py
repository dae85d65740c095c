"""Rendering pages: one Jinja2 environment over the package's templates, autoescaped.

Jinja2 is used directly rather than through Litestar's template config, because that config is
application-wide and the console is one router mounted into the API's application. Every page
gets what the layout needs (who is signed in, their scopes, the CSRF token, the file-mode banner)
from :func:`page`, so a template cannot forget the banner or the token.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from jinja2 import Environment, PackageLoader, select_autoescape
from litestar import Request, Response
from litestar.enums import MediaType

from adapters.admin.auth import admin_state
from adapters.admin.sessions import AdminSession
from adapters.http.context import api_context
from eventstore.schema.paths import PERSISTED_SECTIONS
from eventstore.state import semver_of
from eventstore.tokens import READ, TENANT_READ, TENANT_WRITE, TOKENS_ADMIN, WRITE

Req = Request[Any, Any, Any]

FILE_MODE_BANNER: Final = (
    "File mode: the configuration comes from runtime/parako.jsonc (USE_FILE_CONFIG=true). "
    "Changes made here do not persist; edit the file instead."
)
SECTION_LABELS: Final = {
    "application": "Application",
    "branding": "Branding",
    "deployment": "Deployment",
    "security": "Security",
    "features": "Features",
    "oidc": "OIDC",
    "integrations": "Integrations",
    "notifications": "Notifications",
}
#: headers every console page carries: never cached (pages show configuration), never framed
PAGE_HEADERS: Final = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
}


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment else ""


def _shown(value: Any) -> str:
    """A value in a diff, audit row or tenant table: JSON, so ``"1"`` and ``1`` differ."""
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


ENV: Final = Environment(
    loader=PackageLoader("adapters.admin", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
ENV.filters["when"] = _when
ENV.filters["shown"] = _shown
ENV.filters["semver"] = semver_of
ENV.globals["section_labels"] = SECTION_LABELS


def page(
    request: Req,
    template: str,
    session: AdminSession | None = None,
    status: int = 200,
    **context: Any,
) -> Response[str]:
    service = api_context(request).service
    csrf = admin_state(request).keys.csrf_for(session.nonce) if session else ""
    scopes = set(session.scopes) if session else set()
    body = ENV.get_template(template).render(
        session=session,
        csrf=csrf,
        can_read=READ in scopes,
        can_write=WRITE in scopes,
        can_tenants=bool(scopes & {TENANT_READ, TENANT_WRITE}) and service.tenants is not None,
        can_tenant_write=TENANT_WRITE in scopes and not service.file_mode,
        can_tokens=TOKENS_ADMIN in scopes and not service.file_mode,
        file_mode=service.file_mode,
        file_mode_banner=FILE_MODE_BANNER,
        version=semver_of(service.version) if service.version else None,
        sections=PERSISTED_SECTIONS,
        **context,
    )
    return Response(body, status_code=status, media_type=MediaType.HTML, headers=PAGE_HEADERS)


def redirect(location: str, headers: Mapping[str, str] | None = None) -> Response[str]:
    """303: after a post, the browser fetches the page with GET (no re-post on reload)."""
    return Response(
        "",
        status_code=303,
        headers={"Location": location, **(headers or {})},
        media_type="text/plain",
    )
