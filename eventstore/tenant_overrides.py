"""What a tenant may override, and what a write of overrides means (D21 in docs/decisions.md).

Only the allow-listed paths (derived from the ``tenant=True`` flag on the settings) are kept;
anything else is stripped and reported back, never silently. ``''`` means "inherit the platform
value": in a merge it removes that override, in a section replacement it is simply left out.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Final

import attrs

from eventstore.docpath import deep_merge, delete_path, set_path
from eventstore.errors import Issue, ValidationFailed
from eventstore.schema.paths import ALLOWED_TENANT_FIELDS, TENANT_SECTIONS
from eventstore.schema.structure import join

ALLOWED: Final = frozenset(ALLOWED_TENANT_FIELDS)
#: objects on the way to an allowed path: a write may descend through them
_PREFIXES: Final = frozenset(
    ".".join(path.split(".")[:depth])
    for path in ALLOWED_TENANT_FIELDS
    for depth in range(1, path.count(".") + 1)
)
INHERIT: Final = ""


@attrs.frozen
class OverrideWrite:
    """A tenant write after filtering: values to set, paths to inherit again, paths refused,
    and the sections the write names (a section replacement replaces exactly those)."""

    values: Mapping[str, Any]
    inherit: tuple[str, ...]
    stripped: tuple[str, ...]
    sections: tuple[str, ...] = ()

    def apply(self, current: Mapping[str, Any], *, replace_sections: bool) -> dict[str, Any]:
        """The overrides document after this write.

        ``replace_sections`` is the API's PUT of a section: each section named in the write is
        replaced wholesale, by nothing when the write sets nothing in it (the tenant inherits
        the whole section again). Otherwise (the CLI's ``PATH=VALUE``) values merge in and
        inherited paths are removed.
        """
        if replace_sections:
            touched = {path.split(".")[0] for path in self.inherit}
            touched |= set(self.values) | set(self.sections)
            kept = {k: v for k, v in current.items() if k not in touched}
            return {**kept, **{k: v for k, v in self.values.items()}}
        doc = deep_merge(current, self.values)
        for path in self.inherit:
            doc = _prune(delete_path(doc, path))
        return doc


NOT_OVERRIDABLE: Final = "cannot be overridden by a tenant"


def filter_write(partial: Mapping[str, Any], *, replace_sections: bool = False) -> OverrideWrite:
    """Split a requested write into allowed values, inherits and stripped paths.

    Every stripped path is named in full (``deployment.url``, not ``deployment``). A write that
    names paths but none a tenant may set is refused naming each of them, so it is an error
    rather than a silent no-op (docs/decisions.md X32); a section replacement that names no
    path at all (``{}``) is valid: it clears the section.
    """
    if not isinstance(partial, Mapping):
        raise ValidationFailed([Issue("", "tenant overrides must be a JSON object")])
    values: dict[str, Any] = {}
    inherit: list[str] = []
    stripped: list[str] = []
    for path, value in _walk(partial, ""):
        if path not in ALLOWED:
            stripped.append(path)
        elif value == INHERIT:
            inherit.append(path)
        else:
            cleaned = _without_inherits(value)
            if cleaned is not _EMPTY:
                values = set_path(values, path, cleaned)
    sections = tuple(str(key) for key in partial if key in TENANT_SECTIONS)
    if not values and not inherit and (stripped or not (replace_sections and sections)):
        raise ValidationFailed(
            [Issue(path, _why_not(path)) for path in stripped],
            "No valid override fields provided",
        )
    return OverrideWrite(values, tuple(inherit), tuple(stripped), sections)


def _why_not(path: str) -> str:
    if path.split(".")[0] in TENANT_SECTIONS:
        return NOT_OVERRIDABLE
    return f"{NOT_OVERRIDABLE} (only these sections can be: {', '.join(TENANT_SECTIONS)})"


def _walk(doc: Mapping[str, Any], prefix: str) -> Iterator[tuple[str, Any]]:
    """Yield (path, value) at allowed paths and at every leaf outside them: a disallowed object
    is walked to its leaves, so each refused path is reported in full (an empty object on the
    way to allowed paths sets nothing and is not reported)."""
    for key, value in doc.items():
        path = join(prefix, str(key))
        if path not in ALLOWED and isinstance(value, Mapping) and (value or path in _PREFIXES):
            yield from _walk(value, path)
        else:
            yield path, value


_EMPTY: Final = object()


def _without_inherits(value: Any) -> Any:
    """An object-valued override with its ``''`` members removed (they inherit as well)."""
    if not isinstance(value, Mapping):
        return value
    out = {}
    for key, item in value.items():
        if item == INHERIT:
            continue
        cleaned = _without_inherits(item)
        if cleaned is not _EMPTY:
            out[key] = cleaned
    return out or _EMPTY


def _prune(doc: Mapping[str, Any]) -> dict[str, Any]:
    """Drop objects left empty by removing overrides: an empty section overrides nothing."""
    out = {}
    for key, value in doc.items():
        if isinstance(value, Mapping):
            value = _prune(value)
            if not value:
                continue
        out[key] = value
    return out
