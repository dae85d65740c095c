"""The runtime API for app processes: secrets in clear for the runtime scope only, ETags and 304,
long-polls, Server-Sent Events with resume, and reads that see other processes' writes."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from support.api_support import RunningApi, serving

from adapters.service import ConfigService
from adapters.wiring import open_service
from eventstore.commands import Author
from eventstore.tokens import READ, RUNTIME, TENANT_READ, TENANT_WRITE, WRITE

OPS = Author("ops", "test")


def runtime_client(api: RunningApi, name: str = "app") -> httpx.Client:
    return api.client(api.token(name, RUNTIME))


def save(api: RunningApi, partial: dict[str, Any]) -> None:
    async def write(service: ConfigService) -> None:
        await service.save(partial, OPS)

    api.run(write)


def save_elsewhere(api: RunningApi, partial: dict[str, Any]) -> None:
    """A write by another process over the same store (its own service, then closed)."""
    import asyncio

    async def write() -> None:
        service = await open_service(api.root, api.environ)
        try:
            await service.save(partial, OPS)
        finally:
            await service.close()

    asyncio.run(write())


# --- reads ------------------------------------------------------------------------------------


def test_the_runtime_scope_reads_secrets_in_clear_and_nothing_else(api: RunningApi) -> None:
    app = runtime_client(api)
    body = app.get("/runtime").json()
    secret = body["data"]["security"]["secrets"]["jwt_secret"]
    assert isinstance(secret, str)
    assert len(secret) >= 32
    assert "•" not in secret
    assert "storage" not in body["data"]  # the store's own connection is not for apps
    assert "oidc_storage" in body["data"]
    assert body["meta"]["_version"] == 1
    for method, path in [
        ("GET", "/config"),
        ("GET", "/config/versions"),
        ("PATCH", "/config"),
        ("POST", "/config/reveal"),
        ("GET", "/config/watch"),
        ("GET", "/tenants/acme/config"),
    ]:
        assert app.request(method, path, json={}).status_code == 403, path
    admin = api.client(api.token("admin", READ, WRITE, TENANT_READ))
    assert admin.get("/runtime").status_code == 403


def test_etag_is_the_version_and_if_none_match_answers_304(api: RunningApi) -> None:
    app = runtime_client(api)
    first = app.get("/runtime/branding")
    assert first.headers["etag"] == '"1"'
    assert first.json()["data"]["companyName"]
    again = app.get("/runtime/branding", headers={"If-None-Match": '"1"'})
    assert again.status_code == 304
    assert again.content == b""
    save(api, {"branding": {"companyName": "Next"}})
    changed = app.get("/runtime/branding", headers={"If-None-Match": '"1"'})
    assert changed.status_code == 200
    assert changed.headers["etag"] == '"2"'
    assert changed.json()["data"]["companyName"] == "Next"


def test_a_write_by_another_process_is_seen_by_the_next_read(api: RunningApi) -> None:
    """No Redis, SQLite: the read checks the head itself instead of waiting for a poll."""
    app = runtime_client(api)
    admin = api.client(api.token("admin", READ))
    assert app.get("/runtime").headers["etag"] == '"1"'
    save_elsewhere(api, {"branding": {"companyName": "Elsewhere"}})
    assert admin.get("/config/branding").json()["data"]["companyName"] == "Elsewhere"
    save_elsewhere(api, {"branding": {"companyName": "Again"}})
    assert admin.get("/config").headers["etag"] == '"3"'
    save_elsewhere(api, {"branding": {"companyName": "Third"}})
    assert app.get("/runtime/branding").json()["data"]["companyName"] == "Third"


def test_a_stale_read_may_lag(api: RunningApi) -> None:
    app = runtime_client(api)
    assert app.get("/runtime", params={"consistency": "stale"}).headers["etag"] == '"1"'
    save_elsewhere(api, {"branding": {"companyName": "Elsewhere"}})
    stale = app.get("/runtime", params={"consistency": "stale"})
    assert stale.headers["etag"] == '"1"'  # within the poll interval, nothing told this process
    assert app.get("/runtime").headers["etag"] == '"2"'


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"after": "x"}, "invalid_after"),
        ({"after": "1", "wait": "301s"}, "invalid_wait"),
        ({"after": "1", "wait": "-1"}, "invalid_wait"),
        ({"after": "1", "wait": "soon"}, "invalid_wait"),
        ({"consistency": "strong"}, "invalid_consistency"),
    ],
)
def test_bad_watch_parameters_are_400(api: RunningApi, params: dict[str, str], code: str) -> None:
    response = runtime_client(api).get("/runtime", params=params)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == code


def test_an_unknown_section_or_tenant_is_404(api: RunningApi) -> None:
    app = runtime_client(api)
    assert app.get("/runtime/nope").status_code == 404
    assert app.get("/runtime", params={"tenant": "ghost"}).status_code == 404


# --- long-polls -------------------------------------------------------------------------------


def test_a_long_poll_answers_at_once_when_newer(api: RunningApi) -> None:
    app = runtime_client(api)
    save(api, {"branding": {"companyName": "Two"}})
    started = time.monotonic()
    response = app.get("/runtime", params={"after": "1", "wait": "20s"})
    assert response.status_code == 200
    assert time.monotonic() - started < 5
    assert response.headers["etag"] == '"2"'


def test_a_long_poll_is_held_until_another_process_writes(api: RunningApi) -> None:
    app = runtime_client(api)
    timer = threading.Timer(0.5, save_elsewhere, (api, {"branding": {"companyName": "Later"}}))
    timer.start()
    try:
        started = time.monotonic()
        response = app.get("/runtime", params={"after": "1", "wait": "20s"}, timeout=30)
    finally:
        timer.join()
    assert response.status_code == 200
    assert response.headers["etag"] == '"2"'
    assert response.json()["data"]["branding"]["companyName"] == "Later"
    assert 0.4 < time.monotonic() - started < 10


def test_a_long_poll_without_news_answers_304_when_the_wait_passes(api: RunningApi) -> None:
    started = time.monotonic()
    response = runtime_client(api).get("/runtime", params={"after": '"1"', "wait": "600ms"})
    assert response.status_code == 304
    assert response.headers["etag"] == '"1"'
    assert 0.5 < time.monotonic() - started < 5


# --- streams ----------------------------------------------------------------------------------


class Stream:
    """An SSE client on its own thread, collecting parsed events."""

    def __init__(self, client: httpx.Client, path: str, **headers: str) -> None:
        self.events: list[dict[str, Any]] = []
        self.comments = 0
        self._client = client
        self._path = path
        self._headers = headers
        self._stop = threading.Event()
        self.ended = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._read()
        except httpx.HTTPError:  # the server went away: the test reads what came before
            return
        finally:
            self.ended.set()

    def _read(self) -> None:
        with self._client.stream("GET", self._path, headers=self._headers, timeout=60) as r:
            assert r.status_code == 200, r.read()
            assert r.headers["content-type"].startswith("text/event-stream")
            event: dict[str, Any] = {}
            for line in r.iter_lines():
                if self._stop.is_set():
                    return
                if line.startswith(":"):
                    self.comments += 1
                elif line.startswith("id: "):
                    event["id"] = int(line[4:])
                elif line.startswith("event: "):
                    event["event"] = line[7:]
                elif line.startswith("data: "):
                    event["data"] = json.loads(line[6:])
                elif line == "" and event:
                    self.events.append(event)
                    event = {}

    def wait_for(self, count: int, seconds: float = 20) -> list[dict[str, Any]]:
        deadline = time.monotonic() + seconds
        while len(self.events) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(self.events) >= count, self.events
        return self.events

    def close(self) -> None:
        self._stop.set()


@pytest.fixture
def streams() -> Iterator[list[Stream]]:
    opened: list[Stream] = []
    yield opened
    for stream in opened:
        stream.close()


def test_the_stream_starts_with_the_whole_config_then_one_event_per_version(
    api: RunningApi, streams: list[Stream]
) -> None:
    stream = Stream(runtime_client(api), "/runtime/watch")
    streams.append(stream)
    [first] = stream.wait_for(1)
    assert first["event"] == "snapshot"
    assert first["data"]["_version"] == 1
    assert "jwt_secret" in first["data"]["config"]["security"]["secrets"]
    save(api, {"branding": {"companyName": "A"}})
    save_elsewhere(api, {"branding": {"logo": "https://cdn.example/logo.svg"}})
    _, one, two = stream.wait_for(3)
    assert [one["event"], two["event"]] == ["change", "change"]
    assert one["data"]["_version"] == 2
    assert one["data"]["paths"] == ["branding.companyName"]
    assert two["data"] == {
        "stream": "platform",
        "version": "1.0.2",
        "_version": 3,
        "paths": ["branding.logo"],
    }
    assert first["id"] < one["id"] < two["id"]


def test_a_resumed_stream_skips_nothing_and_repeats_nothing(
    api: RunningApi, streams: list[Stream]
) -> None:
    app = runtime_client(api)
    first = Stream(app, "/runtime/watch")
    streams.append(first)
    first.wait_for(1)
    save(api, {"branding": {"companyName": "A"}})
    seen = first.wait_for(2)[1]
    first.close()
    for name in ("B", "C"):
        save(api, {"branding": {"companyName": name}})
    resumed = Stream(app, "/runtime/watch", **{"Last-Event-ID": str(seen["id"])})
    streams.append(resumed)
    events = resumed.wait_for(2)
    assert [e["data"]["_version"] for e in events] == [3, 4]
    assert all(e["event"] == "change" for e in events)


def test_a_full_stream_carries_each_versions_config(api: RunningApi, streams: list[Stream]) -> None:
    stream = Stream(runtime_client(api), "/runtime/watch?full=true")
    streams.append(stream)
    stream.wait_for(1)
    save(api, {"branding": {"companyName": "Full"}})
    change = stream.wait_for(2)[1]
    assert change["data"]["config"]["branding"]["companyName"] == "Full"


def test_the_admin_stream_is_masked(api: RunningApi, streams: list[Stream]) -> None:
    stream = Stream(api.client(api.token("admin", READ)), "/config/watch")
    streams.append(stream)
    [first] = stream.wait_for(1)
    assert first["data"]["config"]["security"]["secrets"]["jwt_secret"].startswith("•")


def test_a_bad_last_event_id_is_400(api: RunningApi) -> None:
    response = runtime_client(api).get("/runtime/watch", headers={"Last-Event-ID": "abc"})
    assert response.status_code == 400


def test_a_resume_from_before_the_server_started_is_read_from_the_log(tmp_path: Path) -> None:
    with serving(tmp_path) as api:
        app = runtime_client(api)
        stream = Stream(app, "/runtime/watch")
        stream.wait_for(1)
        save(api, {"branding": {"companyName": "Before"}})
        seen = stream.wait_for(2)[1]
        stream.close()
    for name in ("While", "Down"):
        save_elsewhere(api, {"branding": {"companyName": name}})
    with serving(tmp_path) as again:
        app = runtime_client(again, "app-after-restart")
        resumed = Stream(app, "/runtime/watch?full=true", **{"Last-Event-ID": str(seen["id"])})
        events = resumed.wait_for(2)
        resumed.close()
    assert [e["event"] for e in events] == ["change", "change"]
    assert [e["data"]["_version"] for e in events] == [3, 4]
    # each change carries its own version's config, not the newest
    assert [e["data"]["config"]["branding"]["companyName"] for e in events] == ["While", "Down"]


def test_a_revoked_token_ends_its_streams_and_long_polls(api: RunningApi) -> None:
    from eventstore.tokens import TokenStore

    app = runtime_client(api, "doomed")
    stream = Stream(app, "/runtime/watch")
    stream.wait_for(1)

    async def revoke(service: ConfigService) -> None:
        await TokenStore(service.event_log).revoke("doomed", "test")

    news = {"branding": {"companyName": "Secret news"}}
    timers = [threading.Timer(0.3, api.run, (revoke,)), threading.Timer(1.5, save, (api, news))]
    for timer in timers:
        timer.start()
    try:  # held before the revocation, woken by the version after it
        held = app.get("/runtime", params={"after": "1", "wait": "20s"}, timeout=30)
    finally:
        for timer in timers:
            timer.join()
    assert held.status_code == 401, held.text
    assert "Secret news" not in held.text
    assert stream.ended.wait(10), "the stream of a revoked token stays open"
    assert [e["event"] for e in stream.events] == ["snapshot"]
    assert app.get("/runtime/watch").status_code == 401


def test_a_server_stopping_ends_its_streams(tmp_path: Path) -> None:
    with serving(tmp_path) as api:
        stream = Stream(runtime_client(api), "/runtime/watch")
        stream.wait_for(1)
        started = time.monotonic()
    assert time.monotonic() - started < 10


# --- tenants ----------------------------------------------------------------------------------


def test_a_tenant_is_read_and_watched_with_both_versions(
    tenant_api: RunningApi, streams: list[Stream]
) -> None:
    app = runtime_client(tenant_api)
    first = app.get("/runtime", params={"tenant": "acme"})
    assert first.status_code == 200, first.text
    assert first.headers["etag"] == '"1.0"'
    assert first.json()["data"]["integrations"]["urls"]["website"].startswith("http://acme.")
    stream = Stream(app, "/runtime/watch?tenant=acme")
    streams.append(stream)
    stream.wait_for(1)
    tenant_admin = tenant_api.client(tenant_api.token("tenant-admin", TENANT_READ, TENANT_WRITE))
    put = tenant_admin.put("/tenants/acme/config/branding", json={"companyName": "Acme"})
    assert put.status_code == 200, put.text
    save(tenant_api, {"branding": {"logo": "https://cdn.example/p.svg"}})
    _, tenant_change, platform_change = stream.wait_for(3)
    assert tenant_change["data"]["stream"] == "tenant"
    assert tenant_change["data"]["paths"] == ["branding.companyName"]
    assert platform_change["data"]["stream"] == "platform"
    held = app.get("/runtime", params={"tenant": "acme", "after": "2.1", "wait": "300ms"})
    assert held.status_code == 304
    assert held.headers["etag"] == '"2.1"'
    newer = app.get("/runtime", params={"tenant": "acme", "after": "1.0", "wait": "5s"})
    assert newer.status_code == 200
    assert newer.json()["data"]["branding"]["companyName"] == "Acme"


def test_the_banner_warns_when_secrets_would_cross_a_network_in_clear() -> None:
    from adapters.cli.workers import Started, banner

    plain = Started(file_mode=False, version=1, port=9007, behind_tls=False)
    assert "warning" not in banner("127.0.0.1", 9007, plain)
    assert "plain HTTP" in banner("0.0.0.0", 9007, plain)
    proxied = Started(file_mode=False, version=1, port=9007, behind_tls=True)
    assert "warning" not in banner("0.0.0.0", 9007, proxied)
