"""The ``parako-config`` command line in a real subprocess, in database and in file mode."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
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
