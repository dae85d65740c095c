"""Runtime watchers: from a commit in one process to the Server-Sent Event received by 100 app
connections, and the runtime read's 304 path against its 200 path.

The API is a real ``parako-config serve`` process (SQLite, Redis hints from a private
``redis-server``, as a multi-process installation runs it); the commits are made by this
process (a ``ConfigService`` on the same store, one version at a time), so the server learns of
each by its Redis hint, catches up and fans the change out to every stream. The watchers are
client processes (``python -m bench watch --client …``), each holding its connections on one
event loop and parsing every event (httpx + the client package's SSE parser):

* one process holding 100 connections;
* 10 processes holding 10 each;
* one process holding 100 ``full=true`` connections (each event carries the whole config, what
  :class:`adapters.client.RuntimeClient` asks for), for reference.

Latency = the wall-clock time a connection parsed the event minus the moment the append returned
in the committing process (the same clock: one machine). The committer waits until every
connection has the version (or 10 s pass) before the next commit, so each sample is one
fan-out, not a queue. "missed" counts (connection, version) pairs never received, received twice
or out of order. Server, watchers and committer share the machine's cores.

Beside it, in the same run: ``GET /api/v1/runtime`` answered 200 (the whole document) and 304
(``If-None-Match`` with the current ETag), with ``--concurrency`` keep-alive connections from
this process (:mod:`bench.loadgen`, which costs a small fraction of what the server spends per
request, so the rates are the server's), in ``--rounds`` interleaved rounds sharing
``--duration`` seconds per path (the order rotating, so every side of each round's ratio saw the
same load; the target is judged on the median ratio); the floor, a bare ASGI app answering 304
on the same uvicorn, rotates with them for reference; then the same pair with
``?consistency=stale`` (no head check against the log).

    .venv/bin/python -m bench watch [--saves 300] [--duration 10] [--rounds 5] [--concurrency 16]
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
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import attrs
import httpx

from adapters.client.sse import SseParser
from adapters.wiring import open_service
from bench import loadgen
from bench.report import Row, status, table
from eventstore.commands import Author

KEY_HEX = "ab" * 32
CLI = Path(sys.executable).with_name("parako-config")
REPO = Path(__file__).resolve().parent.parent
WAIT_SECONDS = 10.0
P99_TARGET_MS = 50.0
RATIO_TARGET = 3.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux ``/proc``; 0 elsewhere). Unlike wall
    times, it does not grow with what else the machine runs."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return statistics.median(ordered), p99


# --- a watcher process --------------------------------------------------------------------------


class _Connections:
    """What the connections of one watcher process received: per version, the receipt times."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.ready = 0
        self.times: dict[int, list[float]] = {}
        self.last: list[int | None] = [None] * count
        self.faults = 0
        self.done = asyncio.Event()
        self.reported = 0

    def received(self, index: int, version: int, moment: float) -> None:
        last = self.last[index]
        if last is not None and version != last + 1:
            self.faults += 1  # a gap, a repeat or a version out of order
        self.last[index] = version
        moments = self.times.setdefault(version, [])
        moments.append(moment)
        if len(moments) == self.count:
            print(json.dumps({"v": version, "t": moments}), flush=True)


async def _watch(
    client: httpx.AsyncClient, path: str, index: int, connections: _Connections
) -> None:
    async with client.stream("GET", path, headers={"Accept": "text/event-stream"}) as response:
        response.raise_for_status()
        parser = SseParser()
        async for chunk in response.aiter_bytes():
            now = time.time()
            for event in parser.feed(chunk):
                body = json.loads(event.data)
                if event.type == "snapshot":
                    connections.last[index] = body["_version"]
                    connections.ready += 1
                    if connections.ready == connections.count:
                        print(json.dumps({"ready": True}), flush=True)
                elif event.type == "change":
                    connections.received(index, body["_version"], now)


async def _client(url: str, token: str, count: int, full: bool) -> None:
    connections = _Connections(count)
    path = "/api/v1/runtime/watch" + ("?full=true" if full else "")
    limits = httpx.Limits(max_connections=count, max_keepalive_connections=count)
    timeout = httpx.Timeout(30.0, read=None)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(
        base_url=url, headers=headers, limits=limits, timeout=timeout
    ) as client:
        tasks = [asyncio.create_task(_watch(client, path, i, connections)) for i in range(count)]
        loop = asyncio.get_running_loop()
        # the parent closes our stdin when the measurement is over
        await loop.run_in_executor(None, sys.stdin.read)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    received = sum(len(moments) for moments in connections.times.values())
    print(json.dumps({"received": received, "faults": connections.faults}), flush=True)


