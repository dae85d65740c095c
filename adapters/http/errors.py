"""One error shape for every failure: ``{"error": {"code", "message", "details"}}``.

Clients (the admin panel, scripts) branch on ``code``, show ``message`` to a person, and read
``details`` for the specifics (the failing paths of a 422). Messages come from exceptions that are
written for users and never carry a secret; anything unexpected becomes a generic 500 whose cause
goes to the log only, so a stack trace or a decrypted value can never reach a response.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

import attrs
import structlog
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException

from adapters.service import FileModeError
from eventstore.errors import ConfigError, ValidationFailed, VersionConflict
from eventstore.integrity import LogIntegrityError
from eventstore.tenants import TenantNotFound

_log = structlog.get_logger("parako-config.api")

#: the code sent for a status when the exception does not name one
STATUS_CODES: Final = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "body_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "rate_limited",
    500: "internal",
    503: "unavailable",
}


@attrs.frozen
class ErrorDetail:
    """The inside of the envelope, documented in the OpenAPI schema."""

    code: str
    message: str
    details: Any = None


@attrs.frozen
class ErrorBody:
    """The body of every error response."""

    error: ErrorDetail


class ApiError(Exception):
    """An error a route raises on purpose, with its status and code."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        details: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code or STATUS_CODES.get(status, "error")
        self.message = message
        self.details = details
        self.headers = dict(headers or {})


def error_response(
    status: int,
    code: str,
    message: str,
    details: Any = None,
    headers: Mapping[str, str] | None = None,
) -> Response[dict[str, Any]]:
    body = {"error": {"code": code, "message": message, "details": details}}
    return Response(body, status_code=status, headers=dict(headers or {}))


def issues_of(exc: ValidationFailed) -> list[dict[str, str]]:
    return [{"path": issue.path, "message": issue.message} for issue in exc.issues]


def _api_error(_: Request[Any, Any, Any], exc: ApiError) -> Response[dict[str, Any]]:
    return error_response(exc.status, exc.code, exc.message, exc.details, exc.headers)


def _validation(_: Request[Any, Any, Any], exc: ValidationFailed) -> Response[dict[str, Any]]:
    return error_response(422, "validation_failed", exc.heading, issues_of(exc))


def _conflict(_: Request[Any, Any, Any], exc: VersionConflict) -> Response[dict[str, Any]]:
    details = {"expected": exc.expected, "actual": exc.actual}
    return error_response(409, "version_conflict", VersionConflict.MESSAGE, details)


def _tenant_not_found(_: Request[Any, Any, Any], exc: TenantNotFound) -> Response[dict[str, Any]]:
    return error_response(404, "tenant_not_found", str(exc), {"slug": exc.slug})


def _file_mode(_: Request[Any, Any, Any], exc: FileModeError) -> Response[dict[str, Any]]:
    return error_response(409, "file_mode", str(exc))


def _integrity(_: Request[Any, Any, Any], exc: LogIntegrityError) -> Response[dict[str, Any]]:
    # the position and reason are facts about stored bytes, never a value: safe to show
    details = {"position": exc.position, "reason": exc.reason}
    return error_response(503, "log_integrity_failed", str(exc), details)


def _config_error(request: Request[Any, Any, Any], exc: ConfigError) -> Response[dict[str, Any]]:
    # A ConfigError we did not map is about the store (busy, unreachable), not the input.
    _log.error("request failed", error=type(exc).__name__, message=str(exc), path=request.url.path)
    return error_response(503, "unavailable", "the configuration store could not complete this")


def _body_issues(exc: ValidationException) -> list[dict[str, str]] | None:
    """A body that is not the JSON the route takes is invalid input (422), like a bad setting;
    a bad query or path parameter stays a malformed request (400)."""
    extra = exc.extra if isinstance(exc.extra, list) else []
    body = [e for e in extra if isinstance(e, Mapping) and e.get("source") == "body"]
    if not body:
        return None
    return [{"path": str(e.get("key") or ""), "message": str(e.get("message", ""))} for e in body]


def _http(_: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    status = exc.status_code
    details: Any = None
    if isinstance(exc, ValidationException):
        issues = _body_issues(exc)
        if issues is not None:
            return error_response(422, "validation_failed", "Invalid request body", issues)
        details = exc.extra or None
    message = exc.detail or STATUS_CODES.get(status, "error")
    headers = dict(exc.headers or {})
    return error_response(status, STATUS_CODES.get(status, "error"), message, details, headers)


def _too_deep(_: Request[Any, Any, Any], exc: RecursionError) -> Response[dict[str, Any]]:
    # the JSON decoder (and anything else that walks a body) gives up on nesting no config
    # needs; the depth is the client's input, never a fault of the service
    return error_response(400, "bad_request", "the request body is nested too deeply")


def _internal(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    # Only the class name and the path are logged: an exception's text may quote a value.
    _log.error("unhandled error", error=type(exc).__name__, path=request.url.path)
    return error_response(500, "internal", "an unexpected error occurred")


Handler = Callable[[Request[Any, Any, Any], Any], Response[Any]]

#: Litestar picks the handler of the most specific class in the exception's MRO.
EXCEPTION_HANDLERS: Final[dict[type[Exception], Handler]] = {
    ApiError: _api_error,
    ValidationFailed: _validation,
    VersionConflict: _conflict,
    TenantNotFound: _tenant_not_found,
    FileModeError: _file_mode,
    LogIntegrityError: _integrity,
    ConfigError: _config_error,
    HTTPException: _http,
    RecursionError: _too_deep,
    Exception: _internal,
}
