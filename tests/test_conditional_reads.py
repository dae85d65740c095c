"""A conditional runtime read is answered before the framework only when the route would answer
it 304 too: a differential test against the route alone, and the cases that must fall through.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.http.app import RequestIds, create_app
from adapters.service import ConfigService
from adapters.wiring import open_service
from eventstore.commands import Author
from eventstore.tokens import READ, RUNTIME, TokenStore

ENVIRON = {"USE_FILE_CONFIG": "false", "ENCRYPTION_KEY": "7c" * 32}


class World:
    """One service; the whole app (with the early answer) and the framework's app alone."""

    def __init__(self, service: ConfigService, app: RequestIds, tokens: dict[str, str]) -> None:
        self.service = service
        self.app = app
        self.tokens = tokens

    def client(self, whole: bool) -> httpx.AsyncClient:
        target: Any = self.app if whole else self.app.litestar
        transport = httpx.ASGITransport(app=target)
        return httpx.AsyncClient(transport=transport, base_url="http://test")


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    service = await open_service(tmp_path, ENVIRON)
    store = TokenStore(service.event_log)
    tokens = {
        "runtime": (await store.create("app", (RUNTIME,), "tests"))[1],
        "reader": (await store.create("reader", (READ,), "tests"))[1],
        "revoked": (await store.create("gone", (RUNTIME,), "tests"))[1],
    }
    await store.revoke("gone", "tests")
    await service.catch_up()
    try:
        yield World(service, create_app(service), tokens)
    finally:
        await service.close()


def _answer(response: httpx.Response) -> tuple[int, str | None, bytes]:
    return response.status_code, response.headers.get("etag"), response.content


async def test_a_current_etag_is_answered_304_and_counted_like_the_route(world: World) -> None:
    headers = {"Authorization": f"Bearer {world.tokens['runtime']}", "If-None-Match": '"1"'}
    async with world.client(True) as whole, world.client(False) as route:
        early = await whole.get("/api/v1/runtime", headers=headers)
        framework = await route.get("/api/v1/runtime", headers=headers)
        assert _answer(early) == _answer(framework) == (304, '"1"', b"")
        assert early.headers["x-request-id"]
        metrics = world.app.context.metrics.runtime_reads.labels(outcome="not_modified")
        assert metrics._value.get() == 2  # both answers counted alike


async def test_a_save_elsewhere_is_seen_by_the_next_conditional_read(
    world: World, tmp_path: Path
) -> None:
    headers = {"Authorization": f"Bearer {world.tokens['runtime']}", "If-None-Match": '"1"'}
    async with world.client(True) as whole:
        assert (await whole.get("/api/v1/runtime", headers=headers)).status_code == 304
        other = await open_service(tmp_path, ENVIRON)
        try:
            await other.save({"branding": {"companyName": "Elsewhere"}}, Author("ops", "test"))
            await TokenStore(other.event_log).revoke("app", "ops")
        finally:
            await other.close()
        stale = await whole.get("/api/v1/runtime?consistency=stale", headers=headers)
        assert stale.status_code == 304  # this process has not caught up: as of what it applied
        current = await whole.get("/api/v1/runtime", headers=headers)
        assert current.status_code == 401  # caught up: the save, and the revocation with it


HEADER_VALUES = st.one_of(
    st.none(),
    st.sampled_from(['"1"', 'W/"1"', '"2"', '"0", "1"', "*", "", '"1.0"', "1"]),
    st.text(max_size=12),
)
QUERIES = st.sampled_from(
    [
        "",
        "?consistency=stale",
        "?consistency=default",
        "?consistency=",
        "?consistency=bogus",
        "?consistency=stale&consistency=default",
        "?tenant=acme",
        "?after=1&wait=0s",
        "?full=1",
    ]
)
PATHS = st.sampled_from(["/api/v1/runtime", "/api/v1/runtime/", "/api/v1/runtime/branding"])
TOKENS = st.sampled_from(["runtime", "reader", "revoked", "none", "garbage", "basic"])


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    path=PATHS,
    query=QUERIES,
    token=TOKENS,
    etag=HEADER_VALUES,
    twice=st.booleans(),
    method=st.sampled_from(["GET", "HEAD", "POST"]),
)
async def test_the_early_answer_never_differs_from_the_route(
    world: World, path: str, query: str, token: str, etag: str | None, twice: bool, method: str
) -> None:
    """Whatever the request, the whole app answers what the framework's route answers: the
    early 304 only ever replaces a 304 of the route."""
    headers: list[tuple[str, str]] = []
    if token in world.tokens:
        headers.append(("Authorization", f"Bearer {world.tokens[token]}"))
    elif token == "garbage":
        headers.append(("Authorization", "Bearer pkc_garbage"))
    elif token == "basic":
        headers.append(("Authorization", "Basic YTpi"))
    if etag is not None and all(c.isprintable() and ord(c) < 128 for c in etag):
        headers += [("If-None-Match", etag)] * (2 if twice else 1)
    async with world.client(True) as whole, world.client(False) as route:
        early = await whole.request(method, path + query, headers=headers)
        framework = await route.request(method, path + query, headers=headers)
    assert _answer(early) == _answer(framework)
