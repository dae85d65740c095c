"""The commands that change the configuration: first start, save, restore, import, reveal.

Each command reads the stream head, builds the candidate document, validates the *whole*
resulting config (D18), and appends one event with the expected stream version. Nothing is
appended when validation fails or nothing changed. Within a process a lock serialises commands;
across processes the expected version decides (D14).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final, TypeVar

import attrs

from eventstore import events
from eventstore.crypto import FieldCipher, decrypt_fields, encrypt_changed, restore_masked
from eventstore.docpath import deep_merge, set_path
from eventstore.errors import ConfigError, Issue, ValidationFailed, VersionConflict
from eventstore.events import ConfigChanged, FieldChange, SecretRevealed
from eventstore.log import EventLog, WrongExpectedVersion
from eventstore.resolve import (
    Bootstrap,
    bootstrap_only_paths_in,
    default_document,
    layered_document,
    strip_unpersisted,
)
from eventstore.schema import AppConfig, structure, structure_like
from eventstore.schema.paths import SECRET_FIELDS
from eventstore.state import (
    AUDIT_STREAM,
    PLATFORM_STREAM,
    StoredConfig,
    field_changes,
    fold_stream,
    semver_of,
    value_at,
    version_of,
)

T = TypeVar("T")
PLATFORM_SCOPE: Final = "platform"
SNAPSHOT_EVERY: Final = 50
_RETRIES: Final = 8
#: keys an export carries about itself; an import ignores them
EXPORT_METADATA_KEYS: Final = ("_export_metadata", "_version", "version", "_metadata")


async def with_retries(
    attempt: Callable[[], Awaitable[T]], expected_version: int | None, what: str
) -> T:
    """Run a read-decide-append ``attempt`` until its append is not beaten by another writer.

    A caller who named the version they edited gets the conflict (D14) instead of a retry: their
    edit was made against a state that no longer exists.
    """
    for _ in range(_RETRIES):
        try:
            return await attempt()
        except WrongExpectedVersion as exc:
            if expected_version is not None:
                raise VersionConflict(expected_version, exc.actual) from None
    raise ConfigError(f"could not save: {what} changed too often meanwhile")


@attrs.frozen
class SaveResult:
    """What a write did: the version it made (or the unchanged one) and what was dropped."""

    version: int
    semver: str
    changes: tuple[FieldChange, ...]
    stripped: tuple[str, ...] = ()
    appended: bool = True


@attrs.frozen
class Author:
    """Who writes and why (D15); ``actor`` is required, automatic writes use ``system``."""

    actor: str
    reason: str = ""
    tags: tuple[str, ...] = events.DEFAULT_TAGS

    def __attrs_post_init__(self) -> None:
        if not self.actor.strip():
            raise ValidationFailed([Issue("actor", "an actor is required for every change")])


class ConfigCommands:
    """The write side of the platform configuration stream."""

    def __init__(
        self,
        log: EventLog,
        cipher: FieldCipher,
        bootstrap: Bootstrap,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._log = log
        self._cipher = cipher
        self._bootstrap = bootstrap
        self._clock = clock
        self._lock = asyncio.Lock()

    # --- reading the write model -------------------------------------------------------------

    async def load(self, up_to: int | None = None) -> StoredConfig:
        """Fold the stream (from the newest usable snapshot) up to ``up_to``."""
        snapshot = await self._log.latest_snapshot(PLATFORM_STREAM, up_to)
        state = StoredConfig.from_snapshot(snapshot) if snapshot else StoredConfig()
        return await fold_stream(self._log, PLATFORM_STREAM, state, up_to)

    def plaintext(self, state: StoredConfig) -> dict[str, Any]:
        """The stored document with secrets decrypted; stays inside the process."""
        return decrypt_fields(state.document, SECRET_FIELDS, self._cipher, PLATFORM_SCOPE)

    def runtime_document(self, state: StoredConfig) -> dict[str, Any]:
        """The complete runtime config of ``state`` as a JSON document (secrets in clear)."""
        doc, _ = layered_document(self.plaintext(state), self._bootstrap)
        return doc

    def runtime(
        self, state: StoredConfig, like: tuple[AppConfig, Mapping[str, Any]] | None = None
    ) -> AppConfig:
        """The RuntimeConfig of ``state``; with ``like`` (a config and the document it was built
        from) every unchanged part is taken from that config instead of being rebuilt, which
        turns a version's build from milliseconds into tens of microseconds."""
        return self.runtime_from(self.runtime_document(state), like)

    @staticmethod
    def runtime_from(
        doc: Mapping[str, Any], like: tuple[AppConfig, Mapping[str, Any]] | None = None
    ) -> AppConfig:
        heading = "Stored configuration is invalid"
        if like is None:
            return structure(AppConfig, doc, heading)
        return structure_like(AppConfig, doc, like[0], like[1], heading)

    # --- commands ----------------------------------------------------------------------------

    async def initialize(self) -> SaveResult | None:
        """First start: an empty stream gets 1.0.0 with the complete initial config (D7, D8)."""
        async with self._lock:
            state = await self.load()
            if state.version:
                return None
            initial = strip_unpersisted(default_document())
            author = Author("system", "Initial configuration")
            try:
                return await self._append_candidate(state, initial, author, origin="initial")
            except WrongExpectedVersion:
                return None  # another process made 1.0.0 meanwhile

    async def save(
        self, partial: Mapping[str, Any], author: Author, expected_version: int | None = None
    ) -> SaveResult:
        """Merge ``partial`` over the latest stored config, validate the whole, append."""
        if not isinstance(partial, Mapping):
            raise ValidationFailed([Issue("", "a configuration change must be a JSON object")])
        stripped = bootstrap_only_paths_in(partial)
        partial = strip_unpersisted(partial) if stripped else partial
        return await self._write(
            lambda current: deep_merge(current, partial), author, expected_version, "save", stripped
        )

    async def restore(
        self, semver: str, author: Author, expected_version: int | None = None
    ) -> SaveResult:
        """A new version equal to ``semver``'s content (D16): validated, recomputed, propagated."""
        try:
            target_version = version_of(semver)
        except ValueError as exc:
            raise ValidationFailed([Issue("version", str(exc))]) from None
        head = await self._log.stream_version(PLATFORM_STREAM)
        if not 1 <= target_version <= head:
            raise ValidationFailed([Issue("version", f"version {semver} does not exist")])
        target = self.plaintext(await self.load(target_version))
        return await self._write(
            lambda _current: target, author, expected_version, "restore", restored_from=semver
        )

    async def import_document(
        self, document: Mapping[str, Any], author: Author, expected_version: int | None = None
    ) -> SaveResult:
        """An export file: masked secrets keep their current values, the rest merges in."""
        if not isinstance(document, Mapping):
            raise ValidationFailed([Issue("", "an import file must hold a JSON object")])
        body = {k: v for k, v in document.items() if k not in EXPORT_METADATA_KEYS}
        stripped = bootstrap_only_paths_in(body)
        body = strip_unpersisted(body)
        kept: list[str] = []

        def merge(current: dict[str, Any]) -> dict[str, Any]:
            restored, paths = restore_masked(body, current, SECRET_FIELDS)
            kept[:] = paths
            return deep_merge(current, restored)

        return await self._write(merge, author, expected_version, "import", stripped, kept=kept)

    async def record_reveal(self, path: str, author: Author) -> None:
        """D11: every reveal leaves an audit event (never the value)."""
        if path not in SECRET_FIELDS:
            raise ValidationFailed([Issue(path, "not a secret field")])
        event = SecretRevealed(path, author.actor, author.reason, self._clock())
        version = await self._log.stream_version(AUDIT_STREAM)
        for _ in range(_RETRIES):
            try:
                await self._log.append(AUDIT_STREAM, version, [events.encode(event)])
                return
            except WrongExpectedVersion:
                version = await self._log.stream_version(AUDIT_STREAM)
        raise ConfigError("could not record the reveal: the audit stream is too busy")

    # --- the shared write path ---------------------------------------------------------------

    async def _write(
        self,
        build: Callable[[dict[str, Any]], Mapping[str, Any]],
        author: Author,
        expected_version: int | None,
        origin: str,
        stripped: Sequence[str] = (),
        restored_from: str | None = None,
        kept: Sequence[str] = (),
    ) -> SaveResult:
        async def attempt() -> SaveResult:
            state = await self.load()
            if not state.version:
                raise ConfigError("the store has no configuration yet; start it once first")
            if expected_version is not None and expected_version != state.version:
                raise VersionConflict(expected_version, state.version)
            candidate = build(self.plaintext(state))
            return await self._append_candidate(
                state, candidate, author, origin, stripped, restored_from, kept
            )

        async with self._lock:
            return await with_retries(attempt, expected_version, "the configuration")

    async def _append_candidate(
        self,
        state: StoredConfig,
        candidate: Mapping[str, Any],
        author: Author,
        origin: str,
        stripped: Sequence[str] = (),
        restored_from: str | None = None,
        kept: Sequence[str] = (),
    ) -> SaveResult:
        doc, generated = layered_document(candidate, self._bootstrap)
        structure(AppConfig, doc)  # raises ValidationFailed listing every issue
        persisted = strip_unpersisted(candidate)
        for path in generated:
            persisted = set_path(persisted, path, value_at(doc, path))
        persisted = encrypt_changed(
            persisted,
            state.document,
            self.plaintext(state),
            SECRET_FIELDS,
            self._cipher,
            PLATFORM_SCOPE,
        )
        changes = field_changes(state.document, persisted)
        if not changes:
            return SaveResult(state.version, semver_of(state.version), (), tuple(stripped), False)
        version = state.version + 1
        event = ConfigChanged(
            changes=changes,
            semver=semver_of(version),
            actor=author.actor,
            reason=author.reason,
            tags=author.tags,
            environment=self._bootstrap.environment,
            at=self._clock(),
            origin=origin,
            restored_from=restored_from,
            kept_masked=tuple(kept),
        )
        [recorded] = await self._log.append(PLATFORM_STREAM, state.version, [events.encode(event)])
        if version % SNAPSHOT_EVERY == 0:
            new_state = state.apply(event, recorded.version, recorded.position)
            await self._log.save_snapshot(new_state.to_snapshot(PLATFORM_STREAM))
        return SaveResult(version, event.semver, changes, tuple(stripped))
