"""The Python API for app processes and the CLI: open the store from the bootstrap, then read,
save, restore, import, inspect history and audit, diff, as-of and verify.

    service = await ConfigService.open(Path.cwd(), os.environ)
    service.config.branding.company_name        # the current RuntimeConfig
    await service.save({"branding": {"companyName": "Acme"}}, Author("alice", "rebrand"))
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, Final

import attrs

from adapters.layers import Sources, read_sources
from adapters.logging import LoggingSettings, configure_logging
from adapters.sqlite_log import SqliteEventLog
from eventstore import events
from eventstore.commands import PLATFORM_SCOPE, Author, ConfigCommands, SaveResult
from eventstore.crypto import FieldCipher, Keyring, derive_key, mask_fields
from eventstore.errors import ConfigError, Issue, ValidationFailed
from eventstore.hashchain import ChainReport, ChainVerifier, HashChain
from eventstore.log import EventLog
from eventstore.resolve import resolve, strip_unpersisted
from eventstore.schema import AppConfig, unstructure
from eventstore.schema.paths import SECRET_FIELDS
from eventstore.state import PLATFORM_STREAM, StoredConfig, version_of
from projections.runtime import RuntimeView

KEY_ID_META: Final = "encryption-key-id"
_PAGE: Final = 1000


class FileModeError(ConfigError):
    """Writes and history need the event store; file mode is read-only (D2)."""

    def __init__(self) -> None:
        super().__init__(
            "the configuration comes from runtime/parako.jsonc (USE_FILE_CONFIG=true in "
            "development): it cannot be changed here and has no history; edit the file, or set "
            "USE_FILE_CONFIG=false to use the event store"
        )


def logging_settings(sources: Sources) -> LoggingSettings:
    variables = sources.bootstrap.process.logging
    return LoggingSettings(
        enabled=variables.enabled,
        level=variables.level,
        pretty=variables.pretty_print,
        file_enabled=variables.file_logging_enabled,
        directory=sources.root / variables.file_logging_directory,
        environment=sources.bootstrap.environment,
    )


@attrs.frozen
class VerifyReport:
    chain: ChainReport
    head: int
    snapshot_mismatch: int | None = None

    @property
    def ok(self) -> bool:
        return (
            self.chain.ok and self.chain.last_position == self.head and not self.snapshot_mismatch
        )


class ConfigService:
    """One process's handle on the configuration, in file mode or database mode."""

    def __init__(
        self,
        sources: Sources,
        log: EventLog | None = None,
        commands: ConfigCommands | None = None,
        chain: HashChain | None = None,
    ) -> None:
        self.sources = sources
        self._log = log
        self._commands = commands
        self._chain = chain
        self._view = RuntimeView(log, commands) if log and commands else None
        self._file_config: AppConfig | None = None

    # --- opening -----------------------------------------------------------------------------

    @classmethod
    async def open(
        cls, root: Path, environ: Mapping[str, str], *, configure_logs: bool = False
    ) -> ConfigService:
        """Read the bootstrap, then the file (file mode) or open the event store (D9, D12)."""
        sources = read_sources(root, environ)
        if configure_logs:
            configure_logging(logging_settings(sources))
        if sources.file_mode:
            service = cls(sources)
            service._file_config = resolve(sources.file_document, sources.bootstrap)
            return service
        bootstrap = sources.bootstrap
        keyring = Keyring.from_values(
            bootstrap.environ.get("ENCRYPTION_KEY"), bootstrap.environ.get("ENCRYPTION_KEY_RETIRED")
        )
        chain = HashChain(derive_key(keyring.current, "hash-chain"))
        log = await open_log(sources, chain)
        try:
            await check_key(log, keyring)
            commands = ConfigCommands(log, FieldCipher(keyring), bootstrap)
            await commands.initialize()
            service = cls(sources, log, commands, chain)
            await service.catch_up()
        except BaseException:
            await log.close()
            raise
        return service

    async def close(self) -> None:
        if self._log is not None:
            await self._log.close()

    async def __aenter__(self) -> ConfigService:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # --- reading -----------------------------------------------------------------------------

    @property
    def file_mode(self) -> bool:
        return self.sources.file_mode

    @property
    def config(self) -> AppConfig:
        """The current RuntimeConfig (an attribute read; call :meth:`catch_up` to refresh)."""
        if self._file_config is not None:
            return self._file_config
        assert self._view is not None
        assert self._view.config is not None
        return self._view.config

    @property
    def version(self) -> int:
        return self._view.version if self._view else 0

    async def catch_up(self) -> bool:
        return await self._view.catch_up() if self._view else False

    def subscribe(self, name: str, callback: Callable[[RuntimeView], Any]) -> None:
        self._need_store()
        assert self._view is not None
        self._view.subscribe(name, callback)

    async def stored_at(self, semver: str | None = None) -> StoredConfig:
        commands = self._need_store()
        if semver is None:
            return await commands.load()
        try:
            version = version_of(semver)
        except ValueError as exc:
            raise ValidationFailed([Issue("version", str(exc))]) from None
        head = await self._need_log().stream_version(PLATFORM_STREAM)
        if not 1 <= version <= head:
            raise ValidationFailed([Issue("version", f"version {semver} does not exist")])
        return await commands.load(version)

    async def config_at(self, semver: str | None = None) -> AppConfig:
        """As-of: the RuntimeConfig as it was at ``semver`` (the current one when None)."""
        if semver is None:
            return self.config
        return self._need_store().runtime(await self.stored_at(semver))

    async def version_at_time(self, moment: datetime) -> str | None:
        """As-of by time: the semver that was current at ``moment``."""
        found = None
        for recorded in await self._need_log().read_stream(PLATFORM_STREAM):
            event = events.decode(recorded)
            if isinstance(event, events.ConfigChanged) and event.at <= moment:
                found = event.semver
        return found

    async def export(self, semver: str | None = None) -> dict[str, Any]:
        """The stored document with secrets masked (D11), ready to download or import."""
        if self.file_mode:
            doc = strip_unpersisted(unstructure(self.config))
            return {"_export_metadata": {"source": "file"}, **doc}
        state = await self.stored_at(semver)
        doc = mask_fields(self._need_store().plaintext(state), SECRET_FIELDS)
        meta = {"version": state.semver, "_version": state.version}
        return {"_export_metadata": meta, **doc}

    async def recorded_events(self, stream: str | None = PLATFORM_STREAM) -> list[Any]:
        log = self._need_log()
        if stream is not None:
            return list(await log.read_stream(stream))
        out: list[Any] = []
        position = 0
        while batch := await log.read_all(position, _PAGE):
            out.extend(batch)
            position = batch[-1].position
        return out

    # --- writing -----------------------------------------------------------------------------

    async def save(
        self, partial: Mapping[str, Any], author: Author, expected_version: int | None = None
    ) -> SaveResult:
        result = await self._need_store().save(partial, author, expected_version)
        await self.catch_up()
        return result

    async def restore(
        self, semver: str, author: Author, expected_version: int | None = None
    ) -> SaveResult:
        result = await self._need_store().restore(semver, author, expected_version)
        await self.catch_up()
        return result

    async def import_document(self, document: Mapping[str, Any], author: Author) -> SaveResult:
        result = await self._need_store().import_document(document, author)
        await self.catch_up()
        return result

    async def reveal(self, path: str, author: Author) -> Any:
        """The plaintext of one secret; the reveal itself is recorded (D11)."""
        commands = self._need_store()
        await commands.record_reveal(path, author)
        from eventstore.state import value_at

        return value_at(commands.plaintext(await commands.load()), path)

    # --- integrity ---------------------------------------------------------------------------

    async def verify(self, progress: Callable[[int, int], None] | None = None) -> VerifyReport:
        """Check every hash link, then rebuild the state and compare it with the snapshots."""
        log = self._need_log()
        assert self._chain is not None
        head = await log.head_position()
        verifier = ChainVerifier(self._chain)
        position = 0
        while not verifier.broken and (batch := await log.read_all(position, _PAGE)):
            verifier.feed(batch)
            position = batch[-1].position
            if progress:
                progress(position, head)
        report = verifier.report()
        mismatch = None if not report.ok else await self._check_snapshots()
        return VerifyReport(report, head, mismatch)

    async def _check_snapshots(self) -> int | None:
        log = self._need_log()
        commands = self._need_store()
        snapshot = await log.latest_snapshot(PLATFORM_STREAM)
        while snapshot is not None:
            replayed = StoredConfig()
            for recorded in await log.read_stream(PLATFORM_STREAM, 1, snapshot.version):
                event = events.decode(recorded)
                if isinstance(event, events.ConfigChanged):
                    replayed = replayed.apply(event, recorded.version, recorded.position)
            if dict(replayed.document) != dict(StoredConfig.from_snapshot(snapshot).document):
                return snapshot.version
            snapshot = await log.latest_snapshot(PLATFORM_STREAM, snapshot.version - 1)
        del commands
        return None

    # --- helpers -----------------------------------------------------------------------------

    def _need_store(self) -> ConfigCommands:
        if self._commands is None:
            raise FileModeError()
        return self._commands

    def _need_log(self) -> EventLog:
        if self._log is None:
            raise FileModeError()
        return self._log


