"""Output for people: aligned tables, colour only on a terminal, and a hint past a screen.

Scripts use ``--json``, which never changes shape; what is printed here may change to read
better, so nothing should parse it.
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Final

import click

from projections.audit import AuditEntry
from projections.history import VersionInfo

#: no column but the last is wider than this; longer values are cut with an ellipsis
MAX_COLUMN: Final = 56


def _on_terminal() -> bool:
    return sys.stdout.isatty()


def styled(text: str, **style: Any) -> str:
    """``text`` with ``click.style`` applied, on a terminal only (pipes get plain text)."""
    return click.style(text, **style) if _on_terminal() else text


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    colours: Sequence[Callable[[str], str] | None] = (),
) -> str:
    """Rows under headers, each column as wide as its widest cell (the last one unbounded)."""
    cells = [[" ".join(str(c).split()) for c in row] for row in rows]
    last = len(headers) - 1
    widths = [
        len(h) if i == last else min(MAX_COLUMN, max([len(h), *(len(r[i]) for r in cells)]))
        for i, h in enumerate(headers)
    ]
    lines = ["  ".join(styled(h.ljust(widths[i]), bold=True) for i, h in enumerate(headers))]
    for row in cells:
        parts = []
        for i, cell in enumerate(row):
            text = cell if i == last else _cut(cell, widths[i]).ljust(widths[i])
            colour = colours[i] if i < len(colours) else None
            parts.append(colour(text) if colour else text)
        lines.append("  ".join(parts).rstrip())
    return "\n".join(lines)


def echo_table(text: str, *, noun: str) -> None:
    """Print a table; past a screen on a terminal, say how to see less or page it."""
    click.echo(text)
    height = shutil.get_terminal_size().lines
    count = text.count("\n")
    if _on_terminal() and count > height:
        click.echo(
            f"({count} {noun}; narrow with --limit or the filters, or pipe to less)", err=True
        )


def when(at: datetime) -> str:
    return at.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def shown(value: Any) -> str:
    """A value as one short token: text as is, the rest as JSON, absence as ``-``."""
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def history_table(versions: Sequence[VersionInfo]) -> str:
    rows = [
        [
            v.version,
            str(v.stream_version),
            when(v.timestamp),
            v.last_modified_by,
            v.origin + (f" of {v.restored_from}" if v.restored_from else ""),
            v.change_reason,
        ]
        for v in versions
    ]
    green: Callable[[str], str] = lambda text: styled(text, fg="green")  # noqa: E731
    return table(
        ["VERSION", "_VERSION", "WHEN", "WHO", "HOW", "WHY"], rows, [green, None, None, None]
    )


def _change(entry: AuditEntry) -> str:
    if entry.kind == "change":
        return f"{shown(entry.old)} → {shown(entry.new)}"
    if entry.kind == "adjustment":
        return f"{shown(entry.old)} → {shown(entry.new)} (clamped)"
    return entry.kind


def audit_table(entries: Sequence[AuditEntry]) -> str:
    rows = [
        [
            when(e.when),
            e.who,
            e.kind,
            e.path,
            _change(e),
            e.why,
        ]
        for e in entries
    ]
    cyan: Callable[[str], str] = lambda text: styled(text, fg="cyan")  # noqa: E731
    return table(
        ["WHEN", "WHO", "KIND", "PATH", "OLD → NEW", "WHY"], rows, [None, None, None, cyan]
    )
