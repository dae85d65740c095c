"""The command line as an operator meets it: help and an example on every command, a version,
tables for people and JSON for scripts, "nothing changed" said, and a deployment found from
anywhere."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from adapters.cli.main import main

CLI = Path(sys.executable).with_name("parako-config")
KEY = "c0de" * 16
WRITE = ("--by", "ops", "--reason", "why")


def commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found: list[tuple[str, ...]] = []
    for name, command in sorted(group.commands.items()):
        found.append((*prefix, name))
        if isinstance(command, click.Group):
            found += commands(command, (*prefix, name))
    return found


@pytest.mark.parametrize("path", commands(main), ids=" ".join)
def test_every_command_has_help_with_an_example(path: tuple[str, ...]) -> None:
    done = CliRunner().invoke(main, [*path, "-h"])
    assert done.exit_code == 0, done.output
    assert "Usage:" in done.output
    command: click.Command = main
    for name in path:
        assert isinstance(command, click.Group)
        command = command.commands[name]
    if not isinstance(command, click.Group):
        assert "Example" in done.output, f"{' '.join(path)} has no example"
        undocumented = [
            p.name
            for p in command.params
            if isinstance(p, click.Option) and not p.help and p.name != "help"
        ]
        assert not undocumented, f"{' '.join(path)}: options without help: {undocumented}"


def test_version_and_short_help() -> None:
    version = CliRunner().invoke(main, ["--version"])
    assert version.exit_code == 0
    assert version.output.startswith("parako-config ")
    assert CliRunner().invoke(main, ["-h"]).exit_code == 0


def run(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: os.environ[k] for k in ("PATH", "HOME", "LANG", "TMPDIR") if k in os.environ}
    return subprocess.run(
        [str(CLI), *args],
        cwd=cwd,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("store")
    (root / "runtime").mkdir()
    (root / "runtime" / ".env").write_text(
        f"STORAGE_ADAPTER=sqlite\nUSE_FILE_CONFIG=false\nENCRYPTION_KEY={KEY}\n",
        encoding="utf-8",
    )
    for name in ("Acme", "Beta"):
        done = run(root, "set", f"branding.companyName={name}", *WRITE)
        assert done.returncode == 0, done.stderr
    return root


def test_history_is_a_table_with_the_version_the_lock_needs(store: Path) -> None:
    lines = run(store, "history").stdout.splitlines()
    assert lines[0].split() == ["VERSION", "_VERSION", "WHEN", "WHO", "HOW", "WHY"]
    newest = lines[1].split()
    assert newest[:2] == ["1.0.2", "3"]
    assert json.loads(run(store, "history", "--json").stdout)[0]["_version"] == 3


def test_audit_is_a_table_with_the_apis_filters(store: Path) -> None:
    table = run(store, "audit", "--path", "branding.companyName", "--kind", "change").stdout
    lines = table.splitlines()
    assert lines[0].split()[:4] == ["WHEN", "WHO", "KIND", "PATH"]
    assert "Acme → Beta" in lines[-1]
    assert "{" not in table  # no Python reprs
    assert len(json.loads(run(store, "audit", "--limit", "2", "--json").stdout)) == 2
    none = run(store, "audit", "--kind", "reveal")
    assert none.stdout.strip() == "no audit entries match"
    future = run(store, "audit", "--since", "2999-01-01", "--json")
    assert json.loads(future.stdout) == []


def test_nothing_changed_is_said(store: Path, tmp_path: Path) -> None:
    assert run(store, "diff", "1.0.1", "1.0.1").stdout.strip() == "no differences"
    exported = tmp_path / "export.json"
    exported.write_text(run(store, "export").stdout, encoding="utf-8")
    again = run(store, "import", str(exported), *WRITE)
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == "nothing changed; still 1.0.2"


def test_the_deployment_is_found_from_anywhere(store: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    by_option = run(elsewhere, "--root", str(store), "show", "branding.companyName")
    assert by_option.stdout.strip() == "Beta", by_option.stderr
    by_variable = run(elsewhere, "show", "branding.companyName", PARAKO_HOME=str(store))
    assert by_variable.stdout.strip() == "Beta", by_variable.stderr
    missing = run(elsewhere, "--root", str(tmp_path / "nope"), "history")
    assert missing.returncode == 2
    assert missing.stderr.count("\n") == 1


def test_paths_complete_one_segment_at_a_time(store: Path) -> None:
    env = {"COMP_WORDS": "parako-config set branding.compa", "COMP_CWORD": "2"}
    done = run(store, **env, _PARAKO_CONFIG_COMPLETE="bash_complete")
    assert done.stdout.split() == ["plain,branding.companyName="]
    env = {"COMP_WORDS": "parako-config show oidc.token_ttl.", "COMP_CWORD": "2"}
    done = run(store, **env, _PARAKO_CONFIG_COMPLETE="bash_complete")
    assert "plain,oidc.token_ttl.access_token" in done.stdout.split()
