"""The write side through the service API on MongoDB (STORAGE_ADAPTER=mongodb): first start, save,
no-op save, version conflict, restore, import, verify and reopen, one fresh database per test.

Which MongoDB this runs on (a real server or the nx-27017 emulator) is printed in the report
header; see ``tests/mongo_server.py``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from mongo_server import FreshDatabase, mongo_db
from pymongo import MongoClient

from adapters.mongo_log import MongoEventLog
from adapters.service import ConfigService
from eventstore.commands import Author
from eventstore.errors import ConfigError, VersionConflict
from eventstore.secret import MASK
from projections.history import history_from

__all__ = ["mongo_db"]  # the fixture is used by name

KEY = "0123456789abcdef" * 4
ALICE = Author("alice", "rebrand")
CONFLICT = "Configuration was modified by another user. Please refresh the page and try again."
SMTP_PASSWORD = "Sm7p-Pl41ntext-Zebra-Quokka-4471"


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
async def open_store(tmp_path: Path, mongo_db: FreshDatabase, opened: list[ConfigService]) -> Any:
    async def open_() -> ConfigService:
        service = await ConfigService.open(tmp_path, environ_for(mongo_db))
        opened.append(service)
        return service

    return open_


@pytest.fixture
async def store(open_store: Any) -> ConfigService:
    service: ConfigService = await open_store()
    return service


async def test_first_start_is_1_0_0_and_uses_mongodb(
    store: ConfigService, mongo_db: FreshDatabase
) -> None:
    assert store.version == 1
    entries = await history(store)
    assert [(e["version"], e["_version"], e["last_modified_by"]) for e in entries] == [
        ("1.0.0", 1, "system")
    ]
    assert isinstance(store._log, MongoEventLog)
    client: MongoClient[dict[str, Any]] = MongoClient(mongo_db.uri)
    try:
        db = client.get_default_database()
        assert db.name == mongo_db.name
        assert db["events"].count_documents({}) >= 1
        assert db["meta"].find_one({"_id": "encryption-key-id"}) is not None
    finally:
        client.close()


async def test_save_bumps_the_version(store: ConfigService) -> None:
    result = await store.save({"branding": {"companyName": "Acme"}}, ALICE)
    assert (result.version, result.semver, result.appended) == (2, "1.0.1", True)
    assert store.version == 2
    assert company(store) == "Acme"
    newest = (await history(store))[0]
    assert (newest["version"], newest["last_modified_by"], newest["change_reason"]) == (
        "1.0.1",
        "alice",
        "rebrand",
    )


async def test_a_save_that_changes_nothing_appends_nothing(store: ConfigService) -> None:
    await store.save({"branding": {"companyName": "Acme"}}, ALICE)
    before = await head(store)
    result = await store.save({"branding": {"companyName": "Acme"}}, Author("bob", "again"))
    assert (result.version, result.semver, result.appended, result.changes) == (
        2,
        "1.0.1",
        False,
        (),
    )
    assert await head(store) == before
    assert store.version == 2


async def test_expected_version_conflict(store: ConfigService, open_store: Any) -> None:
    other: ConfigService = await open_store()  # a second process with its own client
    await store.save({"branding": {"companyName": "Acme"}}, ALICE, expected_version=1)
    before = await head(store)
    with pytest.raises(VersionConflict) as caught:
        await other.save({"branding": {"companyName": "Late"}}, Author("bob", "x"), 1)
    assert str(caught.value) == CONFLICT
    assert (caught.value.expected, caught.value.actual) == (1, 2)
    assert await head(store) == before
    await other.catch_up()
    assert company(other) == "Acme"


async def test_restore(store: ConfigService) -> None:
    for n in range(1, 5):
        await store.save({"branding": {"companyName": f"Name {n}"}}, ALICE)
    result = await store.restore("1.0.2", Author("bob", "go back"))
    assert (result.version, result.semver) == (6, "1.0.5")
    assert company(store) == "Name 2"
    newest = (await history(store))[0]
    assert (newest["restored_from"], newest["origin"], newest["last_modified_by"]) == (
        "1.0.2",
        "restore",
        "bob",
    )


async def test_import_of_an_export_keeps_masked_secrets(store: ConfigService) -> None:
    await store.save({"integrations": {"email": {"smtp_password": SMTP_PASSWORD}}}, ALICE)
    exported = await store.export()
    assert exported["integrations"]["email"]["smtp_password"] == MASK

    exported["branding"]["companyName"] = "Imported Inc"
    result = await store.import_document(exported, Author("carol", "restore backup"))
    assert [c.path for c in result.changes] == ["branding.companyName"]
    assert company(store) == "Imported Inc"
    assert store.config.integrations.email.smtp_password.reveal() == SMTP_PASSWORD
    newest = (await history(store))[0]
    assert (newest["origin"], newest["last_modified_by"]) == ("import", "carol")


async def test_verify_and_reopen_see_the_same_config(
    store: ConfigService, open_store: Any, mongo_db: FreshDatabase
) -> None:
    for n in range(1, 8):
        await store.save({"branding": {"companyName": f"Save {n}"}}, ALICE)
    report = await store.verify()
    assert report.ok, report
    assert report.head == await head(store)
    await store.close()

    reopened: ConfigService = await open_store()
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
        await ConfigService.open(tmp_path, environ)
