"""The key hierarchy (D26 in docs/decisions.md): a leaked ENCRYPTION_KEY after its rotation, an
old key presented again, a data-keys record edited in the database, a cookie signed the old way,
and bad input to ``rotate-key``."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st
from support.raw_store import raw_store

from adapters.admin.sessions import SessionKeys
from adapters.cli.keys import rotate, rotate_key
from adapters.key_store import DATA_KEYS_META, LateChain
from adapters.sources.layers import read_sources
from adapters.storage.opening import open_log
from adapters.wiring import chain_for, open_service, open_verifier
from eventstore.commands import PLATFORM_SCOPE, Author
from eventstore.crypto import (
    DecryptionError,
    FieldCipher,
    Keyring,
    key_id,
    parse_encryption_key,
)
from eventstore.errors import ConfigError
from eventstore.hashchain import verify_log
from eventstore.keys import KeyRecordError, generate_data_keys, unwrap_data_keys, wrap_data_keys

OLD = "4c" * 32
NEW = "9e" * 32
STORE = {"USE_FILE_CONFIG": "false", "ENCRYPTION_KEY": OLD, "STORAGE_ADAPTER": "sqlite"}
ROTATED = {**STORE, "ENCRYPTION_KEY": NEW}
SMTP = "integrations.email.smtp_password"
PASSWORD = "Sm7p-Leaked-Key-Target"
AUTHOR = Author("mallory", "attack")


async def _store_with_a_secret(root: Path) -> None:
    async with await open_service(root, STORE) as store:
        await store.save({"integrations": {"email": {"smtp_password": PASSWORD}}}, AUTHOR)


async def _meta(root: Path, environ: Mapping[str, str]) -> bytes:
    log = await open_log(read_sources(root, environ), LateChain())
    try:
        record = await log.read_meta(DATA_KEYS_META)
    finally:
        await log.close()
    assert record is not None
    return record


async def _write_meta(root: Path, environ: Mapping[str, str], record: bytes) -> None:
    """What someone with write access to the database can do to the record."""
    log = await open_log(read_sources(root, environ), LateChain())
    try:
        await log.write_meta(DATA_KEYS_META, record)
    finally:
        await log.close()


async def test_a_leaked_key_opens_nothing_after_rotation(tmp_path: Path) -> None:
    await _store_with_a_secret(tmp_path)
    leaked = parse_encryption_key(OLD)
    unwrap_data_keys(await _meta(tmp_path, STORE), leaked)  # before: it opened everything
    await rotate(tmp_path, {**STORE, "NEW_ENCRYPTION_KEY": NEW})

    # with a copy of the database taken after the rotation, the leaked key:
    with pytest.raises(KeyRecordError):  # ... does not unwrap the data keys
        unwrap_data_keys(await _meta(tmp_path, STORE), leaked)
    with pytest.raises(ConfigError, match="does not match this store"):  # ... opens no service
        await open_service(tmp_path, STORE)
    async with await open_service(tmp_path, ROTATED) as store:
        envelope = (await store.stored_at()).document["integrations"]["email"]["smtp_password"]
        raw_log = store._raw_log()
        # ... derives no field key that decrypts a stored secret (the envelope relabelled as
        # made by it, so the derived key is the one tried)
        prefix, version, _kid, nonce, sealed = envelope.split(":")
        relabelled = ":".join((prefix, version, key_id(leaked), nonce, sealed))
        with pytest.raises(DecryptionError):
            FieldCipher(Keyring(leaked)).decrypt(relabelled, scope=PLATFORM_SCOPE, path=SMTP)
        # ... derives no chain key that could sign a forged event
        assert not (await verify_log(raw_log, chain_for(leaked))).ok
        # ... signs no console cookie
        forged = SessionKeys(leaked).issue("admin", "0" * 64)
        assert store.cookie_key is not None
        assert SessionKeys(store.cookie_key).read(forged) is None
        assert await store.reveal(SMTP, AUTHOR) == PASSWORD  # while the new key opens it all


async def test_the_old_key_alone_is_refused_before_any_write(tmp_path: Path) -> None:
    await _store_with_a_secret(tmp_path)
    await rotate(tmp_path, {**STORE, "NEW_ENCRYPTION_KEY": NEW})
    before = raw_store(tmp_path, STORE).contents()
    for attempt in (
        open_service(tmp_path, STORE),
        open_verifier(tmp_path, STORE),
        rotate(tmp_path, {**STORE, "NEW_ENCRYPTION_KEY": "77" * 32}),
        open_service(tmp_path, {**STORE, "ENCRYPTION_KEY_RETIRED": NEW}),
    ):
        with pytest.raises(ConfigError) as caught:
            await attempt
        message = str(caught.value)
        assert message.startswith("ENCRYPTION_KEY does not match this store: its data keys are")
        assert OLD not in message
        assert NEW not in message
    assert raw_store(tmp_path, STORE).contents() == before


@pytest.mark.parametrize(
    "where", ["the hash chain key", "the wrapping key id", "the version", "a field key id"]
)
async def test_a_wrapped_key_record_that_was_tampered_with_is_refused(
    tmp_path: Path, where: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _store_with_a_secret(tmp_path)
    record = await _meta(tmp_path, STORE)
    anchor = {
        "the hash chain key": b'"hash_chain":"',
        "the wrapping key id": b'"wrapped_by":"',
        "the version": b'"version":',
        "a field key id": b'"id":"',
    }[where]
    index = record.index(anchor) + len(anchor)
    flipped = record[:index] + bytes([record[index] ^ 0x01]) + record[index + 1 :]
    await _write_meta(tmp_path, STORE, flipped)
    before = raw_store(tmp_path, STORE).contents()

    with pytest.raises(ConfigError) as caught:
        await open_service(tmp_path, STORE)
    assert "data keys" in str(caught.value)
    assert "\n" not in str(caught.value)

    monkeypatch.chdir(tmp_path)
    done = await asyncio.to_thread(
        CliRunner().invoke, rotate_key, [], env={**STORE, "NEW_ENCRYPTION_KEY": NEW}
    )
    assert done.exit_code == 1, done.output
    assert "Traceback" not in done.output
    assert len(done.stderr.strip().splitlines()) == 1
    assert raw_store(tmp_path, STORE).contents() == before


@pytest.mark.parametrize("new_key", ["", "9e" * 31, "9E" * 32 + " ", "zz" * 32, "A" * 44])
def test_rotate_key_with_a_malformed_new_key_exits_2_naming_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, new_key: str
) -> None:
    asyncio.run(_store_with_a_secret(tmp_path))
    before = raw_store(tmp_path, STORE).contents()
    monkeypatch.chdir(tmp_path)
    done = CliRunner().invoke(rotate_key, ["--json"], env={**STORE, "NEW_ENCRYPTION_KEY": new_key})
    assert done.exit_code == 2, done.output
    assert done.stdout == ""
    assert done.stderr.removeprefix("error: ").startswith("rotate-key: NEW_ENCRYPTION_KEY ")
    assert len(done.stderr.strip().splitlines()) == 1
    if new_key.strip():
        assert new_key.strip() not in done.stderr
    assert raw_store(tmp_path, STORE).contents() == before


#: bytes a decoder might read as another spelling of the same thing: base64's other alphabet
#: and padding, JSON's whitespace, a digit's neighbours
_LOOKALIKES = b"+/-_= \t\n\r01289afAF"


@given(data=st.data())
def test_any_single_byte_change_of_a_wrapped_record_fails_to_unwrap(data: st.DataObject) -> None:
    master = data.draw(st.binary(min_size=32, max_size=32), label="master")
    record = wrap_data_keys(generate_data_keys(), master)
    index = data.draw(st.integers(0, len(record) - 1), label="index")
    values = st.one_of(st.sampled_from(list(_LOOKALIKES)), st.integers(0, 255))
    value = data.draw(values.filter(lambda b: b != record[index]), label="byte")
    changed = record[:index] + bytes([value]) + record[index + 1 :]
    with pytest.raises(KeyRecordError):
        unwrap_data_keys(changed, master)


def test_no_lookalike_byte_anywhere_in_a_record_slips_through() -> None:
    """The same, exhaustively over every position for the bytes most likely to slip through."""
    master = bytes(range(32))
    record = wrap_data_keys(generate_data_keys(), master)
    for index, original in enumerate(record):
        for value in {*_LOOKALIKES, original ^ 0x01, original ^ 0x20}:
            if value == original:
                continue
            changed = record[:index] + bytes([value]) + record[index + 1 :]
            with pytest.raises(KeyRecordError):
                unwrap_data_keys(changed, master)
