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
from collections.abc import Callable, Mapping
from typing import Any, Final, Protocol

import attrs

from eventstore import events
from eventstore.docpath import delete_path, set_path
from eventstore.hashchain import GENESIS, ChainReport, ChainVerifier, HashChain
from eventstore.integrity import UNSEALED, SnapshotProblem, open_snapshot
from eventstore.log import Checkpoint, EventLog, RecordedEvent, Snapshot
from eventstore.state import PLATFORM_STREAM, StoredConfig
from eventstore.tenants import REGISTRY_STREAM, Registry

_PAGE: Final = 5000


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
    since: int = 0,
) -> VerifyReport:
    """Check ``log`` (an adapter's log, unverified reads) from its first event to its head.

    ``since``: check only the events after that position, from the link stored there (or the
    one ``expect_head`` gives for that very position): for an auditor who verified the log up
    to ``since`` before. The snapshots taken after it are still compared with a fold, which
    starts from the newest snapshot at or before ``since`` whose seal holds.
    """
    checkpoint = await log.read_checkpoint()  # before the head: see VerifiedLog.check_head
    head = await log.head_position()
    start_link: bytes | None = GENESIS
    if since:
        start_link = await _link_at(log, since, expect_head)
        if start_link is None:
            report = ChainReport(0, since, GENESIS, None)
            problem = f"the log does not reach position {since}"
            return VerifyReport(report, max(head, since + 1), (), None, problem)
    checks = [
        await _SnapshotCheck.start(log, chain, stream, fold, since)
        for stream, fold in _SNAPSHOTTED.items()
    ]
    by_stream = {check.stream: check for check in checks}
    verifier = ChainVerifier(chain, start_link or GENESIS, after_position=since)
    links: dict[int, bytes] = {}
    wanted = {s.position for c in checks for s in c.snapshots} | set(
        _positions(checkpoint, expect_head)
    )
    position = since
    while not verifier.broken and (page := await log.read_all(position, _PAGE)):
        if not verifier.feed(page):
            break
        for event in page:
            if event.position in wanted:
                links[event.position] = event.link
            check = by_stream.get(event.stream)
            if check is not None:
                check.fold(event)
        position = page[-1].position
        if progress:
            progress(position, max(head, position))
    report = verifier.report()
    if report.ok and since:
        # positions at or before `since` were verified before: their links are as stored
        earlier = sorted(p for p in wanted if p <= since)
        links.update(await log.read_links(earlier))
    return VerifyReport(
        report,
        head,
        tuple(p for check in checks for p in check.problems(links)) if report.ok else (),
        # past a break nothing is known about the rest of the log: only a whole walk can
        # compare the checkpoint and an expected head with where the log ends
        _checkpoint_problem(checkpoint, report, links) if report.ok else None,
        _expected_head_problem(expect_head, links) if report.ok else None,
    )


async def _link_at(log: EventLog, position: int, expect_head: ExpectedHead | None) -> bytes | None:
    if expect_head is not None and expect_head.position == position:
        return expect_head.link
    return (await log.read_links([position])).get(position)


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


class _Fold(Protocol):
    """How one snapshotted stream is folded, and what its snapshots are compared with."""

    @property
    def version(self) -> int: ...

    @property
    def position(self) -> int: ...

    def apply(self, event: RecordedEvent) -> _Fold: ...

    def differs(self, snapshot: Snapshot) -> str | None: ...


