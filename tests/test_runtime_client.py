"""The runtime client of app processes, against a served API: the same config object as in
process, every version once and in order across a server restart, long-polls when a proxy
refuses the stream, a revoked token as one clear error; and the SSE parser on its own."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support.api_support import RunningApi, serving
from test_architecture import ROOT, all_imports

from adapters.client import (
    AccessDenied,
    RuntimeClient,
    RuntimeClientError,
    RuntimeVersion,
    ThreadedRuntimeClient,
)
from adapters.client.backoff import Backoff
from adapters.client.document import changed_paths
from adapters.client.runtime_client import STREAM_REFUSALS
from adapters.client.sse import Event, SseError, SseParser
from adapters.service import ConfigService
from eventstore.commands import Author
from eventstore.schema import AppConfig
from eventstore.secret import Secret
from eventstore.tokens import RUNTIME, TokenStore

OPS = Author("ops", "test")
FAST: dict[str, Any] = {"backoff": 0.05, "backoff_cap": 0.5}


def save(api: RunningApi, name: str) -> None:
    """A write by another process over the same store."""

    async def write(service: ConfigService) -> None:
        await service.save({"branding": {"companyName": name}}, OPS)

    api.run(write)


def revoke(api: RunningApi, name: str) -> None:
    async def work(service: ConfigService) -> None:
        await TokenStore(service.event_log).revoke(name, "tests")

    api.run(work)


def in_process_config(api: RunningApi) -> AppConfig:
    async def read(service: ConfigService) -> AppConfig:
        return service.config

    return api.run(read)


class Seen:
    """What a subscriber was told, and a way to wait for it."""

    def __init__(self, client: RuntimeClient) -> None:
        self.updates: list[RuntimeVersion] = []
        client.subscribe(self.updates.append)

    async def until(self, count: int, seconds: float = 20) -> list[RuntimeVersion]:
        deadline = time.monotonic() + seconds
        while len(self.updates) < count and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        assert len(self.updates) >= count, self.updates
        return self.updates


@contextlib.asynccontextmanager
async def started(api: RunningApi, **options: Any) -> AsyncIterator[RuntimeClient]:
    token = await asyncio.to_thread(api.token, "app", RUNTIME)
    client = RuntimeClient(api.base_url, token, **{**FAST, **options})
    await client.start()
    try:
        yield client
    finally:
        await client.close()


# --- reading ----------------------------------------------------------------------------------


async def test_the_config_is_the_object_the_service_reads(api: RunningApi) -> None:
    async with started(api) as client:
        ours = await asyncio.to_thread(in_process_config, api)
        # the runtime document leaves out the store's own connection: its defaults stand in
        assert attrs.evolve(client.config, storage=ours.storage) == ours
        assert client.config.branding.company_name == ours.branding.company_name
        secret = client.config.security.secrets.jwt_secret
        assert isinstance(secret, Secret)
        assert secret == ours.security.secrets.jwt_secret
        assert client.etag == "1"
        assert client.version == "1.0.0"


async def test_an_unknown_tenant_stops_the_start(api: RunningApi) -> None:
    token = await asyncio.to_thread(api.token, "app", RUNTIME)
    client = RuntimeClient(f"{api.base_url}/api/v1", token, tenant="ghost", **FAST)
    with pytest.raises(RuntimeClientError, match="404"):
        await client.start(timeout=5)


# --- following --------------------------------------------------------------------------------


async def test_every_version_once_and_in_order_across_a_server_restart(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "parako_config.client")
    with contextlib.ExitStack() as stack:
        api = stack.enter_context(serving(tmp_path))
        port = int(api.base_url.rsplit(":", 1)[1])
        async with started(api) as client:
            seen = Seen(client)
            for name in ("A", "B"):
                await asyncio.to_thread(save, api, name)
            await seen.until(2)
            await asyncio.to_thread(stack.close)  # the server stops: its streams end
            for name in ("C", "D"):  # written while no server runs
                await asyncio.to_thread(save, api, name)
            again = await asyncio.to_thread(stack.enter_context, serving(tmp_path, port=port))
            await asyncio.to_thread(save, again, "E")
            updates = await seen.until(5)
            await asyncio.sleep(0.3)  # nothing more comes
            assert [u.version for u in seen.updates] == [2, 3, 4, 5, 6]
            assert [u.config.branding.company_name for u in updates] == list("ABCDE")
            assert [u.semver for u in updates] == [f"1.0.{n}" for n in range(1, 6)]
            assert all(u.paths == ("branding.companyName",) for u in updates)
            assert not any(u.coalesced for u in updates)
            positions = [u.position or 0 for u in updates]
            assert positions[0] > 0
            assert positions == sorted(set(positions))
            assert client.mode == "stream"
            assert client.config.branding.company_name == "E"
            assert client.etag == "6"
        # the outage is one line, and its end another: not a line per reconnection attempt
        messages = [r.getMessage() for r in caplog.records if r.name == "parako_config.client"]
        assert len([m for m in messages if "unreachable" in m]) == 1, messages
        assert len([m for m in messages if "reachable again" in m]) == 1, messages


async def test_subscribers_may_be_coroutines_and_may_leave(api: RunningApi) -> None:
    async with started(api) as client:
        told: list[str] = []

        async def later(update: RuntimeVersion) -> None:
            await asyncio.sleep(0)
            told.append(update.config.branding.company_name)

        def failing(update: RuntimeVersion) -> None:
            raise RuntimeError("a subscriber's bug")

        client.subscribe(failing)
        leave = client.subscribe(later)
        seen = Seen(client)
        await asyncio.to_thread(save, api, "One")
        await seen.until(1)
        leave()
        await asyncio.to_thread(save, api, "Two")
        await seen.until(2)
        assert told == ["One"]


async def test_prefer_long_poll(api: RunningApi) -> None:
    async with started(api, prefer="long-poll", wait=2) as client:
        seen = Seen(client)
        for name in ("P", "Q"):
            await asyncio.to_thread(save, api, name)
            await seen.until(len(seen.updates) + 1)
        assert [u.version for u in seen.updates] == [2, 3]
        # every effective setting that moved: the MFA names follow the company name
        assert all("branding.companyName" in u.paths for u in seen.updates)
        assert all(
            "security.authentication.multi_factor.totp.issuer_name" in u.paths for u in seen.updates
        )
        assert all(u.coalesced and u.position is None for u in seen.updates)
        assert client.mode == "long-poll"


class RefusingProxy:
    """A reverse proxy in front of the API that answers every stream request with its own 502
    page (as a proxy without streaming support does) and passes the rest through."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.refused = 0
        self.passed: list[str] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            target = head.split(b" ", 2)[1].decode()
            if "/runtime/watch" in target:
                self.refused += 1
                page = b"<html><body>502 Bad Gateway</body></html>"
                writer.write(
                    b"HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/html\r\n"
                    b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(page), page)
                )
                await writer.drain()
                return
            self.passed.append(target)
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
            lines = [
                line
                for line in head.split(b"\r\n")
                if line and not line.lower().startswith(b"connection:")
            ]
            up_writer.write(b"\r\n".join([*lines, b"Connection: close", b"", b""]))
            await up_writer.drain()
            while chunk := await up_reader.read(65536):
                writer.write(chunk)
                await writer.drain()
            up_writer.close()
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()


