"""The health report: can this process serve and change the configuration right now?

Checks, each reported separately so an operator sees which one failed: the store answers (log
head), the hash chain of the newest events is intact, Redis answers a PING (when the deployment
uses Redis for hints), and the stored head still validates against the schema. Error texts name
the exception class only: a connection error can quote a URL with a password.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any, Final

import structlog

from adapters.propagation.hints import redis_hints_enabled
from adapters.service import ConfigService
from adapters.sources.bootstrap import redis_password
from eventstore.integrity import LogIntegrityError
from eventstore.state import semver_of

_TIMEOUT: Final = 2.0
_log = structlog.get_logger("parako-config.api")


def _failed(exc: BaseException) -> dict[str, Any]:
    return {"ok": False, "error": type(exc).__name__}


async def _store(service: ConfigService, window: int) -> tuple[dict[str, Any], dict[str, Any]]:
    try:
        head = await asyncio.wait_for(service.head_position(), _TIMEOUT)
        # the checkpoint holds, the head did not go back, and every stream we fold is read
        # up to that head through verified reads (a failure is recorded on the service)
        await asyncio.wait_for(service.check_integrity(), _TIMEOUT)
    except LogIntegrityError:
        pass
    except Exception as exc:
        return _failed(exc), {"ok": False, "error": "store unreachable"}
    store = {"ok": True, "head_position": head, "applied_position": service.position}
    failure = service.integrity_failure
    if failure is not None:
        return store, {
            "ok": False,
            "error": "log_integrity_failed",
            "first_bad_position": failure.position,
            "reason": failure.reason,
        }
    try:
        report = await asyncio.wait_for(service.verify_recent(window), _TIMEOUT)
    except Exception as exc:
        return store, _failed(exc)
    chain: dict[str, Any] = {"ok": report.ok, "checked": report.checked}
    if report.first_break is not None:
        chain["first_bad_position"] = report.first_break.position
        chain["reason"] = report.first_break.reason.value
    return store, chain


async def _redis(service: ConfigService) -> dict[str, Any]:
    if not redis_hints_enabled(service.sources):
        return {"ok": True, "configured": False}
    import redis.asyncio as aioredis

    settings = service.sources.bootstrap.process.redis
    client = aioredis.Redis(
        host=settings.host,
        port=settings.port,
        db=settings.database,
        password=redis_password(service.sources.bootstrap),
        socket_connect_timeout=_TIMEOUT,
        socket_timeout=_TIMEOUT,
    )
    try:
        await client.ping()
    except Exception as exc:
        return {"configured": True, **_failed(exc)}
    finally:
        await client.aclose()
    return {"ok": True, "configured": True}


async def _config(service: ConfigService) -> dict[str, Any]:
    try:
        await service.config_at(semver_of(service.version))
    except Exception as exc:
        return _failed(exc)
    return {"ok": True, "version": semver_of(service.version), "_version": service.version}


async def health_report(service: ConfigService, chain_window: int) -> dict[str, Any]:
    """``{"status": "ok"|"failing", "pid": …, "checks": {...}}``; any failed check makes it
    failing."""
    if service.file_mode:
        checks: dict[str, Any] = {"store": {"ok": True, "mode": "file"}}
    else:
        store, chain = await _store(service, chain_window)
        checks = {"store": store, "hash_chain": chain}
        checks["config"] = await _config(service) if store["ok"] else {"ok": False}
    checks["redis"] = await _redis(service)
    ok = all(check.get("ok") for check in checks.values())
    if not ok:
        _log.warning("health check failing", failed=[k for k, v in checks.items() if not v["ok"]])
    # the pid tells the processes of ``serve --workers N`` apart behind their one port
    return {"status": "ok" if ok else "failing", "pid": os.getpid(), "checks": checks}
