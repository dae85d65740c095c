"""The configuration object of an app process, built from the runtime API's JSON exactly as the
service builds its own (:func:`eventstore.schema.structure`), so attribute names and value types
(``Secret``, tuples, …) are the same in and out of process.

The runtime document leaves out the ``storage`` section (this store's own connection): the
object built here holds that section's defaults, which an app must not use. Settings this
release does not know (a newer server) are dropped before building, so an older client keeps
working; their paths are returned for a warning.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from eventstore.schema import AppConfig, structure, structure_like
from eventstore.schema.declare import declared_fields


def known_only(
    cls: type, document: Mapping[str, Any], path: str = ""
) -> tuple[dict[str, Any], list[str]]:
    """``document`` without the settings ``cls`` does not declare, and their paths."""
    fields = {d.info.key: d for d in declared_fields(cls)}
    kept: dict[str, Any] = {}
    dropped: list[str] = []
    for key, value in document.items():
        where = f"{path}.{key}" if path else key
        declared = fields.get(key)
        if declared is None:
            dropped.append(where)
        elif declared.info.nested is not None and isinstance(value, Mapping):
            kept[key], inner = known_only(declared.info.nested, value, where)
            dropped += inner
        else:
            kept[key] = value
    return kept, dropped


def build(
    document: Mapping[str, Any], previous: tuple[AppConfig, dict[str, Any]] | None = None
) -> tuple[AppConfig, dict[str, Any], list[str]]:
    """The config, the document it was built from (to pass as ``previous`` next time: the
    unchanged parts are reused) and the unknown settings dropped. Raises
    :class:`eventstore.errors.ValidationFailed` when the document does not validate."""
    known, dropped = known_only(AppConfig, document)
    if previous is None:
        return structure(AppConfig, known), known, dropped
    return structure_like(AppConfig, known, previous[0], previous[1]), known, dropped


def changed_paths(before: Any, after: Any, path: str = "") -> list[str]:
    """The dotted paths of the settings whose values differ (objects compared key by key)."""
    if isinstance(before, Mapping) and isinstance(after, Mapping):
        changed: list[str] = []
        for key in dict.fromkeys([*before, *after]):
            where = f"{path}.{key}" if path else str(key)
            if key not in before or key not in after:
                changed.append(where)
            else:
                changed += changed_paths(before[key], after[key], where)
        return changed
    return [] if before == after else [path]
