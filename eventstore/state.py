"""The stored configuration as the write model folds it from the stream.

The state is the persisted document exactly as events describe it — secrets stay ciphertext
envelopes — plus the stream version (``_version``, D12) and the semver it carries.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any, Final

import attrs

from eventstore.docpath import delete_path, get_path, iter_leaves, set_path
from eventstore.events import ChangeEvent, FieldChange, canonical_json, decode
from eventstore.log import EventLog, Snapshot

PLATFORM_STREAM: Final = "config/platform"
AUDIT_STREAM: Final = "audit/platform"
FIRST_SEMVER: Final = "1.0.0"


def semver_of(version: int) -> str:
    """Each save bumps the patch from 1.0.0 (D12), so version n carries 1.0.(n-1)."""
    return f"1.0.{version - 1}"


def version_of(semver: str) -> int:
    """Inverse of :func:`semver_of`; raises ValueError for anything else."""
    major, minor, patch = semver.removeprefix("v").split(".")
    if (major, minor) != ("1", "0") or not patch.isdigit():
        raise ValueError(f"{semver!r} is not a version of this store (1.0.N)")
    return int(patch) + 1


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
        doc: Mapping[str, Any] = self.document
        for change in event.changes:
            doc = (
                delete_path(doc, change.path)
                if change.removed
                else set_path(doc, change.path, change.new)
            )
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


def field_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> tuple[FieldChange, ...]:
    """Leaf-by-leaf difference; lists are leaves, so a list is replaced as a whole."""
    old_leaves = dict(iter_leaves(old))
    new_leaves = dict(iter_leaves(new))
    changes = [
        FieldChange(path, old_leaves.get(path), value)
        for path, value in new_leaves.items()
        if path not in old_leaves or old_leaves[path] != value
    ]
    changes.extend(
        FieldChange(path, value, None, removed=True)
        for path, value in old_leaves.items()
        if path not in new_leaves
    )
    return tuple(changes)


def value_at(doc: Mapping[str, Any], path: str) -> Any:
    return get_path(doc, path, None)


def changed_paths(changes: Iterable[FieldChange]) -> tuple[str, ...]:
    return tuple(c.path for c in changes)
