"""MongoDB change-stream hints on the shared reconnect loop, with a scripted client: a standalone
server's refusal ends the loop quietly, other failures are outages that reconnect, and every
client is closed. (The MongoDB used in CI may be an emulator without change streams.)"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import structlog
from pymongo.errors import AutoReconnect, OperationFailure

from adapters.propagation import mongo_changes
from adapters.propagation.hints import Hint
from adapters.propagation.mongo_changes import MongoChangeStreamHints
from adapters.storage.mongo import EVENTS

INSERT = {"fullDocument": {"stream": "platform", "last_version": 3, "last_position": 7}}


class Sink:
    def __init__(self) -> None:
        self.steps: list[Any] = []

    def hint(self, source: str, hint: Hint | None) -> None:
        self.steps.append(("hint", source, hint))

    def connected(self, source: str) -> None:
        self.steps.append(("connected", source))

    def lost(self, source: str) -> None:
        self.steps.append(("lost", source))


class Stream:
    """A change stream that yields ``changes`` and then fails with ``then``."""

    def __init__(self, changes: list[dict[str, Any]], then: BaseException) -> None:
        self._changes, self._then = changes, then
        self.closed = False

    async def __aenter__(self) -> Stream:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.closed = True

    async def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        for change in self._changes:
            yield change
        raise self._then


def scripted_clients(watches: list[Any], calls: list[str]) -> type:
    """A stand-in for AsyncMongoClient whose ``watch`` calls return or raise ``watches`` in
    turn (and block for ever once they run out); ``calls`` records watches and closes."""
    script = iter(watches)

    class Client:
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            pass

        def get_default_database(self, default: str) -> dict[str, Any]:
            return {EVENTS: self}

        async def watch(self, pipeline: list[Any]) -> Any:
            calls.append("watch")
            outcome = next(script, None)
            if outcome is None:
                await asyncio.Event().wait()
            if isinstance(outcome, BaseException):
                raise outcome
            return outcome

        async def close(self) -> None:
            calls.append("close")

    return Client


async def test_a_standalone_server_ends_the_loop_once_logged(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[str] = []
    refused = OperationFailure("not a replica set", code=40573)
    monkeypatch.setattr(mongo_changes, "AsyncMongoClient", scripted_clients([refused], calls))
    sink = Sink()
    hints = MongoChangeStreamHints("mongodb://db.example/cfg", "me")
    with structlog.testing.capture_logs() as logs:
        await asyncio.wait_for(hints.run(sink), timeout=5)
    assert sink.steps == [("lost", "mongodb")]
    assert calls == ["watch", "close"]
    assert [entry["event"] for entry in logs] == [
        "mongodb change streams unsupported here; relying on polling"
    ]
    assert hints.health.up is None


async def test_changes_are_delivered_and_failures_reconnect(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[str] = []
    stream = Stream([INSERT], AutoReconnect("primary stepped down"))
    denied = OperationFailure("not authorized", code=13)
    monkeypatch.setattr(
        mongo_changes, "AsyncMongoClient", scripted_clients([stream, denied], calls)
    )
    sink = Sink()
    hints = MongoChangeStreamHints("mongodb://db.example/cfg", "me")
    with structlog.testing.capture_logs() as logs:
        task = asyncio.create_task(hints.run(sink))
        for _ in range(200):  # the third watch blocks: two sessions over
            if calls.count("watch") == 3:
                break
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert sink.steps == [
        ("connected", "mongodb"),
        ("hint", "mongodb", Hint("mongodb", "platform", 3, 7)),
        ("lost", "mongodb"),
        ("lost", "mongodb"),
    ]
    assert stream.closed
    assert calls == ["watch", "close"] * 3  # the blocked third client too, on cancellation
    # the first subscription logs nothing (nothing was down), the second failure nothing new
    assert [entry["event"] for entry in logs] == ["mongodb change streams unavailable"]
