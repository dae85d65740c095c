"""A tenant's effective document from the platform's, in time that grows with the tenant's
overrides rather than with the whole configuration, and again from what changed after a
platform change.

The definition is :func:`eventstore.tenant_commands.effective_document`: the tenant's overrides
clamped by the platform policy (D22 in docs/decisions.md), merged into the platform's stored
config, layered like any stored config (defaults, bootstrap, secrets) and then derived in the
tenant's context (D6). Layering walks the whole document; but everything it does before the
derivation is the same for every tenant, except where an override meets a layer that runs after
the merge (a path the bootstrap sets, a generated secret, a runtime-only section). So a
:class:`Derivable` keeps the platform's document as it stands just before the derivation, and a
tenant whose overrides stay clear of those layers is that document with its overrides merged in,
then derived. A tenant whose overrides do not is built by the definition itself; the property
tests hold the two to the same result for random platforms and overrides.

Overrides are kept as :data:`Leaves` (their paths, interned and shared by every tenant that
overrides the same paths, and their values) rather than as nested dicts: a cached tenant keeps
them to re-derive itself after a platform change, and the dicts would cost more than the rest of
its config.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Final, TypeVar

import attrs

from eventstore.computed import (
    DerivationContext,
    GeneratedSecret,
    Rule,
    TenantRef,
    apply_derived,
)
from eventstore.docpath import (
    MISSING,
    deep_merge,
    delete_path,
    get_path,
    is_object,
    set_path,
    split_path,
)
from eventstore.errors import Issue, ValidationFailed
from eventstore.events import canonical_json
from eventstore.resolve import (
    BOOTSTRAP_WINS,
    DERIVATION_INPUTS,
    DERIVED_RULES,
    SECRET_RULES,
    Bootstrap,
    default_document,
    strip_unpersisted,
)
from eventstore.schema.declare import NORMALISERS, REFINEMENTS, Declared, declared_fields
from eventstore.schema.kinds import INVALID
from eventstore.schema.paths import (
    ALLOWED_TENANT_FIELDS,
    BOOLEAN_FLOORS,
    BOOTSTRAP_ONLY_FIELDS,
    CEILINGS,
    CREDENTIAL_GUARDS,
    NUMERIC_FLOORS,
    ORDERED_FLOORS,
    RUNTIME_ONLY_SECTIONS,
)
from eventstore.schema.structure import structure_into
from eventstore.state import stored_leaves
from eventstore.tenant_policy import ConstraintViolation, enforce, guard_credentials
from projections.config_delta import getter

T = TypeVar("T")
#: the settings the derived fields are computed from (``DerivationContext`` reads them)
CONTEXT_INPUTS: Final = frozenset({*DERIVATION_INPUTS, "branding.companyName"})
#: the paths the platform policy reads on the platform's side, or a tenant's on its own
POLICED: Final = frozenset(
    {
        *BOOLEAN_FLOORS,
        *NUMERIC_FLOORS,
        *CEILINGS,
        *ORDERED_FLOORS,
        *CREDENTIAL_GUARDS,
        *(path for paths in CREDENTIAL_GUARDS.values() for path in paths),
    }
)
#: the sections holding a derived field
DERIVED_SECTIONS: Final = frozenset(path.split(".")[0] for path in DERIVED_RULES)
_ALLOWED: Final = frozenset(ALLOWED_TENANT_FIELDS)
#: one tuple object per distinct set of overridden paths, shared by all tenants that have it
_SHAPES: dict[tuple[str, ...], tuple[str, ...]] = {}
#: how many sets of overridden paths the caches below keep (tenants rarely have more distinct
#: sets; past it they are emptied and filled again, so their memory stays bounded)
SHAPES_KEPT: Final = 4096


@attrs.frozen(weakref_slot=False)
class Leaves:
    """A sparse document as its leaves: ``paths[i]`` holds ``values[i]`` (lists and empty
    objects are leaves, as in a change event)."""

    paths: tuple[str, ...] = ()
    values: tuple[Any, ...] = ()

    @classmethod
    def of(cls, doc: Mapping[str, Any]) -> Leaves:
        """Raises ValueError for a key that cannot be part of a path (as ``stored_leaves``)."""
        found: list[tuple[str, Any]] = []
        try:
            _plain_leaves(doc, "", found)
        except _NotPlain:
            found = list(stored_leaves(doc))
        paths = tuple(sys.intern(path) for path, _ in found)
        if len(_SHAPES) >= SHAPES_KEPT * 16:
            _SHAPES.clear()
        return cls(_SHAPES.setdefault(paths, paths), tuple(value for _, value in found))

    def document(self) -> dict[str, Any]:
        doc: dict[str, Any] = {}
        for path, value in zip(self.paths, self.values, strict=True):
            doc = set_path(doc, path, value)
        return doc

    def within(self, sections: frozenset[str]) -> Iterable[tuple[str, Any]]:
        """The leaves under ``sections``, and those the derivation context reads."""
        for path, value in zip(self.paths, self.values, strict=True):
            if path in CONTEXT_INPUTS or path.partition(".")[0] in sections:
                yield path, value

    def touch(self, paths: frozenset[str]) -> bool:
        return any(path in paths for path in self.paths)


NO_LEAVES: Final = Leaves()


class _NotPlain(Exception):
    """A mapping that is not a dict: the general walk handles it."""


def _plain_leaves(doc: Mapping[str, Any], prefix: str, out: list[tuple[str, Any]]) -> None:
    """``stored_leaves`` for documents of plain dicts (what folds and JSON make), without an
    abstract-class check per value; empty objects come in document order."""
    for key, value in doc.items():
        if not isinstance(key, str) or not key or "." in key:
            raise ValueError(f"key {key!r} under {prefix or 'the root'} cannot be used in a path")
        path = f"{prefix}.{key}" if prefix else key
        if type(value) is dict:
            if value:
                _plain_leaves(value, path, out)
            else:
                out.append((path, value))
        elif is_object(value):
            raise _NotPlain
        else:
            out.append((path, value))


def merge_leaves(base: Mapping[str, Any], leaves: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    """``deep_merge(base, document of leaves)`` for leaves that :meth:`Derivable.fits`: each
    object on the way to a leaf is copied once."""
    return _merged(base, [(_split(path), value) for path, value in leaves], 0)


def _merged(
    base: Mapping[str, Any], entries: Sequence[tuple[tuple[str, ...], Any]], depth: int
) -> dict[str, Any]:
    out = dict(base)
    deeper: dict[str, list[tuple[tuple[str, ...], Any]]] = {}
    for segments, value in entries:
        key = segments[depth]
        if len(segments) > depth + 1:
            deeper.setdefault(key, []).append((segments, value))
        elif not (is_object(value) and not value and is_object(out.get(key))):
            out[key] = value  # (an empty object merges into an object that is there)
    for key, group in deeper.items():
        child = out.get(key)
        out[key] = _merged(child if is_object(child) else {}, group, depth + 1)
    return out


_SPLITS: dict[str, tuple[str, ...]] = {}


def _split(path: str) -> tuple[str, ...]:
    found = _SPLITS.get(path)
    if found is None:
        found = _SPLITS[path] = split_path(path)
    return found


def _lookup(doc: Mapping[str, Any], segments: tuple[str, ...]) -> tuple[bool, Any, bool]:
    """(found, value, whether every object on the way is an object or absent)."""
    node: Any = doc
    for segment in segments[:-1]:
        if not is_object(node):
            return False, None, False
        node = node.get(segment, MISSING)
        if node is MISSING:
            return False, None, True
    if not is_object(node):
        return False, None, False
    value = node.get(segments[-1], MISSING)
    return (False, None, True) if value is MISSING else (True, value, True)


def derive(
    doc: dict[str, Any], rules: Mapping[str, Rule], ctx: DerivationContext
) -> dict[str, Any]:
    """``apply_derived(doc, rules, ctx)``, each object on the way copied once, and equal new
    strings one object (the privacy URL is both a discovery and an integration URL: every
    tenant would keep it twice)."""
    assignments: list[tuple[tuple[str, ...], Any]] = []
    made: dict[str, str] = {}
    for path, rule in rules.items():
        segments = _split(path)
        found, current, clear = _lookup(doc, segments)
        if not clear:  # a value where an object should be: the definition says what is wrong
            return apply_derived(doc, rules, ctx)
        value = rule(ctx, current)
        if (found and value == current) or (not found and value is None):
            continue
        if isinstance(value, str):
            value = made.setdefault(value, value)
        assignments.append((segments, value))
    return _merged(doc, assignments, 0) if assignments else doc


@attrs.frozen
class Policed:
    """A tenant's overrides after the platform policy: what is merged, and what was adjusted."""

    leaves: Leaves
    adjustments: tuple[ConstraintViolation, ...] = ()


