"""Runs the EventLog contract against the PostgreSQL adapter, one fresh database per test, plus
what only PostgreSQL has: connection errors, password redaction, permissions, migrations."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from typing import Any

import asyncpg
import pytest
from support.pg_server import (
    Cluster,
    drop_database,
    free_port,
    fresh_database,
    require_server,
    run_sync,
    throwaway_cluster,
    with_database,
)

from adapters.storage.postgres import SCHEMA_VERSION, PostgresEventLog
from adapters.storage.redaction import redact_url
from adapters.storage.sql_common import SchemaTooNewError
from eventstore.errors import ConfigError
from eventstore.hashchain import HashChain, verify_log
from eventstore.log import EventLog, NewEvent, WrongExpectedVersion

from .log_contract import EventLogContract

PASSWORD = "Hunter2-Sekr3t-Pa55"


class PostgresHarness:
    """Every handle is a separate PostgresEventLog (own pool) on one database; tampering goes
    through a plain asyncpg connection, as an attacker with database access would."""

    def __init__(self, url: str) -> None:
        self.chain = HashChain(os.urandom(32))
        self.url = url
        self._opened: list[PostgresEventLog] = []

    async def open_log(self) -> EventLog:
        log = await PostgresEventLog.open(self.url, self.chain, max_pool_size=2)
        self._opened.append(log)
        return log

    async def close_all(self) -> None:
        for log in self._opened:
            await log.close()

    async def _raw(self, *statements: tuple[str, tuple[object, ...]]) -> None:
        connection = await asyncpg.connect(self.url)
        try:
            async with connection.transaction():
                for sql, args in statements:
                    await connection.execute(sql, *args)
        finally:
            await connection.close()

    async def tamper_data(self, position: int) -> None:
        await self._raw(
            (
                "UPDATE events SET data = set_byte(data, 0, get_byte(data, 0) # 1)"
                " WHERE position = $1",
                (position,),
            )
        )

    async def delete_event(self, position: int) -> None:
        await self._raw(("DELETE FROM events WHERE position = $1", (position,)))

    async def swap_data(self, first: int, second: int) -> None:
        await self._raw(
            (
                "UPDATE events AS e SET data = o.data FROM events AS o"
                " WHERE (e.position, o.position) IN (($1, $2), ($2, $1))",
                (first, second),
            )
        )


@pytest.fixture
def pg_database() -> Iterator[str]:
    with fresh_database() as url:
        yield url


class TestPostgresEventLog(EventLogContract):
    @pytest.fixture
    async def harness(self, pg_database: str) -> AsyncIterator[PostgresHarness]:
        harness = PostgresHarness(pg_database)
        yield harness
        await harness.close_all()


# --- PostgreSQL specifics ------------------------------------------------------------------------

CHAIN = HashChain(bytes(range(32)))


async def _fetch(url: str, sql: str) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(url)
    try:
        return list(await connection.fetch(sql))
    finally:
        await connection.close()


async def test_creates_the_documented_tables_and_schema_version(pg_database: str) -> None:
    log = await PostgresEventLog.open(pg_database, CHAIN)
    try:
        settings = await log.settings()
    finally:
        await log.close()
    tables = await _fetch(
        pg_database,
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
        " ORDER BY table_name",
    )
    assert [r[0] for r in tables] == ["checkpoint", "events", "meta", "schema_version", "snapshots"]
    assert settings.schema_version == SCHEMA_VERSION
    assert settings.synchronous_commit == "on"


async def test_processes_opening_a_fresh_database_at_once_migrate_once(pg_database: str) -> None:
    logs = await asyncio.gather(*(PostgresEventLog.open(pg_database, CHAIN) for _ in range(6)))
    try:
        results = await asyncio.gather(
            *(log.append(f"s{i}", 0, [NewEvent("E", b"{}")]) for i, log in enumerate(logs))
        )
        assert sorted(r[0].position for r in results) == [1, 2, 3, 4, 5, 6]
        assert (await verify_log(logs[0], CHAIN)).ok
    finally:
        for log in logs:
            await log.close()
    assert await _fetch(pg_database, "SELECT id, version FROM schema_version") == [
        (True, SCHEMA_VERSION)
    ]


async def test_a_newer_schema_is_refused(pg_database: str) -> None:
    await (await PostgresEventLog.open(pg_database, CHAIN)).close()
    await _fetch(pg_database, f"UPDATE schema_version SET version = {SCHEMA_VERSION + 1}")
    with pytest.raises(SchemaTooNewError, match="Upgrade parako-config") as caught:
        await PostgresEventLog.open(pg_database, CHAIN)
    assert caught.value.found == SCHEMA_VERSION + 1


async def test_reads_and_appends_survive_killed_connections(pg_database: str) -> None:
    """What a server restart or a proxy does to pooled connections: the next calls reconnect."""
    log = await PostgresEventLog.open(pg_database, CHAIN, min_pool_size=2, max_pool_size=2)
    try:
        await log.append("s", 0, [NewEvent("E", b"1")])
        for round_ in range(3):
            await _fetch(
                pg_database,
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE application_name = 'parako-config' AND pid <> pg_backend_pid()",
            )
            if round_ % 2:
                assert [e.data for e in await log.read_stream("s")][-1:] == [b"%d" % (round_ + 1)]
            (recorded,) = await log.append("s", round_ + 1, [NewEvent("E", b"%d" % (round_ + 2))])
            assert recorded.version == round_ + 2
        assert [e.position for e in await log.read_all()] == [1, 2, 3, 4]
        assert (await verify_log(log, CHAIN)).ok
    finally:
        await log.close()


# --- errors an operator must be able to act on, never showing the password ------------------------


def _no_secret(error: BaseException, secret: str = PASSWORD) -> None:
    """Neither the message nor anything chained to it may carry the password."""
    seen: BaseException | None = error
    while seen is not None:
        assert secret not in str(seen)
        assert secret not in repr(seen)
        seen = seen.__cause__ or (None if seen.__suppress_context__ else seen.__context__)


def test_redact_url() -> None:
    assert redact_url(f"postgresql://app:{PASSWORD}@db:5432/cfg?sslmode=require") == (
        "postgresql://app:***@db:5432/cfg?sslmode=require"
    )
    assert redact_url(f"postgresql://db/cfg?user=app&password={PASSWORD}") == (
        "postgresql://db/cfg?user=app&password=***"
    )
    assert redact_url("postgresql://app@db/cfg") == "postgresql://app@db/cfg"


@pytest.mark.parametrize(
    "url",
    [
        f"mysql://app:{PASSWORD}@127.0.0.1/x",
        f"postgresql://app:{PASSWORD}@127.0.0.1:notaport/x",
        f"postgresql://app:{PASSWORD}@127.0.0.1:99999/x",
        "",
    ],
    ids=["scheme", "port-text", "port-range", "empty"],
)
async def test_a_malformed_url_is_a_clear_error(url: str) -> None:
    with pytest.raises(ConfigError, match="STORAGE_POSTGRESQL_URL is") as caught:
        await PostgresEventLog.open(url, CHAIN)
    _no_secret(caught.value)


async def test_a_refused_connection_is_a_clear_error() -> None:
    url = f"postgresql://app:{PASSWORD}@127.0.0.1:{free_port()}/x"
    with pytest.raises(
        ConfigError, match=r"cannot connect to PostgreSQL at 127\.0\.0\.1"
    ) as caught:
        await PostgresEventLog.open(url, CHAIN, connect_timeout=3)
    assert "app:***@" in str(caught.value)
    _no_secret(caught.value)


async def test_a_missing_database_is_a_clear_error() -> None:
    base = require_server()
    url = with_database(base, "parako_no_such_db")
    with pytest.raises(ConfigError, match="'parako_no_such_db' does not exist"):
        await PostgresEventLog.open(url, CHAIN)


async def test_an_unknown_role_is_an_authentication_error() -> None:
    base = require_server()
    host = base.split("@", 1)[1]
    url = f"postgresql://nobody_{os.getpid()}:{PASSWORD}@{host}"
    with pytest.raises(ConfigError, match="refused to authenticate user") as caught:
        await PostgresEventLog.open(url, CHAIN)
    _no_secret(caught.value)


@pytest.fixture
def limited_role(pg_database: str) -> Iterator[tuple[str, str]]:
    """A login role with CONNECT but no CREATE on the schema; yields (its URL, admin URL)."""
    role = f"parako_limited_{os.getpid()}"
    statements = [
        f"DROP ROLE IF EXISTS {role}",
        f"CREATE ROLE {role} LOGIN PASSWORD '{PASSWORD}'",
        "REVOKE CREATE ON SCHEMA public FROM PUBLIC",
    ]
    run_sync(_exec(pg_database, statements))
    host = pg_database.split("@", 1)[1]
    yield f"postgresql://{role}:{PASSWORD}@{host}", pg_database
    drop_database(pg_database)  # the role owns nothing once its database is gone
    run_sync(_exec(with_database(pg_database, "postgres"), [f"DROP ROLE IF EXISTS {role}"]))


async def _exec(url: str, statements: list[str]) -> None:
    connection = await asyncpg.connect(url)
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


async def test_missing_create_permission_is_a_clear_error(limited_role: tuple[str, str]) -> None:
    url, _ = limited_role
    with pytest.raises(ConfigError, match="lacks a permission") as caught:
        await PostgresEventLog.open(url, CHAIN)
    assert "CREATE on the schema" in str(caught.value)
    _no_secret(caught.value)


async def test_pre_created_tables_need_only_select_insert_update(
    limited_role: tuple[str, str],
) -> None:
    url, admin = limited_role
    await (await PostgresEventLog.open(admin, CHAIN)).close()  # an administrator migrates
    role = url.split("//", 1)[1].split(":", 1)[0]
    await _exec(
        admin,
        [
            f"GRANT SELECT, INSERT, UPDATE ON events, snapshots, meta, schema_version, checkpoint"
            f" TO {role}"
        ],
    )
    log = await PostgresEventLog.open(url, CHAIN)
    try:
        await log.append("s", 0, [NewEvent("E", b"{}")])
        assert await log.write_meta("k", b"v", only_if_absent=True)
        assert await log.write_meta("k", b"w")
        assert (await verify_log(log, CHAIN)).ok
    finally:
        await log.close()


# --- a server with password authentication and a restart -----------------------------------------


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    with throwaway_cluster() as server:
        yield server


async def test_wrong_password_is_a_clear_error_without_the_password(cluster: Cluster) -> None:
    url: str = cluster.url
    wrong = url.replace(cluster.password, PASSWORD)
    with pytest.raises(ConfigError, match="refused to authenticate user 'postgres'") as caught:
        await PostgresEventLog.open(wrong, CHAIN)
    _no_secret(caught.value)
    assert "postgres:***@" in str(caught.value)


async def test_log_reconnects_after_a_server_restart(cluster: Cluster) -> None:
    url: str = cluster.url
    log = await PostgresEventLog.open(url, CHAIN, min_pool_size=2, max_pool_size=3)
    try:
        assert repr(log).count("***") == 1
        assert cluster.password not in repr(log)
        await log.append("restart", 0, [NewEvent("E", b"before")])
        await asyncio.to_thread(cluster.restart)
        assert await log.stream_version("restart") == 1
        await asyncio.to_thread(cluster.restart)
        (after,) = await log.append("restart", 1, [NewEvent("E", b"after")])
        assert (after.version, after.position) == (2, 2)
        assert [e.data for e in await log.read_all()] == [b"before", b"after"]
        assert (await verify_log(log, CHAIN)).ok
    finally:
        await log.close()


def test_ssl_reject_unauthorized_false_accepts_any_certificate() -> None:
    import ssl

    from adapters.storage.postgres import _parse_target

    lenient = _parse_target(
        "postgresql://u@db/x?sslmode=verify-full", ssl_reject_unauthorized=False
    )
    assert lenient.ssl is not None
    assert (lenient.ssl.verify_mode, lenient.ssl.check_hostname) == (ssl.CERT_NONE, False)
    assert _parse_target("postgresql://u@db/x?sslmode=require", True).ssl is None
    assert _parse_target("postgresql://u@db/x", False).ssl is None  # no TLS asked for
    strict = _parse_target("postgresql://u@db/x?ssl=true", True)
    assert (strict.ssl, strict.dsn) == (None, "postgresql://u@db/x?sslmode=verify-full")
    assert _parse_target("postgresql://u@db/x?ssl=true", False).ssl is not None


@pytest.mark.parametrize("committed", [True, False], ids=["lost-after-commit", "lost-before"])
async def test_an_append_retried_after_connection_loss_is_recorded_once(
    pg_database: str, monkeypatch: pytest.MonkeyPatch, committed: bool
) -> None:
    """The first attempt's connection dies; whether or not it committed, one append results."""
    log = await PostgresEventLog.open(pg_database, CHAIN)
    real = PostgresEventLog._append_on
    calls = 0

    async def flaky(self: PostgresEventLog, *args: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 1:
            if committed:
                await real(self, *args)
            raise asyncpg.ConnectionDoesNotExistError("connection was closed in the middle")
        return await real(self, *args)

    monkeypatch.setattr(PostgresEventLog, "_append_on", flaky)
    try:
        await log.append("other", 0, [NewEvent("E", b"x")])  # the head is not at 0
        calls = 0
        recorded = await log.append("s", 0, [NewEvent("E", b"1"), NewEvent("E", b"2")])
        assert calls == 2
        assert [(e.version, e.position) for e in recorded] == [(1, 2), (2, 3)]
        assert list(await log.read_stream("s")) == list(recorded)
        assert await log.head_position() == 3
        calls = 1  # a plain conflict is still a conflict after a retry
        with pytest.raises(WrongExpectedVersion):
            await log.append("s", 0, [NewEvent("E", b"late")])
        assert (await verify_log(log, CHAIN)).ok
    finally:
        await log.close()


async def test_logs_taking_turns_never_trust_a_stale_head(pg_database: str) -> None:
    """Each log remembers the head it wrote and appends there without the lock; the other log's
    appends make that memory stale, and every append must still land right after the real head."""
    first = await PostgresEventLog.open(pg_database, CHAIN)
    second = await PostgresEventLog.open(pg_database, CHAIN)
    try:
        await first.append("config", 0, [NewEvent("E", b"1")])
        await first.append("config", 1, [NewEvent("E", b"2")])  # lock-free, from memory
        await second.append("other", 0, [NewEvent("E", b"3")])  # takes what first remembers
        (fourth,) = await first.append("config", 2, [NewEvent("E", b"4")])
        await second.append("other", 1, [NewEvent("E", b"5"), NewEvent("E", b"6")])
        seventh, _ = await first.append("config", 3, [NewEvent("E", b"7"), NewEvent("E", b"8")])
        with pytest.raises(WrongExpectedVersion):
            await second.append("config", 3, [NewEvent("E", b"late")])
        assert (fourth.position, fourth.version) == (4, 3)
        assert (seventh.position, seventh.version) == (7, 4)
        report = await verify_log(first, CHAIN)
        assert report.ok
        assert report.last_position == 8
    finally:
        await first.close()
        await second.close()


@pytest.mark.parametrize("committed", [False, True])
async def test_a_lock_free_append_whose_connection_died_is_recorded_once(
    pg_database: str, monkeypatch: pytest.MonkeyPatch, committed: bool
) -> None:
    log = await PostgresEventLog.open(pg_database, CHAIN)
    real = PostgresEventLog._append_at_known_head
    calls = 0

    async def flaky(self: PostgresEventLog, *args: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 1:
            if committed:
                await real(self, *args)
            raise asyncpg.ConnectionDoesNotExistError("connection was closed in the middle")
        return await real(self, *args)

    try:
        await log.append("s", 0, [NewEvent("E", b"0")])  # now the head is known
        monkeypatch.setattr(PostgresEventLog, "_append_at_known_head", flaky)
        recorded = await log.append("s", 1, [NewEvent("E", b"1")])
        assert [(e.version, e.position) for e in recorded] == [(2, 2)]
        assert [e.data for e in await log.read_stream("s")] == [b"0", b"1"]
        assert (await verify_log(log, CHAIN)).ok
    finally:
        await log.close()
