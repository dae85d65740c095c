"""The stored configuration as the write model folds it from the stream.

The state is the persisted document exactly as events describe it — secrets stay ciphertext
envelopes — plus the stream version (``_version``, D12) and the semver it carries.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Final

import attrs

from eventstore.docpath import delete_path, get_path, iter_leaves, set_paths
from eventstore.events import ChangeEvent, FieldChange, canonical_json, decode
from eventstore.log import EventLog, Snapshot

PLATFORM_STREAM: Final = "config/platform"
AUDIT_STREAM: Final = "audit/platform"
FIRST_SEMVER: Final = "1.0.0"


def semver_of(version: int) -> str:
    """Each save bumps the patch from 1.0.0 (D12), so version n carries 1.0.(n-1)."""
    return f"1.0.{version - 1}"


def version_of(semver: str) -> int:
    """Inverse of :func:`semver_of`; raises ValueError, with a message for people, otherwise."""
    parts = semver.removeprefix("v").split(".") if isinstance(semver, str) else []
    if len(parts) != 3 or parts[:2] != ["1", "0"] or not parts[2].isdecimal():
        raise ValueError(f"{semver!r} is not a version of this store (1.0.N, e.g. 1.0.0)")
    return int(parts[2]) + 1


@attrs.frozen
class StoredConfig:
    """A stored document folded from its stream: the platform config, or one tenant's overrides."""

    document: Mapping[str, Any] = attrs.field(factory=dict)
    version: int = 0
    position: int = 0

    @property
    def semver(self) -> str | None:
        return semver_of(self.version) if self.version else None

    def apply(self, event: ChangeEvent, version: int, position: int) -> StoredConfig:
        """The state after ``event``: every removal first, then every new value.

        That order makes the fold independent of the order the changes are listed in, for
        every change of shape: a leaf that becomes an object (``null`` → ``{"a": 1}``) is
        removed before ``a`` is set below it, and an object that becomes a leaf loses its
        leaves before the new value replaces it. Events written by earlier releases listed
        new values first; they fold the same way.
        """
        doc: Mapping[str, Any] = self.document
        for change in event.changes:
            if change.removed:
                doc = delete_path(doc, change.path)
        doc = set_paths(doc, ((c.path, c.new) for c in event.changes if not c.removed))
        return StoredConfig(doc, version, position)

    def to_snapshot(self, stream: str) -> Snapshot:
        return Snapshot(stream, self.version, self.position, canonical_json(dict(self.document)))

    @classmethod
    def from_snapshot(cls, snapshot: Snapshot) -> StoredConfig:
        return cls(json.loads(snapshot.state), snapshot.version, snapshot.position)


async def fold_stream(
    log: EventLog, stream: str, state: StoredConfig, up_to: int | None = None
) -> StoredConfig:
    """``state`` advanced by the change events of ``stream`` after it, up to ``up_to``."""
    for recorded in await log.read_stream(stream, state.version + 1, up_to):
        event = decode(recorded)
        if isinstance(event, ChangeEvent):
            state = state.apply(event, recorded.version, recorded.position)
    return state


def stored_leaves(doc: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """``(path, value)`` of every leaf a change event records: lists and *empty objects* count
    as leaves, so that ``{}`` (for example "no claims at all") survives a replay instead of
    vanishing and letting a default show through. Keys that cannot be a path segment raise
    ``ValueError`` (see :func:`eventstore.docpath.iter_leaves`)."""
    for path, value in iter_leaves(doc, prefix):
        yield path, value
    for key, value in doc.items():
        path = f"{prefix}.{key}" if prefix else key
        if isinstance(value, Mapping):
            if value:
                yield from _empty_objects(value, path)
            else:
                yield path, {}


def _empty_objects(doc: Mapping[str, Any], prefix: str) -> Iterator[tuple[str, Any]]:
    for key, value in doc.items():
        if isinstance(value, Mapping):
            path = f"{prefix}.{key}"
            yield from _empty_objects(value, path) if value else ((path, {}),)


def field_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> tuple[FieldChange, ...]:
    """Leaf-by-leaf difference; lists are leaves, so a list is replaced as a whole.

    Removals come first, in the order :meth:`StoredConfig.apply` folds them, so the event
    reads the way it is applied.
    """
    old_leaves = dict(stored_leaves(old))
    new_leaves = dict(stored_leaves(new))
    changes = [
        FieldChange(path, value, None, removed=True)
        for path, value in old_leaves.items()
        if path not in new_leaves
    ]
    changes.extend(
        FieldChange(path, old_leaves.get(path), value)
        for path, value in new_leaves.items()
        if path not in old_leaves or not _same(old_leaves[path], value)
    )
    return tuple(changes)


def _same(old: Any, new: Any) -> bool:
    """Equal *and* of the same JSON type: ``1`` → ``1.0`` or ``True`` → ``1`` is a change,
    although Python calls them equal, because they encode (and validate) differently."""
    if type(old) is not type(new) or old != new:
        return False
    return not isinstance(old, list) or canonical_json(old) == canonical_json(new)


def value_at(doc: Mapping[str, Any], path: str) -> Any:
    return get_path(doc, path, None)


def changed_paths(changes: Iterable[FieldChange]) -> tuple[str, ...]:
    return tuple(c.path for c in changes)
