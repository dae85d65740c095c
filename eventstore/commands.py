"""The commands that change the configuration: first start, save, unset, restore, import, reveal.

Each command builds a candidate document from the latest stored one and hands it to the write
pipeline shared with the tenant streams (:mod:`eventstore.document_stream`), which validates the
*whole* resulting config (D18) through :meth:`ConfigCommands._persist`, appends one event with the
expected stream version, and appends nothing when validation fails, nothing changed, or the event
would not replay. Within a process a lock serialises commands; across processes the expected
version decides (D14).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final

import attrs

from eventstore import events
from eventstore.computed_writes import NO_CLAIMS, ComputedClaims
from eventstore.crypto import FieldCipher
from eventstore.docpath import deep_merge, delete_path, set_path
from eventstore.document_stream import Author, DocumentStream, EventFactory, Persisted
from eventstore.errors import Issue, ValidationFailed, VersionConflict
from eventstore.events import ConfigChanged, FieldChange, SecretRevealed
from eventstore.log import EventLog
from eventstore.masking import restore_masked
from eventstore.resolve import (
    Bootstrap,
    bootstrap_only_paths_in,
    initial_document,
    layered_document,
    layered_for_write,
    strip_unpersisted,
)
from eventstore.retry import until_appended
from eventstore.schema import AppConfig, structure, structure_like
from eventstore.schema.docs import UnknownSetting, resolve_path
from eventstore.schema.paths import BOOTSTRAP_ONLY_FIELDS, RUNTIME_ONLY_SECTIONS, SECRET_FIELDS
from eventstore.shape import check_shape
from eventstore.state import AUDIT_STREAM, PLATFORM_STREAM, StoredConfig, value_at

PLATFORM_SCOPE: Final = "platform"
#: a rule about the runtime config that only the outside world knows (the routes a server
#: mounts, for one): the problems it finds in a runtime document, by path
DocumentCheck = Callable[[Mapping[str, Any]], list[Issue]]
SNAPSHOT_EVERY: Final = 50
#: keys an export carries about itself; an import ignores them
EXPORT_METADATA_KEYS: Final = ("_export_metadata", "_version", "version", "_metadata")
#: what an unknown path is called, as validation calls an unknown key
UNKNOWN_SETTING: Final = "Unknown setting (not part of the schema)"


@attrs.frozen
class SaveResult:
    """What a write did: the version it made (or the unchanged one) and what was dropped."""

    version: int
    semver: str
    changes: tuple[FieldChange, ...]
    stripped: tuple[str, ...] = ()
    appended: bool = True


class ConfigCommands:
    """The write side of the platform configuration stream (a :class:`DocumentStream`)."""

    def __init__(
        self,
        log: EventLog,
        cipher: FieldCipher,
        bootstrap: Bootstrap,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        *,
        checks: Sequence[DocumentCheck] = (),
    ) -> None:
        self._log = log
        self._bootstrap = bootstrap
        self._clock = clock
        self._checks = tuple(checks)
        self.stream = DocumentStream(
            log,
            cipher,
            PLATFORM_STREAM,
            secret_paths=SECRET_FIELDS,
            scope=PLATFORM_SCOPE,
            lock=asyncio.Lock(),
            snapshot_every=SNAPSHOT_EVERY,
        )

    # --- reading the write model -------------------------------------------------------------

    async def load(self, up_to: int | None = None) -> StoredConfig:
        """Fold the stream (from the newest usable snapshot) up to ``up_to``."""
        return await self.stream.load(up_to)

    async def load_version(self, semver: str | None) -> StoredConfig:
        """The stored config at ``semver`` (checked to exist), or the newest when None."""
        return await self.stream.load_version(semver)

    def plaintext(self, state: StoredConfig) -> dict[str, Any]:
        """The stored document with secrets decrypted; stays inside the process."""
        return self.stream.plaintext(state)

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
        initial = initial_document(self._bootstrap)
        author = Author("system", "Initial configuration")
        try:
            result = await self.stream.write(
                lambda _empty: initial,
                # at first start a missing secret is the start-up failure D8 words verbatim
                lambda state, candidate: self._persist(state, candidate, layer=layered_document),
                self._event(author, "initial"),
                0,
            )
        except VersionConflict:
            return None  # the store exists (or another process made 1.0.0 meanwhile)
        return SaveResult(result.version, result.semver, result.changes)

    async def save(
        self,
        partial: Mapping[str, Any],
        author: Author,
        expected_version: int | None = None,
        *,
        unset: Sequence[str] = (),
    ) -> SaveResult:
        """Merge ``partial`` over the latest stored config — and return the ``unset`` paths to
        their defaults, in the same version — validate the whole, append."""
        if not isinstance(partial, Mapping):
            raise ValidationFailed([Issue("", "a configuration change must be a JSON object")])
        check_shape(partial)
        stripped = bootstrap_only_paths_in(partial)
        partial = strip_unpersisted(partial) if stripped else partial
        partial, claims = ComputedClaims.take(partial)
        removed, not_stored = _removable(unset)
        return await self._write(
            lambda current: _without(deep_merge(current, partial), removed),
            author,
            expected_version,
            "save",
            (*stripped, *not_stored),
            claims=claims,
        )

    async def restore(
        self, semver: str, author: Author, expected_version: int | None = None
    ) -> SaveResult:
        """A new version equal to ``semver``'s content (D16): validated, recomputed, propagated."""
        target = self.plaintext(await self.stream.load_version(semver))
        return await self._write(
            lambda _current: target, author, expected_version, "restore", restored_from=semver
        )

    async def import_document(
        self,
        document: Mapping[str, Any],
        author: Author,
        expected_version: int | None = None,
        *,
        replace: bool = False,
    ) -> SaveResult:
        """An export file: masked secrets keep their current values, the rest merges in — or,
        with ``replace``, becomes the stored config (what the file leaves out goes back to its
        default; a generated secret it leaves out is generated anew, D7)."""
        if not isinstance(document, Mapping):
            raise ValidationFailed([Issue("", "an import file must hold a JSON object")])
        body = {k: v for k, v in document.items() if k not in EXPORT_METADATA_KEYS}
        check_shape(body)
        stripped = bootstrap_only_paths_in(body)
        body, claims = ComputedClaims.take(strip_unpersisted(body))
        kept: list[str] = []

        def merge(current: dict[str, Any]) -> dict[str, Any]:
            restored, paths = restore_masked(body, current, SECRET_FIELDS)
            kept[:] = paths
            return restored if replace else deep_merge(current, restored)

        return await self._write(
            merge, author, expected_version, "import", stripped, kept=kept, claims=claims
        )

    async def unset(
        self, paths: Sequence[str], author: Author, expected_version: int | None = None
    ) -> SaveResult:
        """Delete the stored values at ``paths`` so the defaults apply again (a generated secret
        is generated anew, D7), through the same pipeline as a save: the whole result is
        validated (D18), computed fields recompute, and nothing is appended when nothing was
        stored there. A path may be a setting, a group (everything under it) or an entry of a
        free-form map; bootstrap-only paths and runtime-only sections are never stored, so
        they are reported in ``stripped`` and left alone."""
        kept, stripped = _removable(paths)
        return await self._write(
            lambda current: _without(current, kept), author, expected_version, "unset", stripped
        )

    async def record_reveal(self, path: str, author: Author) -> None:
        """D11: every reveal leaves an audit event (never the value)."""
        if path not in SECRET_FIELDS:
            raise ValidationFailed([Issue(path, "not a secret field")])
        event = events.encode(SecretRevealed(path, author.actor, author.reason, self._clock()))

        async def attempt() -> None:
            version = await self._log.stream_version(AUDIT_STREAM)
            await self._log.append(AUDIT_STREAM, version, [event])

        await until_appended(attempt)

    # --- the platform's part of the write pipeline -------------------------------------------

    async def _write(
        self,
        build: Callable[[dict[str, Any]], Mapping[str, Any]],
        author: Author,
        expected_version: int | None,
        origin: str,
        stripped: Sequence[str] = (),
        restored_from: str | None = None,
        kept: Sequence[str] = (),
        claims: ComputedClaims = NO_CLAIMS,
    ) -> SaveResult:
        written = await self.stream.write(
            build,
            lambda state, candidate: self._persist(state, candidate, claims),
            self._event(author, origin, restored_from, kept),
            expected_version,
            require_existing=True,
        )
        return SaveResult(
            written.version, written.semver, written.changes, tuple(stripped), written.appended
        )

    async def _persist(
        self,
        state: StoredConfig,
        candidate: Mapping[str, Any],
        claims: ComputedClaims = NO_CLAIMS,
        layer: Callable[
            [Mapping[str, Any], Bootstrap], tuple[dict[str, Any], tuple[str, ...]]
        ] = layered_for_write,
    ) -> Persisted:
        """Validate the whole runtime config the candidate makes (D18) and store the candidate
        with the secrets generated for it (D7), without what is never stored; a value given
        to an always-computed field must be the one in force (:class:`ComputedClaims`)."""
        doc, generated = layer(candidate, self._bootstrap)
        structure(AppConfig, doc)  # raises ValidationFailed listing every issue
        claims.check(doc, state.document)
        issues = [issue for check in self._checks for issue in check(doc)]
        if issues:
            raise ValidationFailed(issues)
        persisted = strip_unpersisted(candidate)
        for path in generated:
            persisted = set_path(persisted, path, value_at(doc, path))
        return Persisted(persisted)

    def _event(
        self,
        author: Author,
        origin: str,
        restored_from: str | None = None,
        kept: Sequence[str] = (),
    ) -> EventFactory:
        def make(changes: tuple[FieldChange, ...], semver: str, _: Persisted) -> ConfigChanged:
            return ConfigChanged(
                changes=changes,
                semver=semver,
                kept_masked=tuple(kept),
                **author.provenance(
                    origin, restored_from, self._bootstrap.environment, self._clock()
                ),
            )

        return make


