"""``backup``, ``verify --file`` and ``restore-log`` through the real command line.

The round trip SQLite → PostgreSQL → SQLite must give back the same log, byte for byte: the
same ``verify`` output (head link included) in every store, the same event lines in every
backup. A backup that was tampered with is refused by ``verify --file`` and by ``restore-log``
(which then writes nothing), a store that has events is never restored into, and a wrong key is
a one-line refusal.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import os
import stat
import subprocess
import sys
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from support.previous_release import write_as_previous_release
from support.storages import STORAGES, env_lines

from adapters.storage.backup import (
    BackupReader,
    PinnedChain,
    _header_mac,
    check_backup,
    load_backup,
    write_backup,
)
from adapters.storage.memory import MemoryEventLog
from adapters.wiring import chain_for
from eventstore.crypto import key_id, parse_encryption_key
from eventstore.hashchain import HashChain
from eventstore.keys import generate_data_keys, wrap_data_keys
from eventstore.log import NewEvent

CLI = Path(sys.executable).with_name("parako-config")
KEY = "00112233445566778899aabbccddeeff" * 2
OTHER_KEY = "ffeeddccbbaa99887766554433221100" * 2
SECRET = "Sm7p-Pl41ntext-Never-In-The-Backup"


def cli(
    root: Path, *args: str | Path, umask: int | None = None
) -> subprocess.CompletedProcess[str]:
    """The CLI with only the variables a test sets (nothing leaks in from this process)."""
    env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG", "TMPDIR") if k in os.environ}

    def set_umask() -> None:
        if umask is not None:
            os.umask(umask)

    return subprocess.run(
        [str(CLI), *map(str, args)],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=set_umask,
    )


def ok(root: Path, *args: str | Path) -> str:
    done = cli(root, *args)
    assert done.returncode == 0, done.stderr
    return done.stdout


def refused(done: subprocess.CompletedProcess[str], code: int) -> str:
    """The one line of stderr of a command that exited with ``code``, without a traceback (and
    without the ``error:`` every error line starts with)."""
    assert done.returncode == code, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0].removeprefix("error: ")


def project(root: Path, storage: Mapping[str, str], key: str = KEY, retired: str = "") -> Path:
    """A project root in database mode on ``storage``, keyed with ``key``."""
    (root / "runtime").mkdir(parents=True, exist_ok=True)
    keys = f"ENCRYPTION_KEY={key}\n" + (f"ENCRYPTION_KEY_RETIRED={retired}\n" if retired else "")
    (root / "runtime" / ".env").write_text(
        f"{env_lines(storage)}USE_FILE_CONFIG=false\n{keys}", encoding="utf-8"
    )
    return root


def lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def events_of(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in lines(path)[1:]]


def store_file(root: Path) -> Path:
    return root / "runtime" / "data" / "parako.db"


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A SQLite store with some history in two streams (a secret among it), and its backup."""
    root = project(tmp_path_factory.mktemp("source"), {})
    change = ("--by", "alice", "--reason", "test")
    ok(root, "set", 'branding.companyName="Acme"', *change)
    ok(root, "set", f'integrations.email.smtp_password="{SECRET}"', *change)
    ok(root, "token", "create", "deployer", "--scope", "parako:config:read")
    ok(root, "rollback", "1.0.1", "--by", "bob", "--reason", "undo the password")
    backup = root / "log.jsonl"
    assert (
        ok(root, "backup", backup).strip()
        == f"backed up {len(lines(backup)) - 1} event(s) to {backup}"
    )
    return root, backup


@pytest.fixture
def backup_copy(source: tuple[Path, Path], tmp_path: Path) -> Path:
    """A copy of the source's backup that a test may tamper with."""
    copy = tmp_path / "copy.jsonl"
    copy.write_bytes(source[1].read_bytes())
    return copy


@pytest.fixture
def empty_sqlite(tmp_path: Path) -> Path:
    return project(tmp_path / "target", {})


