"""PostgreSQL benchmarks: durable append throughput against two baselines, and replay.

Run with ``python -m bench postgres``. The server comes from ``PARAKO_BENCH_POSTGRESQL_URL`` (else
``PARAKO_TEST_POSTGRESQL_URL``, else the local server); every contender gets its own fresh
database, dropped afterwards, so nothing else on the server is touched. The role needs CREATEDB.

Fairness of the append comparison: every contender commits one event per transaction with
``synchronous_commit=on`` (checked and printed), runs on one connection from one client, and
serialises appends so global positions commit in order — ours and raw asyncpg with the same
transaction-level advisory lock, eventsourcing's application recorder with its own
``LOCK TABLE … IN EXCLUSIVE MODE``. The contenders run in interleaved rounds with a rotating order,
for the same reason as the SQLite bench: the disk's fsync speed drifts over a run.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

import asyncpg

from adapters.storage.postgres import APPEND_LOCK, PostgresEventLog
from adapters.storage.redaction import redact_url
from bench.report import Replay, Row, replay, replay_rows, status, table
from eventstore.hashchain import HashChain
from eventstore.log import NewEvent

APPEND_N = 1000
APPEND_ROUNDS = 8
REPLAY_N = 20_000
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/postgres"

Appender = Callable[[int], Awaitable[None]]
Closer = Callable[[], Awaitable[None]]


def server_url() -> str:
    for name in ("PARAKO_BENCH_POSTGRESQL_URL", "PARAKO_TEST_POSTGRESQL_URL"):
        if os.environ.get(name, "").strip():
            return os.environ[name].strip()
    return DEFAULT_URL


def _with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, parts.fragment))


class Databases:
    """Fresh databases for the run, all dropped at the end even when the bench fails."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.made: list[str] = []

    async def create(self) -> str:
        name = f"parako_bench_{uuid.uuid4().hex[:12]}"
        admin = await asyncpg.connect(self.url)
        try:
            await admin.execute(f'CREATE DATABASE "{name}"')
        finally:
            await admin.close()
        self.made.append(name)
        return _with_database(self.url, name)

    async def drop_all(self) -> None:
        admin = await asyncpg.connect(self.url)
        try:
            for name in self.made:
                await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


def _payload(i: int) -> bytes:
    return json.dumps({"i": i, "path": "branding.companyName", "value": f"Acme {i}"}).encode()


# --- 1. append throughput ------------------------------------------------------------------------


async def _ours(url: str) -> tuple[Appender, Closer, str]:
    log = await PostgresEventLog.open(url, HashChain(bytes(32)), max_pool_size=1)
    settings = await log.settings()

    async def append(i: int) -> None:
        await log.append("bench", i, [NewEvent("Bench", _payload(i))])

    return append, log.close, f"synchronous_commit={settings.synchronous_commit}"


