"""One stored document in one stream: the write pipeline every config stream shares.

The platform configuration (``config/platform``) and each tenant's overrides
(``config/tenant/<slug>``) are the same thing to the write model: a JSON document whose versions
are change events. What differs is passed in — the stream's name, which paths are secrets and the
encryption scope that binds them, how a candidate is validated and turned into what is stored
(:class:`Persister`), and which event records it — so every step below exists once:

    load (snapshot + fold) → plaintext → build the candidate → persist (validate, policy)
    → encrypt what changed → field changes → fold the event with replay's own code and compare
    → append with the expected version → retry from the top if another writer won.

Run inside :func:`rehearsal`, a write goes through every one of those steps but the append, and
records what it would have written (a dry run: the same validation, policy, computed fields and
replay check as the real write, so what it shows is what the write would do).

The replay check is what keeps the log replayable: an event is appended only after the very
fold that every later reader runs has turned the current state into exactly the validated
document. Anything else — a fold that raises, a document that comes out different, a value JSON
cannot carry — is refused as :class:`UnstorableChange` and nothing is written.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextvars import ContextVar
from datetime import datetime
from typing import Any

import attrs

from eventstore import events
from eventstore.crypto import FieldCipher, decrypt_fields, encrypt_changed
from eventstore.errors import Issue, ValidationFailed, VersionConflict
from eventstore.events import ChangeEvent, ConfigChanged, FieldChange, TenantOverrideChanged
from eventstore.hashchain import GENESIS
from eventstore.log import EPOCH, EventLog, NewEvent, RecordedEvent
from eventstore.retry import until_appended
from eventstore.state import StoredConfig, field_changes, fold_stream, semver_of, version_of


@attrs.frozen
class Author:
    """Who writes and why (D15); ``actor`` is required, automatic writes use ``system``."""

    actor: str
    reason: str = ""
    tags: tuple[str, ...] = events.DEFAULT_TAGS

    def provenance(
        self, origin: str, restored_from: str | None, environment: str, at: datetime
    ) -> dict[str, Any]:
        """What every change event records about where it came from (D15): the fields a
        platform change and a tenant change share, besides what changed."""
        return {
            "actor": self.actor,
            "reason": self.reason,
            "tags": self.tags,
            "environment": environment,
            "at": at,
            "origin": origin,
            "restored_from": restored_from,
        }

    def __attrs_post_init__(self) -> None:
        if not self.actor.strip():
            raise ValidationFailed([Issue("actor", "an actor is required for every change")])


class UnstorableChange(ValidationFailed):
    """The change is valid as a document but could not be stored so that it replays."""

    def __init__(self, detail: str) -> None:
        super().__init__([Issue("", f"this change cannot be stored: {detail}")], "Change refused")


@attrs.frozen
class Persisted:
    """What a :class:`Persister` decided to store (secrets still in clear) and the policy
    adjustments it made on the way (tenant streams; empty for the platform)."""

    document: Mapping[str, Any]
    adjustments: tuple[Any, ...] = ()


#: validates a candidate document and says what of it is stored; raises ValidationFailed
Persister = Callable[[StoredConfig, Mapping[str, Any]], Awaitable[Persisted]]


@attrs.define
class Rehearsal:
    """What a write made inside :func:`rehearsal` would have done: the documents before and
    after (secrets in clear; for display, masked), its field changes and the version it would
    have made (empty when nothing would change)."""

    before: Mapping[str, Any] | None = None
    after: Mapping[str, Any] | None = None
    changes: tuple[FieldChange, ...] = ()
    semver: str = ""
    adjustments: tuple[Any, ...] = ()


_REHEARSING: ContextVar[Rehearsal | None] = ContextVar("parako_rehearsal", default=None)


@contextlib.contextmanager
def rehearsal() -> Iterator[Rehearsal]:
    """Writes made in this block (in this task) append nothing and fill the yielded record."""
    record = Rehearsal()
    token = _REHEARSING.set(record)
    try:
        yield record
    finally:
        _REHEARSING.reset(token)


@attrs.frozen
class Written:
    """One write's outcome: the version it made (or the unchanged one) and what it recorded."""

    version: int
    semver: str
    changes: tuple[FieldChange, ...]
    adjustments: tuple[Any, ...] = ()
    appended: bool = True


#: builds the event of a write from its field changes and its new semver
EventFactory = Callable[[tuple[FieldChange, ...], str, Persisted], ChangeEvent]


