"""The catch-up subscription inside one process: coalescing, per-version notifications, isolation
of failing subscribers, and the Propagator's reactions to hints, reconnects and a failing store.

Two ConfigService instances on one SQLite file stand in for two processes here; the real
multi-process behaviour is in ``test_propagation.py``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from structlog.testing import capture_logs

from adapters.propagation.hints import Hint, HintSink
from adapters.propagation.propagator import Propagator
from adapters.service import ConfigService
from adapters.wiring import open_service
from eventstore.commands import Author
from eventstore.log import RecordedEvent
from projections.runtime import AppliedVersion

ENVIRON = {"USE_FILE_CONFIG": "false", "ENCRYPTION_KEY": "5a" * 32}
BOB = Author("bob", "test")


@pytest.fixture
async def pair(tmp_path: Path) -> AsyncIterator[tuple[ConfigService, ConfigService]]:
    writer = await open_service(tmp_path, ENVIRON)
    reader = await open_service(tmp_path, ENVIRON)
    try:
        yield writer, reader
    finally:
        await reader.close()
        await writer.close()


async def save(service: ConfigService, name: str) -> int:
    return (await service.save({"branding": {"companyName": name}}, BOB)).version


def slow_reads(service: ConfigService, delay: float) -> list[int]:
    """Make the reader's log reads slow, and count the catch-up passes."""
    view = service.view
    passes: list[int] = []
    log = view._log
    read_all = log.read_all

    async def slow(after_position: int = 0, limit: int | None = None) -> Sequence[RecordedEvent]:
        found = await read_all(after_position, limit)
        await asyncio.sleep(delay)  # read first: what commits during the sleep is not in `found`
        return found

    original_pass = view._pass

    async def counted() -> bool:
        passes.append(1)
        return await original_pass()

    log.read_all = slow  # type: ignore[method-assign]
    view._pass = counted  # type: ignore[method-assign]
    return passes


async def test_concurrent_catch_ups_coalesce_into_one_more_pass(
    pair: tuple[ConfigService, ConfigService],
) -> None:
    writer, reader = pair
    await save(writer, "One")
    passes = slow_reads(reader, 0.05)
    results = await asyncio.gather(*(reader.catch_up() for _ in range(10)))
    # the first call's pass, then exactly one more for the nine that arrived meanwhile
    assert len(passes) == 2
    assert results.count(True) == 1
    assert reader.version == 2


async def test_a_request_during_a_pass_is_not_lost(
    pair: tuple[ConfigService, ConfigService],
) -> None:
    writer, reader = pair
    passes = slow_reads(reader, 0.1)
    first = asyncio.create_task(reader.catch_up())
    await asyncio.sleep(0.02)  # the pass has started and read nothing new yet...
    version = await save(writer, "Committed during the pass")
    second = asyncio.create_task(reader.catch_up())  # ...when the hint for this save arrives
    await asyncio.gather(first, second)
    assert reader.version == version
    assert reader.config.branding.company_name == "Committed during the pass"
    assert len(passes) == 2


async def test_every_version_is_announced_in_order_with_the_newest_config(
    pair: tuple[ConfigService, ConfigService],
) -> None:
    writer, reader = pair
    seen: list[tuple[int, str]] = []
    reader.subscribe(
        "watch", lambda a: seen.append((a.version, reader.config.branding.company_name))
    )
    for n in range(3):
        await save(writer, f"Name {n}")
    assert await reader.catch_up()
    # one call per version, in order; the config was swapped to the newest before the calls
    assert seen == [(2, "Name 2"), (3, "Name 2"), (4, "Name 2")]
    assert not await reader.catch_up()  # nothing new: no calls, no change
    assert len(seen) == 3


async def test_a_failing_subscriber_is_logged_and_others_still_run(
    pair: tuple[ConfigService, ConfigService],
) -> None:
    writer, reader = pair
    good: list[AppliedVersion] = []

    def bad(applied: AppliedVersion) -> None:
        raise RuntimeError("subscriber bug")

    reader.subscribe("bad", bad)
    reader.subscribe("good", good.append)
    await save(writer, "A")
    await save(writer, "B")
    with capture_logs() as logs:
        assert await reader.catch_up()
    assert [a.semver for a in good] == ["1.0.1", "1.0.2"]
    failures = [entry for entry in logs if entry["event"] == "subscriber failed"]
    assert [(f["subscriber"], f["version"]) for f in failures] == [("bad", 2), ("bad", 3)]
    assert reader.config.branding.company_name == "B"


