"""`make run` on a fresh clone: create runtime/.env from .env.example with a new key.

Only when runtime/.env does not exist; an existing file is never touched. The file holds the
encryption key, so it is created ``0600`` from its first byte (and ``runtime/`` ``0700`` if this
creates it): there is no moment in which another user could read the key.
"""

from __future__ import annotations

import sys
from pathlib import Path

from adapters.private_files import create_private_file, make_private_directories
from adapters.sources.bootstrap import project_root
from eventstore.crypto import generate_encryption_key


def ensure_runtime_env(root: Path) -> bool:
    target = root / "runtime" / ".env"
    if target.exists():
        return False
    template = (root / ".env.example").read_text(encoding="utf-8")
    make_private_directories(target.parent)
    text = template.replace("ENCRYPTION_KEY=\n", f"ENCRYPTION_KEY={generate_encryption_key()}\n", 1)
    return create_private_file(target, text.encode("utf-8"))


if __name__ == "__main__":
    if ensure_runtime_env(project_root()):
        print("created runtime/.env with a new ENCRYPTION_KEY (back it up)", file=sys.stderr)
