"""Platform floors and ceilings on tenant overrides (D22 in docs/decisions.md).

A tenant may make the platform stricter, never looser. Violations are adjusted, not rejected:
an admin tightening a platform limit must not turn every tenant's stored overrides invalid, and a
tenant admin asking for "no MFA" simply gets what the platform allows. Each adjustment is
returned so it can be recorded in the audit trail.

Which paths carry which rule is declared once, on the settings (``policy=``); this module only
knows what each kind of rule means. The same function runs when overrides are written and again
whenever a tenant's effective config is built, so a tightened platform limit binds at once
(docs/decisions.md X25).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any, Final

import attrs

from eventstore.docpath import get_path, iter_leaves, set_path
from eventstore.schema.paths import (
    BOOLEAN_FLOORS,
    CEILINGS,
    CREDENTIAL_GUARDS,
    NUMERIC_FLOORS,
    ORDERED_FLOORS,
)
from eventstore.schema.policy import Ceiling, NumericFloor, OrderedFloor

#: ``get_path``'s own MISSING means "raise"; this one means "not there, skip the rule"
_ABSENT: Final = object()


@attrs.frozen
class ConstraintViolation:
    """One adjusted tenant value: what was asked for, what was kept, and the rule's sentence."""

    path: str
    original: Any
    adjusted: Any
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "original": self.original,
            "adjusted": self.adjusted,
            "reason": self.reason,
        }


