"""How a verification report is printed: for people, one fact per line; for scripts, one JSON
object. Shared by ``verify`` on a live store and on a backup file, so both read alike."""

from __future__ import annotations

import json
from typing import Any

import click

from eventstore.hashchain import BreakReason
from projections.verification import VerifyReport


def report_json(report: VerifyReport) -> dict[str, Any]:
    """The report as one JSON object (the shape ``verify --json`` prints)."""
    out: dict[str, Any] = {
        "ok": report.ok,
        "checked": report.chain.checked,
        "head": report.head_line,
    }
    broken = report.chain.first_break
    if broken is not None:
        out["first_bad_event"] = {
            "position": first_bad_position(report),
            "stream": broken.stream,
            "version": broken.version,
            "reason": broken.reason.value,
        }
    if report.checkpoint_problem:
        out["checkpoint_problem"] = report.checkpoint_problem
    if report.expected_head_problem:
        out["expected_head_problem"] = report.expected_head_problem
    problems = [p for p in report.snapshot_problems if p.tampered]
    if problems:
        out["snapshot_problems"] = [
            {"stream": p.stream, "version": p.version, "reason": p.reason} for p in problems
        ]
    return out


def first_bad_position(report: VerifyReport) -> int | None:
    """Where the log first differs from its chain: for a gap, the first missing position
    (the event found there instead is named by its stream and version)."""
    broken = report.chain.first_break
    if broken is None:
        return None
    if broken.reason is BreakReason.POSITION_GAP:
        return broken.expected_position
    return broken.position


def report_lines(report: VerifyReport) -> list[str]:
    """The report for people: what failed first, then the head line an auditor keeps."""
    lines: list[str] = []
    broken = report.chain.first_break
    if broken is not None:
        lines.append(
            f"verification FAILED at position {first_bad_position(report)} "
            f"({broken.stream} version {broken.version}): {broken.reason.value}"
        )
    if report.checkpoint_problem:
        lines.append(f"verification FAILED: {report.checkpoint_problem}")
    if report.expected_head_problem:
        lines.append(f"verification FAILED: {report.expected_head_problem}")
    for problem in report.snapshot_problems:
        if problem.tampered:
            lines.append(
                f"verification FAILED: the snapshot of {problem.stream} at version "
                f"{problem.version} is not trustworthy: {problem.reason}"
            )
    if report.ok:
        lines.append(f"log verified: {report.chain.checked} events")
    lines.append(f"head: {report.head_line}")
    return lines


def print_report(report: VerifyReport, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(report_json(report)))
        return
    for line in report_lines(report):
        click.echo(line)
