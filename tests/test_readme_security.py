"""README, "Rotating the encryption key": the commands run as written, in a real deployment."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
KEY = "0f1e2d3c4b5a6978" * 4


def rotation_block() -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text[text.index("### Rotating the encryption key") :]
    found = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert found, "the rotation section has no sh block"
    return found.group(1)


def test_the_rotation_commands_run_as_written(tmp_path: Path) -> None:
    (tmp_path / "runtime").mkdir()
    env_file = tmp_path / "runtime" / ".env"
    env_file.write_text(
        f"STORAGE_ADAPTER=sqlite\nUSE_FILE_CONFIG=false\nENCRYPTION_KEY={KEY}\n", encoding="utf-8"
    )
    env = {k: os.environ[k] for k in ("HOME", "LANG", "TMPDIR") if k in os.environ}
    env["PATH"] = f"{BIN}:{os.environ['PATH']}"
    first = subprocess.run(
        ["parako-config", "check"], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert first.returncode == 0, first.stderr  # the first start creates the store
    verified = subprocess.run(
        ["parako-config", "verify"], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert verified.returncode == 0, verified.stderr
    head = verified.stdout.strip().splitlines()[-1]
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", rotation_block()],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "rotated: data keys now wrapped by key" in done.stdout
    assert head in done.stdout  # verify with the new key: the same head as before
    assert KEY not in env_file.read_text(encoding="utf-8")
    old = subprocess.run(
        ["parako-config", "history"],
        cwd=tmp_path,
        env={**env, "ENCRYPTION_KEY": KEY},
        capture_output=True,
        text=True,
    )
    assert old.returncode == 1
    assert "ENCRYPTION_KEY" in old.stderr
