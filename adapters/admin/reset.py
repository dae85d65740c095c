"""What resetting settings to their defaults would do, before anything is written.

A reset is the store's ``unset``: the stored values are deleted and the defaults show through.
Like a save's preview (``preview``), the candidate is built as the store will build it and
validated as a whole (D18 in docs/decisions.md), so the person sees either the messages or the
changes a reset makes, with their impact, before confirming. The changes are those of the
effective configuration (the old value and the default it returns to, and any computed setting
that follows), which is what the reset means to someone reading it.
"""

from __future__ import annotations

from collections.abc import Sequence

from adapters.service import ConfigService
from eventstore.docpath import delete_path
from eventstore.resolve import layered_for_write, strip_unpersisted
from eventstore.schema import AppConfig, structure
from projections.diff import Diff


async def preview_unset(service: ConfigService, paths: Sequence[str]) -> Diff:
    """Raises ``ValidationFailed`` (every failing path) when the store would refuse it."""
    current = await service.plaintext_at()
    candidate = current
    for path in paths:
        candidate = delete_path(candidate, path)
    bootstrap = service.sources.bootstrap
    before, _ = layered_for_write(current, bootstrap)
    after, _ = layered_for_write(candidate, bootstrap)
    structure(AppConfig, after)
    return Diff.between(strip_unpersisted(before), strip_unpersisted(after))
