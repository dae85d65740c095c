"""PostgreSQL event log: one database shared by every process and host of an installation.

Why it is built this way:

* Positions are not taken from a sequence: sequence values are handed out at insert time but
  become visible at commit time, so a reader could see position 12 before 11 commits and skip
  11 for ever. Instead every append takes one transaction-level advisory lock, then reads the
  head and inserts ``max + 1``. The lock is held until COMMIT, so appends are serialised across
  processes, positions are gap-free and become visible in position order. An advisory lock
  rather than ``LOCK TABLE``: it needs no table privilege beyond the INSERT the append does
  anyway, and it does not block readers.
* Round trips: that append costs five (BEGIN, lock, head, INSERT, COMMIT). So each log remembers
  the head it last wrote (position, link, the stream's version) and first tries the append as
  one multi-row INSERT in autocommit, without the lock. Positions stay in commit order: position
  ``head + 1`` can only be computed by whoever has seen ``head`` committed, and if anyone
  appended since, ``head + 1`` is taken and the primary key rejects the whole statement (then
  the locked path runs, and it too treats a taken position as "someone was faster": read again).
* The append transaction is explicitly READ COMMITTED: each statement then sees what committed
  before it started, so the head read *after* taking the lock sees the previous append. Under a
  database default of REPEATABLE READ the snapshot would predate the lock and two appends could
  pick the same position.
* ``synchronous_commit=on`` is set per connection: a returned append must survive a crash even
  where the database default trades durability for speed.
* Migrations run under a session advisory lock, each step in its own transaction with the
  schema version re-read under the lock, so processes starting at once on an empty database
  apply every step exactly once.
* Connection loss (server restart, failover, idle connections killed by a proxy): reads and
  idempotent writes are retried once on a fresh connection. An append is retried once too, and
  this cannot double-append: the retry is still conditional on the expected version, and if the
  first attempt did commit (the connection died after COMMIT was sent) the retry, holding the
  append lock, finds exactly the records the first attempt sealed and returns them instead of
  reporting a conflict. See :meth:`PostgresEventLog.append`.
* The URL may hold a password. It is redacted from every message this module produces, and
  driver errors are never chained into ours (``from None``): a traceback must not carry it.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import re
import ssl
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import Final, TypeVar
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

import asyncpg
import attrs

from adapters.storage.known_head import KnownHead
from adapters.storage.redaction import (
    password_forms,
    quotes_a_piece,
    redact_url,
    scrub,
    url_secrets,
)
from adapters.storage.sql_common import (
    CHECKPOINT_SQL,
    ROW_WIDTH,
    SchemaTooNewError,
    append_head_sql,
    event_row,
    insert_events_sql,
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

T = TypeVar("T")

# Migration steps, in order; step N brings ``schema_version.version`` from N-1 to N. Released
# steps are history: never edit one, append a new step instead. ``IF NOT EXISTS`` keeps them
# idempotent, so a database whose tables an administrator created by hand still migrates.
MIGRATIONS: Final[tuple[tuple[str, ...], ...]] = (
    (
        """CREATE TABLE IF NOT EXISTS events (
            position bigint PRIMARY KEY,
            stream text NOT NULL,
            version bigint NOT NULL,
            type text NOT NULL,
            data bytea NOT NULL,
            recorded_at bigint NOT NULL,
            link bytea NOT NULL,
            CONSTRAINT events_stream_version_key UNIQUE (stream, version)
        )""",
        """CREATE TABLE IF NOT EXISTS snapshots (
            stream text NOT NULL,
            version bigint NOT NULL,
            position bigint NOT NULL,
            state bytea NOT NULL,
            PRIMARY KEY (stream, version)
        )""",
        "CREATE TABLE IF NOT EXISTS meta (key text PRIMARY KEY, value bytea NOT NULL)",
    ),
    (
        """CREATE TABLE IF NOT EXISTS checkpoint (
            id integer PRIMARY KEY CHECK (id = 1),
            position bigint NOT NULL,
            link bytea NOT NULL
        )""",
        """INSERT INTO checkpoint (id, position, link)
            SELECT 1, COALESCE(MAX(position), 0), COALESCE(
                (SELECT link FROM events ORDER BY position DESC LIMIT 1), '\\x'::bytea)
            FROM events
            ON CONFLICT (id) DO NOTHING""",
        """CREATE OR REPLACE FUNCTION parako_move_checkpoint() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
                UPDATE checkpoint SET position = NEW.position, link = NEW.link
                WHERE id = 1 AND position < NEW.position;
                RETURN NULL;
            END $$""",
        "DROP TRIGGER IF EXISTS events_move_checkpoint ON events",
        """CREATE TRIGGER events_move_checkpoint AFTER INSERT ON events
            FOR EACH ROW EXECUTE FUNCTION parako_move_checkpoint()""",
    ),
)
SCHEMA_VERSION: Final = len(MIGRATIONS)
SCHEMA_TABLE: Final = "schema_version"

# Advisory lock keys (database-wide, shared with any other application using advisory locks in
# the same database): fixed, arbitrary, and distinct so migration and appends never wait on
# each other by accident. They spell "parako-c" and "parako-a" in ASCII.
MIGRATION_LOCK: Final = 0x706172616B6F2D63
APPEND_LOCK: Final = 0x706172616B6F2D61

# Must be a separate statement from the lock: one statement's snapshot predates its own locks.
_APPEND_HEAD_SQL: Final = append_head_sql("$1")
# PostgreSQL takes at most 65,535 parameters per statement; bigger appends take the locked path
_FAST_APPEND_MAX_EVENTS: Final = 65_535 // ROW_WIDTH
_READ_STREAM_SQL: Final = (
    f"SELECT {EVENT_COLUMNS} FROM events"
    " WHERE stream = $1 AND version >= $2 AND version <= $3 ORDER BY version"
)
# LIMIT NULL means no limit in PostgreSQL.
_READ_ALL_SQL: Final = (
    f"SELECT {EVENT_COLUMNS} FROM events WHERE position > $1 ORDER BY position LIMIT $2"
)
_STREAM_VERSION_SQL: Final = "SELECT COALESCE(MAX(version), 0) FROM events WHERE stream = $1"
_MAX_INT: Final = 2**63 - 1

# The driver's view of "the connection is gone": worth one retry on a fresh connection.
_CONNECTION_LOST: Final[tuple[type[BaseException], ...]] = (
    asyncpg.PostgresConnectionError,  # includes "connection was closed in the middle of operation"
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.InterfaceError,  # "connection is closed" when a dead pooled connection is used
    OSError,  # refused, reset, broken pipe while the server restarts
    TimeoutError,
)
_SSL_MODES_ASKING: Final = frozenset({"require", "verify-ca", "verify-full"})
_SSL_TRUE: Final = frozenset({"true", "1", "yes", "on", "require"})


class _ConnectionLost(Exception):
    """Internal: one attempt lost its connection; ``error`` is what the driver raised."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(type(error).__name__)
        self.error = error


