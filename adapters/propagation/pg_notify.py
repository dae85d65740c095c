"""PostgreSQL LISTEN/NOTIFY hints on a dedicated, long-lived connection.

LISTEN needs its own connection: a pooled connection drops its listeners when released. asyncpg
reports a server shutdown through the termination callback, but a silently lost network never
ends a wait, so a heartbeat (``SELECT 1`` with a timeout every few seconds) decides the
connection is dead. After every (re)connect the Propagator catches up from the log, because
NOTIFY does not replay what was sent while nobody listened. Payloads are a few dozen bytes of
JSON (positions, never documents), far below PostgreSQL's 8000-byte limit.

This module takes a URL and never imports the PostgreSQL event-log adapter: hints and storage
are separate jobs, and the publisher uses the same single connection as the listener.
"""

from __future__ import annotations

import asyncio
from typing import Any, Final

import asyncpg

from adapters.propagation.hints import PG_CHANNEL, Health, Hint, HintSink
from adapters.propagation.reconnect import Session, run_with_reconnect

HEARTBEAT_SECONDS: Final = 2.0
_TIMEOUT: Final = 2.0
#: what a lost or unreachable server raises (TimeoutError: a heartbeat went unanswered)
_CONNECTION_ERRORS: Final = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError)


class PgNotifyHints:
    """Publisher and subscriber of config hints over one PostgreSQL connection."""

    name = "postgresql"

    def __init__(
        self,
        url: str,
        origin_id: str,
        channel: str = PG_CHANNEL,
        heartbeat: float = HEARTBEAT_SECONDS,
    ) -> None:
        self._url = url
        self._origin_id = origin_id
        self._channel = channel
        self._heartbeat = heartbeat
        self._conn: Any = None  # the listener's connection while subscribed
        self._publisher: Any = None  # a lazily opened connection for one-shot publishers
        self._lock = asyncio.Lock()  # one asyncpg connection runs one query at a time
        self.health = Health("postgresql notifications")
        self._publish_health = Health("postgresql hint publishing")

    async def publish(self, hint: Hint) -> None:
        async with self._lock:
            try:
                if self._conn is None and self._publisher is None:
                    self._publisher = await asyncpg.connect(self._url, timeout=_TIMEOUT)
                conn = self._conn if self._conn is not None else self._publisher
                await conn.execute("SELECT pg_notify($1, $2)", self._channel, hint.encode())
            except _CONNECTION_ERRORS as exc:
                self._publish_health.failed(exc)
                await self._drop_publisher()
            else:
                self._publish_health.restored()

    async def _drop_publisher(self) -> None:
        publisher, self._publisher = self._publisher, None
        if publisher is not None:
            publisher.terminate()

    async def run(self, sink: HintSink) -> None:
        await run_with_reconnect(
            self.name, lambda: self._session(sink), sink, self.health, _CONNECTION_ERRORS
        )

    def _session(self, sink: HintSink) -> Session:
        """A new dedicated connection each time; while it listens, publishing shares it."""
        conn: Any = None
        closed = asyncio.Event()

        async def subscribe() -> None:
            nonlocal conn
            conn = await asyncpg.connect(self._url, timeout=_TIMEOUT)
            conn.add_termination_listener(_setter(closed))
            await conn.add_listener(self._channel, self._on_notify(sink))
            async with self._lock:
                self._conn = conn
                await self._drop_publisher()

        async def listen() -> None:
            await self._heartbeat_until_lost(conn, closed)

        async def close() -> None:
            self._conn = None
            if conn is not None:
                conn.terminate()

        return Session(subscribe, listen, close)

    def _on_notify(self, sink: HintSink) -> Any:
        def received(_conn: object, _pid: int, _channel: str, payload: str) -> None:
            hint = Hint.decode(payload)
            if hint is not None and hint.origin_id == self._origin_id:
                return
            sink.hint(self.name, hint)

        return received

    async def _heartbeat_until_lost(self, conn: Any, closed: asyncio.Event) -> None:
        while True:
            try:
                await asyncio.wait_for(closed.wait(), timeout=self._heartbeat)
            except TimeoutError:
                async with self._lock:
                    await conn.fetchval("SELECT 1", timeout=_TIMEOUT)
            else:
                raise ConnectionError("connection closed by the server")

    async def close(self) -> None:
        async with self._lock:
            await self._drop_publisher()


def _setter(event: asyncio.Event) -> Any:
    """A termination callback that sets ``event`` (bound now, not to a loop variable)."""

    def closed(_conn: object) -> None:
        event.set()

    return closed
