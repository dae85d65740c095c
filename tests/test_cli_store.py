"""The ``parako-config`` command line in a real subprocess, in database and in file mode."""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.raw_store import SqliteStore
from support.storages import STORAGES, env_lines

REPO = Path(__file__).resolve().parent.parent
CLI = Path(sys.executable).with_name("parako-config")
KEY = "00112233445566778899aabbccddeeff" * 2
CONFLICT = "Configuration was modified by another user. Please refresh the page and try again."
HISTORY_KEYS = {
    "version",
    "_version",
    "last_modified_by",
    "change_reason",
    "tags",
    "environment",
    "timestamp",
}


def run(cwd: Path, *args: str, **extra_env: str) -> subprocess.CompletedProcess[str]:
    """The CLI with only the variables a test sets (nothing leaks in from this process)."""
    env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG", "TMPDIR") if k in os.environ}
    env.update(extra_env)
    return subprocess.run(
        [str(CLI), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )


def ok_json(cwd: Path, *args: str) -> Any:
    done = run(cwd, *args, "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def write_env(root: Path, text: str) -> None:
    (root / "runtime").mkdir(exist_ok=True)
    (root / "runtime" / ".env").write_text(text, encoding="utf-8")


@pytest.fixture
def db_root(tmp_path: Path) -> Path:
    write_env(tmp_path, f"STORAGE_ADAPTER=sqlite\nUSE_FILE_CONFIG=false\nENCRYPTION_KEY={KEY}\n")
    return tmp_path


@pytest.fixture(params=list(STORAGES))
def store_root(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Path]:
    """A project root in database mode, once per storage backend."""
    with STORAGES[request.param]() as storage:
        write_env(tmp_path, f"{env_lines(storage)}USE_FILE_CONFIG=false\nENCRYPTION_KEY={KEY}\n")
        yield tmp_path


@pytest.fixture
def file_root(tmp_path: Path) -> Path:
    write_env(tmp_path, "DEPLOYMENT_ENVIRONMENT=development\nUSE_FILE_CONFIG=true\n")
    return tmp_path


# --- database mode -----------------------------------------------------------------------------


def test_set_history_conflict_rollback_verify(store_root: Path) -> None:
    db_root = store_root
    done = run(db_root, "set", 'branding.companyName="Acme"', "--by", "alice", "--reason", "test")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "saved 1.0.1 (1 change(s))"

    entries = ok_json(db_root, "history")
    assert [(e["version"], e["_version"]) for e in entries] == [("1.0.1", 2), ("1.0.0", 1)]
    assert all(e.keys() >= HISTORY_KEYS for e in entries)
    newest = entries[0]
    assert (newest["last_modified_by"], newest["change_reason"]) == ("alice", "test")
    assert newest["tags"] == ["main", "configuration"]
    assert newest["environment"] == "development"
    assert entries[1]["last_modified_by"] == "system"
    assert ok_json(db_root, "show", "branding.companyName") == "Acme"

    stale = run(
        db_root,
        "set",
        'branding.companyName="Late"',
        "--by",
        "bob",
        "--reason",
        "stale",
        "--expected-version",
        "1",
    )
    assert stale.returncode == 3
    assert stale.stderr.strip().splitlines() == [
        CONFLICT,
        "expected version 1, the store is at 2 (1.0.1)",
    ]
    assert ok_json(db_root, "show", "branding.companyName") == "Acme"

    rolled = ok_json(db_root, "rollback", "1.0.0", "--by", "bob", "--reason", "undo")
    assert rolled == {"version": "1.0.2", "_version": 3, "restored_from": "1.0.0"}
    assert ok_json(db_root, "show", "branding.companyName") == "Your Organization"
    assert ok_json(db_root, "show", "branding.companyName", "--version", "1.0.1") == "Acme"
    newest = ok_json(db_root, "history")[0]
    assert (newest["version"], newest["last_modified_by"], newest["change_reason"]) == (
        "1.0.2",
        "bob",
        "undo",
    )
    assert newest["restored_from"] == "1.0.0"

    assert run(db_root, "verify").returncode == 0
    report = ok_json(db_root, "verify")
    assert report.pop("head").startswith("3:")  # position:link, the line an auditor keeps
    assert report == {"ok": True, "checked": 3}


def test_invalid_input_exits_2_naming_the_path(db_root: Path) -> None:
    bad = run(db_root, "set", "branding.companyName=42", "--by", "alice", "--reason", "x")
    assert bad.returncode == 2
    assert "branding.companyName" in bad.stderr
    unknown = run(db_root, "set", "branding.colour=red", "--by", "alice", "--reason", "x")
    assert unknown.returncode == 2
    assert "branding.colour" in unknown.stderr
    assert [e["version"] for e in ok_json(db_root, "history")] == ["1.0.0"]


def test_tampering_with_an_event_is_found_by_verify(db_root: Path) -> None:
    done = run(db_root, "set", 'branding.companyName="Acme"', "--by", "alice", "--reason", "test")
    assert done.returncode == 0, done.stderr
    done = run(db_root, "set", 'branding.companyName="Beta"', "--by", "alice", "--reason", "test")
    assert done.returncode == 0, done.stderr
    assert ok_json(db_root, "verify")["ok"] is True

    SqliteStore(db_root).tamper(2, b'"Acme"', b'"Acmf"')  # one byte, still valid JSON

    checked = run(db_root, "verify", "--json")
    assert checked.returncode != 0
    report = json.loads(checked.stdout)
    assert report["ok"] is False
    assert report["first_bad_event"]["position"] == 2
    assert report["first_bad_event"]["version"] == 2


# --- file mode ---------------------------------------------------------------------------------

JSONC = """{
  // our brand, with a default for the name
  "branding": {
    "companyName": "${ACME_NAME:-Acme}",
  },
}
"""


def test_file_mode_reads_jsonc_with_interpolation_and_derived_fields(file_root: Path) -> None:
    (file_root / "runtime" / "parako.jsonc").write_text(JSONC, encoding="utf-8")
    assert ok_json(file_root, "show", "branding.companyName") == "Acme"
    assert ok_json(file_root, "show", "oidc.issuer") == "http://localhost:9007/oidc/v1"
    named = run(file_root, "show", "branding.companyName", "--json", ACME_NAME="Named Ltd")
    assert json.loads(named.stdout) == "Named Ltd"
    checked = run(file_root, "check")
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.strip() == "configuration is valid (file mode)"
    assert ok_json(file_root, "check") == {"valid": True, "mode": "file", "version": None}


def test_file_mode_broken_file_exits_2_with_line_and_column(file_root: Path) -> None:
    broken = '{\n  "branding": {\n    "companyName": ,\n  }\n}\n'
    (file_root / "runtime" / "parako.jsonc").write_text(broken, encoding="utf-8")
    checked = run(file_root, "check")
    assert checked.returncode == 2
    assert "parako.jsonc:3:20" in checked.stderr


def test_bad_bootstrap_variable_exits_2_naming_it(file_root: Path) -> None:
    (file_root / "runtime" / "parako.jsonc").write_text(JSONC, encoding="utf-8")
    checked = run(file_root, "check", MULTI_TENANCY_ENABLED="truthy")
    assert checked.returncode == 2
    assert "MULTI_TENANCY_ENABLED" in checked.stderr
    assert '"truthy"' in checked.stderr


def test_the_shipped_sample_file_passes_check(file_root: Path) -> None:
    shutil.copy(REPO / "parako.sample.jsonc", file_root / "runtime" / "parako.jsonc")
    checked = run(file_root, "check")
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.strip() == "configuration is valid (file mode)"


def test_the_invalid_boolean_line_is_the_reference_message(file_root: Path) -> None:
    checked = run(file_root, "check", MULTI_TENANCY_ENABLED="truthy")
    assert checked.returncode == 2
    assert 'Invalid boolean value for MULTI_TENANCY_ENABLED: "truthy"' in checked.stderr


def test_a_bad_master_tenant_administrator_stops_the_start(tmp_path: Path) -> None:
    postgres = "postgresql://parako@db.internal:5432/parako"
    checked = run(
        tmp_path,
        "check",
        MULTI_TENANCY_ENABLED="true",
        STORAGE_ADAPTER="postgresql",
        STORAGE_POSTGRESQL_URL=postgres,
        PARAKO_BOOTSTRAP_ADMIN_EMAIL="invalid",
        PARAKO_BOOTSTRAP_ADMIN_PASSWORD="too-short",
    )
    assert checked.returncode == 2, checked.stderr
    assert "PARAKO_BOOTSTRAP_ADMIN_EMAIL: Invalid email address" in checked.stderr
    assert (
        "PARAKO_BOOTSTRAP_ADMIN_PASSWORD: Too small: expected string to have >=12 characters"
        in checked.stderr
    )
    assert "too-short" not in checked.stderr


def test_the_first_start_keeps_the_deployment_url_it_was_given(db_root: Path) -> None:
    url = "https://auth.acme.example"
    first = run(db_root, "check", DEPLOYMENT_URL=url)  # the first start
    assert first.returncode == 0, first.stderr
    # later starts without the variable keep it, and the issuer derived from it
    later = ok_json(db_root, "show", "oidc")
    assert later["issuer"] == f"{url}/oidc/v1"
    assert ok_json(db_root, "show", "deployment.url") == url
    assert ok_json(db_root, "history")[0]["version"] == "1.0.0"


@pytest.mark.parametrize(
    "command",
    [["show", "branding.companyName"], ["check"], ["check", "--json"], ["tenant", "list"]],
)
def test_every_command_in_file_mode_warns_once_that_there_is_no_file(
    file_root: Path, command: list[str]
) -> None:
    done = run(file_root, *command)
    warnings = [line for line in done.stderr.splitlines() if "no config file found" in line]
    assert warnings == [
        "warning: no config file found (searched runtime/parako.jsonc or runtime/parako.json); "
        "using defaults and bootstrap"
    ], done.stderr


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _stderr_until(process: subprocess.Popen[bytes], marker: bytes, seconds: float) -> bytes:
    """What the process wrote on stderr until ``marker`` and the end of its line appeared, it
    exited, or ``seconds`` passed (never blocking past that)."""
    assert process.stderr is not None
    fd = process.stderr.fileno()
    seen = b""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if marker in seen and seen.endswith(b"\n"):
            break
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            break
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        seen += chunk
    return seen


@pytest.mark.parametrize(
    "command", [["run"], ["watch"], ["serve", "--port", "{port}"]], ids=["run", "watch", "serve"]
)
def test_long_running_commands_in_file_mode_warn_once_that_there_is_no_file(
    file_root: Path, command: list[str]
) -> None:
    args = [arg.format(port=_free_port()) for arg in command]
    env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG", "TMPDIR") if k in os.environ}
    process = subprocess.Popen(
        [str(CLI), *args], cwd=file_root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        started = _stderr_until(process, b"no config file found", 30)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            _, rest = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            _, rest = process.communicate()
    assert b"warning: no config file found" in started, started
    assert (started + rest).count(b"no config file found") == 1
