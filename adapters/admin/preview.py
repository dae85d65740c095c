"""What a pending change would do, computed before anything is written.

The console shows the impact summary (``impact_rules.json``) and the changed settings before a save
or an import, and shows validation messages next to the inputs. Both need the change checked the way
the store will check it, without appending: the candidate document is built as the store builds it
(merge over the latest stored document, masks put back, bootstrap-only paths stripped) and validated
as a whole (D18 in docs/decisions.md). The store validates again when it saves, so a preview can
never let an invalid change through; it only answers earlier.

A preview never tells whether a submitted secret equals the stored one (D25): every secret the
change sets to something other than the mask is shown as changed, so guessing a secret through
previews learns nothing. (A save of an equal value appends nothing; that shows only after a
write, which is audited.)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from adapters.service import ConfigService
from eventstore.commands import EXPORT_METADATA_KEYS
from eventstore.docpath import deep_merge, get_path, set_path
from eventstore.masking import is_masked, restore_masked
from eventstore.resolve import layered_document, strip_unpersisted
from eventstore.schema import AppConfig, structure
from eventstore.schema.paths import SECRET_FIELDS
from eventstore.secret import is_unset
from projections.diff import Diff


@attrs.frozen
class Preview:
    """The change to send to the store (masks already restored) and what it implies."""

    change: dict[str, Any]
    diff: Diff


async def preview_save(service: ConfigService, partial: Mapping[str, Any]) -> Preview:
    """Raises ``ValidationFailed`` (every failing path) when the store would refuse it."""
    current = await service.plaintext_at()
    change, _ = restore_masked(partial, current, SECRET_FIELDS)
    candidate = deep_merge(current, strip_unpersisted(change))
    return Preview(change, _checked(service, current, candidate, submitted=partial))


async def preview_import(service: ConfigService, document: Mapping[str, Any]) -> Preview:
    """As ``import_document`` will do it: metadata dropped, masks keep current values."""
    current = await service.plaintext_at()
    body = {k: v for k, v in document.items() if k not in EXPORT_METADATA_KEYS}
    restored, _ = restore_masked(strip_unpersisted(body), current, SECRET_FIELDS)
    candidate = deep_merge(current, restored)
    return Preview(dict(document), _checked(service, current, candidate, submitted=body))


def _checked(
    service: ConfigService,
    current: Mapping[str, Any],
    candidate: Mapping[str, Any],
    *,
    submitted: Mapping[str, Any],
) -> Diff:
    doc, _ = layered_document(candidate, service.sources.bootstrap)
    structure(AppConfig, doc)
    return Diff.between(_withheld(current, submitted), strip_unpersisted(candidate))


class _Withheld:
    """Stands for a stored secret in the "before" side of a preview's diff: equal to nothing
    (the diff compares by type and value), and masked like any other secret value."""


def _withheld(current: Mapping[str, Any], submitted: Mapping[str, Any]) -> dict[str, Any]:
    """``current`` with each stored secret that ``submitted`` sets — to anything but the mask or
    "unset" — replaced by a :class:`_Withheld`, so the diff shows it as changed whether or not
    the submitted value equals the stored one. A list keeps its length (its "before" side shows
    as many masks as it had)."""
    result = dict(current)
    for path in SECRET_FIELDS:
        value = get_path(submitted, path, None)
        if is_unset(value) or is_masked(value):
            continue
        stored = get_path(current, path, None)
        if is_unset(stored):
            continue  # nothing stored: the diff shows the submitted value as new either way
        hidden: Any = [_Withheld() for _ in stored] if isinstance(stored, list) else _Withheld()
        result = set_path(result, path, hidden)
    return result
