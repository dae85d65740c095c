"""How the tests reach MongoDB: a real server when one is given, else the nx-27017 emulator.

``PARAKO_TEST_MONGODB_URI`` names a real MongoDB (any database in it is ignored: every test gets
a fresh one). Without it, the ``nx-27017`` wire-protocol emulator from PyPI is started once per
test session on a free loopback port, in memory. The emulator is a stand-in so the adapter's code
paths run everywhere; a green run on it is not evidence about MongoDB's behaviour, which is why
:func:`describe` says loudly which one the run used. Neither available → :func:`unavailable`
(skip on a developer machine, fail under ``CI=true``).
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.util
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import attrs
import pytest
from pymongo import MongoClient
from pymongo.errors import PyMongoError

from .servers import unavailable

ENV_URI: Final = "PARAKO_TEST_MONGODB_URI"
EMULATOR: Final = "nx_27017"  # what the emulator reports as ``process`` in buildInfo
_SERVER: Final = "MongoDB"
_REMEDY: Final = (
    f"Set {ENV_URI}=mongodb://user:password@host:27017/?authSource=admin for a real MongoDB, "
    "or install the emulator (pip install nx-27017, part of the dev extra)"
)
_START_TIMEOUT: Final = 20.0


@attrs.frozen
class MongoTarget:
    """The server this session tests against; ``uri`` has no database in it."""

    uri: str
    emulator: bool
    where: str


@attrs.frozen
class FreshDatabase:
    """One test's own database: ``uri`` selects it as the URI's default database."""

    name: str
    uri: str
    target: MongoTarget


_target: MongoTarget | None = None
_failure: str | None = None
_process: subprocess.Popen[bytes] | None = None
_workdir: tempfile.TemporaryDirectory[str] | None = None


def target() -> MongoTarget:
    """The session's MongoDB, started or checked on first use; skips/fails when there is none."""
    global _target, _failure
    if _target is None and _failure is None:
        try:
            _target = _from_environment() if os.environ.get(ENV_URI) else _start_emulator()
        except _Unavailable as problem:
            _failure = str(problem)
    if _target is None:
        unavailable(_SERVER, _failure or "unknown problem", _REMEDY)
    return _target


def on_emulator() -> bool:
    """Whether the session runs on nx-27017 (only meaningful once :func:`target` succeeded)."""
    return target().emulator


def describe() -> str:
    """One line for the pytest report header.

    A given URI is checked here (once; tests reuse the result), so that the header can say
    whether it is a real MongoDB or an emulator behind a URI. The emulator is not started just
    for the header: runs without MongoDB tests should not pay for it.
    """
    global _target, _failure
    if os.environ.get(ENV_URI):
        where = _hosts(os.environ[ENV_URI])
        if _target is None and _failure is None:
            try:
                _target = _from_environment()
            except _Unavailable as problem:
                _failure = str(problem)
        if _target is None:
            return (
                f"MongoDB: NOT reachable at {where} ({ENV_URI}); MongoDB tests skip, or fail in CI"
            )
        if _target.emulator:
            return (
                f"MongoDB: nx-27017 wire-protocol EMULATOR at {where} via {ENV_URI} "
                "(stand-in, not evidence of MongoDB behaviour)"
            )
        return f"MongoDB: real server at {where} ({ENV_URI})"
    if _target is not None:
        return (
            "MongoDB: nx-27017 wire-protocol EMULATOR (stand-in, not evidence of MongoDB "
            f"behaviour) on {_target.where}"
        )
    if importlib.util.find_spec("nx_27017") is None:
        return f"MongoDB: none ({ENV_URI} unset, nx-27017 not installed): MongoDB tests skip"
    return (
        "MongoDB: nx-27017 wire-protocol EMULATOR (stand-in, not evidence of MongoDB "
        f"behaviour), started on a free 127.0.0.1 port by the first MongoDB test ({ENV_URI} unset)"
    )


def fresh_database_uri(base: MongoTarget, name: str) -> str:
    """``base.uri`` with ``name`` as its default database, keeping options and auth source.

    Credentials in a URI authenticate against its database unless ``authSource`` says
    otherwise, so swapping the database must pin the original auth source.
    """
    scheme, rest = base.uri.split("://", 1)
    hosts, _, tail = rest.partition("/")
    original_db, _, options = tail.partition("?")
    if "@" in hosts and "authsource=" not in options.lower():
        source = f"authSource={original_db or 'admin'}"
        options = f"{options}&{source}" if options else source
    return f"{scheme}://{hosts}/{name}" + (f"?{options}" if options else "")


