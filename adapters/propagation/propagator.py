"""Keeping an app process's configuration current: hints, polling, and catch-up after reconnects.

The ``Propagator`` runs inside an app process (``parako-config run``, ``watch``, or an embedding
application). It subscribes first to every hint transport the deployment has (Redis when
``REDIS_HOST`` is set, LISTEN/NOTIFY on PostgreSQL), then catches up from the log; after that it
catches up on every hint, after every (re)subscription, and on a poll timer that compares the
log's head position with ours — the timer works on every adapter, SQLite included, and bounds
staleness by the interval even if every hint is lost (D20).

Catch-ups run in one worker task; hints that arrive while one runs just mark "run again", so a
burst of hints costs at most one extra pass. A failing catch-up (database down) is logged once,
the last config keeps being served, and the next hint or poll tries again.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from typing import Any, Final

import structlog

from adapters.propagation.hints import Health, Hint, HintTransport
from adapters.service import ConfigService
from eventstore.integrity import LogIntegrityError

DEFAULT_POLL_SECONDS: Final = 30.0
#: how long start() waits for the hint transports to subscribe before catching up anyway
SUBSCRIBE_WAIT_SECONDS: Final = 2.0

Evict = Callable[[str | None], Any]
_log = structlog.get_logger(__name__)


class Propagator:
    """Subscribe to hints, then keep ``service``'s RuntimeConfig current until stopped."""

    def __init__(
        self,
        service: ConfigService,
        transports: Sequence[HintTransport] | None = None,
        *,
        poll_interval: float = DEFAULT_POLL_SECONDS,
        evict: Evict | None = None,
    ) -> None:
        """``evict(slug)`` drops one tenant's cached config, ``evict(None)`` every tenant's.

        Tenant caches arrive with multi-tenancy; until then the hook only has to exist.
        """
        if poll_interval <= 0:
            raise ValueError("poll_interval must be > 0")
        self._service = service
        self._transports = list(service.hint_transports if transports is None else transports)
        self._poll_interval = poll_interval
        self._evict = evict
        self._wanted = asyncio.Event()
        self._ready: dict[str, asyncio.Event] = {t.name: asyncio.Event() for t in self._transports}
        self._tasks: list[asyncio.Task[None]] = []
        self._database = Health("configuration store")
        self.catch_ups = 0  # passes requested by hints, polls and reconnects (for tests/bench)

    # --- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Subscribe first, then catch up, then keep catching up in the background."""
        for transport in self._transports:
            self._tasks.append(asyncio.create_task(transport.run(self), name=transport.name))
        if self._ready:
            waits = [asyncio.create_task(ready.wait()) for ready in self._ready.values()]
            _, pending = await asyncio.wait(waits, timeout=SUBSCRIBE_WAIT_SECONDS)
            for task in pending:
                task.cancel()
        await self._catch_up()
        self._tasks.append(asyncio.create_task(self._work(), name="catch-up"))
        self._tasks.append(asyncio.create_task(self._poll(), name="poll"))

    async def stop(self) -> None:
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def __aenter__(self) -> Propagator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # --- HintSink ----------------------------------------------------------------------------

    def hint(self, source: str, hint: Hint | None) -> None:
        """A hint from another process: evict what it names, then catch up (unless we have it)."""
        if self._evict is not None:
            self._call_evict(hint.tenant if hint is not None else None)
        known = hint.position if hint is not None else None
        if known is not None and self._service.position >= known:
            return
        self.request()

    def connected(self, source: str) -> None:
        """(Re)subscribed: whatever was published while we were away is lost, so catch up."""
        ready = self._ready.get(source)
        if ready is not None:
            ready.set()
        self.request()

    def lost(self, source: str) -> None:
        """Polling covers until the transport reconnects; let start() stop waiting for it."""
        ready = self._ready.get(source)
        if ready is not None:
            ready.set()

    # --- catching up -------------------------------------------------------------------------

    def request(self) -> None:
        """Ask the worker for a catch-up pass; requests made during a pass coalesce into one."""
        self.catch_ups += 1
        self._wanted.set()

    async def _work(self) -> None:
        while True:
            await self._wanted.wait()
            self._wanted.clear()
            await self._catch_up()

    async def _catch_up(self) -> None:
        try:
            await self._service.catch_up()
        except LogIntegrityError:
            pass  # the store answers; the service recorded and logged the tampering once
        except Exception as exc:  # the store is down: keep serving the last config
            self._database.failed(exc)
        else:
            self._database.restored()

    async def _poll(self) -> None:
        """Compare the log head with our position every interval; catch up when behind."""
        while True:
            await asyncio.sleep(self._poll_interval)
            try:
                behind = await self._service.head_position() > self._service.position
            except Exception as exc:
                self._database.failed(exc)
                behind = True  # let the catch-up (and its logging) run as soon as it can
            if behind or self._database.up is False:
                self.request()

    def _call_evict(self, tenant: str | None) -> None:
        assert self._evict is not None
        try:
            self._evict(tenant)
        except Exception:
            _log.exception("tenant cache eviction failed", tenant=tenant)
