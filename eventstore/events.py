"""Domain events of the configuration stream, their canonical encoding, and upcasting.

An event is immutable and self-describing: ``ConfigChanged`` says which fields changed from what
to what (secrets as ciphertext envelopes), who did it, why, and which version it produced.
Events written by older code are upcast on read, so the fold only ever sees the current shape.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, ClassVar, Final

import attrs
import orjson

from eventstore.log import NewEvent, RecordedEvent

CONFIG_CHANGED: Final = "ConfigChanged"
SECRET_REVEALED: Final = "SecretRevealed"
TENANT_OVERRIDE_CHANGED: Final = "TenantOverrideChanged"
TENANT_CHANGED: Final = "TenantChanged"
TOKEN_CREATED: Final = "ApiTokenCreated"
TOKEN_REVOKED: Final = "ApiTokenRevoked"
CONSOLE_SIGNED_OUT: Final = "ConsoleSignedOut"
CONSOLE_SIGN_IN_FAILED: Final = "ConsoleSignInFailed"
DEFAULT_TAGS: Final = ("main", "configuration")


@attrs.frozen
class FieldChange:
    """One leaf that changed; ``old``/``new`` are ``None`` when the leaf was absent."""

    path: str
    old: Any
    new: Any
    removed: bool = False


@attrs.frozen
class Change:
    """What every new version of a stored document says: the changed fields and who/when/why.

    ``origin`` says how it came about (``initial``, ``save``, ``restore``, ``import``) so the audit
    can tell an import from a hand edit; ``restored_from`` names the semver a restore copied.
    """

    changes: tuple[FieldChange, ...]
    semver: str
    actor: str
    reason: str
    tags: tuple[str, ...]
    environment: str
    at: datetime
    origin: str = "save"
    restored_from: str | None = None
    kept_masked: tuple[str, ...] = ()


@attrs.frozen
class ConfigChanged(Change):
    """A new version of the platform's stored configuration."""

    SCHEMA_VERSION: ClassVar[int] = 2


@attrs.frozen
class SecretRevealed:
    """Someone saw a secret in clear (D11): kept in the audit stream, never the value."""

    SCHEMA_VERSION: ClassVar[int] = 1

    path: str
    actor: str
    reason: str
    at: datetime


@attrs.frozen
class TenantOverrideChanged(Change):
    """A new version of one tenant's overrides: the same metadata as a platform change, plus
    what the write stripped (paths tenants may not set) and how the platform policy adjusted it.

    ``adjustments`` are ``{path, original, adjusted, reason}`` objects (D22's ConstraintViolation)
    so the audit trail can show why a stored value differs from what was asked for.
    """

    SCHEMA_VERSION: ClassVar[int] = 1

    tenant: str = attrs.field(kw_only=True)
    stripped: tuple[str, ...] = attrs.field(default=(), kw_only=True)
    adjustments: tuple[Mapping[str, Any], ...] = attrs.field(default=(), kw_only=True)


@attrs.frozen
class TenantChanged:
    """A tenant registered (``created``) or its record edited: the registry is a stream too,
    so who created or suspended a tenant, and when, is in the same audit trail."""

    SCHEMA_VERSION: ClassVar[int] = 1

    slug: str
    display_name: str
    domain: str | None
    status: str
    actor: str
    reason: str
    at: datetime
    created: bool = False


@attrs.frozen
class ApiTokenCreated:
    """A Management API token was issued: its name, scopes and SHA-256 digest (never the token)."""

    SCHEMA_VERSION: ClassVar[int] = 1

    name: str
    scopes: tuple[str, ...]
    digest: str = attrs.field(repr=False)
    actor: str
    at: datetime


@attrs.frozen
class ApiTokenRevoked:
    SCHEMA_VERSION: ClassVar[int] = 1

    name: str
    actor: str
    at: datetime


@attrs.frozen
class ConsoleSignedOut:
    """Someone signed out of the admin console: the session ends in every process that reads
    the log, also for a copy of its cookie. ``session`` is the session's id, never the cookie."""

    SCHEMA_VERSION: ClassVar[int] = 1

    session: str
    actor: str
    at: datetime


@attrs.frozen
class ConsoleSignInFailed:
    """A console sign-in with an unknown or revoked token, counted by the sign-in limit of every
    process. ``token`` is a keyed tag of the presented token's first characters (never the
    characters themselves); ``client`` is the client address the limit is kept for."""

    SCHEMA_VERSION: ClassVar[int] = 1

    token: str
    client: str
    at: datetime


DomainEvent = (
    ConfigChanged
    | SecretRevealed
    | TenantOverrideChanged
    | TenantChanged
    | ApiTokenCreated
    | ApiTokenRevoked
    | ConsoleSignedOut
    | ConsoleSignInFailed
)
ChangeEvent = ConfigChanged | TenantOverrideChanged