def police(overrides: Leaves, platform_runtime: Mapping[str, Any]) -> Policed:
    """The policy of :func:`~eventstore.tenant_commands.effective_document`: clamped (D22),
    then the platform's credentials guarded.

    Each rule reads the tenant's value at its own path (a credential guard also reads the
    tenant's credentials) and adjusts only that value, so the rules are run on the overrides
    at those paths alone, and overrides that hold none of them skip both.
    """
    held = _policed_indexes(overrides.paths)
    if not held:
        return Policed(overrides)
    reduced = merge_leaves(
        {}, ((overrides.paths[index], overrides.values[index]) for index in held)
    )
    guarded, found = enforce(reduced, platform_runtime)
    if any(overrides.paths[index] in CREDENTIAL_GUARDS for index in held):
        # (a guard acts only on a value the overrides hold at its path)
        guarded, withheld = guard_credentials(guarded, platform_runtime)
        found += withheld
    if not found:
        return Policed(overrides)
    values = list(overrides.values)
    for index in held:
        values[index] = get_path(guarded, overrides.paths[index])
    return Policed(Leaves(overrides.paths, tuple(values)), found)


_POLICED_AT: dict[tuple[str, ...], tuple[int, ...]] = {}
_ADJUSTMENTS: dict[bytes, tuple[ConstraintViolation, ...]] = {}


