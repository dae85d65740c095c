"""Keyed hash chain over the event log, so that tampering with stored events is detectable.

Each event's ``link`` is ``HMAC-SHA256(key, previous_link || stored_bytes(event))`` where the
previous link belongs to the event at ``position - 1`` (:data:`GENESIS` before position 1).
Because the key is secret, someone with write access to the database but not the key cannot
edit, delete, reorder or insert events without breaking the chain at that point.

What a chain cannot show on its own is truncation of the newest events: the shortened log is still
a valid chain. :class:`ChainReport` therefore exposes the last position and link, to be compared
with an anchor kept outside the database when that matters.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import struct
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Final

import attrs

from eventstore.log import (
    EventLog,
    NewEvent,
    RecordedEvent,
    from_epoch_micros,
    to_epoch_micros,
)

KEY_SIZE: Final = 32
LINK_SIZE: Final = 32
GENESIS: Final = bytes(LINK_SIZE)

# Domain separation: the same key must never produce a valid link for some other message format.
_DOMAIN: Final = b"parako-config/event-chain/v1"
_LENGTH: Final = struct.Struct(">Q")
_INT: Final = struct.Struct(">q")
_DOMAIN_FIELD: Final = _LENGTH.pack(len(_DOMAIN)) + _DOMAIN
#: length-prefixed version and position, then the length of the type that follows
_TWO_INTS: Final = struct.Struct(">QqQqQ")
_LAST_INT: Final = struct.Struct(">Qq")


def stored_bytes(
    stream: str, version: int, position: int, type_: str, data: bytes, recorded_at: datetime
) -> bytes:
    """Encode every signed field so that no two different events share an encoding.

    Every field is length-prefixed, so moving characters between adjacent fields (stream ``ab`` /
    type ``c`` versus stream ``a`` / type ``bc``) changes the bytes. ``recorded_at`` is signed as
    integer microseconds since the epoch, the precision every backend keeps.
    """
    encoded_stream = stream.encode("utf-8")
    encoded_type = type_.encode("utf-8")
    # the same bytes as length-prefixing each field in turn, packed in as few calls as
    # possible: every replay verifies every event through here
    return b"".join(
        (
            _DOMAIN_FIELD,
            _LENGTH.pack(len(encoded_stream)),
            encoded_stream,
            _TWO_INTS.pack(8, version, 8, position, len(encoded_type)),
            encoded_type,
            _LENGTH.pack(len(data)),
            data,
            _LAST_INT.pack(8, to_epoch_micros(recorded_at)),
        )
    )


class HashChain:
    """Holds the chain key and computes links; keeps the key out of reprs and pickles."""

    __slots__ = ("_mac",)

    def __init__(self, key: bytes) -> None:
        if not isinstance(key, bytes) or len(key) != KEY_SIZE:
            raise ValueError(f"the chain key must be {KEY_SIZE} bytes")
        # Keying HMAC once and copying per link avoids re-deriving the padded key every event.
        self._mac = hmac.new(key, digestmod=hashlib.sha256)

    def link(self, previous_link: bytes, content: bytes) -> bytes:
        """Link for an event whose :func:`stored_bytes` are ``content``."""
        if len(previous_link) != LINK_SIZE:
            raise ValueError(f"a link is {LINK_SIZE} bytes")
        mac = self._mac.copy()
        mac.update(previous_link)
        mac.update(content)
        return mac.digest()

    def mac(self, domain: bytes, *fields: bytes) -> bytes:
        """A keyed MAC over length-prefixed ``fields`` under its own ``domain``, for other
        things the chain key vouches for (sealed snapshots); never equal to a link, whose
        messages start with the chain's own domain."""
        mac = self._mac.copy()
        for field in (domain, *fields):
            mac.update(_LENGTH.pack(len(field)) + field)
        return mac.digest()

    def link_of(self, previous_link: bytes, event: RecordedEvent) -> bytes:
        """The link ``event`` should carry when it follows ``previous_link``."""
        content = stored_bytes(
            event.stream, event.version, event.position, event.type, event.data, event.recorded_at
        )
        return self.link(previous_link, content)

    def first_mismatch(
        self, previous_link: bytes, events: Iterable[RecordedEvent]
    ) -> RecordedEvent | None:
        """The first of ``events`` (consecutive positions, following ``previous_link``) whose
        link is not the one the chain gives, or None. The loop every verified replay runs."""
        copy = self._mac.copy
        compare = hmac.compare_digest
        link = previous_link
        for event in events:
            mac = copy()
            mac.update(link)
            mac.update(
                stored_bytes(
                    event.stream,
                    event.version,
                    event.position,
                    event.type,
                    event.data,
                    event.recorded_at,
                )
            )
            if not compare(mac.digest(), event.link):
                return event
            link = event.link
        return None

    def seal(
        self,
        previous_link: bytes,
        stream: str,
        first_version: int,
        first_position: int,
        events: Sequence[NewEvent],
        recorded_at: datetime,
    ) -> list[RecordedEvent]:
        """Turn one append's events into linked records; adapters call it inside their transaction.

        ``recorded_at`` is normalised to UTC microseconds first, so what gets signed is exactly
        what every backend can store and give back.
        """
        moment = from_epoch_micros(to_epoch_micros(recorded_at))
        records: list[RecordedEvent] = []
        link = previous_link
        for offset, event in enumerate(events):
            version = first_version + offset
            position = first_position + offset
            content = stored_bytes(stream, version, position, event.type, event.data, moment)
            link = self.link(link, content)
            records.append(
                RecordedEvent(
                    stream=stream,
                    version=version,
                    position=position,
                    type=event.type,
                    data=event.data,
                    recorded_at=moment,
                    link=link,
                )
            )
        return records

    def __repr__(self) -> str:
        return "HashChain(<key hidden>)"

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("HashChain holds a secret key and is not picklable")


