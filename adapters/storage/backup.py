"""The backup file of an event log: JSON Lines that any adapter can be loaded from.

Why the format is what it is:

* **One header line, then one line per event in position order.** Lines can be streamed both
  ways, so a backup of any size is written and read a page at a time, and ``grep``, ``jq`` or a
  diff work on it. Snapshots are left out: they are derived from the events.
* **Every field the hash chain signs, exactly.** ``data`` is the stored bytes: as text when they
  are UTF-8 (event data is canonical JSON, and UTF-8 text decodes and re-encodes to the very same
  bytes), else as ``data_base64``. ``recorded_at`` is integer microseconds since the epoch, the
  precision the chain signs. With the link of every event, a backup verifies offline with the key,
  and a restore re-computes each link and must find the one in the file.
* **A header vouched for by the chain key.** It carries the store's data keys as the store keeps
  them, wrapped by ENCRYPTION_KEY (D26 in docs/decisions.md), so the key alone opens the chain
  key, and the head position and link, so deleting lines at the end is caught. The header's
  ``mac`` is keyed by the chain key, so nobody without the key can shorten the file and edit
  the header to match. (Format version 1, written before stores had data keys, named the key
  the store was created with instead; such backups still verify and restore.)
* **No plaintext secrets.** Secrets are encrypted inside the events before they are appended,
  so the backup holds only their envelopes; it still holds the rest of the configuration, so
  the file is created readable by its owner only.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import re
import struct
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Final, NoReturn

import attrs

from eventstore.errors import ConfigError, ValidationFailed
from eventstore.hashchain import GENESIS, ChainReport, ChainVerifier, HashChain
from eventstore.log import (
    EventLog,
    NewEvent,
    RecordedEvent,
    WrongExpectedVersion,
    from_epoch_micros,
    to_epoch_micros,
)
from projections.verification import ExpectedHead, VerifyReport

FORMAT: Final = "parako-config-log"
FORMAT_VERSION: Final = 2
#: the version whose header names the creating key instead of carrying the data keys
FORMAT_VERSION_KEY_ID: Final = 1
PAGE: Final = 1000

# A header is a few hundred bytes: a longer first line means this is not a backup, and reading it
# whole (a binary file may have no newline at all) would only waste memory.
_HEADER_LINE_LIMIT: Final = 64 * 1024
# Generous for one event; a bound so that a damaged file cannot make a reader take all memory.
_EVENT_LINE_LIMIT: Final = 256 * 1024 * 1024
# The header's MAC under the chain key has a domain of its own, so it is never a valid link or
# snapshot seal, nor any of them a valid header MAC.
_HEADER_DOMAIN: Final = b"parako-config/log-backup-header/v1"
_INT: Final = struct.Struct(">q")
_HEX_LINK: Final = re.compile(r"[0-9a-f]{64}")
_KEY_ID: Final = re.compile(r"[0-9a-f]{8}")
_DATA_KEYS_LIMIT: Final = 16 * 1024
_COMMON_HEADER_KEYS: Final = frozenset(
    {"format", "format_version", "head_position", "head_link", "created_at", "mac"}
)
_HEADER_KEYS: Final = {
    FORMAT_VERSION_KEY_ID: _COMMON_HEADER_KEYS | {"key_id"},
    FORMAT_VERSION: _COMMON_HEADER_KEYS | {"data_keys"},
}
_EVENT_KEYS: Final = frozenset({"stream", "version", "position", "type", "recorded_at", "link"})
# Restores append runs of one original append together, up to this many events per append.
_RESTORE_BATCH: Final = 500


class MalformedBackupError(ValidationFailed):
    """The file is not a readable backup; names ``file:line`` (exit 2, it is bad input)."""

    def __init__(self, path: Path, line: int, reason: str) -> None:
        super().__init__([], f"{path}:{line}: {reason}")
        self.path = path
        self.line = line


class RestoreMismatchError(ConfigError):
    """The target stored something else than the backup holds (another writer, or a bug)."""


# --- header --------------------------------------------------------------------------------


@attrs.frozen
class BackupHeader:
    """The first line: which keys, where the log ended when it was backed up, and when.

    ``data_keys`` is the store's wrapped data-keys record; a header of format version 1 has
    ``key_id``, the id of the key its store was created with, instead.
    """

    head_position: int
    head_link: bytes
    created_at: datetime
    mac: bytes
    data_keys: bytes | None = None
    key_id: str | None = None

    @property
    def format_version(self) -> int:
        return FORMAT_VERSION if self.data_keys is not None else FORMAT_VERSION_KEY_ID

    @classmethod
    def sealed(
        cls,
        chain: HashChain,
        data_keys: bytes,
        head_position: int,
        head_link: bytes,
        created_at: datetime,
    ) -> BackupHeader:
        moment = from_epoch_micros(to_epoch_micros(created_at))  # what the file can carry
        mac = _header_mac(chain, FORMAT_VERSION, data_keys, head_position, head_link, moment)
        return cls(head_position, head_link, moment, mac, data_keys=data_keys)

    def authentic(self, chain: HashChain) -> bool:
        """Whether the chain key vouches for this header (its head can then be trusted)."""
        expected = _header_mac(
            chain,
            self.format_version,
            self._keys_field(),
            self.head_position,
            self.head_link,
            self.created_at,
        )
        return hmac.compare_digest(expected, self.mac)

    def _keys_field(self) -> bytes:
        if self.data_keys is not None:
            return self.data_keys
        assert self.key_id is not None
        return self.key_id.encode()

    def to_line(self) -> bytes:
        keys: dict[str, Any] = (
            {"data_keys": self.data_keys.decode("ascii")}
            if self.data_keys is not None
            else {"key_id": self.key_id}
        )
        return _line(
            {
                "format": FORMAT,
                "format_version": self.format_version,
                **keys,
                "head_position": self.head_position,
                "head_link": self.head_link.hex(),
                "created_at": self.created_at.isoformat(),
                "mac": self.mac.hex(),
            }
        )


def _header_mac(
    chain: HashChain,
    version: int,
    keys: bytes,
    head_position: int,
    head_link: bytes,
    created_at: datetime,
) -> bytes:
    return chain.mac(
        _HEADER_DOMAIN,
        FORMAT.encode(),
        _INT.pack(version),
        keys,
        _INT.pack(head_position),
        head_link,
        _INT.pack(to_epoch_micros(created_at)),
    )


# --- lines ---------------------------------------------------------------------------------


def event_line(event: RecordedEvent) -> bytes:
    """One event as a line; ``data`` as text when that gives back the same bytes."""
    fields: dict[str, Any] = {
        "stream": event.stream,
        "version": event.version,
        "position": event.position,
        "type": event.type,
    }
    try:
        fields["data"] = event.data.decode("utf-8")
    except UnicodeDecodeError:
        fields["data_base64"] = base64.b64encode(event.data).decode("ascii")
    fields["recorded_at"] = to_epoch_micros(event.recorded_at)
    fields["link"] = event.link.hex()
    return _line(fields)


def _line(fields: dict[str, Any]) -> bytes:
    text = json.dumps(fields, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.encode("utf-8") + b"\n"


# --- writing -------------------------------------------------------------------------------


async def write_backup(
    log: EventLog,
    chain: HashChain,
    data_keys: bytes,
    out: IO[bytes],
    created_at: datetime,
    *,
    page_size: int = PAGE,
) -> tuple[BackupHeader, ChainReport]:
    """Write the log up to its current head to ``out``; return the header and the chain check.

    The head is fixed first and only events up to it are written, so the file is one consistent
    prefix of the log even while others append. The chain is verified on the way (the key is at
    hand anyway): a store that does not verify still gets its copy written, as it is, and the
    caller learns where it breaks.
    """
    head = await log.head_position()
    last = await log.read_all(head - 1, 1) if head else ()
    if head and (len(last) != 1 or last[0].position != head):
        raise ConfigError(f"the event at the head position {head} cannot be read")
    header = BackupHeader.sealed(
        chain, data_keys, head, last[0].link if head else GENESIS, created_at
    )
    out.write(header.to_line())
    verifier = ChainVerifier(chain)
    position = 0
    while position < head:
        page = await log.read_all(position, min(page_size, head - position))
        if not page:
            raise ConfigError(f"events after position {position} vanished while backing up")
        verifier.feed(page)
        out.write(b"".join(event_line(event) for event in page))
        position = page[-1].position
    return header, verifier.report()


# --- reading -------------------------------------------------------------------------------


class BackupReader:
    """Reads a backup file line by line: the header on opening, the events as they are asked for.

    Every problem with the file's form raises :class:`MalformedBackupError` naming ``file:line``;
    whether the events are genuine is for the chain to say (:func:`check_backup`).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._file: IO[bytes] = path.open("rb")
        except OSError as error:
            raise ValidationFailed(
                [], f"cannot read {path}: {error.strerror or type(error).__name__}"
            ) from None
        self._line = 0
        try:
            self.header = self._read_header()
        except BaseException:
            self._file.close()
            raise

    def __enter__(self) -> BackupReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._file.close()

    def events(self) -> Iterator[RecordedEvent]:
        """The events in file order, parsed one line at a time."""
        while (fields := self._next_fields(_EVENT_LINE_LIMIT)) is not None:
            yield self._event(fields)

    def _read_header(self) -> BackupHeader:
        fields = self._next_fields(_HEADER_LINE_LIMIT)
        if fields is None:
            self._fail("the file is empty; a backup starts with its header line")
        if fields.get("format") != FORMAT:
            self._fail(f"not a parako-config log backup (the header has no format {FORMAT!r})")
        version = fields.get("format_version")
        if type(version) is int and version > FORMAT_VERSION:
            self._fail(
                f"written by a newer parako-config (format version {version}; this one reads "
                f"up to {FORMAT_VERSION})"
            )
        expected = _HEADER_KEYS.get(version) if type(version) is int else None
        if expected is None:
            self._fail(f"format_version must be {FORMAT_VERSION_KEY_ID} or {FORMAT_VERSION}")
        self._exact_keys(fields, expected, "header")
        key_id: str | None = None
        data_keys: bytes | None = None
        if "key_id" in fields:
            key_id = fields["key_id"]
            if not isinstance(key_id, str) or not _KEY_ID.fullmatch(key_id):
                self._fail("key_id must be 8 lowercase hexadecimal characters")
        else:
            data_keys = self._data_keys(fields["data_keys"])
        created = fields["created_at"]
        try:
            created_at = datetime.fromisoformat(created) if isinstance(created, str) else None
        except ValueError:
            created_at = None
        if created_at is None or created_at.tzinfo is None:
            self._fail("created_at must be an ISO 8601 time with its UTC offset")
        return BackupHeader(
            head_position=self._integer(fields, "head_position", 0),
            head_link=self._link(fields, "head_link"),
            created_at=created_at.astimezone(UTC),
            mac=self._link(fields, "mac"),
            data_keys=data_keys,
            key_id=key_id,
        )

    def _data_keys(self, value: object) -> bytes:
        """The wrapped record as text; whether it opens is for the key to say."""
        if not isinstance(value, str) or not value or len(value) > _DATA_KEYS_LIMIT:
            self._fail(f"data_keys must be a non-empty string of at most {_DATA_KEYS_LIMIT}")
        try:
            return value.encode("ascii")
        except UnicodeEncodeError:
            self._fail("data_keys must be ASCII text")

    def _event(self, fields: dict[str, Any]) -> RecordedEvent:
        data_key = "data" if "data" in fields else "data_base64"
        self._exact_keys(fields, _EVENT_KEYS | {data_key}, "event")
        return RecordedEvent(
            stream=self._text(fields, "stream"),
            version=self._integer(fields, "version", 1),
            position=self._integer(fields, "position", 1),
            type=self._text(fields, "type"),
            data=self._data(fields, data_key),
            recorded_at=from_epoch_micros(self._integer(fields, "recorded_at", None)),
            link=self._link(fields, "link"),
        )

    def _next_fields(self, limit: int) -> dict[str, Any] | None:
        """The next line as a JSON object, or None at the end of the file."""
        raw = self._file.readline(limit + 1)
        if not raw:
            return None
        self._line += 1
        if not raw.endswith(b"\n"):
            if len(raw) > limit:
                self._fail(f"the line is longer than {limit} bytes")
            self._fail("the line has no newline at its end (the file was cut short)")
        try:
            fields = json.loads(
                raw.decode("utf-8"),
                object_pairs_hook=_no_duplicates,
                parse_float=_no_float,
                parse_constant=_no_float,
            )
        except UnicodeDecodeError as error:
            self._fail(f"not UTF-8 text (byte {error.start + 1} of the line)")
        except (ValueError, RecursionError) as error:
            self._fail(f"not a JSON object ({error})")
        if not isinstance(fields, dict):
            self._fail("not a JSON object")
        return fields

    def _exact_keys(self, fields: dict[str, Any], expected: frozenset[str], what: str) -> None:
        missing = sorted(expected - fields.keys())
        unknown = sorted(fields.keys() - expected)
        if missing:
            self._fail(f"the {what} line lacks {', '.join(missing)}")
        if unknown:
            self._fail(f"the {what} line has unknown fields {', '.join(unknown)}")

    def _integer(self, fields: dict[str, Any], key: str, minimum: int | None) -> int:
        value = fields[key]
        if type(value) is not int or (minimum is not None and value < minimum):
            bound = "" if minimum is None else f" >= {minimum}"
            self._fail(f"{key} must be an integer{bound}")
        return value

    def _text(self, fields: dict[str, Any], key: str) -> str:
        value = fields[key]
        if not isinstance(value, str) or not value:
            self._fail(f"{key} must be a non-empty string")
        return value

    def _link(self, fields: dict[str, Any], key: str) -> bytes:
        value = fields[key]
        if not isinstance(value, str) or not _HEX_LINK.fullmatch(value):
            self._fail(f"{key} must be 64 lowercase hexadecimal characters")
        return bytes.fromhex(value)

    def _data(self, fields: dict[str, Any], key: str) -> bytes:
        value = fields[key]
        if not isinstance(value, str):
            self._fail(f"{key} must be a string")
        if key == "data":
            return value.encode("utf-8")
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            self._fail("data_base64 is not base64")

    def _fail(self, reason: str) -> NoReturn:
        raise MalformedBackupError(self.path, self._line, reason)


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    fields = dict(pairs)
    if len(fields) != len(pairs):
        raise ValueError("a field appears twice")
    return fields