@contextlib.contextmanager
def fresh_database() -> Iterator[FreshDatabase]:
    """A database no other test uses, dropped afterwards (kept when dropping fails)."""
    base = target()
    name = f"parako_test_{uuid.uuid4().hex[:16]}"
    yield FreshDatabase(name, fresh_database_uri(base, name), base)
    client: MongoClient[dict[str, object]] = MongoClient(base.uri, serverSelectionTimeoutMS=5000)
    try:
        client.drop_database(name)
    except PyMongoError:
        pass
    finally:
        client.close()


@pytest.fixture
def mongo_db() -> Iterator[FreshDatabase]:
    with fresh_database() as database:
        yield database


def stop() -> None:
    """Stop the emulator if this process started it; safe to call more than once."""
    global _process, _workdir
    process, _process = _process, None
    if process is not None and process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
    if _workdir is not None:
        _workdir.cleanup()
        _workdir = None


class _Unavailable(Exception):
    pass


def _from_environment() -> MongoTarget:
    uri = os.environ[ENV_URI]
    process = _ping(uri, timeout=5.0)
    if process is None:
        raise _Unavailable(f"{ENV_URI} is set but no server answered at {_hosts(uri)} within 5 s")
    return MongoTarget(_without_database(uri), emulator=process == EMULATOR, where=_hosts(uri))


def _start_emulator() -> MongoTarget:
    global _process, _workdir
    if importlib.util.find_spec("nx_27017") is None:
        raise _Unavailable(f"{ENV_URI} is not set and the nx-27017 emulator is not installed")
    atexit.register(stop)
    for _ in range(3):  # the free port can be taken between probing and binding
        _workdir = tempfile.TemporaryDirectory(prefix="parako-nx27017-")
        work = Path(_workdir.name)
        port = _free_port()
        _process = subprocess.Popen(
            [
                *(sys.executable, "-m", "nx_27017.nx_27017"),
                *("--host", "127.0.0.1", "--port", str(port)),
                # one isolated in-memory SQLite per logical database: nothing touches the disk
                *("--data-dir", "memory"),
                *("--log-file", str(work / "nx-27017.log")),
                *("--pid-file", str(work / "nx-27017.pid")),
            ],
            cwd=work,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        uri = f"mongodb://127.0.0.1:{port}/"
        deadline = time.monotonic() + _START_TIMEOUT
        while _process.poll() is None and time.monotonic() < deadline:
            if _ping(uri, timeout=0.5) is not None:
                return MongoTarget(uri, emulator=True, where=f"127.0.0.1:{port}")
        exited = _process.poll() is not None
        stop()
        if not exited:
            break  # running but silent: another port would not help
    raise _Unavailable(f"the nx-27017 emulator did not answer a ping within {_START_TIMEOUT:g} s")


def _ping(uri: str, timeout: float) -> str | None:
    """``buildInfo``'s process name when the server answers (``mongod`` or the emulator's)."""
    client: MongoClient[dict[str, object]] = MongoClient(
        uri, serverSelectionTimeoutMS=max(1, int(timeout * 1000)), connectTimeoutMS=1000
    )
    try:
        client.admin.command("ping")
        info = client.admin.command("buildInfo")
        return str(info.get("process", "mongod"))
    except PyMongoError:
        return None
    finally:
        client.close()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _without_database(uri: str) -> str:
    """Keep hosts, credentials and options; the database is chosen per test."""
    scheme, rest = uri.split("://", 1)
    hosts, _, tail = rest.partition("/")
    original_db, _, options = tail.partition("?")
    if "@" in hosts and original_db and "authsource=" not in options.lower():
        options = f"{options}&authSource={original_db}" if options else f"authSource={original_db}"
    return f"{scheme}://{hosts}/" + (f"?{options}" if options else "")


def _hosts(uri: str) -> str:
    """Hosts only: the header and messages must never show credentials."""
    rest = uri.split("://", 1)[-1]
    # after the last "@": a password with an unescaped "/" must not leak into the host list
    return rest.rsplit("@", 1)[-1].split("/", 1)[0].split("?", 1)[0]
