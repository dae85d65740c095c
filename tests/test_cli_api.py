"""``parako-config token …`` and ``parako-config serve`` in real subprocesses."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

CLI = Path(sys.executable).with_name("parako-config")
KEY = "00112233445566778899aabbccddeeff" * 2


def cli_env(**extra: str) -> dict[str, str]:
    env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG", "TMPDIR") if k in os.environ}
    return {**env, "USE_FILE_CONFIG": "false", "ENCRYPTION_KEY": KEY, **extra}


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CLI), *args], cwd=cwd, env=cli_env(), capture_output=True, text=True, timeout=60
    )


def ok_json(cwd: Path, *args: str) -> Any:
    done = run(cwd, *args, "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "runtime").mkdir()
    return tmp_path


def test_tokens_are_created_listed_and_revoked_and_only_digests_are_stored(root: Path) -> None:
    created = ok_json(root, "token", "create", "ci-bot", "--scope", "parako:config:read")
    token = created.pop("token")
    assert token.startswith("pkc_")
    assert len(token) > 40
    assert created["scopes"] == ["parako:config:read"]
    plain = run(root, "token", "create", "human", "--scope", "parako:config:write")
    assert plain.returncode == 0
    assert plain.stdout.strip().startswith("pkc_")  # stdout holds the token alone
    assert "not shown again" in plain.stderr

    listed = ok_json(root, "token", "list")
    assert [t["name"] for t in listed] == ["ci-bot", "human"]
    assert token not in json.dumps(listed)
    database = (root / "runtime" / "data" / "parako.db").read_bytes()
    assert token.encode() not in database

    again = run(root, "token", "create", "ci-bot", "--scope", "parako:config:read")
    assert again.returncode == 2
    assert "revoke it first" in again.stderr
    bad_scope = run(root, "token", "create", "x", "--scope", "parako:everything")
    assert bad_scope.returncode == 2

    assert run(root, "token", "revoke", "ci-bot").returncode == 0
    assert [t["name"] for t in ok_json(root, "token", "list")] == ["human"]
    revoked = [t for t in ok_json(root, "token", "list", "--all") if t["name"] == "ci-bot"]
    assert revoked[0]["revoked_by"] == "cli"
    assert run(root, "token", "revoke", "ci-bot").returncode == 2
    assert run(root, "verify").returncode == 0  # token events are part of the hash chain


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_answers_and_sigterm_finishes_requests_in_flight(root: Path) -> None:
    token = ok_json(
        root,
        "token",
        "create",
        "ops",
        "--scope",
        "parako:config:read",
        "--scope",
        "parako:config:write",
    )["token"]
    port = _free_port()
    server = subprocess.Popen(
        [str(CLI), "serve"],
        cwd=root,
        env=cli_env(DEPLOYMENT_SERVER_PORT=str(port)),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}/api/v1"
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "serve did not start"
            assert server.poll() is None, server.stdout.read() if server.stdout else ""
            time.sleep(0.1)
        headers = {"Authorization": f"Bearer {token}"}
        assert httpx.get(f"{base}/config/application", headers=headers).status_code == 200

        # a request still being received when SIGTERM arrives is answered, then serve exits 0
        results: list[int] = []
        with socket.create_connection(("127.0.0.1", port)) as raw:
            body = b'{"branding": {}}'
            raw.sendall(
                b"PATCH /api/v1/config HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                + f"Authorization: Bearer {token}\r\n".encode()
                + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
            )
            time.sleep(0.3)
            server.send_signal(signal.SIGTERM)
            time.sleep(0.3)
            raw.sendall(body)

            def read() -> None:
                reply = raw.recv(4096)
                results.append(int(reply.split(b" ")[1]))

            reader = threading.Thread(target=read)
            reader.start()
            reader.join(10)
        assert results == [200]  # answered, not dropped
        assert server.wait(30) == 0
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    output = server.stdout.read() if server.stdout else ""
    assert "Finished server process" in output
