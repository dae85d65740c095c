"""Small pieces the route modules share: envelopes, ETags and If-Match, documented errors."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Final

from litestar import Request, Response
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import QueryParameter

from adapters.http.auth import FRESH_STATE
from adapters.http.context import api_context
from adapters.http.errors import ApiError, ErrorBody
from adapters.http.feed import fresh
from adapters.service import ConfigService
from eventstore.schema import unstructure
from eventstore.schema.paths import PERSISTED_SECTIONS
from eventstore.state import semver_of

BEARER: Final[list[dict[str, list[str]]]] = [{"bearerAuth": []}]

_DESCRIPTIONS: Final = {
    400: "Malformed request (bad query parameter, body not an object, bad If-Match)",
    401: "No token, or an unknown or revoked one",
    403: "The token lacks the scope this route needs",
    404: "Not found",
    409: "Version conflict (If-Match), or the store is in read-only file mode",
    413: "Request body too large",
    422: "Invalid configuration: every failing path with its message",
    429: "Too many reveals; see Retry-After",
    503: "The store could not complete the request",
}


Consistency = Annotated[
    str | None,
    QueryParameter(description="default | consistent (both read-after-write) | stale"),
]


#: the values of ``consistency``, each with whether it checks the log's head before answering
CHECKS_HEAD: Final = {"": True, "default": True, "consistent": True, "stale": False}


async def consistent(request: Request[Any, Any, Any], consistency: str | None) -> None:
    """Reads are read-after-write consistent across processes: catch up with the log before
    answering when its head moved, unless the client accepts a stale read."""
    checks = CHECKS_HEAD.get(consistency or "")
    if checks:
        if not request.state.get(FRESH_STATE):  # the token guard may have checked already
            await fresh(api_context(request).service)
    elif checks is None:
        raise ApiError(
            400, "consistency must be default, consistent or stale", code="invalid_consistency"
        )


def errors(*statuses: int) -> dict[int, ResponseSpec]:
    """OpenAPI entries for the error statuses a route can answer, all in the one error shape."""
    return {
        status: ResponseSpec(ErrorBody, description=_DESCRIPTIONS[status])
        for status in (400, *statuses, 503)
    }


def etag(version: int) -> str:
    return f'"{version}"'


def expected_version(request: Request[Any, Any, Any]) -> int | None:
    """The ``_version`` an ``If-Match`` header names (None without one, or for ``*``).

    Accepts the ETag as sent (``"4"``, ``W/"4"``) and the bare number.
    """
    raw = request.headers.get("if-match")
    if raw is None or raw.strip() == "*":
        return None
    value = raw.strip().removeprefix("W/").strip('"')
    if not value.isdigit() or len(value) > 18:
        raise ApiError(
            400,
            'If-Match must hold a _version (the ETag of a read), e.g. If-Match: "4"',
            code="invalid_if_match",
        )
    return int(value)


def version_meta(version: int) -> dict[str, Any]:
    return {"version": semver_of(version) if version else None, "_version": version}


def visible(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The sections the API shows and changes (of an unstructured config, secrets masked):
    without the runtime-only ``storage``/``oidc_storage`` sections, which come from the
    bootstrap and hold connection strings (with their passwords)."""
    return {section: doc[section] for section in PERSISTED_SECTIONS if section in doc}


def visible_config(config: Any) -> dict[str, Any]:
    return visible(unstructure(config))


def check_section(section: str) -> str:
    if section not in PERSISTED_SECTIONS:
        raise ApiError(
            404,
            f"no configuration section {section!r}; sections: {', '.join(PERSISTED_SECTIONS)}",
            code="unknown_section",
        )
    return section


def with_etag(body: Mapping[str, Any], version: int, status: int = 200) -> Response[Any]:
    return Response(dict(body), status_code=status, headers={"ETag": etag(version)})


def need_store(service: ConfigService) -> None:
    """A clear 409 before any work when the config comes from a file (read-only, no history)."""
    if service.file_mode:
        from adapters.service import FileModeError

        raise FileModeError()
