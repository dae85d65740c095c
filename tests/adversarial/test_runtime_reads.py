"""Attacks on the fast runtime reads: the head read through a second
SQLite connection, the per-process token table, the 304 answered before Litestar, and uvicorn
parsing with httptools. Every test here is an attack that holds; those of the stale reads, a
revoked token on a write or token request and the head read racing a page held only after the
fixes they found.

Two ConfigService instances on one store stand in for two processes (``other`` revokes and
creates tokens, ``serving`` answers requests); the whole app (with the early 304) is compared
with Litestar's route alone wherever the two could differ.
"""

from __future__ import annotations

import asyncio
import socket
import sqlite3
import threading
import time
from collections.abc import AsyncIterator
from contextlib import closing
from pathlib import Path
from typing import Any

import httpx
import pytest
from support.api_support import RunningApi

from adapters.http.app import RequestIds, create_app
from adapters.http.tokens import TokenAuthenticator
from adapters.service import ConfigService
from adapters.storage.sqlite import SqliteEventLog
from adapters.wiring import open_service
from eventstore.commands import Author
from eventstore.hashchain import HashChain
from eventstore.log import NewEvent
from eventstore.tokens import READ, RUNTIME, SCOPES, TOKEN_STREAM, TokenStore, fold

ENVIRON = {"USE_FILE_CONFIG": "false", "ENCRYPTION_KEY": "3d" * 32}
RUNTIME_PATH = "/api/v1/runtime"


class Pair:
    """The serving process (its whole app and its route alone) and another process."""

    def __init__(self, serving: ConfigService, other: ConfigService, app: RequestIds) -> None:
        self.serving = serving
        self.other = other
        self.app = app
        self.made = 0

    def client(self, whole: bool) -> httpx.AsyncClient:
        target: Any = self.app if whole else self.app.litestar
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=target), base_url="http://t")

    async def token(self, *scopes: str) -> tuple[str, str]:
        """A token issued by the other process: (name, plaintext)."""
        self.made += 1
        name = f"t{self.made}"
        _, plaintext = await TokenStore(self.other.event_log).create(name, scopes or SCOPES, "x")
        return name, plaintext

    async def revoke_elsewhere(self, name: str) -> None:
        await TokenStore(self.other.event_log).revoke(name, "ops")

    def not_modified_count(self) -> float:
        value: float = self.app.context.metrics.runtime_not_modified._value.get()
        return value


@pytest.fixture
async def pair(tmp_path: Path) -> AsyncIterator[Pair]:
    serving_ = await open_service(tmp_path, ENVIRON)
    other = await open_service(tmp_path, ENVIRON)
    try:
        yield Pair(serving_, other, create_app(serving_))
    finally:
        await other.close()
        await serving_.close()


