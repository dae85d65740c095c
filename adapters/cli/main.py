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
from datetime import datetime
from pathlib import Path

import click

from adapters.cli.api import serve, token
from adapters.cli.backup import backup, restore_log, verify_backup_file
from adapters.cli.completion import complete_assignment, complete_path
from adapters.cli.keys import rotate_key
from adapters.cli.reports import print_report
from adapters.cli.support import (
    BY_HELP,
    EXIT_INVALID,
    EXPECTED_HELP,
    HELP,
    JSON_HELP,
    REASON_HELP,
    OneLineErrors,
    audit_filters,
    audit_options,
    command,
    dry_run_option,
    emit,
    fail,
    guarded,
    maybe_rehearsed,
    nonblank,
    parse_assignments,
    reading,
    show_audit,
    show_diff,
)
from adapters.cli.tables import echo_table, history_table, shown, styled
from adapters.cli.tenants import show_tenant, tenant
from adapters.service import ConfigService
from adapters.sources.bootstrap import HOME_VARIABLE, project_root
from adapters.sources.layers import report_warnings_to
from adapters.wiring import open_service, open_verifier
from eventstore.commands import Author, SaveResult
from eventstore.docpath import get_path
from eventstore.errors import Issue, ValidationFailed
from eventstore.hashchain import HashChain
from eventstore.integrity import UNREADABLE
from eventstore.log import EventLog
from eventstore.schema import unstructure
from eventstore.schema.docs import UnknownSetting
from eventstore.schema.docs import explain as explain_setting
from projections.diff import Diff
from projections.runtime import AppliedVersion
from projections.verification import ExpectedHead, VerifyReport, verify_log


@click.group(cls=OneLineErrors, context_settings=HELP)
@click.version_option(package_name="parako-config", message="parako-config %(version)s")
@click.option("--debug", is_flag=True, help="show the traceback of an unexpected error")
@click.option(
    "--root",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    envvar=HOME_VARIABLE,
    help=f"the deployment directory (holding runtime/); default: ${HOME_VARIABLE}, else here",
)
def main(debug: bool, root: Path | None) -> None:
    """Parako.ID configuration store: every save a version, every version verifiable.

    \b
    Exit codes: 0 done, 1 failed, 2 bad input, 3 version conflict.
    Example:
      parako-config set branding.companyName=Acme --by alice --reason rebrand
    """
    import structlog

    # Until a command configures logging, diagnostics (say, "redis hint publishing
    # unavailable" after a save) go to stderr, so stdout (``--json``) stays parseable.
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(sys.stderr))
    # every command that reads the sources (check, show, serve, run, watch …) warns once
    report_warnings_to(lambda warning: click.echo(f"warning: {warning}", err=True))
    if root is not None:  # read by project_root(), here and in any process this one starts
        os.environ[HOME_VARIABLE] = str(root.resolve())


@main.command()
@click.option("--json", "as_json", is_flag=True, help="print a JSON object")
@command
async def check(service: ConfigService, as_json: bool) -> None:
    """Resolve every layer and validate; exit 0 when valid, 2 when not.

    \b
    Example:
      parako-config check --json
    """
    mode = "file" if service.file_mode else "database"
    report = {"valid": True, "mode": mode, "version": service.version or None}
    if as_json:
        emit(report, True)
    else:
        click.echo(f"configuration is valid ({mode} mode)")


@main.command()
@click.argument("path", required=False, shell_complete=complete_path)
@click.option("--version", "semver", help="show a past version (as-of)")
@click.option("--tenant", "slug", help="a tenant's effective config (like `tenant show`)")
@click.option("--explain", is_flag=True, help="what PATH is: label, description, type, default")
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
@reading
async def show(
    service: ConfigService,
    path: str | None,
    semver: str | None,
    slug: str | None,
    explain: bool,
    as_json: bool,
) -> None:
    """Print the resolved runtime config or one PATH; secrets masked.

    \b
    Example:
      parako-config show branding.companyName
      parako-config show oidc --version 1.0.2
      parako-config show --explain oidc.token_ttl.access_token
    """
    if explain:
        show_explained(path, as_json)
        return
    if slug is not None:
        if semver is not None:
            raise ValidationFailed([], "--tenant and --version cannot be combined")
        await show_tenant(service, slug, path, as_json)
        return
    doc = unstructure(await service.config_at(semver))
    if path:
        try:
            value = get_path(doc, path)
        except KeyError:
            raise ValidationFailed([], f"no setting at {path!r}") from None
        emit(value, as_json)
    else:
        emit(doc, as_json)


