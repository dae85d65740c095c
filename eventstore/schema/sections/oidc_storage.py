"""The `oidc_storage` section of the Parako.ID configuration.

Each setting is declared once, here, with its default, its checks and its flags; every list of
paths elsewhere (encrypted, tenant-overridable, bootstrap-only, policy) is derived from these.
"""

from __future__ import annotations

import attrs

from eventstore.schema.declare import section, setting
from eventstore.schema.kinds import (
    CREDENTIAL_VALUE,
    CREDENTIALS_IN_URL,
    TEXT,
    Choice,
    Integer,
    Text,
)


@attrs.frozen(weakref_slot=False)
class Mongodb:
    """Settings under `oidc_storage.oidc_adapter.mongodb`."""

    uri: str = setting(
        "",
        Text(credentials=CREDENTIALS_IN_URL),
        label="MongoDB URI",
        help="Connection string of the OIDC MongoDB database.",
    )
    database: str = setting("", TEXT, label="MongoDB database", help="Database name for OIDC data.")


@attrs.frozen(weakref_slot=False)
class Redis:
    """Settings under `oidc_storage.oidc_adapter.redis`."""

    host: str = setting(
        "localhost",
        Text(min_length=1),
        label="Redis host",
        help="Host name of the Redis server (REDIS_HOST).",
    )
    port: int = setting(
        6379,
        Integer(max=65535, gt=0),
        label="Redis port",
        help="Port of the Redis server (REDIS_PORT).",
    )
    password: str | None = setting(
        None,
        Text(credentials=CREDENTIAL_VALUE),
        nullable=True,
        label="Redis password",
        help="Password of the Redis server, if any (REDIS_PASSWORD).",
    )
    database: int = setting(
        0,
        Integer(min=0, max=15),
        label="Redis database",
        help="Redis database index, 0-15 (REDIS_DATABASE).",
    )


@attrs.frozen(weakref_slot=False)
class OidcAdapter:
    """Settings under `oidc_storage.oidc_adapter`."""

    type: str = setting(
        "sqlite",
        Choice(("mongodb", "redis", "sqlite", "postgresql")),
        label="Adapter",
        help="Where OIDC data is kept: sqlite, mongodb, redis or postgresql (OIDC_STORAGE_ADAPTER).",
    )
    mongodb: Mongodb = section(
        Mongodb, label="MongoDB", help="Connection used when the OIDC adapter is MongoDB."
    )
    redis: Redis = section(
        Redis,
        label="Redis",
        help="Connection used when the OIDC adapter is Redis (REDIS_* variables).",
    )


@attrs.frozen(weakref_slot=False)
class OidcStorage:
    """Settings under `oidc_storage`."""

    oidc_adapter: OidcAdapter = section(
        OidcAdapter, label="OIDC adapter", help="The store for OIDC sessions, grants and tokens."
    )
