"""Runs the EventLog contract against the SQLite adapter, one file per test."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import AsyncIterator, Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import pytest

from adapters.storage.sqlite import SqliteEventLog
from eventstore.hashchain import HashChain
from eventstore.log import EventLog

from .log_contract import EventLogContract


class SqliteHarness:
    """Every handle is a separate SqliteEventLog (own connection) on one file; tampering goes
    through a plain sqlite3 connection, as an attacker with file access would."""

    def __init__(self, path: Path) -> None:
        self.chain = HashChain(os.urandom(32))
        self.path = path
        self._opened: list[SqliteEventLog] = []

    async def open_log(self) -> EventLog:
        log = await SqliteEventLog.open(self.path, self.chain)
        self._opened.append(log)
        return log

    async def close_all(self) -> None:
        for log in self._opened:
            await log.close()

    async def tamper_data(self, position: int) -> None:
        with self._raw() as raw:
            (data,) = raw.execute(
                "SELECT data FROM events WHERE position = ?", (position,)
            ).fetchone()
            flipped = bytes([data[0] ^ 0x01]) + data[1:]
            raw.execute("UPDATE events SET data = ? WHERE position = ?", (flipped, position))

    async def delete_event(self, position: int) -> None:
        with self._raw() as raw:
            raw.execute("DELETE FROM events WHERE position = ?", (position,))

    async def swap_data(self, first: int, second: int) -> None:
        with self._raw() as raw:
            select = "SELECT data FROM events WHERE position = ?"
            (a,) = raw.execute(select, (first,)).fetchone()
            (b,) = raw.execute(select, (second,)).fetchone()
            update = "UPDATE events SET data = ? WHERE position = ?"
            raw.executemany(update, [(b, first), (a, second)])

    @contextmanager
    def _raw(self) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(self.path)) as raw, raw:
            yield raw


class TestSqliteEventLog(EventLogContract):
    @pytest.fixture
    async def harness(self, tmp_path: Path) -> AsyncIterator[SqliteHarness]:
        harness = SqliteHarness(tmp_path / "store" / "events.sqlite3")
        yield harness
        await harness.close_all()
