"""Management API throughput and latency over loopback, one worker process against two.

The API runs as a real ``parako-config serve --workers N`` (uvicorn, SQLite store, WAL with
``synchronous=FULL``) in a fresh temporary project per worker count, all of them started before
the first measurement. This process is the load generator: an httpx client with
``--concurrency`` requests in flight on keep-alive connections for ``--duration`` seconds per
scenario and worker count, cut into ``--rounds`` slices (each after a warm-up) that alternate
between the servers, so a change in the machine's load lands on every worker count alike. Client
and servers share the machine's cores, so the numbers are a floor for a dedicated server, and
the ratio between worker counts is bounded by what the cores left to the server can do.

Scenarios: ``GET /api/v1/config`` with a read-only token (the whole effective config: auth,
masking, JSON), ``GET /api/v1/config/branding`` (a section read), and ``PUT
/api/v1/config/branding`` with a changing ``companyName`` (auth, validation of the whole config,
one durable append, the new version applied) — writes are serialised by the store, so their
throughput is that of one writer, whichever worker takes them.

    .venv/bin/python -m bench http [--duration 10] [--concurrency 16] [--workers 1,2] [--rounds 4]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

CLI = Path(sys.executable).with_name("parako-config")
KEY_HEX = "e1" * 32
READ_SCOPE = ("--scope", "parako:config:read")
WRITE_SCOPE = ("--scope", "parako:config:write")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env(port: int) -> dict[str, str]:
    keep = {k: os.environ[k] for k in ("PATH", "HOME", "LANG") if k in os.environ}
    return {
        **keep,
        "USE_FILE_CONFIG": "false",
        "ENCRYPTION_KEY": KEY_HEX,
        "DEPLOYMENT_SERVER_PORT": str(port),
        "SECURITY_LOGGING_LEVEL": "warn",
    }


def _token(root: Path, env: dict[str, str], name: str, scopes: tuple[str, ...]) -> str:
    done = subprocess.run(
        [str(CLI), "token", "create", name, *scopes],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def _wait_ready(base: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError("parako-config serve exited")
        try:
            if httpx.get(f"{base}/api/v1/health").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise TimeoutError("the API did not start")


Request = Callable[[httpx.AsyncClient], Any]
#: (name, needs the write scope, the request)
Scenario = tuple[str, bool, Request]


async def _load(
    base: str, token: str, make: Request, duration: float, concurrency: int, warmup: float
) -> tuple[int, float, list[float], int]:
    """Requests done, seconds measured, latencies (s) and non-2xx count, after ``warmup``."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    headers = {"Authorization": f"Bearer {token}"}
    latencies: list[float] = []
    failures = 0
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits) as client:
        start = time.perf_counter()
        measure_from = start + warmup
        stop = measure_from + duration

        async def worker() -> None:
            nonlocal failures
            while (now := time.perf_counter()) < stop:
                response = await make(client)
                done = time.perf_counter()
                if now >= measure_from:
                    latencies.append(done - now)
                    if not response.is_success:
                        failures += 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return len(latencies), duration, latencies, failures


def _row(name: str, result: tuple[int, float, list[float], int]) -> dict[str, Any]:
    count, seconds, latencies, failures = result
    ordered = sorted(latencies)
    return {
        "scenario": name,
        "requests": count,
        "rps": count / seconds,
        "p50_ms": statistics.median(ordered) * 1000,
        "p99_ms": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000,
        "errors": failures,
    }


#: a read that skips the head check (read-after-write consistency is the default)
STALE = "GET …/branding (stale)"
#: the default read may cost at most this much more than the stale one
FRESH_READ_TARGET = 1.15


def _scenarios() -> list[Scenario]:
    names = itertools.count()
    return [
        ("GET /api/v1/config (read token)", False, lambda c: c.get("/api/v1/config")),
        ("GET /api/v1/config/branding", True, lambda c: c.get("/api/v1/config/branding")),
        (
            STALE,
            True,
            lambda c: c.get("/api/v1/config/branding", params={"consistency": "stale"}),
        ),
        (
            "PUT /api/v1/config/branding",
            True,
            lambda c: c.put("/api/v1/config/branding", json={"companyName": f"Co {next(names)}"}),
        ),
    ]


