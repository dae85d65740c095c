"""``parako-config tenant …`` in a real subprocess against a real PostgreSQL (D23: multi-tenancy
needs PostgreSQL or MongoDB), and the refusal of multi-tenancy on SQLite."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CLI = Path(sys.executable).with_name("parako-config")
KEY = "a1b2c3d4e5f60718" * 4
ACCESS = "oidc.token_ttl.access_token"


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG", "TMPDIR") if k in os.environ}
    return subprocess.run(
        [str(CLI), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )


def ok(cwd: Path, *args: str) -> str:
    done = run(cwd, *args)
    assert done.returncode == 0, done.stderr
    return done.stdout


def ok_json(cwd: Path, *args: str) -> Any:
    return json.loads(ok(cwd, *args, "--json"))


def write_env(root: Path, text: str) -> None:
    (root / "runtime").mkdir(exist_ok=True)
    (root / "runtime" / ".env").write_text(text, encoding="utf-8")


@pytest.fixture
def pg_root(tmp_path: Path) -> Iterator[Path]:
    from support.pg_server import fresh_database  # skips (or fails under CI) without a server

    with fresh_database() as url:
        write_env(
            tmp_path,
            "USE_FILE_CONFIG=false\nSTORAGE_ADAPTER=postgresql\n"
            f"STORAGE_POSTGRESQL_URL={url}\nENCRYPTION_KEY={KEY}\n"
            "MULTI_TENANCY_ENABLED=true\nDEPLOYMENT_URL=https://parako.id\n",
        )
        yield tmp_path


def test_a_ceiling_is_stored_audited_and_shown(pg_root: Path) -> None:
    ok(pg_root, "tenant", "create", "acme", "--by", "ops")
    saved = ok_json(
        pg_root, "tenant", "set", "acme", f"{ACCESS}=999999", "--by", "ops", "--reason", "test"
    )
    assert saved["adjustments"] == [
        {
            "path": ACCESS,
            "original": 999999,
            "adjusted": 3600,
            "reason": "Ceiling: must be <= platform value (3600)",
        }
    ]
    assert ok_json(pg_root, "tenant", "show", "acme", ACCESS) == 3600
    assert ok_json(pg_root, "show", ACCESS, "--tenant", "acme") == 3600
    assert ok_json(pg_root, "tenant", "overrides", "acme")["oidc"] == {
        "token_ttl": {"access_token": 3600}
    }
    audit = ok_json(pg_root, "tenant", "audit", "acme")
    adjustments = [e for e in audit if e["kind"] == "adjustment"]
    assert [(e["path"], e["old"], e["new"], e["who"]) for e in adjustments] == [
        (ACCESS, 999999, 3600, "ops")
    ]


def test_tenant_lifecycle(pg_root: Path) -> None:
    ok(pg_root, "tenant", "create", "globex", "--domain", "auth.globex.com", "--by", "ops")
    assert [t["slug"] for t in ok_json(pg_root, "tenant", "list")] == ["globex"]
    assert ok_json(pg_root, "tenant", "show", "globex", "oidc.issuer") == (
        "https://auth.globex.com/oidc/v1"
    )
    done = run(
        pg_root,
        "tenant",
        "set",
        "globex",
        "branding.companyName=Globex",
        "security.secrets.jwt_secret=x",
        "deployment.url=https://x.example",
        "--by",
        "ops",
        "--reason",
        "brand",
    )
    assert done.returncode == 0, done.stderr
    # each dropped path in full, never only its section
    assert done.stderr.splitlines() == [
        "warning: security.secrets.jwt_secret cannot be overridden by a tenant; ignored",
        "warning: deployment.url cannot be overridden by a tenant; ignored",
    ]
    refused = run(
        pg_root,
        "tenant",
        "set",
        "globex",
        "deployment.url=https://x.example",
        "security.secrets.hmac_secret=y",
        "--by",
        "ops",
        "--reason",
        "nothing allowed",
    )
    assert refused.returncode == 2, refused.stderr
    assert refused.stderr.startswith("error: no valid override fields provided: ")
    assert "deployment.url: cannot be overridden by a tenant" in refused.stderr
    assert "security.secrets.hmac_secret: cannot be overridden by a tenant" in refused.stderr
    ok(
        pg_root,
        "tenant",
        "set",
        "globex",
        "branding.companyName=Globex Corp",
        "--by",
        "a",
        "--reason",
        "rename",
    )
    history = ok_json(pg_root, "tenant", "history", "globex")
    assert [v["version"] for v in history] == ["1.0.1", "1.0.0"]
    changed = ok_json(pg_root, "tenant", "diff", "globex", "1.0.0", "1.0.1")["changes"]
    assert changed == [
        {
            "field": "branding.companyName",
            "oldValue": "Globex",
            "newValue": "Globex Corp",
            "changeType": "modified",
        }
    ]
    ok(pg_root, "tenant", "rollback", "globex", "1.0.0", "--by", "ops", "--reason", "undo")
    assert ok_json(pg_root, "tenant", "show", "globex", "branding.companyName") == "Globex"
    # the platform is untouched by all of this
    assert ok_json(pg_root, "show", "branding.companyName") != "Globex"
    bad = run(pg_root, "tenant", "set", "globex", f"{ACCESS}=soon", "--by", "a", "--reason", "x")
    assert bad.returncode == 2
    assert ACCESS in bad.stderr
    missing = run(pg_root, "tenant", "show", "nobody")
    assert missing.returncode == 1
    assert "Tenant not found: nobody" in missing.stderr


def test_multi_tenancy_on_sqlite_is_refused_at_start(tmp_path: Path) -> None:
    write_env(
        tmp_path,
        f"USE_FILE_CONFIG=false\nSTORAGE_ADAPTER=sqlite\nENCRYPTION_KEY={KEY}\n"
        "MULTI_TENANCY_ENABLED=true\n",
    )
    done = run(tmp_path, "check")
    assert done.returncode == 2
    assert "MULTI_TENANCY_ENABLED" in done.stderr
    assert "SQLite" in done.stderr
    assert not (tmp_path / "runtime" / "data").exists()


def test_tenant_commands_explain_when_multi_tenancy_is_off(tmp_path: Path) -> None:
    write_env(tmp_path, f"USE_FILE_CONFIG=false\nENCRYPTION_KEY={KEY}\n")
    ok(tmp_path, "check")  # the store's first start
    done = run(tmp_path, "tenant", "list")
    assert done.returncode == 1
    assert "multi-tenancy is off" in done.stderr