# --- the committer ------------------------------------------------------------------------------


class _Watchers:
    """One watcher process, read line by line."""

    def __init__(self, process: asyncio.subprocess.Process, count: int) -> None:
        self.process = process
        self.count = count
        self.lines: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.process.stdout is not None
        while line := await self.process.stdout.readline():
            self.lines.put_nowait(json.loads(line))

    async def next(self, key: str, timeout: float) -> dict[str, Any] | None:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                item = await asyncio.wait_for(self.lines.get(), left)
            except TimeoutError:
                return None
            if key in item:
                return item
        return None

    async def version(self, version: int) -> list[float] | None:
        deadline = time.monotonic() + WAIT_SECONDS
        while (left := deadline - time.monotonic()) > 0:
            item = await self.next("v", left)
            if item is None:
                return None
            if item["v"] >= version:
                return list(item["t"]) if item["v"] == version else None
        return None

    async def finish(self) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.close()
        final = await self.next("received", WAIT_SECONDS) or {"received": 0, "faults": 0}
        if self.process.returncode is None:
            self.process.terminate()
        await self.process.wait()
        self.reader.cancel()
        return final


@contextlib.asynccontextmanager
async def _watchers(
    url: str, token: str, processes: int, each: int, full: bool
) -> AsyncIterator[list[_Watchers]]:
    started: list[_Watchers] = []
    try:
        for _ in range(processes):
            args = ["-m", "bench", "watch", "--client", url, token, str(each)]
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                *args,
                *(["--full"] if full else []),
                cwd=REPO,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
            )
            started.append(_Watchers(process, each))
        for watchers in started:
            if await watchers.next("ready", 60) is None:
                raise RuntimeError("a watcher process did not connect")
        yield started
    finally:
        for watchers in started:
            if watchers.process.returncode is None:
                watchers.process.kill()
                await watchers.process.wait()


@attrs.frozen
class FanOut:
    samples: list[float]  # ms, one per version and connection
    missed: int
    server_cpu_ms: float  # per version: the hint, the catch-up and the fan-out
    watchers_cpu_ms: float  # per version, all watcher processes together


async def _fan_out(
    root: Path,
    env: dict[str, str],
    target: tuple[str, str, int],
    shape: tuple[int, int, bool],
    saves: int,
) -> FanOut:
    url, token, server_pid = target
    processes, each, full = shape
    service = await open_service(root, env)
    commits: dict[int, float] = {}
    store = service._need_store()
    save = store.save

    async def timed(*args: Any, **kwargs: Any) -> Any:
        result = await save(*args, **kwargs)
        commits[result.version] = time.time()
        return result

    store.save = timed  # type: ignore[method-assign]
    author = Author("bench", "watch latency")
    samples: list[float] = []
    try:
        async with _watchers(url, token, processes, each, full) as watchers:
            await asyncio.sleep(0.5)
            pids = [server_pid, *(w.process.pid for w in watchers)]
            cpu_before = [_cpu_seconds(pid) for pid in pids]
            for i in range(saves):
                result = await service.save({"branding": {"companyName": f"Watch {i}"}}, author)
                got = await asyncio.gather(*(w.version(result.version) for w in watchers))
                for moments in got:
                    samples += [(m - commits[result.version]) * 1000 for m in moments or []]
            cpu = [_cpu_seconds(pid) - was for pid, was in zip(pids, cpu_before, strict=True)]
            finals = [await w.finish() for w in watchers]
    finally:
        await service.close()
    expected = saves * processes * each
    received = sum(int(f["received"]) for f in finals)
    faults = sum(int(f["faults"]) for f in finals)
    missed = max(0, expected - received) + faults
    return FanOut(samples, missed, cpu[0] * 1000 / saves, sum(cpu[1:]) * 1000 / saves)


# --- reads --------------------------------------------------------------------------------------


# --- the run ------------------------------------------------------------------------------------


