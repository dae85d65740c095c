"""The active RuntimeConfig of this process, kept current by catching up with the log.

Readers take ``view.config``: one attribute read of an immutable object. Catching up builds the
next config on the side and swaps the reference in one assignment, so a reader sees either the
old or the new config, never a mix.

Catching up is a *catch-up subscription*: the view remembers the last global position it
applied and, whenever asked (a hint, a poll, a reconnect), reads every event after it. That is
why lost notifications cannot lose versions: a hint only says "look now", the log says what.

Subscribers are told about every applied platform version, one call per version, in order and
without gaps. When one pass finds several versions, only the newest is *built* into a
RuntimeConfig (building costs milliseconds, and no reader could ever observe the intermediate
ones); each call still receives that version's :class:`AppliedVersion` record, so a watcher can
print one line per version. By the time any callback of a pass runs, ``view.config`` is already
the newest config of that pass.

Concurrent calls of :meth:`RuntimeView.catch_up` in one process are coalesced: one pass runs at a
time, and a request that arrives while a pass is running gets exactly one more pass afterwards
(rather than being lost, or queueing one pass per request).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Final

import attrs
import structlog

from eventstore import events
from eventstore.commands import ConfigCommands
from eventstore.log import EventLog, RecordedEvent
from eventstore.schema import AppConfig
from eventstore.state import PLATFORM_STREAM, StoredConfig
from eventstore.tenants import REGISTRY_STREAM, slug_of_stream

_PAGE: Final = 500

_log = structlog.get_logger(__name__)


def tenant_of(stream: str) -> str | None:
    """The tenant slug a stream belongs to (``config/tenant/<slug>``), None for the platform."""
    return slug_of_stream(stream) or None


@attrs.frozen
class AppliedVersion:
    """One version this process applied: what it was, when it was committed and applied here."""

    stream: str
    version: int
    semver: str
    position: int
    committed_at: datetime
    applied_at: datetime

    @property
    def tenant(self) -> str | None:
        return tenant_of(self.stream)


Subscriber = Callable[[AppliedVersion], Any]
TenantListener = Callable[[str], Any]
#: every record a catch-up pass read, in log order, once the pass has swapped its config in
RecordListener = Callable[[Sequence[RecordedEvent], int], Any]


class RuntimeView:
    """The platform RuntimeConfig plus the log position and version it reflects."""

    def __init__(
        self,
        log: EventLog,
        commands: ConfigCommands,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._log = log
        self._commands = commands
        self._clock = clock
        self._subscribers: dict[str, Subscriber] = {}
        self._tenant_listeners: dict[str, TenantListener] = {}
        self._record_listeners: dict[str, RecordListener] = {}
        self._lock = asyncio.Lock()
        self._requested = 0  # generation of the newest catch-up request
        self._completed = 0  # newest generation a finished pass has covered
        self.state = StoredConfig()
        self.position = 0
        self.config: AppConfig | None = None
        # the JSON document ``config`` was built from: the next build reuses what is unchanged
        self._document: dict[str, Any] = {}
        self.last_applied: AppliedVersion | None = None

    @property
    def version(self) -> int:
        return self.state.version

    def subscribe(self, name: str, callback: Subscriber) -> None:
        """Call ``callback(applied)`` for every applied version; re-subscribing replaces."""
        self._subscribers[name] = callback

    def on_tenant_change(self, name: str, listener: TenantListener) -> None:
        """Call ``listener(slug)`` when a pass sees an event on a tenant's stream or a change
        of its registry record: tenant caches hang their eviction on this hook."""
        self._tenant_listeners[name] = listener

    def on_records(self, name: str, listener: RecordListener) -> None:
        """Call ``listener(records, position)`` after every pass with the records it read (any
        stream) and the position now reflected: change feeds are built from this, so what they
        announce is what this process already serves."""
        self._record_listeners[name] = listener

    async def catch_up(self) -> bool:
        """Apply everything committed after our position; True if a pass this call ran changed
        the platform config.

        Coalesced: a request made during a pass makes the running caller do one more pass (which
        starts after the request, so it sees whatever prompted it); the waiting callers then find
        their request covered and return at once (False) instead of running a pass each.
        Errors of the log (database down) propagate, and the next call retries from the same
        position, so nothing is skipped.
        """
        self._requested += 1
        changed = False
        async with self._lock:
            while self._completed < self._requested:
                generation = self._requested
                changed |= await self._pass()
                self._completed = generation
        return changed

    async def _pass(self) -> bool:
        if self.config is None:
            return await self._initial_load()
        applied: list[AppliedVersion] = []
        state = self.state
        position = self.position
        tenants: list[str] = []
        seen: list[RecordedEvent] = []
        while batch := await self._log.read_all(position, _PAGE):
            seen.extend(batch)
            for recorded in batch:
                if recorded.stream == PLATFORM_STREAM:
                    state = await self._fold(state, recorded, applied)
                elif (slug := tenant_of(recorded.stream)) is not None:
                    tenants.append(slug)
                elif recorded.stream == REGISTRY_STREAM:
                    # a tenant's record (its custom domain, say) changes its computed URLs
                    event = events.decode(recorded)
                    if isinstance(event, events.TenantChanged):
                        tenants.append(event.slug)
            position = batch[-1].position
            if len(batch) < _PAGE:
                break
        config, document = self.config, self._document
        if applied:
            # only the parts that differ from the current config are rebuilt (structure_like)
            document = self._commands.runtime_document(state)
            config = self._commands.runtime_from(document, (self.config, self._document))
        # one assignment each, in this order: a reader never sees a config newer than `state`
        self.state, self.config, self.position = state, config, position
        self._document = document
        now = self._clock()  # applied means swapped in: stamp after the swap, not at the fold
        applied = [attrs.evolve(record, applied_at=now) for record in applied]
        if applied:
            self.last_applied = applied[-1]
        for slug in dict.fromkeys(tenants):
            self._notify(self._tenant_listeners, slug, tenant=slug)
        for record in applied:
            self._notify(self._subscribers, record, version=record.version)
        for name, listener in list(self._record_listeners.items()):
            try:
                listener(seen, position)
            except Exception:
                _log.exception("record listener failed", listener=name)
        return bool(applied)

    async def _fold(
        self, state: StoredConfig, recorded: RecordedEvent, applied: list[AppliedVersion]
    ) -> StoredConfig:
        event = events.decode(recorded)
        if recorded.version != state.version + 1:
            # cannot happen with a log that keeps its guarantees; reload rather than fold wrong
            _log.warning("platform stream out of step; reloading", have=state.version)
            state = await self._commands.load(recorded.version - 1)
        if isinstance(event, events.ConfigChanged):
            state = state.apply(event, recorded.version, recorded.position)
            applied.append(self._applied(recorded, event.semver))
        else:
            state = StoredConfig(state.document, recorded.version, recorded.position)
        return state

    async def _initial_load(self) -> bool:
        """First pass: load from the newest snapshot instead of folding the whole log."""
        head = await self._log.head_position()
        state = await self._commands.load()
        document = self._commands.runtime_document(state)
        config = self._commands.runtime_from(document)
        last = None
        if state.version:
            recorded = await self._log.read_stream(PLATFORM_STREAM, state.version, state.version)
            event = events.decode(recorded[-1])
            if isinstance(event, events.ConfigChanged):
                last = self._applied(recorded[-1], event.semver)
        # head was read first: anything committed meanwhile is re-read (and skipped) next pass
        position = max(head, state.position)
        self.state, self.config, self.position = state, config, position
        self._document = document
        if last is not None:
            last = attrs.evolve(last, applied_at=self._clock())
        self.last_applied = last
        if last is not None:
            self._notify(self._subscribers, last, version=last.version)
        return True

    def _applied(self, recorded: RecordedEvent, semver: str) -> AppliedVersion:
        return AppliedVersion(
            stream=recorded.stream,
            version=recorded.version,
            semver=semver,
            position=recorded.position,
            committed_at=recorded.recorded_at,
            applied_at=self._clock(),
        )

    @staticmethod
    def _notify(callbacks: dict[str, Callable[[Any], Any]], value: Any, **context: Any) -> None:
        """Call each callback; one that raises is logged and the others still run."""
        for name, callback in list(callbacks.items()):
            try:
                callback(value)
            except Exception:
                _log.exception("subscriber failed", subscriber=name, **context)
