"""``verify`` at scale: the registry's snapshots are checked like the platform's, and ``--since``
checks only what was appended after a position an earlier run verified."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import attrs

from adapters.storage.memory import MemoryEventLog, MemoryStorage
from eventstore import events
from eventstore.events import TenantChanged
from eventstore.hashchain import HashChain
from eventstore.integrity import open_snapshot, seal_snapshot
from eventstore.log import NewEvent, Snapshot
from eventstore.state import PLATFORM_STREAM, StoredConfig
from eventstore.tenants import REGISTRY_STREAM, Registry
from projections.verification import ExpectedHead, verify_log

CHAIN = HashChain(bytes(range(32)))
AT = datetime(2026, 1, 1, tzinfo=UTC)
CLI = Path(sys.executable).with_name("parako-config")
KEY = "00112233445566778899aabbccddeeff" * 2


def _tenant(i: int) -> NewEvent:
    return events.encode(TenantChanged(f"t{i}", f"T{i}", None, "active", "ops", "", AT, True))


def _change(i: int) -> NewEvent:
    change = events.FieldChange("branding.companyName", None, f"Acme {i}")
    return events.encode(
        events.ConfigChanged((change,), f"1.0.{i}", "ops", "", ("main",), "development", AT)
    )


async def _log_with_snapshots() -> tuple[MemoryEventLog, Registry, StoredConfig]:
    """Platform and registry events interleaved, with a sealed snapshot of each stream."""
    log = MemoryEventLog(CHAIN, storage=MemoryStorage())
    registry, platform = Registry(), StoredConfig()
    for i in range(40):
        [recorded] = await log.append(REGISTRY_STREAM, i, [_tenant(i)])
        decoded = events.decode(recorded)
        assert isinstance(decoded, TenantChanged)
        registry = registry.apply(decoded, recorded.version, recorded.position)
        [recorded] = await log.append(PLATFORM_STREAM, i, [_change(i)])
        change = events.decode(recorded)
        assert isinstance(change, events.ConfigChanged)
        platform = platform.apply(change, recorded.version, recorded.position)
        if i in (9, 29):
            for snapshot in (registry.to_snapshot(), platform.to_snapshot(PLATFORM_STREAM)):
                await _save_sealed(log, snapshot)
    return log, registry, platform


async def _save_sealed(log: MemoryEventLog, snapshot: Snapshot) -> None:
    link = (await log.read_links([snapshot.position]))[snapshot.position]
    await log.save_snapshot(seal_snapshot(CHAIN, snapshot, link))


async def test_the_registry_snapshots_are_checked_against_a_fold() -> None:
    log, _, _ = await _log_with_snapshots()
    assert (await verify_log(log, CHAIN)).ok
    sealed = log.storage.snapshots[REGISTRY_STREAM][30]
    opened = open_snapshot(CHAIN, sealed)
    assert not isinstance(opened, str)
    plain, link = opened
    # resealed with the chain key (someone who has it), the tenants no longer what the log says
    forged = attrs.evolve(plain, state=plain.state.replace(b'"T3"', b'"Evil"'))
    log.storage.snapshots[REGISTRY_STREAM][30] = seal_snapshot(CHAIN, forged, link)
    report = await verify_log(log, CHAIN)
    assert not report.ok
    [problem] = report.snapshot_problems
    assert (problem.stream, problem.version) == (REGISTRY_STREAM, 30)
    assert problem.reason == "its tenants differ from replaying the stream"


async def test_since_checks_only_what_follows_and_still_the_snapshots_after_it() -> None:
    log, _, _ = await _log_with_snapshots()
    whole = await verify_log(log, CHAIN)
    since = await verify_log(log, CHAIN, since=50)
    assert (since.ok, since.chain.checked, since.head_line) == (True, 30, whole.head_line)

    # an edit before `since` is the earlier run's business; one after it is found
    events_ = log.storage.events
    events_[9] = attrs.evolve(events_[9], data=events_[9].data.replace(b"Acme", b"Evil"))
    assert not (await verify_log(log, CHAIN)).ok
    assert (await verify_log(log, CHAIN, since=50)).ok
    events_[68] = attrs.evolve(events_[68], data=events_[68].data.replace(b"T34", b"T99"))
    report = await verify_log(log, CHAIN, since=50)
    assert report.chain.first_break is not None
    assert report.chain.first_break.position == 69


async def test_since_folds_from_a_sealed_snapshot_before_it() -> None:
    log, registry, _ = await _log_with_snapshots()
    # the platform snapshot at version 30 (position 60) is compared by a fold that starts from
    # the one at version 10 (position 20), since=25 lying between them
    sealed = log.storage.snapshots[PLATFORM_STREAM][30]
    opened = open_snapshot(CHAIN, sealed)
    assert not isinstance(opened, str)
    plain, link = opened
    wrong = attrs.evolve(plain, state=plain.state.replace(b"Acme 29", b"Acme 28"))
    log.storage.snapshots[PLATFORM_STREAM][30] = seal_snapshot(CHAIN, wrong, link)
    report = await verify_log(log, CHAIN, since=25)
    assert [(p.stream, p.version) for p in report.snapshot_problems] == [(PLATFORM_STREAM, 30)]
    assert registry.version == 40


async def test_since_beyond_the_log_or_anchored_to_another_head_fails() -> None:
    log, _, _ = await _log_with_snapshots()
    beyond = await verify_log(log, CHAIN, since=500)
    assert not beyond.ok
    assert beyond.expected_head_problem == "the log does not reach position 500"
    stored = (await log.read_links([50]))[50]
    anchored = await verify_log(log, CHAIN, since=50, expect_head=ExpectedHead(50, stored))
    assert anchored.ok
    other = await verify_log(log, CHAIN, since=50, expect_head=ExpectedHead(50, bytes(32)))
    assert not other.ok
    assert other.chain.first_break is not None  # the next event does not follow that link


def test_the_command_takes_since(tmp_path: Path) -> None:
    runtime = tmp_path / "runtime"
    runtime.mkdir()
    (runtime / ".env").write_text(
        f"STORAGE_ADAPTER=sqlite\nUSE_FILE_CONFIG=false\nENCRYPTION_KEY={KEY}\n", encoding="utf-8"
    )
    env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG", "TMPDIR") if k in os.environ}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(CLI), *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
        )

    for name in ("One", "Two", "Three"):
        saved = cli("set", f"branding.companyName={name}", "--by", "ops", "--reason", "x")
        assert saved.returncode == 0, saved.stderr
    whole = json.loads(cli("verify", "--json").stdout)
    position = int(whole["head"].split(":")[0]) - 2
    done = cli("verify", "--since", str(position), "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert (report["ok"], report["checked"], report["head"]) == (True, 2, whole["head"])
    refused = cli("verify", "--since", "1", "--file", "backup.jsonl")
    assert refused.returncode == 2
    assert "--since" in refused.stderr