def shared_adjustments(
    found: tuple[ConstraintViolation, ...],
) -> tuple[ConstraintViolation, ...]:
    """``found``, or the equal adjustments an earlier build made: tenants the policy adjusts
    alike (the same value below the same floor) keep one tuple. Equal as JSON, so ``false``
    and ``0`` stay apart."""
    if not found:
        return ()
    try:
        key = canonical_json([adjustment.to_json() for adjustment in found])
    except (TypeError, ValueError):
        return found
    if len(_ADJUSTMENTS) >= SHAPES_KEPT:
        _ADJUSTMENTS.clear()
    return _ADJUSTMENTS.setdefault(key, found)


def _policed_indexes(paths: tuple[str, ...]) -> tuple[int, ...]:
    found = _POLICED_AT.get(paths)
    if found is None:
        if len(_POLICED_AT) >= SHAPES_KEPT:
            _POLICED_AT.clear()
        found = _POLICED_AT[paths] = tuple(i for i, p in enumerate(paths) if p in POLICED)
    return found


class Derivable:
    """The platform's document as it stands before the derivation, for one platform version;
    None from :meth:`of` when the platform's own document cannot be rebuilt from it (a layer
    this module does not know of), and every tenant is then built by the definition."""

    def __init__(self, pre: dict[str, Any], bootstrap: Bootstrap) -> None:
        self.pre = pre
        blocked = {
            *BOOTSTRAP_WINS,
            *bootstrap.overrides,
            *BOOTSTRAP_ONLY_FIELDS,
            *RUNTIME_ONLY_SECTIONS,
            *SECRET_RULES,
        }
        self._blocked = frozenset(blocked)
        self._above_blocked = frozenset(
            ".".join(path.split(".")[:depth])
            for path in blocked
            for depth in range(1, path.count(".") + 1)
        )
        #: fits() by the paths a tenant overrides (tenants overriding the same paths share them)
        self._fit: dict[tuple[str, ...], bool] = {}

    @classmethod
    def of(
        cls, plain: Mapping[str, Any], runtime: dict[str, Any], bootstrap: Bootstrap
    ) -> Derivable | None:
        merged = deep_merge(default_document(), strip_unpersisted(plain))
        pre: dict[str, Any] = runtime
        for path in DERIVED_RULES:
            if path in bootstrap.overrides:
                before = bootstrap.overrides[path]
            else:
                before = get_path(merged, path, MISSING)
            pre = delete_path(pre, path) if before is MISSING else set_path(pre, path, before)
        if apply_derived(pre, DERIVED_RULES, DerivationContext.from_document(pre)) != runtime:
            return None
        return cls(pre, bootstrap)

    def fits(self, leaves: Leaves) -> bool:
        """Whether merging ``leaves`` here gives what layering the merged stored document
        would: every leaf is a tenant setting (or inside one), no layer after the merge writes
        to it, and no object of it meets a value that is not an object."""
        found = self._fit.get(leaves.paths)
        if found is None:
            if len(self._fit) >= SHAPES_KEPT:
                self._fit.clear()
            found = self._fit[leaves.paths] = self._fits(leaves.paths)
        return found

    def _fits(self, paths: tuple[str, ...]) -> bool:
        for path in paths:
            if path in self._above_blocked or not self._allowed(path):
                return False
            node: Any = self.pre
            prefix = ""
            for segment in split_path(path)[:-1]:
                prefix = f"{prefix}.{segment}" if prefix else segment
                if prefix in self._blocked or prefix in POLICED:
                    return False  # (the policy judges a policed setting's value as a whole)
                node = node.get(segment, MISSING) if is_object(node) else node
                if node is MISSING:
                    break
                if not is_object(node):
                    return False
            if path in self._blocked:
                return False
        return True

    @staticmethod
    def _allowed(path: str) -> bool:
        if path in _ALLOWED:
            return True
        segments = path.split(".")
        return any(".".join(segments[:depth]) in _ALLOWED for depth in range(1, len(segments)))

    def document(
        self,
        leaves: Iterable[tuple[str, Any]],
        tenant: TenantRef,
        rules: Mapping[str, Rule] = DERIVED_RULES,
    ) -> dict[str, Any]:
        """The tenant's effective document (before validation): its policed leaves merged into
        the platform's, derived in its context."""
        doc = merge_leaves(self.pre, leaves)
        return derive(doc, rules, DerivationContext.from_document(doc, tenant)) if rules else doc


