"""Where this process's config comes from: bootstrap, then the file (development) or the store.

The choice is made once at start-up from the bootstrap variables (D2 in docs/decisions.md): file
mode needs ``USE_FILE_CONFIG=true`` *and* ``DEPLOYMENT_ENVIRONMENT=development``; anything else is
database mode, which reads the event log.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import attrs

from adapters.sources.bootstrap import read_bootstrap
from adapters.sources.env_files import read_env
from adapters.sources.file_source import load_file_document
from eventstore.resolve import Bootstrap


@attrs.frozen
class Sources:
    """The bootstrap, and in file mode the document from the file (None if there is none)."""

    root: Path
    bootstrap: Bootstrap
    file_mode: bool
    file_document: Mapping[str, Any] | None = None
    warnings: tuple[str, ...] = ()


class _Warnings:
    """Where warnings about the sources go as they are found (the command line prints them on
    stderr), each one once per process however often the sources are read."""

    def __init__(self) -> None:
        self.sink: Callable[[str], None] | None = None
        self.reported: set[str] = set()

    def report(self, warnings: tuple[str, ...]) -> None:
        if self.sink is None:
            return
        for warning in warnings:
            if warning not in self.reported:
                self.reported.add(warning)
                self.sink(warning)


_WARNINGS = _Warnings()


def report_warnings_to(sink: Callable[[str], None] | None) -> None:
    """Send every warning found while reading the sources to ``sink`` (once each), from now on."""
    _WARNINGS.sink = sink


def read_sources(root: Path, environ: Mapping[str, str]) -> Sources:
    """Read every layer that is not the event log; errors name the variable or file:line:col."""
    bootstrap = read_bootstrap(read_env(root, environ))
    file_mode = bootstrap.process.use_file_config and bootstrap.environment == "development"
    if not file_mode:
        return Sources(root, bootstrap, file_mode=False)
    found = load_file_document(root, bootstrap.environ)
    if found.document is None:
        searched = " or ".join(str(p.relative_to(root)) for p in found.searched)
        warnings = (f"no config file found (searched {searched}); using defaults and bootstrap",)
        _WARNINGS.report(warnings)
        return Sources(root, bootstrap, file_mode=True, warnings=warnings)
    return Sources(root, bootstrap, file_mode=True, file_document=found.document)
