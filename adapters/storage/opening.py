"""Opening the event log named by ``STORAGE_ADAPTER``: one opener per adapter, in one table.

Each opener imports its driver when it runs, not when this module is imported, so a SQLite
installation never loads asyncpg or pymongo (nor needs them installed). Adding an adapter is
one opener and one table entry; the names accepted here are the ones the schema allows for
``storage.adapter``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Final

from adapters.sources.layers import Sources
from eventstore.errors import ConfigError
from eventstore.hashchain import HashChain
from eventstore.log import EventLog

Opener = Callable[[Sources, HashChain], Awaitable[EventLog]]

DEFAULT_ADAPTER: Final = "sqlite"
DEFAULT_SQLITE_PATH: Final = "./runtime/data/parako.db"


async def open_log(sources: Sources, chain: HashChain) -> EventLog:
    """The event log named by ``STORAGE_ADAPTER``, opened and migrated."""
    adapter = sources.bootstrap.overrides.get("storage.adapter", DEFAULT_ADAPTER)
    opener = OPENERS.get(adapter)
    if opener is None:
        accepted = ", ".join(sorted(OPENERS))
        raise ConfigError(
            f"STORAGE_ADAPTER={adapter} is not a storage adapter; use one of {accepted}"
        )
    return await opener(sources, chain)


async def _open_postgresql(sources: Sources, chain: HashChain) -> EventLog:
    from adapters.storage.postgres import PostgresEventLog

    url = sources.bootstrap.overrides.get("storage.postgresql.url")
    if not url:
        raise ConfigError("STORAGE_ADAPTER=postgresql needs STORAGE_POSTGRESQL_URL")
    environ = sources.bootstrap.environ
    reject = environ.get("PG_SSL_REJECT_UNAUTHORIZED", "true").strip().lower() != "false"
    return await PostgresEventLog.open(str(url), chain, ssl_reject_unauthorized=reject)


async def _open_mongodb(sources: Sources, chain: HashChain) -> EventLog:
    from adapters.storage.mongo import MongoEventLog

    uri = sources.bootstrap.overrides.get("storage.mongodb.uri")
    if not uri:
        raise ConfigError("STORAGE_ADAPTER=mongodb needs STORAGE_MONGODB_URI")
    return await MongoEventLog.open(str(uri), chain)


def sqlite_file(sources: Sources) -> Path | None:
    """The SQLite database a deployment uses (None on another adapter). A relative
    ``STORAGE_SQLITE_PATH`` is relative to the project root, not the working directory, so
    every command of one project finds the same file."""
    adapter = sources.bootstrap.overrides.get("storage.adapter", DEFAULT_ADAPTER)
    if adapter != "sqlite":
        return None
    path = Path(sources.bootstrap.overrides.get("storage.sqlite.path", DEFAULT_SQLITE_PATH))
    return path if path.is_absolute() else sources.root / path


async def _open_sqlite(sources: Sources, chain: HashChain) -> EventLog:
    from adapters.storage.sqlite import SqliteEventLog

    path = sqlite_file(sources)
    assert path is not None
    return await SqliteEventLog.open(path, chain)


#: adapter name (``STORAGE_ADAPTER``) → opener; the keys are the schema's choices
OPENERS: Final[Mapping[str, Opener]] = {
    "postgresql": _open_postgresql,
    "mongodb": _open_mongodb,
    "sqlite": _open_sqlite,
}
