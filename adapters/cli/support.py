"""What every ``parako-config`` command shares: opening the service, exit codes, output.

Exit codes: 0 success, 2 invalid input (every problem is printed), 3 version conflict,
1 anything else. ``--json`` prints exactly one JSON value for machines.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable, Coroutine
from functools import wraps
from pathlib import Path
from typing import Any, Final, TypeVar

import click

from adapters.sources.jsonc import JsoncError
from adapters.wiring import open_service
from eventstore.errors import ConfigError, ValidationFailed, VersionConflict
from projections.diff import Diff

EXIT_INVALID: Final = 2
EXIT_CONFLICT: Final = 3
T = TypeVar("T")


def emit(value: Any, as_json: bool) -> None:
    if as_json or not isinstance(value, str):
        click.echo(json.dumps(value, indent=None if as_json else 2, ensure_ascii=False))
    else:
        click.echo(value)


def fail(code: int, message: str) -> None:
    click.echo(message, err=True)
    sys.exit(code)


def command(fn: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    """Run an async command with the service open, mapping errors to exit codes."""

    @wraps(fn)
    def run(*args: Any, **kwargs: Any) -> None:
        async def main() -> None:
            service = await open_service(Path.cwd(), os.environ)
            try:
                await fn(service, *args, **kwargs)
            finally:
                await service.close()

        guarded(lambda: main())

    return run


def guarded(make: Callable[[], Awaitable[None]]) -> None:
    try:
        asyncio.run(make())  # type: ignore[arg-type]
    except (ValidationFailed, JsoncError) as exc:
        fail(EXIT_INVALID, str(exc))
    except VersionConflict as exc:
        fail(EXIT_CONFLICT, str(exc))
    except ConfigError as exc:
        fail(1, f"error: {exc}")


def parse_assignment(text: str) -> tuple[str, Any]:
    path, sep, raw = text.partition("=")
    if not sep or not path:
        raise ValidationFailed([], f"expected PATH=VALUE, got {text!r}")
    try:
        return path, json.loads(raw)
    except json.JSONDecodeError:
        return path, raw
    except (ValueError, RecursionError):  # a number too long to read, or nesting too deep
        raise ValidationFailed([], f"{path}: the value is not JSON this store can hold") from None


def nest(assignments: dict[str, Any]) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    for path, value in assignments.items():
        target = doc
        *parents, leaf = path.split(".")
        for segment in parents:
            target = target.setdefault(segment, {})
        target[leaf] = value
    return doc


def show_diff(diff: Diff, as_json: bool) -> None:
    """A diff (values already masked) and its impact warnings."""
    if as_json:
        emit(
            {"changes": [c.to_json() for c in diff.changes], "impact": diff.impact.to_json()}, True
        )
        return
    for c in diff.changes:
        click.echo(f"{c.change_type:>8} {c.path}: {c.old!r} -> {c.new!r}")
    for warning in diff.impact.warnings:
        click.echo(f"warning: {warning}")
