"""The README's examples run as written: the Python API, the Propagation snippet and the
multi-tenancy walkthrough, each in a real deployment (the walkthrough on real PostgreSQL)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
KEY = "0a1b" * 16


def block(section: str, language: str) -> str:
    """The first ``language`` block of the README section titled ``section``."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    start = text.index(f"\n## {section}\n")
    end = text.find("\n## ", start + 1)
    found = re.search(rf"```{language}\n(.*?)```", text[start:end], re.DOTALL)
    assert found, f"no {language} block in {section}"
    return found.group(1)


def deployment(root: Path, extra: str = "") -> dict[str, str]:
    (root / "runtime").mkdir(exist_ok=True)
    (root / "runtime" / ".env").write_text(
        f"STORAGE_ADAPTER=sqlite\nUSE_FILE_CONFIG=false\nENCRYPTION_KEY={KEY}\n{extra}",
        encoding="utf-8",
    )
    env = {k: os.environ[k] for k in ("HOME", "LANG", "TMPDIR") if k in os.environ}
    env["PATH"] = f"{BIN}:{os.environ['PATH']}"
    env["PYTHONPATH"] = str(REPO)
    return env


def test_the_python_api_example_runs(tmp_path: Path) -> None:
    env = deployment(tmp_path)
    done = subprocess.run(
        [sys.executable, "-c", block("Python API", "python")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].endswith("/oidc/v1 Your Organization")
    assert lines[1] == "1.0.1"


def test_the_propagation_example_runs(tmp_path: Path) -> None:
    env = deployment(tmp_path)
    done = subprocess.run(
        [sys.executable, "-c", block("Propagation", "python")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["Your Organization"]


@pytest.fixture
def pg_deployment(tmp_path: Path) -> Iterator[tuple[Path, dict[str, str]]]:
    from support.pg_server import fresh_database  # skips (or fails under CI) without a server

    with fresh_database() as url:
        env = deployment(
            tmp_path,
            f"STORAGE_ADAPTER=postgresql\nSTORAGE_POSTGRESQL_URL={url}\n"
            "MULTI_TENANCY_ENABLED=true\n",
        )
        yield tmp_path, env


def test_the_multi_tenancy_walkthrough_runs(pg_deployment: tuple[Path, dict[str, str]]) -> None:
    root, env = pg_deployment
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", block("Multi-tenancy", "sh")],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "adjusted oidc.token_ttl.access_token: 999999 → 3600" in done.stderr
    assert "http://auth.acme.com/oidc/v1" in done.stdout


def test_the_command_line_example_runs(tmp_path: Path) -> None:
    env = deployment(tmp_path)
    script = block("Command line", "sh")
    done = subprocess.run(
        ["bash", "-uo", "pipefail", "-c", script + "\necho exit=$?"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.stdout.strip().endswith("exit=0"), done.stdout + done.stderr
    assert "expected version 1, the store is at 2 (1.0.1)" in done.stderr
    assert "dry run: would save" in done.stdout
