"""What the SQL event logs (SQLite, PostgreSQL) share: the events table's rows, the append's head
query, and the refusal to touch a schema from the future.

Both adapters store one row per event in the same columns and append the same way (read the
head, seal after it, insert), so these pieces are written once; only the parameter placeholder
differs (``?`` in SQLite, ``$1`` in PostgreSQL) and is passed in. Everything else that differs
(migrations, locking, upserts, limits) stays with its dialect.
"""

from __future__ import annotations

from collections.abc import Iterable
from os import PathLike
from typing import Any, Final

from eventstore.errors import ConfigError
from eventstore.log import EVENT_COLUMNS, RecordedEvent, to_epoch_micros

#: parameters per event row: one per column of :data:`~eventstore.log.EVENT_COLUMNS`
ROW_WIDTH: Final = len(EVENT_COLUMNS.split(","))


class SchemaTooNewError(ConfigError):
    """The log was written by a newer parako-config; touching it could corrupt it."""

    def __init__(self, where: str | PathLike[str], found: int, known: int) -> None:
        super().__init__(
            f"{where}: the event log has schema version {found}, but this version of "
            f"parako-config only knows up to {known}. Upgrade parako-config."
        )
        self.found = found


def append_head_sql(stream_parameter: str) -> str:
    """Everything an append must know, in one statement: the stream's version and the last
    event's position and link (NULL on an empty log). ``stream_parameter`` is the dialect's
    placeholder for the stream name."""
    return f"""SELECT
    (SELECT COALESCE(MAX(version), 0) FROM events WHERE stream = {stream_parameter}),
    (SELECT position FROM events ORDER BY position DESC LIMIT 1),
    (SELECT link FROM events ORDER BY position DESC LIMIT 1)"""


def insert_events_sql(rows: Iterable[str]) -> str:
    """One INSERT of the given placeholder rows (each ``(…)`` of :data:`ROW_WIDTH` parameters):
    a single statement is atomic on its own, which the known-head append relies on."""
    return f"INSERT INTO events ({EVENT_COLUMNS}) VALUES {', '.join(rows)}"


def event_row(event: RecordedEvent) -> tuple[Any, ...]:
    """``event`` as the parameters of one row, in :data:`~eventstore.log.EVENT_COLUMNS` order."""
    return (
        event.stream,
        event.version,
        event.position,
        event.type,
        event.data,
        to_epoch_micros(event.recorded_at),
        event.link,
    )


#: the head checkpoint: one row, moved forward by a trigger on every inserted event, so it is
#: written in the append's own transaction whichever way the append was made
CHECKPOINT_SQL: Final = "SELECT position, link FROM checkpoint WHERE id = 1 AND position > 0"


def read_links_sql(placeholders: Iterable[str]) -> str:
    """The links of the events at the given positions (one placeholder per position)."""
    return f"SELECT position, link FROM events WHERE position IN ({', '.join(placeholders)})"
