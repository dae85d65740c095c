"""Credentials in outputs and files on disk: what another user of the machine, a shoulder-surfer
or a log shipper could read.

* Connection passwords (in the PostgreSQL and MongoDB URLs, the Redis password) never appear in
  clear in ``show``, ``show --json``, ``check``, error lines, the health endpoint, the API or
  the log file — while the running process still connects with the real URL.
* Every file holding a secret or the log — ``runtime/.env``, the SQLite database with its
  ``-wal``/``-shm``, the log file, a backup — is created ``0600`` (its directory ``0700``), with
  no moment in which it was readable by others, whatever the umask.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Final
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import httpx
import pytest
import structlog
from hypothesis import assume, given
from hypothesis import strategies as st

from adapters.cli.first_run import ensure_runtime_env
from adapters.log_setup import LOG_FILE_NAME, LoggingSettings, configure_logging, get_logger
from adapters.sources.layers import read_sources
from adapters.storage.sqlite import SqliteEventLog
from adapters.wiring import logging_settings, open_service
from eventstore.credentials import URL_MASK, mask_url, mask_urls_in_text
from eventstore.hashchain import HashChain
from eventstore.log import NewEvent
from eventstore.secret import MASK

REPO: Final = Path(__file__).resolve().parents[2]
CLI: Final = Path(sys.executable).with_name("parako-config")
KEY: Final = "00112233445566778899aabbccddeeff" * 2
PG_PASSWORD: Final = "Pg-Hunter2-zq8"
MONGO_PASSWORD: Final = "Mongo-Sekr3t-x7"
REDIS_PASSWORD: Final = "Redis-Pw-k9v4"
MONGO_URI: Final = f"mongodb://bob:{MONGO_PASSWORD}@h1.example:27017,h2.example:27017/idp"


# --- helpers ---------------------------------------------------------------------------------


@contextlib.contextmanager
def umask(mask: int) -> Iterator[None]:
    """A process-wide umask for one block (subprocesses started inside inherit it)."""
    previous = os.umask(mask)
    try:
        yield
    finally:
        os.umask(previous)


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def cli(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """The real CLI with only the variables given (nothing leaks in from this process)."""
    base = {k: os.environ[k] for k in ("PATH", "HOME", "LANG", "TMPDIR") if k in os.environ}
    return subprocess.run(
        [str(CLI), *args], cwd=cwd, env={**base, **env}, capture_output=True, text=True, timeout=60
    )


def with_password(url: str, password: str) -> tuple[str, str]:
    """``url`` with ``password`` in its user-info, unless it already carries one (a server that
    needs it); returns the URL and the password it holds."""
    parts = urlsplit(url)
    if parts.password:
        return url, unquote(parts.password)
    user = parts.username or "postgres"
    netloc = f"{user}:{quote(password, safe='')}@{parts.netloc.rpartition('@')[2]}"
    return urlunsplit(parts._replace(netloc=netloc)), password


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def assert_no_password(text: str, *passwords: str) -> None:
    for password in passwords:
        for form in {password, quote(password, safe="")}:
            assert form not in text, f"{form!r} appears in clear"


@pytest.fixture
def pg_project(tmp_path: Path) -> Iterator[tuple[Path, dict[str, str], str]]:
    """A project in database mode on a fresh PostgreSQL database whose URL holds a password,
    with a MongoDB URI and a Redis password set as well (not connected to: PostgreSQL is the
    store, and Redis hints are off without REDIS_HOST). Yields the root, the environment and
    the PostgreSQL password."""
    from support.pg_server import fresh_database

    with fresh_database() as plain_url:
        url, password = with_password(plain_url, PG_PASSWORD)
        if password in mask_url(url):  # a server's own password, spelled like its URL's words
            pytest.skip("the test server's password also appears in its URL around it")
        env = {
            "STORAGE_ADAPTER": "postgresql",
            "STORAGE_POSTGRESQL_URL": url,
            "STORAGE_MONGODB_URI": MONGO_URI,
            "REDIS_PASSWORD": REDIS_PASSWORD,
            "OIDC_STORAGE_ADAPTER": "redis",
            "USE_FILE_CONFIG": "false",
            "ENCRYPTION_KEY": KEY,
        }
        (tmp_path / "runtime").mkdir()
        first = cli(tmp_path, "check", **env)  # the store's first start
        assert first.returncode == 0, first.stderr
        yield tmp_path, env, password


def every_password(pg_password: str) -> tuple[str, ...]:
    return (pg_password, MONGO_PASSWORD, REDIS_PASSWORD)


# --- credentials in outputs ------------------------------------------------------------------


def test_show_storage_json_masks_every_url_password(
    pg_project: tuple[Path, dict[str, str], str],
) -> None:
    root, env, password = pg_project
    url = env["STORAGE_POSTGRESQL_URL"]
    storage = cli(root, "show", "storage", "--json", **env)
    assert storage.returncode == 0, storage.stderr
    shown = json.loads(storage.stdout)
    assert shown["postgresql"]["url"] == mask_url(url)
    assert f":{URL_MASK}@" in shown["postgresql"]["url"]
    assert urlsplit(shown["postgresql"]["url"]).hostname == urlsplit(url).hostname
    assert (
        shown["mongodb"]["uri"] == f"mongodb://bob:{URL_MASK}@h1.example:27017,h2.example:27017/idp"
    )

    oidc = cli(root, "show", "oidc_storage", "--json", **env)
    assert oidc.returncode == 0, oidc.stderr
    adapter = json.loads(oidc.stdout)["oidc_adapter"]
    assert adapter["redis"]["password"] == MASK
    assert adapter["mongodb"]["uri"] == shown["mongodb"]["uri"]
    assert adapter["mongodb"]["database"] == "idp"  # derived from the real URI, still shown

    for done in (storage, oidc):
        assert_no_password(done.stdout + done.stderr, *every_password(password))


@pytest.mark.parametrize(
    "args",
    [("show", "--json"), ("show",), ("show", "storage"), ("check",), ("check", "--json")],
    ids=" ".join,
)
def test_no_command_output_holds_a_connection_password(
    pg_project: tuple[Path, dict[str, str], str], args: tuple[str, ...]
) -> None:
    root, env, password = pg_project
    done = cli(root, *args, **env)
    assert done.returncode == 0, done.stderr
    assert_no_password(done.stdout + done.stderr, *every_password(password))


def test_the_running_process_still_connects_with_the_real_url(
    pg_project: tuple[Path, dict[str, str], str],
) -> None:
    """Only outputs mask: the config a process works with holds the URL it connected with."""
    root, env, _ = pg_project

    async def main() -> tuple[str | None, str | None, str | None]:
        service = await open_service(root, env)
        try:
            config = service.config
            oidc = config.oidc_storage.oidc_adapter
            return config.storage.postgresql.url, oidc.mongodb.uri, oidc.redis.password
        finally:
            await service.close()

    assert asyncio.run(main()) == (env["STORAGE_POSTGRESQL_URL"], MONGO_URI, REDIS_PASSWORD)


def test_a_connection_error_does_not_print_the_database_password(tmp_path: Path) -> None:
    url = f"postgresql://alice:{PG_PASSWORD}@127.0.0.1:{free_port()}/parako?password={PG_PASSWORD}"
    env = {"STORAGE_ADAPTER": "postgresql", "STORAGE_POSTGRESQL_URL": url}
    done = cli(
        tmp_path, "show", "storage", "--json", USE_FILE_CONFIG="false", ENCRYPTION_KEY=KEY, **env
    )
    assert done.returncode == 1
    assert done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "alice:***@127.0.0.1" in done.stderr  # which server was meant is still said
    assert_no_password(done.stdout + done.stderr, PG_PASSWORD)


@pytest.mark.parametrize(
    "password",
    ["Pq9z/Wx7-s3cr", "Pq9z?Wx7-s3cr", "Pq9z#Wx7-s3cr", "Pq9z@Wx7:s3cr"],
    ids=["slash", "question-mark", "hash", "at-and-colon"],
)
def test_a_malformed_url_error_quotes_no_piece_of_the_password(
    tmp_path: Path, password: str
) -> None:
    """An unescaped delimiter splits the password: the parser then takes a piece of it for the
    port or the host, and its message must not quote that piece either."""
    url = f"postgresql://alice:{password}@127.0.0.1:{free_port()}/parako"
    done = cli(
        tmp_path,
        "check",
        STORAGE_ADAPTER="postgresql",
        STORAGE_POSTGRESQL_URL=url,
        USE_FILE_CONFIG="false",
        ENCRYPTION_KEY=KEY,
    )
    assert done.returncode != 0
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    for piece in ("Pq9z", "Wx7", "s3cr"):
        assert piece not in done.stdout + done.stderr


def test_health_api_and_log_file_hold_no_connection_password(
    pg_project: tuple[Path, dict[str, str], str],
) -> None:
    """The real ``serve``: its banner, the health endpoint, the config the API serves and every
    line of its log file (debug level) are free of the three passwords."""
    root, env, password = pg_project
    env = {**env, "SECURITY_LOGGING_LEVEL": "trace"}
    created = cli(
        root, "token", "create", "reader", "--scope", "parako:config:read", "--json", **env
    )
    assert created.returncode == 0, created.stderr
    token = json.loads(created.stdout)["token"]
    port = free_port()
    base = {k: os.environ[k] for k in ("PATH", "HOME", "LANG", "TMPDIR") if k in os.environ}
    with umask(0o022):
        server = subprocess.Popen(
            [str(CLI), "serve", "--port", str(port), "--interval", "0.5"],
            cwd=root,
            env={**base, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
    bodies: list[str] = []
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}/api/v1", timeout=10) as client:
            deadline = time.monotonic() + 30
            while True:
                try:
                    health = client.get("/health")
                    break
                except httpx.TransportError:
                    assert server.poll() is None, server.communicate()
                    assert time.monotonic() < deadline, "serve did not answer within 30 s"
                    time.sleep(0.1)
            assert health.status_code == 200, health.text
            auth = {"Authorization": f"Bearer {token}"}
            config = client.get("/config", headers=auth)
            assert config.status_code == 200
            bodies += [health.text, config.text]
            for section in ("storage", "oidc_storage"):
                bodies.append(client.get(f"/config/{section}", headers=auth).text)
    finally:
        server.send_signal(signal.SIGTERM)
        out, err = server.communicate(timeout=30)
    log_file = root / "logs" / LOG_FILE_NAME
    log_text = log_file.read_text(encoding="utf-8")
    assert log_text.strip(), "serve wrote no log line"
    for text in (*bodies, out, err, log_text):
        assert_no_password(text, *every_password(password))
    assert mode_of(log_file) == 0o600
    assert mode_of(log_file.parent) == 0o700


def test_log_lines_mask_url_passwords_in_messages_fields_and_tracebacks(tmp_path: Path) -> None:
    """Whatever quotes a URL — the event text, a field, an exception's message — the file and
    the console show it with its password masked."""
    url = f"postgresql://alice:{PG_PASSWORD}@db.internal:5432/parako"
    stream = io.StringIO()
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        for pretty in (True, False):
            configure_logging(
                LoggingSettings(directory=tmp_path / "logs", stream=stream, pretty=pretty)
            )
            log = get_logger("adversarial")
            log.warning(f"cannot reach {url}", target=url, nested={"dsn": [url]})
            logging.getLogger("driver").error("connect failed for %s", url)
            try:
                raise ConnectionError(f"connection to {url} refused")
            except ConnectionError:
                log.exception("store unreachable")
    finally:
        for handler in list(root.handlers):
            if handler not in handlers:
                root.removeHandler(handler)
                handler.close()
        root.setLevel(level)
        structlog.reset_defaults()
    written = (tmp_path / "logs" / LOG_FILE_NAME).read_text(encoding="utf-8")
    for text in (stream.getvalue(), written):
        assert "db.internal" in text
        assert_no_password(text, PG_PASSWORD)


# --- the masking rules, for any URL ----------------------------------------------------------

_HOST_LABEL: Final = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)
_HOST: Final = st.one_of(
    st.lists(_HOST_LABEL, min_size=1, max_size=3).map(".".join),
    st.tuples(*[st.integers(0, 255)] * 4).map(lambda t: ".".join(map(str, t))),
)
_PORT: Final = st.one_of(st.just(""), st.integers(1, 65535).map(lambda p: f":{p}"))
_DATABASE: Final = st.from_regex(r"[A-Za-z0-9_]{0,12}", fullmatch=True)
_PASSWORD: Final = st.text(min_size=3, max_size=24)


@st.composite
def _hosts(draw: st.DrawFn, scheme: str) -> str:
    count = draw(st.integers(1, 3)) if scheme.startswith("mongodb") else 1
    return ",".join(draw(_HOST) + draw(_PORT) for _ in range(count))


@st.composite
def _url(draw: st.DrawFn, *, encoded: bool) -> tuple[str, str, str]:
    """(url, password, host part) for a random scheme, user, password and host list."""
    scheme = draw(st.sampled_from(["postgresql", "postgres", "mongodb", "mongodb+srv", "redis"]))
    user = quote(draw(st.text(max_size=12)), safe="")
    if encoded:
        password = draw(_PASSWORD)
        in_url = quote(password, safe="")
    else:  # as an operator might paste it: every delimiter but ``@`` unescaped
        password = draw(
            st.text(
                st.characters(
                    codec="ascii", exclude_categories=["Cc", "Zs"], exclude_characters="@"
                ),
                min_size=3,
                max_size=24,
            )
        )
        in_url = password
    hosts = draw(_hosts(scheme))
    database = draw(_DATABASE)
    query = "?password=" if encoded and draw(st.booleans()) else ""
    url = f"{scheme}://{user}:{in_url}@{hosts}/{database}{query}{in_url if query else ''}"
    rest = f"{scheme}://{user}:@{hosts}/{database}{query}"  # the URL around the password
    assume(password not in rest and in_url not in rest)
    return url, password, hosts


def _host_part(url: str) -> str:
    return url.split("://", 1)[1].split("/", 1)[0].rpartition("@")[2]


@given(_url(encoded=True))
def test_a_masked_url_never_holds_its_password_and_keeps_its_hosts(
    case: tuple[str, str, str],
) -> None:
    url, password, hosts = case
    masked = mask_url(url)
    assert_no_password(masked, password)
    assert _host_part(masked) == hosts
    assert urlsplit(masked).scheme == urlsplit(url).scheme
    in_text = mask_urls_in_text(f"could not connect to {url}: connection refused")
    assert_no_password(in_text, password)
    assert _host_part(in_text.split("to ", 1)[1].split(": connection", 1)[0]) == hosts


@given(_url(encoded=False))
def test_an_unescaped_password_is_masked_whole(case: tuple[str, str, str]) -> None:
    """``/``, ``?``, ``#`` and ``:`` left unescaped in a password: hidden whole all the same."""
    url, password, hosts = case
    masked = mask_url(url)
    assert password not in masked
    assert _host_part(masked) == hosts


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("postgresql://u:p4ss@h/db?password=p4ss", "postgresql://u:***@h/db?password=***"),
        ("redis://:pw-r3dis@h:6379/0", "redis://:***@h:6379/0"),
        ("mongodb://u:p4ss@h1,h2/db", "mongodb://u:***@h1,h2/db"),
        (
            "mongodb://u@h/db?authMechanism=MONGODB-AWS&authMechanismProperties=AWS_SESSION_TOKEN:t0k",
            "mongodb://u@h/db?authMechanism=MONGODB-AWS&authMechanismProperties=***",
        ),
        (
            "postgresql://h/db?sslpassword=k3y&sslmode=require",
            "postgresql://h/db?sslpassword=***&sslmode=require",
        ),
        ("postgresql://u@h:5432/db", "postgresql://u@h:5432/db"),
        ("./runtime/data/parako.db", "./runtime/data/parako.db"),
    ],
)
def test_the_masked_forms(url: str, masked: str) -> None:
    assert mask_url(url) == masked


