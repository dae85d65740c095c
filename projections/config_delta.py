"""A settings object kept as its differences from another of the same schema, and made again
from them on demand.

A tenant's config shares every part equal to the platform's with the platform config itself,
but each settings object on the way to a difference is a whole copy: one colour of a palette
copies its 33 fields, and the objects above it theirs. A cached tenant kept as a
:class:`ConfigDelta` costs only the values it differs in (and one :data:`Shape`, shared by every
tenant that differs at the same places); its object is made again from the platform's when it is
read, in the time it takes to allocate the objects on those paths.

:func:`delta` and :func:`made` are exact inverses for a base object the delta was taken against:
the object made again equals the original, holds the very same leaf values, and shares with the
base every part the original shared with it.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from itertools import compress, count
from operator import is_not
from typing import Any, Final

import attrs

from eventstore.errors import Issue
from eventstore.schema.declare import META_KEY, NORMALISERS, REFINEMENTS, declared_fields

#: where an object differs from its base: its class and, for each differing attribute (by its
#: position in the class), None for a value kept in the delta or the shape of a settings object
#: that differs in turn
Shape = tuple[type, tuple[tuple[int, "Shape | None"], ...]]

#: one shape object per distinct shape, shared by every delta that has it
_SHAPES: dict[Shape, Shape] = {}
#: how many distinct shapes are kept for sharing (past it the table starts again: bounded memory)
SHAPES_KEPT: Final = 4096


@attrs.frozen(weakref_slot=False)
class ConfigDelta:
    """Where and how an object differs from ``base``: the values at the places ``shape`` names,
    in the order a depth-first walk of the shape meets them."""

    base: Any
    shape: Shape
    values: tuple[Any, ...]

    def made(self) -> Any:
        """The object again (new objects on the differing paths, the base's everywhere else)."""
        return made(self.shape, self.base, self.values)


def delta(obj: Any, base: Any) -> ConfigDelta:
    """``obj`` as its differences from ``base`` (two objects of the same settings class).

    Differences are found by identity: an attribute holding the base's own object is shared,
    any other value is kept (an equal copy is kept as a value, which is correct, if larger)."""
    if type(obj) is not type(base) or not is_settings(type(obj)):
        raise TypeError(f"a delta needs two objects of one settings class, not {type(obj)!r}")
    values: list[Any] = []
    shape = shape_of(obj, base, values)
    return shaped(base, shape, tuple(values))


def shaped(base: Any, shape: Shape, values: tuple[Any, ...]) -> ConfigDelta:
    """The delta of ``shape`` and ``values`` from ``base``, its shape shared with every delta
    that has an equal one."""
    if len(_SHAPES) >= SHAPES_KEPT:
        _SHAPES.clear()
    return ConfigDelta(base, _SHAPES.setdefault(shape, shape), values)


def shape_of(obj: Any, base: Any, values: list[Any]) -> Shape:
    """Where ``obj`` differs from ``base``; the differing values are appended to ``values``."""
    cls = type(obj)
    entries: list[tuple[int, Shape | None]] = []
    if obj is not base:
        get = getter(cls)
        ours, theirs = get(obj), get(base)
        # (the attributes that differ found in one pass in C: most are the base's own)
        for index in compress(count(), map(is_not, ours, theirs)):
            mine, other = ours[index], theirs[index]
            kind = type(mine)
            if kind is type(other) and is_settings(kind):
                entries.append((index, shape_of(mine, other, values)))
            else:
                entries.append((index, None))
                values.append(mine)
    return (cls, tuple(entries))


def made(shape: Shape, base: Any, values: tuple[Any, ...]) -> Any:
    """The object a :func:`delta` of ``shape`` and ``values`` was taken from, made again."""
    try:
        result, used = _made(shape, base, values, 0)
    except IndexError:
        used = len(values) + 1  # (more places than values)
    if used != len(values):
        raise ValueError(f"the shape does not place the {len(values)} values of the delta")
    return result


def _made(shape: Shape, base: Any, values: tuple[Any, ...], at: int) -> tuple[Any, int]:
    cls, entries = shape
    if not entries:
        return base, at
    current = list(getter(cls)(base))
    for index, nested in entries:
        if nested is None:
            current[index] = values[at]
            at += 1
        else:
            current[index], at = _made(nested, current[index], values, at)
    # (a settings class takes its attributes in declaration order and neither converts nor
    # validates them in its constructor: structuring did that before the delta was taken)
    return cls(*current), at


_GETTERS: dict[type, Callable[[Any], tuple[Any, ...]]] = {}
_SETTINGS: dict[type, bool] = {}


def getter(cls: type) -> Callable[[Any], tuple[Any, ...]]:
    """Every attribute of a settings object at once, in declaration order."""
    found = _GETTERS.get(cls)
    if found is None:
        names = [field.name for field in attrs.fields(cls)]
        getter = operator.attrgetter(*names)
        found = getter if len(names) > 1 else (lambda obj: (getter(obj),))
        _GETTERS[cls] = found
    return found


def is_settings(cls: type) -> bool:
    """Whether ``cls`` is a settings class (its every attribute declared by the schema) that
    takes each attribute, in order, as it is: anything else is kept whole as a value."""
    found = _SETTINGS.get(cls)
    if found is None:
        fields = attrs.fields(cls) if attrs.has(cls) else ()
        found = _SETTINGS[cls] = bool(fields) and all(
            META_KEY in field.metadata
            and field.init
            and not field.kw_only
            and field.converter is None
            and field.validator is None
            and field.alias == field.name
            for field in fields
        )
    return found


class _Unsafe(Exception):
    """A change a delta cannot simply be laid on (a value it keeps, a normaliser)."""


def rebased(
    differences: ConfigDelta, base: Any, changed: Mapping[str, Any], previous: Any = None
) -> Any | None:
    """The object ``differences`` was taken from, on ``base``: a new base object that differs
    from ``differences.base`` only at the paths of ``changed`` (nested dicts of their JSON
    keys, an empty dict ending a path), none of which a value kept in the delta is at or in.

    Every object made on the way to a change is checked again by its class's refinements, as
    structuring checks it; the parts no change reaches are taken from ``previous`` (the object
    itself, when it is at hand) or made again. None when a check fails, when such an object
    has a normaliser, or when a change meets the delta's own values: the caller derives the
    object the general way."""
    issues: list[Issue] = []
    try:
        obj, _ = _rebased(
            differences.shape, base, differences.values, 0, changed, "", issues, previous
        )
    except _Unsafe:
        return None
    return None if issues else obj


def _rebased(
    shape: Shape,
    base: Any,
    values: tuple[Any, ...],
    at: int,
    changed: Mapping[str, Any],
    path: str,
    issues: list[Issue],
    previous: Any,
) -> tuple[Any, int]:
    cls, entries = shape
    if not entries:
        return base, at
    if type(base) is not cls:
        raise _Unsafe(path)
    get = getter(cls)
    current = list(get(base))
    before = get(previous) if previous is not None else None
    keys = _keys(cls)
    for index, nested in entries:
        key = keys[index]
        further = changed.get(key)
        if nested is None:
            if further is not None:
                raise _Unsafe(key)  # the platform changed a value this object keeps its own of
            current[index] = values[at]
            at += 1
        else:
            if further is not None and not further:
                raise _Unsafe(key)  # a whole object changed that this one differs inside
            if further is None and before is not None:
                current[index] = before[index]
                at += _count(nested)
                continue
            current[index], at = _rebased(
                nested,
                current[index],
                values,
                at,
                further or {},
                f"{path}.{key}" if path else key,
                issues,
                before[index] if before is not None else None,
            )
    obj = cls(*current)
    if changed:
        if NORMALISERS.get(cls):
            raise _Unsafe(path)
        for rule in REFINEMENTS.get(cls, ()):
            issues.extend(rule(obj, path))
    return obj, at


def _count(shape: Shape) -> int:
    """How many values a delta of ``shape`` holds."""
    return sum(1 if nested is None else _count(nested) for _, nested in shape[1])


_KEYS: dict[type, tuple[str, ...]] = {}


def _keys(cls: type) -> tuple[str, ...]:
    """A settings class's JSON keys, in declaration order."""
    found = _KEYS.get(cls)
    if found is None:
        found = _KEYS[cls] = tuple(field.info.key for field in declared_fields(cls))
    return found
