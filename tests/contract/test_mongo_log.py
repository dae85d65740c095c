"""Runs the EventLog contract against the MongoDB adapter, one fresh database per test, plus what
is specific to it: batch documents, open-time errors, and a wider concurrency race.

Which server this is (a real MongoDB or the nx-27017 emulator) is printed in the report header;
see ``tests/support/mongo_server.py``.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from pymongo import MongoClient
from support.mongo_server import FreshDatabase, mongo_db, on_emulator

from adapters.storage.mongo import MongoEventLog
from eventstore.errors import ConfigError
from eventstore.hashchain import HashChain, verify_log
from eventstore.log import EventLog, WrongExpectedVersion

from .log_contract import EventLogContract, event, positions

__all__ = ["mongo_db"]  # the fixture is used by name

Document = dict[str, Any]


class MongoHarness:
    """Every handle is a separate MongoEventLog (own client) on one database; tampering goes
    through a plain pymongo client editing the batch documents, as someone with write access
    to the database but not the chain key would."""

    def __init__(self, database: FreshDatabase) -> None:
        self.chain = HashChain(os.urandom(32))
        self.database = database
        self._opened: list[MongoEventLog] = []

    async def open_log(self) -> EventLog:
        log = await MongoEventLog.open(self.database.uri, self.chain)
        self._opened.append(log)
        return log

    async def close_all(self) -> None:
        for log in self._opened:
            await log.close()

    async def tamper_data(self, position: int) -> None:
        with self._batch_of(position) as (batch, index):
            data = bytes(batch["events"][index]["data"])
            batch["events"][index]["data"] = bytes([data[0] ^ 0x01]) + data[1:]

    async def delete_event(self, position: int) -> None:
        with self._batch_of(position) as (batch, index):
            del batch["events"][index]

    async def swap_data(self, first: int, second: int) -> None:
        with self._batch_of(first) as (a, i), self._batch_of(second) as (b, j):
            if a["_id"] == b["_id"]:
                b = a  # one document: edit one copy, or the second write would undo the first
            a["events"][i]["data"], b["events"][j]["data"] = (
                b["events"][j]["data"],
                a["events"][i]["data"],
            )

    @contextmanager
    def _batch_of(self, position: int) -> Iterator[tuple[Document, int]]:
        """Yield the batch document holding ``position`` and the event's index, then write it
        back whole (or delete it once empty)."""
        client: MongoClient[Document] = MongoClient(self.database.uri)
        try:
            events = client.get_default_database()["events"]
            batch = events.find_one(
                {"_id": {"$lte": position}, "last_position": {"$gte": position}}
            )
            assert batch is not None
            [index] = [i for i, e in enumerate(batch["events"]) if e["position"] == position]
            yield batch, index
            if batch["events"]:
                events.update_one({"_id": batch["_id"]}, {"$set": {"events": batch["events"]}})
            else:
                events.delete_one({"_id": batch["_id"]})
        finally:
            client.close()


@pytest.fixture
async def harness(mongo_db: FreshDatabase) -> AsyncIterator[MongoHarness]:
    harness = MongoHarness(mongo_db)
    yield harness
    await harness.close_all()


class TestMongoEventLog(EventLogContract):
    pass


# --- specific to MongoDB ------------------------------------------------------------------------


async def test_one_document_per_append_holding_its_events(harness: MongoHarness) -> None:
    log = await harness.open_log()
    await log.append("a", 0, [event(n=1), event(n=2), event(n=3)])
    await log.append("b", 0, [event(n=4)])
    client: MongoClient[Document] = MongoClient(harness.database.uri)
    try:
        batches = list(
            client.get_default_database()["events"].find({}, sort=[("last_position", 1)])
        )
    finally:
        client.close()
    assert [
        (b["_id"], b["last_position"], b["stream"], b["first_version"], b["last_version"])
        for b in batches
    ] == [(1, 3, "a", 1, 3), (4, 4, "b", 1, 1)]
    assert [[e["position"] for e in b["events"]] for b in batches] == [[1, 2, 3], [4]]


async def test_batches_read_back_across_page_boundaries(harness: MongoHarness) -> None:
    log = await harness.open_log()
    sizes = [5, 1, 3, 7, 2, 4]
    for n, size in enumerate(sizes):
        stream = f"s{n % 2}"
        await log.append(
            stream, await log.stream_version(stream), [event(n=n, k=k) for k in range(size)]
        )
    head = sum(sizes)
    everything = list(await log.read_all())
    assert positions(everything) == list(range(1, head + 1))

    for after in range(head + 1):
        for limit in (None, 1, 2, 3, 4, 6, 50):
            page = list(await log.read_all(after, limit))
            wanted = everything[after:] if limit is None else everything[after : after + limit]
            assert page == wanted, (after, limit)
    for page_size in (1, 2, 3, 5, 8):
        paged: list[Any] = []
        while batch := await log.read_all(paged[-1].position if paged else 0, page_size):
            paged.extend(batch)
        assert paged == everything, page_size
    report = await verify_log(log, harness.chain, page_size=4)
    assert report.ok
    assert report.checked == head

    # stream ranges that start and end inside batches
    s0 = [e for e in everything if e.stream == "s0"]
    assert [e.version for e in s0] == list(range(1, len(s0) + 1))
    for low in range(1, len(s0) + 1):
        for high in range(low, len(s0) + 1):
            assert list(await log.read_stream("s0", low, high)) == s0[low - 1 : high]


async def test_eight_concurrent_appenders_on_separate_clients_one_winner(
    harness: MongoHarness,
) -> None:
    handles = [await harness.open_log() for _ in range(8)]
    await handles[0].append("contested", 0, [event(seed=True)])
    for round_ in range(3):
        expected = await handles[0].stream_version("contested")
        outcomes = await asyncio.gather(
            *(
                h.append("contested", expected, [event(w=i, r=round_) for _ in range(1 + i % 3)])
                for i, h in enumerate(handles)
            ),
            return_exceptions=True,
        )
        winners = [o for o in outcomes if not isinstance(o, BaseException)]
        losers = [o for o in outcomes if isinstance(o, BaseException)]
        assert len(winners) == 1, outcomes
        assert all(isinstance(o, WrongExpectedVersion) for o in losers), losers
        assert {o.actual for o in losers if isinstance(o, WrongExpectedVersion)} == {
            expected + len(winners[0])
        }
        assert list(await handles[-1].read_stream("contested", expected + 1)) == list(winners[0])
    everything = await handles[3].read_all()
    assert positions(everything) == list(range(1, len(everything) + 1))
    assert (await verify_log(handles[5], harness.chain)).ok


async def test_appenders_to_different_streams_all_win_without_gaps(harness: MongoHarness) -> None:
    """Losing the race for a position is retried, not reported as a version conflict."""
    handles = [await harness.open_log() for _ in range(8)]
    for round_ in range(3):
        await asyncio.gather(
            *(h.append(f"own-{i}", round_, [event(i=i, r=round_)]) for i, h in enumerate(handles))
        )
    everything = await handles[0].read_all()
    assert positions(everything) == list(range(1, 25))
    assert (await verify_log(handles[0], harness.chain)).ok


async def test_a_reopened_database_continues_the_chain(harness: MongoHarness) -> None:
    first = await harness.open_log()
    await first.append("s", 0, [event(n=1), event(n=2)])
    await first.close()
    again = await harness.open_log()  # create_index on existing indexes must be a no-op
    (third,) = await again.append("s", 2, [event(n=3)])
    assert (third.version, third.position) == (3, 3)
    assert (await verify_log(again, harness.chain)).ok


# --- opening -------------------------------------------------------------------------------------

PASSWORD = "Zebra-Quokka-s3cr3t"


@pytest.mark.parametrize(
    "uri",
    [
        f"mongodb://alice:{PASSWORD}@localhost:notaport/db",
        f"mongodb://alice:{PASSWORD}/x@localhost/db",
        f"mongodb://alice:{PASSWORD}@localhost/db?w=0&journal=true",
        f"http://alice:{PASSWORD}@localhost/db",
        "not a uri at all",
    ],
    ids=["bad-port", "unescaped-slash", "conflicting-options", "wrong-scheme", "garbage"],
)
async def test_a_malformed_uri_is_a_config_error_without_the_password(uri: str) -> None:
    with pytest.raises(ConfigError, match="STORAGE_MONGODB_URI") as caught:
        await MongoEventLog.open(uri, HashChain(bytes(32)))
    assert PASSWORD not in str(caught.value)
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__


async def test_an_unreachable_server_is_a_config_error_without_the_password() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    uri = f"mongodb://alice:{PASSWORD}@127.0.0.1:{port}/db?authSource=admin"
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(ConfigError, match="not reachable") as caught:
        await MongoEventLog.open(uri, HashChain(bytes(32)), server_selection_timeout=0.5)
    assert loop.time() - started < 5
    assert PASSWORD not in str(caught.value)
    assert f"127.0.0.1:{port}" in str(caught.value)
    assert caught.value.__cause__ is None


async def test_the_default_database_is_parako(mongo_db: FreshDatabase) -> None:
    if not on_emulator():
        pytest.skip("would create indexes in the real server's shared 'parako' database")
    uri_without_db = mongo_db.uri.replace(f"/{mongo_db.name}", "/", 1)
    log = await MongoEventLog.open(uri_without_db, HashChain(bytes(32)))
    try:
        assert log.database == "parako"
    finally:
        await log.close()
        client: MongoClient[Document] = MongoClient(uri_without_db)
        client.drop_database("parako")
        client.close()
    named = await MongoEventLog.open(mongo_db.uri, HashChain(bytes(32)))
    try:
        assert named.database == mongo_db.name
    finally:
        await named.close()


async def test_open_creates_the_indexes(harness: MongoHarness) -> None:
    await harness.open_log()
    client: MongoClient[Document] = MongoClient(harness.database.uri)
    try:
        db = client.get_default_database()
        keys = {
            (collection, tuple(index["key"].items()), bool(index.get("unique")))
            for collection in ("events", "snapshots")
            for index in db[collection].list_indexes()
        }
    finally:
        client.close()
    assert (
        "events",
        (("stream", 1), ("first_version", 1)),
        True,
    ) in keys
    assert ("events", (("stream", 1), ("last_version", 1)), True) in keys
    assert ("events", (("last_position", 1),), True) in keys
    assert ("snapshots", (("stream", 1), ("version", 1)), True) in keys