async def _raw(url: str) -> tuple[Appender, Closer, str]:
    """The least a correct append can do: same lock, head read folded into the INSERT."""
    db = await asyncpg.connect(url, server_settings={"synchronous_commit": "on"})
    await db.execute(
        "CREATE TABLE events (position bigint PRIMARY KEY, stream text NOT NULL,"
        " version bigint NOT NULL, type text NOT NULL, data bytea NOT NULL,"
        " recorded_at bigint NOT NULL, UNIQUE (stream, version))"
    )
    insert = (
        "INSERT INTO events (position, stream, version, type, data, recorded_at)"
        " SELECT COALESCE(MAX(position), 0) + 1, $1, $2, $3, $4, $5 FROM events"
    )
    synchronous = await db.fetchval("SHOW synchronous_commit")

    async def append(i: int) -> None:
        async with db.transaction():
            await db.execute("SELECT pg_advisory_xact_lock($1)", APPEND_LOCK)
            await db.execute(insert, "bench", i + 1, "Bench", _payload(i), time.time_ns() // 1000)

    return append, db.close, f"synchronous_commit={synchronous}"


async def _eventsourcing(url: str) -> tuple[Appender, Closer, str]:
    from eventsourcing.persistence import StoredEvent
    from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore

    parts = urlsplit(url)
    datastore = PostgresDatastore(
        dbname=unquote(parts.path.lstrip("/")),
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 5432,
        user=unquote(parts.username or "postgres"),
        password=unquote(parts.password or ""),
    )
    recorder = PostgresApplicationRecorder(datastore)
    recorder.create_table()
    with datastore.get_connection() as connection, connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        row = cursor.fetchone()
        synchronous = (
            (row["synchronous_commit"] if isinstance(row, dict) else row[0]) if row else "?"
        )
    originator = uuid.uuid4()

    async def append(i: int) -> None:  # synchronous library, called inline on purpose
        recorder.insert_events([StoredEvent(originator, i + 1, "bench:Bench", _payload(i))])

    async def close() -> None:
        datastore.close()

    return append, close, f"synchronous_commit={synchronous} (library defaults)"


CONTENDERS: dict[str, Callable[[str], Awaitable[tuple[Appender, Closer, str]]]] = {
    "ours": _ours,
    "raw": _raw,
    "eventsourcing": _eventsourcing,
}


async def _append_all(databases: Databases, n: int) -> tuple[dict[str, float], dict[str, str]]:
    opened = {name: await factory(await databases.create()) for name, factory in CONTENDERS.items()}
    elapsed = dict.fromkeys(opened, 0.0)
    names = list(opened)
    per_round = n // APPEND_ROUNDS
    try:
        for round_ in range(APPEND_ROUNDS):
            order = names[round_ % 3 :] + names[: round_ % 3]
            for name in order:
                append = opened[name][0]
                start = time.perf_counter()
                for i in range(round_ * per_round, (round_ + 1) * per_round):
                    await append(i)
                elapsed[name] += time.perf_counter() - start
    finally:
        for _, close, _ in opened.values():
            await close()
    done = per_round * APPEND_ROUNDS
    rates = {name: done / t for name, t in elapsed.items()}
    return rates, {name: note for name, (_, _, note) in opened.items()}


# --- 2. replay -----------------------------------------------------------------------------------


async def _replay(url: str, n: int) -> Replay:
    chain = HashChain(bytes(32))
    log = await PostgresEventLog.open(url, chain)
    try:
        return await replay(log, chain, n)
    finally:
        await log.close()


# --- driver --------------------------------------------------------------------------------------


async def run(rows: list[Row], notes: list[str], url: str | None = None) -> None:
    """Append the PostgreSQL rows to ``rows`` (same shape as the SQLite bench's table)."""
    url = url or server_url()
    admin = await asyncpg.connect(url)
    try:
        version = await admin.fetchval("SHOW server_version")
    finally:
        await admin.close()
    notes.append(f"PostgreSQL {version} at {redact_url(url)}")
    databases = Databases(url)
    try:
        rates, settings = await _append_all(databases, APPEND_N)
        for name, setting in settings.items():
            notes.append(f"{name}: {setting}")
        ours, raw, es = rates["ours"], rates["raw"], rates["eventsourcing"]
        name = f"1. pg append, 1 event/txn, N={APPEND_N} each"
        rows += [
            (name, "ours PostgresEventLog", f"{ours:,.0f} ev/s", ""),
            (name, "raw asyncpg, same lock", f"{raw:,.0f} ev/s", ""),
            (name, "eventsourcing postgres (app rec.)", f"{es:,.0f} ev/s", ""),
            (name, "ours / raw", f"{ours / raw:.2f}", ""),
            (name, "ours / eventsourcing", f"{ours / es:.2f}", status(ours >= es, ">= 1.00")),
        ]

        result = await _replay(await databases.create(), REPLAY_N)
        rows += replay_rows(f"2. pg replay {REPLAY_N:,} ConfigChanged", result)
    finally:
        await databases.drop_all()


def main(argv: list[str] | None = None, out: Callable[[str], Any] = print) -> None:
    del argv
    rows: list[Row] = []
    notes: list[str] = []
    started = time.perf_counter()
    asyncio.run(run(rows, notes))
    out(
        f"parako-config bench (PostgreSQL) — Python {sys.version.split()[0]}, {os.cpu_count()} CPUs"
    )
    out(table(rows))
    for note in notes:
        out(f"note: {note}")
    out(f"total {time.perf_counter() - started:.0f} s")
