"""The Node.js example (examples/node/watch-config.mjs), run with the machine's ``node`` against a
served API: it logs each version a write makes, in order, and stops on SIGTERM."""

from __future__ import annotations

import os
import queue
import shutil
import subprocess
import threading
import time
from pathlib import Path
from typing import IO

import pytest
from support.api_support import RunningApi

from adapters.service import ConfigService
from eventstore.commands import Author
from eventstore.tokens import RUNTIME

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "node" / "watch-config.mjs"


def _node() -> str:
    found = shutil.which("node")
    if found is None:
        message = "node is not installed (apt-get install nodejs, version 20 or later)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return found


class Lines:
    """A process's stdout lines, read on a thread, waited for with a deadline."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.seen: list[str] = []
        self._queue: queue.Queue[str] = queue.Queue()
        assert process.stdout is not None
        stdout = process.stdout
        threading.Thread(target=self._read, args=(stdout,), daemon=True).start()

    def _read(self, stdout: IO[str]) -> None:
        for line in stdout:
            self._queue.put(line)

    def until(self, predicate: str, seconds: float = 20) -> list[str]:
        deadline = time.monotonic() + seconds
        while not any(predicate in line for line in self.seen):
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no line with {predicate!r} in {self.seen}")
            try:
                self.seen.append(self._queue.get(timeout=left).rstrip("\n"))
            except queue.Empty:
                continue
        return self.seen


def test_the_node_example_logs_each_version_in_order(api: RunningApi) -> None:
    node = _node()
    token = api.token("node-app", RUNTIME)
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PARAKO_CONFIG_URL": api.base_url,
        "PARAKO_CONFIG_TOKEN": token,
    }
    process = subprocess.Popen(
        [node, str(EXAMPLE)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lines = Lines(process)
        lines.until("watching from version 1.0.0")
        for name in ("First", "Second"):

            async def write(service: ConfigService, name: str = name) -> None:
                await service.save({"branding": {"companyName": name}}, Author("ops", "test"))

            api.run(write)
        seen = lines.until("version 1.0.2:")
        versions = [line for line in seen if line.startswith("version ")]
        assert versions == [
            "version 1.0.1: branding.companyName",
            "version 1.0.2: branding.companyName",
        ]
        assert seen[0] == "loaded version 1.0.0 (etag 1)"
    finally:
        process.terminate()
        try:
            code = process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
        stderr = process.stderr.read() if process.stderr else ""
    assert code == 0, stderr
