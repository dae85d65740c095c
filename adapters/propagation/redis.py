"""Redis pub/sub hints: PUBLISH after an append, PSUBSCRIBE ``{prefix}:*:config:invalidated``.

redis-py's ``PubSub`` quietly reconnects and re-subscribes by itself, which would hide exactly
the moment we must catch up (messages sent during an outage are gone). So the clients here never
retry: every connection error surfaces, the loop throws the subscription away, reconnects with
backoff, waits for the server's PSUBSCRIBE confirmation and only then reports ``connected`` (the
Propagator then catches up from the log). A PING every few seconds detects a connection that
died without closing; no reply for three intervals counts as lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from typing import Any, Final

import redis.asyncio as aioredis
import structlog
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from adapters.propagation.hints import Health, Hint, HintSink, redis_channel, redis_pattern
from adapters.propagation.reconnect import Session, run_with_reconnect
from eventstore.schema.bootstrap import RedisConnection
from eventstore.secret import Secret

HEARTBEAT_SECONDS: Final = 2.0
_CONNECT_TIMEOUT: Final = 1.0
#: what a lost or unreachable Redis raises (TimeoutError: no PSUBSCRIBE reply, missed PINGs)
_CONNECTION_ERRORS: Final = (RedisError, OSError, TimeoutError)
_log = structlog.get_logger(__name__)


class RedisHints:
    """Publisher and subscriber of config hints over one Redis (lazily connected)."""

    name = "redis"

    def __init__(
        self,
        connection: RedisConnection,
        prefix: str,
        origin_id: str,
        heartbeat: float = HEARTBEAT_SECONDS,
    ) -> None:
        self._connection = connection
        self._prefix = prefix
        self._origin_id = origin_id
        self._heartbeat = heartbeat
        self._publisher: aioredis.Redis | None = None
        self.health = Health("redis hints")
        self._publish_health = Health("redis hint publishing")

    def _client(self) -> aioredis.Redis:
        password = self._connection.password
        if isinstance(password, Secret):
            password = password.reveal()
        return aioredis.Redis(
            host=self._connection.host,
            port=self._connection.port,
            db=self._connection.database,
            password=password if isinstance(password, str) else None,
            socket_connect_timeout=_CONNECT_TIMEOUT,
            socket_timeout=_CONNECT_TIMEOUT,
            retry=Retry(NoBackoff(), 0),
        )

    async def publish(self, hint: Hint) -> None:
        """PUBLISH ``hint``; skipped while our own subscription knows Redis is down, so saves
        do not wait for a connect timeout each (polling covers, and reconnecting catches up)."""
        if self.health.up is False:
            return
        if self._publisher is None:
            self._publisher = self._client()
        try:
            await self._publisher.publish(redis_channel(self._prefix, hint.tenant), hint.encode())
        except (RedisError, OSError) as exc:
            self._publish_health.failed(exc)
            await self._drop_publisher()
        else:
            self._publish_health.restored()

    async def _drop_publisher(self) -> None:
        publisher, self._publisher = self._publisher, None
        if publisher is not None:
            with contextlib.suppress(RedisError, OSError):
                await publisher.aclose()

    async def run(self, sink: HintSink) -> None:
        await run_with_reconnect(
            self.name, lambda: self._session(sink), sink, self.health, _CONNECTION_ERRORS
        )

    def _session(self, sink: HintSink) -> Session:
        """A fresh client and PSUBSCRIBE each time: nothing of a broken connection is reused."""
        client = self._client()
        pubsub = client.pubsub()

        async def subscribe() -> None:
            await pubsub.psubscribe(redis_pattern(self._prefix))
            await self._confirmed(pubsub)

        return Session(
            subscribe,
            functools.partial(self._listen, pubsub, sink),
            functools.partial(_quietly_close, pubsub, client),
        )

    async def _confirmed(self, pubsub: Any) -> None:
        """Wait for the server's PSUBSCRIBE reply: only then are hints from others delivered."""
        async with asyncio.timeout(_CONNECT_TIMEOUT * 3):
            while True:
                message = await pubsub.get_message(timeout=_CONNECT_TIMEOUT)
                if message is not None and message["type"] == "psubscribe":
                    return

    async def _listen(self, pubsub: Any, sink: HintSink) -> None:
        loop = asyncio.get_running_loop()
        last_heard = next_ping = loop.time()
        while True:
            message = await pubsub.get_message(timeout=self._heartbeat / 2)
            now = loop.time()
            if message is not None:
                last_heard = now
                if message["type"] == "pmessage":
                    self._deliver(message["data"], sink)
            if now - last_heard > self._heartbeat * 3:
                raise TimeoutError("no reply to PING")
            if now >= next_ping:
                await pubsub.ping()
                next_ping = now + self._heartbeat

    def _deliver(self, data: Any, sink: HintSink) -> None:
        """Pass on another process's hint. The channel is shared with the reference's Node.js
        processes and anyone else who can publish there: a payload that is not a hint is
        dropped (it must not evict every tenant's cache), and polling covers whatever it may
        have meant (D20)."""
        hint = Hint.decode(data)
        if hint is None:
            _log.debug("redis message that is not a hint ignored")
            return
        if hint.origin_id == self._origin_id:
            return
        sink.hint(self.name, hint)

    async def close(self) -> None:
        await self._drop_publisher()


async def _quietly_close(pubsub: Any, client: aioredis.Redis) -> None:
    for close in (pubsub.aclose, client.aclose):
        with contextlib.suppress(RedisError, OSError):
            await close()
