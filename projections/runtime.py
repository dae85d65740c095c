"""The active RuntimeConfig of this process, kept current by catching up with the log.

Readers take ``view.config``: one attribute read of an immutable object. Catching up builds the
next config on the side and swaps the reference in one assignment, so a reader sees either the
old or the new config, never a mix.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import structlog

from eventstore.commands import ConfigCommands
from eventstore.log import EventLog
from eventstore.schema import AppConfig
from eventstore.state import PLATFORM_STREAM, StoredConfig

Subscriber = Callable[["RuntimeView"], Any]
_log = structlog.get_logger(__name__)


class RuntimeView:
    """The platform RuntimeConfig plus the log position and version it reflects."""

    def __init__(self, log: EventLog, commands: ConfigCommands) -> None:
        self._log = log
        self._commands = commands
        self._subscribers: dict[str, Subscriber] = {}
        self.state = StoredConfig()
        self.position = 0
        self.config: AppConfig | None = None

    @property
    def version(self) -> int:
        return self.state.version

    def subscribe(self, name: str, callback: Subscriber) -> None:
        """Call ``callback(view)`` after every applied version; re-subscribing replaces."""
        self._subscribers[name] = callback

    async def catch_up(self) -> bool:
        """Apply everything committed after our position; True if the config changed."""
        head = await self._log.head_position()
        if head <= self.position:
            return False
        newer = await self._log.read_all(self.position)
        touched = any(e.stream == PLATFORM_STREAM for e in newer)
        self.position = newer[-1].position if newer else head
        if not touched and self.config is not None:
            return False
        state = await self._commands.load()
        config = self._commands.runtime(state)
        self.state, self.config = state, config
        for name, callback in list(self._subscribers.items()):
            try:
                callback(self)
            except Exception:
                _log.exception("subscriber failed", subscriber=name, version=state.version)
        return True
