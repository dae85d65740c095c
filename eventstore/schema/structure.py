"""Turn a JSON document into the frozen settings classes, reporting every problem at once.

A user fixing a config file wants the whole list, not one error per restart; so structuring
walks everything, collects :class:`Issue` objects with dotted paths, and raises once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

import attrs

from eventstore.computed import EMPTY_SECRET_MESSAGE, GeneratedSecret
from eventstore.errors import Issue, ValidationFailed
from eventstore.schema.declare import NORMALISERS, REFINEMENTS, declared_fields
from eventstore.schema.kinds import INVALID, expected

T = TypeVar("T")


def join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def structure(cls: type[T], data: Any, heading: str = "Invalid configuration") -> T:
    """Build ``cls`` from ``data`` or raise :class:`ValidationFailed` listing every issue."""
    issues: list[Issue] = []
    result = structure_into(cls, data, "", issues)
    if issues or result is INVALID:
        raise ValidationFailed(issues, heading)
    return result  # type: ignore[no-any-return]


def structure_like(
    cls: type[T],
    data: Any,
    like: T,
    like_data: Mapping[str, Any],
    heading: str = "Invalid configuration",
) -> T:
    """Like :func:`structure`, but every part of ``data`` equal to the same part of
    ``like_data`` is taken from ``like`` (built from ``like_data``) instead of being rebuilt.

    Thousands of tenant configs that differ from the platform's in a few fields then share all
    the rest with it: only the objects on the path to a difference are new.
    """
    issues: list[Issue] = []
    result = structure_into(cls, data, "", issues, (like, like_data))
    if issues or result is INVALID:
        raise ValidationFailed(issues, heading)
    return result  # type: ignore[no-any-return]


def structure_into(
    cls: type,
    data: Any,
    path: str,
    issues: list[Issue],
    like: tuple[Any, Mapping[str, Any]] | None = None,
) -> Any:
    if not isinstance(data, Mapping):
        issues.append(Issue(path, expected("object", data)))
        return INVALID
    before = len(issues)
    fields = declared_fields(cls)
    known = {d.info.key for d in fields}
    issues.extend(
        Issue(join(path, str(k)), "Unknown setting (not part of the schema)")
        for k in data
        if k not in known
    )
    values: dict[str, Any] = {}
    for d in fields:
        info = d.info
        where = join(path, info.key)
        if info.key not in data:
            if d.default is None and not (info.nullable or info.optional):
                issues.append(Issue(where, _missing_message(info)))
            continue
        raw = data[info.key]
        if like is not None and info.key in like[1] and like[1][info.key] == raw:
            values[d.name] = getattr(like[0], d.name)
            continue
        if raw is None and not getattr(info.kind, "accepts_null", False):
            if info.nullable or info.optional:
                values[d.name] = None
            else:
                issues.append(Issue(where, _missing_message(info, raw=None)))
            continue
        if info.nested is not None:
            nested_like = None
            if like is not None and isinstance(like[1].get(info.key), Mapping):
                nested_like = (getattr(like[0], d.name), like[1][info.key])
            parsed = structure_into(info.nested, raw, where, issues, nested_like)
        elif isinstance(info.computed, GeneratedSecret) and raw == "":
            issues.append(Issue(where, EMPTY_SECRET_MESSAGE))
            parsed = INVALID
        else:
            assert info.kind is not None
            parsed = info.kind.parse(raw, where, issues)
        if parsed is not INVALID:
            values[d.name] = parsed
    if len(issues) > before:
        return INVALID
    instance = cls(**values)
    for rule in REFINEMENTS.get(cls, ()):
        issues.extend(rule(instance, path))
    if len(issues) > before:
        return INVALID
    for normalise in NORMALISERS.get(cls, ()):
        instance = normalise(instance)
    return instance


def _missing_message(info: Any, raw: object = "absent") -> str:
    received = "undefined" if raw == "absent" else "null"
    kind = info.kind
    url_message = getattr(kind, "url_message", None)
    if url_message and raw == "absent":
        return str(url_message)
    if getattr(kind, "literals", False):
        return "Invalid input"  # a union of literals, as Zod words it for any value
    name = "object" if info.nested is not None else _kind_type(kind)
    return f"Invalid input: expected {name}, received {received}"


def _kind_type(kind: Any) -> str:
    name = type(kind).__name__
    inner = getattr(kind, "inner", None)
    if inner is not None:
        return _kind_type(inner)
    return {
        "ListOf": "array",
        "MapOf": "object",
        "Boolean": "boolean",
        "Integer": "number",
        "Choice": "string",
    }.get(name, "string")


def unstructure(obj: Any, *, reveal: bool = False) -> dict[str, Any]:
    """The JSON document of a settings object; secrets masked unless ``reveal``."""
    out: dict[str, Any] = {}
    for d in declared_fields(type(obj)):
        value = getattr(obj, d.name)
        if value is None:
            if d.default is not None or not (d.info.nullable or d.info.optional):
                out[d.info.key] = None
        elif d.info.nested is not None:
            out[d.info.key] = unstructure(value, reveal=reveal)
        else:
            assert d.info.kind is not None
            out[d.info.key] = d.info.kind.dump(value, reveal)
    return out


@attrs.frozen
class Nested:
    """A list element that is itself a settings class: the kind of ``ListOf(Nested(Cls))``.

    It lives with the walker rather than with the other kinds because parsing it *is*
    structuring; the kinds stay leaves that know nothing of settings classes.
    """

    cls: type

    def parse(self, value: Any, path: str, issues: list[Issue]) -> Any:
        return structure_into(self.cls, value, path, issues)

    def dump(self, value: Any, reveal: bool) -> Any:
        return unstructure(value, reveal=reveal)