# --- the round trip ------------------------------------------------------------------------


def views(root: Path) -> list[str]:
    """What a user sees of a store, through commands that read its history and its secrets."""
    return [
        ok(root, "history", "--limit", "100", "--json"),
        ok(root, "audit", "--json"),
        ok(root, "export"),
        ok(root, "diff", "1.0.1", "1.0.2"),  # decrypts the secret on both sides
        ok(root, "token", "list", "--json"),
    ]


def test_round_trip_sqlite_postgresql_sqlite(source: tuple[Path, Path], tmp_path: Path) -> None:
    root_a, backup_a = source
    verified = ok(root_a, "verify")
    verified_json = ok(root_a, "verify", "--json")
    assert verified.startswith("log verified: ")
    assert ok(root_a, "verify", "--file", backup_a) == verified
    assert ok(root_a, "verify", "--file", backup_a, "--json") == verified_json
    seen = views(root_a)

    with STORAGES["postgresql"]() as storage:
        root_b = project(tmp_path / "postgresql", storage)
        restored = ok(root_b, "restore-log", backup_a).splitlines()
        assert restored[0] == f"restored {len(lines(backup_a)) - 1} event(s) from {backup_a}"
        assert "\n".join(restored[1:]) + "\n" == verified
        assert ok(root_b, "verify") == verified
        assert ok(root_b, "verify", "--json") == verified_json
        backup_b = tmp_path / "from-postgresql.jsonl"
        ok(root_b, "backup", backup_b)
        assert ok(root_b, "verify", "--file", backup_b) == verified
        assert views(root_b) == seen

    assert lines(backup_b)[1:] == lines(backup_a)[1:]  # every event, byte for byte
    root_c = project(tmp_path / "sqlite-again", {})
    ok(root_c, "restore-log", backup_b)
    assert ok(root_c, "verify") == verified
    assert ok(root_c, "verify", "--json") == verified_json
    backup_c = tmp_path / "sqlite-again.jsonl"
    ok(root_c, "backup", backup_c)
    assert lines(backup_c)[1:] == lines(backup_a)[1:]
    assert views(root_c) == seen
    # the restored store lives on: it takes new writes and still verifies
    ok(root_c, "set", 'branding.companyName="Moved"', "--by", "carol", "--reason", "after")
    assert ok(root_c, "verify").startswith("log verified: ")


def test_restore_into_mongodb(source: tuple[Path, Path], tmp_path: Path) -> None:
    """The one-document-per-append layout gets the original appends back, and the same log."""
    root_a, backup_a = source
    with STORAGES["mongodb"]() as storage:
        root = project(tmp_path / "mongodb", storage)
        ok(root, "restore-log", backup_a)
        assert ok(root, "verify") == ok(root_a, "verify")
        copy = tmp_path / "from-mongodb.jsonl"
        ok(root, "backup", copy)
    assert lines(copy)[1:] == lines(backup_a)[1:]


def test_the_backup_holds_no_plaintext_secret(source: tuple[Path, Path]) -> None:
    _root, backup = source
    assert SECRET.encode() not in backup.read_bytes()
    datas = [
        e["data"].encode() if "data" in e else base64.b64decode(e["data_base64"])
        for e in events_of(backup)
    ]
    assert all(SECRET.encode() not in data for data in datas)
    changes = [
        c
        for data in datas
        for c in json.loads(data).get("changes", [])
        if c["path"] == "integrations.email.smtp_password"
    ]
    assert changes
    assert all(c["new"].startswith("enc:v1:") for c in changes)


