"""Rotating ENCRYPTION_KEY: old secrets still open, new ones use the new key, and the hash chain
(keyed by the key the store was created with) still verifies across the rotation."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.wiring import open_service
from eventstore.commands import Author
from eventstore.errors import ConfigError

OLD = "11" * 32
NEW = "22" * 32
SMTP = "integrations.email.smtp_password"
AUTHOR = Author("ops", "rotation test")
BEFORE = {"USE_FILE_CONFIG": "false", "ENCRYPTION_KEY": OLD}
AFTER = {**BEFORE, "ENCRYPTION_KEY": NEW, "ENCRYPTION_KEY_RETIRED": OLD}


async def test_rotation_keeps_secrets_readable_and_the_chain_valid(tmp_path: Path) -> None:
    async with await open_service(tmp_path, BEFORE) as store:
        await store.save({"integrations": {"email": {"smtp_password": "Old-Pa55-Otter"}}}, AUTHOR)

    async with await open_service(tmp_path, AFTER) as store:
        assert await store.reveal(SMTP, AUTHOR) == "Old-Pa55-Otter"
        await store.save({"integrations": {"email": {"smtp_password": "New-Pa55-Heron"}}}, AUTHOR)
        report = await store.verify()
        assert report.ok, report
        assert report.chain.checked == await store.head_position()

    async with await open_service(tmp_path, AFTER) as store:
        assert (await store.verify()).ok
        assert await store.reveal(SMTP, AUTHOR) == "New-Pa55-Heron"


async def test_a_key_the_store_never_had_is_still_refused(tmp_path: Path) -> None:
    async with await open_service(tmp_path, BEFORE):
        pass
    with pytest.raises(ConfigError, match="ENCRYPTION_KEY does not match this store"):
        await open_service(tmp_path, {**BEFORE, "ENCRYPTION_KEY": NEW})
