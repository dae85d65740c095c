"""Change hints between processes: what they carry and where they go (the transports' port).

A hint only ever means "something changed, catch up" (D19, D20). Receivers read the event log
from their own last position and never trust the message body, so a lost, duplicated, late or
malformed hint can delay a change by at most the polling interval, never lose or reorder one.

Transports (Redis pub/sub, PostgreSQL LISTEN/NOTIFY) implement :class:`HintTransport`: the service
publishes through them after each successful append, and the :mod:`adapters.propagation`
``Propagator`` runs their subscriber loops. They connect lazily, so opening the service for a
one-shot command costs nothing until it actually writes. This module imports no transport (they
all import it); :mod:`adapters.propagation.transports` picks the ones a deployment runs.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Mapping, Sequence
from typing import Any, Final, Protocol

import attrs
import structlog

from adapters.sources.layers import Sources
from eventstore.state import PLATFORM_STREAM
from eventstore.tenants import tenant_stream
from projections.runtime import tenant_of

PLATFORM_TENANT: Final = "*"
#: PostgreSQL channel of the NOTIFY hints (one per database, so no prefix is needed)
PG_CHANNEL: Final = "parako_config_changed"

_log = structlog.get_logger(__name__)


def new_origin_id() -> str:
    """A random id per process (per service), so a process can ignore its own hints."""
    return secrets.token_hex(8)


def redis_channel(prefix: str, tenant: str | None) -> str:
    """``{prefix}:{tenant}:config:invalidated``; ``*`` stands for the platform (D19)."""
    return f"{prefix}:{tenant or PLATFORM_TENANT}:config:invalidated"


def redis_pattern(prefix: str) -> str:
    """The PSUBSCRIBE pattern that receives platform and every tenant's hints."""
    return f"{prefix}:*:config:invalidated"


@attrs.frozen
class Hint:
    """``stream`` reached ``version``; the log head was at least ``position`` after the append.

    On the wire (Redis and NOTIFY alike) a hint is one JSON object, readable by the reference's
    Node.js processes as well as by ours::

        {"originId": "9f…", "timestamp": 1764680000000, "tenantId": "*",
         "stream": "config/platform", "version": 8, "position": 12}

    ``originId``, ``timestamp`` (epoch milliseconds when published) and ``tenantId`` (``"*"``
    for the platform, else the tenant's slug) are what the reference reads; ``stream``,
    ``version`` and ``position`` are ours and let a receiver already there skip its catch-up.
    A payload from the reference carries only the first three: its stream is then the
    platform's or the tenant's, and version and position are unknown (a catch-up always runs).
    """

    origin_id: str
    stream: str
    version: int | None = None
    position: int | None = None
    #: epoch milliseconds when published; None until then (``encode`` stamps the current time)
    timestamp: int | None = None

    @property
    def tenant(self) -> str | None:
        return tenant_of(self.stream)

    def encode(self) -> str:
        """Compact JSON, far below NOTIFY's 8000-byte limit: positions, never documents."""
        body = {
            "originId": self.origin_id,
            "timestamp": self.timestamp if self.timestamp is not None else now_millis(),
            "tenantId": self.tenant or PLATFORM_TENANT,
            "stream": self.stream,
            "version": self.version,
            "position": self.position,
        }
        return json.dumps(body, separators=(",", ":"))

    @classmethod
    def decode(cls, raw: str | bytes) -> Hint | None:
        """The hint in ``raw`` (ours, or the reference's without ``stream``), or None when it
        is not a hint at all: not JSON, not an object, no string ``originId``, or neither a
        string ``stream`` nor a non-empty string ``tenantId``. Never raises."""
        try:
            body = json.loads(raw)
        except (ValueError, TypeError, RecursionError):  # UnicodeDecodeError is a ValueError
            return None
        if not isinstance(body, Mapping):
            return None
        origin = body.get("originId")
        stream = body.get("stream", _stream_of_tenant(body.get("tenantId")))
        if not isinstance(origin, str) or not isinstance(stream, str):
            return None
        return cls(
            origin,
            stream,
            _int_or_none(body.get("version")),
            _int_or_none(body.get("position")),
            _int_or_none(body.get("timestamp")),
        )


def now_millis() -> int:
    return time.time_ns() // 1_000_000


def _stream_of_tenant(tenant: Any) -> str | None:
    """The stream a reference payload's ``tenantId`` names: ``*`` is the platform."""
    if tenant == PLATFORM_TENANT:
        return PLATFORM_STREAM
    if isinstance(tenant, str) and tenant:
        return tenant_stream(tenant)
    return None


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


class HintSink(Protocol):
    """What a transport's subscriber loop reports to (the Propagator)."""

    def hint(self, source: str, hint: Hint | None) -> None:
        """A message arrived (None: unreadable, but still a reason to catch up)."""

    def connected(self, source: str) -> None:
        """Subscribed (again): everything sent while we were away is lost, so catch up."""

    def lost(self, source: str) -> None:
        """The subscription broke; polling covers until :meth:`connected`."""


class HintTransport(Protocol):
    name: str

    async def publish(self, hint: Hint) -> None:
        """Send ``hint``; never raises (a committed save must not fail for a lost hint)."""

    async def run(self, sink: HintSink) -> None:
        """Subscribe and report to ``sink`` until cancelled, reconnecting with backoff."""

    async def close(self) -> None: ...


class Health:
    """Logs each up/down transition of a connection once, never once per retry."""

    def __init__(self, what: str) -> None:
        self._what = what
        self.up: bool | None = None

    def restored(self) -> None:
        if self.up is False:
            _log.info(f"{self._what} restored")
        self.up = True

    def failed(self, error: BaseException) -> None:
        """Record a failure; the message names the error class only, never a URL or password."""
        if self.up is not False:
            _log.warning(f"{self._what} unavailable", error=type(error).__name__)
        self.up = False


def redis_hints_enabled(sources: Sources) -> bool:
    """Redis hints run when ``REDIS_HOST`` is set (environment or env file), not by default.

    ``REDIS_HOST`` has a default (localhost) for OIDC storage, but a process must not start
    talking to a Redis nobody configured for it; setting the host is the opt-in.
    """
    return bool(sources.bootstrap.environ.get("REDIS_HOST", "").strip())


async def publish_all(transports: Sequence[HintTransport], hint: Hint) -> None:
    """Publish on every transport; each one handles (and logs) its own failures."""
    for transport in transports:
        try:
            await transport.publish(hint)
        except Exception as exc:  # a transport bug must not fail a committed save
            _log.warning("hint publish failed", transport=transport.name, error=type(exc).__name__)
