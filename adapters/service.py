"""The Python API for app processes and the CLI: read, save, restore, import, inspect history
and audit, diff, as-of and verify. :func:`adapters.wiring.open_service` builds one.

    service = await open_service(Path.cwd(), os.environ)
    service.config.branding.company_name        # the current RuntimeConfig
    await service.save({"branding": {"companyName": "Acme"}}, Author("alice", "rebrand"))
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Final, Unpack

import structlog

from adapters.propagation.announcer import Announcer
from adapters.propagation.hints import HintTransport
from adapters.sources.layers import Sources
from adapters.tenant_service import TenantService
from eventstore import events
from eventstore.commands import PLATFORM_SCOPE, Author, ConfigCommands, SaveResult
from eventstore.errors import ConfigError
from eventstore.hashchain import GENESIS, BreakReason, ChainReport, ChainVerifier, HashChain
from eventstore.integrity import LogIntegrityError, VerifiedLog
from eventstore.log import EventLog
from eventstore.masking import mask_fields
from eventstore.resolve import strip_unpersisted
from eventstore.schema import AppConfig, unstructure
from eventstore.schema.paths import SECRET_FIELDS
from eventstore.state import PLATFORM_STREAM, StoredConfig, value_at
from eventstore.tenants import REGISTRY_STREAM
from projections.audit import AuditEntry, AuditFilters, AuditTrail
from projections.runtime import RuntimeView, Subscriber
from projections.verification import ExpectedHead, VerifyReport, verify_log

_PAGE: Final = 1000
_log = structlog.get_logger("parako-config")


class FileModeError(ConfigError):
    """Writes and history need the event store; file mode is read-only (D2)."""

    def __init__(self) -> None:
        super().__init__(
            "the configuration comes from runtime/parako.jsonc (USE_FILE_CONFIG=true in "
            "development): it cannot be changed here and has no history; edit the file, or set "
            "USE_FILE_CONFIG=false to use the event store"
        )


class ConfigService:
    """One process's handle on the configuration, in file mode or database mode."""

    def __init__(
        self,
        sources: Sources,
        log: EventLog | None = None,
        commands: ConfigCommands | None = None,
        chain: HashChain | None = None,
        announcer: Announcer | None = None,
        file_config: AppConfig | None = None,
        *,
        cookie_key: bytes | None = None,
    ) -> None:
        self.sources = sources
        #: the store's data key for the console's cookies (D26); None in file mode
        self.cookie_key = cookie_key
        self._log = log
        self._commands = commands
        self._chain = chain
        self._view = RuntimeView(log, commands) if log and commands else None
        self._file_config = file_config
        self._tampering_logged = False
        # a failure found while opening is raised to the caller, who reports it; only a
        # process that runs logs it (once)
        self._running = False
        #: publishes a hint after each committed write (transports connect lazily)
        self.announcer = announcer or Announcer(log)
        #: tenants, their overrides and effective configs; None unless multi-tenancy is on
        self.tenants: TenantService | None = None
        self._audit = AuditTrail()

    async def close(self) -> None:
        await self.announcer.close()
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

    @property
    def position(self) -> int:
        """The global log position the current config reflects."""
        return self._view.position if self._view else 0

    @property
    def view(self) -> RuntimeView:
        self._need_store()
        assert self._view is not None
        return self._view

    async def head_position(self) -> int:
        return await self._need_log().head_position()

    async def catch_up(self) -> bool:
        """Apply every event committed since our position (coalesced, see RuntimeView).

        A log that fails verification is not applied: the last verified config stays in
        place, :attr:`integrity_failure` says why, and writes are refused from then on.
        """
        if self._view is None:
            return False
        try:
            return await self._view.catch_up()
        finally:
            self._report_tampering()

    async def check_integrity(self) -> None:
        """The head checkpoint holds, the log has not shrunk, the newest platform snapshot's
        seal holds and every event after it verifies (read again: an edit of something this
        process already applied is found too); then catch up. Raises (and records)
        :class:`LogIntegrityError`. Older history is the background verification's part."""
        if not isinstance(self._log, VerifiedLog):
            return
        try:
            await self._log.check_head()
        finally:
            self._report_tampering()
        await self.verify_since_snapshot()
        await self.catch_up()

    async def verify_since_snapshot(self) -> None:
        """Read every event since the newest snapshot (the platform's or the tenant
        registry's, whichever is newer) through the verified reads: a starting process then
        vouches for the whole tail it builds on — tokens, tenants and the registry included —
        not only the platform events it folds; before that point, what it folds (the platform
        stream, the registry) is read verified or from a sealed snapshot. Raises (and records)
        :class:`LogIntegrityError`."""
        log = self._log
        if not isinstance(log, VerifiedLog):
            return
        try:
            newest = [await log.latest_snapshot(s) for s in (PLATFORM_STREAM, REGISTRY_STREAM)]
            position = max((s.position for s in newest if s is not None), default=0)
            while page := await log.read_all(position, _PAGE):
                position = page[-1].position
        finally:
            self._report_tampering()

    async def verify_in_background(self) -> VerifyReport:
        """The full one-pass check (what ``verify`` does), recording what it finds like any
        other detection: a serving process runs it once it has started, so an edit anywhere in
        the log — not only among the events it folds — turns health to failing."""
        report = await self.verify()
        if not report.ok and isinstance(self._log, VerifiedLog):
            self._log.record_failure(*_first_problem(report))
            self._report_tampering()
        return report

    @property
    def integrity_failure(self) -> LogIntegrityError | None:
        """The first tampering this process found (None while the log verifies)."""
        return self._log.failure if isinstance(self._log, VerifiedLog) else None

    def started(self) -> None:
        """Opening is complete: tampering found from now on is logged (and any found while
        opening that did not stop it, such as an ignored snapshot, is logged now)."""
        self._running = True
        self._report_tampering()

    def _report_tampering(self) -> None:
        """One error-level line per process, however many reads fail after it."""
        error = self.integrity_failure
        if error is not None and self._running and not self._tampering_logged:
            self._tampering_logged = True
            _log.error(
                "event log integrity failure: serving the last verified configuration, "
                "refusing writes",
                position=error.position,
                reason=error.reason,
            )

    def subscribe(self, name: str, callback: Subscriber) -> None:
        """Call ``callback(applied)`` once per applied version, in order (see RuntimeView)."""
        self.view.subscribe(name, callback)

    async def stored_at(self, semver: str | None = None) -> StoredConfig:
        """The stored config at ``semver`` (checked to exist), or the newest when None."""
        return await self._need_store().load_version(semver)

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

    async def audit_entries(self, **filters: Unpack[AuditFilters]) -> list[AuditEntry]:
        """The audit trail (oldest first), filtered as ``projections.audit.filter_entries``;
        folded incrementally, so a query reads only what was appended since the last one, and
        answered from the trail's index."""
        await self._audit.refresh(self._need_log())
        return self._audit.select(**filters)

    async def audit_page(
        self,
        cursor: str | None,
        limit: int,
        *,
        newest_first: bool = False,
        platform_only: bool = False,
        **filters: Unpack[AuditFilters],
    ) -> tuple[list[AuditEntry], str | None]:
        """One page of the audit trail and the cursor of the next (``projections.audit.page``),
        read from the trail's index: its cost follows the page, not the length of the log."""
        await self._audit.refresh(self._need_log())
        return self._audit.page(
            cursor, limit, newest_first=newest_first, platform_only=platform_only, **filters
        )

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
        self,
        partial: Mapping[str, Any],
        author: Author,
        expected_version: int | None = None,
        *,
        unset: Sequence[str] = (),
    ) -> SaveResult:
        """Merge ``partial`` and return the ``unset`` paths to their defaults: one version."""
        result = await self._need_store().save(partial, author, expected_version, unset=unset)
        await self._announce(result)
        await self.catch_up()
        return result

    async def unset(
        self, paths: Sequence[str], author: Author, expected_version: int | None = None
    ) -> SaveResult:
        """The stored values at ``paths`` removed, so their defaults apply again."""
        result = await self._need_store().unset(paths, author, expected_version)
        await self._announce(result)
        await self.catch_up()
        return result

    async def restore(
        self, semver: str, author: Author, expected_version: int | None = None
    ) -> SaveResult:
        result = await self._need_store().restore(semver, author, expected_version)
        await self._announce(result)
        await self.catch_up()
        return result

    async def import_document(
        self, document: Mapping[str, Any], author: Author, *, replace: bool = False
    ) -> SaveResult:
        result = await self._need_store().import_document(document, author, replace=replace)
        await self._announce(result)
        await self.catch_up()
        return result

    async def reveal(self, path: str, author: Author) -> Any:
        """The plaintext of one secret as it is in force: the stored value, else the one its
        environment variable supplies (docs/decisions.md X31); the reveal is recorded (D11)."""
        commands = self._need_store()
        await commands.record_reveal(path, author)
        return value_at(commands.runtime_document(await commands.load()), path)

    # --- integrity ---------------------------------------------------------------------------

    async def verify(
        self,
        progress: Callable[[int, int], None] | None = None,
        expect_head: ExpectedHead | None = None,
    ) -> VerifyReport:
        """Check every hash link, the head checkpoint and every snapshot, in one pass over the
        stored bytes (not through the verified reads, so the report names what is wrong)."""
        assert self._chain is not None
        return await verify_log(
            self._raw_log(), self._chain, expect_head=expect_head, progress=progress
        )

    async def verify_recent(self, count: int) -> ChainReport:
        """Check the hash links of the newest ``count`` events only: cheap enough for a health
        check, and it catches an edit of recent history (``verify`` checks everything)."""
        log = self._need_log()
        assert self._chain is not None
        start = max(0, await log.head_position() - count)
        anchor = (await log.read_all(start - 1, 1))[0] if start else None
        verifier = ChainVerifier(
            self._chain,
            anchor.link if anchor else GENESIS,
            after_position=anchor.position if anchor else 0,
        )
        verifier.feed(await log.read_all(verifier.last_position, count))
        return verifier.report()

    async def plaintext_at(self, semver: str | None = None) -> dict[str, Any]:
        """The stored document at ``semver`` (the newest when None) with secrets decrypted, for
        code that must compare secrets (a diff, a masked value sent back); never shown as is."""
        return self._need_store().plaintext(await self.stored_at(semver))

    @property
    def event_log(self) -> EventLog:
        """The event log, for adapters that keep streams of their own in it (API tokens)."""
        return self._need_log()

    def _raw_log(self) -> EventLog:
        log = self._need_log()
        return log.inner if isinstance(log, VerifiedLog) else log

    async def _announce(self, result: SaveResult) -> None:
        """Hints go out before our own catch-up, to keep the other processes' latency low."""
        if result.appended:
            await self.announcer.announce(PLATFORM_STREAM, result.version)

    @property
    def origin_id(self) -> str:
        """Random per service: hints carry it so a process can ignore its own (D19)."""
        return self.announcer.origin_id

    @property
    def hint_transports(self) -> list[HintTransport]:
        """The hint transports (Redis, NOTIFY, change streams) this deployment uses."""
        return self.announcer.transports

    @hint_transports.setter
    def hint_transports(self, transports: list[HintTransport]) -> None:
        self.announcer.transports = list(transports)

    # --- helpers -----------------------------------------------------------------------------

    def _need_store(self) -> ConfigCommands:
        if self._commands is None:
            raise FileModeError()
        return self._commands

    def _need_log(self) -> EventLog:
        if self._log is None:
            raise FileModeError()
        return self._log


def _first_problem(report: VerifyReport) -> tuple[int, str]:
    """Where and what the first problem of a failed verification is."""
    broken = report.chain.first_break
    if broken is not None:
        missing = broken.reason is BreakReason.POSITION_GAP
        return (broken.expected_position if missing else broken.position), broken.reason.value
    for problem in report.snapshot_problems:
        if problem.tampered:
            return (
                problem.position,
                f"snapshot of {problem.stream} at version {problem.version}: {problem.reason}",
            )
    reason = report.checkpoint_problem or report.expected_head_problem or "verification failed"
    return report.chain.last_position, reason


__all__ = ["PLATFORM_SCOPE", "Author", "ConfigService", "FileModeError", "VerifyReport"]