def canonical_json(value: Any) -> bytes:
    """One byte string per value: the hash chain signs these bytes.

    ``NaN`` and infinities are refused (``ValueError``): they are not JSON, and an event holding
    one could not be read back by every parser that must replay it.
    """
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode()


def _change_body(event: ChangeEvent) -> dict[str, Any]:
    """What platform and tenant changes share: the field changes and who/when/why."""
    return {
        "schema": event.SCHEMA_VERSION,
        "changes": [
            {"path": c.path, "old": c.old, "new": c.new, **({"removed": True} if c.removed else {})}
            for c in event.changes
        ],
        "semver": event.semver,
        "actor": event.actor,
        "reason": event.reason,
        "tags": list(event.tags),
        "environment": event.environment,
        "at": event.at.isoformat(),
        "origin": event.origin,
        "restored_from": event.restored_from,
        "kept_masked": list(event.kept_masked),
    }


def encode(event: DomainEvent) -> NewEvent:
    if isinstance(event, ConfigChanged):
        return NewEvent(CONFIG_CHANGED, canonical_json(_change_body(event)))
    if isinstance(event, TenantOverrideChanged):
        body = {
            **_change_body(event),
            "tenant": event.tenant,
            "stripped": list(event.stripped),
            "adjustments": [dict(a) for a in event.adjustments],
        }
        return NewEvent(TENANT_OVERRIDE_CHANGED, canonical_json(body))
    if isinstance(event, ApiTokenCreated):
        body = {
            "schema": ApiTokenCreated.SCHEMA_VERSION,
            "name": event.name,
            "scopes": list(event.scopes),
            "digest": event.digest,
            "actor": event.actor,
            "at": event.at.isoformat(),
        }
        return NewEvent(TOKEN_CREATED, canonical_json(body))
    if isinstance(event, ApiTokenRevoked):
        body = {
            "schema": ApiTokenRevoked.SCHEMA_VERSION,
            "name": event.name,
            "actor": event.actor,
            "at": event.at.isoformat(),
        }
        return NewEvent(TOKEN_REVOKED, canonical_json(body))
    if isinstance(event, TenantChanged):
        body = {
            "schema": TenantChanged.SCHEMA_VERSION,
            "slug": event.slug,
            "display_name": event.display_name,
            "domain": event.domain,
            "status": event.status,
            "actor": event.actor,
            "reason": event.reason,
            "at": event.at.isoformat(),
            "created": event.created,
        }
        return NewEvent(TENANT_CHANGED, canonical_json(body))
    if isinstance(event, ConsoleSignedOut):
        body = {
            "schema": ConsoleSignedOut.SCHEMA_VERSION,
            "session": event.session,
            "actor": event.actor,
            "at": event.at.isoformat(),
        }
        return NewEvent(CONSOLE_SIGNED_OUT, canonical_json(body))
    if isinstance(event, ConsoleSignInFailed):
        body = {
            "schema": ConsoleSignInFailed.SCHEMA_VERSION,
            "token": event.token,
            "client": event.client,
            "at": event.at.isoformat(),
        }
        return NewEvent(CONSOLE_SIGN_IN_FAILED, canonical_json(body))
    body = {
        "schema": SecretRevealed.SCHEMA_VERSION,
        "path": event.path,
        "actor": event.actor,
        "reason": event.reason,
        "at": event.at.isoformat(),
    }
    return NewEvent(SECRET_REVEALED, canonical_json(body))


def _upcast_config_changed_v1(body: dict[str, Any]) -> dict[str, Any]:
    """Version 1 (first prototype) kept changes as ``{path: [old, new]}`` and named the actor
    ``by``, the semver ``version`` and had no origin, tags or environment."""
    return {
        "schema": 2,
        "changes": [
            {"path": p, "old": pair[0], "new": pair[1]} for p, pair in body["changes"].items()
        ],
        "semver": body["version"],
        "actor": body["by"],
        "reason": body.get("reason", ""),
        "tags": list(DEFAULT_TAGS),
        "environment": body.get("environment", "development"),
        "at": body["at"],
        "origin": "restore" if body.get("restored_from") else "save",
        "restored_from": body.get("restored_from"),
        "kept_masked": [],
    }


#: (event type, stored schema version) → function lifting the body one version up
UPCASTERS: Final[Mapping[tuple[str, int], Callable[[dict[str, Any]], dict[str, Any]]]] = {
    (CONFIG_CHANGED, 1): _upcast_config_changed_v1,
}
CURRENT_SCHEMA: Final = {
    CONFIG_CHANGED: ConfigChanged.SCHEMA_VERSION,
    SECRET_REVEALED: SecretRevealed.SCHEMA_VERSION,
    TENANT_OVERRIDE_CHANGED: TenantOverrideChanged.SCHEMA_VERSION,
    TENANT_CHANGED: TenantChanged.SCHEMA_VERSION,
    TOKEN_CREATED: ApiTokenCreated.SCHEMA_VERSION,
    TOKEN_REVOKED: ApiTokenRevoked.SCHEMA_VERSION,
    CONSOLE_SIGNED_OUT: ConsoleSignedOut.SCHEMA_VERSION,
    CONSOLE_SIGN_IN_FAILED: ConsoleSignInFailed.SCHEMA_VERSION,
}


