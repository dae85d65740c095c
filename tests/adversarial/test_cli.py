"""Bad input on the command line: one line on stderr naming what and where, exit 2 for bad input
and 3 for a conflict, nothing written, and no traceback unless ``--debug`` asks for one."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from adapters.cli.support import OneLineErrors

CLI = Path(sys.executable).with_name("parako-config")
KEY = "5eed" * 16


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG", "TMPDIR") if k in os.environ}
    return subprocess.run(
        [str(CLI), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )


def write_env(root: Path, text: str) -> None:
    (root / "runtime").mkdir(exist_ok=True)
    (root / "runtime" / ".env").write_text(text, encoding="utf-8")


def head(root: Path, *tenant: str) -> str:
    """The newest version, as ``history`` prints it (platform, or one tenant's)."""
    done = run(root, *(("tenant", "history", *tenant) if tenant else ("history",)), "--json")
    assert done.returncode == 0, done.stderr
    return str(done.stdout)


def refused(done: subprocess.CompletedProcess[str], code: int, *names: str) -> None:
    assert done.returncode == code, (done.args, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    # a conflict adds which versions met to the product's exact sentence
    assert len(lines) == (2 if code == 3 else 1), done.stderr
    assert lines[0].startswith("error: ") or code == 3
    for name in names:
        assert name in lines[0], lines[0]


@pytest.fixture
def db_root(tmp_path: Path) -> Path:
    write_env(tmp_path, f"STORAGE_ADAPTER=sqlite\nUSE_FILE_CONFIG=false\nENCRYPTION_KEY={KEY}\n")
    done = run(tmp_path, "set", "branding.companyName=Acme", "--by", "ops", "--reason", "setup")
    assert done.returncode == 0, done.stderr
    return tmp_path


@pytest.fixture
def pg_root(tmp_path: Path) -> Iterator[Path]:
    from support.pg_server import fresh_database  # skips (or fails under CI) without a server

    with fresh_database() as url:
        write_env(
            tmp_path,
            "USE_FILE_CONFIG=false\nSTORAGE_ADAPTER=postgresql\n"
            f"STORAGE_POSTGRESQL_URL={url}\nENCRYPTION_KEY={KEY}\n"
            "MULTI_TENANCY_ENABLED=true\nDEPLOYMENT_URL=https://parako.id\n",
        )
        for args in (
            ("tenant", "create", "acme"),
            ("tenant", "set", "acme", "branding.companyName=A", "--by", "o", "--reason", "r"),
        ):
            done = run(tmp_path, *args)
            assert done.returncode == 0, done.stderr
        yield tmp_path


WRITE = ("--by", "ops", "--reason", "why")


#: (arguments, exit code, what the one line must name)
PLATFORM_ATTACKS: list[tuple[tuple[str, ...], int, tuple[str, ...]]] = [
    (("rollback", "1.0", *WRITE), 2, ("version", "1.0")),
    (("rollback", "9.9.9", *WRITE), 2, ("9.9.9",)),
    (("rollback", "1.0.99", *WRITE), 2, ("1.0.99", "does not exist")),
    (("diff", "1.0.0", "x"), 2, ("'x'",)),
    (("diff", "1.0.0", "1.0.9"), 2, ("1.0.9",)),
    (("show", "--version", "1.0"), 2, ("1.0",)),
    (("export", "--version", "7.7.7"), 2, ("7.7.7",)),
    (("history", "--limit", "-1"), 2, ("--limit",)),
    (("set", "branding.companyName=B", "--by", "ops", "--reason", ""), 2, ("--reason",)),
    (("set", "branding.companyName=B", "--by", " ", "--reason", "r"), 2, ("--by",)),
    (("set", "branding=1", "branding.companyName=B", *WRITE), 2, ("inside branding",)),
    (("set", "branding.companyName=B", "branding.companyName=C", *WRITE), 2, ("more than",)),
    (("set", "branding.companyName=B", "--expected-version", "-1", *WRITE), 2, ("--expected",)),
    (("set", "branding.companyName=B", "--expected-version", "1", *WRITE), 3, ("modified",)),
    (("set", "oidc.issuer=https://evil.example", *WRITE), 2, ("oidc.issuer", "deployment.url")),
    (("set", 'branding.companyName="A\\u0000B"', *WRITE), 2, ("NUL",)),
    (("set", "features.metrics.path=/admin", *WRITE), 2, ("features.metrics.path",)),
    (("set", "nonsense", *WRITE), 2, ("PATH=VALUE",)),
    (("no-such-command",), 2, ("no-such-command",)),
]


def test_bad_input_on_the_command_line_is_one_line_and_writes_nothing(db_root: Path) -> None:
    before = head(db_root)
    for args, code, names in PLATFORM_ATTACKS:
        refused(run(db_root, *args), code, *names)
    assert head(db_root) == before


#: (arguments, what the one line must name); every one exits 2
TENANT_ATTACKS: list[tuple[tuple[str, ...], tuple[str, ...]]] = [
    (("tenant", "diff", "acme", "1.0.0", "1.0.9"), ("1.0.9",)),
    (("tenant", "diff", "acme", "1.0.0", "x"), ("'x'",)),
    (("tenant", "overrides", "acme", "--version", "1.0.99"), ("1.0.99",)),
    (("tenant", "overrides", "acme", "--version", "9.9.9"), ("9.9.9",)),
    (("tenant", "set", "acme", "branding.companyName=B", "--by", "o", "--reason", ""), ()),
    (("tenant", "set", "acme", "branding=1", "branding.companyName=B", *WRITE), ("inside",)),
    (("tenant", "create", "beta", "--domain", "parako.id"), ("platform's own host",)),
    (("tenant", "create", "beta", "--domain", "acme.parako.id"), ("under the platform",)),
    (
        ("tenant", "set", "acme", "integrations.email.smtp_host=mail.evil.example", *WRITE),
        ("smtp_host", "must supply its own"),
    ),
]


def test_bad_tenant_input_is_one_line_and_writes_nothing(pg_root: Path) -> None:
    before = head(pg_root, "acme")
    for args, names in TENANT_ATTACKS:
        refused(run(pg_root, *args), 2, *names)
    assert head(pg_root, "acme") == before
    assert "beta" not in run(pg_root, "tenant", "list", "--json").stdout


def test_an_unopenable_store_is_one_line(db_root: Path) -> None:
    """A store path that is a directory: the driver fails, and the user reads one line."""
    (db_root / "runtime" / ".env").write_text(
        f"STORAGE_ADAPTER=sqlite\nUSE_FILE_CONFIG=false\nENCRYPTION_KEY={KEY}\n"
        "STORAGE_SQLITE_PATH=runtime\n",
        encoding="utf-8",
    )
    done = run(db_root, "history")
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"error: cannot open the SQLite database {db_root / 'runtime'}: "
        "unable to open database file"
    ]


def test_an_unexpected_error_is_one_line_and_debug_shows_where() -> None:
    """What no command expects (a bug) still reaches the user as one line, exit 1;
    ``--debug`` trades the line for the traceback."""

    @click.group(cls=OneLineErrors)
    @click.option("--debug", is_flag=True)
    def cli(debug: bool) -> None:
        pass

    @cli.command()
    def broken() -> None:
        raise RuntimeError("a bug\nover two lines")

    quiet = CliRunner().invoke(cli, ["broken"])
    assert quiet.exit_code == 1
    assert quiet.output == (
        "error: unexpected RuntimeError: a bug over two lines (--debug shows where)\n"
    )
    loud = CliRunner().invoke(cli, ["--debug", "broken"])
    assert isinstance(loud.exception, RuntimeError)


def test_an_unexpected_error_never_prints_a_url_password() -> None:
    @click.group(cls=OneLineErrors)
    @click.option("--debug", is_flag=True)
    def cli(debug: bool) -> None:
        pass

    @cli.command()
    def leaky() -> None:
        raise RuntimeError("cannot reach postgresql://app:hunter2-secret@db:5432/parako")

    done = CliRunner().invoke(cli, ["leaky"])
    assert done.exit_code == 1
    assert "hunter2-secret" not in done.output
    assert "postgresql://app:" in done.output
