"""How a setting is declared: its default, its kind and its flags, in one place.

``setting()`` and ``section()`` return ordinary attrs fields whose metadata carries a
:class:`FieldInfo`; everything that needs to know about fields (structuring, derived path lists,
encryption, tenant policy) reads that metadata instead of keeping its own list.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import Any, Final, cast

import attrs

from eventstore.errors import Issue
from eventstore.schema.kinds import Kind, Sensitive
from eventstore.schema.policy import Policy
from eventstore.secret import Secret

META_KEY: Final = "parako"


@attrs.frozen
class FieldInfo:
    """Everything the schema knows about one setting besides its Python type.

    ``key`` is the JSON key (``companyName``); ``env`` names the bootstrap variable that sets the
    value at runtime; ``bootstrap_only`` settings are never persisted; ``runtime_only`` sections
    (``storage``, ``oidc_storage``) exist only in the runtime config; ``encrypted`` and
    ``tenant_encrypted`` follow D10, ``secret`` marks further values that are masked and kept
    encrypted at rest although the reference stored them in clear (docs/decisions.md X5);
    ``guards_credentials`` names the sibling credentials whose destination (a host) or
    protection (a certificate check) this setting decides, so a tenant cannot redirect the
    platform's credentials. ``label`` and ``help`` are what people read about the setting: a
    short name and one sentence saying what it does (the console, the schema endpoint and
    ``explain`` show them).
    """

    key: str
    kind: Kind | None = None
    nested: type | None = None
    optional: bool = False
    nullable: bool = False
    env: str | None = None
    bootstrap_only: bool = False
    runtime_only: bool = False
    encrypted: bool = False
    tenant_encrypted: bool = False
    secret: bool = False
    tenant: bool = False
    policy: Policy | None = None
    computed: object | None = None
    #: sibling settings holding credentials that are sent where (or as safely as) this one says
    guards_credentials: tuple[str, ...] = ()
    #: a short human name ("JWT secret"), and one sentence on what the setting does
    label: str = ""
    help: str = ""


def setting(
    default: Any,
    kind: Kind,
    *,
    key: str | None = None,
    nullable: bool = False,
    env: str | None = None,
    bootstrap_only: bool = False,
    encrypted: bool = False,
    tenant_encrypted: bool = False,
    secret: bool = False,
    tenant: bool = False,
    policy: Policy | None = None,
    computed: object | None = None,
    guards_credentials: tuple[str, ...] = (),
    label: str = "",
    help: str = "",
) -> Any:
    """Declare a leaf setting. ``key`` defaults to the attribute name."""
    info = FieldInfo(
        key=key or "",
        kind=kind,
        nullable=nullable,
        env=env,
        bootstrap_only=bootstrap_only,
        encrypted=encrypted,
        tenant_encrypted=tenant_encrypted,
        secret=secret,
        tenant=tenant,
        policy=policy,
        computed=computed,
        guards_credentials=guards_credentials,
        label=label,
        help=help,
    )
    if isinstance(default, list):
        raise TypeError("mutable defaults are not allowed; use a tuple")
    if isinstance(default, dict):
        default = MappingProxyType(default)
    if isinstance(kind, Sensitive) and default is not None:
        default = tuple(map(Secret, default)) if isinstance(default, tuple) else Secret(default)
    return attrs.field(default=default, metadata={META_KEY: info})


def section(
    cls: type,
    *,
    key: str | None = None,
    optional: bool = False,
    defaults: Mapping[str, Any] | None = None,
    tenant: bool = False,
    runtime_only: bool = False,
    label: str = "",
    help: str = "",
) -> Any:
    """Declare a nested group of settings; ``defaults`` overrides the class defaults here."""
    info = FieldInfo(
        key=key or "",
        nested=cls,
        optional=optional,
        tenant=tenant,
        runtime_only=runtime_only,
        label=label,
        help=help,
    )
    if optional:
        return attrs.field(default=None, metadata={META_KEY: info})
    overrides = dict(defaults or {})
    return attrs.field(factory=lambda: cls(**overrides), metadata={META_KEY: info})


@attrs.frozen
class Declared:
    """A field as the schema walks it: attribute name plus its resolved info."""

    name: str
    info: FieldInfo
    default: Any


_FIELDS: dict[type, tuple[Declared, ...]] = {}
# ``attrs.Factory`` is typed as a function returning the value; the class is what isinstance needs.
_FACTORY: Final[type] = type(attrs.Factory(list))


def declared_fields(cls: type) -> tuple[Declared, ...]:
    """The settings of a class, in declaration order (cached: the class is immutable)."""
    found = _FIELDS.get(cls)
    if found is None:
        items = []
        for f in attrs.fields(cls):
            info: FieldInfo = f.metadata[META_KEY]
            if not info.key:
                info = attrs.evolve(info, key=f.name)
            default: Any = f.default
            if isinstance(default, _FACTORY):
                default = cast(Any, default).factory()
            items.append(Declared(f.name, info, default))
        found = _FIELDS[cls] = tuple(items)
    return found


Refinement = Callable[[Any, str], Iterable[Issue]]
Normaliser = Callable[[Any], Any]
REFINEMENTS: dict[type, list[Refinement]] = {}
NORMALISERS: dict[type, list[Normaliser]] = {}


def refinement(cls: type) -> Callable[[Refinement], Refinement]:
    """Register a cross-field rule checked once the class's own fields are valid."""

    def register(rule: Refinement) -> Refinement:
        REFINEMENTS.setdefault(cls, []).append(rule)
        return rule

    return register


def normaliser(cls: type) -> Callable[[Normaliser], Normaliser]:
    """Register a rewrite applied to a valid instance (e.g. a setting implied by another)."""

    def register(rule: Normaliser) -> Normaliser:
        NORMALISERS.setdefault(cls, []).append(rule)
        return rule

    return register
