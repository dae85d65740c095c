"""What only the SQLite adapter has: the file, its pragmas, schema upgrades, several processes.

Run as a script (``python test_sqlite_log_specific.py worker ...``) this module is also the worker
of the multi-process test, so the worker code is type-checked and linted like the rest.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest

from adapters.storage.sql_common import SchemaTooNewError
from adapters.storage.sqlite import SCHEMA_VERSION, SqliteEventLog
from eventstore.hashchain import GENESIS, HashChain, verify_log
from eventstore.log import NewEvent, Snapshot, WrongExpectedVersion, to_epoch_micros

CHAIN = HashChain(bytes(range(100, 132)))
CHAIN_TIME = datetime(2024, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)

# Schema version 1 exactly as released; kept here verbatim so the upgrade path stays tested even
# if later steps change how a fresh file looks.
V1_SCHEMA = (
    """CREATE TABLE events (
        position INTEGER PRIMARY KEY,
        stream TEXT NOT NULL,
        version INTEGER NOT NULL,
        type TEXT NOT NULL,
        data BLOB NOT NULL,
        recorded_at INTEGER NOT NULL,
        link BLOB NOT NULL,
        UNIQUE (stream, version)
    )""",
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value BLOB NOT NULL)",
    "PRAGMA user_version = 1",
)


@contextmanager
def raw(path: Path) -> Iterator[sqlite3.Connection]:
    """A plain connection that commits on leaving the block."""
    with closing(sqlite3.connect(path)) as connection, connection:
        yield connection


@pytest.fixture
async def opened(tmp_path: Path) -> AsyncIterator[list[SqliteEventLog]]:
    """Collects logs a test opens so they are closed even when the test fails."""
    logs: list[SqliteEventLog] = []
    yield logs
    for log in logs:
        await log.close()


async def open_log(path: Path, opened: list[SqliteEventLog]) -> SqliteEventLog:
    log = await SqliteEventLog.open(path, CHAIN)
    opened.append(log)
    return log


def tick(**fields: object) -> NewEvent:
    return NewEvent("Tick", json.dumps(fields, sort_keys=True).encode())


# -- file and settings -------------------------------------------------------------------------


async def test_open_creates_file_and_parent_directories(
    tmp_path: Path, opened: list[SqliteEventLog]
) -> None:
    path = tmp_path / "var" / "lib" / "parako" / "config.sqlite3"
    log = await open_log(path, opened)
    await log.append("s", 0, [tick(n=1)])
    assert path.is_file()


async def test_settings_are_in_force(tmp_path: Path, opened: list[SqliteEventLog]) -> None:
    log = await open_log(tmp_path / "log.sqlite3", opened)
    settings = await log.settings()
    assert settings.journal_mode == "wal"
    assert settings.synchronous == 2  # FULL
    assert settings.busy_timeout_ms == 5000
    assert settings.schema_version == SCHEMA_VERSION
    with raw(tmp_path / "log.sqlite3") as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)


async def test_reopen_preserves_everything(tmp_path: Path, opened: list[SqliteEventLog]) -> None:
    path = tmp_path / "log.sqlite3"
    first = await SqliteEventLog.open(path, CHAIN)
    written = [
        *await first.append("a", 0, [tick(n=1), tick(n=2)]),
        *await first.append("b", 0, [tick(n=3)]),
    ]
    await first.save_snapshot(Snapshot("a", 2, 2, b"state"))
    await first.write_meta("fingerprint", b"\x01\x02")
    await first.close()

    again = await open_log(path, opened)
    assert list(await again.read_all()) == written
    assert await again.latest_snapshot("a") == Snapshot("a", 2, 2, b"state")
    assert await again.read_meta("fingerprint") == b"\x01\x02"
    (continued,) = await again.append("a", 2, [tick(n=4)])
    assert (continued.version, continued.position) == (3, 4)
    assert (await verify_log(again, CHAIN)).ok


# -- schema ------------------------------------------------------------------------------------


async def test_upgrade_from_version_1(tmp_path: Path, opened: list[SqliteEventLog]) -> None:
    path = tmp_path / "old.sqlite3"
    (old_event,) = CHAIN.seal(GENESIS, "legacy", 1, 1, [tick(n=0)], CHAIN_TIME)
    with raw(path) as connection:
        for statement in V1_SCHEMA:
            connection.execute(statement)
        connection.execute(
            "INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?)",
            (1, "legacy", 1, "Tick", old_event.data, to_epoch_micros(CHAIN_TIME), old_event.link),
        )
        connection.execute("INSERT INTO meta VALUES ('fingerprint', x'00')")

    log = await open_log(path, opened)

    assert (await log.settings()).schema_version == SCHEMA_VERSION
    assert list(await log.read_all()) == [old_event]
    assert await log.read_meta("fingerprint") == b"\x00"
    await log.save_snapshot(Snapshot("legacy", 1, 1, b"s"))
    assert await log.latest_snapshot("legacy") == Snapshot("legacy", 1, 1, b"s")
    await log.append("legacy", 1, [tick(n=1)])
    assert (await verify_log(log, CHAIN)).ok


async def test_upgrade_is_idempotent_across_concurrent_openers(tmp_path: Path) -> None:
    path = tmp_path / "fresh.sqlite3"
    logs = await asyncio.gather(*(SqliteEventLog.open(path, CHAIN) for _ in range(6)))
    try:
        assert {(await log.settings()).schema_version for log in logs} == {SCHEMA_VERSION}
        await logs[0].append("s", 0, [tick()])
        assert await logs[5].stream_version("s") == 1
    finally:
        for log in logs:
            await log.close()


async def test_newer_schema_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "future.sqlite3"
    with raw(path) as connection:
        connection.execute("CREATE TABLE future (x)")
        connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")

    with pytest.raises(SchemaTooNewError, match="Upgrade parako-config"):
        await SqliteEventLog.open(path, CHAIN)

    with raw(path) as connection:
        assert connection.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION + 1,)
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
        assert tables == {"future"}


# -- atomicity inside the transaction ----------------------------------------------------------


async def test_failure_midway_through_the_insert_rolls_back_everything(
    tmp_path: Path, opened: list[SqliteEventLog]
) -> None:
    path = tmp_path / "log.sqlite3"
    log = await open_log(path, opened)
    await log.append("s", 0, [tick(n=1)])
    with raw(path) as connection:
        connection.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON events WHEN NEW.type = 'Boom'"
            " BEGIN SELECT RAISE(ABORT, 'refused by trigger'); END"
        )

    with pytest.raises(sqlite3.IntegrityError, match="refused by trigger"):
        await log.append("s", 1, [tick(n=2), tick(n=3), NewEvent("Boom", b"{}"), tick(n=4)])

    assert await log.head_position() == 1
    assert await log.stream_version("s") == 1
    (after,) = await log.append("s", 1, [tick(n=5)])
    assert (after.version, after.position) == (2, 2)


# -- the one-statement append and what it remembers --------------------------------------------


async def test_handles_taking_turns_never_trust_a_stale_head(
    tmp_path: Path, opened: list[SqliteEventLog]
) -> None:
    """Each handle remembers the head it wrote; the other handle's appends make that memory
    stale, and every append must still land right after the real head with a valid link."""
    path = tmp_path / "log.sqlite3"
    first, second = await open_log(path, opened), await open_log(path, opened)
    await first.append("config", 0, [tick(n=1)])
    await first.append("config", 1, [tick(n=2)])  # from memory
    await second.append("other", 0, [tick(n=3)])  # position 3 is taken behind first's back
    (fourth,) = await first.append("config", 2, [tick(n=4)])
    await second.append("other", 1, [tick(n=5), tick(n=6)])
    seventh, _ = await first.append("config", 3, [tick(n=7), tick(n=8)])

    assert (fourth.position, fourth.version) == (4, 3)
    assert (seventh.position, seventh.version) == (7, 4)
    report = await verify_log(first, CHAIN)
    assert report.ok
    assert report.last_position == 8


async def test_a_stale_remembered_stream_version_is_still_a_conflict(
    tmp_path: Path, opened: list[SqliteEventLog]
) -> None:
    """``first`` remembers ``config`` at version 1; ``second`` moves it to 2 and ``first`` then
    appends elsewhere, so its remembered head is current again but the version is not."""
    path = tmp_path / "log.sqlite3"
    first, second = await open_log(path, opened), await open_log(path, opened)
    await first.append("config", 0, [tick(n=1)])
    await second.append("config", 1, [tick(n=2)])
    await first.append("audit", 0, [tick(n=3)])

    with pytest.raises(WrongExpectedVersion) as caught:
        await first.append("config", 1, [tick(n=4)])
    assert caught.value.actual == 2
    assert await first.head_position() == 3
    (accepted,) = await first.append("config", 2, [tick(n=4)])
    assert (accepted.position, accepted.version) == (4, 3)
    assert (await verify_log(second, CHAIN)).ok


async def test_the_head_is_read_in_the_callers_thread_and_sees_every_handles_appends(
    tmp_path: Path, opened: list[SqliteEventLog]
) -> None:
    """The head is read through a plain connection in the event loop's thread (no hop to
    aiosqlite's): it must see appends of this handle, of another handle, and of a transaction
    committed while it was open, and a write lock held elsewhere must not make it wait."""
    path = tmp_path / "log.sqlite3"
    first, second = await open_log(path, opened), await open_log(path, opened)
    assert await first.head_position() == 0
    await first.append("config", 0, [tick(n=1)])
    assert await first.head_position() == 1
    await second.append("other", 0, [tick(n=2), tick(n=3)])
    assert await first.head_position() == 3
    with raw(path) as connection:
        connection.execute("BEGIN IMMEDIATE")  # a writer mid-transaction holds the write lock
        assert await first.head_position() == 3
    await second.append("other", 2, [tick(n=4)])
    assert await first.head_position() == 4
    hops = 0
    original = first._fetch

    async def counted(sql: str, parameters: tuple[object, ...]) -> list[object]:
        nonlocal hops
        hops += 1
        return await original(sql, parameters)

    first._fetch = counted  # type: ignore[method-assign]
    assert await first.head_position() == 4
    assert hops == 0


async def test_the_head_is_read_the_usual_way_when_the_direct_read_fails(
    tmp_path: Path, opened: list[SqliteEventLog]
) -> None:
    path = tmp_path / "log.sqlite3"
    log = await open_log(path, opened)
    await log.append("config", 0, [tick(n=1), tick(n=2)])
    moved = tmp_path / "elsewhere"
    moved.mkdir()
    log._probe._path = moved / "missing.sqlite3"  # the direct read cannot open its file
    log._probe.close()
    assert await log.head_position() == 2


# -- several processes -------------------------------------------------------------------------

PROCESSES = 4
APPENDS_PER_PROCESS = 50


async def test_processes_share_one_file(tmp_path: Path, opened: list[SqliteEventLog]) -> None:
    path = tmp_path / "shared.sqlite3"
    await (await open_log(path, opened)).write_meta("created-by", b"test")
    workers = [
        subprocess.Popen(
            [sys.executable, __file__, "worker", str(path), str(index)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)},
        )
        for index in range(PROCESSES)
    ]
    try:
        # Start them together: every worker has opened the file before any appends.
        for worker in workers:
            assert worker.stdout is not None
            assert worker.stdout.readline().strip() == "ready"
        for worker in workers:
            assert worker.stdin is not None
            worker.stdin.write("go\n")
            worker.stdin.flush()
        results = [json.loads(worker.communicate(timeout=300)[0]) for worker in workers]
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
    assert [worker.returncode for worker in workers] == [0] * PROCESSES

    log = await open_log(path, opened)
    total = PROCESSES * APPENDS_PER_PROCESS
    assert sum(result["successes"] for result in results) == total
    assert await log.stream_version("counter") == total
    events = await log.read_all()
    assert [e.position for e in events] == list(range(1, total + 1))
    assert [e.version for e in events] == list(range(1, total + 1))
    per_worker = [json.loads(e.data)["worker"] for e in events]
    assert sorted(per_worker.count(i) for i in range(PROCESSES)) == [APPENDS_PER_PROCESS] * 4
    assert (await verify_log(log, CHAIN, page_size=64)).ok


async def _worker(path: Path, index: int) -> dict[str, int]:
    log = await SqliteEventLog.open(path, CHAIN)
    try:
        print("ready", flush=True)
        sys.stdin.readline()
        successes = conflicts = 0
        while successes < APPENDS_PER_PROCESS:
            version = await log.stream_version("counter")
            try:
                await log.append("counter", version, [tick(worker=index, n=successes)])
            except WrongExpectedVersion:
                conflicts += 1
            else:
                successes += 1
        return {"successes": successes, "conflicts": conflicts}
    finally:
        await log.close()


if __name__ == "__main__" and sys.argv[1:2] == ["worker"]:
    outcome = asyncio.run(_worker(Path(sys.argv[2]), int(sys.argv[3])))
    print(json.dumps(outcome), flush=True)
