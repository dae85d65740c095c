"""A store read and changed behind the service's back, one class per backend: the SQL and MongoDB
queries the backend-neutral tests need stay here, out of the tests.

``raw_store(root, environ)`` picks the class the way the service picks its log (by
``STORAGE_ADAPTER``), so a test parametrized over ``support.storages.STORAGES`` asks the same
questions of every backend. Adding a backend is one entry there and one class here.

The tamper API plays an attacker with write access to the database but without the chain key.
Each backend supplies a handful of primitives (read the events, rewrite, delete or insert one,
read and move the head checkpoint, read and rewrite a snapshot's stored state); the attacks of
``tests/test_tamper_matrix.py`` are built from them once, in :class:`RawStore`, so every
backend suffers exactly the same edits.
"""

from __future__ import annotations

import json
import sqlite3
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import attrs

if TYPE_CHECKING:
    from pymongo.database import Database

#: the tables (collections) every backend keeps
TABLES = ("events", "snapshots", "meta")
#: what a sealed snapshot's state starts with: magic, MAC and link (``eventstore.integrity``)
SEAL_HEADER: Final = 4 + 32 + 32
#: the columns of a stored event, in the order of :class:`RawEvent`
_COLUMNS: Final = "position, stream, version, type, data, recorded_at, link"


@attrs.frozen
class RawEvent:
    """One event as the database holds it (``recorded_at`` in microseconds since the epoch)."""

    position: int
    stream: str
    version: int
    type: str
    data: bytes
    recorded_at: int
    link: bytes


@attrs.frozen
class RawLog:
    """The events and the head checkpoint: compared before and after to show nothing was
    appended (snapshots and meta are left out: they are not the log)."""

    events: tuple[RawEvent, ...]
    checkpoint: tuple[int, bytes] | None


def flip_bit(value: bytes, index: int) -> bytes:
    """``value`` with one bit of the byte at ``index`` flipped."""
    return value[:index] + bytes([value[index] ^ 1]) + value[index + 1 :]


