"""The shape every written document must have before anything else looks at it.

Validation proper (the schema's rules and messages) runs on the complete runtime config, after
the stored document has been layered with defaults, the bootstrap and computed fields. Layering
needs objects where the schema has sections and groups, and every step that walks a document —
merging, diffing, encrypting, the JSON encoder — needs it to be finite and encodable. So a
written document is checked for exactly that first, and every problem is reported by path as
invalid input: a declared group holding something other than an object, nesting deeper than any
setting can use, text that is not valid Unicode (which no event could store), NUL characters
(PostgreSQL cannot store them, and C consumers end a string at them), and keys that the
configuration's consumers cannot hold safely: empty keys and keys holding a path separator (a
change to ``a.b`` would be recorded as a change to ``a`` then ``b``), and ``__proto__``,
``constructor`` or ``prototype``, which a JavaScript reader of a free-form map such as
``features.oidc.claims`` would turn into a prototype change instead of an entry (D27 in
docs/decisions.md).
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
#: keys that name an object's prototype machinery in JavaScript, whatever the map they are in
PROTOTYPE_KEYS: Final = frozenset({"__proto__", "constructor", "prototype"})
#: what separates the segments of a recorded path (``a.b``, ``a[0]``)
PATH_SEPARATORS: Final = (".", "[", "]")


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
        if isinstance(value, str):
            problem = _text_problem(value)
            if problem:
                issues.append(Issue(path, problem))
        elif isinstance(value, Mapping):
            for key, item in value.items():
                problem = _key_problem(key)
                if problem:
                    issues.append(Issue(path or "(root)", problem))
                    continue
                pending.append((f"{path}.{key}" if path else key, item, depth + 1))
        elif isinstance(value, list | tuple):
            pending.extend((f"{path}[{i}]", item, depth + 1) for i, item in enumerate(value))
    return sorted(issues, key=lambda issue: issue.path)


def _text_problem(text: str) -> str | None:
    if not _encodable(text):
        return "text is not valid Unicode (it holds a lone surrogate)"
    if "\x00" in text:
        return "text must not contain NUL characters"
    return None


def _key_problem(key: object) -> str | None:
    """Why ``key`` cannot be a key of a stored document (``None`` when it can)."""
    if not isinstance(key, str):
        return f"a key must be text, got {type(key).__name__}"
    if not key:
        return "a key must not be empty"
    if not _encodable(key):
        return "a key is not valid Unicode"
    shown = ascii(key) if len(key) <= 40 else ascii(key[:40]) + "…"
    if any(ord(c) < 0x20 or c == "\x7f" for c in key):
        return f"key {shown} must not contain control characters"
    if any(sep in key for sep in PATH_SEPARATORS):
        return f"key {shown} must not contain '.', '[' or ']'"
    if key in PROTOTYPE_KEYS:
        return f"key {shown} is not allowed (JavaScript readers treat it as the object's prototype)"
    return None


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
