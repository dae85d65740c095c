"""The full check of a log, in one pass: every link, the head checkpoint, every snapshot.

``parako-config verify`` (and the background check of a serving process) reads the log once, in
position order, page by page. Each event's link is checked against its predecessor; the platform
stream is folded on the way, and whenever the fold reaches a version that has a snapshot, the
snapshot's seal, the link it was sealed to and its document are compared with what the fold
says. The cost is linear in the log and independent of how many snapshots there are.

The report ends with the head as ``position:link``: an auditor who keeps that line somewhere
else can later pass it back (``--expect-head``) and learn whether the log still starts with the
history they saw, which is what catches a rewritten tail that the checkpoint alone cannot.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Sequence
from typing import Final

import attrs

from eventstore import events
from eventstore.hashchain import ChainReport, ChainVerifier, HashChain
from eventstore.integrity import UNSEALED, SnapshotProblem, open_snapshot
from eventstore.log import Checkpoint, EventLog, RecordedEvent, Snapshot
from eventstore.state import PLATFORM_STREAM, StoredConfig

_PAGE: Final = 1000


@attrs.frozen
class ExpectedHead:
    """An auditor's earlier record of the head: ``POSITION:LINKHEX``."""

    position: int
    link: bytes

    @classmethod
    def parse(cls, text: str) -> ExpectedHead:
        """Raises ValueError with a message for people."""
        position, sep, link = text.partition(":")
        try:
            if not sep or not position.isdecimal():
                raise ValueError
            parsed = cls(int(position), bytes.fromhex(link))
        except ValueError:
            raise ValueError(
                f"expected POSITION:LINK (as verify prints it), got {text!r}"
            ) from None
        if len(parsed.link) != 32 or parsed.position < 1:
            raise ValueError(f"expected POSITION:LINK (as verify prints it), got {text!r}")
        return parsed


@attrs.frozen
class VerifyReport:
    """Everything ``verify`` found; ``ok`` only when every part holds."""

    chain: ChainReport
    head: int
    snapshot_problems: tuple[SnapshotProblem, ...] = ()
    checkpoint_problem: str | None = None
    expected_head_problem: str | None = None

    @property
    def ok(self) -> bool:
        # ``head`` is read before the walk, which goes on until an empty page: events another
        # writer commits meanwhile are verified too, so the walk may end beyond it, never short
        return (
            self.chain.ok
            and self.chain.last_position >= self.head
            and not self.snapshot_problems
            and self.checkpoint_problem is None
            and self.expected_head_problem is None
        )

    @property
    def head_line(self) -> str:
        """``position:link`` of the last verified event: the line an auditor keeps."""
        return f"{self.chain.last_position}:{self.chain.last_link.hex()}"