def _no_float(literal: str) -> NoReturn:
    raise ValueError(f"{literal} is not an integer")


# --- verifying -----------------------------------------------------------------------------


def check_backup(
    reader: BackupReader,
    chain: HashChain,
    *,
    expect_head: ExpectedHead | None = None,
    page_size: int = PAGE,
) -> VerifyReport:
    """Verify every event line, then the header, and that the lines end at the header's head.

    The header plays the part of a store's head checkpoint, so its problems are reported as
    ``checkpoint_problem`` and the report reads like one of a live store (``expect_head`` too:
    whether the backup holds the history an auditor once recorded). Reading stops at the first
    break: everything after it is suspect, and a malformed line further on is not worth
    reporting over it.
    """
    header = reader.header
    verifier = ChainVerifier(chain)
    expected_link: bytes | None = None
    page: list[RecordedEvent] = []
    for event in reader.events():
        page.append(event)
        if expect_head is not None and event.position == expect_head.position:
            expected_link = event.link
        if len(page) >= page_size:
            verifier.feed(page)
            page.clear()
            if verifier.broken:
                break
    verifier.feed(page)  # the rest (nothing, after a break)
    report = verifier.report()
    problem = _header_problem(header, report, chain) if report.ok else None
    return VerifyReport(
        report,
        header.head_position,
        checkpoint_problem=problem,
        expected_head_problem=_expected_head_problem(expect_head, expected_link),
    )