async def open_log(sources: Sources, chain: HashChain) -> EventLog:
    """The event log named by ``STORAGE_ADAPTER``."""
    storage = sources.bootstrap.overrides
    adapter = storage.get("storage.adapter", "sqlite")
    if adapter != "sqlite":
        raise ConfigError(f"STORAGE_ADAPTER={adapter} is not available in this version; use sqlite")
    raw = storage.get("storage.sqlite.path", "./runtime/data/parako.db")
    path = Path(raw)
    return await SqliteEventLog.open(path if path.is_absolute() else sources.root / path, chain)


async def check_key(log: EventLog, keyring: Keyring) -> None:
    """Refuse a store written with another ENCRYPTION_KEY before anything is read or written."""
    recorded = await log.read_meta(KEY_ID_META)
    if recorded is None:
        if await log.head_position() == 0:
            await log.write_meta(KEY_ID_META, keyring.current_id.encode(), only_if_absent=True)
        # re-read: another process starting at the same time may have written it first
        recorded = await log.read_meta(KEY_ID_META)
        if recorded is None:
            raise ConfigError("the store has events but no key fingerprint; refusing to guess")
    if recorded.decode() not in keyring.ids:
        raise ConfigError(
            f"ENCRYPTION_KEY does not match this store: it was created with key "
            f"{recorded.decode()}, and the configured keys are {', '.join(keyring.ids)}. Restore "
            "the original ENCRYPTION_KEY (or list it in ENCRYPTION_KEY_RETIRED after a rotation)"
        )


__all__ = ["PLATFORM_SCOPE", "Author", "ConfigService", "FileModeError", "VerifyReport"]