async def verify_log(
    log: EventLog,
    chain: HashChain,
    *,
    expect_head: ExpectedHead | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> VerifyReport:
    """Check ``log`` (an adapter's log, unverified reads) from its first event to its head."""
    checkpoint = await log.read_checkpoint()  # before the head: see VerifiedLog.check_head
    head = await log.head_position()
    snapshots = await _snapshots(log, PLATFORM_STREAM)
    check = _SnapshotCheck(chain, snapshots)
    verifier = ChainVerifier(chain)
    links: dict[int, bytes] = {}
    wanted = {s.position for s in snapshots} | {p for p in _positions(checkpoint, expect_head)}
    position = 0
    while not verifier.broken and (page := await log.read_all(position, _PAGE)):
        if not verifier.feed(page):
            break
        for event in page:
            if event.position in wanted:
                links[event.position] = event.link
            if event.stream == PLATFORM_STREAM:
                check.fold(event)
        position = page[-1].position
        if progress:
            progress(position, max(head, position))
    report = verifier.report()
    return VerifyReport(
        report,
        head,
        tuple(check.problems(links)) if report.ok else (),
        # past a break nothing is known about the rest of the log: only a whole walk can
        # compare the checkpoint and an expected head with where the log ends
        _checkpoint_problem(checkpoint, report, links) if report.ok else None,
        _expected_head_problem(expect_head, links) if report.ok else None,
    )


def _positions(checkpoint: Checkpoint | None, expected: ExpectedHead | None) -> list[int]:
    return [p.position for p in (checkpoint, expected) if p is not None]


async def _snapshots(log: EventLog, stream: str) -> list[Snapshot]:
    """Every snapshot of ``stream``, oldest first (the port gives the newest below a bound)."""
    found: list[Snapshot] = []
    bound: int | None = None
    while (snapshot := await log.latest_snapshot(stream, bound)) is not None:
        found.append(snapshot)
        if snapshot.version <= 1:
            break
        bound = snapshot.version - 1
    return found[::-1]


class _SnapshotCheck:
    """Folds the platform stream and compares it with each snapshot as the fold passes it."""

    def __init__(self, chain: HashChain, snapshots: Sequence[Snapshot]) -> None:
        self._chain = chain
        self._pending = {s.version: s for s in snapshots}
        self._state = StoredConfig()
        self._found: list[tuple[Snapshot, str | None]] = []

    def fold(self, event: RecordedEvent) -> None:
        decoded = events.decode(event)
        if isinstance(decoded, events.ConfigChanged):
            self._state = self._state.apply(decoded, event.version, event.position)
        else:
            self._state = StoredConfig(self._state.document, event.version, event.position)
        snapshot = self._pending.pop(event.version, None)
        if snapshot is not None:
            self._found.append((snapshot, self._compare(snapshot)))

    def _compare(self, snapshot: Snapshot) -> str | None:
        opened = open_snapshot(self._chain, snapshot)
        if opened == UNSEALED:
            # an earlier release's snapshot: never used any more, still checked for edits
            opened = (snapshot, b"")
        if isinstance(opened, str):
            return opened
        plain, _link = opened
        if snapshot.position != self._state.position:
            return "it names another position than its version's event"
        if StoredConfig.from_snapshot(plain).document != self._state.document:
            return "its document differs from replaying the stream"
        return None

    def problems(self, links: dict[int, bytes]) -> list[SnapshotProblem]:
        out = [
            SnapshotProblem(s.stream, s.version, "its version is beyond the stream", s.position)
            for s in self._pending.values()
        ]
        for snapshot, problem in self._found:
            if problem is None and open_snapshot(self._chain, snapshot) != UNSEALED:
                opened = open_snapshot(self._chain, snapshot)
                sealed_link = b"" if isinstance(opened, str) else opened[1]
                if not hmac.compare_digest(links.get(snapshot.position, b""), sealed_link):
                    problem = "the event it stops at is not the one it was taken at"
            if problem is not None:
                out.append(
                    SnapshotProblem(snapshot.stream, snapshot.version, problem, snapshot.position)
                )
        return out


def _checkpoint_problem(
    checkpoint: Checkpoint | None, report: ChainReport, links: dict[int, bytes]
) -> str | None:
    if checkpoint is None:
        return "the log has events but no head checkpoint" if report.last_position else None
    if checkpoint.position > report.last_position:
        return (
            f"the newest events were deleted: the checkpoint is at {checkpoint.position}, "
            f"the log ends at {report.last_position}"
        )
    if not hmac.compare_digest(links.get(checkpoint.position, b""), checkpoint.link):
        return f"the event at {checkpoint.position} does not match the head checkpoint"
    return None


def _expected_head_problem(expected: ExpectedHead | None, links: dict[int, bytes]) -> str | None:
    if expected is None:
        return None
    found = links.get(expected.position)
    if found is None:
        return f"the log no longer reaches position {expected.position}"
    if not hmac.compare_digest(found, expected.link):
        return f"the history up to position {expected.position} was rewritten"
    return None
