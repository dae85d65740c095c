"""``parako-config backup``, ``verify --file`` and ``restore-log``: the event log as a file.

A backup is the whole log as JSON Lines (:mod:`adapters.storage.backup`). It verifies offline
with the key, and loads into an empty store of any adapter with every link intact, which is
also how an installation moves from SQLite to PostgreSQL: back up, point ``STORAGE_ADAPTER`` at
the new store, restore.

Exit codes as everywhere: 2 for bad input (a missing or malformed file, a target store that is
not empty, a backup that exists without ``--force``), 1 when integrity fails (the backup or the
store does not verify, the key does not open it). Each error is one line on stderr.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Final

import click

from adapters.cli.reports import print_report, report_lines
from adapters.cli.support import HELP, guarded
from adapters.key_store import DATA_KEYS_META, KEY_ID_META, keyring_from, open_keyed_log
from adapters.sources.bootstrap import project_root
from adapters.sources.env_files import read_env
from adapters.sources.layers import Sources, read_sources
from adapters.storage.backup import (
    BackupHeader,
    BackupReader,
    PinnedChain,
    RestoreMismatchError,
    check_backup,
    load_backup,
    write_backup,
)
from adapters.storage.opening import open_log
from adapters.wiring import chain_for
from eventstore.crypto import CURRENT_KEY_VAR, RETIRED_KEYS_VAR, Keyring
from eventstore.errors import ConfigError, ValidationFailed
from eventstore.hashchain import HashChain
from eventstore.keys import (
    DataKeys,
    KeyRecordError,
    record_key_id,
    unwrap_data_keys,
    wrap_data_keys,
)
from eventstore.log import utc_now
from projections.verification import ExpectedHead, verify_log

_FILE_MODE: Final = 0o600


@click.command(context_settings=HELP)
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--force", is_flag=True, help="replace FILE if it exists")
def backup(file: Path, force: bool) -> None:
    """Write the whole event log to FILE (JSON Lines, readable by its owner only).

    \b
    Example:
      parako-config backup parako-log.jsonl --force
    """

    async def run() -> None:
        sources, keyring = _store_sources("backup")
        # refuses a store made with another key; a store of the previous format is upgraded
        keyed = await open_keyed_log(sources, keyring)
        log = keyed.log
        try:
            data_keys = await log.read_meta(DATA_KEYS_META)
            assert data_keys is not None  # opening found or stored it
            with _created(file, force) as out:
                header, chain_report = await write_backup(
                    log, keyed.chain, data_keys, out, utc_now()
                )
        finally:
            await log.close()
        broken = chain_report.first_break
        if broken is not None:
            raise ConfigError(
                f"the store does not verify (position {broken.position}: "
                f"{broken.reason.value}); {file} holds the log as it is and will not verify "
                "either: run `parako-config verify`"
            )
        click.echo(f"backed up {header.head_position} event(s) to {file}")

    guarded(run)


def verify_backup_file(file: Path, expect_head: ExpectedHead | None, as_json: bool) -> None:
    """``verify --file``: check a backup offline, printing what ``verify`` prints for a store.

    Only the key is needed (from the environment or ``runtime/.env``, as every command reads
    it), not the store, nor a valid bootstrap otherwise: a backup can be checked anywhere.
    """

    async def run() -> None:
        keyring = keyring_from(read_env(project_root(), os.environ).as_mapping())
        with BackupReader(file) as reader:
            chain, _keys = _backup_keys(keyring, reader.header)
            report = check_backup(reader, chain, expect_head=expect_head)
        print_report(report, as_json)
        if not report.ok:
            sys.exit(1)

    guarded(run)


@click.command(name="restore-log", context_settings=HELP)
@click.argument("file", type=click.Path(path_type=Path))
def restore_log(file: Path) -> None:
    """Load a backup FILE into the empty store that STORAGE_ADAPTER names, every link intact.

    \b
    Example:
      STORAGE_ADAPTER=postgresql parako-config restore-log parako-log.jsonl
    """

    async def run() -> None:
        sources, keyring = _store_sources("restore-log")
        with BackupReader(file) as reader:
            header = reader.header
            chain, keys = _backup_keys(keyring, header)
            checked = check_backup(reader, chain)
        if not checked.ok:
            raise ConfigError(
                f"{file} does not verify, nothing was written: {report_lines(checked)[0]}"
            )
        # the log, not the service: a service would run the first start on the empty store
        pinned = PinnedChain(chain)
        log = await open_log(sources, pinned)
        try:
            existing = await log.head_position()
            if existing:
                raise ValidationFailed(
                    [],
                    f"the target store already has {existing} event(s); restore-log loads only "
                    "into an empty store (nothing was written)",
                )
            with BackupReader(file) as reader:
                if reader.header != header:
                    raise ConfigError(f"{file} changed while restoring; nothing was written")
                if keys is not None:  # the store's data keys, wrapped by this ENCRYPTION_KEY
                    await log.write_meta(DATA_KEYS_META, wrap_data_keys(keys, keyring.current))
                else:  # the previous format: the store upgrades on its first open
                    assert header.key_id is not None
                    await log.write_meta(KEY_ID_META, header.key_id.encode())
                last = await load_backup(reader.events(), log, pinned)
            if last != (header.head_position, header.head_link):
                raise RestoreMismatchError(
                    f"the target ends at position {last[0]}, the backup at "
                    f"{header.head_position}: {file} changed while restoring"
                )
            report = await verify_log(log, chain)
        finally:
            await log.close()
        click.echo(f"restored {header.head_position} event(s) from {file}")
        print_report(report, False)
        if not report.ok:
            sys.exit(1)

    guarded(run)


def _store_sources(command: str) -> tuple[Sources, Keyring]:
    """The bootstrap and the keys, for a command that works on the event store."""
    sources = read_sources(project_root(), os.environ)
    if sources.file_mode:
        raise ConfigError(
            f"{command} works on the event store; this deployment reads runtime/parako.jsonc "
            "(set USE_FILE_CONFIG=false to use the event store)"
        )
    return sources, keyring_from(sources.bootstrap.environ)


def _backup_keys(keyring: Keyring, header: BackupHeader) -> tuple[HashChain, DataKeys | None]:
    """The chain of the store the backup came from, and its data keys (None for a backup of
    the previous format, whose chain is keyed, as :func:`chain_for` does, by the key its store
    was created with). A backup made before a rotation is wrapped by the key of that time: a
    key listed in ENCRYPTION_KEY_RETIRED opens it too."""
    if header.data_keys is None:
        assert header.key_id is not None
        master = keyring.master_for(header.key_id)
        if master is None:
            raise ConfigError(
                _wrong_key(f"its store was created with key {header.key_id}", keyring)
            )
        return chain_for(master), None
    try:
        wrapped_by = record_key_id(header.data_keys)
        master = keyring.master_for(wrapped_by)
        if master is None:
            raise ConfigError(_wrong_key(f"its data keys are wrapped by key {wrapped_by}", keyring))
        keys = unwrap_data_keys(header.data_keys, master)
    except KeyRecordError as damaged:
        raise ConfigError(f"the backup's data keys (line 1) cannot be opened: {damaged}") from None
    return HashChain(keys.chain), keys


def _wrong_key(whose: str, keyring: Keyring) -> str:
    return (
        f"ENCRYPTION_KEY does not match this backup: {whose}, and the configured keys are "
        f"{', '.join(keyring.ids)}. Set that key as {CURRENT_KEY_VAR} (or list it in "
        f"{RETIRED_KEYS_VAR} after a rotation)"
    )


@contextlib.contextmanager
def _created(path: Path, force: bool) -> Iterator[IO[bytes]]:
    """A new file, readable and writable by its owner only from its first byte on.

    Without ``force`` the file is created in place and an existing one is refused. With
    ``force`` it is written beside ``path`` and renamed over it at the end, so that an earlier
    backup is only ever replaced by a complete one. On failure no file is left behind.
    """
    target = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp") if force else path
    try:
        fd = os.open(target, os.O_CREAT | os.O_EXCL | os.O_WRONLY, _FILE_MODE)
    except FileExistsError:
        raise ValidationFailed([], f"{path} exists; pass --force to replace it") from None
    except OSError as error:
        raise ValidationFailed([], f"cannot create {path}: {error.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as out:
            os.fchmod(out.fileno(), _FILE_MODE)  # exactly, whatever the umask took away
            yield out
            out.flush()
            os.fsync(out.fileno())
        if force:
            os.replace(target, path)
        _sync_directory(path.parent)
    except BaseException as error:
        with contextlib.suppress(OSError):
            os.unlink(target)
        if isinstance(error, OSError):
            raise ConfigError(
                f"writing {path} failed ({error.strerror or error}); no file was left"
            ) from None
        raise


def _sync_directory(directory: Path) -> None:
    """Make the new name durable too, not only the file's bytes."""
    with contextlib.suppress(OSError):  # not every platform lets a directory be opened
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