def changed_paths(old: Any, new: Any, prefix: str = "") -> set[str]:
    """The leaf paths where two documents differ (objects shared by both are skipped whole)."""
    if old is new:
        return set()
    if not (is_object(old) and is_object(new)) or not (old or new):
        return set() if _same_leaf(old, new) else {prefix}
    found: set[str] = set()
    for key in old.keys() | new.keys():
        path = f"{prefix}.{key}" if prefix else str(key)
        if key not in old or key not in new:
            found.add(path)
        else:
            found |= changed_paths(old[key], new[key], path)
    return found


def _same_leaf(old: Any, new: Any) -> bool:
    """Equal and of the same JSON type (``1`` and ``True`` are not the same setting)."""
    if type(old) is not type(new) or old != new:
        return False
    return not isinstance(old, list) or canonical_json(old) == canonical_json(new)


def sections_of(paths: Iterable[str]) -> frozenset[str]:
    return frozenset(path.partition(".")[0] for path in paths)


def rules_in(paths: Iterable[str]) -> dict[str, Rule]:
    """The derivation rules of the derived fields among ``paths``."""
    return {path: DERIVED_RULES[path] for path in paths if path in DERIVED_RULES}


def derivation_inputs_changed(paths: Sequence[str] | frozenset[str]) -> bool:
    """Whether a platform change can change a tenant's derived fields."""
    return any(path in CONTEXT_INPUTS or path in DERIVED_RULES for path in paths)


