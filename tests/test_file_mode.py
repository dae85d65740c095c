"""File mode as an operator meets it: generated development secrets are generated once per
deployment and kept, and `serve` says in one line that it needs database mode."""

from __future__ import annotations

import asyncio
import os
import stat
import subprocess
import sys
from pathlib import Path

from adapters.sources.dev_secrets import with_kept_secrets
from adapters.wiring import open_service
from eventstore.resolve import Bootstrap

CLI = Path(sys.executable).with_name("parako-config")
FILE_MODE = {"USE_FILE_CONFIG": "true", "DEPLOYMENT_ENVIRONMENT": "development"}


def secrets_of(root: Path, environ: dict[str, str]) -> tuple[str, str]:
    async def read() -> tuple[str, str]:
        service = await open_service(root, environ)
        try:
            found = service.config.security.secrets
            assert found.jwt_secret is not None
            assert found.hmac_secret is not None
            return found.jwt_secret.reveal(), found.hmac_secret.reveal()
        finally:
            await service.close()

    return asyncio.run(read())


def test_generated_development_secrets_are_kept_across_opens(tmp_path: Path) -> None:
    (tmp_path / "runtime").mkdir()
    first = secrets_of(tmp_path, FILE_MODE)
    assert first == secrets_of(tmp_path, FILE_MODE)
    kept = tmp_path / "runtime" / "data" / "dev-secrets.json"
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    # the environment still wins over a kept secret
    assert secrets_of(tmp_path, {**FILE_MODE, "JWT_SECRET": "e" * 64})[0] == "e" * 64


def test_production_never_uses_kept_secrets(tmp_path: Path) -> None:
    (tmp_path / "runtime").mkdir()
    secrets_of(tmp_path, FILE_MODE)
    production = Bootstrap(overrides={"deployment.environment": "production"})
    assert with_kept_secrets(tmp_path, production) is production


def test_serve_in_file_mode_says_it_needs_database_mode(tmp_path: Path) -> None:
    (tmp_path / "runtime").mkdir()
    (tmp_path / "runtime" / ".env").write_text("USE_FILE_CONFIG=true\n", encoding="utf-8")
    env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG", "TMPDIR") if k in os.environ}
    done = subprocess.run(
        [str(CLI), "serve"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1
    assert "serve needs database mode" in errors[0]
    assert "parako-config API on" not in done.stderr  # no banner
