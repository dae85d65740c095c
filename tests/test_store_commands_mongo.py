"""What only MongoDB shows through the service API (STORAGE_ADAPTER=mongodb): the store really is
in the database named by the URI, secrets never reach it in clear, a missing URI is refused. The
backend-neutral command tests (save, no-op, conflict, restore, import, snapshots, key refusal,
upcasting) run on MongoDB too, from ``tests/test_store_commands.py``.

Which MongoDB this runs on (a real server or the nx-27017 emulator) is printed in the report
header; see ``tests/support/mongo_server.py``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from pymongo import MongoClient
from support.mongo_server import FreshDatabase, mongo_db

from adapters.service import ConfigService
from adapters.storage.mongo import MongoEventLog
from adapters.wiring import open_service
from eventstore.commands import Author
from eventstore.errors import ConfigError
from projections.history import history_from

__all__ = ["mongo_db"]  # the fixture is used by name

KEY = "0123456789abcdef" * 4
ALICE = Author("alice", "rebrand")
SMTP_PASSWORD = "Sm7p-Pl41ntext-Zebra-Quokka-4471"


#: opens another service on the test's database (and closes it after the test)
OpenStore = Callable[[], Awaitable[ConfigService]]


def environ_for(database: FreshDatabase) -> dict[str, str]:
    return {
        "USE_FILE_CONFIG": "false",
        "ENCRYPTION_KEY": KEY,
        "STORAGE_ADAPTER": "mongodb",
        "STORAGE_MONGODB_URI": database.uri,
    }


def company(service: ConfigService) -> str:
    return service.config.branding.company_name


async def head(service: ConfigService) -> int:
    recorded = await service.recorded_events(None)
    return recorded[-1].position if recorded else 0


async def history(service: ConfigService) -> list[dict[str, Any]]:
    return [v.to_json() for v in history_from(await service.recorded_events())]


@pytest.fixture
async def opened() -> AsyncIterator[list[ConfigService]]:
    """Services a test opens, closed even when it fails."""
    services: list[ConfigService] = []
    yield services
    for service in services:
        await service.close()


@pytest.fixture
async def open_store(
    tmp_path: Path, mongo_db: FreshDatabase, opened: list[ConfigService]
) -> OpenStore:
    async def open_() -> ConfigService:
        service = await open_service(tmp_path, environ_for(mongo_db))
        opened.append(service)
        return service

    return open_


@pytest.fixture
async def store(open_store: OpenStore) -> ConfigService:
    return await open_store()


async def test_first_start_is_1_0_0_and_uses_mongodb(
    store: ConfigService, mongo_db: FreshDatabase
) -> None:
    assert store.version == 1
    entries = await history(store)
    assert [(e["version"], e["_version"], e["last_modified_by"]) for e in entries] == [
        ("1.0.0", 1, "system")
    ]
    assert isinstance(store._raw_log(), MongoEventLog)
    client: MongoClient[dict[str, Any]] = MongoClient(mongo_db.uri)
    try:
        db = client.get_default_database()
        assert db.name == mongo_db.name
        assert db["events"].count_documents({}) >= 1
        assert db["meta"].find_one({"_id": "data-keys"}) is not None
    finally:
        client.close()


async def test_verify_and_reopen_see_the_same_config(
    store: ConfigService, open_store: OpenStore, mongo_db: FreshDatabase
) -> None:
    for n in range(1, 8):
        await store.save({"branding": {"companyName": f"Save {n}"}}, ALICE)
    report = await store.verify()
    assert report.ok, report
    assert report.head == await head(store)
    await store.close()

    reopened = await open_store()
    assert reopened.version == 8
    assert company(reopened) == "Save 7"
    assert reopened.config == store.config
    assert (await reopened.verify()).ok

    # the secret never reaches the database in clear
    await reopened.save({"integrations": {"email": {"smtp_password": SMTP_PASSWORD}}}, ALICE)
    client: MongoClient[dict[str, Any]] = MongoClient(mongo_db.uri)
    try:
        batches = list(client.get_default_database()["events"].find({}))
    finally:
        client.close()
    stored = b"".join(bytes(e["data"]) for b in batches for e in b["events"])
    assert SMTP_PASSWORD.encode() not in stored


async def test_a_missing_uri_is_a_config_error(tmp_path: Path) -> None:
    environ = {"USE_FILE_CONFIG": "false", "ENCRYPTION_KEY": KEY, "STORAGE_ADAPTER": "mongodb"}
    with pytest.raises(ConfigError, match="STORAGE_MONGODB_URI"):
        await open_service(tmp_path, environ)