def show_explained(path: str | None, as_json: bool) -> None:
    if not path:
        raise ValidationFailed([], "--explain needs a PATH")
    try:
        facts = explain_setting(path)
    except UnknownSetting:
        raise ValidationFailed([Issue(path, "not a setting of the schema")]) from None
    if as_json:
        emit(facts, True)
        return
    click.echo(styled(f"{facts['title']}", bold=True) + f"  ({path})")
    click.echo(f"  {facts['help']}")
    shown_facts = {
        "type": facts.get("type"),
        "default": facts.get("default"),
        "environment variable": facts.get("env"),
        "tenants may override": "yes" if facts.get("tenant_overridable") else None,
        "secret": "yes (masked, encrypted at rest)" if facts.get("secret") else None,
        "computed": facts.get("computed"),
    }
    for name, value in shown_facts.items():
        if value not in (None, False, ""):
            click.echo(f"  {name + ':':<22}{shown(value)}")


def report_saved(result: SaveResult, as_json: bool, done: str = "saved") -> None:
    """What ``set`` and ``unset`` print: the version made, or that nothing changed."""
    out = {
        "version": result.semver,
        "_version": result.version,
        "changed": [c.path for c in result.changes],
        "stripped": list(result.stripped),
    }
    if as_json:
        emit(out, True)
    elif result.appended:
        click.echo(f"{done} {result.semver} ({len(result.changes)} change(s))")
    else:
        click.echo(f"nothing changed; still {result.semver}")
    for path in result.stripped:
        click.echo(f"warning: {path} is set by the environment only; left alone", err=True)


@main.command(name="set")
@click.argument("assignments", nargs=-1, required=True, shell_complete=complete_assignment)
@click.option("--by", "actor", required=True, callback=nonblank, help=BY_HELP)
@click.option("--reason", required=True, callback=nonblank, help=REASON_HELP)
@click.option("--tag", "tags", multiple=True, help="a tag for the version (repeatable)")
@click.option("--expected-version", type=click.IntRange(min=1), help=EXPECTED_HELP)
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
@dry_run_option
@command
async def set_(
    service: ConfigService,
    assignments: tuple[str, ...],
    actor: str,
    reason: str,
    tags: tuple[str, ...],
    expected_version: int | None,
    as_json: bool,
    dry_run: bool,
) -> None:
    """Change settings: PATH=VALUE… (VALUE is JSON when it parses as JSON, else a string).

    \b
    Example:
      parako-config set branding.companyName=Acme oidc.token_ttl.access_token=900 \\
          --by alice --reason "shorter tokens" --expected-version 4
    """
    partial = parse_assignments(assignments)
    author = Author(actor, reason, tags or Author(actor).tags)
    async with maybe_rehearsed(dry_run, as_json):
        result = await service.save(partial, author, expected_version)
    if dry_run:
        return
    report_saved(result, as_json)


@main.command()
@click.argument("paths", nargs=-1, required=True, shell_complete=complete_path)
@click.option("--by", "actor", required=True, callback=nonblank, help=BY_HELP)
@click.option("--reason", required=True, callback=nonblank, help=REASON_HELP)
@click.option("--expected-version", type=click.IntRange(min=1), help=EXPECTED_HELP)
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
@dry_run_option
@command
async def unset(
    service: ConfigService,
    paths: tuple[str, ...],
    actor: str,
    reason: str,
    expected_version: int | None,
    as_json: bool,
    dry_run: bool,
) -> None:
    """Return settings (or whole groups) to their defaults; computed fields recompute.

    \b
    Example:
      parako-config unset branding.logo oidc.token_ttl --by alice --reason "back to defaults"
    """
    async with maybe_rehearsed(dry_run, as_json):
        result = await service.unset(list(paths), Author(actor, reason), expected_version)
    if dry_run:
        return
    report_saved(result, as_json, "unset; saved")


