"""MongoDB event log: several processes (or hosts) of one installation share one database.

Why it is built this way:

* **One document per append.** MongoDB makes a single document write atomic without a
  transaction, so an append's events live together in one *batch* document of ``events``:
  ``_id`` is the global position of its first event, ``last_position`` that of its last one,
  ``stream`` / ``first_version`` / ``last_version`` its stream range, ``events`` the sealed
  records. All events of an append appear together or not at all. Multi-document transactions
  are avoided on purpose: they need a replica set and add failure modes for no gain here.
* **Optimistic concurrency from two unique indexes.** An appender reads its stream's version
  and the newest batch (highest ``last_position``, the same order as ``_id``), seals its events
  after that batch's last position and link, and inserts with ``_id`` = that position + 1 and
  ``first_version`` = stream version + 1.
  By induction, batches always cover positions 1..N (and each stream's versions 1..V) without
  overlap, so if anything was appended anywhere since the reads, a batch already holds that
  ``_id``; if the stream moved, one already holds (``stream``, ``first_version``). Either way the
  insert fails with a duplicate key and nothing is written; the appender re-reads and raises
  :class:`~eventstore.log.WrongExpectedVersion` if its stream moved, else retries at the new end.
* **No gap a reader could see filled later.** The batch at position P+1 can only be computed
  from the link of the batch ending at P, which the appender read *after* it was written: so
  every state of the collection a reader can observe (every snapshot; with majority reads, every
  majority-committed snapshot, since the commit point follows oplog order) is a prefix 1..N.
  ``read_all`` scans ``last_position`` upward; when a query resumes after a yield it continues
  past the last key it returned in a newer snapshot, which is a longer prefix. It therefore
  never skips a position that appears later, which is what catch-up readers rely on.
* **Majority write and read concern, journaled.** An acknowledged append survives a failover,
  and readers never act on an append that a rollback could later replace by a different event
  at the same position (a standalone server treats both as local).
* One client per instance; an asyncio lock serialises this instance's appends, so its own
  coroutines never race each other for a position and only other clients cause retries.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Final

from bson.binary import Binary
from pymongo import ASCENDING, DESCENDING, AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import (
    ConfigurationError,
    DuplicateKeyError,
    OperationFailure,
    PyMongoError,
    ServerSelectionTimeoutError,
)
from pymongo.read_concern import ReadConcern
from pymongo.write_concern import WriteConcern

from adapters.storage.redaction import scrub, url_secrets
from eventstore.errors import ConfigError
from eventstore.hashchain import GENESIS, HashChain
from eventstore.log import (
    Checkpoint,
    NewEvent,
    RecordedEvent,
    Snapshot,
    WrongExpectedVersion,
    check_append,
    check_meta,
    check_read_all,
    check_read_stream,
    check_snapshot,
    from_epoch_micros,
    to_epoch_micros,
    utc_now,
)

DEFAULT_DATABASE: Final = "parako"
EVENTS: Final = "events"
SNAPSHOTS: Final = "snapshots"
META: Final = "meta"
_CHECKPOINT: Final = "head-checkpoint"
# (collection, keys, unique): what every query below is served by. Names are fixed so that a
# second opener's create_index is a no-op instead of a conflicting definition.
INDEXES: Final[tuple[tuple[str, tuple[tuple[str, int], ...], bool], ...]] = (
    # optimistic concurrency per stream; also finds a stream's batches by version
    (EVENTS, (("stream", ASCENDING), ("first_version", ASCENDING)), True),
    # stream_version and read_stream's lower bound
    (EVENTS, (("stream", ASCENDING), ("last_version", ASCENDING)), True),
    # read_all from any position (including one inside a batch), the newest batch, the head.
    # Ordering by it rather than by ``_id`` gives the same order, and the nx-27017 emulator
    # used in CI sorts integer ``_id`` values as text (10 before 2).
    (EVENTS, (("last_position", ASCENDING),), True),
    (SNAPSHOTS, (("stream", ASCENDING), ("version", ASCENDING)), True),
)
_MAX_INT: Final = 2**63 - 1
# Each lost race means another appender succeeded, so retrying always makes progress; hitting
# this many in a row means the batch documents contradict each other (edited by hand?).
_MAX_ATTEMPTS: Final = 200
_UNAUTHORIZED: Final = frozenset({13, 18})  # Unauthorized, AuthenticationFailed

Document = dict[str, Any]


class MongoEventLog:
    """:class:`~eventstore.log.EventLog` on a MongoDB database; create it with :meth:`open`."""

    def __init__(
        self,
        client: AsyncMongoClient[Document],
        database: str,
        chain: HashChain,
        clock: Callable[[], datetime],
    ) -> None:
        self._client = client
        db = client.get_database(
            database,
            write_concern=WriteConcern("majority", j=True),
            read_concern=ReadConcern("majority"),
        )
        self._events: AsyncCollection[Document] = db[EVENTS]
        self._snapshots: AsyncCollection[Document] = db[SNAPSHOTS]
        self._meta: AsyncCollection[Document] = db[META]
        self._chain = chain
        self._clock = clock
        self._lock = asyncio.Lock()
        self._closed = False

    @property
    def database(self) -> str:
        return self._events.database.name

    @classmethod
    async def open(
        cls,
        uri: str,
        chain: HashChain,
        *,
        clock: Callable[[], datetime] = utc_now,
        server_selection_timeout: float = 5.0,
    ) -> MongoEventLog:
        """Connect, check the server answers, and create the collections' indexes.

        Failing here with a :class:`ConfigError` (rather than at the first append) is the point:
        a wrong URI or an unreachable server should stop the process at start-up with a message
        an operator can act on, and never one that repeats the URI's password.
        """
        secrets = url_secrets(uri)
        try:
            client: AsyncMongoClient[Document] = AsyncMongoClient(
                uri,
                serverSelectionTimeoutMS=max(1, round(server_selection_timeout * 1000)),
                appname="parako-config",
            )
            database = client.get_default_database(DEFAULT_DATABASE).name
        except (PyMongoError, ValueError, TypeError) as error:
            raise ConfigError(
                f"STORAGE_MONGODB_URI is not a valid MongoDB URI: {scrub(str(error), secrets)}"
            ) from None
        log = cls(client, database, chain, clock)
        try:
            await client.admin.command("ping")
            await log._create_indexes()
            await log._start_checkpoint()
        except ServerSelectionTimeoutError as error:
            await client.close()
            raise ConfigError(
                f"MongoDB is not reachable: no server answered within "
                f"{server_selection_timeout:g} s ({scrub(_first_line(error), secrets)}). "
                "Check STORAGE_MONGODB_URI and that the server is running."
            ) from None
        except OperationFailure as error:
            await client.close()
            if error.code in _UNAUTHORIZED:
                raise ConfigError(
                    f"MongoDB refused parako-config on database {database!r} "
                    f"({scrub(str(error), secrets)}): it needs the readWrite role there, "
                    "including createIndex."
                ) from None
            raise ConfigError(f"MongoDB: {scrub(str(error), secrets)}") from None
        except (ConfigurationError, ValueError) as error:
            await client.close()
            raise ConfigError(
                f"STORAGE_MONGODB_URI cannot be used: {scrub(str(error), secrets)}"
            ) from None
        except BaseException:
            await client.close()
            raise
        return log

    async def append(
        self, stream: str, expected_version: int, events: Sequence[NewEvent]
    ) -> Sequence[RecordedEvent]:
        check_append(stream, expected_version, events)
        async with self._lock:
            self._check_open()
            for attempt in range(_MAX_ATTEMPTS):
                actual = await self._stream_version(stream)
                if actual != expected_version:
                    raise WrongExpectedVersion(stream, expected_version, actual)
                last = await self._events.find_one({}, sort=[("last_position", DESCENDING)])
                if last is None:
                    previous_link, last_position = GENESIS, 0
                else:
                    previous_link = bytes(last["events"][-1]["link"])
                    last_position = int(last["last_position"])
                records = self._chain.seal(
                    previous_link, stream, actual + 1, last_position + 1, events, self._clock()
                )
                try:
                    await self._events.insert_one(_batch_document(records))
                except DuplicateKeyError:
                    # Lost a race for the position or the stream version; the next round's
                    # stream read tells which. Jitter keeps racing processes from lockstep.
                    await asyncio.sleep(random.uniform(0, min(0.0005 * 2**attempt, 0.05)))
                    continue
                await self._move_checkpoint(records[-1])
                return tuple(records)
        raise ConfigError(
            f"could not append to {stream!r} after {_MAX_ATTEMPTS} attempts: the events "
            "collection looks inconsistent (run `parako-config verify`)"
        )

    async def read_stream(
        self, stream: str, from_version: int = 1, to_version: int | None = None
    ) -> Sequence[RecordedEvent]:
        check_read_stream(stream, from_version)
        self._check_open()
        upper = _MAX_INT if to_version is None else to_version
        cursor = self._events.find(
            {
                "stream": stream,
                "last_version": {"$gte": from_version},
                "first_version": {"$lte": upper},
            }
        ).sort("last_version", ASCENDING)
        return tuple(
            event
            for event in _records(await cursor.to_list())
            if from_version <= event.version <= upper
        )

    async def stream_version(self, stream: str) -> int:
        self._check_open()
        return await self._stream_version(stream)

    async def read_all(
        self, after_position: int = 0, limit: int | None = None
    ) -> Sequence[RecordedEvent]:
        check_read_all(after_position, limit)
        self._check_open()
        if limit == 0:
            return ()
        cursor = self._events.find({"last_position": {"$gt": after_position}}).sort(
            "last_position", ASCENDING
        )
        if limit is not None:
            # every matching batch holds at least one wanted event, so `limit` batches suffice
            cursor = cursor.limit(limit)
        found: list[RecordedEvent] = []
        async for batch in cursor:
            found.extend(e for e in _records([batch]) if e.position > after_position)
            if limit is not None and len(found) >= limit:
                del found[limit:]
                break
        await cursor.close()
        return tuple(found)

    async def read_links(self, positions: Sequence[int]) -> Mapping[int, bytes]:
        self._check_open()
        wanted = sorted(set(positions))
        if not wanted:
            return {}
        # a batch document holds the events from its _id (first position) to last_position
        cursor = self._events.find(
            {"$or": [{"_id": {"$lte": p}, "last_position": {"$gte": p}} for p in wanted]},
            projection={"stream": True, "events": True},
        )
        found = set(wanted)
        return {e.position: e.link for e in _records(await cursor.to_list()) if e.position in found}

    async def read_checkpoint(self) -> Checkpoint | None:
        self._check_open()
        found = await self._meta.find_one({"_id": _CHECKPOINT})
        if found is None:
            return None
        return Checkpoint(int(found["position"]), bytes(found["link"]))

    async def _move_checkpoint(self, newest: RecordedEvent) -> None:
        """MongoDB cannot update two documents atomically without transactions (which this
        adapter does not rely on), so the checkpoint follows the append instead of sharing its
        commit: after a crash in between it lags by one append, and the chain covers the
        events after it. It never moves backwards."""
        value = {"position": newest.position, "link": Binary(newest.link)}
        moved = await self._meta.update_one(
            {"_id": _CHECKPOINT, "position": {"$lt": newest.position}}, {"$set": value}
        )
        if moved.matched_count == 0:
            with contextlib.suppress(DuplicateKeyError):  # a newer one is already there
                await self._meta.insert_one({"_id": _CHECKPOINT, **value})

    async def _start_checkpoint(self) -> None:
        """A store from a release without checkpoints gets one at its current head."""
        if await self._meta.find_one({"_id": _CHECKPOINT}) is not None:
            return
        last = await self._events.find_one({}, sort=[("last_position", DESCENDING)])
        if last is not None:
            await self._move_checkpoint(_records([last])[-1])

    async def head_position(self) -> int:
        self._check_open()
        last = await self._events.find_one(
            {}, sort=[("last_position", DESCENDING)], projection={"last_position": True}
        )
        return 0 if last is None else int(last["last_position"])

    async def save_snapshot(self, snapshot: Snapshot) -> None:
        check_snapshot(snapshot)
        self._check_open()
        key = {"stream": snapshot.stream, "version": snapshot.version}
        fields = {"position": snapshot.position, "state": Binary(snapshot.state)}
        try:
            await self._snapshots.update_one(key, {"$set": fields}, upsert=True)
        except DuplicateKeyError:
            # two upserts of one key raced and the other inserted first: now it is an update
            await self._snapshots.update_one(key, {"$set": fields})

    async def latest_snapshot(self, stream: str, max_version: int | None = None) -> Snapshot | None:
        self._check_open()
        found = await self._snapshots.find_one(
            {
                "stream": stream,
                "version": {"$lte": _MAX_INT if max_version is None else max_version},
            },
            sort=[("version", DESCENDING)],
        )
        if found is None:
            return None
        return Snapshot(
            str(found["stream"]),
            int(found["version"]),
            int(found["position"]),
            bytes(found["state"]),
        )

    async def read_meta(self, key: str) -> bytes | None:
        check_meta(key)
        self._check_open()
        found = await self._meta.find_one({"_id": key})
        return None if found is None else bytes(found["value"])

    async def write_meta(self, key: str, value: bytes, *, only_if_absent: bool = False) -> bool:
        check_meta(key, value)
        self._check_open()
        operator = "$setOnInsert" if only_if_absent else "$set"
        try:
            result = await self._meta.update_one(
                {"_id": key}, {operator: {"value": Binary(value)}}, upsert=True
            )
        except DuplicateKeyError:
            # a concurrent upsert created the key between our match and our insert
            if only_if_absent:
                return False
            result = await self._meta.update_one({"_id": key}, {"$set": {"value": Binary(value)}})
        return not only_if_absent or result.upserted_id is not None

    async def close(self) -> None:
        async with self._lock:
            if not self._closed:
                self._closed = True
                await self._client.close()

    async def _create_indexes(self) -> None:
        database = self._events.database
        for collection, keys, unique in INDEXES:
            name = "_".join(f"{field}_{direction}" for field, direction in keys)
            await database[collection].create_index(list(keys), unique=unique, name=name)

    async def _stream_version(self, stream: str) -> int:
        last = await self._events.find_one(
            {"stream": stream}, sort=[("last_version", DESCENDING)], projection={"last_version": 1}
        )
        return 0 if last is None else int(last["last_version"])

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("the event log is closed")


def _batch_document(records: Sequence[RecordedEvent]) -> Document:
    first, last = records[0], records[-1]
    return {
        "_id": first.position,
        "last_position": last.position,
        "stream": first.stream,
        "first_version": first.version,
        "last_version": last.version,
        "events": [
            {
                "version": r.version,
                "position": r.position,
                "type": r.type,
                "data": Binary(r.data),
                "recorded_at": to_epoch_micros(r.recorded_at),
                "link": Binary(r.link),
            }
            for r in records
        ],
    }


def _records(batches: Iterable[Mapping[str, Any]]) -> list[RecordedEvent]:
    return [
        RecordedEvent(
            stream=str(batch["stream"]),
            version=int(stored["version"]),
            position=int(stored["position"]),
            type=str(stored["type"]),
            data=bytes(stored["data"]),
            recorded_at=from_epoch_micros(int(stored["recorded_at"])),
            link=bytes(stored["link"]),
        )
        for batch in batches
        for stored in batch["events"]
    ]


def _first_line(error: ServerSelectionTimeoutError) -> str:
    """The driver appends a full topology dump; the first part names the server and the cause."""
    return re.split(r", Timeout: |\n", str(error), maxsplit=1)[0]