class _Served:
    """``serve --workers N`` in a fresh project, with a read-only and a read-write token."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.root = Path(tempfile.mkdtemp(prefix="parako-bench-http-"))
        (self.root / "runtime").mkdir()
        port = _free_port()
        env = _env(port)
        self.base = f"http://127.0.0.1:{port}"
        self.reader = _token(self.root, env, "bench-reader", READ_SCOPE)
        self.writer = _token(self.root, env, "bench", READ_SCOPE + WRITE_SCOPE)
        self.process = subprocess.Popen(
            [str(CLI), "serve", "--port", str(port), "--workers", str(workers)],
            cwd=self.root,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(60)
        shutil.rmtree(self.root, ignore_errors=True)


def _measure(served: list[_Served], args: argparse.Namespace) -> dict[int, list[dict[str, Any]]]:
    """Every scenario on every server, in ``--rounds`` slices that alternate between the
    servers, so a change in the machine's load during the run hits every worker count alike."""
    rows: dict[int, list[dict[str, Any]]] = {s.workers: [] for s in served}
    for name, writes, make in _scenarios():
        results: dict[int, list[tuple[int, float, list[float], int]]] = {
            s.workers: [] for s in served
        }
        for round_ in range(args.rounds):
            for server in served if round_ % 2 == 0 else served[::-1]:
                token = server.writer if writes else server.reader
                load = _load(
                    server.base,
                    token,
                    make,
                    args.duration / args.rounds,
                    args.concurrency,
                    args.warmup,
                )
                results[server.workers].append(asyncio.run(load))
        for workers, slices in results.items():
            merged = (
                sum(r[0] for r in slices),
                sum(r[1] for r in slices),
                [latency for r in slices for latency in r[2]],
                sum(r[3] for r in slices),
            )
            rows[workers].append(_row(name, merged))
    return rows


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench http")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per scenario")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds before each slice")
    parser.add_argument(
        "--workers", default="1,2", help="worker counts to compare, the first is the baseline"
    )
    parser.add_argument("--rounds", type=int, default=4, help="alternating slices per scenario")
    args = parser.parse_args(argv)
    counts = [int(n) for n in args.workers.split(",")]

    served: list[_Served] = []
    try:
        for workers in counts:
            served.append(_Served(workers))
        for server in served:
            _wait_ready(server.base, server.process)
        results = _measure(served, args)
    finally:
        for server in served:
            server.stop()

    print(
        f"parako-config HTTP bench — Python {platform.python_version()}, {os.cpu_count()} CPUs, "
        f"concurrency {args.concurrency}, {args.duration:g} s per scenario and worker count "
        f"in {args.rounds} alternating slices, workers {' vs '.join(map(str, counts))}"
    )
    print(
        f"{'scenario':<31} | {'workers':>7} | {'requests':>8} | {'req/s':>7} | "
        f"{'vs ' + str(counts[0]):>6} | {'p50':>9} | {'p99':>9} | errors"
    )
    print("-+-".join("-" * width for width in (31, 7, 8, 7, 6, 9, 9, 6)))
    baseline = results[counts[0]]
    for index, first in enumerate(baseline):
        for workers in counts:
            r = results[workers][index]
            ratio = r["rps"] / first["rps"] if first["rps"] else float("nan")
            print(
                f"{r['scenario']:<31} | {workers:>7} | {r['requests']:>8} | {r['rps']:>7.0f} | "
                f"{ratio:>6.2f} | {r['p50_ms']:>6.2f} ms | {r['p99_ms']:>6.2f} ms | {r['errors']}"
            )
    for workers in counts:
        by_name = {r["scenario"]: r for r in results[workers]}
        fresh, stale = by_name["GET /api/v1/config/branding"], by_name[STALE]
        cost = stale["rps"] / fresh["rps"] if fresh["rps"] else float("nan")
        verdict = "PASS" if cost <= FRESH_READ_TARGET else "MISS"
        print(
            f"workers={workers}: a read-after-write GET costs {cost:.2f}× a stale GET "
            f"(target ≤ {FRESH_READ_TARGET}×): {verdict}"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