@main.command()
@click.argument("semver")
@click.option("--by", "actor", required=True, callback=nonblank, help=BY_HELP)
@click.option("--reason", required=True, callback=nonblank, help=REASON_HELP)
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
@dry_run_option
@command
async def rollback(
    service: ConfigService, semver: str, actor: str, reason: str, as_json: bool, dry_run: bool
) -> None:
    """Make a new version equal to SEMVER (any version, not only the last 10).

    \b
    Example:
      parako-config rollback 1.0.2 --by alice --reason "undo the rebrand"
    """
    async with maybe_rehearsed(dry_run, as_json):
        result = await service.restore(semver, Author(actor, reason))
    if dry_run:
        return
    emit({"version": result.semver, "_version": result.version, "restored_from": semver}, as_json)


@main.command()
@click.option(
    "--limit", default=10, show_default=True, type=click.IntRange(min=1), help="newest versions"
)
@click.option("--json", "as_json", is_flag=True, help="a JSON array, newest first")
@reading
async def history(service: ConfigService, limit: int, as_json: bool) -> None:
    """The newest versions: which, who, when, how and why.

    \b
    _VERSION is what --expected-version (and the API's If-Match) takes.
    Example:
      parako-config history --limit 3
    """
    from projections.history import latest_versions

    versions = await latest_versions(service.event_log, limit)
    if as_json:
        emit([v.to_json() for v in versions], True)
        return
    echo_table(history_table(versions), noun="versions")


@main.command()
@click.argument("old")
@click.argument("new")
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
@reading
async def diff(service: ConfigService, old: str, new: str, as_json: bool) -> None:
    """Differences between two versions, with impact warnings.

    \b
    Example:
      parako-config diff 1.0.1 1.0.3
    """

    show_diff(
        Diff.between(await service.plaintext_at(old), await service.plaintext_at(new)), as_json
    )


@main.command()
@audit_options
@reading
async def audit(
    service: ConfigService,
    prefix: str | None,
    actor: str | None,
    since: datetime | None,
    until: datetime | None,
    kind: tuple[str, ...],
    limit: int,
    as_json: bool,
) -> None:
    """Every field change, reveal, token and sign-in: when, who, what, old → new, why.

    \b
    Secrets are masked. The newest --limit entries are shown, oldest first.
    Example:
      parako-config audit --path security --since 2026-01-01 --kind change
    """
    entries = await service.audit_entries(**audit_filters(prefix, actor, since, until))
    show_audit(entries, kind, limit, as_json)


@main.command()
@click.option("--version", "semver", help="a past version, e.g. 1.0.2")
@reading
async def export(service: ConfigService, semver: str | None) -> None:
    """The stored config as JSON, secrets masked.

    \b
    Example:
      parako-config export > config-export.json
    """
    emit(await service.export(semver), True)


