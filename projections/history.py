"""Version history of a configuration stream, folded from its change events (the platform's
``ConfigChanged``, a tenant's ``TenantOverrideChanged``).

The "last 10 versions" is only a view (D13 in docs/decisions.md): the log keeps every version,
so the history is rebuilt from events rather than stored, and :meth:`HistoryView.latest` merely
limits what is shown. Each entry carries the metadata D15 requires of every version, plus the
paths it touched, so a history listing never needs the documents themselves (and so never sees a
secret).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, Final

import attrs

from eventstore.events import CONFIG_CHANGED, TENANT_OVERRIDE_CHANGED, ChangeEvent, decode
from eventstore.log import EventLog, RecordedEvent
from eventstore.state import PLATFORM_STREAM, version_of

_CHANGE_TYPES: Final = (CONFIG_CHANGED, TENANT_OVERRIDE_CHANGED)
DEFAULT_LATEST: Final = 10
"""How many versions a history listing shows by default (D13)."""


@attrs.frozen
class VersionInfo:
    """One stored version as the history lists it.

    ``version`` is the semver shown to people; ``stream_version`` is the optimistic lock counter
    (``_version``, D12) a client sends back to save, so both are kept.
    """

    version: str
    stream_version: int
    last_modified_by: str
    change_reason: str
    tags: tuple[str, ...]
    environment: str
    timestamp: datetime
    origin: str
    restored_from: str | None
    changed_paths: tuple[str, ...]

    @classmethod
    def from_event(cls, event: ChangeEvent, stream_version: int) -> VersionInfo:
        return cls(
            version=event.semver,
            stream_version=stream_version,
            last_modified_by=event.actor,
            change_reason=event.reason,
            tags=event.tags,
            environment=event.environment,
            timestamp=event.at,
            origin=event.origin,
            restored_from=event.restored_from,
            changed_paths=tuple(change.path for change in event.changes),
        )

    def to_json(self) -> dict[str, Any]:
        """The key names of the reference's stored version, so existing clients keep working."""
        return {
            "version": self.version,
            "_version": self.stream_version,
            "last_modified_by": self.last_modified_by,
            "change_reason": self.change_reason,
            "tags": list(self.tags),
            "environment": self.environment,
            "timestamp": self.timestamp.isoformat(),
            "origin": self.origin,
            "restored_from": self.restored_from,
            "changed_paths": list(self.changed_paths),
        }


class HistoryView:
    """Incrementally folded history of one stream.

    Events of other streams and other types are ignored, so the view can be fed straight from
    ``read_all``. A version it has already seen is skipped, because catching up after a missed
    notification may deliver an event twice and the history must not list a version twice.
    """

    def __init__(self, stream: str = PLATFORM_STREAM) -> None:
        self._stream = stream
        self._versions: list[VersionInfo] = []

    @property
    def stream(self) -> str:
        return self._stream

    @property
    def stream_version(self) -> int:
        """The last version folded in (0 before any), for a reader to resume from."""
        return self._versions[-1].stream_version if self._versions else 0

    def apply(self, recorded: RecordedEvent) -> VersionInfo | None:
        """Fold one recorded event; return the new entry, or ``None`` if it was not one."""
        if recorded.stream != self._stream or recorded.type not in _CHANGE_TYPES:
            return None
        if recorded.version <= self.stream_version:
            return None
        event = decode(recorded)
        if not isinstance(event, ChangeEvent):  # unreachable: the type was checked above
            return None
        info = VersionInfo.from_event(event, recorded.version)
        self._versions.append(info)
        return info

    def latest(self, n: int = DEFAULT_LATEST) -> list[VersionInfo]:
        """The ``n`` newest versions, newest first."""
        if n < 0:
            raise ValueError("n must be >= 0")
        if n == 0:
            return []
        return self._versions[: -n - 1 : -1]

    def all(self) -> list[VersionInfo]:
        """Every version, newest first: older versions stay readable (D13)."""
        return self._versions[::-1]

    def __len__(self) -> int:
        return len(self._versions)


def history_from(
    recorded_events: Iterable[RecordedEvent], *, stream: str = PLATFORM_STREAM
) -> list[VersionInfo]:
    """Every version of ``stream`` found in ``recorded_events``, newest first."""
    view = HistoryView(stream)
    for recorded in recorded_events:
        view.apply(recorded)
    return view.all()


async def latest_versions(
    log: EventLog, n: int = DEFAULT_LATEST, stream: str = PLATFORM_STREAM
) -> list[VersionInfo]:
    """The ``n`` newest versions of ``stream``, newest first, read from the end of the stream:
    the cost of a listing follows ``n``, not the number of versions the log keeps (D13)."""
    return await _newest_through(log, await log.stream_version(stream), n, stream)


async def versions_before(
    log: EventLog, before: int, n: int = DEFAULT_LATEST, stream: str = PLATFORM_STREAM
) -> list[VersionInfo]:
    """The ``n`` newest versions of ``stream`` whose stream version is below ``before``, newest
    first: the page older than one that ends at ``before``, so every version stays reachable
    (D13) by paging back from the end, each page reading only its own events."""
    return await _newest_through(log, min(before - 1, await log.stream_version(stream)), n, stream)


async def _newest_through(log: EventLog, upper: int, n: int, stream: str) -> list[VersionInfo]:
    """The ``n`` newest versions at or below stream version ``upper``, newest first; ``upper``
    must not be past the end of the stream (each round would read nothing and step back)."""
    if n < 0:
        raise ValueError("n must be >= 0")
    found: list[VersionInfo] = []
    while len(found) < n and upper >= 1:
        lower = max(1, upper - (n - len(found)) + 1)
        found += history_from(await log.read_stream(stream, lower, upper), stream=stream)
        upper = lower - 1  # (only if some event there was not a version: read further back)
    return found[:n]


async def versions_after(
    log: EventLog, after: int, stream: str = PLATFORM_STREAM
) -> list[VersionInfo]:
    """The versions of ``stream`` saved after stream version ``after``, newest first, reading
    only their events: what a stale form missed is the end of the stream, not all of it."""
    return history_from(await log.read_stream(stream, max(after, 0) + 1), stream=stream)


async def version_info(
    log: EventLog, semver: str, stream: str = PLATFORM_STREAM
) -> VersionInfo | None:
    """The listing entry of one version, read alone; None when ``stream`` has no such one."""
    try:
        version = version_of(semver)
    except ValueError:
        return None
    found = history_from(await log.read_stream(stream, version, version), stream=stream)
    return found[0] if found and found[0].version == semver else None


async def versions_in(log: EventLog, stream: str = PLATFORM_STREAM) -> int:
    """How many versions ``stream`` holds (every event of a config stream is one)."""
    return await log.stream_version(stream)