async def test_a_proxy_refusing_the_stream_makes_the_client_long_poll(api: RunningApi) -> None:
    proxy = RefusingProxy(int(api.base_url.rsplit(":", 1)[1]))
    server = await asyncio.start_server(proxy.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    token = await asyncio.to_thread(api.token, "app", RUNTIME)
    client = RuntimeClient(f"http://127.0.0.1:{port}", token, wait=2, **FAST)
    try:
        await client.start()
        seen = Seen(client)
        await asyncio.to_thread(save, api, "Through")
        [update] = await seen.until(1)
        assert update.config.branding.company_name == "Through"
        assert update.coalesced
        assert client.mode == "long-poll"
        # a few error pages (a restarting server may answer so), then no stream retry loop
        assert proxy.refused == STREAM_REFUSALS
        assert any("after=" in target for target in proxy.passed)
    finally:
        await client.close()
        server.close()
        await server.wait_closed()


def test_the_threaded_client_serves_code_without_an_event_loop(api: RunningApi) -> None:
    token = api.token("app", RUNTIME)
    told: list[str] = []
    with ThreadedRuntimeClient(api.base_url, token, **FAST) as client:
        client.subscribe(lambda update: told.append(update.config.branding.company_name))
        assert client.config.branding.company_name == "Your Organization"
        save(api, "Threaded")
        deadline = time.monotonic() + 20
        while client.config.branding.company_name != "Threaded" and time.monotonic() < deadline:
            time.sleep(0.02)
        assert client.config.branding.company_name == "Threaded"
    assert told == ["Threaded"]
    with pytest.raises(AccessDenied):
        ThreadedRuntimeClient(api.base_url, "wrong", **FAST).start()


# --- refused tokens ---------------------------------------------------------------------------


async def test_an_unknown_token_fails_the_start_at_once(api: RunningApi) -> None:
    client = RuntimeClient(api.base_url, "not-a-token", **FAST)
    started_at = time.monotonic()
    with pytest.raises(AccessDenied, match="401") as refused:
        await client.start()
    assert time.monotonic() - started_at < 2
    assert "parako:config:runtime" in str(refused.value)


@pytest.mark.parametrize("prefer", ["stream", "long-poll"])
async def test_a_revoked_token_stops_the_client_with_a_clear_error(
    api: RunningApi, prefer: str
) -> None:
    async with started(api, prefer=prefer, wait=1) as client:
        await asyncio.to_thread(revoke, api, "app")
        with pytest.raises(AccessDenied, match="unknown or revoked"):
            await asyncio.wait_for(client.wait(), 15)
        assert isinstance(client.error, AccessDenied)
        assert client.error.status == 401
        assert client.config.branding.company_name  # the last config is still served


# --- the import rule --------------------------------------------------------------------------


def test_the_client_uses_only_the_schema_of_this_project() -> None:
    """No projections, no other adapter (database, keys, the server) in an app process."""
    assert (ROOT / "adapters" / "client").is_dir()
    reached = {
        e.target
        for e in all_imports()
        if e.source.startswith("adapters.client") and not e.target.startswith("adapters.client")
    }
    assert reached
    assert all(target.startswith("eventstore.") for target in reached), reached


# --- pieces -----------------------------------------------------------------------------------


def test_backoff_doubles_with_jitter_up_to_the_cap() -> None:
    backoff = Backoff(0.5, 4.0)
    delays = [backoff.next_delay() for _ in range(8)]
    for delay, step in zip(delays, [0.5, 1, 2, 4, 4, 4, 4, 4], strict=True):
        assert step / 2 <= delay <= step
    backoff.reset()
    assert backoff.next_delay() <= 0.5


def test_changed_paths() -> None:
    before = {"a": {"b": 1, "c": [1]}, "d": 1}
    after = {"a": {"b": 2, "c": [1], "e": 0}, "d": 1}
    assert changed_paths(before, after) == ["a.b", "a.e"]


def test_the_parser_follows_the_standard() -> None:
    parser = SseParser()
    stream = (
        "\ufeff: keep-alive\r\n"
        'id: 7\r\nevent: change\r\ndata: {"a":\r\ndata:1}\r\n\r\n'
        "data: no id given, the last one stays\n\n"
        "retry: 1500\rid\revent: x\rdata\r\r"
        "id: a\0b\ndata: x\nunknown: field\n\n"
        "event: no-data\n\n"
    ).encode()
    assert parser.feed(stream) == [
        Event("change", '{"a":\n1}', "7"),
        Event("message", "no id given, the last one stays", "7"),
        Event("x", "", ""),
        Event("message", "x", ""),
    ]
    assert parser.retry == 1500
    assert parser.comments == 1
    with pytest.raises(SseError, match="UTF-8"):
        SseParser().feed(b"data: \xff\n")
    with pytest.raises(SseError, match="longer"):
        SseParser(max_line=10).feed(b"data: " + b"x" * 20)


# --- the parser, by property ------------------------------------------------------------------

_text = st.text(st.characters(blacklist_characters="\r\n", blacklist_categories=["Cs"]))
_event = st.fixed_dictionaries(
    {
        "type": st.sampled_from(["", "snapshot", "change", "other"]),
        "data": st.lists(_text, min_size=1, max_size=3),
        "id": st.none() | _text.filter(lambda t: "\0" not in t),
        "comment": st.none() | _text,
    }
)


def _serialise(events: list[dict[str, Any]], endings: Iterator[str]) -> tuple[bytes, list[Event]]:
    out: list[str] = []
    expected: list[Event] = []
    last_id = ""

    def line(text: str) -> None:
        ending = next(endings)
        if not text and out and out[-1].endswith("\r") and ending.startswith("\n"):
            ending = "\r"  # CR then an empty line ended by LF would read as one CRLF
        out.append(text + ending)

    for event in events:
        if event["comment"] is not None:
            line(f":{event['comment']}")
        if event["id"] is not None:
            line(f"id: {event['id']}")
            last_id = event["id"]
        if event["type"]:
            line(f"event: {event['type']}")
        for data in event["data"]:
            line(f"data: {data}")
        line("")
        expected.append(Event(event["type"] or "message", "\n".join(event["data"]), last_id))
    return "".join(out).encode(), expected


def _chunks(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    edges = [0, *points, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(edges)]


def _parse(chunks: list[bytes]) -> list[Event]:
    parser = SseParser()
    return [event for chunk in chunks for event in parser.feed(chunk)]


@settings(max_examples=300)
@given(
    st.lists(_event, max_size=8),
    st.lists(st.sampled_from(["\n", "\r", "\r\n"]), min_size=1),
    st.lists(st.integers(min_value=0), max_size=40),
)
def test_any_chunking_of_a_stream_gives_the_same_events(
    events: list[dict[str, Any]], endings: list[str], cuts: list[int]
) -> None:
    data, expected = _serialise(events, itertools.cycle(endings))
    assert _parse([data]) == expected
    assert _parse(_chunks(data, cuts)) == expected
    assert _parse([data[i : i + 1] for i in range(len(data))]) == expected


@settings(max_examples=300)
@given(st.lists(st.binary(max_size=64), max_size=12))
def test_arbitrary_bytes_raise_only_the_parsers_error(chunks: list[bytes]) -> None:
    parser = SseParser(max_line=48)
    try:
        for chunk in chunks:
            for event in parser.feed(chunk):
                assert isinstance(event.data, str)
    except SseError:
        pass


def test_a_served_stream_parses_into_the_events_the_server_meant(api: RunningApi) -> None:
    """The parser against the bytes the server really sends (CRLF, comments), one byte at a
    time."""
    token = api.token("app", RUNTIME)
    client = api.client(token)
    save(api, "Bytes")
    with client.stream("GET", "/runtime/watch", headers={"Last-Event-ID": "0"}) as response:
        raw = b""
        for chunk in response.iter_raw():
            raw += chunk
            if raw.count(b"\r\n\r\n") >= 2:
                break
    events = _parse([raw[i : i + 1] for i in range(len(raw))])
    assert [e.type for e in events[:2]] == ["change", "change"]
    assert json.loads(events[1].data)["paths"] == ["branding.companyName"]