class BreakReason(enum.Enum):
    """Why verification stopped; the value is the sentence shown to an operator."""

    POSITION_GAP = "position skips ahead (events before it were deleted or moved)"
    POSITION_ORDER = "position out of order (events reordered, duplicated or inserted)"
    LINK_MISMATCH = "link does not match (the event was altered, or the chain key is different)"


@attrs.frozen
class ChainBreak:
    """The first event that failed verification, and what was expected there."""

    position: int
    stream: str
    version: int
    reason: BreakReason
    expected_position: int


@attrs.frozen
class ChainReport:
    """Outcome of a verification run.

    ``last_position``/``last_link`` describe the last event that verified, so a caller can resume
    from there later or compare against an externally kept anchor to detect truncation.
    """

    checked: int
    last_position: int
    last_link: bytes
    first_break: ChainBreak | None

    @property
    def ok(self) -> bool:
        return self.first_break is None


class ChainVerifier:
    """Verifies a chain fed in pieces, so long logs can be read page by page with progress."""

    def __init__(
        self, chain: HashChain, expected_start_link: bytes = GENESIS, *, after_position: int = 0
    ) -> None:
        self._chain = chain
        self._link = expected_start_link
        self._position = after_position
        self._checked = 0
        self._break: ChainBreak | None = None

    @property
    def broken(self) -> bool:
        return self._break is not None

    @property
    def last_position(self) -> int:
        return self._position

    def feed(self, events: Iterable[RecordedEvent]) -> bool:
        """Check the next events in position order; returns False once the chain is broken.

        Events fed after a break are ignored: everything past the first bad event is suspect.
        """
        if self._break is not None:
            return False
        for event in events:
            expected = self._position + 1
            reason: BreakReason | None = None
            if event.position > expected:
                reason = BreakReason.POSITION_GAP
            elif event.position < expected:
                reason = BreakReason.POSITION_ORDER
            else:
                link = self._chain.link_of(self._link, event)
                if not hmac.compare_digest(link, event.link):
                    reason = BreakReason.LINK_MISMATCH
            if reason is not None:
                self._break = ChainBreak(
                    event.position, event.stream, event.version, reason, expected
                )
                return False
            self._link = event.link
            self._position = event.position
            self._checked += 1
        return True

    def report(self) -> ChainReport:
        return ChainReport(self._checked, self._position, self._link, self._break)


def verify_chain(
    events: Iterable[RecordedEvent],
    chain: HashChain,
    expected_start_link: bytes = GENESIS,
    *,
    after_position: int = 0,
) -> ChainReport:
    """Verify events in position order starting right after ``after_position``.

    ``expected_start_link`` is the link of the event at ``after_position`` (GENESIS for a full
    check from position 1); passing a previously verified report's ``last_link`` and
    ``last_position`` makes a check resumable.
    """
    verifier = ChainVerifier(chain, expected_start_link, after_position=after_position)
    verifier.feed(events)
    return verifier.report()


async def verify_log(
    log: EventLog,
    chain: HashChain,
    *,
    page_size: int = 1000,
    on_progress: Callable[[int, int], None] | None = None,
) -> ChainReport:
    """Verify a whole log by reading it in pages; ``on_progress(position, head)`` after each page.

    ``head`` is read once up front for the progress bar only; events appended while verifying are
    verified too, since reading stops at the first empty page.
    """
    if page_size < 1:
        raise ValueError("page_size must be >= 1")
    head = await log.head_position()
    verifier = ChainVerifier(chain)
    while True:
        page = await log.read_all(verifier.last_position, page_size)
        if not page or not verifier.feed(page):
            break
        if on_progress is not None:
            on_progress(verifier.last_position, max(head, verifier.last_position))
    return verifier.report()
