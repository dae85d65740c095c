"""Several processes on one store, and writers killed mid-save, on every SQL storage backend
(a SQLite file; a fresh database on a real PostgreSQL server, chosen through ``runtime/.env``).

Run as a script (``python test_reliability.py saver|writer ...``) this module is also the worker
of both tests, so the worker code is linted and type-checked like the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.storages import CONCURRENCY_EVIDENCE, env_lines

from adapters.service import ConfigService
from adapters.wiring import open_service
from eventstore import events
from eventstore.commands import Author
from eventstore.errors import VersionConflict
from eventstore.log import RecordedEvent
from projections.history import history_from

ENVIRON = {"USE_FILE_CONFIG": "false", "ENCRYPTION_KEY": "5a" * 32}
CONFLICT = "Configuration was modified by another user. Please refresh the page and try again."
WORKERS = 4
SAVES_PER_WORKER = 50
KILLS = 20


def worker_command(*args: str) -> list[str]:
    return [sys.executable, str(Path(__file__).resolve()), *args]


# --- workers (run in subprocesses) -------------------------------------------------------------


async def saver(root: Path, worker: int, saves: int) -> dict[str, Any]:
    """Save ``saves`` distinct values like a careful client: read the version, save with it as
    the expected version, and on a conflict read again and retry."""
    author = Author(f"worker-{worker}", "load test")
    done, conflicts, failures = 0, 0, []
    async with await open_service(root, ENVIRON) as service:
        for _attempt in range(100 * saves):
            if done == saves:
                break
            await service.catch_up()
            expected = service.version
            value = f"w{worker}-{done}"
            try:
                result = await service.save({"branding": {"companyName": value}}, author, expected)
            except VersionConflict as exc:
                conflicts += 1
                if str(exc) != CONFLICT:
                    failures.append(f"conflict with another message: {exc}")
                continue
            except Exception as exc:
                failures.append(repr(exc))
                break
            if not result.appended or result.version != expected + 1:
                failures.append(f"unexpected result {result!r} for expected {expected}")
                break
            done += 1
    return {"saved": done, "conflicts": conflicts, "failures": failures}


async def writer(root: Path, round_: int) -> None:
    """Save forever (values and a secret, alternately) until killed."""
    async with await open_service(root, ENVIRON) as service:
        print("ready", flush=True)
        author = Author("writer", f"round {round_}")
        for n in range(10**9):
            change: dict[str, Any] = (
                {"branding": {"companyName": f"writer-{round_}-{n}"}}
                if n % 2 == 0
                else {"integrations": {"email": {"smtp_password": f"pw-{round_}-{n}"}}}
            )
            await service.save(change, author)


# --- tests -------------------------------------------------------------------------------------


def _settle(root: Path) -> None:
    """On a server, a killed writer's last COMMIT can still land after the kill: wait for it."""
    env = root / "runtime" / ".env"
    lines = env.read_text(encoding="utf-8").splitlines() if env.exists() else []
    for line in lines:
        if line.startswith("STORAGE_POSTGRESQL_URL="):
            from support.pg_server import wait_until_alone

            wait_until_alone(line.partition("=")[2])


@pytest.fixture(params=list(CONCURRENCY_EVIDENCE))
def root(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Path]:
    """A project root whose store is on the backend under test; workers get only this path."""
    with CONCURRENCY_EVIDENCE[request.param]() as variables:
        if variables:
            (tmp_path / "runtime").mkdir()
            (tmp_path / "runtime" / ".env").write_text(env_lines(variables), encoding="utf-8")
        yield tmp_path


async def _open(root: Path) -> ConfigService:
    return await open_service(root, ENVIRON)


def test_concurrent_processes_with_expected_versions(root: Path) -> None:
    """Four processes start on a fresh store at once and each makes 50 saves through conflicts."""
    processes = [
        subprocess.Popen(
            worker_command("saver", str(root), str(w), str(SAVES_PER_WORKER)),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(WORKERS)
    ]
    reports = []
    for process in processes:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        reports.append(json.loads(out))

    assert [r["failures"] for r in reports] == [[]] * WORKERS
    assert [r["saved"] for r in reports] == [SAVES_PER_WORKER] * WORKERS

    async def check() -> None:
        async with await _open(root) as service:
            assert service.version == 1 + WORKERS * SAVES_PER_WORKER
            versions = history_from(await service.recorded_events())
            assert [v.stream_version for v in versions] == list(range(service.version, 0, -1))
            names = [
                c.new
                for recorded in (await service.recorded_events())[1:]  # after 1.0.0
                for c in _changes(recorded)
                if c.path == "branding.companyName"
            ]
            expected = {f"w{w}-{i}" for w in range(WORKERS) for i in range(SAVES_PER_WORKER)}
            assert len(names) == len(expected)
            assert set(names) == expected
            assert (await service.verify()).ok

    asyncio.run(check())


def _changes(recorded: RecordedEvent) -> tuple[events.FieldChange, ...]:
    event = events.decode(recorded)
    return event.changes if isinstance(event, events.ConfigChanged) else ()


def test_writers_killed_mid_save_leave_a_consistent_store(root: Path) -> None:
    rng = random.Random(20260101)

    async def check_after(round_: int) -> int:
        async with await _open(root) as service:
            report = await service.verify()
            assert report.ok, (round_, report)
            assert report.chain.checked == report.head
            versions = history_from(await service.recorded_events())
            assert len(versions) == service.version
            value = f"after kill {round_}"
            result = await service.save(
                {"branding": {"companyName": value}}, Author("checker", "after kill")
            )
            assert result.appended
            assert service.config.branding.company_name == value
            return sum(1 for v in versions if v.last_modified_by == "writer")

    writer_saves = 0
    for round_ in range(KILLS):
        process = subprocess.Popen(
            worker_command("writer", str(root), str(round_)),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert process.stdout is not None
            assert process.stdout.readline().strip() == "ready"
            with contextlib.suppress(subprocess.TimeoutExpired):  # the random delay
                process.wait(timeout=rng.uniform(0.05, 0.5))
            assert process.returncode is None, process.stderr and process.stderr.read()
            process.send_signal(signal.SIGKILL)
        finally:
            process.communicate(timeout=30)
        assert process.returncode == -signal.SIGKILL
        _settle(root)
        writer_saves = asyncio.run(check_after(round_))
    assert writer_saves > 0


if __name__ == "__main__":
    mode, project = sys.argv[1], Path(sys.argv[2])  # not `root`: that name is the fixture's
    if mode == "saver":
        outcome = asyncio.run(saver(project, int(sys.argv[3]), int(sys.argv[4])))
        print(json.dumps(outcome))
    elif mode == "writer":
        asyncio.run(writer(project, int(sys.argv[3])))
    else:
        raise SystemExit(f"unknown mode {mode!r}")