class DocumentStream:
    """Reads and writes one stream of change events as a document."""

    def __init__(
        self,
        log: EventLog,
        cipher: FieldCipher,
        stream: str,
        *,
        secret_paths: Sequence[str],
        scope: str,
        lock: asyncio.Lock,
        snapshot_every: int | None = None,
    ) -> None:
        self.log = log
        self.stream = stream
        self._cipher = cipher
        self._secret_paths = secret_paths
        self._scope = scope
        self._lock = lock
        self._snapshot_every = snapshot_every

    # --- reading -----------------------------------------------------------------------------

    async def load(self, up_to: int | None = None) -> StoredConfig:
        """Fold the stream (from the newest usable snapshot) up to ``up_to``."""
        state = StoredConfig()
        if self._snapshot_every:
            snapshot = await self.log.latest_snapshot(self.stream, up_to)
            state = StoredConfig.from_snapshot(snapshot) if snapshot else state
        start = state.version
        state = await fold_stream(self.log, self.stream, state, up_to)
        if self._snapshot_every and state.version - start > self._snapshot_every:
            # no usable snapshot (one from an earlier release, or one found broken): leave a
            # good one behind, so the next load does not replay the whole stream again
            await self.log.save_snapshot(state.to_snapshot(self.stream))
        return state

    async def version_of(self, semver: str) -> int:
        """The stream version ``semver`` names; a 4xx-style error when it is not one of ours
        or does not exist (yet) in this stream."""
        try:
            version = version_of(semver)
        except ValueError as exc:
            raise ValidationFailed([Issue("version", str(exc))], "Invalid input") from None
        if not 1 <= version <= await self.log.stream_version(self.stream):
            raise ValidationFailed(
                [Issue("version", f"version {semver} does not exist")], "Invalid input"
            )
        return version

    async def load_version(self, semver: str | None) -> StoredConfig:
        """The state at ``semver`` (checked to exist), or the newest when None."""
        return await self.load(None if semver is None else await self.version_of(semver))

    def plaintext(self, state: StoredConfig) -> dict[str, Any]:
        """The stored document with its secrets decrypted; stays inside the process."""
        return decrypt_fields(state.document, self._secret_paths, self._cipher, self._scope)

    # --- writing -----------------------------------------------------------------------------

    async def write(
        self,
        build: Callable[[dict[str, Any]], Mapping[str, Any]],
        persist: Persister,
        event: EventFactory,
        expected_version: int | None = None,
        *,
        require_existing: bool = False,
    ) -> Written:
        """Build a candidate from the current plaintext, persist, and append it as one event.

        ``require_existing`` refuses a write to an empty stream (the platform config is
        created by its first start, never by an edit).
        """

        async def attempt() -> Written:
            state = await self.load()
            if require_existing and not state.version:
                raise ValidationFailed(
                    [Issue("", "the store has no configuration yet; start it once first")]
                )
            if expected_version is not None and expected_version != state.version:
                raise VersionConflict(expected_version, state.version)
            candidate = build(self.plaintext(state))
            return await self.append(state, await persist(state, candidate), event)

        async with self._lock:
            return await until_appended(attempt, expected_version)

    async def append(
        self, state: StoredConfig, persisted: Persisted, event: EventFactory
    ) -> Written:
        """Encrypt, diff, check that the event replays, append; no event when nothing changed."""
        stored = encrypt_changed(
            persisted.document,
            state.document,
            self.plaintext(state),
            self._secret_paths,
            self._cipher,
            self._scope,
        )
        try:
            changes = field_changes(state.document, stored)
        except ValueError as exc:  # a key that cannot be part of a path
            raise UnstorableChange(str(exc)) from None
        rehearsing = _REHEARSING.get()
        if rehearsing is not None:
            return self._rehearsed(rehearsing, state, persisted, event, changes, stored)
        if not changes:
            semver = semver_of(state.version) if state.version else ""
            return Written(state.version, semver, (), persisted.adjustments, False)
        version = state.version + 1
        new_event = event(changes, semver_of(version), persisted)
        encoded = replayable(state, new_event, stored)
        [recorded] = await self.log.append(self.stream, state.version, [encoded])
        if self._snapshot_every and version % self._snapshot_every == 0:
            new_state = state.apply(new_event, recorded.version, recorded.position)
            await self.log.save_snapshot(new_state.to_snapshot(self.stream))
        return Written(version, new_event.semver, changes, persisted.adjustments)

    def _rehearsed(
        self,
        record: Rehearsal,
        state: StoredConfig,
        persisted: Persisted,
        event: EventFactory,
        changes: tuple[FieldChange, ...],
        stored: Mapping[str, Any],
    ) -> Written:
        """Everything :meth:`append` checks, the replay included; nothing appended."""
        semver = semver_of(state.version + 1) if changes else ""
        if changes:
            replayable(state, event(changes, semver, persisted), stored)
        record.before = self.plaintext(state)
        record.after = persisted.document
        record.changes = changes
        record.semver = semver
        record.adjustments = persisted.adjustments
        current = semver_of(state.version) if state.version else ""
        return Written(state.version, current, changes, persisted.adjustments, False)


def replayable(state: StoredConfig, event: ChangeEvent, stored: Mapping[str, Any]) -> NewEvent:
    """``event`` encoded, once its encoded bytes, decoded and folded onto ``state`` exactly as
    a replay will, give ``stored``; otherwise :class:`UnstorableChange`."""
    try:
        encoded = events.encode(event)
        probe = RecordedEvent(
            "probe",
            state.version + 1,
            state.position + 1,
            encoded.type,
            encoded.data,
            EPOCH,
            GENESIS,
        )
        decoded = events.decode(probe)
        if not isinstance(decoded, ConfigChanged | TenantOverrideChanged):
            raise TypeError(f"{encoded.type} is not a change event")
        folded = state.apply(decoded, state.version + 1, state.position + 1).document
        same = events.canonical_json(dict(folded)) == events.canonical_json(dict(stored))
    except (ValueError, TypeError, KeyError) as exc:
        raise UnstorableChange(f"it would not replay ({exc})") from None
    if not same:
        raise UnstorableChange("replaying it would not give the validated document")
    return encoded