class StorageUnavailable(ConfigError):
    """PostgreSQL went away mid-operation and one retry on a fresh connection did not help."""


@attrs.frozen
class PostgresSettings:
    """What the server reports for the settings the guarantees rest on (for ``doctor``)."""

    server_version: str
    synchronous_commit: str
    fsync: str
    schema_version: int


@attrs.frozen
class _Target:
    """A parsed URL: what to hand asyncpg, and how to talk about it without the password."""

    dsn: str
    redacted: str
    password: str | None
    user: str
    database: str
    host: str
    ssl: ssl.SSLContext | None


def _scrub(text: str, password: str | None) -> str:
    """Remove the password from a message that may quote it (server or driver text)."""
    return scrub(text, password_forms(password))


def _parse_target(url: str, ssl_reject_unauthorized: bool) -> _Target:
    redacted = redact_url(url)
    if not isinstance(url, str) or not url.strip():
        raise ConfigError("STORAGE_POSTGRESQL_URL is empty")
    try:
        parts = urlsplit(url.strip())
        scheme = parts.scheme.lower()
        if scheme not in {"postgresql", "postgres"}:
            raise ValueError(f"the scheme must be postgresql:// (got {scheme or 'none'!r})")
        _ = parts.port  # raises ValueError for a non-numeric or out-of-range port
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
    except ValueError as error:
        raise ConfigError(
            f"STORAGE_POSTGRESQL_URL is malformed ({_malformed_detail(str(error), url, None)}): "
            f"{redacted}. Expected postgresql://user:password@host:port/database"
        ) from None
    password = parts.password or query.get("password")
    user = unquote(parts.username or query.get("user") or "")
    database = unquote(parts.path.lstrip("/")) or query.get("dbname") or user
    host = parts.hostname or query.get("host") or "localhost"
    context: ssl.SSLContext | None = None
    asks_ssl = (
        query.get("sslmode", "").lower() in _SSL_MODES_ASKING
        or query.get("ssl", "").lower() in _SSL_TRUE
    )
    if asks_ssl and not ssl_reject_unauthorized:
        # PG_SSL_REJECT_UNAUTHORIZED=false: encrypt, but accept any certificate (self-signed
        # servers). An explicit context wins over the URL's sslmode inside asyncpg.
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    dsn = url.strip()
    if "ssl" in query:
        # ``ssl=true`` is the node-postgres spelling; asyncpg only knows ``sslmode``.
        kept = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "ssl"]
        if context is None and query["ssl"].lower() in _SSL_TRUE and "sslmode" not in query:
            kept.append(("sslmode", "verify-full" if ssl_reject_unauthorized else "require"))
        dsn = urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(kept), parts.fragment))
    return _Target(dsn, redacted, password, user or "(default user)", database, host, context)


