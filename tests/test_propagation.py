"""Every process sees every change: real ``watch`` processes, real SQLite files, a real
redis-server (stopped and restarted mid-test) and, where reachable, a real PostgreSQL."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from support.mongo_server import FreshDatabase, mongo_db  # noqa: F401 (fixture)
from support.propagation_support import (
    RedisServer,
    StallingProxy,
    Watcher,
    cli_set,
    run_writer,
    write_store_env,
)

from adapters.propagation.hints import Hint

#: a poll interval no test waits for: convergence faster than this was a hint's doing
NEVER = 600.0
#: the "short interval" of the polling tests
POLL = 1.0


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return write_store_env(tmp_path)


@pytest.fixture
def watchers() -> Iterator[list[Watcher]]:
    started: list[Watcher] = []
    yield started
    for watcher in started:
        if watcher.process.poll() is None:
            watcher.process.kill()
            watcher.process.wait()


def start(watchers: list[Watcher], root: Path, interval: float, **env: str) -> Watcher:
    watcher = Watcher(root, interval, env)
    watchers.append(watcher)
    return watcher


def assert_consecutive(versions: list[int], first: int, last: int) -> None:
    assert versions == list(range(first, last + 1)), versions


# --- SQLite ------------------------------------------------------------------------------------


def test_sqlite_two_processes_converge_through_polling(root: Path, watchers: list[Watcher]) -> None:
    watcher = start(watchers, root, POLL)
    assert watcher.wait_for(1, timeout=30)["version"] == "1.0.0"
    saved = cli_set(root, "Polled Inc")
    began = time.monotonic()
    line = watcher.wait_for(saved["_version"], timeout=POLL * 3 + 5)
    assert time.monotonic() - began <= POLL * 3
    assert line["version"] == saved["version"] == "1.0.1"
    assert line["tenant"] is None
    assert line["committed_at"] <= line["applied_at"]
    assert watcher.stop() == 0
    assert_consecutive(watcher.versions(), 1, 2)


def test_redis_hint_arrives_long_before_the_poll(
    root: Path, redis_server: RedisServer, watchers: list[Watcher]
) -> None:
    watcher = start(watchers, root, NEVER, **redis_server.env())
    watcher.wait_for(1, timeout=30)
    for n in range(1, 4):
        saved = cli_set(root, f"Hinted {n}", redis_server.env())
        began = time.monotonic()
        watcher.wait_for(saved["_version"], timeout=5)
        assert time.monotonic() - began < 2.0  # the poll would take 600 s
    assert watcher.stop() == 0
    assert_consecutive(watcher.versions(), 1, 4)


def test_redis_hints_carry_what_the_reference_reads(root: Path, redis_server: RedisServer) -> None:
    """The published payload has the reference's fields (originId, timestamp in epoch
    milliseconds, tenantId "*" for the platform) beside ours (stream, version, position)."""
    client = redis.Redis(port=redis_server.port)
    subscriber = client.pubsub()  # type: ignore[no-untyped-call]
    subscriber.psubscribe("parako:*:config:invalidated")
    try:
        assert subscriber.get_message(timeout=5)["type"] == "psubscribe"
        before = time.time_ns() // 1_000_000
        saved = cli_set(root, "Interoperable", redis_server.env())
        after = time.time_ns() // 1_000_000
        message = subscriber.get_message(timeout=5)
        while message is not None and message["type"] != "pmessage":
            message = subscriber.get_message(timeout=5)
        assert message is not None, "no hint published"
    finally:
        subscriber.close()
        client.close()
    assert message["channel"] == b"parako:*:config:invalidated"
    body: dict[str, Any] = json.loads(message["data"])
    assert set(body) == {"originId", "timestamp", "tenantId", "stream", "version", "position"}
    assert isinstance(body["originId"], str)
    assert body["originId"]
    assert type(body["timestamp"]) is int
    assert before <= body["timestamp"] <= after
    assert body["tenantId"] == "*"
    assert body["stream"] == "config/platform"
    assert body["version"] == saved["_version"]
    assert type(body["position"]) is int
    assert body["position"] >= saved["_version"]


def test_hints_decode_the_reference_payload_and_encode_the_tenant_slug() -> None:
    platform = Hint.decode('{"originId": "node-1", "timestamp": 1764680000000, "tenantId": "*"}')
    assert platform == Hint("node-1", "config/platform", None, None, 1764680000000)
    assert platform.tenant is None
    tenant = Hint.decode(b'{"originId": "node-1", "timestamp": 1764680000000, "tenantId": "acme"}')
    assert tenant == Hint("node-1", "config/tenant/acme", None, None, 1764680000000)
    assert tenant.tenant == "acme"
    # our own stream wins over tenantId; fields of the wrong type are dropped, not fatal
    ours = Hint.decode(
        '{"originId": "a", "tenantId": "*", "stream": "config/tenant/x", "version": "3",'
        ' "position": true, "timestamp": 1.5}'
    )
    assert ours == Hint("a", "config/tenant/x")
    encoded = json.loads(Hint("a", "config/tenant/acme", 2, 9, 1764680000000).encode())
    assert encoded == {
        "originId": "a",
        "timestamp": 1764680000000,
        "tenantId": "acme",
        "stream": "config/tenant/acme",
        "version": 2,
        "position": 9,
    }
    for junk in JUNK:
        assert Hint.decode(junk) is None, junk


#: payloads on the hint channel that are not hints (not JSON, not UTF-8, not an object, no
#: string originId, neither stream nor tenantId, nesting deeper than the parser goes)
JUNK = (
    b"not json",
    b"\xff\xfe",
    b"[1, 2]",
    b'{"originId": 7, "tenantId": "*"}',
    b'{"tenantId": "*"}',
    b'{"originId": "node-1", "tenantId": ""}',
    b'{"originId": "node-1", "tenantId": null}',
    b"[" * 100_000,
)


def test_a_hint_from_the_reference_makes_a_serving_process_catch_up(
    root: Path, redis_server: RedisServer, watchers: list[Watcher]
) -> None:
    """The reference's Node.js processes publish only originId, timestamp and tenantId. Such a
    hint still means "the platform changed": the process catches up long before its poll.
    Payloads that are not hints are ignored, and the subscriber keeps running."""
    watcher = start(watchers, root, NEVER, **redis_server.env())
    watcher.wait_for(1, timeout=30)
    saved = cli_set(root, "Saved without a hint")  # no REDIS_HOST: nothing is published
    client = redis.Redis(port=redis_server.port)
    try:
        for junk in JUNK:
            assert client.publish("parako:*:config:invalidated", junk) == 1  # it is subscribed
        time.sleep(1.0)
        assert watcher.process.poll() is None, "".join(watcher.stderr)
        assert watcher.lines.empty(), "a payload that is not a hint caused a catch-up"

        reference = {"originId": "node-4f2a", "timestamp": int(time.time() * 1000), "tenantId": "*"}
        receivers = client.publish("parako:*:config:invalidated", json.dumps(reference))
        assert receivers == 1
    finally:
        client.close()
    began = time.monotonic()
    line = watcher.wait_for(saved["_version"], timeout=5)
    assert time.monotonic() - began < 2.0  # the poll would take 600 s
    assert line["version"] == saved["version"]
    assert watcher.stop() == 0
    assert_consecutive(watcher.versions(), 1, saved["_version"])


def test_redis_outage_polling_covers_and_hints_come_back(
    root: Path, redis_server: RedisServer, watchers: list[Watcher]
) -> None:
    polling = start(watchers, root, POLL, **redis_server.env())
    hinted = start(watchers, root, NEVER, **redis_server.env())
    polling.wait_for(1, timeout=30)
    hinted.wait_for(1, timeout=30)

    redis_server.stop()
    hinted.wait_in_log("redis hints unavailable", timeout=10)
    saved = cli_set(root, "During the outage", redis_server.env())
    began = time.monotonic()
    polling.wait_for(saved["_version"], timeout=POLL * 3 + 5)
    assert time.monotonic() - began <= POLL * 3  # still within the polling interval

    redis_server.start()
    # resubscribing catches up by itself: the save made during the outage arrives without a poll
    hinted.wait_for(saved["_version"], timeout=15)
    hinted.wait_in_log("redis hints restored", timeout=5)
    again = cli_set(root, "After the outage", redis_server.env())
    began = time.monotonic()
    hinted.wait_for(again["_version"], timeout=5)
    assert time.monotonic() - began < 2.0

    for watcher in (polling, hinted):
        assert watcher.stop() == 0
        assert_consecutive(watcher.versions(), 1, again["_version"])
        log = "".join(watcher.stderr)
        assert log.count("redis hints unavailable") == 1, log  # one line per transition
        assert log.count("redis hints restored") == 1, log


def test_redis_down_at_start_then_up(root: Path, watchers: list[Watcher]) -> None:
    server = RedisServer()  # not started yet
    watcher = start(watchers, root, NEVER, **server.env())
    watcher.wait_for(1, timeout=30)  # serves its config without Redis
    watcher.wait_in_log("redis hints unavailable", timeout=10)
    server.start()
    try:
        watcher.wait_in_log("redis hints restored", timeout=10)
        saved = cli_set(root, "Redis is back", server.env())
        watcher.wait_for(saved["_version"], timeout=5)
        assert watcher.stop() == 0
    finally:
        server.stop()


def test_no_lost_update_no_missed_version(
    root: Path, redis_server: RedisServer, watchers: list[Watcher]
) -> None:
    env = redis_server.env()
    group = [start(watchers, root, POLL, **env) for _ in range(3)]
    for watcher in group:
        watcher.wait_for(1, timeout=30)
    final = run_writer(root, 200, env)
    assert final == 201
    for watcher in group:
        watcher.wait_for(final, timeout=30)
        assert watcher.stop() == 0
        assert_consecutive(watcher.versions(), 1, final)


# --- PostgreSQL --------------------------------------------------------------------------------


@pytest.fixture
def pg_root(tmp_path: Path) -> Iterator[Path]:
    from support.pg_server import fresh_database

    with fresh_database() as url:
        yield write_store_env(tmp_path, STORAGE_ADAPTER="postgresql", STORAGE_POSTGRESQL_URL=url)


def test_postgresql_two_processes_with_redis(
    pg_root: Path, redis_server: RedisServer, watchers: list[Watcher]
) -> None:
    watcher = start(watchers, pg_root, NEVER, **redis_server.env())
    watcher.wait_for(1, timeout=30)
    saved = cli_set(pg_root, "Shared database", redis_server.env())
    began = time.monotonic()
    watcher.wait_for(saved["_version"], timeout=5)
    assert time.monotonic() - began < 2.0

    redis_server.stop()
    watcher.wait_in_log("redis hints unavailable", timeout=10)
    # NOTIFY still runs next to Redis on PostgreSQL, so the hint arrives anyway
    during = cli_set(pg_root, "Redis is down", redis_server.env())
    watcher.wait_for(during["_version"], timeout=5)
    redis_server.start()
    watcher.wait_in_log("redis hints restored", timeout=10)
    assert watcher.stop() == 0
    assert_consecutive(watcher.versions(), 1, during["_version"])


def test_postgresql_notify_only_converges(pg_root: Path, watchers: list[Watcher]) -> None:
    watcher = start(watchers, pg_root, NEVER)
    watcher.wait_for(1, timeout=30)
    for n in range(1, 4):
        saved = cli_set(pg_root, f"Notified {n}")
        began = time.monotonic()
        watcher.wait_for(saved["_version"], timeout=5)
        assert time.monotonic() - began < 2.0  # the poll would take 600 s
    assert watcher.stop() == 0
    assert_consecutive(watcher.versions(), 1, 4)


def test_postgresql_outage_keeps_serving_and_recovers(
    tmp_path: Path, watchers: list[Watcher]
) -> None:
    from support.pg_server import throwaway_cluster
    from support.propagation_support import CLI, clean_env

    with throwaway_cluster() as cluster:
        root = write_store_env(
            tmp_path, STORAGE_ADAPTER="postgresql", STORAGE_POSTGRESQL_URL=cluster.url
        )
        watcher = start(watchers, root, POLL)
        watcher.wait_for(1, timeout=30)

        cluster.stop()
        watcher.wait_in_log("postgresql notifications unavailable", timeout=10)
        watcher.wait_in_log("configuration store unavailable", timeout=POLL * 3 + 5)
        time.sleep(POLL * 3)  # several failing polls and reconnect attempts
        assert watcher.process.poll() is None  # still up, serving its last config
        failed = subprocess.run(
            [str(CLI), "set", 'branding.companyName="Down"', "--by", "t", "--reason", "r"],
            cwd=root,
            env=clean_env(),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert failed.returncode != 0

        cluster.start()
        watcher.wait_in_log("postgresql notifications restored", timeout=15)
        saved = cli_set(root, "After the database outage")
        watcher.wait_for(saved["_version"], timeout=POLL * 3 + 5)
        assert watcher.stop() == 0

    log = "".join(watcher.stderr)
    for transition in ("postgresql notifications", "configuration store"):
        assert log.count(f"{transition} unavailable") == 1, log
        assert log.count(f"{transition} restored") == 1, log
    assert cluster.password not in log + failed.stderr + failed.stdout
    assert_consecutive(watcher.versions(), 1, saved["_version"])


# --- MongoDB -----------------------------------------------------------------------------------


def test_mongodb_change_stream_hint(
    tmp_path: Path,
    mongo_db: FreshDatabase,  # noqa: F811 (the fixture imported above)
    watchers: list[Watcher],
) -> None:
    """On the emulator (or a replica set) the insert itself is the hint; no poll, no Redis."""
    root = write_store_env(tmp_path, STORAGE_ADAPTER="mongodb", STORAGE_MONGODB_URI=mongo_db.uri)
    watcher = start(watchers, root, NEVER)
    watcher.wait_for(1, timeout=30)
    for n in range(1, 3):
        saved = cli_set(root, f"Streamed {n}")
        began = time.monotonic()
        watcher.wait_for(saved["_version"], timeout=5)
        assert time.monotonic() - began < 2.0
    assert watcher.stop() == 0
    assert_consecutive(watcher.versions(), 1, 3)


def test_a_silent_network_loss_is_noticed_by_the_heartbeat(
    root: Path, redis_server: RedisServer, watchers: list[Watcher]
) -> None:
    """The path to Redis goes quiet without any connection closing. The heartbeat notices (one
    log line); when the path is back the subscriber reconnects, catches up with what it missed
    and hints work again. Polling is off (600 s), so every step here is the hints' doing."""
    proxy = StallingProxy(redis_server.port)
    try:
        watcher = start(watchers, root, NEVER, **proxy.env())
        watcher.wait_for(1, timeout=30)
        first = cli_set(root, "Before the silence", redis_server.env())
        watcher.wait_for(first["_version"], timeout=5)  # subscribed: a hint delivered it

        proxy.stall()
        watcher.wait_in_log("redis hints unavailable", timeout=15)  # missed heartbeats
        missed = cli_set(root, "During the silence", redis_server.env())

        proxy.resume()
        watcher.wait_in_log("redis hints restored", timeout=20)
        watcher.wait_for(missed["_version"], timeout=5)  # the catch-up after reconnecting
        after = cli_set(root, "After the silence", redis_server.env())
        began = time.monotonic()
        watcher.wait_for(after["_version"], timeout=5)
        assert time.monotonic() - began < 2.0

        assert watcher.stop() == 0
        log = "".join(watcher.stderr)
        assert log.count("redis hints unavailable") == 1, log
        assert log.count("redis hints restored") == 1, log
        assert_consecutive(watcher.versions(), 1, after["_version"])
    finally:
        proxy.close()