def _expected_head_problem(expected: ExpectedHead | None, link: bytes | None) -> str | None:
    if expected is None:
        return None
    if link is None:
        return f"the backup does not reach position {expected.position}"
    if not hmac.compare_digest(link, expected.link):
        return f"the history up to position {expected.position} was rewritten"
    return None


def _header_problem(header: BackupHeader, report: ChainReport, chain: HashChain) -> str | None:
    """What is wrong with the file as a whole once every line verified, naming the position."""
    if not header.authentic(chain):
        return "the header (line 1) was altered: its mac does not match (or the key differs)"
    head, last = header.head_position, report.last_position
    if last < head:
        return (
            f"position {last + 1} is missing: the header records the head at position {head}, "
            f"the lines end at position {last} (events at the end were removed)"
        )
    if last > head:
        return (
            f"position {head + 1} is beyond the head the header records (position {head}): "
            "lines were added"
        )
    if not hmac.compare_digest(report.last_link, header.head_link):
        return f"position {head}: its link is not the head link the header records"
    return None


# --- restoring -----------------------------------------------------------------------------


class PinnedChain(HashChain):
    """The chain key of ``chain``, sealing each append at a time the caller pins.

    A restore must give every event its original ``recorded_at``, which the link signs. Every
    adapter seals an append through its chain, passing the time its clock gave; sealing with the
    pinned time instead gives back the backup's events with their links, whatever clock the
    adapter was opened with. Nothing else changes: it computes links with ``chain``'s key.
    """

    __slots__ = ("_chain", "_moment")

    def __init__(self, chain: HashChain) -> None:  # no super().__init__(): it holds no key
        self._chain = chain
        self._moment: datetime | None = None

    def pin(self, moment: datetime) -> None:
        self._moment = moment

    def link(self, previous_link: bytes, content: bytes) -> bytes:
        return self._chain.link(previous_link, content)

    def mac(self, domain: bytes, *fields: bytes) -> bytes:
        return self._chain.mac(domain, *fields)

    def seal(
        self,
        previous_link: bytes,
        stream: str,
        first_version: int,
        first_position: int,
        events: Sequence[NewEvent],
        recorded_at: datetime,
    ) -> list[RecordedEvent]:
        if self._moment is None:
            raise RuntimeError("PinnedChain.seal needs a time: call pin() before appending")
        return self._chain.seal(
            previous_link, stream, first_version, first_position, events, self._moment
        )


