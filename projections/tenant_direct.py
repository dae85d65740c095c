"""A tenant's config built straight from its policed overrides, without its document.

:meth:`~projections.tenant_derivation.Derivable.document` merges a tenant's overrides into the
platform's document and derives it, and ``structure_patched`` then walks that document to
structure what differs from the platform. For a tenant whose overrides are plain settings, the
document is not needed: the value at every path it can differ at (its overrides and the derived
fields) is its override, or the platform's value there, and the derivation reads only the few
settings of its context. So a :class:`DirectBuild` computes those values, parses the ones that
differ from the platform's, and makes the objects on their paths, each checked by its class's
refinements, taking the rest from the platform config; it returns the config and its
:class:`~projections.config_delta.ConfigDelta` (made as it goes, not found by comparing).

Anything out of the ordinary (a value that is null, an object or absent where the platform has
one, a generated secret, a setting the schema does not know, any validation issue) makes it
answer None, and the caller builds the tenant the general way, which also words the errors: the
two ways are held to the same result by the property tests.
"""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Mapping
from typing import Any, Final

import attrs

from eventstore.computed import DerivationContext, GeneratedSecret, TenantRef
from eventstore.docpath import MISSING, get_path, is_object, set_path
from eventstore.errors import Issue
from eventstore.resolve import DERIVED_RULES
from eventstore.schema import AppConfig
from eventstore.schema.declare import NORMALISERS, REFINEMENTS, declared_fields
from eventstore.schema.kinds import INVALID, Kind
from projections.config_delta import ConfigDelta, Shape, getter, is_settings, shape_of, shaped
from projections.tenant_derivation import CONTEXT_INPUTS, SHAPES_KEPT, Derivable, Leaves

_DERIVED: Final = tuple(DERIVED_RULES.items())


class DirectBuild:
    """Tenant configs of one platform version, built from their policed overrides."""

    def __init__(
        self, derivable: Derivable, platform: AppConfig, platform_data: Mapping[str, Any]
    ) -> None:
        #: the platform's values (before the derivation) where the derivation reads or writes
        self._platform_values = {
            path: get_path(derivable.pre, path, MISSING)
            for path in (*CONTEXT_INPUTS, *DERIVED_RULES)
        }
        #: the settings the derivation reads, for a tenant that overrides none of them
        self._context = _context(self._platform_values)
        self._platform = platform
        self._platform_data = platform_data
        #: the plan for each set of overridden paths (None: never built directly)
        self._plans: dict[tuple[str, ...], _Node | None] = {}

    def build(self, leaves: Leaves, tenant: TenantRef) -> tuple[AppConfig, ConfigDelta] | None:
        """The tenant's config and its delta from the platform's, or None (build it the
        general way). ``leaves`` are policed and fit the platform's document."""
        if leaves.paths in self._plans:
            plan = self._plans[leaves.paths]
        else:
            if len(self._plans) >= SHAPES_KEPT:
                self._plans.clear()
            plan = self._plans[leaves.paths] = _plan(
                leaves.paths, self._platform, self._platform_data
            )
        if plan is None:
            return None
        made = _made(plan, self._values(leaves, tenant))
        if made is None:
            return None
        config, shape, values = made
        return config, shaped(self._platform, shape, tuple(values))

    def _values(self, leaves: Leaves, tenant: TenantRef) -> dict[str, Any]:
        """The tenant's raw value (MISSING: absent) at every path it can differ at, as its
        document would hold it: ``Derivable.document`` without the document."""
        raw = dict(zip(leaves.paths, leaves.values, strict=True))
        platform = self._platform_values
        context = self._context
        if not CONTEXT_INPUTS.isdisjoint(raw):
            context = _context(ChainMap(raw, platform))
        ctx = DerivationContext.from_document(context, tenant)
        made: dict[str, str] = {}
        for path, rule in _DERIVED:
            current = raw[path] if path in raw else platform[path]
            found = current is not MISSING
            value = rule(ctx, current if found else None)
            if (found and value == current) or (not found and value is None):
                raw[path] = current
                continue
            if isinstance(value, str):  # (equal derived strings: one object, as ``derive``)
                value = made.setdefault(value, value)
            raw[path] = value
        return raw


def _context(values: Mapping[str, Any]) -> dict[str, Any]:
    """The document the derivation context is read from: the settings it reads (MISSING:
    absent) and nothing else."""
    context: dict[str, Any] = {}
    for path in CONTEXT_INPUTS:
        if values[path] is not MISSING:
            context = set_path(context, path, values[path])
    return context