def js_number(value: float) -> str:
    """A number as the reference's messages print it (``3600``, ``0.5``; never ``3600.0``)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def enforce(
    overrides: Mapping[str, Any], platform: Mapping[str, Any]
) -> tuple[dict[str, Any], tuple[ConstraintViolation, ...]]:
    """Clamp ``overrides`` (a sparse document) to what ``platform`` (a full document) allows.

    Order as in the reference: floors, the absolute minimum, ceilings, the ordered enum. A rule is
    skipped where either side is absent or null, so an override that does not mention a path is
    never given one.
    """
    clamp = _Clamp(overrides, platform)
    clamp.floors()
    clamp.ceilings()
    clamp.ordered_floors()
    return clamp.doc, tuple(clamp.found)


def guard_credentials(
    overrides: Mapping[str, Any], platform: Mapping[str, Any]
) -> tuple[dict[str, Any], tuple[ConstraintViolation, ...]]:
    """Keep the platform's credentials where the platform sends them.

    A tenant override of a setting that decides where credentials go (``smtp_host``) or how
    safely (``tls_reject_unauthorized`` turned off) would hand the credentials the tenant
    inherits to a server the tenant chose. Unless the tenant supplies every one of those
    credentials itself, the override is set back to the platform's value and reported. Writes
    refuse such overrides outright; a build applies this to overrides stored before the
    platform changed, so the rule holds whatever the order of events (D27 in
    docs/decisions.md).
    """
    guarded: dict[str, Any] = dict(overrides)
    found: list[ConstraintViolation] = []
    for path, credentials in CREDENTIAL_GUARDS.items():
        value = get_path(guarded, path, _ABSENT)
        base = get_path(platform, path, None)
        if value is _ABSENT or value == base or value is True:
            continue  # not overridden, the platform's own value, or a check turned on
        inherited = [c for c in credentials if get_path(guarded, c, _ABSENT) in (_ABSENT, None)]
        if not inherited:
            continue
        reason = (
            f"the platform's {' and '.join(inherited)} are only sent where the platform sends "
            f"them; a tenant that changes {path} must supply its own"
        )
        guarded = set_path(guarded, path, base)
        found.append(ConstraintViolation(path, value, base, reason))
    return guarded, tuple(found)


class _Clamp:
    """One run of :func:`enforce`: the overrides as adjusted so far and what was adjusted."""

    def __init__(self, overrides: Mapping[str, Any], platform: Mapping[str, Any]) -> None:
        self.doc: dict[str, Any] = dict(overrides)
        self.found: list[ConstraintViolation] = []
        self._platform = platform
        # a rule only acts on a value the overrides hold (an adjustment replaces one of them),
        # so every other rule is skipped without looking the path up in both documents
        try:
            self._held: frozenset[str] | None = frozenset(p for p, _ in iter_leaves(overrides))
        except ValueError:  # a key that cannot be part of a path: look every rule up
            self._held = None

    def adjust(self, path: str, original: Any, adjusted: Any, reason: str) -> None:
        self.doc = set_path(self.doc, path, adjusted)
        self.found.append(ConstraintViolation(path, original, adjusted, reason))

    def held(self, paths: Iterable[str]) -> Iterable[str]:
        """``paths`` (in their order) without those the overrides hold no value at."""
        held = self._held
        return paths if held is None else [path for path in paths if path in held]

    def pair(self, path: str) -> tuple[Any, Any] | None:
        """(tenant value, platform value), or None when either is absent or null."""
        tenant = get_path(self.doc, path, _ABSENT)
        base = get_path(self._platform, path, _ABSENT)
        if tenant in (_ABSENT, None) or base in (_ABSENT, None):
            return None
        return tenant, base

    def floors(self) -> None:
        """Boolean floors, numeric floors, then the absolute minimums."""
        for path in self.held(BOOLEAN_FLOORS):
            values = self.pair(path)
            if values and values[1] is True and values[0] is False:
                self.adjust(path, False, True, "Boolean floor: platform requires enabled")
        for path in self.held(NUMERIC_FLOORS):
            numbers = _numbers(self.pair(path))
            if numbers and numbers[0] < numbers[1]:
                floor = js_number(numbers[1])
                reason = f"Numeric floor: must be >= platform value ({floor})"
                self.adjust(path, numbers[0], numbers[1], reason)
        for path in self.held(NUMERIC_FLOORS):
            rule = NUMERIC_FLOORS[path]
            minimum = rule.absolute_minimum if isinstance(rule, NumericFloor) else None
            value = _number(get_path(self.doc, path, None))
            if minimum is not None and self.pair(path) and value is not None and value < minimum:
                reason = f"Absolute minimum {minimum} per NIST SP 800-63B"
                self.adjust(path, value, minimum, reason)

    def ceilings(self) -> None:
        """Ceilings; where the reference says so, ``0`` means unlimited on either side."""
        for path in self.held(CEILINGS):
            rule = CEILINGS[path]
            numbers = _numbers(self.pair(path))
            if not numbers:
                continue
            tenant, base = numbers
            zero_unlimited = isinstance(rule, Ceiling) and rule.zero_unlimited
            if zero_unlimited and base == 0:
                continue
            if zero_unlimited and tenant == 0:
                limit = js_number(base)
                reason = f"Ceiling: tenant cannot set unlimited when platform limits to {limit}"
                self.adjust(path, 0, base, reason)
            elif tenant > base:
                reason = f"Ceiling: must be <= platform value ({js_number(base)})"
                self.adjust(path, tenant, base, reason)

    def ordered_floors(self) -> None:
        """An ordered setting (``user_verification``) may not be weakened below the platform."""
        for path in self.held(ORDERED_FLOORS):
            rule = ORDERED_FLOORS[path]
            values = self.pair(path)
            if not values or not isinstance(rule, OrderedFloor):
                continue
            tenant, base = values
            order = rule.order
            if tenant in order and base in order and order.index(tenant) < order.index(base):
                reason = f"Floor: cannot weaken from '{base}' to '{tenant}'"
                self.adjust(path, tenant, base, reason)


def _number(value: Any) -> float | int | None:
    """``Number(value)`` of the reference, None for NaN: booleans and blank strings included."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float):
        return None if isinstance(value, float) and math.isnan(value) else value
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return 0
        try:
            number = float(text)
        except ValueError:
            return None
        if math.isnan(number):
            return None
        return int(number) if number.is_integer() else number
    return None


def _numbers(values: tuple[Any, Any] | None) -> tuple[float | int, float | int] | None:
    if values is None:
        return None
    tenant, base = _number(values[0]), _number(values[1])
    if tenant is None or base is None:
        return None
    return tenant, base
