"""Fair concurrent saves: N processes saving without an expected version for a while.

A save that names no version retries after every lost race (D14, docs/decisions.md X18), with a
random pause and no give-up count. This measures what that promises: over ``--seconds`` each of
``--writers`` processes (``parako-config``'s own service, one store) saves a new company name in a
loop; no save may fail, and every writer must land a fair share of the saves (at least 15 % with
four writers). Run on a SQLite file and on a fresh PostgreSQL database (skipped when no server
answers).

``python -m bench fairness [--seconds 60] [--writers 4]``; a worker is this module run as
``python -m bench.bench_fairness worker ROOT INDEX SECONDS``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Final

from adapters.wiring import open_service
from bench.report import Row, status, table
from bench.scratch_pg import PG_URL, drop_database, scratch_database
from eventstore.commands import Author

KEY_HEX: Final = "5f" * 32
#: each writer's share of the saves must be at least this (with four writers: 15 %)
FAIR_SHARE: Final = 0.15


async def _worker(root: Path, index: int, seconds: float) -> dict[str, Any]:
    author = Author(f"writer-{index}", "fairness bench")
    saves, failures, retries = 0, [], 0
    async with await open_service(root, os.environ) as service:
        start = time.monotonic()
        while time.monotonic() - start < seconds:
            try:
                await service.save({"branding": {"companyName": f"w{index}-{saves}"}}, author)
            except Exception as exc:  # every failure counts; the bench says which
                failures.append(f"{type(exc).__name__}: {exc}")
                continue
            saves += 1
    return {"writer": index, "saves": saves, "failures": failures, "retries": retries}


def _run_writers(root: Path, writers: int, seconds: float, environ: dict[str, str]) -> list[Any]:
    env = {**os.environ, **environ}
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bench.bench_fairness",
                "worker",
                str(root),
                str(i),
                str(seconds),
            ],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        for i in range(writers)
    ]
    results = []
    for process in processes:
        out, _ = process.communicate(timeout=seconds + 120)
        if process.returncode != 0:
            raise SystemExit(f"a writer exited with {process.returncode}")
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


def _first_start(root: Path, environ: dict[str, str]) -> None:
    """One process makes the store (1.0.0) before the writers race."""

    async def start() -> None:
        os.environ.update(environ)
        async with await open_service(root, os.environ):
            pass

    asyncio.run(start())


def _rows(name: str, results: list[Any], seconds: float, writers: int) -> list[Row]:
    total = sum(r["saves"] for r in results)
    failures = sum(len(r["failures"]) for r in results)
    shares = [r["saves"] / total if total else 0.0 for r in results]
    fair = min(shares) >= FAIR_SHARE if writers == 4 else min(shares) >= 0.6 / writers
    rows: list[Row] = [
        (name, f"saves in {seconds:.0f} s, {writers} writers", f"{total:,}", ""),
        (name, "saves/s, all writers", f"{total / seconds:,.1f}", ""),
        (name, "failures", str(failures), status(failures == 0, "0")),
        (
            name,
            "share of each writer",
            " / ".join(f"{share:.1%}" for share in shares),
            status(fair, f"each >= {FAIR_SHARE:.0%}"),
        ),
    ]
    for result in results:
        for failure in result["failures"][:3]:
            rows.append((name, f"writer {result['writer']} failed", failure[:60], ""))
    return rows


def main(argv: list[str] | None = None) -> None:
    args = argv if argv is not None else sys.argv[1:]
    if args[:1] == ["worker"]:
        root, index, seconds = Path(args[1]), int(args[2]), float(args[3])
        print(json.dumps(asyncio.run(_worker(root, index, seconds))))
        return
    parser = argparse.ArgumentParser(prog="python -m bench fairness")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--writers", type=int, default=4)
    options = parser.parse_args(args)
    base = {"USE_FILE_CONFIG": "false", "ENCRYPTION_KEY": KEY_HEX}
    rows: list[Row] = []
    notes: list[str] = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "sqlite"
        (root / "runtime").mkdir(parents=True)
        environ = {**base, "STORAGE_ADAPTER": "sqlite"}
        _first_start(root, environ)
        results = _run_writers(root, options.writers, options.seconds, environ)
        rows += _rows("SQLite file", results, options.seconds, options.writers)
        url = asyncio.run(scratch_database())
        if url is None:
            notes.append(f"PostgreSQL not reachable at {PG_URL.split('@')[-1]}: skipped")
        else:
            try:
                root = Path(tmp) / "postgres"
                (root / "runtime").mkdir(parents=True)
                environ = {**base, "STORAGE_ADAPTER": "postgresql", "STORAGE_POSTGRESQL_URL": url}
                _first_start(root, environ)
                results = _run_writers(root, options.writers, options.seconds, environ)
                rows += _rows("PostgreSQL", results, options.seconds, options.writers)
            finally:
                asyncio.run(drop_database(url))
    print(f"parako-config bench: fair concurrent saves — Python {sys.version.split()[0]}")
    print(table(rows))
    for note in notes:
        print(f"note: {note}")
    print(f"total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
