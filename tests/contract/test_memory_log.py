"""Runs the EventLog contract against the in-memory adapter."""

from __future__ import annotations

import os

import attrs
import pytest

from adapters.storage.memory import MemoryEventLog, MemoryStorage
from eventstore.hashchain import HashChain
from eventstore.log import EventLog, RecordedEvent

from .log_contract import EventLogContract


class MemoryHarness:
    """Tampers by editing the storage's lists, the in-memory equivalent of editing rows."""

    def __init__(self) -> None:
        self.chain = HashChain(os.urandom(32))
        self.storage = MemoryStorage()

    async def open_log(self) -> EventLog:
        return MemoryEventLog(self.chain, storage=self.storage)

    async def tamper_data(self, position: int) -> None:
        old = self._at(position)
        flipped = bytes([old.data[0] ^ 0x01]) + old.data[1:]
        self._replace(old, attrs.evolve(old, data=flipped))

    async def delete_event(self, position: int) -> None:
        old = self._at(position)
        self.storage.events.remove(old)
        self.storage.streams[old.stream].remove(old)

    async def swap_data(self, first: int, second: int) -> None:
        a, b = self._at(first), self._at(second)
        self._replace(a, attrs.evolve(a, data=b.data))
        self._replace(b, attrs.evolve(b, data=a.data))

    def _at(self, position: int) -> RecordedEvent:
        (found,) = [e for e in self.storage.events if e.position == position]
        return found

    def _replace(self, old: RecordedEvent, new: RecordedEvent) -> None:
        for records in (self.storage.events, self.storage.streams[old.stream]):
            records[records.index(old)] = new


class TestMemoryEventLog(EventLogContract):
    @pytest.fixture
    def harness(self) -> MemoryHarness:
        return MemoryHarness()
