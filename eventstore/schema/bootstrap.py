"""Bootstrap variables that set no config path: process-level settings read from the environment.

Variables that do set a config path (``DEPLOYMENT_SERVER_PORT`` …) are declared on that setting
with ``env=``; the ones here configure the process itself. Both are parsed by the same code.
"""

from __future__ import annotations

import attrs

from eventstore.schema.declare import section, setting
from eventstore.schema.kinds import TEXT, Boolean, Choice, Integer, Pattern, Sensitive, Text

#: Zod's ``email()`` pattern: the reference checks the master tenant's administrator with it
_ZOD_EMAIL = (
    r"^(?!\.)(?!.*\.\.)([A-Za-z0-9_'+\-\.]*)[A-Za-z0-9_+-]@([A-Za-z0-9][A-Za-z0-9\-]*\.)+"
    r"[A-Za-z]{2,}$"
)


@attrs.frozen
class RedisConnection:
    """Where the process finds Redis (pub/sub invalidation, OIDC storage)."""

    host: str = setting("localhost", Text(min_length=1), env="REDIS_HOST")
    port: int = setting(6379, Integer(gt=0, max=65535), env="REDIS_PORT")
    password: object = setting(None, Sensitive(TEXT), nullable=True, env="REDIS_PASSWORD")
    database: int = setting(0, Integer(min=0, max=15), env="REDIS_DATABASE")


@attrs.frozen
class LoggingVariables:
    """The ``SECURITY_LOGGING_*`` variables."""

    enabled: bool = setting(True, Boolean(), env="SECURITY_LOGGING_ENABLED")
    level: str = setting(
        "info",
        Choice(("trace", "debug", "info", "warn", "error", "fatal")),
        env="SECURITY_LOGGING_LEVEL",
    )
    pretty_print: bool = setting(True, Boolean(), env="SECURITY_LOGGING_PRETTY_PRINT")
    file_logging_enabled: bool = setting(
        True, Boolean(), env="SECURITY_LOGGING_FILE_LOGGING_ENABLED"
    )
    file_logging_directory: str = setting(
        "logs", Text(min_length=1), env="SECURITY_LOGGING_FILE_LOGGING_DIRECTORY"
    )


@attrs.frozen
class MasterTenantAdmin:
    """The first administrator of the master tenant, for a multi-tenant installation's first
    start. Not part of the configuration; checked whenever set, as the reference checks them."""

    email: str | None = setting(
        None,
        Text(patterns=(Pattern(_ZOD_EMAIL, "Invalid email address"),)),
        nullable=True,
        env="PARAKO_BOOTSTRAP_ADMIN_EMAIL",
    )
    password: object = setting(
        None, Sensitive(Text(min_length=12)), nullable=True, env="PARAKO_BOOTSTRAP_ADMIN_PASSWORD"
    )


@attrs.frozen
class ProcessSettings:
    """Settings of the running process rather than of the identity provider."""

    use_file_config: bool = setting(True, Boolean(), env="USE_FILE_CONFIG")
    oidc_storage_adapter: str | None = setting(
        None,
        Choice(("mongodb", "redis", "sqlite", "postgresql")),
        nullable=True,
        env="OIDC_STORAGE_ADAPTER",
    )
    redis: RedisConnection = section(RedisConnection)
    logging: LoggingVariables = section(LoggingVariables)
    bootstrap_admin: MasterTenantAdmin = section(MasterTenantAdmin)
