"""SQLite event log: one file, shareable by several processes of one installation.

Why it is built this way:

* WAL lets readers keep reading while one writer appends; ``synchronous=FULL`` makes a returned
  append durable across power loss; a busy timeout makes writers from other processes wait for
  the write lock instead of failing.
* Every append is one ``BEGIN IMMEDIATE`` transaction: taking the write lock up front means the
  stream version and the previous link read inside it cannot change before the insert, so
  appends are serialised across processes, positions are gap-free and commit in order.
* One connection per instance; an asyncio lock keeps coroutines of this process from
  interleaving statements on it (a read issued mid-append would otherwise see, or join, the
  unfinished transaction).
* Each awaited aiosqlite call is a round trip to its thread, and an append as above needs four
  (BEGIN, read the head, insert, COMMIT). So the log remembers the head it last wrote or read
  (position, link, and the stream's version) and first tries the append as **one** multi-row
  INSERT in autocommit mode: a single statement is its own atomic, durable transaction. If anyone
  appended since, position ``head + 1`` is taken (positions are gap-free) and the primary key
  rejects the whole statement; a stale stream version hits ``UNIQUE (stream, version)`` the same
  way. Either way nothing was written, the memory is dropped, and the append runs the careful
  path above, which re-reads everything under the write lock.
* Reads of the head (every read-after-write check of the API asks for it) go through a second,
  plain ``sqlite3`` connection in the caller's thread: the largest position is the last entry of
  the primary key, a few microseconds to read, and the round trip to aiosqlite's thread costs
  about ten times that. That connection never waits for a lock (``timeout=0``); when SQLite
  says busy, the head is read the usual way.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Final

import aiosqlite
import attrs

from adapters.private_files import ensure_private_file, make_private_directories
from adapters.storage.known_head import KnownHead
from adapters.storage.sql_common import (
    CHECKPOINT_SQL,
    ROW_WIDTH,
    SchemaTooNewError,
    append_head_sql,
    event_row,
    insert_events_sql,
    read_links_sql,
)
from eventstore.errors import ConfigError
from eventstore.hashchain import GENESIS, HashChain
from eventstore.log import (
    EVENT_COLUMNS,
    Checkpoint,
    NewEvent,
    RecordedEvent,
    Snapshot,
    WrongExpectedVersion,
    check_append,
    check_meta,
    check_read_all,
    check_read_stream,
    check_snapshot,
    records,
    utc_now,
)

# Migration steps, in order; step N brings ``PRAGMA user_version`` from N-1 to N. Released steps
# are history: never edit one, append a new step instead. ``IF NOT EXISTS`` keeps them idempotent.
MIGRATIONS: Final[tuple[tuple[str, ...], ...]] = (
    (
        """CREATE TABLE IF NOT EXISTS events (
            position INTEGER PRIMARY KEY,
            stream TEXT NOT NULL,
            version INTEGER NOT NULL,
            type TEXT NOT NULL,
            data BLOB NOT NULL,
            recorded_at INTEGER NOT NULL,
            link BLOB NOT NULL,
            UNIQUE (stream, version)
        )""",
        "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB NOT NULL)",
    ),
    (
        """CREATE TABLE IF NOT EXISTS snapshots (
            stream TEXT NOT NULL,
            version INTEGER NOT NULL,
            position INTEGER NOT NULL,
            state BLOB NOT NULL,
            PRIMARY KEY (stream, version)
        ) WITHOUT ROWID""",
    ),
    (
        """CREATE TABLE IF NOT EXISTS checkpoint (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            position INTEGER NOT NULL,
            link BLOB NOT NULL
        )""",
        """INSERT OR IGNORE INTO checkpoint (id, position, link)
            SELECT 1, COALESCE(MAX(position), 0), COALESCE(
                (SELECT link FROM events ORDER BY position DESC LIMIT 1), zeroblob(32))
            FROM events""",
        """CREATE TRIGGER IF NOT EXISTS events_move_checkpoint AFTER INSERT ON events
            BEGIN
                UPDATE checkpoint SET position = NEW.position, link = NEW.link
                WHERE id = 1 AND position < NEW.position;
            END""",
    ),
)
SCHEMA_VERSION: Final = len(MIGRATIONS)

# Everything an append must know, read in one statement inside its transaction.
_APPEND_HEAD_SQL: Final = append_head_sql("?")
_ROW: Final = "(" + ", ".join(["?"] * ROW_WIDTH) + ")"
_INSERT_SQL: Final = insert_events_sql([_ROW])
_READ_STREAM_SQL: Final = (
    f"SELECT {EVENT_COLUMNS} FROM events"
    " WHERE stream = ? AND version >= ? AND version <= ? ORDER BY version"
)
_READ_ALL_SQL: Final = (
    f"SELECT {EVENT_COLUMNS} FROM events WHERE position > ? ORDER BY position LIMIT ?"
)
_HEAD_SQL: Final = "SELECT COALESCE(MAX(position), 0) FROM events"
_MAX_INT: Final = 2**63 - 1
#: SQLite's default limit on host parameters is 999 (older builds) or 32766
_LINKS_PER_QUERY: Final = 900
# SQLite allows 32,766 parameters per statement; bigger appends take the transaction path.
_FAST_APPEND_MAX_EVENTS: Final = 32_766 // ROW_WIDTH


@attrs.frozen
class SqliteSettings:
    """The connection settings the guarantees rest on, as SQLite reports them (for ``doctor``)."""

    journal_mode: str
    synchronous: int
    busy_timeout_ms: int
    schema_version: int


class SqliteEventLog:
    """:class:`~eventstore.log.EventLog` on a SQLite file; create it with :meth:`open`."""

    #: the head checkpoint moves in the append's own transaction (VerifiedLog relies on it)
    checkpoint_in_append = True

    def __init__(
        self,
        connection: aiosqlite.Connection,
        chain: HashChain,
        clock: Callable[[], datetime],
        path: Path,
    ) -> None:
        self._connection = connection
        self._chain = chain
        self._clock = clock
        self._lock = asyncio.Lock()
        self._closed = False
        self._head = KnownHead(_FAST_APPEND_MAX_EVENTS)
        self._probe = _HeadProbe(path)

    @classmethod
    async def open(
        cls,
        path: Path,
        chain: HashChain,
        *,
        clock: Callable[[], datetime] = utc_now,
        busy_timeout: float = 5.0,
    ) -> SqliteEventLog:
        """Open (creating file, parent directories and schema as needed) and upgrade the schema.

        A new database file is created ``0600`` (its directories ``0700``) before SQLite opens
        it: it holds the encrypted secrets and the chain, and SQLite gives its ``-wal``,
        ``-shm`` and ``-journal`` files the database file's mode.
        """
        try:
            make_private_directories(path.parent)
            ensure_private_file(path)
        except OSError as error:
            reason = error.strerror or type(error).__name__
            raise ConfigError(f"cannot open the SQLite database {path}: {reason}") from None
        try:
            # first without aiosqlite: a connection it fails to open leaves its worker thread
            # to report into a closed event loop, a traceback after the one-line error
            sqlite3.connect(path).close()
        except sqlite3.Error as error:
            raise ConfigError(f"cannot open the SQLite database {path}: {error}") from None
        # isolation_level=None: the driver must not open transactions behind our back.
        connection = await aiosqlite.connect(path, timeout=busy_timeout, isolation_level=None)
        try:
            await _enable_wal(connection, path, busy_timeout)
            await connection.execute("PRAGMA synchronous = FULL")
            await _migrate(connection, path)
        except BaseException:
            await connection.close()
            raise
        return cls(connection, chain, clock, path)

    async def append(
        self, stream: str, expected_version: int, events: Sequence[NewEvent]
    ) -> Sequence[RecordedEvent]:
        check_append(stream, expected_version, events)
        async with self._lock:
            connection = self._open_connection()
            records = await self._append_at_known_head(connection, stream, expected_version, events)
            if records is None:
                records = await self._append_in_transaction(
                    connection, stream, expected_version, events
                )
            self._head.wrote(records)
        return tuple(records)

    async def _append_at_known_head(
        self,
        connection: aiosqlite.Connection,
        stream: str,
        expected_version: int,
        events: Sequence[NewEvent],
    ) -> list[RecordedEvent] | None:
        """The one-statement append (see the module docstring); None when it cannot be used."""
        records = self._head.seal(self._chain, stream, expected_version, events, self._clock)
        if records is None:
            return None
        parameters = [value for record in records for value in event_row(record)]
        try:
            await connection.execute(insert_events_sql([_ROW] * len(records)), parameters)
        except (sqlite3.IntegrityError, sqlite3.OperationalError) as error:
            self._head.forget()
            if isinstance(error, sqlite3.OperationalError) and not _is_busy(error):
                raise
            return None
        return records

    async def _append_in_transaction(
        self,
        connection: aiosqlite.Connection,
        stream: str,
        expected_version: int,
        events: Sequence[NewEvent],
    ) -> list[RecordedEvent]:
        """Read the head and insert under ``BEGIN IMMEDIATE``: right whatever this handle knows."""
        self._head.forget()
        await connection.execute("BEGIN IMMEDIATE")
        try:
            rows = await connection.execute_fetchall(_APPEND_HEAD_SQL, (stream,))
            actual, last_position, last_link = next(iter(rows))
            if actual != expected_version:
                raise WrongExpectedVersion(stream, expected_version, actual)
            records = self._chain.seal(
                GENESIS if last_link is None else last_link,
                stream,
                actual + 1,
                (last_position or 0) + 1,
                events,
                self._clock(),
            )
            await connection.executemany(_INSERT_SQL, [event_row(r) for r in records])
            await connection.execute("COMMIT")
        except sqlite3.IntegrityError as error:
            await connection.rollback()
            if error.sqlite_errorcode != sqlite3.SQLITE_CONSTRAINT_UNIQUE:
                raise
            # Only a writer bypassing BEGIN IMMEDIATE could get here; same meaning, though.
            actual = await self._stream_version(connection, stream)
            raise WrongExpectedVersion(stream, expected_version, actual) from error
        except BaseException:
            await connection.rollback()
            raise
        return records

    async def read_stream(
        self, stream: str, from_version: int = 1, to_version: int | None = None
    ) -> Sequence[RecordedEvent]:
        check_read_stream(stream, from_version)
        upper = _MAX_INT if to_version is None else to_version
        rows = await self._fetch(_READ_STREAM_SQL, (stream, from_version, upper))
        return records(rows)

    async def stream_version(self, stream: str) -> int:
        async with self._lock:
            return await self._stream_version(self._open_connection(), stream)

    async def read_all(
        self, after_position: int = 0, limit: int | None = None
    ) -> Sequence[RecordedEvent]:
        check_read_all(after_position, limit)
        rows = await self._fetch(_READ_ALL_SQL, (after_position, -1 if limit is None else limit))
        return records(rows)

    async def head_position(self) -> int:
        self._open_connection()
        head = self._probe.head()
        if head is None:
            rows = await self._fetch(_HEAD_SQL, ())
            head = int(rows[0][0])
        return head

    async def read_links(self, positions: Sequence[int]) -> Mapping[int, bytes]:
        wanted = sorted(set(positions))
        found: dict[int, bytes] = {}
        for start in range(0, len(wanted), _LINKS_PER_QUERY):
            chunk = wanted[start : start + _LINKS_PER_QUERY]
            rows = await self._fetch(read_links_sql(["?"] * len(chunk)), tuple(chunk))
            found.update((int(position), bytes(link)) for position, link in rows)
        return found

    async def read_checkpoint(self) -> Checkpoint | None:
        rows = await self._fetch(CHECKPOINT_SQL, ())
        return Checkpoint(int(rows[0][0]), bytes(rows[0][1])) if rows else None

    async def save_snapshot(self, snapshot: Snapshot) -> None:
        check_snapshot(snapshot)
        await self._write(
            "INSERT OR REPLACE INTO snapshots (stream, version, position, state)"
            " VALUES (?, ?, ?, ?)",
            (snapshot.stream, snapshot.version, snapshot.position, snapshot.state),
        )

    async def latest_snapshot(self, stream: str, max_version: int | None = None) -> Snapshot | None:
        rows = await self._fetch(
            "SELECT stream, version, position, state FROM snapshots"
            " WHERE stream = ? AND version <= ? ORDER BY version DESC LIMIT 1",
            (stream, _MAX_INT if max_version is None else max_version),
        )
        if not rows:
            return None
        stream_, version, position, state = rows[0]
        return Snapshot(stream_, version, position, bytes(state))

    async def read_meta(self, key: str) -> bytes | None:
        check_meta(key)
        rows = await self._fetch("SELECT value FROM meta WHERE key = ?", (key,))
        return bytes(rows[0][0]) if rows else None

    async def write_meta(self, key: str, value: bytes, *, only_if_absent: bool = False) -> bool:
        check_meta(key, value)
        verb = "INSERT OR IGNORE" if only_if_absent else "INSERT OR REPLACE"
        changed = await self._write(f"{verb} INTO meta (key, value) VALUES (?, ?)", (key, value))
        return changed == 1

    async def settings(self) -> SqliteSettings:
        """Ask SQLite rather than trusting what :meth:`open` asked for: a pragma can be ignored."""
        journal = await self._fetch("PRAGMA journal_mode", ())
        synchronous = await self._fetch("PRAGMA synchronous", ())
        busy = await self._fetch("PRAGMA busy_timeout", ())
        version = await self._fetch("PRAGMA user_version", ())
        return SqliteSettings(
            str(journal[0][0]), int(synchronous[0][0]), int(busy[0][0]), int(version[0][0])
        )

    async def close(self) -> None:
        async with self._lock:
            if not self._closed:
                self._closed = True
                self._probe.close()
                await self._connection.close()

    def _open_connection(self) -> aiosqlite.Connection:
        if self._closed:
            raise RuntimeError("the event log is closed")
        return self._connection

    async def _fetch(self, sql: str, parameters: tuple[Any, ...]) -> list[Any]:
        async with self._lock:
            return list(await self._open_connection().execute_fetchall(sql, parameters))

    async def _write(self, sql: str, parameters: tuple[Any, ...]) -> int:
        """Run one autocommit statement; returns the number of rows it changed."""
        async with self._lock:
            cursor = await self._open_connection().execute(sql, parameters)
            return cursor.rowcount

    @staticmethod
    async def _stream_version(connection: aiosqlite.Connection, stream: str) -> int:
        rows = await connection.execute_fetchall(
            "SELECT COALESCE(MAX(version), 0) FROM events WHERE stream = ?", (stream,)
        )
        return int(next(iter(rows))[0])


async def _enable_wal(connection: aiosqlite.Connection, path: Path, patience: float) -> None:
    """Switch the file to WAL, retrying while another opener holds it.

    Switching a fresh file needs an exclusive lock and SQLite does not run the busy handler for
    it, so processes starting together on a new file would otherwise fail at random.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + patience
    delay = 0.001
    while True:
        try:
            rows = await connection.execute_fetchall("PRAGMA journal_mode = WAL")
            mode = str(next(iter(rows))[0])
        except sqlite3.OperationalError as error:
            if error.sqlite_errorcode & 0xFF != sqlite3.SQLITE_BUSY:
                raise
            mode = "busy"
        if mode == "wal":
            return
        if loop.time() >= deadline:
            raise ConfigError(f"{path}: SQLite could not switch to WAL journaling (got {mode}).")
        await asyncio.sleep(delay)
        delay = min(delay * 2, 0.05)