def test_the_file_format(source: tuple[Path, Path]) -> None:
    root, backup = source
    header, *events = (json.loads(line) for line in lines(backup))
    assert header["format"] == "parako-config-log"
    assert header["format_version"] == 2
    assert "key_id" not in header
    # the store's data keys exactly as the store keeps them: wrapped by its ENCRYPTION_KEY
    data_keys = json.loads(header["data_keys"])
    assert data_keys["format"] == "parako-config/data-keys"
    assert data_keys["wrapped_by"] == key_id(parse_encryption_key(KEY))
    assert KEY not in header["data_keys"]
    assert header["head_position"] == len(events) == events[-1]["position"]
    assert header["head_link"] == events[-1]["link"]
    assert datetime.fromisoformat(header["created_at"]).tzinfo is not None
    assert [e["position"] for e in events] == list(range(1, len(events) + 1))
    assert {e["stream"] for e in events} >= {"config/platform"}
    assert len({e["stream"] for e in events}) >= 2  # the token lives in a stream of its own
    for event in events:
        assert set(event) == {
            "stream",
            "version",
            "position",
            "type",
            "data",
            "recorded_at",
            "link",
        }
        assert isinstance(event["recorded_at"], int)
    # the head line verify prints is the header's head
    head = ok(root, "verify").splitlines()[-1]
    assert head == f"head: {header['head_position']}:{header['head_link']}"


# --- the file on disk ------------------------------------------------------------------------


def test_the_file_is_private_and_never_overwritten_silently(
    source: tuple[Path, Path], tmp_path: Path
) -> None:
    root, _backup = source
    target = tmp_path / "private.jsonl"
    assert cli(root, "backup", target, umask=0).returncode == 0
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    before = target.read_bytes()

    message = refused(cli(root, "backup", target), 2)
    assert message == f"{target} exists; pass --force to replace it"
    assert target.read_bytes() == before

    os.chmod(target, 0o644)
    assert cli(root, "backup", target, "--force", umask=0).returncode == 0
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert lines(target)[1:] == before.splitlines(keepends=True)[1:]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["private.jsonl"]  # no temporary left

    missing_dir = tmp_path / "no-such-directory" / "log.jsonl"
    assert refused(cli(root, "backup", missing_dir), 2).startswith(f"cannot create {missing_dir}")


# --- tampering -------------------------------------------------------------------------------


def _position(line: bytes) -> int:
    return int(json.loads(line)["position"])


def change_one_byte(path: Path) -> int:
    """Change one character of an event's data (keeping the line valid JSON); its position."""
    content = lines(path)
    index = next(i for i, line in enumerate(content) if i and b"Acme" in line)
    content[index] = content[index].replace(b"Acme", b"Acmf", 1)
    path.write_bytes(b"".join(content))
    return _position(content[index])


def delete_a_line(path: Path) -> int:
    content = lines(path)
    del content[2]  # position 2
    path.write_bytes(b"".join(content))
    return 2  # the missing position is named


def delete_the_last_line(path: Path) -> int:
    content = lines(path)
    last = _position(content.pop())
    path.write_bytes(b"".join(content))
    return last


def swap_two_lines(path: Path) -> int:
    content = lines(path)
    content[2], content[3] = content[3], content[2]  # positions 2 and 3
    path.write_bytes(b"".join(content))
    return 2  # position 2 is not where it belongs


def edit_the_header(path: Path) -> int:
    """Shorten the file and make the header agree: only the header's mac can tell."""
    content = lines(path)
    removed = content.pop()
    header = json.loads(content[0])
    header["head_position"] -= 1
    header["head_link"] = json.loads(content[-1])["link"]
    content[0] = json.dumps(header, separators=(",", ":")).encode() + b"\n"
    path.write_bytes(b"".join(content))
    return _position(removed) - 1


TAMPERING = {
    "one byte of data": (change_one_byte, "at position {p} "),
    "a line deleted": (delete_a_line, "at position {p} "),
    "the last line deleted": (delete_the_last_line, "position {p} is missing"),
    "two lines swapped": (swap_two_lines, "at position {p} "),
    "the header edited": (edit_the_header, "the header (line 1) was altered"),
}


