"""Rotating ENCRYPTION_KEY (D26 in docs/decisions.md): ``rotate-key`` wraps the store's data keys
by a new key in one meta write. Every event still decrypts and verifies, the log is not touched,
the old key opens nothing, console cookies survive; a store of the previous format (keys derived
from ENCRYPTION_KEY, no data keys) is upgraded in place on its first open, its log untouched, and
the retired-key mechanism of that release still carries it through the upgrade."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from support.api_support import serving
from support.previous_release import write_as_previous_release
from support.raw_store import raw_store
from support.storages import STORAGES, env_lines

from adapters.cli.keys import rotate, rotate_key
from adapters.key_store import DATA_KEYS_META, KEY_ID_META, LateChain, Rotation
from adapters.sources.layers import read_sources
from adapters.storage.opening import open_log
from adapters.wiring import open_service
from eventstore.commands import Author
from eventstore.crypto import key_id, parse_encryption_key
from eventstore.errors import ConfigError

OLD = "11" * 32
NEW = "22" * 32
NEWER = "33" * 32
SMTP = "integrations.email.smtp_password"
AUTHOR = Author("ops", "rotation test")
PASSWORDS = ("Old-Pa55-Otter", "Old-Pa55-Badger", "Old-Pa55-Marten")
BEFORE = {"USE_FILE_CONFIG": "false", "ENCRYPTION_KEY": OLD}
AFTER = {**BEFORE, "ENCRYPTION_KEY": NEW, "ENCRYPTION_KEY_RETIRED": OLD}
_CSRF = re.compile(r'name="_csrf" value="([^"]+)"')


def kid(key: str) -> str:
    return key_id(parse_encryption_key(key))


def keyed(storage: Mapping[str, str], key: str, **more: str) -> dict[str, str]:
    return {"USE_FILE_CONFIG": "false", **storage, "ENCRYPTION_KEY": key, **more}


def secret_change(password: str) -> dict[str, object]:
    return {"integrations": {"email": {"smtp_password": password}}}


@pytest.fixture(params=list(STORAGES))
def storage(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    with STORAGES[request.param]() as variables:
        yield variables


async def meta(root: Path, environ: Mapping[str, str], key: str) -> bytes | None:
    log = await open_log(read_sources(root, environ), LateChain())
    try:
        return await log.read_meta(key)
    finally:
        await log.close()


async def check_every_version(
    root: Path, environ: Mapping[str, str], secrets: Mapping[str, str]
) -> None:
    """Each version's secret decrypts to what was saved, and the whole log verifies."""
    async with await open_service(root, environ) as store:
        for semver, password in secrets.items():
            document = await store.plaintext_at(semver)
            assert document["integrations"]["email"]["smtp_password"] == password, semver
        report = await store.verify()
        assert report.ok, report
        assert report.chain.checked == await store.head_position()


# --- rotate-key ------------------------------------------------------------------------------


async def test_rotation_keeps_every_event_readable_and_the_log_untouched(
    tmp_path: Path, storage: dict[str, str]
) -> None:
    old, new = keyed(storage, OLD), keyed(storage, NEW)
    async with await open_service(tmp_path, old) as store:
        secrets = {(await store.save(secret_change(p), AUTHOR)).semver: p for p in PASSWORDS}
    raw = raw_store(tmp_path, old)
    before = raw.log()

    rotation = await rotate(tmp_path, {**old, "NEW_ENCRYPTION_KEY": NEW})

    assert rotation == Rotation(kid(OLD), kid(NEW))
    assert raw.log() == before  # not one event, link or checkpoint rewritten
    await check_every_version(tmp_path, new, secrets)
    with pytest.raises(ConfigError, match="ENCRYPTION_KEY does not match this store"):
        await open_service(tmp_path, old)
    async with await open_service(tmp_path, new) as store:
        semver = (await store.save(secret_change("New-Pa55-Heron"), AUTHOR)).semver
    await check_every_version(tmp_path, new, {**secrets, semver: "New-Pa55-Heron"})

    # and again: each rotation leaves only the newest key able to open the store
    await rotate(tmp_path, {**new, "NEW_ENCRYPTION_KEY": NEWER})
    await check_every_version(
        tmp_path, keyed(storage, NEWER), {**secrets, semver: "New-Pa55-Heron"}
    )
    for key in (OLD, NEW):
        with pytest.raises(ConfigError, match="ENCRYPTION_KEY does not match this store"):
            await open_service(tmp_path, keyed(storage, key))


async def test_a_rotation_writes_one_meta_record_and_nothing_else(tmp_path: Path) -> None:
    async with await open_service(tmp_path, BEFORE) as store:
        await store.save(secret_change(PASSWORDS[0]), AUTHOR)
    record = await meta(tmp_path, BEFORE, DATA_KEYS_META)
    assert record is not None
    assert json.loads(record)["wrapped_by"] == kid(OLD)

    await rotate(tmp_path, {**BEFORE, "NEW_ENCRYPTION_KEY": NEW})

    rotated = await meta(tmp_path, BEFORE, DATA_KEYS_META)
    assert rotated is not None
    assert rotated != record
    assert json.loads(rotated)["wrapped_by"] == kid(NEW)
    for key in (OLD, NEW):  # no key material, in any spelling
        assert key.encode() not in rotated
        assert parse_encryption_key(key) not in rotated
    assert await meta(tmp_path, BEFORE, KEY_ID_META) is None  # a new store never had one