class RawStore(ABC):
    """Raw access to one backend's store: inspection, and the attacks built on its primitives."""

    @abstractmethod
    def snapshot_versions(self) -> list[int]:
        """The versions the store keeps snapshots of."""

    @abstractmethod
    def delete_snapshots(self) -> None:
        """Forget every snapshot, so the next open replays from the first event."""

    @abstractmethod
    def contents(self) -> object:
        """Everything the store holds, comparable with ``==``: to show a write wrote nothing."""

    # --- primitives, per backend -------------------------------------------------------------

    @abstractmethod
    def events(self) -> list[RawEvent]:
        """Every stored event, in position order."""

    @abstractmethod
    def replace_event(self, event: RawEvent) -> None:
        """Overwrite the stored event at ``event.position`` with ``event``."""

    @abstractmethod
    def delete_event(self, position: int) -> None:
        """Remove the event at ``position`` (nothing else moves)."""

    @abstractmethod
    def insert_event(self, event: RawEvent) -> None:
        """Store ``event`` as a new row (MongoDB: a batch document of its own)."""

    @abstractmethod
    def checkpoint(self) -> tuple[int, bytes] | None:
        """The head checkpoint: (position, link)."""

    @abstractmethod
    def set_checkpoint(self, position: int, link: bytes) -> None:
        """Point the head checkpoint at ``position`` with ``link``."""

    @abstractmethod
    def snapshot_state(self, stream: str, version: int) -> bytes:
        """The stored (sealed) state of a snapshot."""

    @abstractmethod
    def set_snapshot_state(self, stream: str, version: int, state: bytes) -> None:
        """Overwrite the stored state of a snapshot."""

    # --- inspection ----------------------------------------------------------------------------

    def log(self) -> RawLog:
        return RawLog(tuple(self.events()), self.checkpoint())

    def event(self, position: int) -> RawEvent:
        [found] = [e for e in self.events() if e.position == position]
        return found

    def positions(self, stream: str | None = None) -> list[int]:
        return [e.position for e in self.events() if stream is None or e.stream == stream]

    # --- attacks -------------------------------------------------------------------------------

    def tamper(self, position: int, old: bytes, new: bytes) -> None:
        """Replace ``old`` with ``new`` in the stored data of the event at ``position``."""
        event = self.event(position)
        assert old in event.data, f"event {position} does not hold {old!r}"
        self.replace_event(attrs.evolve(event, data=event.data.replace(old, new, 1)))

    def edit_data_byte(self, position: int, old: bytes, new: bytes) -> None:
        """Change one byte of the event's data: the first ``old`` becomes ``new``, which differs
        from it in exactly one byte (the context around it keeps the edit where it is meant to
        be, and chosen well, the data stays valid JSON)."""
        differ = [i for i, (a, b) in enumerate(zip(old, new, strict=True)) if a != b]
        assert len(differ) == 1, f"{old!r} -> {new!r} is not a one-byte edit"
        self.tamper(position, old, new)

    def edit_link_byte(self, position: int, index: int = 0) -> None:
        """Flip one bit of one byte of the event's stored link."""
        event = self.event(position)
        self.replace_event(attrs.evolve(event, link=flip_bit(event.link, index)))

    def delete_events(self, *positions: int) -> None:
        for position in positions:
            self.delete_event(position)

    def delete_newest(self, count: int) -> list[int]:
        """Delete the ``count`` newest events (the checkpoint is left as it was)."""
        gone = self.positions()[-count:]
        self.delete_events(*gone)
        return gone

    def swap_data(self, first: int, second: int) -> None:
        """Reorder: each of the two events gets the other's type and data."""
        a, b = self.event(first), self.event(second)
        self.replace_event(attrs.evolve(a, type=b.type, data=b.data))
        self.replace_event(attrs.evolve(b, type=a.type, data=a.data))

    def forge_event(self, stream: str, type_: str, data: bytes, link: bytes) -> RawEvent:
        """Append an event nobody wrote: next position, next version of ``stream``, the
        timestamp of the newest event, a made-up ``link``; the checkpoint is moved onto it
        (the SQL backends' trigger does that by itself), as a careful forger would."""
        stored = self.events()
        newest = stored[-1]
        version = 1 + max((e.version for e in stored if e.stream == stream), default=0)
        forged = RawEvent(
            newest.position + 1, stream, version, type_, data, newest.recorded_at, link
        )
        self.insert_event(forged)
        self.set_checkpoint(forged.position, forged.link)
        return forged

    def edit_snapshot_document(
        self, stream: str, version: int, edit: Callable[[dict[str, Any]], None]
    ) -> None:
        """Rewrite the document a snapshot holds, keeping its seal header as it was."""
        state = self.snapshot_state(stream, version)
        header, document = state[:SEAL_HEADER], json.loads(state[SEAL_HEADER:])
        edit(document)
        edited = json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
        self.set_snapshot_state(stream, version, header + edited)

    def roll_back(self, count: int = 1) -> list[int]:
        """Delete the ``count`` newest events and move the checkpoint back onto the event that
        is now the newest: a truncation the log itself can no longer show."""
        gone = self.delete_newest(count)
        newest = self.events()[-1]
        self.set_checkpoint(newest.position, newest.link)
        return gone


def sqlite_file(root: Path) -> Path:
    """Where the service keeps its SQLite store under a project root (the default)."""
    return root / "runtime" / "data" / "parako.db"


class SqliteStore(RawStore):
    def __init__(self, root: Path) -> None:
        self.path = sqlite_file(root)

    def _rows(self, sql: str, *parameters: object) -> list[tuple[Any, ...]]:
        with closing(sqlite3.connect(self.path)) as db, db:  # commits on leaving the block
            return list(db.execute(sql, parameters).fetchall())

    def snapshot_versions(self) -> list[int]:
        return [int(v) for (v,) in self._rows("SELECT version FROM snapshots ORDER BY version")]

    def delete_snapshots(self) -> None:
        self._rows("DELETE FROM snapshots")

    def contents(self) -> dict[str, bytes]:
        """The bytes of every file (the database, its WAL and shared memory)."""
        return {p.name: p.read_bytes() for p in self.path.parent.iterdir()}

    def events(self) -> list[RawEvent]:
        rows = self._rows(f"SELECT {_COLUMNS} FROM events ORDER BY position")
        return [_raw_event(row) for row in rows]

    def replace_event(self, event: RawEvent) -> None:
        self._rows(
            "UPDATE events SET stream = ?, version = ?, type = ?, data = ?, recorded_at = ?,"
            " link = ? WHERE position = ?",
            *attrs.astuple(event)[1:],
            event.position,
        )

    def delete_event(self, position: int) -> None:
        self._rows("DELETE FROM events WHERE position = ?", position)

    def insert_event(self, event: RawEvent) -> None:
        self._rows(
            f"INSERT INTO events ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)", *attrs.astuple(event)
        )

    def checkpoint(self) -> tuple[int, bytes] | None:
        rows = self._rows("SELECT position, link FROM checkpoint WHERE id = 1")
        return (int(rows[0][0]), bytes(rows[0][1])) if rows else None

    def set_checkpoint(self, position: int, link: bytes) -> None:
        self._rows("UPDATE checkpoint SET position = ?, link = ? WHERE id = 1", position, link)

    def snapshot_state(self, stream: str, version: int) -> bytes:
        [(state,)] = self._rows(
            "SELECT state FROM snapshots WHERE stream = ? AND version = ?", stream, version
        )
        return bytes(state)

    def set_snapshot_state(self, stream: str, version: int, state: bytes) -> None:
        self._rows(
            "UPDATE snapshots SET state = ? WHERE stream = ? AND version = ?",
            state,
            stream,
            version,
        )


