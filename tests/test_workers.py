"""``parako-config serve --workers N`` in real processes over a real SQLite store: one port,
several processes, each following the others' writes, stopped together.

Which worker answers is read from ``GET /api/v1/health`` (it reports its pid). A test that must
talk to one particular worker keeps one TCP connection to it: :class:`Pinned` never reconnects
behind the test's back, so every request on it is served by the process it was pinned to.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.propagation_support import CLI, clean_env, free_port, write_store_env

READ_WRITE = ("--scope", "parako:config:read", "--scope", "parako:config:write")
#: the poll interval of the served workers: a write reaches the other worker within it
INTERVAL = 0.2


def cli(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CLI), *args], cwd=root, env=clean_env(), capture_output=True, text=True, timeout=60
    )


def create_token(root: Path, name: str) -> str:
    done = cli(root, "token", "create", name, *READ_WRITE)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


class Serving:
    """``parako-config serve`` in its own session (so teardown can kill whatever is left)."""

    def __init__(self, root: Path, *args: str) -> None:
        self.port = free_port()
        self.process = subprocess.Popen(
            [str(CLI), "serve", "--port", str(self.port), "--interval", str(INTERVAL), *args],
            cwd=root,
            env=clean_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        self.stderr: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.stderr.append(line)

    def log(self) -> str:
        return "".join(self.stderr)

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while True:
            assert self.process.poll() is None, f"serve exited: {self.log()[-3000:]}"
            try:
                Pinned(self.port).close()
                return
            except OSError:
                assert time.monotonic() < deadline, f"serve did not start: {self.log()[-3000:]}"
                time.sleep(0.1)

    def workers(self, count: int, attempts: int = 400) -> dict[int, Pinned]:
        """One pinned connection to each of ``count`` distinct workers."""
        pinned: dict[int, Pinned] = {}
        for _ in range(attempts):
            connection = Pinned(self.port)
            if connection.pid in pinned:
                connection.close()
            else:
                pinned[connection.pid] = connection
            if len(pinned) == count:
                return pinned
        raise AssertionError(f"{attempts} connections reached only workers {sorted(pinned)}")

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=60)
        self._reader.join(10)
        return code

    def kill_all(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()


class Pinned:
    """One keep-alive HTTP connection; ``pid`` is the worker that accepted it."""

    def __init__(self, port: int) -> None:
        self._connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self._connection.connect()
        self._connection.auto_open = 0  # a closed connection raises instead of reconnecting
        status, body = self.request("GET", "/api/v1/health")
        assert status == 200, body
        self.pid: int = body["pid"]

    def request(
        self, method: str, path: str, token: str | None = None, body: Any = None
    ) -> tuple[int, Any]:
        headers = {"Content-Type": "application/json"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        payload = None if body is None else json.dumps(body).encode()
        self._connection.request(method, path, body=payload, headers=headers)
        response = self._connection.getresponse()
        data = response.read()
        assert not response.will_close, "the worker closed the connection"
        return response.status, json.loads(data) if data else None

    def close(self) -> None:
        self._connection.close()


def parent_of(pid: int) -> int | None:
    """The parent pid from /proc, None once the process is gone (reaped)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])


