"""Writes that name a field the store always computes.

``oidc.issuer``, the MFA issuer and relying-party names and the WebAuthn ``rp_id`` are derived on
every build; a value stored there is never used. Accepting a write to one of them would answer
"saved", record a change (a diff, a version) and change nothing anyone reads. So a write is taken
apart before it is merged: the computed paths it names are set aside as *claims*, never stored,
and once the whole config the write makes has been built, each claim must equal the value
actually in force — sending back what a read returned is fine — or the write is refused, naming
the field and what it follows (D27 in docs/decisions.md).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import attrs

from eventstore.docpath import delete_path, get_path, has_path
from eventstore.errors import Issue, ValidationFailed
from eventstore.schema.paths import ALWAYS_COMPUTED

_ABSENT = object()


@attrs.frozen
class ComputedClaims:
    """The values a write gave to always-computed paths (path → value)."""

    values: Mapping[str, Any] = attrs.field(factory=dict)

    @classmethod
    def take(cls, partial: Mapping[str, Any]) -> tuple[dict[str, Any], ComputedClaims]:
        """``partial`` without its always-computed paths, and those paths' values."""
        claims = {p: get_path(partial, p) for p in ALWAYS_COMPUTED if has_path(partial, p)}
        rest = dict(partial)
        for path in claims:
            rest = delete_path(rest, path)
        return rest, cls(claims)

    def check(self, effective: Mapping[str, Any], stored: Mapping[str, Any]) -> None:
        """Refuse every claim that differs both from the value in force after the write
        (``effective``) and from the value already stored (an export sent back)."""
        issues = [
            Issue(
                path,
                f"is computed from {ALWAYS_COMPUTED[path]} and cannot be set "
                f"(it is {json.dumps(get_path(effective, path, None))})",
            )
            for path, value in self.values.items()
            if value != get_path(effective, path, _ABSENT)
            and value != get_path(stored, path, _ABSENT)
        ]
        if issues:
            raise ValidationFailed(issues)


#: a write that names no always-computed path
NO_CLAIMS = ComputedClaims()