def _env(port: int, redis_port: int) -> dict[str, str]:
    keep = {k: os.environ[k] for k in ("PATH", "HOME", "LANG", "TMPDIR") if k in os.environ}
    return {
        **keep,
        "USE_FILE_CONFIG": "false",
        "ENCRYPTION_KEY": KEY_HEX,
        "DEPLOYMENT_SERVER_PORT": str(port),
        "SECURITY_LOGGING_LEVEL": "warn",
        "SECURITY_LOGGING_FILE_LOGGING_ENABLED": "false",
        "REDIS_HOST": "127.0.0.1",
        "REDIS_PORT": str(redis_port),
    }


@contextlib.contextmanager
def _process(args: list[str], **options: Any) -> Any:
    process = subprocess.Popen(
        args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **options
    )
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_for_port(port: int, process: subprocess.Popen[bytes], path: str | None = None) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited")
        try:
            if path is None:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                return
            if httpx.get(f"http://127.0.0.1:{port}{path}").status_code == 200:
                return
        except (OSError, httpx.TransportError):
            pass
        time.sleep(0.05)
    raise TimeoutError(f"nothing answered on port {port}")


def _latency_rows(name: str, samples: list[float], missed: int) -> list[Row]:
    if not samples:
        return [(name, "latency", "no samples", "MISS (no event received)")]
    p50, p99 = _percentiles(samples)
    verdict = status(
        p99 <= P99_TARGET_MS and missed == 0, f"p99 <= {P99_TARGET_MS:.0f} ms, 0 missed"
    )
    return [
        (name, f"p50 over {len(samples):,} receipts", f"{p50:.2f} ms", ""),
        (name, "p99", f"{p99:.2f} ms", verdict),
        (name, "max / missed", f"{max(samples):.2f} ms / {missed}", ""),
    ]


async def _measure(
    root: Path,
    env: dict[str, str],
    target: tuple[str, str, int],
    floor_port: int,
    args: argparse.Namespace,
) -> list[Row]:
    rows: list[Row] = []
    shapes = [
        ("1 process x 100 streams", (1, 100, False)),
        ("10 processes x 10 streams", (10, 10, False)),
        ("1 x 100 full=true (ref.)", (1, 100, True)),
    ]
    for name, shape in shapes:
        result = await _fan_out(root, env, target, shape, args.saves)
        rows += _latency_rows(f"watch: {name}", result.samples, result.missed)
        cpu = f"{result.server_cpu_ms:.1f} / {result.watchers_cpu_ms:.1f} ms"
        rows.append((f"watch: {name}", "CPU per version: server / watchers", cpu, ""))
    rows += await _reads((*target, floor_port), args)
    return rows


