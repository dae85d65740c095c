"""A PostgreSQL restart while a store is open and saving (a throwaway cluster, ``pg_ctl restart -m
fast``): the store reconnects by itself, the next save and read succeed, and no event is lost or
duplicated. Concurrency and SIGKILL run on PostgreSQL too, in ``test_reliability.py``."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.pg_server import Cluster, create_database, throwaway_cluster

from adapters.storage.postgres import StorageUnavailable
from adapters.wiring import open_service
from eventstore import events
from eventstore.commands import Author
from projections.history import history_from

KEY = "5a" * 32
WRITER = Author("writer", "restart test")


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    with throwaway_cluster() as server:
        yield server


def environ_for(cluster: Cluster) -> dict[str, str]:
    return {
        "USE_FILE_CONFIG": "false",
        "ENCRYPTION_KEY": KEY,
        "STORAGE_ADAPTER": "postgresql",
        "STORAGE_POSTGRESQL_URL": create_database(cluster.url),
    }


def names_in(recorded: list[Any]) -> list[str]:
    out = []
    for r in recorded:
        event = events.decode(r)
        if isinstance(event, events.ConfigChanged):
            out += [str(c.new) for c in event.changes if c.path == "branding.companyName"]
    return out


async def test_store_survives_a_server_restart(tmp_path: Path, cluster: Cluster) -> None:
    environ = environ_for(cluster)
    service = await open_service(tmp_path, environ)
    try:
        await service.save({"branding": {"companyName": "before"}}, WRITER)
        await asyncio.to_thread(cluster.restart)

        # the first calls after the restart meet dead pooled connections and must still succeed
        result = await service.save({"branding": {"companyName": "after"}}, WRITER)
        assert (result.appended, result.version) == (True, 3)
        assert service.config.branding.company_name == "after"
        recorded = await service.recorded_events(None)
        assert [r.position for r in recorded] == list(range(1, len(recorded) + 1))
        assert names_in(list(await service.recorded_events()))[1:] == ["before", "after"]
        assert (await service.verify()).ok
    finally:
        await service.close()


async def test_saving_through_a_restart_loses_and_duplicates_nothing(
    tmp_path: Path, cluster: Cluster
) -> None:
    environ = environ_for(cluster)
    service = await open_service(tmp_path, environ)
    succeeded: list[str] = []
    unavailable = 0
    stop = asyncio.Event()

    async def keep_saving() -> None:
        nonlocal unavailable
        n = 0
        while not stop.is_set():
            value = f"save-{n}"
            n += 1
            try:
                await service.save({"branding": {"companyName": value}}, WRITER)
            except StorageUnavailable:
                unavailable += 1  # the server is down; the outcome of this save is unknown
                await asyncio.sleep(0.05)
                continue
            succeeded.append(value)

    try:
        saving = asyncio.create_task(keep_saving())
        await asyncio.sleep(0.5)
        for _ in range(2):
            await asyncio.to_thread(cluster.restart)
            await asyncio.sleep(0.5)
        before_stop = len(succeeded)
        await asyncio.sleep(0.5)
        stop.set()
        await saving
        assert len(succeeded) > before_stop, "saving did not resume after the restart"

        async with await open_service(tmp_path, environ) as fresh:
            recorded = list(await fresh.recorded_events(None))
            assert [r.position for r in recorded] == list(range(1, len(recorded) + 1))
            platform = list(await fresh.recorded_events())
            assert [r.version for r in platform] == list(range(1, len(platform) + 1))
            assert len(history_from(platform)) == fresh.version
            names = names_in(platform)
            assert len(names) == len(set(names)), "an event was appended twice"
            assert set(succeeded) <= set(names), "a save reported as done was lost"
            assert len(names) <= len(succeeded) + unavailable
            await service.catch_up()
            assert (fresh.version, fresh.config) == (service.version, service.config)
            report = await fresh.verify()
            assert report.ok, report
    finally:
        stop.set()
        await service.close()
