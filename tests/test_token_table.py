"""The API's token table: kept current from the records the process applies, never a query per
request, and never behind the log's head for a read that asks for the current state.

Two ConfigService instances on one SQLite file stand in for two processes: tokens are created
and revoked through one (``other``), and requests are authenticated by the other's table.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.http.tokens import TokenAuthenticator
from adapters.service import ConfigService
from adapters.wiring import open_service
from eventstore.tokens import SCOPES, TokenStore, digest_of

ENVIRON = {"USE_FILE_CONFIG": "false", "ENCRYPTION_KEY": "6b" * 32}
NAMES = ("ci", "deploy", "app")


@pytest.fixture
async def pair(tmp_path: Path) -> AsyncIterator[tuple[ConfigService, ConfigService]]:
    serving = await open_service(tmp_path, ENVIRON)
    other = await open_service(tmp_path, ENVIRON)
    try:
        yield serving, other
    finally:
        await other.close()
        await serving.close()


class Counting:
    """Counts the reads a wrapped log serves (an authenticator must not read per request)."""

    def __init__(self, service: ConfigService) -> None:
        self.reads = 0
        log: Any = service.event_log
        for name in ("read_stream", "stream_version"):
            original = getattr(log, name)

            async def counted(*args: Any, _original: Any = original, **kwargs: Any) -> Any:
                self.reads += 1
                return await _original(*args, **kwargs)

            setattr(log, name, counted)


async def test_checking_a_token_reads_nothing_once_the_table_is_built(
    pair: tuple[ConfigService, ConfigService],
) -> None:
    serving, other = pair
    _, plaintext = await TokenStore(other.event_log).create("ci", SCOPES, "ops")
    table = TokenAuthenticator(serving)
    assert await table.authenticate(plaintext) is not None
    counting = Counting(serving)
    for _ in range(50):
        assert await table.authenticate(plaintext) is not None
        assert await table.authenticate("pkc_not-a-token") is None
    assert counting.reads == 0


async def test_a_token_created_or_revoked_elsewhere_counts_from_the_next_current_check(
    pair: tuple[ConfigService, ConfigService],
) -> None:
    serving, other = pair
    table = TokenAuthenticator(serving)
    assert await table.authenticate("pkc_unknown") is None  # the table exists now
    tokens = TokenStore(other.event_log)
    _, plaintext = await tokens.create("deploy", SCOPES, "ops")
    found = await table.authenticate(plaintext)
    assert found is not None
    assert found.name == "deploy"

    await tokens.revoke("deploy", "ops")
    # a stale check trusts what this process applied so far (D30) ...
    assert await table.authenticate(plaintext, current=False) is not None
    # ... a current one catches up first, and from then on both refuse it
    assert await table.authenticate(plaintext) is None
    assert await table.authenticate(plaintext, current=False) is None
    assert await table.active("deploy") is None


OPERATIONS = st.lists(
    st.tuples(st.sampled_from(["create", "revoke", "check", "catch-up"]), st.sampled_from(NAMES)),
    min_size=1,
    max_size=12,
)


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(operations=OPERATIONS, written_here=st.booleans())
async def test_the_table_answers_what_the_token_stream_says(
    pair: tuple[ConfigService, ConfigService],
    operations: list[tuple[str, str]],
    written_here: bool,
) -> None:
    """Whatever order tokens are created, revoked, caught up with and checked in, by this
    process or another, a current check answers what folding the whole stream answers."""
    serving, other = pair
    table = TokenAuthenticator(serving)
    writer = TokenStore((serving if written_here else other).event_log)
    truth = TokenStore(other.event_log)
    plaintexts: dict[str, list[str]] = {}
    for operation, name in operations:
        active = await truth.tokens()
        if operation == "create" and not (name in active and active[name].active):
            plaintexts.setdefault(name, []).append((await writer.create(name, SCOPES, "t"))[1])
        elif operation == "revoke" and name in active and active[name].active:
            await writer.revoke(name, "t")
        elif operation == "catch-up":
            await serving.catch_up()
        for every in plaintexts.values():
            for plaintext in every:
                found = await table.authenticate(plaintext)
                expected = [
                    t
                    for t in (await truth.tokens()).values()
                    if t.active and t.digest == digest_of(plaintext)
                ]
                assert (found.name if found else None) == (expected[0].name if expected else None)
    for name in NAMES:  # the table outlives the example: clear the names for the next one
        if name in (tokens := await truth.tokens()) and tokens[name].active:
            await TokenStore(other.event_log).revoke(name, "t")