# --- structuring only what differs from the platform ------------------------------------------

Trie = dict[str, "Trie"]
_TRIES: dict[tuple[str, ...], Trie] = {}


def differs_from_platform(paths: tuple[str, ...]) -> Trie:
    """Where a tenant's document can differ from the platform's: the paths it overrides and
    the derived fields, as nested dicts of their segments (an empty dict ends a path); one per
    set of overridden paths, shared by every tenant with that set."""
    found = _TRIES.get(paths)
    if found is None:
        if len(_TRIES) >= SHAPES_KEPT:
            _TRIES.clear()
            _PLANS.clear()  # its plans belong to those tries
        found = _TRIES[paths] = trie_of((*paths, *DERIVED_RULES))
    return found


def structure_patched(
    cls: type[T],
    data: Mapping[str, Any],
    like: T,
    like_data: Mapping[str, Any],
    differs: Trie,
    heading: str,
) -> T:
    """``structure_like(cls, data, like, like_data, heading)`` for a ``data`` known to equal
    ``like_data`` everywhere but at (or under) the paths of ``differs``: only the classes on
    those paths are structured again, every other part is taken from ``like`` without being
    compared."""
    issues: list[Issue] = []
    result = _patched(cls, data, "", issues, like, like_data, differs)
    if issues or result is INVALID:
        raise ValidationFailed(issues, heading)
    return result  # type: ignore[no-any-return]


def _patched(
    cls: type,
    data: Mapping[str, Any],
    path: str,
    issues: list[Issue],
    like: Any,
    like_data: Mapping[str, Any],
    differs: Trie,
) -> Any:
    if data is like_data:
        return like
    plan = _plan(cls, differs)
    before = len(issues)
    values: dict[str, Any] = {}
    whole = False
    for key, name, nested, deeper in plan.below:
        below, like_below = data.get(key), like_data.get(key)
        if not (is_object(below) and is_object(like_below)):
            whole = True
            break
        value = _patched(
            nested,
            below,
            f"{path}.{key}" if path else key,
            issues,
            getattr(like, name),
            like_below,
            deeper,
        )
        if value is not INVALID:  # (an invalid one is reported; its siblings are checked on)
            values[name] = value
    if not whole:
        for field in plan.own:
            value = _setting(field, data, path, issues, like, like_data)
            if value is _WHOLE:
                whole = True
                break
            values[field.name] = value  # type: ignore[union-attr]
    if whole:
        # not all plain values: this class is structured as structure_like does, the classes
        # patched below it standing where the platform's were
        if values:
            patched = {key: data[key] for key, name, _, _ in plan.below if name in values}
            like = attrs.evolve(like, **values)
            like_data = {**like_data, **patched}
        del issues[before:]  # (its own settings are checked again, and reported once)
        return structure_into(cls, data, path, issues, (like, like_data))
    if len(issues) > before:
        return INVALID
    for name, value in values.items():
        if value is not getattr(like, name):
            break
    else:
        return like  # the same as the platform's after all
    layout = plan.layout
    if data.keys() >= layout.key_set:
        taken = dict(zip(layout.names, layout.values_of(like), strict=True))
    else:  # a setting absent here is left to its default, as structure_into leaves it
        taken = {
            name: getattr(like, name)
            for name, key in zip(layout.names, layout.keys, strict=True)
            if key in data
        }
    taken.update(values)
    instance = cls(**taken)
    for rule in plan.refinements:
        issues.extend(rule(instance, path))
    if len(issues) > before:
        return INVALID
    for normalise in plan.normalisers:
        instance = normalise(instance)
    return instance


