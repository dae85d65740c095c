"""The ``parako-config`` command line.

Exit codes: 0 success, 2 invalid input (every problem is printed), 3 version conflict,
1 anything else. ``--json`` prints exactly one JSON value for machines.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Coroutine
from functools import wraps
from pathlib import Path
from typing import Any, Final, TypeVar

import click

from adapters.service import ConfigService
from adapters.sources.jsonc import JsoncError
from eventstore.commands import Author
from eventstore.docpath import get_path
from eventstore.errors import ConfigError, ValidationFailed, VersionConflict
from eventstore.schema import unstructure

EXIT_INVALID: Final = 2
EXIT_CONFLICT: Final = 3
T = TypeVar("T")


def _emit(value: Any, as_json: bool) -> None:
    if as_json or not isinstance(value, str):
        click.echo(json.dumps(value, indent=None if as_json else 2, ensure_ascii=False))
    else:
        click.echo(value)


def _fail(code: int, message: str) -> None:
    click.echo(message, err=True)
    sys.exit(code)


def command(fn: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    """Run an async command with the service open, mapping errors to exit codes."""

    @wraps(fn)
    def run(*args: Any, **kwargs: Any) -> None:
        async def main() -> None:
            service = await ConfigService.open(Path.cwd(), os.environ)
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
        _fail(EXIT_INVALID, str(exc))
    except VersionConflict as exc:
        _fail(EXIT_CONFLICT, str(exc))
    except ConfigError as exc:
        _fail(1, f"error: {exc}")


def _parse_assignment(text: str) -> tuple[str, Any]:
    path, sep, raw = text.partition("=")
    if not sep or not path:
        raise ValidationFailed([], f"expected PATH=VALUE, got {text!r}")
    try:
        return path, json.loads(raw)
    except json.JSONDecodeError:
        return path, raw


def _nest(assignments: dict[str, Any]) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    for path, value in assignments.items():
        target = doc
        *parents, leaf = path.split(".")
        for segment in parents:
            target = target.setdefault(segment, {})
        target[leaf] = value
    return doc


@click.group()
def main() -> None:
    """Parako.ID configuration store."""


@main.command()
@click.option("--json", "as_json", is_flag=True, help="print a JSON object")
@command
async def check(service: ConfigService, as_json: bool) -> None:
    """Resolve every layer and validate; exit 0 when valid, 2 when not."""
    mode = "file" if service.file_mode else "database"
    report = {"valid": True, "mode": mode, "version": service.version or None}
    if as_json:
        _emit(report, True)
    else:
        for warning in service.sources.warnings:
            click.echo(f"warning: {warning}", err=True)
        click.echo(f"configuration is valid ({mode} mode)")


@main.command()
@click.argument("path", required=False)
@click.option("--version", "semver", help="show a past version (as-of)")
@click.option("--json", "as_json", is_flag=True)
@command
async def show(service: ConfigService, path: str | None, semver: str | None, as_json: bool) -> None:
    """Print the resolved runtime config or one PATH; secrets masked."""
    doc = unstructure(await service.config_at(semver))
    if path:
        try:
            value = get_path(doc, path)
        except KeyError:
            raise ValidationFailed([], f"no setting at {path!r}") from None
        _emit(value, as_json)
    else:
        _emit(doc, as_json)


@main.command(name="set")
@click.argument("assignments", nargs=-1, required=True)
@click.option("--by", "actor", required=True)
@click.option("--reason", required=True)
@click.option("--tag", "tags", multiple=True)
@click.option("--expected-version", type=int)
@click.option("--json", "as_json", is_flag=True)
@command
async def set_(
    service: ConfigService,
    assignments: tuple[str, ...],
    actor: str,
    reason: str,
    tags: tuple[str, ...],
    expected_version: int | None,
    as_json: bool,
) -> None:
    """Change settings: PATH=VALUE… (VALUE is JSON when it parses as JSON, else a string)."""
    partial = _nest(dict(map(_parse_assignment, assignments)))
    author = Author(actor, reason, tags or Author(actor).tags)
    result = await service.save(partial, author, expected_version)
    out = {
        "version": result.semver,
        "_version": result.version,
        "changed": [c.path for c in result.changes],
        "stripped": list(result.stripped),
    }
    if as_json:
        _emit(out, True)
    elif result.appended:
        click.echo(f"saved {result.semver} ({len(result.changes)} change(s))")
    else:
        click.echo(f"nothing changed; still {result.semver}")
    for path in result.stripped:
        click.echo(f"warning: {path} is bootstrap-only and was not saved", err=True)


@main.command()
@click.argument("semver")
@click.option("--by", "actor", required=True)
@click.option("--reason", required=True)
@click.option("--json", "as_json", is_flag=True)
@command
async def rollback(
    service: ConfigService, semver: str, actor: str, reason: str, as_json: bool
) -> None:
    """Make a new version equal to SEMVER (any version, not only the last 10)."""
    result = await service.restore(semver, Author(actor, reason))
    _emit({"version": result.semver, "_version": result.version, "restored_from": semver}, as_json)


@main.command()
@click.option("--limit", default=10, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@command
async def history(service: ConfigService, limit: int, as_json: bool) -> None:
    """The newest versions: who, when, why."""
    from projections.history import history_from

    versions = history_from(await service.recorded_events())[:limit]
    if as_json:
        _emit([v.to_json() for v in versions], True)
        return
    for v in versions:
        when = v.timestamp.isoformat(timespec="seconds")
        click.echo(f"{v.version:>10}  {when}  {v.last_modified_by:<12} {v.change_reason}")


@main.command()
@click.argument("old")
@click.argument("new")
@click.option("--json", "as_json", is_flag=True)
@command
async def diff(service: ConfigService, old: str, new: str, as_json: bool) -> None:
    """Differences between two versions, with impact warnings."""
    from projections.diff import analyze_impact, diff_documents

    store = service._need_store()
    before = store.plaintext(await service.stored_at(old))
    after = store.plaintext(await service.stored_at(new))
    changes = diff_documents(before, after)
    impact = analyze_impact(changes)
    if as_json:
        _emit({"changes": [c.to_json() for c in changes], "impact": impact.to_json()}, True)
        return
    for c in changes:
        click.echo(f"{c.change_type:>8} {c.path}: {c.old!r} -> {c.new!r}")
    for warning in impact.warnings:
        click.echo(f"warning: {warning}")


@main.command()
@click.option("--path", "prefix")
@click.option("--by", "actor")
@click.option("--json", "as_json", is_flag=True)
@command
async def audit(
    service: ConfigService, prefix: str | None, actor: str | None, as_json: bool
) -> None:
    """Every field change and reveal: who, when, why, old → new (secrets masked)."""
    from projections.audit import audit_entries

    entries = audit_entries(await service.recorded_events(None), path_prefix=prefix, actor=actor)
    if as_json:
        _emit([e.to_json() for e in entries], True)
        return
    for e in entries:
        click.echo(f"{e.to_json()}")


@main.command()
@click.option("--version", "semver")
@command
async def export(service: ConfigService, semver: str | None) -> None:
    """The stored config as JSON, secrets masked."""
    _emit(await service.export(semver), True)


@main.command(name="import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--by", "actor", required=True)
@click.option("--reason", required=True)
@command
async def import_(service: ConfigService, file: Path, actor: str, reason: str) -> None:
    """Load an export file; masked secrets keep their current values."""
    try:
        document = json.loads(file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValidationFailed([], f"{file}:{exc.lineno}:{exc.colno}: {exc.msg}") from None
    result = await service.import_document(document, Author(actor, reason))
    click.echo(f"imported as {result.semver} ({len(result.changes)} change(s))")


@main.command()
@click.option("--json", "as_json", is_flag=True)
@command
async def verify(service: ConfigService, as_json: bool) -> None:
    """Replay the log, check every hash link and the snapshots."""
    from rich.progress import Progress

    with Progress(transient=True, disable=as_json) as progress:
        task = progress.add_task("verifying", total=None)
        report = await service.verify(
            lambda done, total: progress.update(task, completed=done, total=total)
        )
    broken = report.chain.first_break
    out: dict[str, Any] = {"ok": report.ok, "checked": report.chain.checked, "head": report.head}
    if broken:
        out["first_bad_event"] = {
            "position": broken.position,
            "stream": broken.stream,
            "version": broken.version,
            "reason": broken.reason.value,
        }
    if report.snapshot_mismatch:
        out["snapshot_mismatch_at_version"] = report.snapshot_mismatch
    _emit(out, as_json) if as_json else click.echo(
        "log verified: {checked} events".format(**out)
        if report.ok
        else f"verification FAILED: {json.dumps(out)}"
    )
    if not report.ok:
        sys.exit(1)


@main.command()
@click.option("--interval", default=30.0, show_default=True, help="seconds between log polls")
def run(interval: float) -> None:
    """Run an app process: open the store, keep the config current, log every new version."""

    async def serve() -> None:
        service = await ConfigService.open(Path.cwd(), os.environ, configure_logs=True)
        import structlog

        log = structlog.get_logger("parako-config")
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        mode = "file" if service.file_mode else "database"
        log.info("serving configuration", mode=mode, version=service.version)
        service_config = service.config
        click.echo(f"parako-config running ({mode} mode) — {service_config.application.title}")
        try:
            while not stop.is_set():
                try:
                    await asyncio.wait_for(stop.wait(), timeout=interval)
                except TimeoutError:
                    if await service.catch_up():
                        log.info("applied new version", version=service.version)
        finally:
            await service.close()

    guarded(serve)