class FakeTransport:
    """A hint transport that reports whatever the test tells it to."""

    name = "fake"

    def __init__(self) -> None:
        self.sink: HintSink | None = None
        self.published: list[Hint] = []

    async def publish(self, hint: Hint) -> None:
        self.published.append(hint)

    async def run(self, sink: HintSink) -> None:
        self.sink = sink
        sink.connected(self.name)
        await asyncio.Event().wait()

    async def close(self) -> None:
        pass


async def eventually(check: Any, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


async def test_propagator_hints_evict_and_catch_up(
    pair: tuple[ConfigService, ConfigService],
) -> None:
    writer, reader = pair
    transport = FakeTransport()
    writer.hint_transports = [transport]
    evicted: list[str | None] = []
    async with Propagator(reader, [transport], poll_interval=600, evict=evicted.append):
        assert transport.sink is not None
        version = await save(writer, "Hinted")
        [hint] = transport.published
        assert (hint.origin_id, hint.version) == (writer.origin_id, version)
        assert hint.position is not None
        assert hint.position >= reader.position + 1
        transport.sink.hint("fake", hint)
        await eventually(lambda: reader.version == version)
        assert evicted == [None]  # a platform change evicts every tenant

        transport.sink.hint("fake", Hint("other", "config/tenant/acme", 1, hint.position))
        assert evicted == [None, "acme"]  # a tenant change evicts only that tenant


async def test_propagator_skips_hints_it_already_has(
    pair: tuple[ConfigService, ConfigService],
) -> None:
    _writer, reader = pair
    transport = FakeTransport()
    propagator = Propagator(reader, [transport], poll_interval=600)
    async with propagator:
        before = propagator.catch_ups
        assert transport.sink is not None
        transport.sink.hint("fake", Hint("other", "config/platform", 1, reader.position))
        assert propagator.catch_ups == before
        transport.sink.hint("fake", None)  # unreadable: catch up anyway
        assert propagator.catch_ups == before + 1


async def test_propagator_polls_when_every_hint_is_lost(
    pair: tuple[ConfigService, ConfigService],
) -> None:
    writer, reader = pair
    async with Propagator(reader, [], poll_interval=0.05):
        version = await save(writer, "Polled")
        await eventually(lambda: reader.version == version)


async def test_store_outage_keeps_serving_and_recovers(
    pair: tuple[ConfigService, ConfigService],
) -> None:
    writer, reader = pair
    log = reader.view._log
    read_all, head_position = log.read_all, log.head_position
    down = True

    async def failing_read_all(
        after_position: int = 0, limit: int | None = None
    ) -> Sequence[RecordedEvent]:
        if down:
            raise OSError("database unreachable")
        return await read_all(after_position, limit)

    async def failing_head() -> int:
        if down:
            raise OSError("database unreachable")
        return await head_position()

    log.read_all = failing_read_all  # type: ignore[method-assign]
    log.head_position = failing_head  # type: ignore[method-assign]
    with capture_logs() as logs:
        async with Propagator(reader, [], poll_interval=0.02):
            version = await save(writer, "Saved while the reader's store is down")
            await asyncio.sleep(0.2)  # ten failing polls
            assert reader.config.branding.company_name != "Saved while the reader's store is down"
            down = False
            await eventually(lambda: reader.version == version)
    events = [entry["event"] for entry in logs]
    assert events.count("configuration store unavailable") == 1, events
    assert events.count("configuration store restored") == 1, events


# --- incremental builds -------------------------------------------------------------------------

EDITS = st.sampled_from(
    [
        {"branding": {"companyName": "Acme"}},
        {"branding": {"companyName": "Globex"}},
        {"branding": {"colors": {"light": {"primary": "#112233"}}}},
        {"oidc": {"token_ttl": {"access_token": 900}}},
        {"oidc": {"token_ttl": {"access_token": 3600}}},
        {"security": {"authentication": {"multi_factor": {"enabled": True}}}},
        {"security": {"authentication": {"multi_factor": {"enabled": False}}}},
        {"application": {"locales": {"available": ["en", "fr"]}}},
        {"integrations": {"email": {"smtp_password": "Sm7p-Secret-Heron"}}},
        {"features": {"social_providers": {"enabled": []}}},
    ]
)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(edits=st.lists(EDITS, min_size=1, max_size=6))
async def test_an_incrementally_built_config_equals_a_full_build(
    pair: tuple[ConfigService, ConfigService], edits: list[dict[str, Any]]
) -> None:
    """The reader rebuilds only what changed (structure_like); the result must be exactly the
    config a from-scratch build of the same state gives."""
    writer, reader = pair
    for edit in edits:
        await writer.save(edit, BOB)
        await reader.catch_up()
        store = reader._need_store()
        assert reader.config == store.runtime(reader.view.state)
