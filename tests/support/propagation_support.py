"""Real processes and real servers for the propagation tests: a private redis-server that can be
stopped and restarted on the same port, ``parako-config watch --json`` watchers read line by
line, and a writer process that saves many versions in a row."""

from __future__ import annotations

import asyncio
import json
import os
import queue
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from .servers import unavailable

CLI = Path(sys.executable).with_name("parako-config")
KEY = "00112233445566778899aabbccddeeff" * 2
AUTHOR = ("--by", "test", "--reason", "propagation")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def clean_env(**extra: str) -> dict[str, str]:
    """Only the variables a test sets: nothing leaks in from the test process."""
    env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG", "TMPDIR") if k in os.environ}
    env.update(extra)
    return env


def write_store_env(root: Path, **variables: str) -> Path:
    (root / "runtime").mkdir(exist_ok=True)
    base = {
        "USE_FILE_CONFIG": "false",
        "ENCRYPTION_KEY": KEY,
        "SECURITY_LOGGING_FILE_LOGGING_ENABLED": "false",
        "SECURITY_LOGGING_PRETTY_PRINT": "false",
    }
    base.setdefault("STORAGE_ADAPTER", "sqlite")
    base.update(variables)
    text = "".join(f"{name}={value}\n" for name, value in base.items())
    (root / "runtime" / ".env").write_text(text, encoding="utf-8")
    return root


class RedisServer:
    """``redis-server`` without persistence on a free port; stop/start keep the port."""

    def __init__(self, port: int | None = None) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            unavailable(
                "redis-server", "binary not found", "Install it (Debian: apt-get install redis)"
            )
        self.binary = binary
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        args = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1"]
        args += ["--save", "", "--appendonly", "no"]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.02)
        unavailable(f"redis-server on port {self.port}", "did not answer PING", "check redis")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None

    def env(self) -> dict[str, str]:
        return {"REDIS_HOST": "127.0.0.1", "REDIS_PORT": str(self.port)}


class Watcher:
    """``parako-config watch --json`` in its own process; its lines are collected by a thread."""

    def __init__(self, root: Path, interval: float, env: dict[str, str] | None = None) -> None:
        args = [str(CLI), "watch", "--json", "--interval", str(interval)]
        self.process = subprocess.Popen(
            args,
            cwd=root,
            env=clean_env(**(env or {})),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[dict[str, Any]] = queue.Queue()
        self.seen: list[dict[str, Any]] = []
        self.stderr: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._read_err, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            item = json.loads(line)
            item["_received"] = time.time()
            self.lines.put(item)

    def _read_err(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.stderr.append(line)

    def wait_for(self, version: int, timeout: float) -> dict[str, Any]:
        """The line announcing ``_version`` ``version``; fails after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        for item in self.seen:
            if item["_version"] >= version:
                return item
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(
                    f"watcher did not reach version {version} in {timeout}s; saw "
                    f"{[i['_version'] for i in self.seen]}; stderr: {''.join(self.stderr)[-2000:]}"
                )
            try:
                item = self.lines.get(timeout=left)
            except queue.Empty:
                continue
            self.seen.append(item)
            if item["_version"] >= version:
                return item

    def wait_in_log(self, text: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not any(text in line for line in self.stderr):
            if time.monotonic() > deadline:
                raise AssertionError(f"no {text!r} in stderr: {''.join(self.stderr)[-2000:]}")
            time.sleep(0.02)

    def stop(self) -> int:
        """SIGTERM, then the exit code; a clean shutdown exits 0."""
        if self.process.poll() is None:
            self.process.terminate()
        code = self.process.wait(timeout=15)
        while not self.lines.empty():
            self.seen.append(self.lines.get())
        return code

    def versions(self) -> list[int]:
        return [item["_version"] for item in self.seen]


def cli_set(root: Path, value: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    """``parako-config set branding.companyName=VALUE --json`` in a new process."""
    done = subprocess.run(
        [str(CLI), "set", f"branding.companyName={json.dumps(value)}", *AUTHOR, "--json"],
        cwd=root,
        env=clean_env(**(env or {})),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


WRITER = """
import asyncio, os, sys
from pathlib import Path
from adapters.wiring import open_service
from adapters.service import ConfigService
from eventstore.commands import Author

async def main(count):
    service = await open_service(Path.cwd(), os.environ)
    try:
        for n in range(count):
            partial = {"branding": {"companyName": f"Writer {n}"}}
            await service.save(partial, Author("writer", "load"))
        print(service.version, flush=True)
    finally:
        await service.close()

asyncio.run(main(int(sys.argv[1])))
"""


def run_writer(root: Path, count: int, env: dict[str, str] | None = None) -> int:
    """``count`` saves from one process; returns the final stream version."""
    done = subprocess.run(
        [sys.executable, "-c", WRITER, str(count)],
        cwd=root,
        env=clean_env(**(env or {})),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return int(done.stdout.strip())


class StallingProxy:
    """A TCP relay that can stop relaying without closing anything: a silent network loss.

    A stopped server or a dead peer closes connections, which clients notice at once; a cable
    pulled mid-path (or a firewall dropping packets) only stops the bytes. Only a heartbeat can
    notice that, which is what this relay lets a test show. It runs its own event loop in a
    thread so the test process can stall and resume it around real subprocesses.
    """

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.port = free_port()
        self._loop = asyncio.new_event_loop()
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="stalling-proxy", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the proxy did not start")

    def env(self) -> dict[str, str]:
        return {"REDIS_HOST": "127.0.0.1", "REDIS_PORT": str(self.port)}

    def stall(self) -> None:
        self._loop.call_soon_threadsafe(self._flowing.clear)

    def resume(self) -> None:
        self._loop.call_soon_threadsafe(self._flowing.set)

    def close(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(
            asyncio.start_server(self._relay, "127.0.0.1", self.port)
        )
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            server.close()

    async def _relay(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            upstream_r, upstream_w = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            client_w.close()
            return
        await asyncio.gather(self._pump(client_r, upstream_w), self._pump(upstream_r, client_w))

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                await self._flowing.wait()  # stalled: hold the bytes, keep the socket open
                writer.write(data)
                await writer.drain()
        except OSError:
            pass
        finally:
            writer.close()