@pytest.mark.parametrize("tampering", list(TAMPERING))
def test_a_tampered_backup_is_refused(
    tampering: str, source: tuple[Path, Path], backup_copy: Path, empty_sqlite: Path
) -> None:
    root, _backup = source
    tamper, expected = TAMPERING[tampering]
    position = tamper(backup_copy)
    named = expected.format(p=position)

    done = cli(root, "verify", "--file", backup_copy)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "verification FAILED" in done.stdout
    assert named in done.stdout
    assert "Traceback" not in done.stderr
    assert json.loads(cli(root, "verify", "--file", backup_copy, "--json").stdout)["ok"] is False

    message = refused(cli(empty_sqlite, "restore-log", backup_copy), 1)
    assert "does not verify, nothing was written" in message
    assert named in message
    assert not store_file(empty_sqlite).exists()  # not even opened


def test_a_malformed_backup_names_file_and_line(
    source: tuple[Path, Path], backup_copy: Path, empty_sqlite: Path
) -> None:
    root, _backup = source
    content = lines(backup_copy)
    content[3] = b'{"stream": "config/platform", "version": 3\n'
    backup_copy.write_bytes(b"".join(content))
    for done in (
        cli(root, "verify", "--file", backup_copy),
        cli(empty_sqlite, "restore-log", backup_copy),
    ):
        assert refused(done, 2).startswith(f"{backup_copy}:4: not a JSON object")
    assert not store_file(empty_sqlite).exists()

    backup_copy.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 400)
    assert refused(cli(root, "verify", "--file", backup_copy), 2).startswith(f"{backup_copy}:1: ")
    missing = backup_copy.with_name("missing.jsonl")
    assert refused(cli(root, "verify", "--file", missing), 2) == (
        f"cannot read {missing}: No such file or directory"
    )
    cut = lines(source[1])
    backup_copy.write_bytes(b"".join(cut)[:-1])  # the last newline missing: cut short
    assert refused(cli(root, "verify", "--file", backup_copy), 2) == (
        f"{backup_copy}:{len(cut)}: the line has no newline at its end (the file was cut short)"
    )


# --- the target and the key -----------------------------------------------------------------


def test_restore_into_a_store_with_events_is_refused(
    source: tuple[Path, Path], empty_sqlite: Path
) -> None:
    _root, backup = source
    ok(empty_sqlite, "check")  # the first start writes version 1.0.0
    before = ok(empty_sqlite, "verify", "--json")
    message = refused(cli(empty_sqlite, "restore-log", backup), 2)
    assert message == (
        "the target store already has 1 event(s); restore-log loads only into an empty store "
        "(nothing was written)"
    )
    assert ok(empty_sqlite, "verify", "--json") == before


def test_a_wrong_key_is_refused_in_one_line(source: tuple[Path, Path], tmp_path: Path) -> None:
    root, backup = source
    stranger = project(tmp_path / "stranger", {}, key=OTHER_KEY)
    for done in (
        cli(stranger, "verify", "--file", backup),
        cli(stranger, "restore-log", backup),
    ):
        message = refused(done, 1)
        assert message.startswith("ENCRYPTION_KEY does not match this backup: ")
    assert not store_file(stranger).exists()
    # and the store itself is not backed up with the wrong key either
    (root / "runtime" / ".env.local").write_text(f"ENCRYPTION_KEY={OTHER_KEY}\n")
    try:
        message = refused(cli(root, "backup", tmp_path / "wrong.jsonl"), 1)
    finally:
        (root / "runtime" / ".env.local").unlink()
    assert message.startswith("ENCRYPTION_KEY does not match this store")
    assert not (tmp_path / "wrong.jsonl").exists()