@attrs.frozen
class _Plan:
    """How :func:`_patched` walks one class for one trie node: the nested classes below it
    that differ, its own settings that differ (None: not a setting of it), and its layout."""

    below: tuple[tuple[str, str, type, Trie], ...]
    own: tuple[Declared | None, ...]
    layout: _Layout
    refinements: tuple[Any, ...]
    normalisers: tuple[Any, ...]


#: plans by trie node (kept with the node, so its id is not reused while the plan is cached)
_PLANS: dict[int, tuple[Trie, dict[type, _Plan]]] = {}


def _plan(cls: type, differs: Trie) -> _Plan:
    entry = _PLANS.get(id(differs))
    if entry is None or entry[0] is not differs:
        entry = _PLANS[id(differs)] = (differs, {})
    plan = entry[1].get(cls)
    if plan is None:
        fields = _fields_by_key(cls)
        below, own = [], []
        for key, deeper in differs.items():
            field = fields.get(key)
            if deeper and field is not None and field.info.nested is not None:
                below.append((key, field.name, field.info.nested, deeper))
            else:
                own.append(field)
        plan = entry[1][cls] = _Plan(
            tuple(below),
            tuple(own),
            _layout(cls),
            tuple(REFINEMENTS.get(cls, ())),
            tuple(NORMALISERS.get(cls, ())),
        )
    return plan


@attrs.frozen
class _Layout:
    """A settings class's attribute names and keys, and a getter of all its values at once."""

    names: tuple[str, ...]
    keys: tuple[str, ...]
    key_set: frozenset[str]
    values_of: Callable[[Any], tuple[Any, ...]]


_LAYOUTS: dict[type, _Layout] = {}


def _layout(cls: type) -> _Layout:
    found = _LAYOUTS.get(cls)
    if found is None:
        fields = declared_fields(cls)
        names = tuple(field.name for field in fields)
        keys = tuple(field.info.key for field in fields)
        found = _LAYOUTS[cls] = _Layout(names, keys, frozenset(keys), getter(cls))
    return found


#: what _setting answers for a setting it does not structure itself
_WHOLE: Final = object()


def _setting(
    field: Declared | None,
    data: Mapping[str, Any],
    path: str,
    issues: list[Issue],
    like: Any,
    like_data: Mapping[str, Any],
) -> Any:
    """One setting that differs from the platform's, as ``structure_into`` structures a plain
    value that is there; anything else (unknown, absent, null, an object, an empty secret)
    is left to ``structure_into`` (:data:`_WHOLE`)."""
    if field is None:
        return _WHOLE
    info = field.info
    raw = data.get(info.key, MISSING)
    if info.key in like_data and like_data[info.key] == raw:
        return getattr(like, field.name)
    if raw is MISSING or raw is None or info.nested is not None or info.kind is None:
        return _WHOLE
    if isinstance(info.computed, GeneratedSecret):
        return _WHOLE
    return info.kind.parse(raw, f"{path}.{info.key}" if path else info.key, issues)


class CannotPatch(Exception):
    """A config cannot be updated part by part (build it anew)."""


_FIELDS: dict[type, dict[str, Declared]] = {}


def _fields_by_key(cls: type) -> dict[str, Declared]:
    found = _FIELDS.get(cls)
    if found is None:
        found = _FIELDS[cls] = {field.info.key: field for field in declared_fields(cls)}
    return found


def meets(one: Iterable[str], other: Iterable[str]) -> bool:
    """Whether a path of ``one`` and a path of ``other`` are the same, or one is inside the
    other (paths, not tries: a trie cannot tell a path from the paths inside it)."""
    mine, theirs = frozenset(one), frozenset(other)
    return any(
        path in against or any(prefix in against for prefix in _prefixes(path))
        for paths, against in ((mine, theirs), (theirs, mine))
        for path in paths
    )