class PostgresStore(RawStore):
    def __init__(self, url: str) -> None:
        self.url = url

    def _rows(self, sql: str, *parameters: object) -> list[tuple[Any, ...]]:
        import asyncpg

        from .pg_server import run_sync

        async def fetch() -> list[tuple[Any, ...]]:
            connection = await asyncpg.connect(self.url)
            try:
                return [tuple(r) for r in await connection.fetch(sql, *parameters)]
            finally:
                await connection.close()

        return run_sync(fetch())

    def snapshot_versions(self) -> list[int]:
        rows = self._rows("SELECT version FROM snapshots ORDER BY version")
        return [int(str(v)) for (v,) in rows]

    def delete_snapshots(self) -> None:
        self._rows("DELETE FROM snapshots")

    def contents(self) -> list[list[tuple[object, ...]]]:
        return [self._rows(f"SELECT * FROM {table} ORDER BY 1, 2") for table in TABLES]

    def events(self) -> list[RawEvent]:
        rows = self._rows(f"SELECT {_COLUMNS} FROM events ORDER BY position")
        return [_raw_event(row) for row in rows]

    def replace_event(self, event: RawEvent) -> None:
        self._rows(
            "UPDATE events SET stream = $1, version = $2, type = $3, data = $4,"
            " recorded_at = $5, link = $6 WHERE position = $7",
            *attrs.astuple(event)[1:],
            event.position,
        )

    def delete_event(self, position: int) -> None:
        self._rows("DELETE FROM events WHERE position = $1", position)

    def insert_event(self, event: RawEvent) -> None:
        self._rows(
            f"INSERT INTO events ({_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            *attrs.astuple(event),
        )

    def checkpoint(self) -> tuple[int, bytes] | None:
        rows = self._rows("SELECT position, link FROM checkpoint WHERE id = 1")
        return (int(rows[0][0]), bytes(rows[0][1])) if rows else None

    def set_checkpoint(self, position: int, link: bytes) -> None:
        self._rows("UPDATE checkpoint SET position = $1, link = $2 WHERE id = 1", position, link)

    def snapshot_state(self, stream: str, version: int) -> bytes:
        [(state,)] = self._rows(
            "SELECT state FROM snapshots WHERE stream = $1 AND version = $2", stream, version
        )
        return bytes(state)

    def set_snapshot_state(self, stream: str, version: int, state: bytes) -> None:
        self._rows(
            "UPDATE snapshots SET state = $1 WHERE stream = $2 AND version = $3",
            state,
            stream,
            version,
        )


