"""MongoDB change streams as hints: watch inserts into the event log's ``events`` collection.

The append itself is the notification, so there is nothing to publish. Change streams need a
replica set or sharded cluster; a standalone server refuses them (error 40573), which is logged
once and leaves the process on Redis hints and polling (D20 in docs/decisions.md). The driver
resumes a change stream by itself after a transient error without losing changes; anything it
cannot resume surfaces here, and the loop reopens the stream with backoff and reports
``connected`` so the Propagator catches up from the log.
"""

from __future__ import annotations

from typing import Any, Final

import structlog
from pymongo import AsyncMongoClient
from pymongo.errors import OperationFailure, PyMongoError

from adapters.propagation.hints import Health, Hint, HintSink
from adapters.propagation.reconnect import Session, run_with_reconnect
from adapters.storage.mongo import DEFAULT_DATABASE, EVENTS

#: the server's answer to $changeStream on a standalone (not a replica set)
_UNSUPPORTED: Final = frozenset({40573})
_TIMEOUT_MS: Final = 2000
_log = structlog.get_logger(__name__)


class MongoChangeStreamHints:
    """Subscriber of inserts into the events collection; publishing is a no-op."""

    name = "mongodb"

    def __init__(self, uri: str, origin_id: str) -> None:
        self._uri = uri
        self._origin_id = origin_id
        self.health = Health("mongodb change streams")

    async def publish(self, hint: Hint) -> None:
        """Nothing to send: every process watching the collection sees the insert itself."""

    async def run(self, sink: HintSink) -> None:
        await run_with_reconnect(
            self.name,
            lambda: self._session(sink),
            sink,
            self.health,
            (PyMongoError,),
            permanent=_unsupported,
        )

    def _session(self, sink: HintSink) -> Session:
        """A new client each time; the change stream is closed as soon as it fails."""
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
            self._uri, serverSelectionTimeoutMS=_TIMEOUT_MS, appname="parako-config-hints"
        )
        stream: Any = None

        async def subscribe() -> None:
            nonlocal stream
            events = client.get_default_database(DEFAULT_DATABASE)[EVENTS]
            pipeline = [{"$match": {"operationType": "insert"}}]
            stream = await events.watch(pipeline)

        async def listen() -> None:
            async with stream:
                async for change in stream:
                    sink.hint(self.name, _hint_of(change))

        return Session(subscribe, listen, client.close)

    async def close(self) -> None:
        pass


def _unsupported(error: BaseException) -> bool:
    """A server without change streams (a standalone) will not grow them: stop asking."""
    if isinstance(error, OperationFailure) and error.code in _UNSUPPORTED:
        _log.info("mongodb change streams unsupported here; relying on polling")
        return True
    return False


def _hint_of(change: dict[str, Any]) -> Hint | None:
    """The batch document inserted: its stream, last version and last position."""
    document = change.get("fullDocument") or {}
    stream, version = document.get("stream"), document.get("last_version")
    position = document.get("last_position")
    if not isinstance(stream, str):
        return None
    return Hint(
        "mongodb",
        stream,
        version if isinstance(version, int) else None,
        position if isinstance(position, int) else None,
    )
