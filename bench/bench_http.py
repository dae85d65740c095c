"""Management API throughput and latency over loopback: read a section, write a section.

The API runs as a real ``parako-config serve`` process (uvicorn, SQLite store, WAL with
``synchronous=FULL``) in a temporary project directory; this process is the load generator: an
httpx client with ``--concurrency`` requests in flight on keep-alive connections for
``--duration`` seconds per scenario, after a warm-up. Both share the machine's cores, so the
numbers are a floor for a dedicated server.

Scenarios: ``GET /api/v1/config/branding`` (a section read: auth, masking, JSON), and
``PUT /api/v1/config/branding`` with a changing ``companyName`` (auth, validation of the whole
config, one durable append, the new version applied) — writes are serialised by the store, so
their throughput is that of one writer.

    .venv/bin/python -m bench http [--duration 10] [--concurrency 16]
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
SCOPE_ARGS = ("--scope", "parako:config:read", "--scope", "parako:config:write")


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
        "LOG_LEVEL": "warn",
    }


def _token(root: Path, env: dict[str, str]) -> str:
    done = subprocess.run(
        [str(CLI), "token", "create", "bench", *SCOPE_ARGS],
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


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench http")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per scenario")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--warmup", type=float, default=2.0)
    args = parser.parse_args(argv)

    root = Path(tempfile.mkdtemp(prefix="parako-bench-http-"))
    (root / "runtime").mkdir()
    port = _free_port()
    env = _env(port)
    base = f"http://127.0.0.1:{port}"
    token = _token(root, env)
    server = subprocess.Popen(
        [str(CLI), "serve", "--port", str(port)],
        cwd=root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    names = itertools.count()
    scenarios: list[tuple[str, Request]] = [
        ("GET /api/v1/config/branding", lambda c: c.get("/api/v1/config/branding")),
        (
            "PUT /api/v1/config/branding",
            lambda c: c.put("/api/v1/config/branding", json={"companyName": f"Co {next(names)}"}),
        ),
    ]
    rows = []
    try:
        _wait_ready(base, server)
        for name, make in scenarios:
            result = asyncio.run(
                _load(base, token, make, args.duration, args.concurrency, args.warmup)
            )
            rows.append(_row(name, result))
    finally:
        server.terminate()
        server.wait(30)
        shutil.rmtree(root, ignore_errors=True)

    print(
        f"parako-config HTTP bench — Python {platform.python_version()}, {os.cpu_count()} CPUs, "
        f"concurrency {args.concurrency}, {args.duration:g} s per scenario"
    )
    print(f"{'scenario':<30} | {'requests':>8} | {'req/s':>8} | {'p50':>9} | {'p99':>9} | errors")
    print(f"{'-' * 30}-+-{'-' * 8}-+-{'-' * 8}-+-{'-' * 9}-+-{'-' * 9}-+-------")
    for r in rows:
        print(
            f"{r['scenario']:<30} | {r['requests']:>8} | {r['rps']:>8.0f} | "
            f"{r['p50_ms']:>6.2f} ms | {r['p99_ms']:>6.2f} ms | {r['errors']}"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
