"""Development secrets that a file-mode deployment generates once and keeps.

In database mode a generated secret is stored with the first version (D7), so every process and
every start sees the same one. File mode has no store: without this, each open generated new
JWT and cookie secrets, so a restart signed everybody out and two processes disagreed. The first
open of a development deployment writes them to ``runtime/data/dev-secrets.json`` (``0600``, like
every file holding a secret), and every later open reads them as if they were set in the
environment — which, like the config file, still wins over them.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Final

import attrs

from adapters.private_files import create_private_file, make_private_directories
from eventstore.errors import ConfigError
from eventstore.resolve import SECRET_RULES, Bootstrap

FILE: Final = Path("runtime") / "data" / "dev-secrets.json"


def with_kept_secrets(root: Path, bootstrap: Bootstrap) -> Bootstrap:
    """``bootstrap`` with this deployment's kept development secrets under its environment
    (outside development: unchanged, so production never runs on a generated secret)."""
    if bootstrap.environment != "development":
        return bootstrap
    kept = _kept(root / FILE)
    return attrs.evolve(bootstrap, environ={**kept, **bootstrap.environ})


def _kept(path: Path) -> dict[str, str]:
    wanted = {var: rule.hex_chars for rule in SECRET_RULES.values() for var in rule.env_vars}
    if path.exists():
        try:
            stored = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise ConfigError(
                f"{path}: cannot read the kept development secrets ({error})"
            ) from None
        if not isinstance(stored, dict) or not set(wanted) <= set(stored):
            raise ConfigError(f"{path}: incomplete; delete it and the secrets are generated anew")
        return {k: str(v) for k, v in stored.items() if k in wanted}
    values = {var: secrets.token_hex(chars // 2) for var, chars in wanted.items()}
    make_private_directories(path.parent)
    text = json.dumps(values, indent=2).encode("utf-8")
    if not create_private_file(path, text):  # another process wrote it first: use its secrets
        return _kept(path)
    return values
