"""Propagation latency: from a commit in process A to the new config applied in process B.

Process A is this process (a ``ConfigService`` saving one version at a time); the subscribers
are real ``parako-config watch --json --interval 600`` processes, so every version they apply
within the measurement arrived by a hint, never by the poll. Latency = the subscriber's
``applied_at`` (stamped right after it swapped the new RuntimeConfig in) minus the moment A's
append returned. A waits until every subscriber applied version v before saving v+1, so each
sample is one hint's latency, not a queue.

Beside it, in the same run: the raw Redis pub/sub round trip (PUBLISH to receipt in one process)
on the same redis-server, the floor any Redis hint can reach. Scenarios:

* Redis hints, SQLite store, 1 subscriber;
* NOTIFY hints (no Redis), PostgreSQL store, 1 subscriber (skipped when no server is reachable);
* Redis hints, SQLite store, 20 subscriber processes at once.

A private redis-server and a fresh PostgreSQL database are used and removed afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis

from adapters.wiring import open_service
from bench.report import Row, table
from bench.scratch_pg import PG_URL, drop_database, scratch_database
from eventstore.commands import Author

KEY_HEX = "cd" * 32
CLI = Path(sys.executable).with_name("parako-config")
WAIT_SECONDS = 10.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return statistics.median(ordered), p99


@contextlib.contextmanager
def _redis_server() -> Any:
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server not found (Debian: apt-get install redis-server)")
    port = _free_port()
    args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


async def _raw_round_trip(port: int, count: int) -> list[float]:
    """PUBLISH → message received, in ms, on a fresh pattern subscription like ours."""
    subscriber = aioredis.Redis(port=port)
    publisher = aioredis.Redis(port=port)
    pubsub = subscriber.pubsub()
    await pubsub.psubscribe("rawbench:*:config:invalidated")
    while (await pubsub.get_message(timeout=1.0) or {}).get("type") != "psubscribe":
        pass
    samples = []
    for i in range(count):
        started = time.perf_counter()
        await publisher.publish("rawbench:*:config:invalidated", str(i))
        while True:
            message = await pubsub.get_message(timeout=1.0)
            if message is not None and message["type"] == "pmessage":
                break
        samples.append((time.perf_counter() - started) * 1000)
    await pubsub.aclose()  # type: ignore[no-untyped-call]
    await subscriber.aclose()
    await publisher.aclose()
    return samples


class _Subscriber:
    """One ``parako-config watch --json`` process; lines are parsed as they arrive."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.process.stdout is not None
        while line := await self.process.stdout.readline():
            self.queue.put_nowait(json.loads(line))

    async def applied(self, version: int) -> float | None:
        """Epoch seconds at which the subscriber applied ``version`` (None: it never did)."""
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            try:
                item = await asyncio.wait_for(self.queue.get(), deadline - time.monotonic())
            except TimeoutError:
                return None
            if item["_version"] >= version:
                moment = datetime.fromisoformat(item["applied_at"].replace("Z", "+00:00"))
                return moment.timestamp() if item["_version"] == version else None

    async def stop(self) -> None:
        if self.process.returncode is None:
            self.process.terminate()
        await self.process.wait()
        self.reader.cancel()


def _env(root: Path, variables: dict[str, str]) -> dict[str, str]:
    env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG", "TMPDIR") if k in os.environ}
    env.update(variables)
    return env


@contextlib.asynccontextmanager
async def _subscribers(
    root: Path, variables: dict[str, str], count: int
) -> AsyncIterator[list[_Subscriber]]:
    started = []
    try:
        for _ in range(count):
            process = await asyncio.create_subprocess_exec(
                str(CLI),
                "watch",
                "--json",
                "--interval",
                "600",
                cwd=root,
                env=_env(root, variables),
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.DEVNULL,
            )
            started.append(_Subscriber(process))
        yield started
    finally:
        for subscriber in started:
            await subscriber.stop()


async def _propagation(
    root: Path, variables: dict[str, str], saves: int, fanout: int
) -> tuple[list[float], int]:
    """Latency samples in ms (one per save and subscriber) and the number of missed versions."""
    service = await open_service(root, variables)
    commits: dict[int, float] = {}
    store = service._need_store()
    save = store.save

    async def timed(*args: Any, **kwargs: Any) -> Any:
        result = await save(*args, **kwargs)
        commits[result.version] = time.time()
        return result

    store.save = timed  # type: ignore[method-assign]
    samples: list[float] = []
    missed = 0
    author = Author("bench", "propagation latency")
    try:
        async with _subscribers(root, variables, fanout) as subscribers:
            for subscriber in subscribers:  # each prints the current version first
                await subscriber.applied(service.version)
            await asyncio.sleep(1.0)  # let every subscriber finish subscribing
            for i in range(saves):
                result = await service.save({"branding": {"companyName": f"Bench {i}"}}, author)
                moments = await asyncio.gather(*(s.applied(result.version) for s in subscribers))
                for moment in moments:
                    if moment is None:
                        missed += 1
                    else:
                        samples.append((moment - commits[result.version]) * 1000)
    finally:
        await service.close()
    return samples, missed