class UnknownEvent(ValueError):
    """The log holds an event this code cannot read (written by a newer version?)."""


def upcast(event_type: str, body: dict[str, Any]) -> dict[str, Any]:
    version = int(body.get("schema", 1))
    while version < CURRENT_SCHEMA.get(event_type, version):
        body = UPCASTERS[(event_type, version)](body)
        version = int(body["schema"])
    if version != CURRENT_SCHEMA.get(event_type):
        raise UnknownEvent(f"cannot read {event_type} schema version {version}")
    return body


#: an integer outside 64 bits has at least 19 digits, and orjson would turn it into a float;
#: mapping digits to "0" and the rest to " " finds such a run far faster than a regex
_DIGITS_ONLY: Final = bytes(48 if 48 <= byte <= 57 else 32 for byte in range(256))
_LONG_RUN: Final = b"0" * 19


def _parse(data: bytes) -> Any:
    """Replays decode every event of the log: orjson reads our canonical JSON about 3x faster.

    orjson silently reads integers beyond 64 bits as floats (and refuses ``NaN``), while
    ``json.dumps`` writes both; such bodies go to the standard library, so every event ever
    encoded is read back exactly (tests/test_events.py checks this property).
    """
    if _LONG_RUN not in data.translate(_DIGITS_ONLY):
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            pass
    return json.loads(data)


_ChangeFields = tuple[
    tuple[FieldChange, ...],
    str,
    str,
    str,
    tuple[str, ...],
    str,
    datetime,
    str,
    str | None,
    tuple[str, ...],
]


def _change_fields(body: Mapping[str, Any]) -> _ChangeFields:
    """What every change event holds, positional in field order (this runs once per event on
    every replay, and keyword arguments cost measurably there)."""
    return (
        tuple(
            [
                FieldChange(c["path"], c["old"], c["new"], c.get("removed") is True)
                for c in body["changes"]
            ]
        ),
        body["semver"],
        body["actor"],
        body["reason"],
        tuple(body["tags"]),
        body["environment"],
        datetime.fromisoformat(body["at"]),
        body["origin"],
        body["restored_from"],
        tuple(body["kept_masked"]),
    )


def read_json(data: bytes) -> Any:
    """Canonical JSON (an event body, a snapshot's state) read as replays read it: fast, and
    exact for every value ``canonical_json`` writes."""
    return _parse(data)


def current_body(recorded: RecordedEvent) -> dict[str, Any] | None:
    """The body of ``recorded`` as stored, when it already has its type's current layout (what
    :func:`decode` builds the event from); None when it would be upcast first. For readers that
    need a few fields of every event of a replay, not the event objects."""
    body = _parse(recorded.data)
    if isinstance(body, dict) and body.get("schema") == CURRENT_SCHEMA.get(recorded.type):
        return body
    return None


def decode(recorded: RecordedEvent) -> DomainEvent:
    body = _parse(recorded.data)
    if body.get("schema") != CURRENT_SCHEMA.get(recorded.type):
        body = upcast(recorded.type, body)
    if recorded.type == CONFIG_CHANGED:
        return ConfigChanged(*_change_fields(body))
    if recorded.type == TENANT_OVERRIDE_CHANGED:
        return TenantOverrideChanged(
            *_change_fields(body),
            tenant=body["tenant"],
            stripped=tuple(body["stripped"]),
            adjustments=tuple(body["adjustments"]),
        )
    if recorded.type == TOKEN_CREATED:
        return ApiTokenCreated(
            body["name"],
            tuple(body["scopes"]),
            body["digest"],
            body["actor"],
            datetime.fromisoformat(body["at"]),
        )
    if recorded.type == TOKEN_REVOKED:
        return ApiTokenRevoked(body["name"], body["actor"], datetime.fromisoformat(body["at"]))
    if recorded.type == TENANT_CHANGED:
        return TenantChanged(
            body["slug"],
            body["display_name"],
            body["domain"],
            body["status"],
            body["actor"],
            body["reason"],
            datetime.fromisoformat(body["at"]),
            body["created"],
        )
    if recorded.type == SECRET_REVEALED:
        return SecretRevealed(
            path=body["path"],
            actor=body["actor"],
            reason=body["reason"],
            at=datetime.fromisoformat(body["at"]),
        )
    if recorded.type == CONSOLE_SIGNED_OUT:
        return ConsoleSignedOut(body["session"], body["actor"], datetime.fromisoformat(body["at"]))
    if recorded.type == CONSOLE_SIGN_IN_FAILED:
        return ConsoleSignInFailed(
            body["token"], body["client"], datetime.fromisoformat(body["at"])
        )
    raise UnknownEvent(f"unknown event type {recorded.type!r} at position {recorded.position}")