def _prefixes(path: str) -> Iterable[str]:
    """The paths ``path`` is inside of (``a.b.c``: ``a``, ``a.b``)."""
    at = path.find(".")
    while at != -1:
        yield path[:at]
        at = path.find(".", at + 1)


def trie_of(paths: Iterable[str]) -> Trie:
    """``paths`` as nested dicts of their segments (an empty dict ends a path)."""
    found: Trie = {}
    for path in paths:
        node = found
        for segment in _split(path):
            node = node.setdefault(segment, {})
    return found


def structure_updated(
    previous: T,
    platform: T,
    platform_data: Mapping[str, Any],
    differs: Trie,
    changed: Trie,
    document: Callable[[], Mapping[str, Any]],
    heading: str,
) -> T:
    """A tenant's config ``previous``, which differs from the platform's at the paths of
    ``differs``, after the platform (now ``platform``, built from ``platform_data``) changed
    at the paths of ``changed``: what the tenant takes from the platform is the platform's
    again, what it differs in is structured from ``document()`` (its new document, asked for
    only when needed), and everything the changes do not reach is kept from ``previous``.
    :class:`CannotPatch` when that cannot be done part by part (build it anew)."""
    issues: list[Issue] = []
    holder: list[Mapping[str, Any]] = []

    def at(segments: tuple[str, ...]) -> Mapping[str, Any]:
        if not holder:
            holder.append(document())
        node: Any = holder[0]
        for segment in segments:
            node = node.get(segment) if is_object(node) else None
        if not is_object(node):
            raise CannotPatch(".".join(segments))
        return node

    result = _updated(
        type(previous), previous, platform, platform_data, differs, changed, (), at, issues
    )
    if issues or result is INVALID:
        raise ValidationFailed(issues, heading)
    return result  # type: ignore[no-any-return]


def _updated(
    cls: type,
    previous: Any,
    platform: Any,
    platform_data: Mapping[str, Any],
    differs: Trie,
    changed: Trie,
    segments: tuple[str, ...],
    at: Callable[[tuple[str, ...]], Mapping[str, Any]],
    issues: list[Issue],
) -> Any:
    fields = _fields_by_key(cls)
    path = ".".join(segments)
    before = len(issues)
    values: dict[str, Any] = {}
    for key, further in changed.items():
        field = fields.get(key)
        if field is None:
            raise CannotPatch(f"{path}.{key}")
        tenant = differs.get(key)
        if tenant is None:  # the tenant takes this part from the platform
            values[field.name] = getattr(platform, field.name)
            continue
        nested, below = field.info.nested, platform_data.get(key)
        where = (*segments, key)
        if nested is not None and tenant and is_object(below):
            if further:
                value = _updated(
                    nested,
                    getattr(previous, field.name),
                    getattr(platform, field.name),
                    below,
                    tenant,
                    further,
                    where,
                    at,
                    issues,
                )
            else:  # changed as a whole: this part of the tenant is structured again
                value = _patched(
                    nested,
                    at(where),
                    ".".join(where),
                    issues,
                    getattr(platform, field.name),
                    below,
                    tenant,
                )
        else:  # a setting the tenant overrides or derives
            value = _setting(field, at(segments), path, issues, platform, platform_data)
            if value is _WHOLE:
                raise CannotPatch(".".join(where))
        values[field.name] = value
    if len(issues) > before or any(value is INVALID for value in values.values()):
        return INVALID
    if all(value is getattr(previous, name) for name, value in values.items()):
        return previous
    layout = _layout(cls)
    taken = dict(zip(layout.names, layout.values_of(previous), strict=True))
    taken.update(values)
    instance = cls(**taken)
    for rule in REFINEMENTS.get(cls, ()):
        issues.extend(rule(instance, path))
    if len(issues) > before:
        return INVALID
    for normalise in NORMALISERS.get(cls, ()):
        instance = normalise(instance)
    return instance
