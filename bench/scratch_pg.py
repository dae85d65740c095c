"""A throw-away PostgreSQL database for a benchmark run: created on the server the tests use
(``PARAKO_BENCH_POSTGRESQL_URL``, else ``PARAKO_TEST_POSTGRESQL_URL``, else the local default)
and dropped afterwards."""

from __future__ import annotations

import os
import uuid
from typing import Final

import asyncpg

PG_URL: Final = (
    os.environ.get("PARAKO_BENCH_POSTGRESQL_URL", "")
    or os.environ.get("PARAKO_TEST_POSTGRESQL_URL", "")
    or "postgresql://postgres@127.0.0.1/postgres"
)


async def scratch_database() -> str | None:
    """The URL of a new empty database; None when no server answers."""
    try:
        admin = await asyncpg.connect(PG_URL, timeout=5)
    except Exception:
        return None
    name = f"parako_bench_{uuid.uuid4().hex[:12]}"
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return PG_URL.rsplit("/", 1)[0] + f"/{name}"


async def drop_database(url: str) -> None:
    admin = await asyncpg.connect(PG_URL, timeout=5)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
    finally:
        await admin.close()