def _malformed_detail(text: str, url: str, password: str | None) -> str:
    """Why a parser refused ``url``, unless saying it would quote a piece of the password: an
    unescaped ``/``, ``@`` or ``:`` in a password ends the user-info early for the parser, which
    then quotes the rest of the password as host or port."""
    secrets = [*password_forms(password), *password_forms(_password_in(url)), *url_secrets(url)]
    scrubbed = scrub(text, sorted(set(secrets), key=len, reverse=True))
    if quotes_a_piece(scrubbed, secrets):
        return "its user-info cannot be read; percent-encode / ? # @ and : inside the password"
    return scrubbed


def _password_in(url: str) -> str | None:
    match = re.search(r"://[^:/@]*:([^@]*)@", url)
    if match:
        return match.group(1)
    match = re.search(r"(?i)password=([^&]*)", url)
    return match.group(1) if match else None


def _open_error(error: BaseException, target: _Target) -> ConfigError:
    """Turn a driver error met while opening into a message an operator can act on."""
    where = target.redacted
    detail = _scrub(str(error) or type(error).__name__, target.password)
    if isinstance(error, asyncpg.InvalidCatalogNameError):
        return ConfigError(
            f"PostgreSQL database {target.database!r} does not exist ({where}). Create it "
            f"(createdb {target.database}) or fix the database name in STORAGE_POSTGRESQL_URL"
        )
    if isinstance(error, asyncpg.InvalidAuthorizationSpecificationError):
        return ConfigError(
            f"PostgreSQL refused to authenticate user {target.user!r} ({where}): {detail}. "
            "Check the user and password in STORAGE_POSTGRESQL_URL and the server's pg_hba.conf"
        )
    if isinstance(error, asyncpg.InsufficientPrivilegeError):
        return ConfigError(
            f"PostgreSQL user {target.user!r} lacks a permission the event log needs "
            f"({where}): {detail}. On first start it needs CREATE on the schema (to create the "
            "tables events, snapshots, meta and schema_version); afterwards SELECT, INSERT and "
            "UPDATE on them. Grant those, or have an administrator create the tables"
        )
    if isinstance(error, asyncpg.exceptions.ClientConfigurationError | ValueError):
        detail = _malformed_detail(detail, target.dsn, target.password)
        return ConfigError(f"STORAGE_POSTGRESQL_URL is malformed ({detail}): {where}")
    if isinstance(error, _CONNECTION_LOST):
        return ConfigError(
            f"cannot connect to PostgreSQL at {target.host} ({where}): {detail}. Is the server "
            "running and reachable, and are host and port in STORAGE_POSTGRESQL_URL right?"
        )
    if isinstance(error, asyncpg.PostgresError):
        return ConfigError(f"PostgreSQL refused to open the event log ({where}): {detail}")
    return ConfigError(f"could not open the PostgreSQL event log ({where}): {detail}")


