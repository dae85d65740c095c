"""The write pipeline appends only what replays, and the fold is safe for every change of shape.

A change that validates but would not fold back into the validated document must be refused
before anything is appended; a log that already holds an event listing its changes in the
"wrong" order (new leaves before the removal of the leaf they replace) must still replay.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.service import ConfigService
from adapters.wiring import open_service
from eventstore import events
from eventstore.commands import Author
from eventstore.document_stream import Persisted, UnstorableChange
from eventstore.errors import ValidationFailed
from eventstore.events import ConfigChanged, FieldChange
from eventstore.log import EPOCH
from eventstore.state import PLATFORM_STREAM, StoredConfig, field_changes

ENVIRON = {"USE_FILE_CONFIG": "false", "ENCRYPTION_KEY": "0123456789abcdef" * 4}
ALICE = Author("alice", "test")
ALICE_EVENT = ConfigChanged((), "1.0.1", "alice", "test", events.DEFAULT_TAGS, "development", EPOCH)
CLI = Path(sys.executable).with_name("parako-config")

# --- the fold, as a property ---------------------------------------------------------------------

keys = st.text(st.characters(blacklist_characters=".", blacklist_categories=["Cs"]), min_size=1)
scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=5)
documents = st.recursive(
    scalars | st.lists(scalars, max_size=3),
    lambda children: st.dictionaries(keys, children, max_size=4),
    max_leaves=12,
)
objects = st.dictionaries(keys, documents, max_size=4)


def fold(old: dict[str, Any], changes: tuple[FieldChange, ...]) -> Any:
    event = ConfigChanged(changes, "1.0.1", "a", "", (), "development", EPOCH)
    return StoredConfig(old, 1, 1).apply(event, 2, 2).document


@given(objects, objects, st.randoms())
@settings(max_examples=300, deadline=None)
def test_folding_the_changes_between_two_documents_gives_the_new_one(
    old: dict[str, Any], new: dict[str, Any], rnd: random.Random
) -> None:
    changes = field_changes(old, new)
    assert fold(old, changes) == new
    shuffled = list(changes)
    rnd.shuffle(shuffled)  # events written by earlier releases listed sets before removals
    assert fold(old, tuple(shuffled)) == new


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ({"claims": None}, {"claims": {"openid": ["sub"]}}),
        ({"claims": {"openid": ["sub"]}}, {"claims": None}),
        ({"x": 5}, {"x": {"a": {"b": 1}}}),
        ({"x": {"a": {"b": 1}}}, {"x": "flat"}),
        ({"x": [1, 2]}, {"x": {"a": 1}}),
        ({"x": {"a": 1}}, {"x": [1]}),
        ({"x": {"a": 1}}, {"x": {}}),
        ({"x": {}}, {"x": {"a": {}}}),
        ({"x": {"a": {"b": 1}}}, {"x": {"a": {}}}),
        ({"x": 1}, {"x": 1.0}),
        ({"x": True}, {"x": 1}),
    ],
)
def test_every_change_of_shape_folds(old: dict[str, Any], new: dict[str, Any]) -> None:
    changes = field_changes(old, new)
    assert changes
    assert fold(old, changes) == new
    assert fold(old, tuple(reversed(changes))) == new


# --- through the service -------------------------------------------------------------------------


def claims_of(store: ConfigService) -> Mapping[str, Any]:
    claims = store.config.features.oidc.claims
    assert claims is not None
    return claims


async def test_null_then_restore_leaves_a_store_that_opens(tmp_path: Path) -> None:
    async with await open_service(tmp_path, ENVIRON) as store:
        await store.save({"features": {"oidc": {"claims": None}}}, ALICE)
        restored = await store.restore("1.0.0", ALICE)
        assert restored.appended
        assert claims_of(store)["openid"] == ("sub",)
    async with await open_service(tmp_path, ENVIRON) as store:
        assert store.version == 3
        assert claims_of(store)["openid"] == ("sub",)
        assert (await store.verify()).ok


async def test_a_change_that_cannot_replay_is_refused_and_nothing_is_appended(
    tmp_path: Path,
) -> None:
    async with await open_service(tmp_path, ENVIRON) as store:
        for bad in ({"a.b": ["x"]}, {"": ["x"]}):
            with pytest.raises(ValidationFailed, match="key"):
                await store.save({"features": {"oidc": {"claims": bad}}}, ALICE)
            # the replay check stands behind the shape check: a persister that let such a key
            # through still gets nothing appended
            stream = store._need_store().stream
            state = await stream.load()
            candidate = {**stream.plaintext(state), "features": {"oidc": {"claims": bad}}}
            with pytest.raises(UnstorableChange, match="cannot be stored"):
                await stream.append(state, Persisted(candidate), lambda *_: ALICE_EVENT)
        with pytest.raises(ValidationFailed):
            await store.save({"branding": {"companyName": float("nan")}}, ALICE)
        assert await store.event_log.stream_version(PLATFORM_STREAM) == 1


async def test_a_log_holding_an_event_with_sets_before_removals_replays(tmp_path: Path) -> None:
    """The order an earlier release wrote: the new leaves under ``claims`` first, then the
    removal of the ``null`` leaf they replace."""
    async with await open_service(tmp_path, ENVIRON) as store:
        await store.save({"features": {"oidc": {"claims": None}}}, ALICE)
        legacy = ConfigChanged(
            (
                FieldChange("features.oidc.claims.openid", None, ["sub"]),
                FieldChange("features.oidc.claims", None, None, removed=True),
            ),
            "1.0.2",
            "alice",
            "undo",
            events.DEFAULT_TAGS,
            "development",
            EPOCH,
        )
        await store.event_log.append(PLATFORM_STREAM, 2, [events.encode(legacy)])
    async with await open_service(tmp_path, ENVIRON) as store:
        assert store.version == 3
        assert claims_of(store)["openid"] == ("sub",)
        assert (await store.verify()).ok


def test_the_cli_scenario_that_used_to_brick_the_store(tmp_path: Path) -> None:
    env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG", "TMPDIR") if k in os.environ}
    env.update(ENVIRON)

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(CLI), *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
        )

    saved = cli("set", "features.oidc.claims=null", "--by", "a", "--reason", "x")
    assert saved.returncode == 0, saved.stderr
    rolled = cli("rollback", "1.0.0", "--by", "a", "--reason", "undo")
    assert rolled.returncode == 0, rolled.stderr
    shown = cli("show", "application.title")
    assert shown.returncode == 0, shown.stderr
    assert "Parako.ID" in shown.stdout
    assert cli("verify").returncode == 0