class _PlatformFold:
    """The platform stream folded as :meth:`StoredConfig.apply` folds it (every removal, then
    every new value), each change read from the event's body as it is stored: ``verify`` folds
    every platform event, and building the event objects would cost most of the pass. A body
    of an earlier layout is decoded (upcast) instead."""

    def __init__(self, state: StoredConfig) -> None:
        self.document: Mapping[str, Any] = state.document
        self.version, self.position = state.version, state.position

    @classmethod
    def starting(cls, snapshot: Snapshot | None) -> _PlatformFold:
        return cls(StoredConfig.from_snapshot(snapshot) if snapshot else StoredConfig())

    def apply(self, event: RecordedEvent) -> _PlatformFold:
        body = events.current_body(event) if event.type == events.CONFIG_CHANGED else None
        if body is not None:
            changes = body["changes"]
            doc = self.document
            for change in changes:
                if change.get("removed") is True:
                    doc = delete_path(doc, change["path"])
            for change in changes:
                if change.get("removed") is not True:
                    doc = set_path(doc, change["path"], change["new"])
            self.document = doc
        else:
            decoded = events.decode(event)
            if isinstance(decoded, events.ConfigChanged):
                state = StoredConfig(self.document, self.version, self.position)
                self.document = state.apply(decoded, event.version, event.position).document
        self.version, self.position = event.version, event.position
        return self

    def differs(self, snapshot: Snapshot) -> str | None:
        if events.read_json(snapshot.state) != self.document:
            return "its document differs from replaying the stream"
        return None


@attrs.frozen
class _RegistryFold:
    registry: Registry = attrs.field(factory=Registry)

    @property
    def version(self) -> int:
        return self.registry.version

    @property
    def position(self) -> int:
        return self.registry.position

    @classmethod
    def starting(cls, snapshot: Snapshot | None) -> _RegistryFold:
        return cls(Registry.from_snapshot(snapshot) if snapshot else Registry())

    def apply(self, event: RecordedEvent) -> _RegistryFold:
        decoded = events.decode(event)
        if isinstance(decoded, events.TenantChanged):
            return _RegistryFold(self.registry.apply(decoded, event.version, event.position))
        return _RegistryFold(self.registry.skip(event.version, event.position))

    def differs(self, snapshot: Snapshot) -> str | None:
        if snapshot.state != self.registry.to_snapshot().state:
            return "its tenants differ from replaying the stream"
        return None


#: the streams whose snapshots a process uses, and how each is folded
_SNAPSHOTTED: Final[dict[str, Callable[[Snapshot | None], _Fold]]] = {
    PLATFORM_STREAM: _PlatformFold.starting,
    REGISTRY_STREAM: _RegistryFold.starting,
}


class _SnapshotCheck:
    """Folds one stream and compares it with each snapshot as the fold passes it."""

    def __init__(self, chain: HashChain, stream: str, fold: _Fold, snapshots: list[Snapshot]):
        self.stream = stream
        self.snapshots = snapshots
        self._chain = chain
        self._pending = {s.version: s for s in snapshots}
        self._fold = fold
        self._found: list[tuple[Snapshot, str | None]] = []

    @classmethod
    async def start(
        cls,
        log: EventLog,
        chain: HashChain,
        stream: str,
        starting: Callable[[Snapshot | None], _Fold],
        since: int,
    ) -> _SnapshotCheck:
        """The check of ``stream``'s snapshots after position ``since``, its fold brought up
        to ``since`` (from the newest sealed snapshot at or before it, if there is one)."""
        if not since:
            return cls(chain, stream, starting(None), await _snapshots(log, stream))
        # newest first: the snapshots after `since`, down to the newest sealed one before it
        base, later, bound = None, [], None
        while (snapshot := await log.latest_snapshot(stream, bound)) is not None:
            if snapshot.position > since:
                later.append(snapshot)
            else:
                opened = open_snapshot(chain, snapshot)
                if not isinstance(opened, str):
                    plain, link = opened
                    if (await log.read_links([plain.position])).get(plain.position) == link:
                        base = plain
                        break
            if snapshot.version <= 1:
                break
            bound = snapshot.version - 1
        later.reverse()
        fold = starting(base)
        for event in await log.read_stream(stream, fold.version + 1):
            if event.position > since:
                break
            fold = fold.apply(event)
        return cls(chain, stream, fold, later)

    def fold(self, event: RecordedEvent) -> None:
        if not self._pending:
            return  # no snapshot left to compare: the rest of the stream need not be folded
        self._fold = self._fold.apply(event)
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
        if snapshot.position != self._fold.position:
            return "it names another position than its version's event"
        try:
            return self._fold.differs(plain)
        except ValueError:
            return "its state cannot be read"

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
