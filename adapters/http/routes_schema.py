"""What the settings are: a JSON schema of the configuration, and one setting explained.

The request and response bodies of ``/config`` are free-form JSON objects in the OpenAPI document
(the store validates them, not the framework), so the per-setting documentation lives here: every
property carries the label (``title``) and help (``description``) declared beside the setting.
Defaults are shown as reads show values: secrets never have one here.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get
from litestar.params import FromPath

from adapters.http.auth import SCOPE_OPT, require_scope
from adapters.http.common import BEARER, errors
from adapters.http.errors import ApiError
from eventstore.schema.docs import UnknownSetting, explain, json_schema
from eventstore.tokens import READ

Req = Request[Any, Any, Any]
READING: dict[str, Any] = {"guards": [require_scope], "opt": {SCOPE_OPT: READ}, "security": BEARER}
#: the schema changes only with a release; let clients and proxies keep it for a while
CACHED = {"Cache-Control": "private, max-age=300"}


@get(
    "/config/schema",
    **READING,
    responses=errors(401, 403),
    summary="JSON schema of the configuration, with a label and a description per setting",
)
async def config_schema(request: Req) -> Response[Any]:
    """Every setting and group as a JSON schema (draft 2020-12) property: ``title`` is its label,
    ``description`` what it does, ``default`` its default (never for a secret), ``readOnly`` when
    set by a start-up variable or always computed, ``x-env`` the variable that sets it."""
    return Response(json_schema(), headers=CACHED)


@get(
    "/config/schema/{path:str}",
    **READING,
    responses=errors(401, 403, 404),
    summary="One setting explained: label, help, default, rules and where it can be set",
)
async def explain_setting(request: Req, path: FromPath[str]) -> Response[dict[str, Any]]:
    """``path`` is a dotted setting or group path, or an entry of a free-form map."""
    try:
        return Response({"data": explain(path)}, headers=CACHED)
    except UnknownSetting:
        raise ApiError(
            404, f"{path}: not a setting of the schema", code="unknown_setting"
        ) from None


ROUTES = [config_schema, explain_setting]