class PostgresEventLog:
    """:class:`~eventstore.log.EventLog` on a PostgreSQL database; create it with :meth:`open`.

    Longer than 300 lines on purpose: it is one backend of the port, like each of
    eventsourcing's recorders, and every method is a short statement plus the retry on a lost
    connection (:meth:`_retrying`) that all of them share; split up, each piece would need the
    pool, the target and the retry rules passed around again.
    """

    #: the head checkpoint moves in the append's own transaction (VerifiedLog relies on it)
    checkpoint_in_append = True

    def __init__(
        self,
        pool: asyncpg.Pool,
        target: _Target,
        chain: HashChain,
        clock: Callable[[], datetime],
    ) -> None:
        self._pool = pool
        self._target = target
        self._chain = chain
        self._clock = clock
        self._closed = False
        self._head = KnownHead(_FAST_APPEND_MAX_EVENTS)

    def __repr__(self) -> str:
        return f"PostgresEventLog({self._target.redacted})"

    @classmethod
    async def open(
        cls,
        url: str,
        chain: HashChain,
        *,
        ssl_reject_unauthorized: bool = True,
        clock: Callable[[], datetime] = utc_now,
        min_pool_size: int = 0,
        max_pool_size: int = 4,
        connect_timeout: float = 10.0,
    ) -> PostgresEventLog:
        """Connect a pool and bring the schema up to date; every failure is a ConfigError.

        The pool starts empty (``min_pool_size=0``): the migration's connection already surfaces
        any connection error here, and a pool floor would make asyncpg log a reconnect traceback
        on every attempt while the server is down. Released connections stay pooled anyway.
        """
        target = _parse_target(url, ssl_reject_unauthorized)
        pool: asyncpg.Pool | None = None
        try:
            pool = await asyncpg.create_pool(
                target.dsn,
                ssl=target.ssl,
                min_size=min_pool_size,
                max_size=max_pool_size,
                timeout=connect_timeout,
                server_settings={
                    "application_name": "parako-config",
                    "synchronous_commit": "on",
                },
            )
            async with pool.acquire() as connection:
                await _migrate(connection, target.redacted)
        except ConfigError:
            if pool is not None:
                await _terminate(pool)
            raise
        except (Exception, asyncio.CancelledError) as error:
            if pool is not None:
                await _terminate(pool)
            if isinstance(error, asyncio.CancelledError):
                raise
            raise _open_error(error, target) from None
        return cls(pool, target, chain, clock)

    # --- appending ----------------------------------------------------------------------------

    async def append(
        self, stream: str, expected_version: int, events: Sequence[NewEvent]
    ) -> Sequence[RecordedEvent]:
        """Append atomically; on connection loss retry once, never appending twice.

        Whether a lost connection committed is unknowable from the client when COMMIT was
        already sent. The retry settles it under the append lock, which the first attempt's
        backend holds until its transaction has ended either way: if the stream still stands
        at ``expected_version`` nothing was written and the retry appends; if it moved, and
        the events there are exactly the records the first attempt sealed (the links cover
        position, time and data, so nobody else can have produced them), those are returned;
        otherwise another writer won and it is a normal :class:`WrongExpectedVersion`.
        """
        check_append(stream, expected_version, events)
        sealed: list[list[RecordedEvent]] = []

        async def attempt(connection: asyncpg.Connection) -> Sequence[RecordedEvent]:
            if sealed:
                # a retry after a lost connection: only the locked path can tell whether the
                # first attempt committed, by finding exactly the records it sealed
                self._head.forget()
            records = await self._append_at_known_head(
                connection, stream, expected_version, events, sealed
            )
            if records is None:
                records = await self._append_on(
                    connection, stream, expected_version, events, sealed
                )
            self._head.wrote(records)
            return records

        return await self._retrying(
            attempt, "the append may or may not have been recorded; read the stream to find out"
        )

    async def _append_at_known_head(
        self,
        connection: asyncpg.Connection,
        stream: str,
        expected_version: int,
        events: Sequence[NewEvent],
        sealed: list[list[RecordedEvent]],
    ) -> Sequence[RecordedEvent] | None:
        """The one-statement append (module docstring); None when it cannot be used."""
        records = self._head.seal(self._chain, stream, expected_version, events, self._clock)
        if records is None:
            return None
        sealed.append(records)
        parameters = [value for record in records for value in event_row(record)]
        try:
            await connection.execute(_insert_rows_sql(len(records)), *parameters)
        except asyncpg.UniqueViolationError:
            self._head.forget()  # someone appended since: nothing was written
            return None
        return tuple(records)

    async def _append_on(
        self,
        connection: asyncpg.Connection,
        stream: str,
        expected_version: int,
        events: Sequence[NewEvent],
        sealed: list[list[RecordedEvent]],
    ) -> Sequence[RecordedEvent]:
        try:
            async with connection.transaction(isolation="read_committed"):
                await connection.execute("SELECT pg_advisory_xact_lock($1)", APPEND_LOCK)
                row = await connection.fetchrow(_APPEND_HEAD_SQL, stream)
                assert row is not None
                actual, last_position, last_link = row[0], row[1], row[2]
                if actual != expected_version:
                    earlier = await self._committed_earlier(connection, sealed)
                    if earlier is not None:
                        return earlier
                    raise WrongExpectedVersion(stream, expected_version, actual)
                records = self._chain.seal(
                    GENESIS if last_link is None else bytes(last_link),
                    stream,
                    actual + 1,
                    (last_position or 0) + 1,
                    events,
                    self._clock(),
                )
                sealed.append(records)
                await connection.executemany(_insert_rows_sql(1), [event_row(r) for r in records])
        except asyncpg.UniqueViolationError as error:
            # a writer on the lock-free path took the position or version meanwhile
            actual = await connection.fetchval(_STREAM_VERSION_SQL, stream)
            if error.constraint_name == "events_stream_version_key" or actual != expected_version:
                raise WrongExpectedVersion(stream, expected_version, actual) from None
            return await self._append_on(connection, stream, expected_version, events, sealed)
        return tuple(records)

    @staticmethod
    async def _committed_earlier(
        connection: asyncpg.Connection, sealed: list[list[RecordedEvent]]
    ) -> Sequence[RecordedEvent] | None:
        """The first attempt's records, if that attempt committed before its connection died."""
        if not sealed:
            return None
        mine = sealed[-1]
        rows = await connection.fetch(
            _READ_STREAM_SQL, mine[0].stream, mine[0].version, mine[-1].version
        )
        stored = list(records(rows))
        return tuple(stored) if stored == mine else None

    # --- reading ------------------------------------------------------------------------------

    async def read_stream(
        self, stream: str, from_version: int = 1, to_version: int | None = None
    ) -> Sequence[RecordedEvent]:
        check_read_stream(stream, from_version)
        upper = _MAX_INT if to_version is None else to_version
        rows = await self._retrying(
            lambda c: c.fetch(_READ_STREAM_SQL, stream, from_version, upper)
        )
        return records(rows)

    async def stream_version(self, stream: str) -> int:
        value = await self._retrying(lambda c: c.fetchval(_STREAM_VERSION_SQL, stream))
        return int(value)

    async def read_all(
        self, after_position: int = 0, limit: int | None = None
    ) -> Sequence[RecordedEvent]:
        check_read_all(after_position, limit)
        rows = await self._retrying(lambda c: c.fetch(_READ_ALL_SQL, after_position, limit))
        return records(rows)

    async def head_position(self) -> int:
        value = await self._retrying(
            lambda c: c.fetchval("SELECT COALESCE(MAX(position), 0) FROM events")
        )
        return int(value)

    async def read_links(self, positions: Sequence[int]) -> Mapping[int, bytes]:
        wanted = sorted(set(positions))
        rows = await self._retrying(
            lambda c: c.fetch(
                "SELECT position, link FROM events WHERE position = ANY($1::bigint[])", wanted
            )
        )
        return {int(row[0]): bytes(row[1]) for row in rows}

    async def read_checkpoint(self) -> Checkpoint | None:
        row = await self._retrying(lambda c: c.fetchrow(CHECKPOINT_SQL))
        return None if row is None else Checkpoint(int(row[0]), bytes(row[1]))

    # --- snapshots and meta (idempotent writes: a retry cannot do harm) ------------------------

    async def save_snapshot(self, snapshot: Snapshot) -> None:
        check_snapshot(snapshot)
        await self._retrying(
            lambda c: c.execute(
                "INSERT INTO snapshots (stream, version, position, state) VALUES ($1, $2, $3, $4)"
                " ON CONFLICT (stream, version)"
                " DO UPDATE SET position = EXCLUDED.position, state = EXCLUDED.state",
                snapshot.stream,
                snapshot.version,
                snapshot.position,
                snapshot.state,
            )
        )

    async def latest_snapshot(self, stream: str, max_version: int | None = None) -> Snapshot | None:
        row = await self._retrying(
            lambda c: c.fetchrow(
                "SELECT stream, version, position, state FROM snapshots"
                " WHERE stream = $1 AND version <= $2 ORDER BY version DESC LIMIT 1",
                stream,
                _MAX_INT if max_version is None else max_version,
            )
        )
        if row is None:
            return None
        return Snapshot(row[0], row[1], row[2], bytes(row[3]))

    async def read_meta(self, key: str) -> bytes | None:
        check_meta(key)
        value = await self._retrying(
            lambda c: c.fetchval("SELECT value FROM meta WHERE key = $1", key)
        )
        return None if value is None else bytes(value)

    async def write_meta(self, key: str, value: bytes, *, only_if_absent: bool = False) -> bool:
        """Write one meta entry; ``only_if_absent`` makes exactly one concurrent caller win.

        A retried ``only_if_absent`` write that finds the key already holding ``value`` reports
        success: the first attempt may have committed before the connection died, and if
        another writer stored the same bytes the outcome is indistinguishable anyway.
        """
        check_meta(key, value)
        if not only_if_absent:
            await self._retrying(
                lambda c: c.execute(
                    "INSERT INTO meta (key, value) VALUES ($1, $2)"
                    " ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
                    key,
                    value,
                )
            )
            return True
        attempts = 0

        async def insert(connection: asyncpg.Connection) -> bool:
            nonlocal attempts
            attempts += 1
            status = await connection.execute(
                "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
                key,
                value,
            )
            if status.endswith(" 1"):
                return True
            if attempts == 1:
                return False
            stored = await connection.fetchval("SELECT value FROM meta WHERE key = $1", key)
            return stored is not None and bytes(stored) == value

        return await self._retrying(insert)

    # --- lifecycle ----------------------------------------------------------------------------

    async def settings(self) -> PostgresSettings:
        """Ask the server rather than trusting what :meth:`open` asked for."""

        async def query(connection: asyncpg.Connection) -> PostgresSettings:
            version = await connection.fetchval("SHOW server_version")
            synchronous = await connection.fetchval("SHOW synchronous_commit")
            fsync = await connection.fetchval("SHOW fsync")
            schema = await _schema_version(connection)
            return PostgresSettings(str(version), str(synchronous), str(fsync), schema or 0)

        return await self._retrying(query)

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            try:
                await asyncio.wait_for(self._pool.close(), timeout=10)
            except _CONNECTION_LOST:  # includes TimeoutError
                self._pool.terminate()

    # --- helpers ------------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("the event log is closed")

    async def _retrying(
        self,
        operation: Callable[[asyncpg.Connection], Awaitable[T]],
        advice: str = "try again when the server is back",
    ) -> T:
        """Run ``operation`` on a pooled connection, once more on a fresh one if it was lost.

        After a server restart every pooled connection is dead; expiring them all on the first
        failure makes the retry (and the calls after it) reconnect instead of failing one by one.
        """
        self._check_open()
        try:
            return await self._attempt(operation)
        except _ConnectionLost:
            await self._pool.expire_connections()
        self._check_open()
        try:
            return await self._attempt(operation)
        except _ConnectionLost as lost:
            await self._pool.expire_connections()
            raise self._unavailable(lost.error, advice) from None

    async def _attempt(self, operation: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
        """One try; any failure that leaves the connection dead becomes :class:`_ConnectionLost`.

        Checking the connection as well as the error type matters: a connection killed in the
        middle of a statement can surface as a driver-internal error rather than a network one.
        For the same reason a failed release must not replace the operation's own outcome: the
        pool terminates a connection it cannot reset, and the next acquire replaces it.
        """
        try:
            connection = await self._pool.acquire()
        except _CONNECTION_LOST as error:
            raise _ConnectionLost(error) from None
        try:
            try:
                return await operation(connection)
            except _CONNECTION_LOST as error:
                raise _ConnectionLost(error) from None
            except Exception as error:
                if connection.is_closed():
                    raise _ConnectionLost(error) from None
                raise
        finally:
            # a failed release means the pool already terminated the connection
            with contextlib.suppress(Exception):
                await self._pool.release(connection)

    def _unavailable(self, error: BaseException, advice: str) -> StorageUnavailable:
        detail = _scrub(str(error) or type(error).__name__, self._target.password)
        return StorageUnavailable(
            f"lost the connection to PostgreSQL ({self._target.redacted}) and could not "
            f"reconnect: {detail}; {advice}"
        )


async def _terminate(pool: asyncpg.Pool) -> None:
    try:
        await asyncio.wait_for(pool.close(), timeout=5)
    except (Exception, asyncio.CancelledError):
        pool.terminate()


async def _schema_version(connection: asyncpg.Connection) -> int | None:
    """The recorded schema version, or None when the version table does not exist yet."""
    exists = await connection.fetchval("SELECT to_regclass($1) IS NOT NULL", SCHEMA_TABLE)
    if not exists:
        return None
    value = await connection.fetchval(f"SELECT max(version) FROM {SCHEMA_TABLE}")
    return None if value is None else int(value)


async def _migrate(connection: asyncpg.Connection, where: str) -> None:
    """Apply missing steps, one transaction each, under a session advisory lock.

    An up-to-date database is recognised without the lock and without any DDL, so a role that
    only has SELECT/INSERT/UPDATE on pre-created tables can open it (even ``CREATE TABLE IF NOT
    EXISTS`` needs CREATE on the schema).
    """
    current = await _schema_version(connection)
    if current is not None and current > SCHEMA_VERSION:
        raise SchemaTooNewError(where, current, SCHEMA_VERSION)
    if current == SCHEMA_VERSION:
        return
    await connection.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
    try:
        await connection.execute(
            f"CREATE TABLE IF NOT EXISTS {SCHEMA_TABLE} ("
            " id boolean PRIMARY KEY DEFAULT true CHECK (id),"
            " version integer NOT NULL)"
        )
        while True:
            async with connection.transaction():
                current = await _schema_version(connection) or 0
                if current > SCHEMA_VERSION:
                    raise SchemaTooNewError(where, current, SCHEMA_VERSION)
                if current == SCHEMA_VERSION:
                    return
                for statement in MIGRATIONS[current]:
                    await connection.execute(statement)
                await connection.execute(
                    f"INSERT INTO {SCHEMA_TABLE} (id, version) VALUES (true, $1)"
                    " ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version",
                    current + 1,
                )
    finally:
        if not connection.is_closed():
            await connection.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK)


@functools.cache
def _insert_rows_sql(count: int) -> str:
    """One INSERT of ``count`` rows, numbered placeholders (cached: appends repeat sizes)."""
    numbered = (
        ", ".join(f"${ROW_WIDTH * row + column}" for column in range(1, ROW_WIDTH + 1))
        for row in range(count)
    )
    return insert_events_sql(f"({placeholders})" for placeholders in numbered)