async def test_a_key_the_store_never_had_is_still_refused(tmp_path: Path) -> None:
    async with await open_service(tmp_path, BEFORE):
        pass
    with pytest.raises(ConfigError, match="ENCRYPTION_KEY does not match this store") as caught:
        await open_service(tmp_path, {**BEFORE, "ENCRYPTION_KEY": NEW})
    assert f"wrapped by key {kid(OLD)}, and ENCRYPTION_KEY is key {kid(NEW)}" in str(caught.value)


async def test_a_retired_key_opens_no_store_with_data_keys(tmp_path: Path) -> None:
    """The previous release's rotation (new key current, old one retired) is not a rotation of
    data keys: the store is refused with the way to rotate, not half-opened."""
    async with await open_service(tmp_path, BEFORE):
        pass
    with pytest.raises(ConfigError) as caught:
        await open_service(tmp_path, AFTER)
    message = str(caught.value)
    assert f"Key {kid(OLD)} is listed in ENCRYPTION_KEY_RETIRED" in message
    assert "parako-config rotate-key" in message


# --- the previous format -----------------------------------------------------------------------


async def test_a_store_of_the_previous_format_is_upgraded_in_place(
    tmp_path: Path, storage: dict[str, str]
) -> None:
    old, new = keyed(storage, OLD), keyed(storage, NEW)
    versions = await write_as_previous_release(tmp_path, old, [secret_change(p) for p in PASSWORDS])
    secrets = dict(zip(versions[1:], PASSWORDS, strict=True))
    raw = raw_store(tmp_path, old)
    before = raw.log()
    fingerprint = await meta(tmp_path, old, KEY_ID_META)
    assert fingerprint == kid(OLD).encode()
    assert await meta(tmp_path, old, DATA_KEYS_META) is None

    await check_every_version(tmp_path, old, secrets)  # the first open upgrades

    record = await meta(tmp_path, old, DATA_KEYS_META)
    assert record is not None
    assert json.loads(record)["origin"] == "derived"
    assert raw.log() == before  # the upgrade rewrote nothing in the log
    assert await meta(tmp_path, old, KEY_ID_META) == fingerprint

    rotation = await rotate(tmp_path, {**old, "NEW_ENCRYPTION_KEY": NEW})
    assert rotation.derived_from == (kid(OLD),)
    await check_every_version(tmp_path, new, secrets)
    assert raw.log() == before
    with pytest.raises(ConfigError, match="ENCRYPTION_KEY does not match this store"):
        await open_service(tmp_path, old)


async def test_a_store_of_the_previous_format_can_be_rotated_before_its_first_open(
    tmp_path: Path,
) -> None:
    """rotate-key on a store that was never opened by this release stores its derived keys
    wrapped by the new key directly: still one write."""
    versions = await write_as_previous_release(tmp_path, BEFORE, [secret_change(PASSWORDS[0])])
    await rotate(tmp_path, {**BEFORE, "NEW_ENCRYPTION_KEY": NEW})
    await check_every_version(
        tmp_path, {**BEFORE, "ENCRYPTION_KEY": NEW}, {versions[1]: PASSWORDS[0]}
    )
    with pytest.raises(ConfigError, match="ENCRYPTION_KEY does not match this store"):
        await open_service(tmp_path, BEFORE)


async def test_the_retired_key_mechanism_carries_a_previous_store_through_the_upgrade(
    tmp_path: Path,
) -> None:
    """A store the previous release rotated its way (new key current, old one retired): old
    envelopes were made with the old key, newer ones with the new key, the chain is keyed by
    the old key. Its upgrade stores all of them, after which the retired key is not needed."""
    first = await write_as_previous_release(tmp_path, BEFORE, [secret_change("Old-Pa55-Otter")])
    second = await write_as_previous_release(tmp_path, AFTER, [secret_change("New-Pa55-Heron")])
    secrets = {first[1]: "Old-Pa55-Otter", second[0]: "New-Pa55-Heron"}

    async with await open_service(tmp_path, AFTER) as store:
        assert await store.reveal(SMTP, AUTHOR) == "New-Pa55-Heron"
        third = (await store.save(secret_change("Newer-Pa55-Stoat"), AUTHOR)).semver
    secrets[third] = "Newer-Pa55-Stoat"

    without_retired = {**BEFORE, "ENCRYPTION_KEY": NEW}
    await check_every_version(tmp_path, without_retired, secrets)
    record = await meta(tmp_path, without_retired, DATA_KEYS_META)
    assert record is not None
    assert [entry["id"] for entry in json.loads(record)["field"]] == [kid(NEW), kid(OLD)]


# --- the command line --------------------------------------------------------------------------