def test_a_retired_key_verifies_and_restores(source: tuple[Path, Path], tmp_path: Path) -> None:
    """A backup taken before a rotation holds data keys wrapped by the key of that time: listed
    as retired, that key opens the backup, and the restored store is wrapped by the current
    key."""
    root, backup = source
    rotated = project(tmp_path / "rotated", {}, key=OTHER_KEY, retired=KEY)
    verified = ok(root, "verify")
    assert ok(rotated, "verify", "--file", backup) == verified
    ok(rotated, "restore-log", backup)
    assert ok(rotated, "verify") == verified
    assert ok(rotated, "diff", "1.0.1", "1.0.2") == ok(root, "diff", "1.0.1", "1.0.2")


# --- the format, in process ------------------------------------------------------------------


async def test_exact_bytes_and_times_round_trip_in_pages(tmp_path: Path) -> None:
    """Data that is not UTF-8 travels as base64, UTF-8 as text; both come back byte for byte,
    each event at its original time, whatever page sizes the reading and writing use."""
    keys = generate_data_keys()
    chain = HashChain(keys.chain)
    start = datetime(2024, 2, 29, 23, 59, 59, 999_999, tzinfo=UTC)
    ticks = iter(start + timedelta(microseconds=7 * n) for n in range(100))
    source = MemoryEventLog(chain, clock=lambda: next(ticks))
    datas = [b"\xff\xfe not utf-8", "é ✓ \u2028 \n".encode(), b"{}", b""]
    for n in range(7):
        await source.append("a", 2 * n, [NewEvent("T", d) for d in datas[:2]])
        await source.append(f"s{n % 2}", n // 2, [NewEvent("U", datas[n % 4])])

    out = io.BytesIO()
    record = wrap_data_keys(keys, bytes(range(32)))
    header, report = await write_backup(source, chain, record, out, start, page_size=2)
    assert report.ok
    path = tmp_path / "log.jsonl"
    path.write_bytes(out.getvalue())
    with BackupReader(path) as reader:
        assert reader.header == header
        assert reader.header.data_keys == record
        assert check_backup(reader, chain, page_size=3).ok
    assert b'"data_base64":' in out.getvalue()

    pinned = PinnedChain(chain)
    target = MemoryEventLog(pinned)  # its own clock says now: the pinned times win
    with BackupReader(path) as reader:
        last = await load_backup(reader.events(), target, pinned)
    assert last == (header.head_position, header.head_link)
    assert list(await target.read_all()) == list(await source.read_all())


def test_a_backup_of_the_previous_format_still_verifies_and_restores(tmp_path: Path) -> None:
    """Before stores had data keys a header named the key its store was created with (format
    version 1), whose derived key is the chain key: such a file still verifies, and restores
    into a store that upgrades on its first open."""
    root = project(tmp_path / "previous", {})
    asyncio.run(
        write_as_previous_release(
            root,
            {"USE_FILE_CONFIG": "false", "ENCRYPTION_KEY": KEY},
            [{"integrations": {"email": {"smtp_password": SECRET}}}],
        )
    )
    verified = ok(root, "verify")  # writes nothing: the store is still of the previous format
    current = tmp_path / "current.jsonl"
    ok(root, "backup", current)
    content = lines(current)
    header = json.loads(content[0])
    kid = key_id(parse_encryption_key(KEY))
    mac = _header_mac(
        chain_for(parse_encryption_key(KEY)),
        1,
        kid.encode(),
        header["head_position"],
        bytes.fromhex(header["head_link"]),
        datetime.fromisoformat(header["created_at"]),
    )
    del header["data_keys"]
    header.update(format_version=1, key_id=kid, mac=mac.hex())
    previous = tmp_path / "previous.jsonl"
    previous.write_bytes(json.dumps(header).encode() + b"\n" + b"".join(content[1:]))

    assert ok(root, "verify", "--file", previous) == verified
    target = project(tmp_path / "target", {})
    ok(target, "restore-log", previous)
    assert ok(target, "verify") == verified
    assert ok(target, "diff", "1.0.0", "1.0.1") == ok(root, "diff", "1.0.0", "1.0.1")
    assert ok(target, "verify") == verified  # after the upgrade the first open made