class MongoStore(RawStore):
    """Events live in batch documents (one per append, ``_id`` = first position): the
    primitives read and rewrite whole batches, as an attacker with a shell would."""

    CHECKPOINT: Final = "head-checkpoint"

    def __init__(self, uri: str) -> None:
        self.uri = uri

    @contextmanager
    def _database(self) -> Iterator[Database[dict[str, Any]]]:
        from pymongo import MongoClient

        client: MongoClient[dict[str, Any]] = MongoClient(self.uri)
        with client:
            yield client.get_default_database()

    def snapshot_versions(self) -> list[int]:
        with self._database() as database:
            return sorted(int(d["version"]) for d in database["snapshots"].find({}))

    def delete_snapshots(self) -> None:
        with self._database() as database:
            database["snapshots"].delete_many({})

    def contents(self) -> dict[str, list[str]]:
        with self._database() as database:
            return {name: sorted(map(repr, database[name].find({}))) for name in TABLES}

    def _batches(self, database: Database[dict[str, Any]]) -> list[dict[str, Any]]:
        # sorted here: the nx-27017 emulator sorts integer ``_id`` values as text
        return sorted(database["events"].find({}), key=lambda batch: int(batch["last_position"]))

    def events(self) -> list[RawEvent]:
        with self._database() as database:
            return [
                RawEvent(
                    int(stored["position"]),
                    str(batch["stream"]),
                    int(stored["version"]),
                    str(stored["type"]),
                    bytes(stored["data"]),
                    int(stored["recorded_at"]),
                    bytes(stored["link"]),
                )
                for batch in self._batches(database)
                for stored in batch["events"]
            ]

    def _rewrite_batch(self, position: int, change: Callable[[list[RawEvent]], None]) -> None:
        """Replace the batch holding ``position`` by ``change`` applied to its events."""
        with self._database() as database:
            [batch] = [
                b
                for b in self._batches(database)
                if int(b["_id"]) <= position <= int(b["last_position"])
            ]
        events = [
            e
            for e in self.events()
            if int(batch["_id"]) <= e.position <= int(batch["last_position"])
        ]
        change(events)
        with self._database() as database:
            database["events"].delete_one({"_id": batch["_id"]})
            if events:
                database["events"].insert_one(_batch_document(events))

    def replace_event(self, event: RawEvent) -> None:
        def change(events: list[RawEvent]) -> None:
            events[:] = [event if e.position == event.position else e for e in events]

        self._rewrite_batch(event.position, change)

    def delete_event(self, position: int) -> None:
        def change(events: list[RawEvent]) -> None:
            events[:] = [e for e in events if e.position != position]

        self._rewrite_batch(position, change)

    def insert_event(self, event: RawEvent) -> None:
        with self._database() as database:
            database["events"].insert_one(_batch_document([event]))

    def checkpoint(self) -> tuple[int, bytes] | None:
        with self._database() as database:
            found = database["meta"].find_one({"_id": self.CHECKPOINT})
        return None if found is None else (int(found["position"]), bytes(found["link"]))

    def set_checkpoint(self, position: int, link: bytes) -> None:
        from bson.binary import Binary

        with self._database() as database:
            database["meta"].update_one(
                {"_id": self.CHECKPOINT},
                {"$set": {"position": position, "link": Binary(link)}},
                upsert=True,
            )

    def snapshot_state(self, stream: str, version: int) -> bytes:
        with self._database() as database:
            found = database["snapshots"].find_one({"stream": stream, "version": version})
        assert found is not None, f"no snapshot of {stream} at version {version}"
        return bytes(found["state"])

    def set_snapshot_state(self, stream: str, version: int, state: bytes) -> None:
        from bson.binary import Binary

        with self._database() as database:
            database["snapshots"].update_one(
                {"stream": stream, "version": version}, {"$set": {"state": Binary(state)}}
            )


def _raw_event(row: Sequence[Any]) -> RawEvent:
    position, stream, version, type_, data, recorded_at, link = row
    return RawEvent(
        int(position),
        str(stream),
        int(version),
        str(type_),
        bytes(data),
        int(recorded_at),
        bytes(link),
    )


def _batch_document(events: Sequence[RawEvent]) -> dict[str, Any]:
    """A batch document as ``adapters.storage.mongo`` writes one."""
    from bson.binary import Binary

    first, last = events[0], events[-1]
    return {
        "_id": first.position,
        "last_position": last.position,
        "stream": first.stream,
        "first_version": first.version,
        "last_version": last.version,
        "events": [
            {
                "version": e.version,
                "position": e.position,
                "type": e.type,
                "data": Binary(e.data),
                "recorded_at": e.recorded_at,
                "link": Binary(e.link),
            }
            for e in events
        ],
    }


def raw_store(root: Path, environ: Mapping[str, str]) -> RawStore:
    """The store the service opens under ``root`` with ``environ``, for raw access."""
    adapter = environ.get("STORAGE_ADAPTER", "sqlite")
    if adapter == "postgresql":
        return PostgresStore(environ["STORAGE_POSTGRESQL_URL"])
    if adapter == "mongodb":
        return MongoStore(environ["STORAGE_MONGODB_URI"])
    assert adapter == "sqlite", f"no raw access to a {adapter!r} store"
    return SqliteStore(root)