async def _migrate(connection: aiosqlite.Connection, path: Path) -> None:
    """Apply missing steps one transaction each, re-reading the version under the write lock.

    Re-reading inside ``BEGIN IMMEDIATE`` makes it safe for several processes to open a fresh
    file at once: whoever comes second finds the step done and applies nothing. An up-to-date
    file is recognised without taking the write lock.
    """
    if await _user_version(connection) == SCHEMA_VERSION:
        return
    while True:
        await connection.execute("BEGIN IMMEDIATE")
        try:
            current = await _user_version(connection)
            if current > SCHEMA_VERSION:
                raise SchemaTooNewError(path, current, SCHEMA_VERSION)
            if current < SCHEMA_VERSION:
                for statement in MIGRATIONS[current]:
                    await connection.execute(statement)
                await connection.execute(f"PRAGMA user_version = {current + 1}")
            await connection.execute("COMMIT")
        except BaseException:
            await connection.rollback()
            raise
        if current + 1 >= SCHEMA_VERSION:
            return


class _HeadProbe:
    """Reads the head position without leaving the caller's thread.

    Opened on first use, read-only; any SQLite error (busy, a file being replaced) closes it and
    answers None, and the caller reads the head through the main connection instead.
    """

    def __init__(self, path: Path) -> None:
        self._path = path
        self._connection: sqlite3.Connection | None = None

    def head(self) -> int | None:
        try:
            if self._connection is None:
                uri = f"{self._path.resolve().as_uri()}?mode=ro"
                self._connection = sqlite3.connect(
                    uri,
                    uri=True,
                    timeout=0,
                    isolation_level=None,
                    # one statement at a time, from whichever thread runs the loop (a test
                    # client may run it in a thread of its own); SQLite serialises the rest
                    check_same_thread=False,
                )
            row = self._connection.execute(_HEAD_SQL).fetchone()
        except sqlite3.Error:
            self.close()
            return None
        return int(row[0])

    def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(sqlite3.Error):
                connection.close()


def _is_busy(error: sqlite3.OperationalError) -> bool:
    return error.sqlite_errorcode & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


async def _user_version(connection: aiosqlite.Connection) -> int:
    rows = await connection.execute_fetchall("PRAGMA user_version")
    return int(next(iter(rows))[0])
