"""A lean HTTP/1.1 load generator: keep-alive connections sending one prepared request each.

httpx spends about as much CPU per request as the server does (it builds a request object,
headers, a response object and its state machine every time), so on a 2-core machine a load
generated with it measures the client as much as the server: a 304 and a 200 of the same route
came out within a few percent of each other whatever the server did. This client sends the same
bytes again on every connection and parses only the status line and ``Content-Length``, which
costs a small fraction of what the server spends, so the rate it reaches is the server's.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any

import attrs


@attrs.frozen
class Rate:
    """What ``seconds`` of load measured after the warm-up."""

    per_second: float
    #: answers whose status was not the expected one
    wrong: int
    #: every request made, warm-up included (for CPU per request)
    made: int


def request_bytes(host: str, target: str, headers: Mapping[str, str]) -> bytes:
    lines = [f"GET {target} HTTP/1.1", f"Host: {host}", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def _answer(reader: asyncio.StreamReader) -> int:
    """Read one response whole; its status."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.lower() == b"content-length":
            length = int(value)
    if length:
        await reader.readexactly(length)
    return status


async def rate(
    host: str,
    port: int,
    request: bytes,
    *,
    expect: int,
    concurrency: int,
    seconds: float,
    warmup: float,
) -> Rate:
    """Requests per second answered over ``seconds`` after ``warmup``, ``concurrency``
    connections each with one request in flight."""
    done = wrong = made = 0
    start = time.perf_counter()
    measure_from = start + warmup
    stop = measure_from + seconds

    async def connection() -> None:
        nonlocal done, wrong, made
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while (now := time.perf_counter()) < stop:
                writer.write(request)
                status = await _answer(reader)
                made += 1
                if now >= measure_from:
                    done += 1
                    wrong += status != expect
        finally:
            writer.close()

    await asyncio.gather(*(connection() for _ in range(concurrency)))
    return Rate(done / seconds, wrong, made)


async def not_modified(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The least an ASGI app can do for a conditional read: answer 304 with an ETag. Served by
    the same uvicorn as the API, its rate is the floor no route of the API can go below."""
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 304, "headers": [(b"etag", b'"1"')]})
    await send({"type": "http.response.body", "body": b""})