def _removable(paths: Sequence[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Paths to return to their defaults: those stored, and those never stored (reported)."""
    if isinstance(paths, str) or not all(isinstance(p, str) for p in paths):
        raise ValidationFailed([Issue("", "paths to unset must be a list of strings")])
    issues = [Issue(p, UNKNOWN_SETTING) for p in paths if not _is_setting(p)]
    if issues:
        raise ValidationFailed(issues)
    stored = tuple(p for p in paths if not _never_stored(p))
    return stored, tuple(p for p in paths if _never_stored(p))


def _without(document: dict[str, Any], paths: Sequence[str]) -> dict[str, Any]:
    for path in paths:
        document = delete_path(document, path)
    return document


def _is_setting(path: str) -> bool:
    """A declared setting or group, or an entry of a free-form map."""
    try:
        resolve_path(path)
    except UnknownSetting:
        return False
    return True


def _never_stored(path: str) -> bool:
    """Bootstrap-only settings and runtime-only sections live in no stored document."""
    if path.split(".")[0] in RUNTIME_ONLY_SECTIONS:
        return True
    return any(path == field or path.startswith(field + ".") for field in BOOTSTRAP_ONLY_FIELDS)


__all__ = [
    "EXPORT_METADATA_KEYS",
    "PLATFORM_SCOPE",
    "SNAPSHOT_EVERY",
    "Author",
    "ConfigCommands",
    "DocumentCheck",
    "SaveResult",
]
