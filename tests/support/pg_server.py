"""How the tests reach PostgreSQL: the machine's server for most tests, a throwaway cluster for the
ones that must restart or reconfigure a server.

* ``PARAKO_TEST_POSTGRESQL_URL`` names the server (default: the local one, trust auth). The role
  needs CREATEDB (and CREATEROLE for the permission tests): every test gets a fresh database with
  a unique name, dropped at teardown, so tests never see each other's events.
* A missing server skips outside CI and fails under ``CI=true`` (:func:`servers.unavailable`).
* :func:`throwaway_cluster` runs ``initdb``/``pg_ctl`` on a free port. PostgreSQL refuses to run
  as root, so as root the binaries run as the ``postgres`` user in a directory it owns.

The helpers are synchronous (they run their asyncpg calls on a private event loop in a worker
thread) so that sync tests, async tests and fixtures can all use them.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import glob
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import attrs

from .servers import unavailable

T = TypeVar("T")

ENV_VAR = "PARAKO_TEST_POSTGRESQL_URL"
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
REMEDY = (
    f"Start PostgreSQL (Debian: apt-get install postgresql) or set {ENV_VAR} to "
    "postgresql://user:password@host:port/database of a role with CREATEDB"
)


def server_url() -> str:
    return os.environ.get(ENV_VAR, "").strip() or DEFAULT_URL


def run_sync(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutine`` to completion on a fresh loop in a worker thread.

    A worker thread because the caller may itself be inside a running loop (an async test).
    """
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def with_database(url: str, database: str) -> str:
    """``url`` pointing at another database on the same server, credentials unchanged."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, parts.fragment))


async def _server_version(url: str) -> str:
    connection = await asyncpg.connect(url, timeout=5)
    try:
        return str(await connection.fetchval("SHOW server_version"))
    finally:
        await connection.close()


@functools.cache
def _probe(url: str) -> tuple[str | None, str]:
    """(server version, "") when reachable, else (None, why); probed once per session."""
    try:
        return run_sync(_server_version(url)), ""
    except Exception as error:  # any failure means "not usable", and says why
        return None, f"{type(error).__name__}: {error}"


def _where(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.hostname or 'localhost'}:{parts.port or 5432}"


def require_server() -> str:
    """The server URL, or skip/fail the calling test when it cannot be reached."""
    url = server_url()
    version, why = _probe(url)
    if version is None:
        unavailable(f"PostgreSQL at {_where(url)}", why, REMEDY)
    return url


def describe() -> str:
    """One line for the pytest report header."""
    url = server_url()
    version, why = _probe(url)
    source = ENV_VAR if os.environ.get(ENV_VAR, "").strip() else "default"
    if version is None:
        return (
            f"PostgreSQL: not reachable at {_where(url)} ({source}; {why}) — tests skip, CI fails"
        )
    return f"PostgreSQL: real server {version} at {_where(url)} ({source})"


async def _admin(url: str, *statements: str) -> None:
    connection = await asyncpg.connect(url, timeout=10)
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


def create_database(url: str | None = None) -> str:
    """Create a database with a unique name; returns its URL."""
    base = url or require_server()
    name = f"parako_test_{uuid.uuid4().hex[:16]}"
    run_sync(_admin(base, f'CREATE DATABASE "{name}"'))
    return with_database(base, name)


def drop_database(database_url: str) -> None:
    """Drop a database made by :func:`create_database`, kicking out connections left open."""
    name = urlsplit(database_url).path.lstrip("/")
    admin = with_database(database_url, "postgres")
    run_sync(_admin(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _wait_alone(url: str, timeout: float) -> None:
    connection = await asyncpg.connect(url, timeout=10)
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while await connection.fetchval(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ):
            if loop.time() > deadline:
                raise TimeoutError(f"sessions still open on the database after {timeout} s")
            await asyncio.sleep(0.02)
    finally:
        await connection.close()


def wait_until_alone(database_url: str, timeout: float = 10.0) -> None:
    """Wait until no other session uses the database.

    A client killed right after sending COMMIT does not stop the server from committing: its
    backend finishes the transaction and only then notices the closed socket. Tests that check
    the store after killing a writer wait for that backend to be gone first.
    """
    run_sync(_wait_alone(database_url, timeout))


@contextlib.contextmanager
def fresh_database(url: str | None = None) -> Iterator[str]:
    """A fresh, empty database for one test; yields its URL and drops it afterwards."""
    database_url = create_database(url)
    try:
        yield database_url
    finally:
        drop_database(database_url)


# --- throwaway cluster ---------------------------------------------------------------------------


def _bindir() -> Path | None:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), reverse=True)
    if candidates:
        return Path(candidates[0]).parent
    found = shutil.which("pg_ctl")
    return Path(found).resolve().parent if found else None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@attrs.define
class Cluster:
    """A private PostgreSQL server; ``url`` carries a password (scram-sha-256 over TCP)."""

    directory: Path
    bindir: Path
    port: int
    password: str
    owner: str | None  # the user the binaries run as; None: the current user

    @property
    def data(self) -> Path:
        return self.directory / "data"

    @property
    def url(self) -> str:
        return f"postgresql://postgres:{self.password}@127.0.0.1:{self.port}/postgres"

    def run(self, tool: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        command = [str(self.bindir / tool), *args]
        if self.owner is not None:
            command = ["runuser", "-u", self.owner, "--", *command]
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, cwd=self.directory
        )
        if done.returncode != 0:
            log = self.directory / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"{tool} {' '.join(args)} failed: {done.stderr}\n{tail}")
        return done

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1"
            " -c fsync=on -c synchronous_commit=on"
        )
        self.run("pg_ctl", "-D", str(self.data), "-l", "server.log", "-o", options, "-w", "start")

    def restart(self) -> None:
        """``pg_ctl restart -m fast``: clients are disconnected, committed data survives."""
        # -l again: without it the new postmaster would inherit our captured stdout, and
        # subprocess.run would wait for that pipe to close for as long as the server runs.
        self.run("pg_ctl", "-D", str(self.data), "-l", "server.log", "-m", "fast", "-w", "restart")

    def stop(self, mode: str = "fast") -> None:
        self.run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")


@contextlib.contextmanager
def throwaway_cluster() -> Iterator[Cluster]:
    """initdb + pg_ctl start on a free port in a temporary directory; removed afterwards."""
    bindir = _bindir()
    if bindir is None or not (bindir / "initdb").exists():
        unavailable(
            "PostgreSQL server binaries",
            "initdb/pg_ctl not found (PATH, /usr/lib/postgresql/*/bin)",
            "Install the server package (Debian: apt-get install postgresql)",
        )
    owner: str | None = None
    if os.geteuid() == 0:
        try:
            account = pwd.getpwnam("postgres")
        except KeyError:
            unavailable(
                "PostgreSQL throwaway cluster",
                "running as root and there is no 'postgres' user to run initdb as",
                "Create a 'postgres' system user (the server package does) or run as non-root",
            )
        owner = account.pw_name
    directory = Path(tempfile.mkdtemp(prefix="parako-pg-"))
    password = secrets.token_urlsafe(18)
    cluster = Cluster(directory, bindir, free_port(), password, owner)
    try:
        (directory / "pwfile").write_text(password + "\n")
        if owner is not None:
            account = pwd.getpwnam(owner)
            os.chmod(directory, 0o700)
            for path in (directory, directory / "pwfile"):
                os.chown(path, account.pw_uid, account.pw_gid)
        cluster.run(
            "initdb",
            "-D",
            str(cluster.data),
            "-U",
            "postgres",
            "--pwfile",
            str(directory / "pwfile"),
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "--no-sync",
        )
        cluster.start()
        yield cluster
    finally:
        with contextlib.suppress(Exception):
            cluster.stop("immediate")
        shutil.rmtree(directory, ignore_errors=True)
