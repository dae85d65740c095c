"""Rate limits counted from the audit trail: the reveal limit (D11 in docs/decisions.md) and the
console's sign-in limit (D25) — one mechanism, :class:`AuditedLimit`.

The reveal limit — at most 10 reveals per minute per token holder — is counted from the audit
trail, where every reveal is an event anyway: every API and console process of an installation
then enforces one shared limit with no extra state, and a restart does not reset it. Denied
attempts are not recorded, so hammering the endpoint does not extend the wait. (Two processes
allowing a reveal at the same instant can both let the 10th through: the limit stops a script
from dumping secrets, it is not a counter.)

The sign-in limit counts failed console sign-ins the same way, per presented token (a keyed tag
of its first characters) and client address: a successful sign-in never counts, and someone
behind the same proxy as everyone else can only lock out the token whose beginning they type.
Failures are recorded in the log, so every process sees them; a process records at most
:data:`RECORDED_FAILURES_PER_MINUTE` of them, so a flood of wrong tokens is refused without
growing the log without bound. The client address is the one :func:`client_address` takes from
``X-Forwarded-For``, trusting as many proxies as ``deployment.server.trust_proxy_hops`` says.
"""

from __future__ import annotations

import ipaddress
import math
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Final

from adapters.service import ConfigService
from eventstore.console import ConsoleRecords
from projections.audit import EntryKind

REVEALS_PER_WINDOW: Final = 10
WINDOW_SECONDS: Final = 60.0
#: failed sign-ins per minute per presented token and client address
SIGN_IN_FAILURES_PER_WINDOW: Final = 10
#: failed sign-ins one process records per minute, whoever makes them
RECORDED_FAILURES_PER_MINUTE: Final = 120
UNKNOWN_CLIENT: Final = "unknown"

Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


class AuditedLimit:
    """At most ``limit`` audit entries of one kind per ``window`` seconds for one key (the
    entry's ``who``, and its ``path`` when given), counted from the audit trail that every
    process of an installation shares."""

    def __init__(
        self,
        service: ConfigService,
        kind: EntryKind,
        limit: int,
        window: float = WINDOW_SECONDS,
        clock: Clock = _utc_now,
    ) -> None:
        self._service = service
        self._kind = kind
        self._limit = limit
        self._window = timedelta(seconds=window)
        self._clock = clock

    async def wait(self, who: str, path: str | None = None) -> int | None:
        """None when one more is allowed now, else the seconds to wait (at least 1)."""
        now = self._clock()
        recent = [
            entry
            for entry in await self._service.audit_entries(actor=who, since=now - self._window)
            if entry.kind == self._kind and (path is None or entry.path == path)
        ]
        if len(recent) < self._limit:
            return None
        frees_up = recent[-self._limit].when + self._window
        return max(1, math.ceil((frees_up - now).total_seconds()))


class RevealLimit(AuditedLimit):
    """At most 10 reveals per minute per token holder (D11)."""

    def __init__(
        self,
        service: ConfigService,
        limit: int = REVEALS_PER_WINDOW,
        window: float = WINDOW_SECONDS,
        clock: Clock = _utc_now,
    ) -> None:
        super().__init__(service, "reveal", limit, window, clock)


class SignInLimit(AuditedLimit):
    """At most 10 failed console sign-ins per minute per presented token and client address.

    In file mode there is no log and no token can sign in, so nothing is counted.
    """

    def __init__(
        self,
        service: ConfigService,
        limit: int = SIGN_IN_FAILURES_PER_WINDOW,
        window: float = WINDOW_SECONDS,
        clock: Clock = _utc_now,
        recorded_per_minute: int = RECORDED_FAILURES_PER_MINUTE,
    ) -> None:
        super().__init__(service, "sign-in", limit, window, clock)
        self._records = None if service.file_mode else ConsoleRecords(service.event_log, clock)
        self._flood = SlidingWindowLimiter(limit=recorded_per_minute, window=60.0)

    async def wait(self, who: str, path: str | None = None) -> int | None:
        """``who`` is the client address, ``path`` the tag of the presented token."""
        return None if self._records is None else await super().wait(who, path)

    async def failed(self, client: str, token: str) -> None:
        """Count a failed sign-in of ``token`` (its tag) from ``client``, in every process."""
        if self._records is not None and self._flood.acquire("") is None:
            await self._records.sign_in_failed(token, client)


def _address(entry: str) -> str | None:
    """The address in one ``X-Forwarded-For`` entry (``[v6]:port`` and ``v4:port`` forms too),
    normalised; None when the entry is not an address."""
    text = entry.strip()
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


def client_address(peer: str | None, forwarded_for: list[str], trusted_hops: int) -> str:
    """The address of the client, believing ``X-Forwarded-For`` only as far as trusted proxies
    wrote it.

    Each proxy appends the address it received the request from, so with ``trusted_hops``
    proxies in front of this process (the socket ``peer`` being the nearest) the client is the
    ``trusted_hops``-th entry from the right. Nothing left of that is read: the client can write
    anything there. A chain shorter than that, or an entry that is not an address, stops the walk
    at the nearest address before it.
    """
    found = (_address(peer) if peer else None) or UNKNOWN_CLIENT
    if trusted_hops <= 0 or not forwarded_for:
        return found
    joined = ",".join(forwarded_for)
    nearest_first = reversed(joined.rsplit(",", trusted_hops)[-trusted_hops:])
    for entry in nearest_first:
        address = _address(entry)
        if address is None:
            break
        found = address
    return found


class SlidingWindowLimiter:
    """At most ``limit`` attempts per ``window`` seconds per key, in this process's memory."""

    def __init__(
        self,
        limit: int = REVEALS_PER_WINDOW,
        window: float = WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._limit = limit
        self._window = window
        self._clock = clock
        self._hits: dict[str, deque[float]] = {}

    def acquire(self, key: str) -> int | None:
        """Record an attempt for ``key``; None when allowed, else the seconds to wait (≥ 1)."""
        now = self._clock()
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - self._window:
            hits.popleft()
        if len(hits) >= self._limit:
            return max(1, math.ceil(hits[0] + self._window - now))
        hits.append(now)
        return None
