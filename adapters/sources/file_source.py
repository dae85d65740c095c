"""Find and read the optional config file under ``runtime/``.

The file is optional — a fresh install runs on defaults — but a file that exists is trusted to
mean something: if it cannot be read, parsed or interpolated, loading stops with an error naming
the file instead of quietly falling back to defaults the operator did not ask for.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import attrs

from adapters.sources.interpolation import interpolate
from adapters.sources.jsonc import parse_jsonc
from eventstore.errors import ConfigError, Issue, ValidationFailed

__all__ = ["CANDIDATES", "FileDocument", "UnreadableFileError", "load_file_document"]

# Search order: the first that exists wins; both are read as JSONC.
CANDIDATES: Final = ("runtime/parako.jsonc", "runtime/parako.json")


class UnreadableFileError(ConfigError):
    """A config or env file exists but we cannot get its text; never fall back to defaults."""

    def __init__(self, path: Path, reason: str) -> None:
        self.path = path
        super().__init__(f"cannot read {path}: {reason}")


def read_text(path: Path) -> str:
    """A config or env file's text, as an editor saved it: UTF-8, a leading byte-order mark
    dropped (it would otherwise become part of the first key), and any failure to read it a
    :class:`UnreadableFileError` naming the file."""
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise UnreadableFileError(path, f"not UTF-8 text (byte {error.start})") from None
    except OSError as error:
        raise UnreadableFileError(path, error.strerror or type(error).__name__) from None


@attrs.frozen
class FileDocument:
    """What the file search found.

    ``path`` and ``document`` are None when no candidate exists; ``searched`` always lists every
    candidate so the caller can tell the operator where a file would have been picked up.
    """

    path: Path | None
    document: dict[str, Any] | None
    searched: tuple[Path, ...]


def load_file_document(root: Path, environ: Mapping[str, str]) -> FileDocument:
    """Read the first config file under ``root``, with ``${VAR}`` references filled in."""
    searched = tuple(root / candidate for candidate in CANDIDATES)
    for candidate, path in zip(CANDIDATES, searched, strict=True):
        if path.exists():
            return FileDocument(path, _load(path, candidate, environ), searched)
    return FileDocument(None, None, searched)


def _load(path: Path, source: str, environ: Mapping[str, str]) -> dict[str, Any]:
    """``source`` is the path relative to the root, as the operator would type it."""
    text = read_text(path)
    parsed = parse_jsonc(text, source)
    if not isinstance(parsed, dict):
        raise ValidationFailed(
            [Issue(source, f"the top level must be an object ({{ ... }}), not {_kind(parsed)}")],
            heading=f"Invalid config file {source}",
        )
    try:
        document: dict[str, Any] = interpolate(parsed, environ)
    except ValidationFailed as failed:
        raise ValidationFailed(
            failed.issues, heading=f"Environment variable substitution failed in {source}"
        ) from None
    return document


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if value is None:
        return "null"
    return "a number"
