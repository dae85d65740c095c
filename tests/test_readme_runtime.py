"""README, "Using it from an app process": its shell, Python and Node examples run as written
against a served API (only the address is the test server's, and the endless stream is cut
after a few seconds)."""

from __future__ import annotations

import os
import queue
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO

import pytest
from support.api_support import RunningApi

from adapters.service import ConfigService
from eventstore.commands import Author
from eventstore.tokens import TokenStore

REPO = Path(__file__).resolve().parent.parent
CLI = Path(sys.executable).with_name("parako-config")
ADDRESS = "http://127.0.0.1:9007"


def _section() -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    start = text.index("## Using it from an app process\n")
    end = text.index("\n## ", start + 1)
    return text[start:end]


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", _section(), re.DOTALL)


def _commands(block: str) -> list[str]:
    return [line for line in block.splitlines() if line.strip() and not line.startswith("#")]


class Output:
    """A process's stdout lines, read on a thread, waited for with a deadline."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        self._queue: queue.Queue[str] = queue.Queue()
        assert process.stdout is not None
        stdout = process.stdout
        threading.Thread(target=self._read, args=(stdout,), daemon=True).start()

    def _read(self, stdout: IO[str]) -> None:
        for line in stdout:
            self._queue.put(line)

    def until(self, text: str, seconds: float = 20, count: int = 1) -> list[str]:
        deadline = time.monotonic() + seconds
        while sum(text in line for line in self.lines) < count:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no line with {text!r} in {self.lines}")
            try:
                self.lines.append(self._queue.get(timeout=left).rstrip("\n"))
            except queue.Empty:
                continue
        return self.lines


def _save(api: RunningApi, name: str) -> None:
    async def write(service: ConfigService) -> None:
        await service.save({"branding": {"companyName": name}}, Author("ops", "readme"))

    api.run(write)


def _env(api: RunningApi, **more: str) -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", ""), "HOME": str(api.root), **api.environ, **more}


def test_the_shell_examples(api: RunningApi) -> None:
    [block, _] = _blocks("sh")
    commands = _commands(block)
    assert commands[0].startswith("TOKEN=$(.venv/bin/parako-config token create app")
    script = [commands[0].replace(".venv/bin/parako-config", str(CLI))]
    for command in commands[1:]:
        assert command.startswith("curl "), command
        if command.startswith("curl -N "):
            command = command.replace("curl -N ", "curl -N --max-time 3 ", 1)
        script += [command.replace(ADDRESS, api.base_url), 'echo; echo "@@exit $?"']
    process = subprocess.Popen(
        ["bash", "-c", "\n".join(script)],
        cwd=api.root,
        env=_env(api),
        stdout=subprocess.PIPE,
        text=True,
    )
    output = Output(process)
    try:
        output.until("@@exit", 30, count=2)  # read, then 304; the long-poll is waiting
        _save(api, "Readme")
        lines = output.until("event: snapshot")
    finally:
        process.wait(30)
    text = "\n".join(lines)
    read, section, poll, stream = (part for part in text.split("@@exit")[:4])
    assert '"jwt_secret":"' in read
    assert '"_version":1' in read
    assert "•" not in read
    assert "HTTP/1.1 304 Not Modified" in section
    assert 'etag: "1"' in section.lower()
    assert '"companyName":"Readme"' in poll
    assert '"_version":2' in poll
    assert "event: snapshot" in stream


def test_the_python_example(api: RunningApi) -> None:
    [block] = _blocks("python")
    token_name = "readme-python"
    token = api.token(token_name, "parako:config:runtime")
    process = subprocess.Popen(
        [sys.executable, "-c", block.replace(ADDRESS, api.base_url)],
        cwd=REPO,
        env=_env(api, PARAKO_CONFIG_TOKEN=token),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        output = Output(process)
        assert output.until("Your Organization")[0] == "Your Organization"
        _save(api, "Python")
        output.until("version 1.0.1: branding.companyName")

        async def revoke(service: ConfigService) -> None:
            await TokenStore(service.event_log).revoke(token_name, "readme")

        api.run(revoke)  # the example then ends with the error
        code = process.wait(20)
    finally:
        if process.poll() is None:
            process.kill()
    stderr = process.stderr.read() if process.stderr else ""
    assert code != 0
    assert "AccessDenied" in stderr
    assert "revoked" in stderr


def test_the_node_example_command(api: RunningApi) -> None:
    node = shutil.which("node")
    if node is None:
        if os.environ.get("CI") == "true":
            pytest.fail("node is not installed (apt-get install nodejs, version 20 or later)")
        pytest.skip("node is not installed (apt-get install nodejs, version 20 or later)")
    [_, block] = _blocks("sh")
    [command] = _commands(block)
    token = api.token("readme-node", "parako:config:runtime")
    script = command.replace(ADDRESS, api.base_url)
    process = subprocess.Popen(
        ["bash", "-c", f"exec env {script}"],
        cwd=REPO,
        env=_env(api, TOKEN=token),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        output = Output(process)
        output.until("watching from version 1.0.0")
        _save(api, "Node")
        output.until("version 1.0.1: branding.companyName")
    finally:
        process.terminate()
        process.wait(10)