async def load_backup(
    events: Iterator[RecordedEvent], log: EventLog, chain: PinnedChain
) -> tuple[int, bytes]:
    """Append ``events`` (a verified backup's, in position order) to the empty ``log``.

    Consecutive events of one stream recorded at the same time were one append, and are appended
    together again (up to a bound), which also keeps MongoDB's one-document-per-append layout.
    Every stored record must equal the backup's event, link included; the first one that does
    not stops the restore. Returns the last position and link written.
    """
    last: tuple[int, bytes] = (0, GENESIS)
    batch: list[RecordedEvent] = []
    for event in events:
        if batch and not _same_append(batch, event):
            last = await _append_batch(log, chain, batch)
            batch = []
        batch.append(event)
    if batch:
        last = await _append_batch(log, chain, batch)
    return last


def _same_append(batch: list[RecordedEvent], event: RecordedEvent) -> bool:
    previous = batch[-1]
    return (
        len(batch) < _RESTORE_BATCH
        and event.stream == previous.stream
        and event.version == previous.version + 1
        and event.recorded_at == previous.recorded_at
    )


async def _append_batch(
    log: EventLog, chain: PinnedChain, batch: list[RecordedEvent]
) -> tuple[int, bytes]:
    first = batch[0]
    chain.pin(first.recorded_at)
    try:
        stored = await log.append(
            first.stream, first.version - 1, [NewEvent(e.type, e.data) for e in batch]
        )
    except WrongExpectedVersion as conflict:
        raise RestoreMismatchError(
            f"position {first.position}: {first.stream} is at version {conflict.actual} in the "
            f"target, not {conflict.expected}: another process wrote to it while restoring; "
            "empty it before retrying"
        ) from None
    for expected, got in zip(batch, stored, strict=True):
        if got != expected:
            what = "link" if got.position == expected.position else "position"
            raise RestoreMismatchError(
                f"position {expected.position}: the target stored a different {what} than the "
                f"backup holds (did another process write to it?); the target now holds a "
                f"partial log up to position {stored[-1].position}: empty it before retrying"
            )
    return stored[-1].position, stored[-1].link