def test_rotate_key_on_the_command_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "runtime").mkdir()
    (tmp_path / "runtime" / ".env").write_text(env_lines(BEFORE), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    asyncio.run(_save(tmp_path, BEFORE, PASSWORDS[0]))
    runner = CliRunner()
    hermetic = {"ENCRYPTION_KEY": None, "ENCRYPTION_KEY_RETIRED": None, "STORAGE_ADAPTER": None}

    done = runner.invoke(rotate_key, [], env={**hermetic, "NEW_ENCRYPTION_KEY": NEW})
    assert done.exit_code == 0, done.output
    assert done.stdout == (
        f"rotated: data keys now wrapped by key {kid(NEW)}; the old key opens nothing\n"
    )
    assert "set ENCRYPTION_KEY to the new key" in done.stderr
    assert "runtime/.env" in done.stderr
    for key in (OLD, NEW):
        assert key not in done.output
    assert (tmp_path / "runtime" / ".env").read_text() == env_lines(BEFORE)  # not edited

    # runtime/.env still names the old key: it opens nothing now
    done = runner.invoke(rotate_key, [], env={**hermetic, "NEW_ENCRYPTION_KEY": NEWER})
    assert done.exit_code == 1
    assert done.stdout == ""
    assert done.stderr.startswith("error: ENCRYPTION_KEY does not match this store: ")
    assert len(done.stderr.strip().splitlines()) == 1

    environ = {**hermetic, "ENCRYPTION_KEY": NEW, "NEW_ENCRYPTION_KEY": NEWER}
    done = runner.invoke(rotate_key, ["--json"], env=environ)
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout) == {
        "rotated": True,
        "wrapped_by": kid(NEWER),
        "previous_key_id": kid(NEW),
    }
    asyncio.run(check_every_version(tmp_path, {**BEFORE, "ENCRYPTION_KEY": NEWER}, {}))


@pytest.mark.parametrize(
    ("new_key", "expected"),
    [
        (None, "NEW_ENCRYPTION_KEY is not set. Generate one with: openssl rand -hex 32"),
        ("22" * 31, "NEW_ENCRYPTION_KEY must be 32 bytes written as 64 hexadecimal characters"),
        (OLD, "NEW_ENCRYPTION_KEY is the key ENCRYPTION_KEY already holds"),
    ],
    ids=["missing", "malformed", "the current key"],
)
def test_rotate_key_refuses_bad_input_with_exit_2_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, new_key: str | None, expected: str
) -> None:
    monkeypatch.chdir(tmp_path)
    asyncio.run(_save(tmp_path, BEFORE, PASSWORDS[0]))
    before = raw_store(tmp_path, BEFORE).contents()
    environ = {
        **BEFORE,
        "ENCRYPTION_KEY_RETIRED": None,
        "STORAGE_ADAPTER": None,
        "NEW_ENCRYPTION_KEY": new_key,
    }
    done = CliRunner().invoke(rotate_key, [], env=environ)
    assert done.exit_code == 2, done.output
    assert done.stdout == ""
    assert done.stderr.removeprefix("error: ").startswith(f"rotate-key: {expected}")
    assert len(done.stderr.strip().splitlines()) == 1
    assert "Traceback" not in done.output
    assert raw_store(tmp_path, BEFORE).contents() == before


async def _save(root: Path, environ: Mapping[str, str], password: str) -> None:
    async with await open_service(root, environ) as store:
        await store.save(secret_change(password), AUTHOR)


# --- the console -------------------------------------------------------------------------------


def sign_in(base_url: str, token: str) -> httpx.Cookies:
    with httpx.Client(base_url=base_url, follow_redirects=False, timeout=30) as browser:
        form = browser.get("/admin/login")
        found = _CSRF.search(form.text)
        assert found, form.text[:300]
        signed = browser.post("/admin/login", data={"_csrf": found.group(1), "token": token})
        assert signed.status_code == 303, signed.text
        return browser.cookies


def test_a_console_cookie_made_before_the_rotation_still_works_after_it(tmp_path: Path) -> None:
    """The cookie key is a data key: a rotation re-wraps it, it does not change it."""
    with serving(tmp_path, {"ENCRYPTION_KEY": OLD}) as api:
        cookies = sign_in(api.base_url, api.token("alice"))
        with httpx.Client(base_url=api.base_url, cookies=cookies, timeout=30) as browser:
            assert browser.get("/admin/settings", follow_redirects=False).status_code == 200

    asyncio.run(rotate(tmp_path, {**BEFORE, "NEW_ENCRYPTION_KEY": NEW}))

    with serving(tmp_path, {"ENCRYPTION_KEY": NEW}) as api:
        with httpx.Client(base_url=api.base_url, cookies=cookies, timeout=30) as browser:
            page = browser.get("/admin/settings", follow_redirects=False)
        with httpx.Client(base_url=api.base_url, timeout=30) as anonymous:
            refused = anonymous.get("/admin/settings", follow_redirects=False)
    assert page.status_code == 200, page.headers.get("location")
    assert refused.status_code in (302, 303)  # the page does need a session
