"""The `storage` section: where the event log lives. Runtime-only, set by bootstrap variables."""

from __future__ import annotations

import attrs

from eventstore.schema.declare import section, setting
from eventstore.schema.kinds import CREDENTIALS_IN_URL, Choice, Pattern, Text


@attrs.frozen(weakref_slot=False)
class MongodbStorage:
    """Settings under `storage.mongodb`."""

    uri: str | None = setting(
        None,
        Text(
            patterns=(
                Pattern(
                    r"^mongodb(?:\+srv)?://", "MongoDB URI must use mongodb:// or mongodb+srv://"
                ),
            ),
            credentials=CREDENTIALS_IN_URL,
        ),
        nullable=True,
        env="STORAGE_MONGODB_URI",
        bootstrap_only=True,
        label="MongoDB URI",
        help="Connection string of the MongoDB database.",
    )


@attrs.frozen(weakref_slot=False)
class SqliteStorage:
    """Settings under `storage.sqlite`."""

    path: str = setting(
        "./runtime/data/parako.db",
        Text(min_length=1),
        env="STORAGE_SQLITE_PATH",
        bootstrap_only=True,
        label="SQLite file",
        help="Path of the SQLite database file.",
    )


@attrs.frozen(weakref_slot=False)
class PostgresqlStorage:
    """Settings under `storage.postgresql`."""

    url: str | None = setting(
        None,
        Text(
            url=True,
            patterns=(
                Pattern(
                    r"^postgres(?:ql)?://", "PostgreSQL URL must use postgres:// or postgresql://"
                ),
            ),
            credentials=CREDENTIALS_IN_URL,
        ),
        nullable=True,
        env="STORAGE_POSTGRESQL_URL",
        bootstrap_only=True,
        label="PostgreSQL URL",
        help="Connection URL of the PostgreSQL database.",
    )


@attrs.frozen(weakref_slot=False)
class Storage:
    """Settings under `storage`."""

    adapter: str = setting(
        "sqlite",
        Choice(("mongodb", "sqlite", "postgresql")),
        env="STORAGE_ADAPTER",
        bootstrap_only=True,
        label="Database",
        help="The primary database: sqlite, mongodb or postgresql.",
    )
    mongodb: MongodbStorage = section(
        MongodbStorage, label="MongoDB", help="Connection used when the database is MongoDB."
    )
    sqlite: SqliteStorage = section(
        SqliteStorage, label="SQLite", help="Database file used when the database is SQLite."
    )
    postgresql: PostgresqlStorage = section(
        PostgresqlStorage,
        label="PostgreSQL",
        help="Connection used when the database is PostgreSQL.",
    )
