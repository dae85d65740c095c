"""What every ``parako-config`` command shares: opening the service, exit codes, output.

Exit codes: 0 success, 2 invalid input (every problem is named), 3 version conflict,
1 anything else. Every error is one line on stderr, and no traceback reaches a user unless
``--debug`` asks for it (D28 in docs/decisions.md). ``--json`` prints exactly one JSON value
for machines.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from datetime import datetime
from functools import wraps
from typing import Any, Final, TypeVar, get_args

import click

from adapters.cli.tables import audit_table, echo_table, shown, styled, table
from adapters.sources.bootstrap import project_root
from adapters.sources.jsonc import JsoncError
from adapters.wiring import open_service
from eventstore.credentials import mask_urls_in_text
from eventstore.document_stream import rehearsal
from eventstore.errors import ConfigError, Issue, ValidationFailed, VersionConflict
from eventstore.state import semver_of
from projections.audit import AuditEntry, AuditFilters, EntryKind
from projections.diff import Diff

EXIT_INVALID: Final = 2
#: every command answers -h as well as --help (set on each, not only inherited from the group:
#: click keeps a command's help option from its first use, which may be outside the group)
HELP: Final[dict[str, Any]] = {"help_option_names": ["-h", "--help"]}
BY_HELP: Final = "who makes the change (recorded as last_modified_by)"
REASON_HELP: Final = "why (kept in the history and the audit trail)"
EXPECTED_HELP: Final = "the _version you read (see history): refuse if someone saved since"
JSON_HELP: Final = "print JSON for scripts"
AUDIT_KINDS: Final[tuple[str, ...]] = get_args(EntryKind)
EXIT_CONFLICT: Final = 3
T = TypeVar("T")


def emit(value: Any, as_json: bool) -> None:
    if as_json or not isinstance(value, str):
        click.echo(json.dumps(value, indent=None if as_json else 2, ensure_ascii=False))
    else:
        click.echo(value)


def fail(code: int, message: str) -> None:
    """One line on stderr, credentials inside URLs masked whoever wrote the message, and exit."""
    click.echo(mask_urls_in_text(message), err=True)
    sys.exit(code)


def command(
    fn: Callable[..., Coroutine[Any, Any, None]], *, must_exist: bool = False
) -> Callable[..., None]:
    """Run an async command with the service open, mapping errors to exit codes."""

    @wraps(fn)
    def run(*args: Any, **kwargs: Any) -> None:
        async def main() -> None:
            service = await open_service(project_root(), os.environ, must_exist=must_exist)
            try:
                await fn(service, *args, **kwargs)
            finally:
                await service.close()

        guarded(lambda: main())

    return run


def reading(fn: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    """:func:`command` for a command that only reads: where no store exists it says so (exit
    1) instead of creating one and showing its defaults."""
    return command(fn, must_exist=True)


def guarded(make: Callable[[], Awaitable[None]]) -> None:
    try:
        asyncio.run(make())  # type: ignore[arg-type]
    except ValidationFailed as exc:
        fail(EXIT_INVALID, f"error: {one_line(exc)}")
    except JsoncError as exc:
        fail(EXIT_INVALID, f"error: {exc}")
    except VersionConflict as exc:
        fail(EXIT_CONFLICT, conflict_lines(exc))
    except ConfigError as exc:
        fail(1, f"error: {exc}")


def conflict_lines(conflict: VersionConflict) -> str:
    """The exact product text (D14), then which versions met: what to send next."""
    text = str(conflict)
    if conflict.expected is not None and conflict.actual is not None:
        at = f" ({semver_of(conflict.actual)})" if conflict.actual else ""
        text += f"\nexpected version {conflict.expected}, the store is at {conflict.actual}{at}"
    return text


def audit_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The audit filters of the API, for ``audit`` and ``tenant audit`` alike."""
    options = [
        click.option("--path", "prefix", help="only paths starting with this"),
        click.option("--by", "actor", help="only changes by this actor"),
        click.option("--since", type=click.DateTime(), help="from this time (inclusive)"),
        click.option("--until", type=click.DateTime(), help="before this time (exclusive)"),
        click.option("--kind", type=click.Choice(AUDIT_KINDS), multiple=True, help="repeatable"),
        click.option(
            "--limit",
            default=50,
            show_default=True,
            type=click.IntRange(min=1),
            help="the newest entries shown",
        ),
        click.option("--json", "as_json", is_flag=True, help="a JSON array, oldest first"),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def show_audit(
    entries: Sequence[AuditEntry], kinds: Sequence[str], limit: int, as_json: bool
) -> None:
    """The newest ``limit`` entries of the chosen kinds, oldest first."""
    chosen = [e for e in entries if not kinds or e.kind in kinds]
    newest = chosen[-limit:]
    if as_json:
        emit([e.to_json() for e in newest], True)
        return
    if not newest:
        click.echo("no audit entries match")
        return
    echo_table(audit_table(newest), noun="entries")
    if len(chosen) > len(newest):
        click.echo(f"({len(chosen) - len(newest)} older entries not shown; see --limit)", err=True)


def audit_filters(
    prefix: str | None, actor: str | None, since: datetime | None, until: datetime | None
) -> AuditFilters:
    """The options of :func:`audit_options` as the audit projection takes them; times given
    on the command line are local unless they say otherwise."""
    return AuditFilters(
        path_prefix=prefix,
        actor=actor,
        since=since.astimezone() if since else None,
        until=until.astimezone() if until else None,
    )


def one_line(failed: ValidationFailed) -> str:
    """``heading: path: message; path: message`` — every problem, on one line."""
    issues = "; ".join(" ".join(str(issue).split()) for issue in failed.issues)
    heading = failed.heading[:1].lower() + failed.heading[1:]
    return f"{heading}: {issues}" if issues else heading


def nonblank(_ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """An option that must say something when given (``--by``, ``--reason``)."""
    if value is not None and not value.strip():
        raise click.BadParameter("must not be empty", param=param)
    return value


class OneLineErrors(click.Group):
    """The command group: whatever goes wrong reaches the user as one line on stderr — usage
    mistakes as exit 2, anything unexpected as exit 1 — and the traceback only with ``--debug``."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["standalone_mode"] = False
        try:
            code = super().main(*args, **kwargs)
        except click.UsageError as exc:
            hint = f" (see {exc.ctx.command_path} --help)" if exc.ctx else ""
            fail(EXIT_INVALID, f"error: {exc.format_message()}{hint}")
        except click.ClickException as exc:
            fail(exc.exit_code, f"error: {exc.format_message()}")
        except click.Abort:
            fail(1, "aborted")
        sys.exit(code if isinstance(code, int) and not isinstance(code, bool) else 0)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as exc:
            if ctx.params.get("debug"):
                raise
            detail = " ".join(str(exc).split())[:300]
            fail(1, f"error: unexpected {type(exc).__name__}: {detail} (--debug shows where)")


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


def parse_assignments(texts: Sequence[str]) -> dict[str, Any]:
    """``PATH=VALUE`` arguments as one nested change; a path given twice, or inside another
    one given (``branding=…`` with ``branding.logo=…``), is refused rather than resolved by
    whichever came last."""
    pairs = [parse_assignment(text) for text in texts]
    issues: list[Issue] = []
    seen: dict[str, int] = {}
    for index, (path, _value) in enumerate(pairs):
        if path in seen:
            issues.append(Issue(path, "given more than once"))
        seen.setdefault(path, index)
    issues += [
        Issue(inner, f"is inside {outer}, which is also given")
        for inner in seen
        for outer in seen
        if inner.startswith(outer + ".")
    ]
    if issues:
        raise ValidationFailed(issues, "Conflicting assignments")
    return nest(dict(pairs))


def nest(assignments: dict[str, Any]) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    for path, value in assignments.items():
        target = doc
        *parents, leaf = path.split(".")
        for segment in parents:
            target = target.setdefault(segment, {})
        target[leaf] = value
    return doc


def dry_run_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--dry-run", is_flag=True, help="show the diff and its impact; write nothing"
    )(fn)


@contextlib.asynccontextmanager
async def maybe_rehearsed(dry_run: bool, as_json: bool) -> AsyncIterator[None]:
    """Run the block's write for real, or — with ``--dry-run`` — through every step of the
    write pipeline but the append, then print what it would have done (the caller prints
    nothing more then)."""
    if not dry_run:
        yield
        return
    with rehearsal() as record:
        yield
    diff = Diff.between(record.before or {}, record.after or {})
    if as_json:
        emit(
            {
                "dry_run": True,
                "version": record.semver or None,
                "changes": [c.to_json() for c in diff.changes],
                "impact": diff.impact.to_json(),
                "adjustments": [a.to_json() for a in record.adjustments],
            },
            True,
        )
        return
    if record.semver:
        count = len(diff.changes)
        click.echo(f"dry run: would save {record.semver} ({count} change(s)); nothing written")
        show_diff(diff, False)
        for adjusted in record.adjustments:
            click.echo(
                f"would adjust {adjusted.path}: {adjusted.original} → {adjusted.adjusted} "
                f"({adjusted.reason})"
            )
    else:
        click.echo("dry run: nothing would change; nothing written")


def show_diff(diff: Diff, as_json: bool) -> None:
    """A diff (values already masked) and its impact warnings."""
    if as_json:
        emit(
            {"changes": [c.to_json() for c in diff.changes], "impact": diff.impact.to_json()}, True
        )
        return
    if not diff.changes:
        click.echo("no differences")
        return
    rows = [[c.change_type, c.path, shown(c.old), shown(c.new)] for c in diff.changes]
    click.echo(table(["CHANGE", "PATH", "OLD", "NEW"], rows))
    for warning in diff.impact.warnings:
        click.echo(styled(f"warning: {warning}", fg="yellow"))
