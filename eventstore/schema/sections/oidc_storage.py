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


@attrs.frozen
class Mongodb:
    """Settings under `oidc_storage.oidc_adapter.mongodb`."""

    uri: str = setting("", Text(credentials=CREDENTIALS_IN_URL))
    database: str = setting("", TEXT)


@attrs.frozen
class Redis:
    """Settings under `oidc_storage.oidc_adapter.redis`."""

    host: str = setting("localhost", Text(min_length=1))
    port: int = setting(6379, Integer(max=65535, gt=0))
    password: str | None = setting(None, Text(credentials=CREDENTIAL_VALUE), nullable=True)
    database: int = setting(0, Integer(min=0, max=15))


@attrs.frozen
class OidcAdapter:
    """Settings under `oidc_storage.oidc_adapter`."""

    type: str = setting("sqlite", Choice(("mongodb", "redis", "sqlite", "postgresql")))
    mongodb: Mongodb = section(Mongodb)
    redis: Redis = section(Redis)


@attrs.frozen
class OidcStorage:
    """Settings under `oidc_storage`."""

    oidc_adapter: OidcAdapter = section(OidcAdapter)