@main.command(name="import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--by", "actor", required=True, callback=nonblank, help=BY_HELP)
@click.option("--reason", required=True, callback=nonblank, help=REASON_HELP)
@click.option(
    "--replace", is_flag=True, help="the file replaces the stored config instead of merging"
)
@click.option("--json", "as_json", is_flag=True, help="with --dry-run: print the diff as JSON")
@dry_run_option
@command
async def import_(
    service: ConfigService,
    file: Path,
    actor: str,
    reason: str,
    replace: bool,
    as_json: bool,
    dry_run: bool,
) -> None:
    """Load an export file; masked secrets keep their current values.

    \b
    Example:
      parako-config import config-export.json --by alice --reason "restore from staging"
    """
    try:
        document = json.loads(file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValidationFailed([], f"{file}:{exc.lineno}:{exc.colno}: {exc.msg}") from None
    except (ValueError, RecursionError) as exc:  # not UTF-8, a number too long, too deep
        raise ValidationFailed([], f"{file}: not a JSON export ({_why(exc)})") from None
    async with maybe_rehearsed(dry_run, as_json):
        result = await service.import_document(document, Author(actor, reason), replace=replace)
    if dry_run:
        return
    if result.appended:
        click.echo(f"imported as {result.semver} ({len(result.changes)} change(s))")
    else:
        click.echo(f"nothing changed; still {result.semver}")


@main.command()
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
@click.option(
    "--expect-head",
    metavar="POSITION:LINK",
    help="a head line printed by an earlier verify: fail if that history was rewritten",
)
@click.option(
    "--file",
    "backup_file",
    type=click.Path(path_type=Path),
    help="check a backup (from `backup`) offline instead of the store",
)
@click.option(
    "--since",
    type=click.IntRange(min=0),
    default=0,
    metavar="POSITION",
    help="check only the events after POSITION (the head line of an earlier verify)",
)
def verify(as_json: bool, expect_head: str | None, backup_file: Path | None, since: int) -> None:
    """Check every hash link, the head checkpoint and every snapshot of the event log.

    Works on a log that the other commands refuse to open, and writes nothing.

    \b
    Example:
      parako-config verify --json
    """
    try:
        expected = ExpectedHead.parse(expect_head) if expect_head else None
    except ValueError as exc:
        fail(EXIT_INVALID, f"--expect-head: {exc}")
        return
    if backup_file is not None:
        if since:
            fail(EXIT_INVALID, "--since checks the store; a backup is always checked whole")
        verify_backup_file(backup_file, expected, as_json)
        return

    async def check() -> None:
        log, chain = await open_verifier(project_root(), os.environ)
        try:
            report = await _verify_with_progress(log, chain, expected, as_json, since)
        except UNREADABLE as exc:
            fail(1, f"verification FAILED: a stored row cannot be read ({type(exc).__name__})")
            return
        finally:
            await log.close()
        print_report(report, as_json)
        if not report.ok:
            sys.exit(1)

    guarded(check)


async def _verify_with_progress(
    log: EventLog, chain: HashChain, expected: ExpectedHead | None, as_json: bool, since: int = 0
) -> VerifyReport:
    """Progress on stderr, and only on a terminal: piped output stays clean."""
    from rich.console import Console
    from rich.progress import Progress

    console = Console(stderr=True)
    with Progress(
        transient=True, console=console, disable=as_json or not console.is_terminal
    ) as bar:
        task = bar.add_task("verifying", total=None)
        return await verify_log(
            log,
            chain,
            expect_head=expected,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
            since=since,
        )


def _why(exc: BaseException) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return f"not UTF-8 text at byte {exc.start}"
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    return str(exc)


def _stop_on_signals() -> asyncio.Event:
    """An event set by SIGINT or SIGTERM, so long-running commands shut down cleanly."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


@main.command()
@click.option("--interval", default=30.0, show_default=True, help="seconds between log polls")
def run(interval: float) -> None:
    """Run an app process: open the store, keep the config current, log every new version.

    \b
    Example:
      parako-config run --interval 5
    """

    async def serve() -> None:
        import structlog

        from adapters.propagation.propagator import Propagator

        stop = _stop_on_signals()
        service = await open_service(project_root(), os.environ, configure_logs=True)
        log = structlog.get_logger("parako-config")
        mode = "file" if service.file_mode else "database"
        log.info("serving configuration", mode=mode, version=service.version)
        click.echo(f"parako-config running ({mode} mode) — {service.config.application.title}")
        try:
            if service.file_mode:
                await stop.wait()
                return
            service.subscribe(
                "log", lambda applied: log.info("applied new version", version=applied.semver)
            )
            async with Propagator(service, poll_interval=interval):
                await stop.wait()
        finally:
            await service.close()

    guarded(serve)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="one JSON object per line")
@click.option("--interval", default=30.0, show_default=True, help="seconds between log polls")
def watch(as_json: bool, interval: float) -> None:
    """Print one line per applied version (the current one first) until SIGINT/SIGTERM.

    \b
    Example:
      parako-config watch --json
    """

    async def serve() -> None:
        from adapters.cli.watch import format_applied
        from adapters.propagation.propagator import Propagator

        stop = _stop_on_signals()
        service = await open_service(project_root(), os.environ, configure_logs=True)
        try:

            def show(applied: AppliedVersion) -> None:
                click.echo(format_applied(applied, as_json))
                sys.stdout.flush()

            if service.view.last_applied is not None:
                show(service.view.last_applied)
            service.subscribe("watch", show)
            async with Propagator(service, poll_interval=interval):
                await stop.wait()
        finally:
            await service.close()

    guarded(serve)


main.add_command(tenant)
main.add_command(serve)
main.add_command(token)
main.add_command(backup)
main.add_command(restore_log)
main.add_command(rotate_key)
