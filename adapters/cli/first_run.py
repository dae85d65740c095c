"""`make run` on a fresh clone: create runtime/.env from .env.example with a new key.

Only when runtime/.env does not exist; an existing file is never touched.
"""

from __future__ import annotations

import sys
from pathlib import Path

from eventstore.crypto import generate_encryption_key


def ensure_runtime_env(root: Path) -> bool:
    target = root / "runtime" / ".env"
    if target.exists():
        return False
    template = (root / ".env.example").read_text(encoding="utf-8")
    target.parent.mkdir(parents=True, exist_ok=True)
    text = template.replace("ENCRYPTION_KEY=\n", f"ENCRYPTION_KEY={generate_encryption_key()}\n", 1)
    target.write_text(text, encoding="utf-8")
    target.chmod(0o600)
    return True


if __name__ == "__main__":
    if ensure_runtime_env(Path.cwd()):
        print("created runtime/.env with a new ENCRYPTION_KEY (back it up)", file=sys.stderr)
