"""A store read and changed behind the service's back, one class per backend: the SQL and MongoDB
queries the backend-neutral tests need stay here, out of the tests.

``raw_store(root, environ)`` picks the class the way the service picks its log (by
``STORAGE_ADAPTER``), so a test parametrized over ``support.storages.STORAGES`` asks the same
questions of every backend. Adding a backend is one entry there and one class here.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import closing, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from pymongo.database import Database

#: the tables (collections) every backend keeps
TABLES = ("events", "snapshots", "meta")


class RawStore(Protocol):
    def snapshot_versions(self) -> list[int]:
        """The versions the store keeps snapshots of."""
        ...

    def delete_snapshots(self) -> None:
        """Forget every snapshot, so the next open replays from the first event."""
        ...

    def contents(self) -> object:
        """Everything the store holds, comparable with ``==``: to show a write wrote nothing."""
        ...


def sqlite_file(root: Path) -> Path:
    """Where the service keeps its SQLite store under a project root (the default)."""
    return root / "runtime" / "data" / "parako.db"


class SqliteStore:
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

    def tamper(self, position: int, old: bytes, new: bytes) -> None:
        """Replace ``old`` with ``new`` in the stored data of the event at ``position``."""
        [(data,)] = self._rows("SELECT data FROM events WHERE position = ?", position)
        assert old in data, f"event {position} does not hold {old!r}"
        tampered = bytes(data).replace(old, new)
        self._rows("UPDATE events SET data = ? WHERE position = ?", tampered, position)


class PostgresStore:
    def __init__(self, url: str) -> None:
        self.url = url

    def _rows(self, sql: str) -> list[tuple[object, ...]]:
        import asyncpg

        from .pg_server import run_sync

        async def fetch() -> list[tuple[object, ...]]:
            connection = await asyncpg.connect(self.url)
            try:
                return [tuple(r) for r in await connection.fetch(sql)]
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


class MongoStore:
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


def raw_store(root: Path, environ: Mapping[str, str]) -> RawStore:
    """The store the service opens under ``root`` with ``environ``, for raw access."""
    adapter = environ.get("STORAGE_ADAPTER", "sqlite")
    if adapter == "postgresql":
        return PostgresStore(environ["STORAGE_POSTGRESQL_URL"])
    if adapter == "mongodb":
        return MongoStore(environ["STORAGE_MONGODB_URI"])
    assert adapter == "sqlite", f"no raw access to a {adapter!r} store"
    return SqliteStore(root)