def _bearer(plaintext: str, etag: str | None = None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {plaintext}"}
    if etag is not None:
        headers["If-None-Match"] = etag
    return headers


# -- a token revoked in another process ---------------------------------------------------------

#: query strings that do not ask for a stale read (the route reads them as default or refuses)
NOT_STALE = [
    "",
    "?consistency=default",
    "?consistency=consistent",
    "?consistency=",
    "?consistency",
    "?consistency=STALE",
    "?consistency=stale+",
    "?consistency=%20stale",
    "?consistency=stale%00",
    "?consistency=stale;x=1",
    "?Consistency=stale",
    "?consistency[]=stale",
    "?consistency=default&consistency=stale",
]


@pytest.mark.parametrize("query", NOT_STALE)
@pytest.mark.parametrize("whole", [True, False])
async def test_revoked_elsewhere_token_refused_by_every_non_stale_query_spelling(
    pair: Pair, query: str, whole: bool
) -> None:
    """A token revoked by another process, presented with the current ETag (the early 304's
    case) and a query that does not say ``consistency=stale`` in any spelling the route reads as
    stale: never a 304 or 200, through the early answer or the route."""
    name, plaintext = await pair.token(RUNTIME)
    etag = f'"{pair.serving.version}"'
    async with pair.client(whole) as client:
        assert (await client.get(RUNTIME_PATH, headers=_bearer(plaintext, etag))).status_code == 304
        await pair.revoke_elsewhere(name)
        answer = await client.get(RUNTIME_PATH + query, headers=_bearer(plaintext, etag))
    assert answer.status_code in (400, 401), answer.text


STALE_SPELLINGS = [
    "?consistency=stale",
    "?consistenc%79=stale",
    "?consistency=%73tale",
    "?%63onsistency=stale",
    "?consistency=stale&",
    "?&consistency=stale",
]


@pytest.mark.parametrize("query", STALE_SPELLINGS)
async def test_stale_spellings_are_read_alike_by_the_early_answer_and_the_route(
    pair: Pair, query: str
) -> None:
    """Percent-encoded names and values, empty ``&`` segments: the early answer parses the query
    as Litestar does, so a revoked-elsewhere token gets the same (D30: stale) answer from both."""
    answers = []
    for whole in (True, False):
        name, plaintext = await pair.token(RUNTIME)
        etag = f'"{pair.serving.version}"'
        async with pair.client(whole) as client:
            first = await client.get(RUNTIME_PATH, headers=_bearer(plaintext, etag))
            assert first.status_code == 304
            await pair.revoke_elsewhere(name)
            answer = await client.get(RUNTIME_PATH + query, headers=_bearer(plaintext, etag))
            answers.append((answer.status_code, answer.headers.get("etag")))
            # the next default read catches up and refuses it
            assert (await client.get(RUNTIME_PATH, headers=_bearer(plaintext))).status_code == 401
    assert answers[0] == answers[1]


async def test_revoked_elsewhere_token_refused_by_the_early_path_after_a_save_elsewhere(
    pair: Pair,
) -> None:
    """The revocation and a save land in the other process; the token's old ETag is stale now
    and the new one is only known after a catch-up: neither gets a 304."""
    name, plaintext = await pair.token(RUNTIME)
    old = f'"{pair.serving.version}"'
    await pair.other.save({"branding": {"companyName": "Elsewhere"}}, Author("ops", "t"))
    new = f'"{pair.other.version}"'
    await pair.revoke_elsewhere(name)
    async with pair.client(True) as client:
        for etag in (old, new, f"{old}, {new}"):
            answer = await client.get(RUNTIME_PATH, headers=_bearer(plaintext, etag))
            assert answer.status_code == 401


async def test_token_created_elsewhere_gets_the_early_304_at_once(pair: Pair) -> None:
    """A token issued by another process after this one built its table is admitted by the
    very next default request, through the early answer."""
    _, first = await pair.token(RUNTIME)
    etag = f'"{pair.serving.version}"'
    async with pair.client(True) as client:
        assert (await client.get(RUNTIME_PATH, headers=_bearer(first, etag))).status_code == 304
        _, second = await pair.token(RUNTIME)
        before = pair.not_modified_count()
        answer = await client.get(RUNTIME_PATH, headers=_bearer(second, etag))
        assert answer.status_code == 304
        assert pair.not_modified_count() == before + 1


# -- requests the early answer must leave to the route ------------------------------------------


def _fall_through_cases(runtime: str, reader: str, version: int) -> dict[str, Any]:
    """label: (path and query, headers, the route's status or None when any)."""
    cur = f'"{version}"'
    auth = ("Authorization", f"Bearer {runtime}")
    return {
        "stale etag": (RUNTIME_PATH, [auth, ("If-None-Match", '"0"')], 200),
        "tenant query": (RUNTIME_PATH + "?tenant=acme", [auth, ("If-None-Match", cur)], 404),
        "blank tenant": (RUNTIME_PATH + "?tenant=", [auth, ("If-None-Match", cur)], 404),
        "section path": (RUNTIME_PATH + "/branding", [auth, ("If-None-Match", cur)], 304),
        "trailing slash": (RUNTIME_PATH + "/", [auth, ("If-None-Match", cur)], None),
        "no runtime scope": (
            RUNTIME_PATH,
            [("Authorization", f"Bearer {reader}"), ("If-None-Match", cur)],
            403,
        ),
        "star": (RUNTIME_PATH, [auth, ("If-None-Match", "*")], 200),
        "two etags": (RUNTIME_PATH, [auth, ("If-None-Match", cur), ("If-None-Match", cur)], 304),
        "two tokens": (RUNTIME_PATH, [auth, auth, ("If-None-Match", cur)], 304),
        "token then garbage": (
            RUNTIME_PATH,
            [auth, ("Authorization", "Bearer pkc_x"), ("If-None-Match", cur)],
            None,
        ),
        "after": (RUNTIME_PATH + "?after=1&wait=0s", [auth, ("If-None-Match", cur)], None),
        "repeated consistency": (
            RUNTIME_PATH + "?consistency=&consistency=",
            [auth, ("If-None-Match", cur)],
            304,
        ),
        "bogus consistency": (
            RUNTIME_PATH + "?consistency=bogus",
            [auth, ("If-None-Match", cur)],
            400,
        ),
        "basic auth": (
            RUNTIME_PATH,
            [("Authorization", "Basic YTpi"), ("If-None-Match", cur)],
            401,
        ),
        "bearer without token": (
            RUNTIME_PATH,
            [("Authorization", "Bearer "), ("If-None-Match", cur)],
            401,
        ),
        "lower-case scheme": (
            RUNTIME_PATH,
            [("Authorization", f"bearer {runtime}"), ("If-None-Match", cur)],
            304,
        ),
        "head method": (RUNTIME_PATH, [auth, ("If-None-Match", cur)], None),
    }


FALL_THROUGH = list(_fall_through_cases("r", "q", 1))


@pytest.mark.parametrize("label", FALL_THROUGH)
async def test_the_early_answer_leaves_odd_requests_to_the_route(pair: Pair, label: str) -> None:
    """Stale ETags, tenant queries, section paths, tokens without the runtime scope, ``*``,
    duplicate headers, other parameters, another method: the whole app answers exactly what the
    route alone answers."""
    _, runtime = await pair.token(RUNTIME)
    _, reader = await pair.token(READ)
    await pair.serving.catch_up()
    path, headers, expected = _fall_through_cases(runtime, reader, pair.serving.version)[label]
    method = "HEAD" if label == "head method" else "GET"
    async with pair.client(True) as whole, pair.client(False) as route:
        early = await whole.request(method, path, headers=headers)
        framework = await route.request(method, path, headers=headers)
    assert (early.status_code, early.headers.get("etag"), early.content) == (
        framework.status_code,
        framework.headers.get("etag"),
        framework.content,
    )
    if expected is not None:
        assert early.status_code == expected, early.text


@pytest.mark.parametrize(
    "etag", ['W/"{v}"', '"0", "{v}"', '"{v}" , W/"0"', "{v}", ' "{v}" ', '"{v}",', ',"{v}"']
)
async def test_etag_spellings_are_matched_alike(pair: Pair, etag: str) -> None:
    """Weak tags, lists, unquoted and padded tags: the early answer and the route agree."""
    _, runtime = await pair.token(RUNTIME)
    await pair.serving.catch_up()
    held = etag.format(v=pair.serving.version)
    answers = []
    for whole in (True, False):
        async with pair.client(whole) as client:
            answer = await client.get(RUNTIME_PATH, headers=_bearer(runtime, held))
            answers.append((answer.status_code, answer.headers.get("etag"), answer.content))
    assert answers[0] == answers[1]


async def test_an_empty_store_gets_the_same_answer_from_both(tmp_path: Path) -> None:
    """Before any config was saved (version 0), an ETag of "0" or "None": both paths agree."""
    service = await open_service(tmp_path, ENVIRON)
    try:
        _, runtime = await TokenStore(service.event_log).create("a", (RUNTIME,), "t")
        app = create_app(service)
        for held in ('"0"', '"None"', '""'):
            answers = []
            for target in (app, app.litestar):
                transport = httpx.ASGITransport(app=target)  # type: ignore[arg-type]
                async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
                    answer = await c.get(RUNTIME_PATH, headers=_bearer(runtime, held))
                    answers.append((answer.status_code, answer.headers.get("etag")))
            assert answers[0] == answers[1], held
    finally:
        await service.close()


# -- the token table -----------------------------------------------------------------------------


async def test_the_table_equals_a_fold_of_the_stream_under_concurrent_catch_ups(
    pair: Pair,
) -> None:
    """Tokens created and revoked in another process while this one runs many current checks
    and catch-ups at once (the first read of the table slowed down, so records arrive while it
    reads): afterwards the table is exactly what folding the whole stream gives."""
    table = TokenAuthenticator(pair.serving)
    log: Any = pair.serving.event_log
    original = log.read_stream

    async def slow_read(*args: Any, **kwargs: Any) -> Any:
        await asyncio.sleep(0.01)
        return await original(*args, **kwargs)

    log.read_stream = slow_read
    plaintexts: dict[str, str] = {}

    async def churn() -> None:
        store = TokenStore(pair.other.event_log)
        for round_ in range(12):
            name = f"c{round_ % 4}"
            tokens = await store.tokens()
            if name in tokens and tokens[name].active:
                await store.revoke(name, "x")
            else:
                plaintexts[name] = (await store.create(name, SCOPES, "x"))[1]
            await asyncio.sleep(0)

    async def check() -> None:
        for _ in range(12):
            await table.authenticate("pkc_nothing")
            await asyncio.sleep(0)

    await asyncio.gather(churn(), *(check() for _ in range(4)), pair.serving.catch_up())
    await table.authenticate("pkc_nothing")
    expected = fold(await pair.other.event_log.read_stream(TOKEN_STREAM))
    assert table._tokens == expected
    for name, plaintext in plaintexts.items():
        found = await table.authenticate(plaintext)
        assert (found is not None) == expected[name].active


# -- the head read through a second connection ---------------------------------------------------

CHAIN = HashChain(bytes(range(7, 39)))


def _tick(n: int) -> NewEvent:
    return NewEvent("Tick", f'{{"n":{n}}}'.encode())


@pytest.mark.parametrize(
    "directory", ["with space", "q?mark", "hash#tag", "pct%41", "pct%2F", "ünï", "a&b=c;d"]
)
async def test_the_head_probe_reads_the_right_file_on_odd_paths(
    tmp_path: Path, directory: str
) -> None:
    """Paths with URI-special characters: the probe (an ``file:`` URI) opens the same file the
    log writes (a decoy where a mis-decoded URI would point holds another head), and answers
    itself rather than falling back."""
    decoy_dir = tmp_path / "pctA" if directory == "pct%41" else tmp_path / "pct"
    decoy_dir.mkdir(exist_ok=True)
    decoy = await SqliteEventLog.open(decoy_dir / "log.sqlite3", CHAIN)
    await decoy.append("d", 0, [_tick(n) for n in range(5)])
    log = await SqliteEventLog.open(tmp_path / directory / "log.sqlite3", CHAIN)
    try:
        await log.append("s", 0, [_tick(1), _tick(2)])
        assert log._probe.head() == 2
        assert await log.head_position() == 2
        with closing(sqlite3.connect(tmp_path / directory / "log.sqlite3")) as other:
            other.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        await log.append("s", 2, [_tick(3)])
        assert log._probe.head() == 3
    finally:
        await log.close()
        await decoy.close()


async def test_the_head_probe_follows_checkpoints_and_other_writers(tmp_path: Path) -> None:
    """Another handle appends, the WAL is checkpointed and truncated in between, a writer holds
    the write lock: the probe never reports an old head."""
    path = tmp_path / "log.sqlite3"
    first = await SqliteEventLog.open(path, CHAIN)
    second = await SqliteEventLog.open(path, CHAIN)
    try:
        for n in range(1, 30):
            await second.append("s", n - 1, [_tick(n)])
            expected = n
            if n % 3 == 0:
                with closing(sqlite3.connect(path)) as raw:
                    raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            if n % 5 == 0:
                with closing(sqlite3.connect(path, isolation_level=None)) as raw:
                    raw.execute("BEGIN IMMEDIATE")
                    assert await first.head_position() == expected
                    raw.execute("ROLLBACK")
            assert await first.head_position() == expected
    finally:
        await second.close()
        await first.close()


async def test_the_head_probe_works_on_a_read_only_database_file(tmp_path: Path) -> None:
    """A 0400 database (a read-only deployment, a mounted backup): the head is still right."""
    path = tmp_path / "log.sqlite3"
    log = await SqliteEventLog.open(path, CHAIN)
    await log.append("s", 0, [_tick(1), _tick(2), _tick(3)])
    try:
        path.chmod(0o400)
        log._probe.close()
        assert await log.head_position() == 3
    finally:
        path.chmod(0o600)
        await log.close()


# -- malformed HTTP through the real server (httptools) ------------------------------------------


def _exchange(port: int, data: bytes, timeout: float = 5.0) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        received = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                break
            if not chunk:
                break
            received += chunk
    return received


def _malformed(token: str) -> dict[str, bytes]:
    auth = f"Authorization: Bearer {token}\r\n".encode()
    cond = auth + b'If-None-Match: "1"\r\n'
    end = b"Connection: close\r\n\r\n"
    get = b"GET /api/v1/runtime HTTP/1.1\r\nHost: x\r\n"
    return {
        "asterisk form": b"GET * HTTP/1.1\r\nHost: x\r\n" + end,
        "authority form": b"CONNECT example.com:443 HTTP/1.1\r\nHost: x\r\n" + end,
        "query only target": b"GET ?a=b HTTP/1.1\r\nHost: x\r\n" + end,
        "absolute form": b"GET http://x/api/v1/runtime HTTP/1.1\r\nHost: x\r\n" + cond + end,
        "raw utf-8 path": b"GET /api/v1/r\xc3\xbcntime HTTP/1.1\r\nHost: x\r\n" + end,
        "raw byte query": b"GET /api/v1/runtime?consistency=\xff HTTP/1.1\r\nHost: x\r\n"
        + cond
        + end,
        "invalid utf-8 escape value": b"GET /api/v1/runtime?consistency=%ff HTTP/1.1\r\nHost: x\r\n"
        + cond
        + end,
        "invalid utf-8 escape name": b"GET /api/v1/runtime?%ff=1 HTTP/1.1\r\nHost: x\r\n"
        + cond
        + end,
        "latin-1 etag": get + auth + b'If-None-Match: "1\xff"\r\n' + end,
        "latin-1 token": get + b'Authorization: Bearer \xff\xfe\r\nIf-None-Match: "1"\r\n' + end,
        "nul in header": get + b"X-A: a\x00b\r\n" + end,
        "content-length and chunked": get
        + b"Content-Length: 3\r\nTransfer-Encoding: chunked\r\n"
        + end
        + b"0\r\n\r\n",
        "bad chunk size": b"POST /api/v1/tokens HTTP/1.1\r\nHost: x\r\n"
        + auth
        + b"Transfer-Encoding: chunked\r\n"
        + end
        + b"zz\r\n\r\n",
        "bare LF": get.replace(b"\r\n", b"\n") + cond.replace(b"\r\n", b"\n") + b"\n",
        "space before colon": get + b'If-None-Match : "1"\r\n' + auth + end,
        "obsolete folding": get + auth + b'If-None-Match: "0",\r\n "1"\r\n' + end,
        "HTTP/9.9": b"GET /api/v1/runtime HTTP/9.9\r\nHost: x\r\n" + end,
        "control byte method": b"G\x01T /api/v1/runtime HTTP/1.1\r\nHost: x\r\n" + end,
        "percent-encoded NUL path": b"GET /api/v1/runtime%00 HTTP/1.1\r\nHost: x\r\n" + end,
        "encoded slash": b"GET /api/v1%2Fruntime HTTP/1.1\r\nHost: x\r\n" + cond + end,
        "fragment": b"GET /api/v1/runtime#f HTTP/1.1\r\nHost: x\r\n" + cond + end,
        "latin-1 request id": b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nX-Request-Id: \xff\r\n"
        + end,
        "HTTP/1.0 no host": b"GET /api/v1/runtime HTTP/1.0\r\n" + cond + b"\r\n",
    }


def test_malformed_http_never_gets_a_5xx_or_a_hang(api: RunningApi) -> None:
    """Request lines and headers a browser would never send, through uvicorn with httptools
    (the early 304 sits right behind it): every answer is a status below 500, promptly, with
    no traceback, and the server still answers afterwards."""
    token = api.token("app", RUNTIME)
    port = int(api.base_url.rsplit(":", 1)[1])
    for label, data in _malformed(token).items():
        started = time.monotonic()
        received = _exchange(port, data)
        assert time.monotonic() - started < 4, label
        assert received.startswith(b"HTTP/1."), (label, received[:200])
        status = int(received.split(b" ", 2)[1])
        assert status < 500, (label, received[:300])
        assert b"Traceback" not in received, label
    assert api.client(token).get("/runtime").status_code == 200


def test_oversized_headers_are_refused_with_431(api: RunningApi) -> None:
    """httptools sets no limit on header size (h11 stopped at 16 KiB): 200 KB of headers are
    refused in the error shape, on the early 304's path and every other, before a token is
    looked at; headers just under the limit still pass."""
    token = api.token("app", RUNTIME)
    port = int(api.base_url.rsplit(":", 1)[1])
    for path in ("/api/v1/runtime", "/api/v1/config", "/admin/"):
        big = b"X-Padding: " + b"a" * 200_000 + b"\r\n"
        request = (
            f"GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
            'If-None-Match: "1"\r\n'
        ).encode()
        received = _exchange(port, request + big + b"Connection: close\r\n\r\n")
        assert received.startswith(b"HTTP/1.1 431 "), (path, received[:200])
        assert b'"code":"headers_too_large"' in received.replace(b" ", b""), received[-300:]
    fits = {"X-Padding": "a" * 15_000}
    assert api.client(token, **fits).get("/runtime").status_code == 200


def test_pipelined_early_304s_keep_the_connection_in_step(api: RunningApi) -> None:
    """Several conditional reads pipelined on one connection, one with a GET body the early
    answer never reads: each gets its own answer, in order, and the next request is parsed."""
    token = api.token("app", RUNTIME)
    port = int(api.base_url.rsplit(":", 1)[1])
    read = (
        f"GET /api/v1/runtime HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
        'If-None-Match: "1"\r\n'
    ).encode()
    data = (
        read
        + b"\r\n"
        + read
        + b"Content-Length: 5\r\n\r\nhello"
        + read
        + b"\r\n"
        + b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    received = _exchange(port, data)
    statuses = [part.split(b"\r\n", 1)[0] for part in received.split(b"HTTP/1.1 ")[1:]]
    assert statuses == [b"304 Not Modified"] * 3 + [b"200 OK"]


# -- attacks that found defects (fixed) ------------------------------------------------------


def test_revoked_admin_token_mints_a_new_admin_token_with_a_stale_query(
    api: RunningApi,
) -> None:
    """One server. ``DELETE /tokens/victim`` answers 200 ("every process refuses it from its next
    request"); then the revoked token POSTs ``/tokens?consistency=stale``: the guard checks it
    against the table this process has not caught up yet, and a new full-scope token is issued.
    Expected 401."""
    root = api.token("root", *SCOPES)
    victim = api.token("victim", *SCOPES)
    admin = api.client(root)
    assert admin.get("/tokens").status_code == 200
    assert admin.delete("/tokens/victim").status_code == 200
    attacker = api.client(victim)
    minted = attacker.post(
        "/tokens?consistency=stale", json={"name": "backdoor", "scopes": list(SCOPES)}
    )
    assert minted.status_code == 401, minted.text


def test_revoked_writer_token_saves_config_with_a_stale_query(api: RunningApi) -> None:
    """A token revoked through the same server still writes the config when the write carries
    ``?consistency=stale`` (a parameter the write route does not even take). Expected 401."""
    root = api.token("root", *SCOPES)
    victim = api.token("victim", *SCOPES)
    admin = api.client(root)
    assert admin.get("/config").status_code == 200
    assert admin.delete("/tokens/victim").status_code == 200
    written = api.client(victim).put(
        "/config/branding?consistency=stale", json={"companyName": "pwned"}
    )
    assert written.status_code == 401, written.text


async def test_token_revoked_in_another_process_mints_a_token_with_a_stale_query(
    pair: Pair,
) -> None:
    """Two processes: the admin token is revoked through the other one (CLI, another replica);
    this one has not caught up and lets the revoked token issue a new admin token. Expected
    401."""
    _, plaintext = await TokenStore(pair.other.event_log).create("admin", SCOPES, "ops")
    async with pair.client(True) as client:
        headers = {"Authorization": f"Bearer {plaintext}"}
        assert (await client.get("/api/v1/tokens", headers=headers)).status_code == 200
        await TokenStore(pair.other.event_log).revoke("admin", "ops")
        minted = await client.post(
            "/api/v1/tokens?consistency=stale",
            headers=headers,
            json={"name": "evil", "scopes": list(SCOPES)},
        )
    assert minted.status_code == 401, minted.text


@pytest.mark.parametrize("whole", [True, False])
async def test_stale_then_default_consistency_reads_current_config_with_a_revoked_token(
    pair: Pair, whole: bool
) -> None:
    """``?consistency=stale&consistency=default``: the guard takes the first value (stale: no
    head check for the token) and the handler the last (default: catches up and serves the
    current config). So a token revoked elsewhere reads the config saved after its revocation
    — a current read the revocation is part of, which D30 says can never admit it. Expected 401
    (or 400 for the repeated parameter)."""
    _, plaintext = await TokenStore(pair.other.event_log).create("app", (RUNTIME,), "ops")
    headers = {"Authorization": f"Bearer {plaintext}"}
    async with pair.client(whole) as client:
        assert (await client.get("/api/v1/runtime", headers=headers)).status_code == 200
        await TokenStore(pair.other.event_log).revoke("app", "ops")
        await pair.other.save({"branding": {"companyName": "After"}}, Author("ops", "t"))
        answer = await client.get(
            "/api/v1/runtime?consistency=stale&consistency=default", headers=headers
        )
    assert answer.status_code in (400, 401), (
        answer.status_code,
        answer.json().get("meta"),
    )


def test_a_head_read_overtaking_a_catch_up_page_raises_no_tampering_alarm(
    tmp_path: Path,
) -> None:
    """Another process issues tokens while this one checks the head (as every default request
    does) and catches up. The head is read in the loop's thread while a ``read_all`` page is
    still being read in aiosqlite's thread: the head read sees N+1, then the page ends at N. A
    page that ends below a head seen *while it was read* is no sign of deleted events; taking
    it for one raised a false "log head went back" alarm and refused every write."""
    done = threading.Event()

    def other_process() -> None:
        async def main() -> None:
            other = await open_service(tmp_path, ENVIRON)
            try:
                store = TokenStore(other.event_log)
                for n in range(150):
                    await store.create(f"n{n}", SCOPES, "t")
            finally:
                await other.close()

        try:
            asyncio.run(main())
        finally:
            done.set()

    async def main() -> str | None:
        service = await open_service(tmp_path, ENVIRON)
        try:
            writer = threading.Thread(target=other_process, daemon=True)
            writer.start()

            async def loop(work: Any) -> None:
                while not done.is_set() and service.integrity_failure is None:
                    try:
                        await work()
                    except Exception:
                        return
                    await asyncio.sleep(0)

            await asyncio.gather(
                loop(service.catch_up), *(loop(service.head_position) for _ in range(3))
            )
            writer.join(60)
            failure = service.integrity_failure
            return None if failure is None else str(failure)
        finally:
            await service.close()

    assert asyncio.run(main()) is None
