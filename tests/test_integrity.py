"""Verified reads: an event is folded only once its link, its place and its neighbours check out.

These run on the in-memory log, whose rows tests may edit directly (as an attacker with write
access to the database but without the key would); the same attacks against the SQLite,
PostgreSQL and MongoDB stores are in ``tests/test_tamper_matrix.py``.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import attrs
import pytest

from adapters.storage.memory import MemoryEventLog
from adapters.wiring import open_service
from eventstore import events, tokens
from eventstore.commands import SNAPSHOT_EVERY, Author
from eventstore.hashchain import HashChain
from eventstore.integrity import LogIntegrityError, VerifiedLog, open_snapshot, seal_snapshot
from eventstore.log import EPOCH, Checkpoint, NewEvent, RecordedEvent, Snapshot

CHAIN = HashChain(bytes(range(32)))
OTHER_CHAIN = HashChain(bytes(32))


def new(n: int) -> NewEvent:
    return NewEvent("Noted", f'{{"n":{n}}}'.encode())


async def filled(count: int = 6) -> tuple[MemoryEventLog, VerifiedLog]:
    """``count`` events alternating between streams ``a`` and ``b``."""
    raw = MemoryEventLog(CHAIN)
    for n in range(count):
        stream = "a" if n % 2 == 0 else "b"
        await raw.append(stream, await raw.stream_version(stream), [new(n)])
    return raw, VerifiedLog(raw, CHAIN)


def replace(raw: MemoryEventLog, position: int, data: bytes) -> None:
    """Edit the stored data of the row at ``position`` in place (both indexes of the store)."""
    storage = raw.storage
    old = storage.events[position - 1]
    edited = attrs.evolve(old, data=data)
    storage.events[position - 1] = edited
    stream = storage.streams[old.stream]
    stream[stream.index(old)] = edited


def delete(raw: MemoryEventLog, position: int) -> RecordedEvent:
    storage = raw.storage
    gone = storage.events.pop(position - 1)
    storage.streams[gone.stream].remove(gone)
    return gone


async def test_an_intact_log_reads_as_stored() -> None:
    raw, log = await filled()
    assert [e.position for e in await log.read_all()] == [1, 2, 3, 4, 5, 6]
    assert [e.version for e in await log.read_stream("b")] == [1, 2, 3]
    assert await log.check_head() == Checkpoint(6, raw.storage.events[-1].link)
    assert log.failure is None


@pytest.mark.parametrize("position", [1, 4, 6])
async def test_an_edited_event_is_refused_by_every_read(position: int) -> None:
    raw, log = await filled()
    replace(raw, position, b'{"n":99}')
    stream = raw.storage.events[position - 1].stream
    with pytest.raises(LogIntegrityError, match=f"position {position}: link does not match"):
        await log.read_stream(stream)
    with pytest.raises(LogIntegrityError, match=f"position {position}"):
        await log.read_all()
    with pytest.raises(LogIntegrityError):  # once found, nothing more is appended
        await log.append("a", 3, [new(7)])


async def test_a_deleted_middle_event_is_seen_from_its_own_stream_and_its_successor() -> None:
    raw, log = await filled()
    delete(raw, 3)  # stream a, version 2
    with pytest.raises(LogIntegrityError, match="a version 2 is missing"):
        await log.read_stream("a")
    fresh = VerifiedLog(raw, CHAIN)
    with pytest.raises(LogIntegrityError, match="position 3: the event is missing"):
        await fresh.read_stream("b")  # b's version 2 is at position 4, whose predecessor is gone
    with pytest.raises(LogIntegrityError, match="position 3"):
        await VerifiedLog(raw, CHAIN).read_all()


async def test_deleting_the_newest_events_leaves_the_checkpoint_pointing_past_the_end() -> None:
    raw, log = await filled()
    delete(raw, 6)
    delete(raw, 5)
    with pytest.raises(LogIntegrityError, match="the checkpoint is at 6, the log ends at 4"):
        await log.check_head()


async def test_a_head_that_goes_back_is_tampering_even_with_a_rolled_back_checkpoint() -> None:
    raw, log = await filled()
    assert await log.head_position() == 6
    delete(raw, 6)
    raw.storage.checkpoint = Checkpoint(5, raw.storage.events[-1].link)
    with pytest.raises(LogIntegrityError, match="went back from 6 to 5"):
        await log.check_head()


async def test_a_forged_token_without_the_key_never_authenticates() -> None:
    raw, log = await filled(2)
    store = tokens.TokenStore(log)
    await store.create("ops", [tokens.READ], "admin")
    forged = events.ApiTokenCreated(
        "evil", tuple(tokens.SCOPES), tokens.digest_of("pkc_chosen"), "x", EPOCH
    )
    # the attacker computes a link with a key of their own and inserts the row at the end
    forger = MemoryEventLog(OTHER_CHAIN, storage=raw.storage)
    await forger.append(tokens.TOKEN_STREAM, 1, [events.encode(forged)])
    with pytest.raises(LogIntegrityError, match="link does not match"):
        await store.tokens()


async def test_a_sealed_snapshot_is_used_and_an_edited_one_is_ignored_and_reported() -> None:
    raw, log = await filled()
    await log.save_snapshot(Snapshot("a", 2, 3, b'{"doc":1}'))
    assert await log.latest_snapshot("a") == Snapshot("a", 2, 3, b'{"doc":1}')
    stored = raw.storage.snapshots["a"][2]
    raw.storage.snapshots["a"][2] = attrs.evolve(
        stored, state=stored.state.replace(b'{"doc":1}', b'{"doc":2}')
    )
    assert await log.latest_snapshot("a") is None
    (problem,) = log.snapshot_problems
    assert problem.tampered
    assert "seal does not match" in problem.reason
    assert log.failure is not None


async def test_a_snapshot_written_by_an_earlier_release_is_ignored_without_alarm() -> None:
    raw, log = await filled()
    await raw.save_snapshot(Snapshot("a", 2, 3, b'{"doc":1}'))  # no seal
    assert await log.latest_snapshot("a") is None
    (problem,) = log.snapshot_problems
    assert not problem.tampered
    assert log.failure is None


async def test_a_snapshot_moved_to_another_event_does_not_open() -> None:
    raw, _log = await filled()
    sealed = seal_snapshot(CHAIN, Snapshot("a", 2, 3, b"{}"), raw.storage.events[2].link)
    assert not isinstance(open_snapshot(CHAIN, sealed), str)
    moved = attrs.evolve(sealed, version=3, position=5)
    assert "seal does not match" in str(open_snapshot(CHAIN, moved))
    assert "seal does not match" in str(open_snapshot(OTHER_CHAIN, sealed))


async def test_a_store_with_snapshots_from_an_earlier_release_opens_and_reseals(
    tmp_path: Path,
) -> None:
    environ = {"USE_FILE_CONFIG": "false", "ENCRYPTION_KEY": "0123456789abcdef" * 4}
    async with await open_service(tmp_path, environ) as store:
        for n in range(SNAPSHOT_EVERY + 5):
            await store.save({"branding": {"companyName": f"Acme {n}"}}, Author("a", "b"))
    database = tmp_path / "runtime" / "data" / "parako.db"
    with closing(sqlite3.connect(database)) as db, db:
        [(state,)] = db.execute("SELECT state FROM snapshots").fetchall()
        # an earlier release stored the bare document: no seal
        db.execute("UPDATE snapshots SET state = ?", (bytes(state)[68:],))
    async with await open_service(tmp_path, environ) as store:
        assert store.config.branding.company_name == f"Acme {SNAPSHOT_EVERY + 4}"
        assert store.integrity_failure is None
        assert (await store.verify()).ok
    with closing(sqlite3.connect(database)) as db:
        versions = [v for (v,) in db.execute("SELECT version FROM snapshots ORDER BY version")]
    assert versions == [SNAPSHOT_EVERY, SNAPSHOT_EVERY + 6]  # the load left a sealed one


async def test_a_rolled_back_tail_is_not_built_on_by_a_process_that_saw_it(
    tmp_path: Path,
) -> None:
    """The newest event deleted and the checkpoint moved back to match: a process that had
    read the longer log refuses its next write instead of refilling the position."""
    environ = {"USE_FILE_CONFIG": "false", "ENCRYPTION_KEY": "0123456789abcdef" * 4}
    async with await open_service(tmp_path, environ) as store:
        for title in ("A", "B"):
            await store.save({"application": {"title": title}}, Author("a", "b"))
        database = tmp_path / "runtime" / "data" / "parako.db"
        with closing(sqlite3.connect(database)) as db, db:
            db.execute("DELETE FROM events WHERE position = 3")
            db.execute(
                "UPDATE checkpoint SET position = 2,"
                " link = (SELECT link FROM events WHERE position = 2)"
            )
        with pytest.raises(LogIntegrityError, match="went back from 3 to 2"):
            await store.save({"branding": {"companyName": "Acme"}}, Author("a", "b"))
        assert store.config.application.title == "B"  # the last verified config stays
        assert store.integrity_failure is not None


async def test_a_removed_checkpoint_trigger_is_noticed(tmp_path: Path) -> None:
    environ = {"USE_FILE_CONFIG": "false", "ENCRYPTION_KEY": "0123456789abcdef" * 4}
    async with await open_service(tmp_path, environ):
        pass
    database = tmp_path / "runtime" / "data" / "parako.db"
    with closing(sqlite3.connect(database)) as db, db:
        db.execute("DROP TRIGGER events_move_checkpoint")
    async with await open_service(tmp_path, environ) as store:
        await store.save({"application": {"title": "A"}}, Author("a", "b"))
    with pytest.raises(LogIntegrityError, match="no longer follows the appends"):
        await open_service(tmp_path, environ)


async def test_a_row_edited_to_the_wrong_column_type_is_tampering_not_a_crash(
    tmp_path: Path,
) -> None:
    environ = {"USE_FILE_CONFIG": "false", "ENCRYPTION_KEY": "0123456789abcdef" * 4}
    async with await open_service(tmp_path, environ) as store:
        await store.save({"application": {"title": "A"}}, Author("a", "b"))
    database = tmp_path / "runtime" / "data" / "parako.db"
    with closing(sqlite3.connect(database)) as db, db:
        db.execute("UPDATE events SET link = hex(link) WHERE position = 2")
    with pytest.raises(LogIntegrityError, match="cannot be read"):
        await open_service(tmp_path, environ)
