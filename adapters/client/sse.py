"""An incremental parser of ``text/event-stream`` (Server-Sent Events), fed bytes as they come.

It follows the WHATWG "event stream interpretation": lines end with CR, LF or CRLF (a CRLF split
across two chunks is still one line end); ``field: value`` with one optional space after the
colon; ``data`` lines are joined with LF; a blank line dispatches the event, unless it has no
data; ``id`` sets the last event id (which later events keep until another ``id``, and which a
reconnecting client sends as ``Last-Event-ID``), ignored if it holds NUL; ``retry`` with only
digits sets the reconnection delay; lines starting with ``:`` are comments; a leading byte order
mark is dropped; unknown fields are ignored.

Where the standard is lenient this parser is strict, since what it reads is our own server:
text that is not UTF-8 and lines longer than ``max_line`` bytes raise :class:`SseError` (the only
exception :meth:`SseParser.feed` raises) instead of being repaired or buffered without end.
"""

from __future__ import annotations

import re
from typing import Final

import attrs

#: the longest line accepted: a whole configuration in one ``data`` line is well under this
MAX_LINE: Final = 4 * 1024 * 1024
_LINE_END: Final = re.compile(rb"[\r\n]")
_BOM: Final = "\ufeff"


class SseError(ValueError):
    """The bytes are not an event stream this parser accepts."""


@attrs.frozen
class Event:
    """One dispatched event: its type (``message`` when the stream named none), its data and
    the last event id at the time it was dispatched (empty when none was ever given)."""

    type: str
    data: str
    id: str = ""


class SseParser:
    """Feed it chunks; it returns the events each chunk completes."""

    def __init__(self, max_line: int = MAX_LINE) -> None:
        self._max_line = max_line
        self._buffer = bytearray()
        self._after_cr = False  # the last line ended with CR: a LF right after belongs to it
        self._first_line = True
        self._type = ""
        self._data: list[str] = []
        #: the id a reconnecting client sends as ``Last-Event-ID``
        self.last_event_id = ""
        #: the reconnection delay the stream asked for, in milliseconds
        self.retry: int | None = None
        #: comment lines seen (keep-alives)
        self.comments = 0

    def feed(self, chunk: bytes) -> list[Event]:
        buffer = self._buffer
        buffer += chunk
        events: list[Event] = []
        start = 0
        while True:
            if self._after_cr and start < len(buffer):
                self._after_cr = False
                if buffer[start] == 0x0A:
                    start += 1
            found = _LINE_END.search(buffer, start)
            if found is None:
                break
            end = found.start()
            if end - start > self._max_line:
                raise SseError(f"a line is longer than {self._max_line} bytes")
            self._after_cr = buffer[end] == 0x0D
            event = self._line(bytes(buffer[start:end]))
            start = end + 1
            if event is not None:
                events.append(event)
        del buffer[:start]
        if len(buffer) > self._max_line:
            raise SseError(f"a line is longer than {self._max_line} bytes")
        return events

    def _line(self, raw: bytes) -> Event | None:
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise SseError(f"the stream is not UTF-8 text: {error.reason}") from None
        if self._first_line:
            self._first_line = False
            line = line.removeprefix(_BOM)
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            self.comments += 1
            return None
        field, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if field == "data":
            self._data.append(value)
        elif field == "event":
            self._type = value
        elif field == "id" and "\0" not in value:
            self.last_event_id = value
        elif field == "retry" and value.isascii() and value.isdigit() and len(value) <= 18:
            self.retry = int(value)
        return None

    def _dispatch(self) -> Event | None:
        data, kind = self._data, self._type
        self._data, self._type = [], ""
        if not data:
            return None
        return Event(kind or "message", "\n".join(data), self.last_event_id)
