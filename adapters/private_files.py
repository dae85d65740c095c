"""Files only their owner may read, created that way from their first byte on.

``runtime/.env`` holds the encryption key, the SQLite database holds the encrypted secrets and
the hash chain, and log files record who changed what. Writing such a file and tightening its
mode afterwards leaves a moment in which the file is readable by everyone (the umask usually
keeps ``0644``), so these helpers pass the final mode to ``open(2)`` itself: the file is never
looser than ``0600``, whatever the umask, and is set to exactly ``0600`` right after (the umask
may also have removed the owner's own bits). Directories created for such files are ``0700``.

An *existing* file or directory keeps its mode: an operator who made a log directory readable to
a log shipper's group decided so.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Final

__all__ = [
    "PRIVATE_DIRECTORY_MODE",
    "PRIVATE_FILE_MODE",
    "create_private_file",
    "ensure_private_file",
    "make_private_directories",
    "open_private",
]

PRIVATE_FILE_MODE: Final = 0o600
PRIVATE_DIRECTORY_MODE: Final = 0o700


def make_private_directories(directory: Path) -> None:
    """Create ``directory`` and its missing parents, each ``0700``; existing ones are kept."""
    missing: list[Path] = []
    current = directory
    while not current.exists() and current != current.parent:
        missing.append(current)
        current = current.parent
    for path in reversed(missing):
        try:
            os.mkdir(path, PRIVATE_DIRECTORY_MODE)
        except FileExistsError:
            if not path.is_dir():
                raise
            continue  # created meanwhile by another process: its mode is its creator's choice
        os.chmod(path, PRIVATE_DIRECTORY_MODE)


def open_private(path: Path, flags: int, *, exclusive: bool = False) -> int:
    """``os.open(path, flags)``, creating the file ``0600`` when it does not exist yet.

    With ``exclusive`` an existing file raises :class:`FileExistsError` (``O_EXCL``: a symlink
    planted at ``path`` is refused too). Returns the file descriptor.
    """
    try:
        fd = os.open(path, flags | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    except FileExistsError:
        if exclusive:
            raise
        return os.open(path, flags & ~os.O_CREAT)
    try:
        os.fchmod(fd, PRIVATE_FILE_MODE)  # exactly, whatever the umask took away
    except BaseException:
        os.close(fd)
        raise
    return fd


def ensure_private_file(path: Path) -> None:
    """Create ``path`` empty and ``0600`` unless it exists (an existing file is not opened)."""
    if path.exists():
        return
    with contextlib.suppress(FileExistsError):  # or created meanwhile by another process
        os.close(open_private(path, os.O_WRONLY, exclusive=True))


def create_private_file(path: Path, data: bytes) -> bool:
    """Write ``data`` to ``path`` as a new ``0600`` file; False (nothing written) if it exists.

    A write that fails removes the partial file, so a half-written secret file never stays.
    """
    try:
        fd = open_private(path, os.O_WRONLY, exclusive=True)
    except FileExistsError:
        return False
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(path)
        raise
    return True
