"""Which hint transports a deployment runs, chosen from its bootstrap settings.

Choosing needs every transport, and every transport imports the hint port
(:mod:`adapters.propagation.hints`); kept in the port, the choice would put each transport in
an import cycle with it. Drivers are imported on demand, like the storage adapters, so a
deployment loads only the ones it uses.
"""

from __future__ import annotations

from adapters.propagation.hints import HintTransport, redis_hints_enabled
from adapters.sources.layers import Sources


def transports_for(sources: Sources, origin_id: str, redis_prefix: str) -> list[HintTransport]:
    """The hint transports this deployment uses: Redis when configured, NOTIFY on PostgreSQL,
    change streams on MongoDB (where the deployment supports them)."""
    found: list[HintTransport] = []
    if redis_hints_enabled(sources):
        from adapters.propagation.redis import RedisHints

        found.append(RedisHints(sources.bootstrap.process.redis, redis_prefix, origin_id))
    storage = sources.bootstrap.overrides
    if storage.get("storage.adapter") == "postgresql" and storage.get("storage.postgresql.url"):
        from adapters.propagation.pg_notify import PgNotifyHints

        found.append(PgNotifyHints(str(storage["storage.postgresql.url"]), origin_id))
    if storage.get("storage.adapter") == "mongodb" and storage.get("storage.mongodb.uri"):
        from adapters.propagation.mongo_changes import MongoChangeStreamHints

        found.append(MongoChangeStreamHints(str(storage["storage.mongodb.uri"]), origin_id))
    return found