def gone(pid: int, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while parent_of(pid) is not None:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return write_store_env(tmp_path)


@pytest.fixture
def two_workers(root: Path) -> Iterator[Serving]:
    serving = Serving(root, "--workers", "2")
    try:
        serving.wait_ready()
        yield serving
    finally:
        serving.kill_all()


def test_two_workers_share_the_port_see_each_others_writes_and_stop_together(
    root: Path, two_workers: Serving
) -> None:
    assert two_workers.log().count("parako-config API on") == 1  # one banner, from the parent
    assert "(database mode, version 1, 2 workers)" in two_workers.log()
    token = create_token(root, "ops")
    workers = two_workers.workers(2)
    for pid in workers:
        assert parent_of(pid) == two_workers.process.pid  # forked by serve itself

    first, second = workers.values()
    status, saved = first.request(
        "PUT", "/api/v1/config/branding", token, {"companyName": "Written through one"}
    )
    assert status == 200, saved
    began = time.monotonic()
    while True:
        status, read = second.request("GET", "/api/v1/config/branding", token)
        assert status == 200, read
        if read["data"]["companyName"] == "Written through one":
            break
        assert time.monotonic() - began < INTERVAL * 10, "the other worker did not catch up"
        time.sleep(0.02)
    status, health = second.request("GET", "/api/v1/health")
    assert health["checks"]["config"]["_version"] == saved["data"]["_version"]

    for connection in workers.values():
        connection.close()
    assert two_workers.stop() == 0
    for pid in workers:
        assert gone(pid), f"worker {pid} outlived serve"
    log = two_workers.log()
    assert log.count("Finished server process") == 2, log
    assert not [line for line in log.splitlines() if line.startswith("error")], log


def test_a_revoked_token_is_refused_by_every_worker(root: Path, two_workers: Serving) -> None:
    token = create_token(root, "short-lived")
    workers = two_workers.workers(2)
    for connection in workers.values():
        assert connection.request("GET", "/api/v1/config", token)[0] == 200  # known everywhere

    assert cli(root, "token", "revoke", "short-lived").returncode == 0
    for connection in workers.values():  # from the very next request, no poll needed
        status, body = connection.request("GET", "/api/v1/config", token)
        assert status == 401, body


def test_the_reveal_limit_counts_reveals_made_through_both_workers(
    root: Path, two_workers: Serving
) -> None:
    token = create_token(root, "ops")
    first, second = two_workers.workers(2).values()
    body = {"path": "oidc.secrets.pairwise_salt", "reason": "support ticket 9"}
    for n in range(10):
        status, answer = (first, second)[n % 2].request(
            "POST", "/api/v1/config/reveal", token, body
        )
        assert status == 200, (n, answer)
    for connection in (first, second):
        status, answer = connection.request("POST", "/api/v1/config/reveal", token, body)
        assert status == 429, answer
        assert answer["error"]["code"] == "rate_limited"


def test_a_worker_that_dies_stops_the_others_and_serve_fails(two_workers: Serving) -> None:
    workers = two_workers.workers(2)
    victim, survivor = workers
    for connection in workers.values():
        connection.close()
    os.kill(victim, signal.SIGKILL)
    assert two_workers.process.wait(timeout=60) == 1
    assert gone(survivor)
    log = two_workers.log()
    assert f"error: worker 1 (pid {victim})" in log or f"error: worker 2 (pid {victim})" in log
    assert "stopped unexpectedly (killed by SIGKILL)" in log, log
    assert log.count("Finished server process") == 1, log  # the survivor stopped cleanly


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_busy_port_is_one_line_and_no_banner(root: Path, workers: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = cli(root, "serve", "--port", str(port), "--workers", workers)
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        f"error: port {port} is busy (address already in use on 127.0.0.1)"
    ], done.stderr


def test_workers_must_be_at_least_one(root: Path) -> None:
    done = cli(root, "serve", "--workers", "0")
    assert done.returncode == 2
    assert "--workers" in done.stderr
    assert "parako-config API on" not in done.stderr


def test_file_mode_is_refused_before_any_worker_starts(tmp_path: Path) -> None:
    """The API's tokens and the console's sessions live in the event store: serving a file
    would advertise a console nobody can sign in to."""
    (tmp_path / "runtime").mkdir()
    (tmp_path / "runtime" / ".env").write_text(
        "USE_FILE_CONFIG=true\nSECURITY_LOGGING_FILE_LOGGING_ENABLED=false\n"
    )
    (tmp_path / "runtime" / "parako.jsonc").write_text('{"branding": {"companyName": "F"}}')
    serving = Serving(tmp_path, "--workers", "2")
    try:
        assert serving.process.wait(timeout=60) == 1
        serving._reader.join(10)
        assert "serve needs database mode" in serving.log()
        assert "parako-config API on" not in serving.log()
    finally:
        serving.kill_all()
