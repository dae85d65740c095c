"""The write side through the service API: first start, save, restore, import, reveal, as-of,
snapshots, the key check, encryption at rest and upcasting.

Most tests run once per storage backend (the ``backend`` parameter: real SQLite files, a fresh
database on a real PostgreSQL server, and MongoDB); the few that inspect SQLite files stay
SQLite-only. What the tests read or change behind the service's back goes through
``support.raw_store``, so no SQL or MongoDB query is written here: adding a backend is one entry
in ``tests/support/storages.py`` plus its class in ``tests/support/raw_store.py``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import structlog
from support.raw_store import raw_store, sqlite_file
from support.storages import STORAGES

from adapters.key_store import keyring_from, open_keyed_log
from adapters.service import ConfigService
from adapters.sources.layers import read_sources
from adapters.wiring import open_service
from eventstore import events
from eventstore.commands import Author
from eventstore.errors import ConfigError, ValidationFailed, VersionConflict
from eventstore.events import canonical_json
from eventstore.log import NewEvent
from eventstore.secret import MASK, Secret
from eventstore.state import AUDIT_STREAM, PLATFORM_STREAM
from projections.history import history_from

KEY = "0123456789abcdef" * 4
OTHER_KEY = "fedcba9876543210" * 4
ENVIRON = {"USE_FILE_CONFIG": "false", "ENCRYPTION_KEY": KEY}
ALICE = Author("alice", "rebrand")
CONFLICT = "Configuration was modified by another user. Please refresh the page and try again."
HEX_128 = re.compile(r"[0-9a-f]{128}")
SMTP_PASSWORD = "Sm7p-Pl41ntext-Zebra-Quokka-4471"


# --- storage backends --------------------------------------------------------------------------


@pytest.fixture(params=list(STORAGES))
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def store_environ(backend: str) -> Iterator[dict[str, str]]:
    """The variables that open a fresh store on ``backend`` (root: the test's tmp_path)."""
    with STORAGES[backend]() as variables:
        yield {**ENVIRON, **variables}


def plain(secret: Secret | None) -> str:
    assert secret is not None
    return secret.reveal()


def plain_list(secrets: tuple[Secret, ...] | None) -> list[str]:
    assert secrets is not None
    return [s.reveal() for s in secrets]


def company(service: ConfigService) -> str:
    return service.config.branding.company_name


async def head(service: ConfigService) -> int:
    recorded = await service.recorded_events(None)
    return recorded[-1].position if recorded else 0


async def history(service: ConfigService) -> list[dict[str, Any]]:
    return [v.to_json() for v in history_from(await service.recorded_events())]


@pytest.fixture
async def opened(tmp_path: Path) -> AsyncIterator[list[ConfigService]]:
    """Services a test opens, closed even when it fails."""
    services: list[ConfigService] = []
    yield services
    for service in services:
        await service.close()


@pytest.fixture
async def store(
    tmp_path: Path, store_environ: dict[str, str], opened: list[ConfigService]
) -> ConfigService:
    service = await open_service(tmp_path, store_environ)
    opened.append(service)
    return service


@pytest.fixture
def _restore_logging() -> Iterator[None]:
    """configure_logs=True changes process-wide state; put it back afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)
    structlog.reset_defaults()


# --- first start -------------------------------------------------------------------------------


async def test_first_start_makes_1_0_0_with_generated_secrets_that_persist(
    tmp_path: Path, store_environ: dict[str, str], opened: list[ConfigService]
) -> None:
    first = await open_service(tmp_path, store_environ)
    opened.append(first)
    assert first.version == 1
    entries = await history(first)
    assert [(e["version"], e["_version"], e["last_modified_by"]) for e in entries] == [
        ("1.0.0", 1, "system")
    ]
    secrets = first.config.security.secrets
    jwt, hmac_secret = plain(secrets.jwt_secret), plain(secrets.hmac_secret)
    cookies = plain_list(secrets.cookie_secrets)
    assert HEX_128.fullmatch(jwt)
    assert HEX_128.fullmatch(hmac_secret)
    assert len(cookies) == 2
    assert all(HEX_128.fullmatch(c) for c in cookies)
    assert len({jwt, hmac_secret, *cookies}) == 4
    await first.close()

    again = await open_service(tmp_path, store_environ)
    opened.append(again)
    assert again.version == 1
    reopened = again.config.security.secrets
    assert plain(reopened.jwt_secret) == jwt
    assert plain(reopened.hmac_secret) == hmac_secret
    assert plain_list(reopened.cookie_secrets) == cookies


# --- save --------------------------------------------------------------------------------------


async def test_save_bumps_the_patch_version(store: ConfigService) -> None:
    result = await store.save({"branding": {"companyName": "Acme"}}, ALICE)
    assert (result.version, result.semver, result.appended) == (2, "1.0.1", True)
    assert [(c.path, c.old, c.new) for c in result.changes] == [
        ("branding.companyName", "Your Organization", "Acme")
    ]
    assert store.version == 2
    assert company(store) == "Acme"
    newest = (await history(store))[0]
    assert newest["version"] == "1.0.1"
    assert newest["last_modified_by"] == "alice"
    assert newest["change_reason"] == "rebrand"


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


async def test_unknown_path_is_rejected_by_name_and_nothing_is_appended(
    store: ConfigService,
) -> None:
    before = await head(store)
    with pytest.raises(ValidationFailed) as caught:
        await store.save({"branding": {"companyNmae": "Acme"}}, ALICE)
    assert [i.path for i in caught.value.issues] == ["branding.companyNmae"]
    assert "branding.companyNmae" in str(caught.value)
    assert await head(store) == before
    assert company(store) == "Your Organization"


async def test_bootstrap_only_path_is_stripped_and_reported(store: ConfigService) -> None:
    result = await store.save(
        {"deployment": {"server": {"port": 1234}}, "branding": {"companyName": "Acme"}}, ALICE
    )
    assert result.stripped == ("deployment.server.port",)
    assert [c.path for c in result.changes] == ["branding.companyName"]
    assert store.config.deployment.server.port == 9007
    exported = await store.export()
    assert "port" not in exported["deployment"].get("server", {})


async def test_invalid_value_appends_nothing(store: ConfigService) -> None:
    before = await head(store)
    with pytest.raises(ValidationFailed) as caught:
        await store.save({"branding": {"companyName": 42}}, ALICE)
    assert [i.path for i in caught.value.issues] == ["branding.companyName"]
    assert await head(store) == before
    assert store.version == 1


async def test_expected_version_conflict(store: ConfigService) -> None:
    await store.save({"branding": {"companyName": "Acme"}}, ALICE, expected_version=1)
    before = await head(store)
    with pytest.raises(VersionConflict) as caught:
        await store.save({"branding": {"companyName": "Late"}}, Author("bob", "x"), 1)
    assert str(caught.value) == CONFLICT
    assert (caught.value.expected, caught.value.actual) == (1, 2)
    assert await head(store) == before
    assert company(store) == "Acme"


# --- restore, import, reveal -------------------------------------------------------------------


async def test_restore_of_a_version_beyond_the_last_ten(store: ConfigService) -> None:
    for n in range(1, 15):
        await store.save({"branding": {"companyName": f"Name {n}"}}, ALICE)
    assert store.version == 15
    twelfth_newest = (await history(store))[11]
    assert (twelfth_newest["version"], twelfth_newest["_version"]) == ("1.0.3", 4)
    assert (await store.config_at("1.0.3")).branding.company_name == "Name 3"

    result = await store.restore("1.0.3", Author("bob", "go back"))
    assert (result.version, result.semver) == (16, "1.0.15")
    assert company(store) == "Name 3"
    assert await store.export("1.0.15") == {
        **await store.export("1.0.3"),
        "_export_metadata": {"version": "1.0.15", "_version": 16},
    }
    newest = (await history(store))[0]
    assert newest["restored_from"] == "1.0.3"
    assert newest["origin"] == "restore"
    assert newest["last_modified_by"] == "bob"


async def test_import_of_an_export_keeps_masked_secrets(store: ConfigService) -> None:
    await store.save({"integrations": {"email": {"smtp_password": SMTP_PASSWORD}}}, ALICE)
    jwt = plain(store.config.security.secrets.jwt_secret)
    exported = await store.export()
    assert exported["security"]["secrets"]["jwt_secret"] == MASK
    assert exported["integrations"]["email"]["smtp_password"] == MASK

    exported["branding"]["companyName"] = "Imported Inc"
    result = await store.import_document(exported, Author("carol", "restore backup"))
    assert [c.path for c in result.changes] == ["branding.companyName"]
    assert company(store) == "Imported Inc"
    assert plain(store.config.security.secrets.jwt_secret) == jwt
    assert store.config.integrations.email.smtp_password.reveal() == SMTP_PASSWORD
    newest = (await history(store))[0]
    assert (newest["origin"], newest["last_modified_by"]) == ("import", "carol")


async def test_reveal_is_recorded_in_the_audit_stream(store: ConfigService) -> None:
    await store.save({"integrations": {"email": {"smtp_password": SMTP_PASSWORD}}}, ALICE)
    value = await store.reveal("integrations.email.smtp_password", Author("dave", "debug smtp"))
    assert value == SMTP_PASSWORD
    audit = [events.decode(r) for r in await store.recorded_events(AUDIT_STREAM)]
    assert len(audit) == 1
    [revealed] = audit
    assert isinstance(revealed, events.SecretRevealed)
    assert (revealed.path, revealed.actor, revealed.reason) == (
        "integrations.email.smtp_password",
        "dave",
        "debug smtp",
    )
    recorded = (await store.recorded_events(AUDIT_STREAM))[0].data
    assert SMTP_PASSWORD.encode() not in recorded


# --- as-of -------------------------------------------------------------------------------------


async def test_as_of_by_version_and_by_time(store: ConfigService) -> None:
    await store.save({"branding": {"companyName": "First"}}, ALICE)
    await store.save({"branding": {"companyName": "Second"}}, ALICE)
    assert (await store.config_at("1.0.1")).branding.company_name == "First"
    assert (await store.config_at("1.0.0")).branding.company_name == "Your Organization"
    assert company(store) == "Second"

    by_semver = {e["version"]: e["timestamp"] for e in await history(store)}
    at_first = datetime.fromisoformat(by_semver["1.0.1"])
    assert await store.version_at_time(at_first) == "1.0.1"
    assert await store.version_at_time(at_first - timedelta(days=1)) is None
    assert await store.version_at_time(at_first + timedelta(days=1)) == "1.0.2"

    with pytest.raises(ValidationFailed, match=r"version 1\.0\.9 does not exist"):
        await store.config_at("1.0.9")


# --- snapshots ---------------------------------------------------------------------------------


async def test_snapshots_and_cold_open_after_120_saves(
    tmp_path: Path, store_environ: dict[str, str], store: ConfigService, opened: list[ConfigService]
) -> None:
    for n in range(1, 50):
        await store.save({"branding": {"companyName": f"Save {n}"}}, ALICE)
    assert raw_store(tmp_path, store_environ).snapshot_versions() == [50]
    for n in range(50, 121):
        await store.save({"branding": {"companyName": f"Save {n}"}}, ALICE)
    assert store.version == 121
    assert raw_store(tmp_path, store_environ).snapshot_versions() == [50, 100]

    cold = await open_service(tmp_path, store_environ)
    opened.append(cold)
    assert cold.version == 121
    assert company(cold) == "Save 120"
    assert cold.config == store.config
    assert (await cold.verify()).ok
    await cold.close()

    # the same config when every version is replayed from the first event
    raw_store(tmp_path, store_environ).delete_snapshots()
    replayed = await open_service(tmp_path, store_environ)
    opened.append(replayed)
    assert replayed.config == store.config


# --- keys and encryption at rest ---------------------------------------------------------------


async def test_a_different_encryption_key_is_refused_and_nothing_is_written(
    tmp_path: Path, store_environ: dict[str, str]
) -> None:
    async with await open_service(tmp_path, store_environ) as service:
        await service.save({"branding": {"companyName": "Acme"}}, ALICE)
    before = raw_store(tmp_path, store_environ).contents()
    assert before

    with pytest.raises(ConfigError) as caught:
        await open_service(tmp_path, {**store_environ, "ENCRYPTION_KEY": OTHER_KEY})
    message = str(caught.value)
    assert "ENCRYPTION_KEY does not match this store" in message
    assert KEY not in message
    assert OTHER_KEY not in message
    assert raw_store(tmp_path, store_environ).contents() == before

    async with await open_service(tmp_path, store_environ) as service:
        assert (service.version, company(service)) == (2, "Acme")


@pytest.mark.usefixtures("_restore_logging")
async def test_a_saved_secret_is_never_stored_or_logged_in_clear(
    tmp_path: Path, opened: list[ConfigService]
) -> None:
    environ = {
        **ENVIRON,
        "SECURITY_LOGGING_LEVEL": "trace",
        "SECURITY_LOGGING_PRETTY_PRINT": "false",
        "SECURITY_LOGGING_FILE_LOGGING_ENABLED": "true",
        "SECURITY_LOGGING_FILE_LOGGING_DIRECTORY": "logs",
    }
    service = await open_service(tmp_path, environ, configure_logs=True)
    opened.append(service)
    await service.save({"integrations": {"email": {"smtp_password": SMTP_PASSWORD}}}, ALICE)
    assert service.config.integrations.email.smtp_password.reveal() == SMTP_PASSWORD
    assert await service.reveal("integrations.email.smtp_password", ALICE) == SMTP_PASSWORD
    await service.save({"branding": {"companyName": "After"}}, ALICE)
    secret = SMTP_PASSWORD.encode()

    def files_holding_the_secret() -> list[str]:
        data = sqlite_file(tmp_path).parent
        sqlite_files = [data / n for n in ("parako.db", "parako.db-wal", "parako.db-shm")]
        logs = list((tmp_path / "logs").rglob("*"))
        return [str(p) for p in [*sqlite_files, *logs] if p.is_file() and secret in p.read_bytes()]

    # while open the WAL holds the recent pages
    assert (sqlite_file(tmp_path).parent / "parako.db-wal").stat().st_size > 0
    assert files_holding_the_secret() == []
    await service.close()
    logging.shutdown()
    assert (tmp_path / "logs" / "parako-config.log").stat().st_size > 0  # trace: SQL and all
    assert files_holding_the_secret() == []

    reopened = await open_service(tmp_path, ENVIRON)
    opened.append(reopened)
    assert reopened.config.integrations.email.smtp_password.reveal() == SMTP_PASSWORD


# --- upcasting ---------------------------------------------------------------------------------


async def test_an_event_in_the_v1_shape_is_read_upcast(
    tmp_path: Path, store_environ: dict[str, str], opened: list[ConfigService]
) -> None:
    async with await open_service(tmp_path, store_environ):
        pass
    body = {
        "schema": 1,
        "changes": {"branding.companyName": ["A", "B"]},
        "version": "1.0.1",
        "by": "alice",
        "reason": "r",
        "at": "2026-01-01T00:00:00+00:00",
    }
    sources = read_sources(tmp_path, store_environ)
    log = (await open_keyed_log(sources, keyring_from(sources.bootstrap.environ))).log
    try:
        await log.append(PLATFORM_STREAM, 1, [NewEvent("ConfigChanged", canonical_json(body))])
    finally:
        await log.close()

    service = await open_service(tmp_path, store_environ)
    opened.append(service)
    recorded = (await service.recorded_events())[1]
    event = events.decode(recorded)
    assert isinstance(event, events.ConfigChanged)
    assert (event.actor, event.semver, event.reason, event.origin) == (
        "alice",
        "1.0.1",
        "r",
        "save",
    )
    assert [(c.path, c.old, c.new) for c in event.changes] == [("branding.companyName", "A", "B")]
    assert service.version == 2
    assert company(service) == "B"
    newest = (await history(service))[0]
    assert (newest["version"], newest["last_modified_by"], newest["timestamp"]) == (
        "1.0.1",
        "alice",
        "2026-01-01T00:00:00+00:00",
    )
    assert (await service.verify()).ok
    result = await service.save({"branding": {"companyName": "C"}}, ALICE)
    assert result.semver == "1.0.2"
