"""The changes this process has applied, in log order, for watchers (long-poll and SSE).

A watcher never reads the log itself: the process's own catch-up (:class:`RuntimeView`) reads
every new record once, and hands them here after it has swapped the new config in — so what a
watcher is told is what this process already serves, and a hundred watchers cost one read. Each
change keeps its log position, which is the SSE event id: a client that resumes after position
``P`` is given exactly the changes after ``P`` (nothing skipped, nothing twice) as long as they
are still kept; older than that, it is given the whole config first.

A process keeps only what it applied since it started; a client that resumes from before that
(this server restarted, or another process of the installation served its earlier events) has
the missing changes read from the log once, if there are at most :data:`BACKFILL_RECORDS` records
to read, and kept like the others, so the next client resuming from there costs nothing.

Without a hint transport (SQLite without Redis) nothing would tell this process about a commit
made by another one until the next poll. So while anyone is waiting, one poller checks the log's
head every :data:`POLL_SECONDS` (one indexed query, no connection held in between) and catches
up when it moved; when nobody waits, it stops.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import itertools
from collections import deque
from collections.abc import Sequence
from typing import Final

import attrs
import structlog

from adapters.service import ConfigService
from eventstore import events
from eventstore.log import RecordedEvent
from eventstore.state import PLATFORM_STREAM
from eventstore.tenants import REGISTRY_STREAM, slug_of_stream
from eventstore.tokens import TOKEN_STREAM

#: how many changes are kept for clients that resume
KEEP: Final = 4096
#: how often the head is checked while someone waits
POLL_SECONDS: Final = 0.5
#: the most log records read to give a resuming client the changes this process never kept
BACKFILL_RECORDS: Final = 10_000

_log = structlog.get_logger("parako-config.api")


@attrs.frozen
class Change:
    """One applied change: a platform version, a tenant's overrides version, or a tenant's
    registry record (its domain or status)."""

    position: int
    stream: str
    version: int
    semver: str
    paths: tuple[str, ...]
    tenant: str | None = None

    @property
    def platform(self) -> bool:
        return self.stream == PLATFORM_STREAM

    def concerns(self, tenant: str | None) -> bool:
        """Whether a watcher of the platform (``None``) or of one tenant is told of it: a
        tenant's effective config changes with the platform's too."""
        return self.platform or (tenant is not None and self.tenant == tenant)


def change_of(recorded: RecordedEvent) -> Change | None:
    """The change a record makes, if any (reveals, tokens and sign-outs change no config)."""
    stream = recorded.stream
    if stream != PLATFORM_STREAM and stream != REGISTRY_STREAM and not slug_of_stream(stream):
        return None
    event = events.decode(recorded)
    if isinstance(event, events.ConfigChanged | events.TenantOverrideChanged):
        tenant = event.tenant if isinstance(event, events.TenantOverrideChanged) else None
        paths = tuple(dict.fromkeys(c.path for c in event.changes))
        return Change(recorded.position, stream, recorded.version, event.semver, paths, tenant)
    if isinstance(event, events.TenantChanged):
        return Change(recorded.position, stream, recorded.version, "", (), event.slug)
    return None


class ChangeFeed:
    """The recent changes of one process, and a way to wait for the next."""

    def __init__(
        self, service: ConfigService, *, keep: int = KEEP, poll_seconds: float = POLL_SECONDS
    ) -> None:
        self._service = service
        self._poll_seconds = poll_seconds
        self._changes: deque[Change] = deque(maxlen=keep)
        self._positions: deque[int] = deque(maxlen=keep)
        #: every change after this position is kept
        self._complete_after = service.position
        self.position = service.position
        #: how many token records (created, revoked) were applied: held watches re-check theirs
        self.token_changes = 0
        self._wakeup = asyncio.Event()
        self._backfilling = asyncio.Lock()
        self._waiting = 0
        self._poller: asyncio.Task[None] | None = None
        self.closed = False
        if not service.file_mode:
            service.view.on_records("change-feed", self._records)

    def _records(self, records: Sequence[RecordedEvent], position: int) -> None:
        for recorded in records:
            if recorded.position <= self.position:
                continue
            if recorded.stream == TOKEN_STREAM:
                self.token_changes += 1
            change = change_of(recorded)
            if change is None:
                continue
            if len(self._changes) == self._changes.maxlen:
                self._complete_after = self._changes[0].position
            self._changes.append(change)
            self._positions.append(change.position)
        self.position = max(self.position, position)
        self._wake()

    def _wake(self) -> None:
        woken, self._wakeup = self._wakeup, asyncio.Event()
        woken.set()

    def since(self, position: int, tenant: str | None = None) -> list[Change] | None:
        """The changes after ``position`` a watcher of the platform (``tenant=None``) or of one
        tenant is told of; None when some of them are no longer kept."""
        if position < self._complete_after:
            return None
        start = bisect.bisect_right(self._positions, position)
        if start == len(self._changes):
            return []  # the common case: a watcher woken for what it has already seen
        return [c for c in itertools.islice(self._changes, start, None) if c.concerns(tenant)]

    async def backfill(self, position: int) -> bool:
        """Make the changes after ``position`` available to :meth:`since` when they are older than
        what this process kept (it started later): read them from the log, once for every
        client. False when there are too many to read or to keep; such a client starts over
        from the whole state."""
        async with self._backfilling:
            until = self._complete_after
            if position >= until:
                return True
            if position < 0 or until - position > BACKFILL_RECORDS:
                return False
            records: list[RecordedEvent] = []
            log = self._service.event_log
            while len(records) < until - position:
                page = await log.read_all(position + len(records), until - position - len(records))
                if not page:
                    break
                records.extend(page)
            older = [c for r in records if r.position <= until and (c := change_of(r)) is not None]
            room = (self._changes.maxlen or 0) - len(self._changes)
            if self._complete_after != until or len(older) > room:
                return False  # changes were dropped meanwhile, or these would push some out
            self._changes.extendleft(reversed(older))
            self._positions.extendleft(c.position for c in reversed(older))
            self._complete_after = position
            return True

    async def wait(self, timeout: float) -> bool:
        """Until this process applies something new (True) or ``timeout`` passes or the feed
        closes (False)."""
        if self.closed or timeout <= 0:
            return False
        woken = self._wakeup
        self._waiting += 1
        if self._poller is None and not self._service.file_mode:
            self._poller = asyncio.create_task(self._poll(), name="change-feed-poll")
        try:
            async with asyncio.timeout(timeout):  # no task per waiter, unlike wait_for
                await woken.wait()
        except TimeoutError:
            return False
        finally:
            self._waiting -= 1
        return not self.closed

    async def _poll(self) -> None:
        try:
            while self._waiting and not self.closed:
                await asyncio.sleep(self._poll_seconds)
                try:
                    await fresh(self._service)
                except Exception as error:  # the log is down: watchers keep waiting
                    _log.warning("change feed could not check the log", error=type(error).__name__)
        finally:
            self._poller = None

    async def close(self) -> None:
        """End every wait (a server shutting down must not wait for idle streams)."""
        self.closed = True
        self._wake()
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller


async def fresh(service: ConfigService) -> None:
    """Read-after-write across processes: when the log's head is past what this process has
    applied, catch up before answering. One indexed head query when nothing changed."""
    if service.file_mode:
        return
    if await service.head_position() > service.position:
        await service.catch_up()
