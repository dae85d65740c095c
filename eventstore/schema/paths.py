"""Path lists derived from the flags on the settings — never kept by hand.

A test compares each list with the reference data files, so adding a flag to a setting is the
only way to change them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Final

from eventstore.computed import AlwaysDerived
from eventstore.schema.config import AppConfig
from eventstore.schema.declare import Declared, declared_fields
from eventstore.schema.policy import BooleanFloor, Ceiling, NumericFloor, OrderedFloor, Policy
from eventstore.schema.structure import join


def walk(cls: type = AppConfig, prefix: str = "") -> Iterator[tuple[str, Declared]]:
    """Every declared setting and section, depth first, with its dotted path."""
    for d in declared_fields(cls):
        path = join(prefix, d.info.key)
        yield path, d
        if d.info.nested is not None:
            yield from walk(d.info.nested, path)


def _paths(flag: str) -> tuple[str, ...]:
    return tuple(p for p, d in walk() if getattr(d.info, flag))


def _policies(kind: type) -> Mapping[str, Policy]:
    return {
        p: pol for p, d in walk() if (pol := d.info.policy) is not None and isinstance(pol, kind)
    }


SECTIONS: Final = tuple(d.info.key for d in declared_fields(AppConfig))
RUNTIME_ONLY_SECTIONS: Final = _paths("runtime_only")
PERSISTED_SECTIONS: Final = tuple(s for s in SECTIONS if s not in RUNTIME_ONLY_SECTIONS)
BOOTSTRAP_ONLY_FIELDS: Final = _paths("bootstrap_only")
ENCRYPTED_FIELDS: Final = _paths("encrypted")
TENANT_ENCRYPTED_FIELDS: Final = _paths("tenant_encrypted")
#: everything kept encrypted at rest and masked on display: the 14 of D10 plus further secrets
#: the sections and nested groups: a document must hold an object (or nothing) at each of them
OBJECT_PATHS: Final = frozenset(p for p, d in walk() if d.info.nested is not None)
SECRET_FIELDS: Final = tuple(p for p, d in walk() if d.info.encrypted or d.info.secret)
ALLOWED_TENANT_FIELDS: Final = _paths("tenant")
TENANT_SECTIONS: Final = tuple(dict.fromkeys(p.split(".")[0] for p in ALLOWED_TENANT_FIELDS))
ENV_FIELDS: Final = {d.info.env: p for p, d in walk() if d.info.env}
BOOLEAN_FLOORS: Final = _policies(BooleanFloor)
NUMERIC_FLOORS: Final = _policies(NumericFloor)
CEILINGS: Final = _policies(Ceiling)
ORDERED_FLOORS: Final = _policies(OrderedFloor)
ZERO_UNLIMITED_FIELDS: Final = tuple(
    p for p, pol in CEILINGS.items() if isinstance(pol, Ceiling) and pol.zero_unlimited
)
COMPUTED: Final[Mapping[str, Any]] = {p: d.info.computed for p, d in walk() if d.info.computed}
#: a setting deciding where (or how safely) credentials are sent → the credentials' paths
CREDENTIAL_GUARDS: Final[Mapping[str, tuple[str, ...]]] = {
    p: tuple(join(p.rpartition(".")[0], key) for key in d.info.guards_credentials)
    for p, d in walk()
    if d.info.guards_credentials
}
#: computed fields whose stored or written value is never used → what each one follows
ALWAYS_COMPUTED: Final[Mapping[str, str]] = {
    p: rule.derived_from for p, rule in COMPUTED.items() if isinstance(rule, AlwaysDerived)
}