async def _reads(target: tuple[str, str, int, int], args: argparse.Namespace) -> list[Row]:
    """The runtime read's 200 and 304 paths, and the floor: a bare ASGI app answering 304."""
    url, token, server_pid, floor_port = target
    authorization = {"Authorization": f"Bearer {token}"}
    response = httpx.get(f"{url}/api/v1/runtime", headers=authorization)
    etag, size = response.headers["etag"], len(response.content)
    host, port = "127.0.0.1", int(url.rsplit(":", 1)[1])
    name = f"GET /runtime, concurrency {args.concurrency}"
    seconds = args.duration / args.rounds
    floor_request = loadgen.request_bytes(host, "/", {"If-None-Match": etag})
    rows: list[Row] = []
    for label, query in (("", ""), ("stale ", "?consistency=stale")):
        whole = loadgen.request_bytes(host, f"/api/v1/runtime{query}", authorization)
        same = loadgen.request_bytes(
            host, f"/api/v1/runtime{query}", {**authorization, "If-None-Match": etag}
        )
        contenders = [("200", port, whole, 200), ("304", port, same, 304)]
        if not label:
            contenders.append(("floor", floor_port, floor_request, 304))
        rates: dict[str, list[float]] = {key: [] for key, *_ in contenders}
        ratios: dict[str, list[float]] = {"304/200": [], "304/floor": []}
        used = {"200": 0.0, "304": 0.0}  # server CPU seconds
        made = {"200": 0, "304": 0}
        wrong = 0
        for round_ in range(args.rounds):
            # the order rotates: every contender saw every position of the load
            turn = contenders[round_ % len(contenders) :] + contenders[: round_ % len(contenders)]
            for key, to, request, expect in turn:
                before = _cpu_seconds(server_pid)
                rate = await loadgen.rate(
                    host,
                    to,
                    request,
                    expect=expect,
                    concurrency=args.concurrency,
                    seconds=seconds,
                    warmup=args.warmup,
                )
                if key in used:
                    used[key] += _cpu_seconds(server_pid) - before
                    made[key] += rate.made
                rates[key].append(rate.per_second)
                wrong += rate.wrong
            latest = {key: values[-1] for key, values in rates.items()}
            ratios["304/200"].append(latest["304"] / latest["200"] if latest["200"] else 0.0)
            if "floor" in latest:
                ratios["304/floor"].append(latest["304"] / latest["floor"])
        ratio = statistics.median(ratios["304/200"])
        verdict = "(reference)" if label else status(ratio >= RATIO_TARGET, f">= {RATIO_TARGET:g}")
        per = {key: 1000 * used[key] / max(made[key], 1) for key in used}
        rows += [
            (name, f"{label}200, whole document ({size:,} B)", _per_second(rates["200"]), ""),
            (name, f"{label}304, If-None-Match", _per_second(rates["304"]), ""),
            (name, f"{label}304 / 200 (median of {args.rounds} rounds)", f"{ratio:.2f}", verdict),
            (
                name,
                f"{label}server CPU per request: 200 / 304",
                f"{per['200']:.2f} / {per['304']:.2f} ms",
                "",
            ),
        ]
        if not label:
            rows += [
                (name, "floor: bare ASGI app answering 304", _per_second(rates["floor"]), ""),
                (
                    name,
                    "304 / floor (median)",
                    f"{statistics.median(ratios['304/floor']):.2f}",
                    "(reference)",
                ),
            ]
        if wrong:
            rows.append((name, f"{label}answers not 200 / 304 as expected", str(wrong), "MISS"))
    return rows


def _floor_server(port: int) -> list[str]:
    """uvicorn as ``serve`` runs it, serving :func:`bench.loadgen.not_modified` and nothing else."""
    uvicorn = [sys.executable, "-m", "uvicorn", "bench.loadgen:not_modified"]
    return [*uvicorn, "--port", str(port), "--log-level", "warning", "--no-access-log"]


def _per_second(rates: list[float]) -> str:
    return f"{statistics.median(rates):,.0f} req/s"


def _token(root: Path, env: dict[str, str]) -> str:
    done = subprocess.run(
        [str(CLI), "token", "create", "bench-watch", "--scope", "parako:config:runtime"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def main(argv: list[str]) -> None:
    if argv[:1] == ["--client"]:
        url, token, count = argv[1], argv[2], int(argv[3])
        asyncio.run(_client(url, token, count, "--full" in argv[4:]))
        return
    parser = argparse.ArgumentParser(prog="python -m bench watch")
    parser.add_argument("--saves", type=int, default=300, help="versions per watcher shape")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per read scenario")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved 200/304 rounds")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--warmup", type=float, default=0.5, help="seconds before each round")
    args = parser.parse_args(argv)
    redis = shutil.which("redis-server")
    if redis is None:
        sys.exit("redis-server not found (Debian: apt-get install redis-server)")
    started = time.perf_counter()
    before = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    root = Path(tempfile.mkdtemp(prefix="parako-bench-watch-"))
    (root / "runtime").mkdir()
    port, redis_port = _free_port(), _free_port()
    env = _env(port, redis_port)
    url = f"http://127.0.0.1:{port}"
    redis_args = [redis, "--port", str(redis_port), "--bind", "127.0.0.1", "--save", ""]
    try:
        with _process([*redis_args, "--appendonly", "no"]) as redis_process:
            _wait_for_port(redis_port, redis_process)
            token = _token(root, env)
            floor_port = _free_port()
            with (
                _process([str(CLI), "serve", "--port", str(port)], cwd=root, env=env) as server,
                _process(_floor_server(floor_port), cwd=REPO) as floor,
            ):
                _wait_for_port(port, server, "/api/v1/health")
                _wait_for_port(floor_port, floor)
                target = (url, token, server.pid)
                rows = asyncio.run(_measure(root, env, target, floor_port, args))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(f"parako-config watch bench — Python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    print(table(rows))
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"note: load average before {before}, after {load} (1/5/15 min; other work counts)")
    print(f"total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main(sys.argv[1:])
