"""The runtime read an app process repeats, answered before the framework when nothing changed.

An app polling ``GET /api/v1/runtime`` with the ETag it holds is answered 304 nearly every time.
That answer needs the token check, the log's head and the version; it does not need the
routing, parameter parsing and response objects the framework builds for every request, which
were most of a 304's cost. :func:`answer_not_modified` answers exactly that case from the raw
ASGI scope, with the route's own token check, ETag and metrics. Anything else (another path or
method, another query parameter, a header given twice, no ETag or an old one, a token the check
refuses, any error) sends nothing and returns False, and the request goes to the route, which
answers it, errors included, as it always does.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Final
from urllib.parse import parse_qsl

import structlog

from adapters.http.auth import admitted
from adapters.http.common import CHECKS_HEAD
from adapters.http.context import ApiContext
from adapters.http.owned_paths import API_PREFIX
from adapters.http.routes_runtime import (
    count_not_modified,
    etag_header,
    held_tags,
    platform_tag,
)
from eventstore.tokens import RUNTIME

RUNTIME_PATH: Final = f"{API_PREFIX}/runtime"

Scope = MutableMapping[str, Any]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


def _single(headers: list[tuple[bytes, bytes]], name: bytes) -> str | None:
    """The header's value if it is given exactly once (else None: the route decides)."""
    values = [value for key, value in headers if key == name]
    return values[0].decode("latin-1") if len(values) == 1 else None


async def answer_not_modified(context: ApiContext, scope: Scope, send: Send) -> bool:
    """Answer 304 if this is a platform runtime read whose ``If-None-Match`` holds the current
    version and whose token may read it; True when it was answered."""
    if scope["method"] != "GET" or scope["path"] != RUNTIME_PATH or context.service.file_mode:
        return False
    headers = scope["headers"]
    held = _single(headers, b"if-none-match")
    authorization = _single(headers, b"authorization")
    if held is None or authorization is None:
        return False
    raw_query = scope["query_string"]
    query = parse_qsl(raw_query.decode("latin-1"), keep_blank_values=True) if raw_query else []
    if any(name != "consistency" for name, _ in query) or len(query) > 1:
        return False
    current = CHECKS_HEAD.get(query[0][1] if query else "")
    if current is None:
        return False
    try:
        token = await admitted(context, authorization, RUNTIME, current=current)
    except Exception:  # refused, or the log is unreachable: the route answers that
        return False
    tag = platform_tag(context.service)
    if tag not in held_tags(held):
        return False
    structlog.contextvars.bind_contextvars(actor=token.name)
    count_not_modified(context)
    etag = etag_header(tag).encode("ascii")
    await send({"type": "http.response.start", "status": 304, "headers": [(b"etag", etag)]})
    await send({"type": "http.response.body", "body": b""})
    return True
