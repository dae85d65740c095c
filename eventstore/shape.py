"""The shape every written document must have before anything else looks at it.

Validation proper (the schema's rules and messages) runs on the complete runtime config, after
the stored document has been layered with defaults, the bootstrap and computed fields. Layering
needs objects where the schema has sections and groups, and every step that walks a document —
merging, diffing, encrypting, the JSON encoder — needs it to be finite and encodable. So a
written document is checked for exactly that first, and every problem is reported by path as
invalid input: a declared group holding something other than an object, nesting deeper than any
setting can use, and text that is not valid Unicode (which no event could store).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from eventstore.errors import Issue, ValidationFailed
from eventstore.schema.kinds import expected
from eventstore.schema.paths import OBJECT_PATHS

#: far beyond the schema's own depth (7) and any free-form map a setting holds, far below what
#: would exhaust the interpreter's stack anywhere a document is walked
MAX_DEPTH: Final = 32


def check_shape(document: Any, prefix: str = "") -> None:
    """Raise :class:`ValidationFailed` naming every place where ``document`` (found at
    ``prefix``) cannot be a stored configuration document or part of one."""
    issues = list(shape_issues(document, prefix))
    if issues:
        raise ValidationFailed(issues)


def shape_issues(document: Any, prefix: str = "") -> list[Issue]:
    """The problems :func:`check_shape` reports, without recursion (a hostile document may be
    nested far deeper than the interpreter's stack)."""
    issues: list[Issue] = []
    pending: list[tuple[str, Any, int]] = [(prefix, document, prefix.count(".") + bool(prefix))]
    while pending:
        path, value, depth = pending.pop()
        if path in OBJECT_PATHS and not isinstance(value, Mapping):
            issues.append(Issue(path, expected("object", value)))
            continue
        if depth > MAX_DEPTH:
            issues.append(Issue(path, f"nested too deeply (more than {MAX_DEPTH} levels)"))
            continue
        if isinstance(value, str) and not _encodable(value):
            issues.append(Issue(path, "text is not valid Unicode (it holds a lone surrogate)"))
        elif isinstance(value, Mapping):
            for key, item in value.items():
                child = f"{path}.{key}" if path else str(key)
                if isinstance(key, str) and not _encodable(key):
                    issues.append(Issue(path or "(root)", "a key is not valid Unicode"))
                    continue
                pending.append((child, item, depth + 1))
        elif isinstance(value, list | tuple):
            pending.extend((f"{path}[{i}]", item, depth + 1) for i, item in enumerate(value))
    return sorted(issues, key=lambda issue: issue.path)


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
