"""Turning a request body into the change the client meant.

Clients read, edit and send back. What a read returned is the *effective* configuration, secrets
masked and derived fields computed (``totp.issuer_name`` from ``branding.companyName``…). Sent
back as is, the masks would become secrets and the derived values would be pinned, so that a later
change of the company name no longer reached them. So a leaf equal to what a read shows now is
not a change and is dropped, and a mask left in a list (some elements edited) is put back to the
value it hides, as an import does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adapters.service import ConfigService
from eventstore.masking import restore_masked
from eventstore.schema.paths import SECRET_FIELDS, walk

_ABSENT = object()


def drop_unchanged(body: Mapping[str, Any], shown: Mapping[str, Any]) -> dict[str, Any]:
    """``body`` without the leaves equal to ``shown`` (what a read returns now)."""
    out: dict[str, Any] = {}
    for key, value in body.items():
        current = shown.get(key, _ABSENT)
        if isinstance(value, Mapping) and isinstance(current, Mapping):
            out[key] = drop_unchanged(value, current)
        elif not _same(value, current):
            out[key] = value
    return out


def _same(a: Any, b: Any) -> bool:
    """JSON equality, where ``True`` is not ``1``."""
    return (type(a) is type(b) and a == b) or (
        isinstance(a, int | float)
        and isinstance(b, int | float)
        and not isinstance(a, bool)
        and not isinstance(b, bool)
        and a == b
    )


#: declared settings and groups whose value cannot be null: a null there means "the default"
#: (where the schema reads null as a value — nullable settings, the reference's checkbox
#: booleans, for which null is false — it stays a value)
_NOT_NULLABLE: frozenset[str] = frozenset(
    path
    for path, declared in walk()
    if not declared.info.nullable and not getattr(declared.info.kind, "accepts_null", False)
)


def nulls_meaning_default(
    body: Mapping[str, Any], prefix: str = ""
) -> tuple[dict[str, Any], list[str]]:
    """``body`` without the nulls given to settings (or groups) that cannot be null, and
    those paths: a client returns a setting to its default by sending ``null`` for it. A null
    where the schema allows one stays a value."""
    kept: dict[str, Any] = {}
    defaults: list[str] = []
    for key, value in body.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if value is None and path in _NOT_NULLABLE:
            defaults.append(path)
        elif isinstance(value, Mapping) and path in _NOT_NULLABLE:
            kept[key], inner = nulls_meaning_default(value, path)
            defaults += inner
        else:
            kept[key] = value
    return kept, defaults


async def intended_change(
    service: ConfigService, shown: Mapping[str, Any], body: Mapping[str, Any]
) -> dict[str, Any]:
    """``body`` less what ``shown`` (the current config as reads show it) already says."""
    changed = drop_unchanged(body, shown)
    restored, _ = restore_masked(changed, await service.plaintext_at(), SECRET_FIELDS)
    return restored