@attrs.frozen(weakref_slot=False)
class _Setting:
    """A setting a tenant can differ at: where it is in its object, and how it is parsed."""

    index: int
    path: str
    kind: Kind
    #: the platform's raw value there (MISSING: absent)
    platform_raw: Any


@attrs.frozen(weakref_slot=False)
class _Below:
    """An object below a node that a tenant can differ in."""

    index: int
    node: _Node


@attrs.frozen(weakref_slot=False)
class _Node:
    """A settings object on the way to a setting a tenant can differ at, on the platform."""

    cls: type
    path: str
    platform: Any
    #: the platform object's attributes, in order
    values: tuple[Any, ...]
    #: the settings and the objects below it a tenant can differ at, in attribute order
    parts: tuple[_Setting | _Below, ...]
    #: its shape where the tenant does not differ from the platform
    same: Shape
    refinements: tuple[Any, ...]
    normalisers: tuple[Any, ...]


def _plan(paths: tuple[str, ...], platform: AppConfig, data: Mapping[str, Any]) -> _Node | None:
    """The objects on the way to ``paths`` and the derived fields, or None when one of them
    is not a plain setting inside settings objects the platform has."""
    tree: dict[str, Any] = {}
    for path in dict.fromkeys((*paths, *DERIVED_RULES)):
        node = tree
        *parents, last = path.split(".")
        for segment in parents:
            node = node.setdefault(segment, {})
            if node is None:
                return None  # a path inside another
        if node.get(last) is not None:
            return None
        node[last] = None
    return _node(AppConfig, "", platform, data, tree)


def _node(
    cls: type, path: str, platform: Any, data: Mapping[str, Any], tree: dict[str, Any]
) -> _Node | None:
    if type(platform) is not cls or not is_settings(cls):
        return None
    fields = {field.info.key: (index, field) for index, field in enumerate(declared_fields(cls))}
    parts: list[_Setting | _Below] = []
    for key, deeper in tree.items():
        found = fields.get(key)
        if found is None:
            return None
        index, field = found
        info = field.info
        where = f"{path}.{key}" if path else key
        if deeper is not None:
            inner = data.get(key)
            if info.nested is None or not is_object(inner):
                return None
            child = _node(info.nested, where, getattr(platform, field.name), inner, deeper)
            if child is None:
                return None
            parts.append(_Below(index, child))
        elif info.nested is None and info.kind is not None:
            if isinstance(info.computed, GeneratedSecret):
                return None
            parts.append(_Setting(index, where, info.kind, data.get(key, MISSING)))
        else:
            return None
    return _Node(
        cls,
        path,
        platform,
        getter(cls)(platform),
        tuple(sorted(parts, key=_index)),
        (cls, ()),
        tuple(REFINEMENTS.get(cls, ())),
        tuple(NORMALISERS.get(cls, ())),
    )


def _index(part: _Setting | _Below) -> int:
    return part.index


def _made(node: _Node, raw: Mapping[str, Any]) -> tuple[Any, Shape, list[Any]] | None:
    """The tenant's object at ``node``, its shape and its differing values in the shape's
    order; None where the general way must build it."""
    entries: list[tuple[int, Shape | None]] = []
    values: list[Any] = []
    current: list[Any] | None = None
    issues: list[Issue] = []
    for part in node.parts:
        if type(part) is _Below:
            inner = _made(part.node, raw)
            if inner is None:
                return None
            obj, shape, below = inner
            if obj is part.node.platform:
                continue
            entries.append((part.index, shape))
            values += below
        else:
            assert isinstance(part, _Setting)
            obj = raw[part.path]
            known = part.platform_raw
            if obj is MISSING or known is MISSING:
                if obj is known:
                    continue  # absent on both sides: the default, as the platform has it
                return None
            if known == obj:
                continue  # (the platform's own object, as structuring takes it)
            if obj is None:
                return None
            obj = part.kind.parse(obj, part.path, issues)
            if obj is INVALID or issues:
                return None
            entries.append((part.index, None))
            values.append(obj)
        if current is None:
            current = list(node.values)
        current[part.index] = obj
    if current is None:
        return node.platform, node.same, values
    instance = node.cls(*current)
    for rule in node.refinements:
        issues.extend(rule(instance, node.path))
    if issues:
        return None
    if node.normalisers:
        for normalise in node.normalisers:
            instance = normalise(instance)
        found: list[Any] = []
        return instance, shape_of(instance, node.platform, found), found
    return instance, (node.cls, tuple(entries)), values