# --- files on disk ---------------------------------------------------------------------------


def _project_with_template(tmp_path: Path) -> Path:
    shutil.copy(REPO / ".env.example", tmp_path / ".env.example")
    return tmp_path


def test_runtime_env_is_never_world_readable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With every later tightening disabled and a umask that removes nothing, the file is still
    0600: the mode was given when the file was created, so no moment existed in which it was
    readable by others."""
    root = _project_with_template(tmp_path)
    monkeypatch.setattr(os, "chmod", lambda *args, **kwargs: None)
    monkeypatch.setattr(os, "fchmod", lambda *args, **kwargs: None)
    monkeypatch.setattr(Path, "chmod", lambda *args, **kwargs: None)
    with umask(0):
        assert ensure_runtime_env(root) is True
    env_file = root / "runtime" / ".env"
    assert mode_of(env_file) == 0o600
    assert mode_of(env_file.parent) == 0o700
    assert "ENCRYPTION_KEY=" in env_file.read_text(encoding="utf-8")
    assert ensure_runtime_env(root) is False  # an existing file is never touched


def test_make_run_first_run_creates_runtime_env_0600(tmp_path: Path) -> None:
    """What ``make run`` runs first, as a real process under the usual umask."""
    root = _project_with_template(tmp_path)
    with umask(0o022):
        done = subprocess.run(
            [sys.executable, "-m", "adapters.cli.first_run"],
            cwd=root,
            env={**os.environ, "PYTHONPATH": str(REPO)},
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 0, done.stderr
    assert mode_of(root / "runtime" / ".env") == 0o600
    assert mode_of(root / "runtime") == 0o700


@pytest.mark.parametrize("mask", [0o022, 0o000], ids=["umask-022", "umask-000"])
def test_the_database_wal_and_logs_are_created_0600(tmp_path: Path, mask: int) -> None:
    """The database and the ``-wal``/``-shm`` files SQLite creates beside it while it is open,
    and the log file on its first line; their directories 0700."""
    db = tmp_path / "runtime" / "data" / "parako.db"

    async def main() -> dict[str, int]:
        log = await SqliteEventLog.open(db, HashChain(bytes(32)))
        try:
            await log.append("config/platform", 0, [NewEvent("Probe", b'{"n":1}')])
            return {p.name: mode_of(p) for p in db.parent.iterdir()}
        finally:
            await log.close()

    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    with umask(mask):
        modes = asyncio.run(main())
        try:
            configure_logging(
                LoggingSettings(directory=tmp_path / "logs", stream=io.StringIO(), pretty=False)
            )
            get_logger("adversarial").info("first line")
        finally:
            for handler in list(root.handlers):
                if handler not in handlers:
                    root.removeHandler(handler)
                    handler.close()
            root.setLevel(level)
            structlog.reset_defaults()
    assert {"parako.db", "parako.db-wal", "parako.db-shm"} <= set(modes)
    assert modes == dict.fromkeys(modes, 0o600)
    assert mode_of(db.parent) == mode_of(db.parent.parent) == 0o700
    log_file = tmp_path / "logs" / LOG_FILE_NAME
    assert "first line" in log_file.read_text(encoding="utf-8")
    assert mode_of(log_file) == 0o600
    assert mode_of(log_file.parent) == 0o700


def test_a_first_cli_write_and_a_backup_leave_nothing_readable_by_others(tmp_path: Path) -> None:
    """The real CLI on a fresh project (SQLite), then ``backup``: no file it created is
    readable by group or others."""
    env = {"USE_FILE_CONFIG": "false", "ENCRYPTION_KEY": KEY}
    with umask(0o022):
        saved = cli(
            tmp_path, "set", 'branding.companyName="Acme"', "--by", "a", "--reason", "r", **env
        )
        assert saved.returncode == 0, saved.stderr
        backed_up = cli(tmp_path, "backup", "log.jsonl", **env)
        assert backed_up.returncode == 0, backed_up.stderr
    created = [tmp_path / "log.jsonl", *(tmp_path / "runtime").rglob("*")]
    assert any(p.name == "parako.db" for p in created)
    loose = {str(p.relative_to(tmp_path)): oct(mode_of(p)) for p in created if mode_of(p) & 0o077}
    assert loose == {}


def test_an_existing_database_keeps_the_mode_its_operator_chose(tmp_path: Path) -> None:
    """Creation is private; an existing file is not re-moded behind the operator's back."""
    db = tmp_path / "shared.db"
    db.touch()
    db.chmod(0o640)

    async def main() -> None:
        log = await SqliteEventLog.open(db, HashChain(bytes(32)))
        await log.close()

    asyncio.run(main())
    assert mode_of(db) == 0o640


def test_the_log_files_serve_writes_are_kept_out_of_git(tmp_path: Path) -> None:
    """``make run`` serves from the repository root: its log directory must be ignored, or a
    ``git add .`` publishes who changed what."""
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    directory = logging_settings(read_sources(tmp_path, {})).directory
    assert directory == tmp_path / "logs"
    written = directory.relative_to(tmp_path) / LOG_FILE_NAME
    ignored = subprocess.run(
        ["git", "check-ignore", "--no-index", "-q", str(written)], cwd=REPO, timeout=30
    )
    assert ignored.returncode == 0, f"{written} is not in .gitignore"
