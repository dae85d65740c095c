"""Prometheus metrics of the API (``features.metrics``): writes, conflicts, validation failures,
reveal denials, and where this process stands in the log.

Each application has its own registry, so two apps in one process (tests) never collide, and the
names carry ``features.metrics.prefix``. The log gauges are read when scraped rather than kept
up to date, so they cannot drift from the store.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)

from adapters.service import ConfigService
from eventstore.errors import ValidationFailed, VersionConflict

T = TypeVar("T")


class ApiMetrics:
    def __init__(self, prefix: str = "parako_", *, include_default: bool = False) -> None:
        self.registry = CollectorRegistry()
        if include_default:
            ProcessCollector(registry=self.registry)
            PlatformCollector(registry=self.registry)
        r = self.registry
        self.saves = Counter(
            f"{prefix}config_saves", "Writes that made a new version", ["kind"], registry=r
        )
        self.conflicts = Counter(
            f"{prefix}config_conflicts", "Writes refused by the optimistic lock (D14)", registry=r
        )
        self.validation_failures = Counter(
            f"{prefix}config_validation_failures", "Writes refused as invalid (D18)", registry=r
        )
        self.reveal_denials = Counter(
            f"{prefix}reveal_denials", "Reveals refused by the rate limit (D11)", registry=r
        )
        self.runtime_reads = Counter(
            f"{prefix}runtime_reads",
            "Reads of the runtime configuration by app processes (not in the audit trail)",
            ["outcome"],
            registry=r,
        )
        #: the child an app's repeated read counts on, looked up once (a lookup per request
        #: cost as much as the rest of the 304's bookkeeping)
        self.runtime_not_modified = self.runtime_reads.labels(outcome="not_modified")
        self.log_head = Gauge(
            f"{prefix}log_head_position", "Global position of the newest event", registry=r
        )
        self.lag = Gauge(
            f"{prefix}propagation_lag_events",
            "Events committed to the log that this process has not applied yet",
            registry=r,
        )

        self.integrity = Gauge(
            f"{prefix}log_integrity_failed",
            "1 when this process found the event log tampered with (it refuses writes)",
            registry=r,
        )

    async def counting(self, kind: str, write: Awaitable[T], appended: bool = True) -> T:
        """Await ``write`` and count what came of it."""
        try:
            result = await write
        except VersionConflict:
            self.conflicts.inc()
            raise
        except ValidationFailed:
            self.validation_failures.inc()
            raise
        if getattr(result, "appended", appended):
            self.saves.labels(kind).inc()
        return result

    async def render(self, service: ConfigService) -> bytes:
        if not service.file_mode:
            head = await service.head_position()
            self.log_head.set(head)
            self.lag.set(max(0, head - service.position))
            self.integrity.set(1 if service.integrity_failure is not None else 0)
        return generate_latest(self.registry)