async def _build_cost(root: Path, variables: dict[str, str]) -> float:
    """What each subscriber spends building the new RuntimeConfig, the bulk of an apply: with
    N subscribers on C cores, the last one cannot apply before about N x this / C."""
    service = await open_service(root, variables)
    try:
        store = service._need_store()
        state = await store.load()
        samples = []
        for _ in range(200):
            started = time.perf_counter()
            store.runtime(state)
            samples.append((time.perf_counter() - started) * 1000)
    finally:
        await service.close()
    return statistics.median(samples)


def _base_variables(**more: str) -> dict[str, str]:
    return {
        "USE_FILE_CONFIG": "false",
        "ENCRYPTION_KEY": KEY_HEX,
        "SECURITY_LOGGING_FILE_LOGGING_ENABLED": "false",
        **more,
    }


def _latency_rows(name: str, samples: list[float], missed: int, target: float) -> list[Row]:
    if not samples:
        return [(name, "latency", "no samples", "MISS")]
    p50, p99 = _percentiles(samples)
    verdict = "PASS" if p99 <= target and not missed else "MISS"
    return [
        (name, f"p50 over {len(samples):,} samples", f"{p50:.2f} ms", ""),
        (name, "p99", f"{p99:.2f} ms", f"{verdict} (p99 <= {target:.0f} ms)"),
        (name, "max / missed versions", f"{max(samples):.2f} ms / {missed}", ""),
    ]


async def _run(tmp: Path, args: argparse.Namespace, rows: list[Row], notes: list[str]) -> None:
    with _redis_server() as port:
        redis_vars = {"REDIS_HOST": "127.0.0.1", "REDIS_PORT": str(port)}
        raw = await _raw_round_trip(port, args.saves)
        p50, p99 = _percentiles(raw)
        name = "raw Redis pub/sub round trip"
        rows.append((name, f"p50 over {len(raw):,}", f"{p50:.3f} ms", ""))
        rows.append((name, "p99", f"{p99:.3f} ms", ""))

        sqlite_root = tmp / "sqlite"
        sqlite_root.mkdir()
        build = await _build_cost(sqlite_root, _base_variables())
        name = "RuntimeConfig build, in-process"
        rows.append((name, "median of 200 (CPU per applied version)", f"{build:.2f} ms", ""))
        samples, missed = await _propagation(
            sqlite_root, _base_variables(**redis_vars), args.saves, 1
        )
        rows += _latency_rows("Redis hint, SQLite, 1 subscriber", samples, missed, 20)

        url = await scratch_database()
        if url is None:
            notes.append(f"PostgreSQL not reachable at {PG_URL.split('@')[-1]}: NOTIFY skipped")
        else:
            try:
                pg_root = tmp / "pg"
                pg_root.mkdir()
                variables = _base_variables(
                    STORAGE_ADAPTER="postgresql", STORAGE_POSTGRESQL_URL=url
                )
                samples, missed = await _propagation(pg_root, variables, args.saves, 1)
                rows += _latency_rows("NOTIFY only, PostgreSQL, 1 sub", samples, missed, 20)
            finally:
                await drop_database(url)

        fan_root = tmp / "fanout"
        fan_root.mkdir()
        samples, missed = await _propagation(
            fan_root, _base_variables(**redis_vars), args.fanout_saves, args.fanout
        )
        rows += _latency_rows(f"Redis hint, SQLite, {args.fanout} subscribers", samples, missed, 50)


def main(argv: list[str] | None = None, out: Callable[[str], Any] = print) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench propagation")
    parser.add_argument("--saves", type=int, default=1000, help="saves per 1-subscriber run")
    parser.add_argument("--fanout", type=int, default=20, help="subscriber processes")
    parser.add_argument("--fanout-saves", type=int, default=1000, help="saves in the fan-out run")
    args = parser.parse_args(argv)
    rows: list[Row] = []
    notes: list[str] = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="parako-bench-prop-") as tmp:
        asyncio.run(_run(Path(tmp), args, rows, notes))
    out(f"parako-config propagation bench — Python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    out(table(rows))
    for note in notes:
        out(f"note: {note}")
    out(f"total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main(sys.argv[1:])
