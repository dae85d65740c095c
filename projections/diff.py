"""Differences between two configuration documents, and what a change means for the running IdP.

Used by the import preview and before a save: an operator sees which settings change (secrets
masked, D11 in docs/decisions.md) and which services and warnings the change implies. The impact
rules are a product fact file shipped as package data (``impact_rules.json``, copied from the
reference's ``analyzeConfigImpact``) so that their wording stays verbatim and reviewable in one
place; they are parsed once at import, and a rule this module cannot read fails the import instead
of being silently skipped.

Deliberate differences from the reference's ``generateConfigDiff`` (docs/decisions.md X21):

* Bookkeeping keys (``_id``, ``_version``, ``metadata``, …) are skipped only at the top level of
  the document, where the reference stored them; skipping them at every level would hide real
  settings such as ``application.description``.
* A section added or removed as a whole is reported leaf by leaf, so every impact rule sees the
  paths it matches on (adding ``integrations.email`` warns about SMTP).
* Every value at a secret path is masked, numbers included (D11 wins over the reference, which
  left non-strings raw).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from importlib import resources
from typing import Any, Final, Literal, Protocol

import attrs

from eventstore.masking import mask_for_display

ChangeType = Literal["added", "removed", "modified"]

IGNORED_ROOT_KEYS: Final = frozenset(
    {
        "_id",
        "__v",
        "created_at",
        "updated_at",
        "_version",
        "schema_version",
        "is_active",
        "key",
        "description",
        "metadata",
    }
)
"""Keys of the stored record rather than of the configuration: never a difference worth showing."""


# --- diff -------------------------------------------------------------------------------------


@attrs.frozen
class Change:
    """One changed leaf; ``old``/``new`` are already masked and ``None`` where absent."""

    path: str
    old: Any
    new: Any
    change_type: ChangeType

    def to_json(self) -> dict[str, Any]:
        """The reference's record shape, which the import preview's clients read."""
        return {
            "field": self.path,
            "oldValue": self.old,
            "newValue": self.new,
            "changeType": self.change_type,
        }


def _same(a: Any, b: Any) -> bool:
    """JSON equality: ``True`` is not ``1`` (Python's ``==`` says it is), ``1`` is ``1.0``."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(_same(a[key], b[key]) for key in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and bool(a == b)


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def _whole(path: str, value: Any, change_type: ChangeType) -> Iterator[Change]:
    """A value present on one side only, reported leaf by leaf (an empty object has none)."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield from _whole(_join(path, key), item, change_type)
        return
    masked = mask_for_display(path, value)
    if change_type == "added":
        yield Change(path, None, masked, "added")
    else:
        yield Change(path, masked, None, "removed")


def _diff(old: Mapping[str, Any], new: Mapping[str, Any], prefix: str) -> Iterator[Change]:
    keys = [*old, *(key for key in new if key not in old)]
    for key in keys:
        if not prefix and key in IGNORED_ROOT_KEYS:
            continue
        path = _join(prefix, key)
        if key not in old:
            yield from _whole(path, new[key], "added")
        elif key not in new:
            yield from _whole(path, old[key], "removed")
        else:
            before, after = old[key], new[key]
            if isinstance(before, Mapping) and isinstance(after, Mapping):
                yield from _diff(before, after, path)
            elif not _same(before, after):
                yield Change(
                    path,
                    mask_for_display(path, before),
                    mask_for_display(path, after),
                    "modified",
                )


def diff_documents(old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> list[Change]:
    """Changed leaves from ``old`` to ``new``, old's key order first, then keys new to ``new``.

    Lists are leaves compared as whole values (an element-wise diff of an allow-list reads
    worse than the two lists). ``null`` is a value, so ``null`` → object is one ``modified``
    change at that path, as is any change between an object and a non-object. A ``None``
    document counts as empty.
    """
    return list(_diff(old or {}, new or {}, ""))


# --- impact -----------------------------------------------------------------------------------


class HasPath(Protocol):
    """Anything naming a changed path: a :class:`Change`, or an event's ``FieldChange``."""

    @property
    def path(self) -> str: ...


_MATCH: Final = re.compile(r"field (?P<op>startsWith|==) '(?P<value>[^']+)'")


@attrs.frozen
class ImpactRule:
    """One row of the impact table: a path test and what a matching change implies."""

    value: str
    prefix: bool
    services: tuple[str, ...] = ()
    requires_restart: bool = False
    warning: str | None = None

    def matches(self, path: str) -> bool:
        """Plain string tests, as the reference: ``security.secrets.jwt_secret`` is a prefix."""
        return path.startswith(self.value) if self.prefix else path == self.value


def parse_rules(text: str) -> tuple[ImpactRule, ...]:
    """Read the ``rules`` of an impact rule file; an unreadable rule is an error, not a skip."""
    rules: list[ImpactRule] = []
    for number, raw in enumerate(json.loads(text)["rules"], start=1):
        match = _MATCH.fullmatch(raw["match"])
        if match is None:
            raise ValueError(f"impact rule {number}: cannot read match {raw['match']!r}")
        rules.append(
            ImpactRule(
                value=match["value"],
                prefix=match["op"] == "startsWith",
                services=tuple(raw.get("services", ())),
                requires_restart=bool(raw.get("requiresRestart", False)),
                warning=raw.get("warning"),
            )
        )
    return tuple(rules)


RULES: Final = parse_rules(
    resources.files("projections").joinpath("impact_rules.json").read_text(encoding="utf-8")
)
"""The rules in evaluation order: for each change, every rule in file order, as the reference."""


@attrs.frozen
class Impact:
    """What a set of changes implies; ``requires_restart`` is advisory only."""

    services_affected: tuple[str, ...] = ()
    requires_restart: bool = False
    warnings: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "servicesAffected": list(self.services_affected),
            "requiresRestart": self.requires_restart,
            "warnings": list(self.warnings),
        }


def analyze_impact(changes: Iterable[HasPath], rules: Sequence[ImpactRule] = RULES) -> Impact:
    """Services (unique, first seen first), restart flag and warnings (one per change and rule,
    so repeats are possible, as in the reference) implied by ``changes``."""
    services: dict[str, None] = {}
    requires_restart = False
    warnings: list[str] = []
    for change in changes:
        for rule in rules:
            if not rule.matches(change.path):
                continue
            services.update(dict.fromkeys(rule.services))
            requires_restart = requires_restart or rule.requires_restart
            if rule.warning is not None:
                warnings.append(rule.warning)
    return Impact(tuple(services), requires_restart, tuple(warnings))


@attrs.frozen
class Diff:
    """A diff with its impact: what the import preview shows before anything is written."""

    changes: tuple[Change, ...]
    impact: Impact

    @classmethod
    def between(cls, old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> Diff:
        changes = tuple(diff_documents(old, new))
        return cls(changes, analyze_impact(changes))

    def to_json(self) -> dict[str, Any]:
        return {
            "diff": [change.to_json() for change in self.changes],
            "impact": self.impact.to_json(),
            "changeCount": len(self.changes),
        }
