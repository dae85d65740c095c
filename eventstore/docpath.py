"""Dotted-path access to nested JSON-like documents.

Configuration is addressed by dotted paths (``security.secrets.jwt_secret``) everywhere: in
events, validation issues, encryption and masking. These helpers give every caller the same
answer to "what is at this path" and never mutate their inputs, because documents are shared
between event payloads and projections: a write returns a new document that copies only the
dicts along the changed path and shares everything else (structural sharing). Treat every
document, including the ones returned here, as immutable.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Final, TypeGuard


class _Missing(enum.Enum):
    """An enum member is the one sentinel mypy can narrow on, unlike a bare ``object()``."""

    MISSING = enum.auto()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing.MISSING
"""Stands for "no value here", because ``None`` is a legitimate configuration value."""

SEPARATOR: Final = "."

#: the JSON values that are not objects: telling them apart needs no abstract-class check
_NOT_OBJECTS: Final = (str, int, float, list, tuple, type(None))


def is_object(value: object) -> TypeGuard[Mapping[str, Any]]:
    """Whether ``value`` is an object of a document (any mapping). The same answer as
    ``isinstance(value, Mapping)``, without the abstract-class check for the values documents
    mostly hold (plain dicts and JSON scalars), which made it the largest single cost of
    walking many documents."""
    if type(value) is dict:
        return True
    return not isinstance(value, _NOT_OBJECTS) and isinstance(value, Mapping)


def split_path(path: str) -> tuple[str, ...]:
    """Split a dotted path, refusing empty segments so that typos fail loudly, not silently."""
    segments = tuple(path.split(SEPARATOR))
    if "" in segments:
        raise ValueError(f"invalid path {path!r}: empty segment")
    return segments


def _lookup(doc: Mapping[str, Any], segments: tuple[str, ...]) -> Any:
    node: Any = doc
    for segment in segments:
        if not is_object(node) or segment not in node:
            return MISSING
        node = node[segment]
    return node


def get_path(doc: Mapping[str, Any], path: str, default: Any = MISSING) -> Any:
    """Return the value at ``path``; without a default an absent path raises ``KeyError``.

    A path that runs through a non-object value is absent rather than an error, because a
    document that holds a scalar where a section is expected is a validation issue, not a crash.
    """
    value = _lookup(doc, split_path(path))
    if value is MISSING:
        if default is MISSING:
            raise KeyError(path)
        return default
    return value


def has_path(doc: Mapping[str, Any], path: str) -> bool:
    """Tell whether ``path`` holds a value (``None`` counts as a value)."""
    return _lookup(doc, split_path(path)) is not MISSING


def _set(
    node: Mapping[str, Any], segments: tuple[str, ...], value: Any, path: str
) -> dict[str, Any]:
    head, rest = segments[0], segments[1:]
    copy = dict(node)
    if not rest:
        copy[head] = value
        return copy
    child = node.get(head, MISSING)
    if child is MISSING:
        child = {}
    elif not is_object(child):
        raise TypeError(f"cannot set {path}: {head} holds a value that is not an object")
    copy[head] = _set(child, rest, value, path)
    return copy


def set_path(doc: Mapping[str, Any], path: str, value: Any) -> dict[str, Any]:
    """Return a new document with ``value`` at ``path``, creating missing objects on the way.

    Overwriting a non-object ancestor raises ``TypeError`` instead, because silently turning a
    scalar into a section would hide a caller's mistake.
    """
    return _set(doc, split_path(path), value, path)


def set_paths(doc: Mapping[str, Any], items: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    """``set_path`` for each ``(path, value)`` in turn, each object on the way copied once
    rather than once per path (a fold applies an event's changes this way)."""
    root = dict(doc)
    #: the objects this call made, by id (held, so that no id is reused while it runs)
    owned: dict[int, dict[str, Any]] = {id(root): root}
    for path, value in items:
        segments = split_path(path)
        node = root
        for head in segments[:-1]:
            found = node.get(head, MISSING)
            if found is MISSING:
                child: dict[str, Any] = {}
            elif not is_object(found):
                raise TypeError(f"cannot set {path}: {head} holds a value that is not an object")
            elif id(found) in owned:
                node = owned[id(found)]
                continue
            else:
                child = dict(found)
            owned[id(child)] = child
            node[head] = child
            node = child
        node[segments[-1]] = value
    return root


def _delete(node: Mapping[str, Any], segments: tuple[str, ...]) -> dict[str, Any] | None:
    """Return the node without the path, or ``None`` if the path was not there."""
    head, rest = segments[0], segments[1:]
    if head not in node:
        return None
    copy = dict(node)
    if not rest:
        del copy[head]
        return copy
    child = node[head]
    if not is_object(child):
        return None
    new_child = _delete(child, rest)
    if new_child is None:
        return None
    if new_child:
        copy[head] = new_child
    else:
        del copy[head]
    return copy


def delete_path(doc: Mapping[str, Any], path: str) -> dict[str, Any]:
    """Return a new document without ``path``; absent paths are not an error.

    Objects emptied by the removal go too, so that unsetting the last override of a section
    leaves no empty shell behind that would later read as "section overridden with nothing".
    The top-level document is always returned, even when it ends up empty.
    """
    deleted = _delete(doc, split_path(path))
    return dict(doc) if deleted is None else deleted


def iter_leaves(doc: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Yield ``(dotted path, value)`` for every non-object value, lists included.

    Empty objects yield nothing. A key that cannot be written as a path segment (empty, or
    containing a dot) raises ``ValueError`` rather than yielding a path that points elsewhere.
    """
    for key, value in doc.items():
        if not key or SEPARATOR in key:
            raise ValueError(f"key {key!r} under {prefix or 'the root'} cannot be used in a path")
        path = f"{prefix}{SEPARATOR}{key}" if prefix else key
        if is_object(value):
            yield from iter_leaves(value, path)
        else:
            yield path, value


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Layer ``override`` on ``base``: objects merge key by key, everything else replaces.

    Lists replace rather than concatenate and ``None`` replaces rather than meaning "inherit",
    so that an override can always state the final value exactly (an empty allow-list, an unset
    secret). Keys absent from ``override`` keep the base value.

    The merge is associative only for documents that agree on which paths hold objects (as
    documents of one schema do): when the middle layer puts a scalar where the bottom and top
    layers have objects, merging bottom-up drops the bottom object, while merging the top two
    layers first lets it show through.
    """
    result = dict(base)
    for key, value in override.items():
        current = result.get(key, MISSING)
        if isinstance(value, Mapping) and isinstance(current, Mapping):
            result[key] = deep_merge(current, value)
        else:
            result[key] = value
    return result
