"""Tenants: who they are (the registry) and where their overrides live (one stream each).

The registry is a stream of :class:`~eventstore.events.TenantChanged` events folded into a map
of slug → :class:`Tenant`; each tenant's overrides are the stream ``config/tenant/<slug>``. The
slug is the tenant's key everywhere — streams, caches, encryption scope and hint channels — which
avoids the reference's split between slug and database id (docs/decisions.md X22).

The fold costs the same per event however many tenants there are: it adds to indexes (by slug,
by custom domain) that every :class:`Registry` view of it shares, instead of copying the table.
It is snapshotted like the platform stream (sealed by the log, checked by ``verify``), with
snapshots that grow geometrically: a fresh process folds at most a quarter of the stream, and
builds the tenants of the snapshot only as they are asked for.
"""

from __future__ import annotations

import array
import bisect
import contextlib
import enum
import gc
import ipaddress
import itertools
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Final

import attrs
import orjson

from eventstore.errors import ConfigError, Issue, ValidationFailed
from eventstore.events import TenantChanged, canonical_json
from eventstore.log import Snapshot

REGISTRY_STREAM: Final = "tenants/registry"
TENANT_STREAM_PREFIX: Final = "config/tenant/"
#: the single-tenant id and the platform itself; never has overrides
DEFAULT_TENANT: Final = "default"
#: accepted before slug validation when a request names a tenant
SYSTEM_TENANTS: Final = ("_ops", "_platforms")
RESERVED_SLUGS: Final = ("_ops", "_platforms", "_system", "admin", "api")

# Creation is stricter than identification: no underscores, no leading/trailing hyphen.
_CREATE_SLUG: Final = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
_IDENTIFIER: Final = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
_HOSTNAME: Final = re.compile(
    r"^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)"
    r"(?:\.(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?))*$"
)


class TenantNotFound(ConfigError):
    def __init__(self, slug: str) -> None:
        super().__init__(f"Tenant not found: {slug}")
        self.slug = slug


class TenantStatus(enum.StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    ARCHIVED = "archived"


@attrs.frozen
class Tenant:
    slug: str
    display_name: str
    domain: str | None = None
    status: TenantStatus = TenantStatus.ACTIVE

    @property
    def active(self) -> bool:
        return self.status is TenantStatus.ACTIVE

    def to_json(self) -> dict[str, str | None]:
        return {
            "slug": self.slug,
            "display_name": self.display_name,
            "domain": self.domain,
            "status": self.status.value,
        }


class Registry:
    """Every tenant by slug as of one version of the registry stream, and the global position of
    the event at that version.

    A view: folding more events never changes what it answers. All views of one fold share one
    :class:`_History`, which keeps each tenant's states (and each custom domain's holders) newest
    first, so an event is folded in constant time and a lookup by slug or custom domain is a
    dictionary lookup, whatever the number of tenants. A view asks for its own version's state
    (the newest state at or before it), which is the newest one unless the fold moved on.
    """

    __slots__ = ("_history", "position", "version")

    def __init__(
        self, tenants: Mapping[str, Tenant] | None = None, version: int = 0, position: int = 0
    ) -> None:
        history = _History(version)
        for tenant in (tenants or {}).values():
            history.seed(tenant, (version,))
        self._history = history
        self.version = version
        self.position = position

    @classmethod
    def _view(cls, history: _History, version: int, position: int) -> Registry:
        view = cls.__new__(cls)
        view._history, view.version, view.position = history, version, position
        return view

    @property
    def tenants(self) -> Mapping[str, Tenant]:
        return _Tenants(self._history, self.version)

    def apply(self, event: TenantChanged, version: int, position: int = 0) -> Registry:
        """The registry after ``event`` (the registry stream's event at ``version``)."""
        tenant = Tenant(event.slug, event.display_name, event.domain, _status(event.status))
        return self._advanced(tenant, version, position)

    def skip(self, version: int, position: int = 0) -> Registry:
        """The registry after an event of its stream that is not about a tenant."""
        return self._advanced(None, version, position)

    def _advanced(self, tenant: Tenant | None, version: int, position: int) -> Registry:
        if version <= self.version:
            raise ValueError(f"version {version} does not follow the registry's {self.version}")
        history = self._history
        if self.version == history.newest:
            history.fold(tenant, version)
            return Registry._view(history, version, position)
        if version == self.version + 1 and history.holds(tenant, version):
            return Registry._view(history, version, position)  # another fold got here first
        # a fold that branches off an older view: it gets a history of its own
        return self._copy()._advanced(tenant, version, position)

    def _copy(self) -> Registry:
        history = _History(self.version)
        for slug in self.tenants:
            entry = self._history.entry(slug, self.version)
            assert entry is not None
            history.seed(entry.tenant, entry.versions())
        return Registry._view(history, self.version, self.position)

    def by_domain(self, host: str) -> Tenant | None:
        """Exact custom-domain lookup (request host → tenant); when several tenants hold one
        domain, the one created first."""
        holders = self._history.holders(host, self.version)
        return self.tenants.get(self._history.first_created(holders)) if holders else None

    def versions_of(self, slug: str) -> tuple[int, ...]:
        """The registry versions whose events were about ``slug``, oldest first: where a
        tenant's own registry events are, without reading the others."""
        entry = self._history.entry(slug, self.version)
        return entry.versions() if entry is not None else ()

    # --- snapshots ---------------------------------------------------------------------------

    def to_snapshot(self) -> Snapshot:
        """The registry as a snapshot of its stream: every tenant in creation order, with the
        versions of its events (what :meth:`versions_of` answers), one column per field."""
        columns: dict[str, list[Any]] = {name: [] for name in _COLUMNS}
        slugs, names, domains = columns["slugs"], columns["names"], columns["domains"]
        statuses, counts, versions = columns["statuses"], columns["counts"], columns["versions"]
        for slug in self.tenants:
            entry = self._history.entry(slug, self.version)
            assert entry is not None
            tenant, its_versions = entry.tenant, entry.versions()
            slugs.append(tenant.slug)
            names.append(tenant.display_name)
            domains.append(tenant.domain)
            statuses.append(tenant.status.value)
            counts.append(len(its_versions))
            versions.extend(its_versions)
        state = canonical_json({"format": SNAPSHOT_FORMAT, **columns})
        return Snapshot(REGISTRY_STREAM, self.version, self.position, state)

    @classmethod
    def from_snapshot(cls, snapshot: Snapshot) -> Registry:
        """Raises ValueError for a state this release cannot read."""
        try:
            body = orjson.loads(snapshot.state)
            if body["format"] != SNAPSHOT_FORMAT:
                raise ValueError(f"registry snapshot format {body['format']!r}")
            columns = [body[name] for name in _COLUMNS]
            slugs, names, domains, statuses, counts, versions = columns
            if len({len(column) for column in columns[:5]}) != 1 or sum(counts) != len(versions):
                raise ValueError("registry snapshot columns of different lengths")
            if not all(type(v) is int for v in versions):
                raise TypeError("a version is not an integer")
            seeded = _Seeded(slugs, names, domains, statuses, counts, versions)
            history = _History(snapshot.version, seeded, slugs)
        except (KeyError, TypeError, AttributeError, orjson.JSONDecodeError) as exc:
            raise ValueError(f"unreadable registry snapshot ({exc!r})") from None
        return cls._view(history, snapshot.version, snapshot.position)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Registry):
            return NotImplemented
        return self.version == other.version and list(self.tenants.items()) == list(
            other.tenants.items()
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Registry(version={self.version}, tenants={len(self.tenants)})"


#: the layout of a registry snapshot's state; a snapshot of another layout is not used
SNAPSHOT_FORMAT: Final = 1
#: the columns of a snapshot's state, one value per tenant (``versions``: ``counts`` each)
_COLUMNS: Final = ("slugs", "names", "domains", "statuses", "counts", "versions")
#: a registry folded over at least this many events past its newest snapshot leaves a new one
SNAPSHOT_MIN_TAIL: Final = 1000
#: … and over at least this share of its stream (1/4), so snapshots grow geometrically: a fresh
#: process folds at most a quarter of the stream, and all snapshots together hold about four
#: times the newest one
SNAPSHOT_TAIL_SHARE: Final = 4


@contextlib.contextmanager
def bulk_fold() -> Iterator[None]:
    """Pause the cyclic garbage collector while a fold builds many objects that stay alive.

    A fold makes no reference cycles, so the collector finds nothing to free; but each of its
    full passes walks every live object, and during a fold of N tenants there are several
    such passes over a heap that grows with N, which makes the fold's cost grow faster than N.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


_STATUSES: Final = {status.value: status for status in TenantStatus}


def _status(value: str) -> TenantStatus:
    """``TenantStatus(value)``, without the enum's call overhead (folds call it per event)."""
    found = _STATUSES.get(value)
    return found if found is not None else TenantStatus(value)


def snapshot_due(version: int, snapshot_version: int) -> bool:
    """Whether a registry folded up to ``version`` from a snapshot at ``snapshot_version`` (0:
    none) should leave a snapshot behind."""
    tail = version - snapshot_version
    return tail >= max(SNAPSHOT_MIN_TAIL, version // SNAPSHOT_TAIL_SHARE)


class _Entry:
    """One state of a tenant from ``version`` on; ``previous`` is its state before that."""

    __slots__ = ("previous", "tenant", "version")

    def __init__(self, version: int, tenant: Tenant, previous: _Entry | None) -> None:
        self.version, self.tenant, self.previous = version, tenant, previous

    def versions(self) -> tuple[int, ...]:
        found = []
        entry: _Entry | None = self
        while entry is not None:
            found.append(entry.version)
            entry = entry.previous
        return tuple(found[::-1])


class _Holders:
    """Who holds one custom domain from ``version`` on (normally one tenant, or none)."""

    __slots__ = ("holders", "previous", "version")

    def __init__(self, version: int, holders: tuple[str, ...], previous: _Holders | None) -> None:
        self.version, self.holders, self.previous = version, holders, previous


class _Seeded:
    """A snapshot's tenants, each turned into an entry the first time it is asked for: a fresh
    process that reads one tenant of 100,000 builds the indexes, not 100,000 objects."""

    __slots__ = ("by_domain", "domains", "names", "offsets", "rows", "statuses", "versions")

    def __init__(
        self,
        slugs: list[str],
        names: list[str],
        domains: list[str | None],
        statuses: list[str],
        counts: list[int],
        versions: list[int],
    ) -> None:
        self.rows = dict(zip(slugs, range(len(slugs)), strict=True))
        if len(self.rows) != len(slugs):
            raise ValueError("a tenant is listed twice")
        self.names, self.domains, self.statuses, self.versions = names, domains, statuses, versions
        self.offsets = array.array("q", itertools.accumulate(counts, initial=0))
        by_domain: dict[str, tuple[str, ...]] = {}
        for slug, domain in zip(slugs, domains, strict=True):
            if domain is not None:
                by_domain[domain] = (*by_domain.get(domain, ()), slug)
        self.by_domain = by_domain

    def take(self, slug: str) -> _Entry | None:
        """The entry of ``slug`` (None if the snapshot does not have it), built once: the
        caller keeps it from then on."""
        row = self.rows.pop(slug, None)
        if row is None:
            return None
        tenant = Tenant(slug, self.names[row], self.domains[row], _status(self.statuses[row]))
        entry = None
        for version in self.versions[self.offsets[row] : self.offsets[row + 1]]:
            entry = _Entry(version, tenant, entry)
        return entry


class _History:
    """Every version of one registry fold at once (see :class:`Registry`).

    ``order`` lists the slugs in the order they first appeared and ``created`` the version at
    which each did, so the tenants of any version are a prefix of ``order``. ``base`` is the
    version the fold started at (a snapshot's): older versions are not known. ``tenants`` and
    ``domains`` hold what was folded (or asked for) since; the snapshot's own rows wait in
    ``seeded`` until then.
    """

    __slots__ = ("base", "created", "domains", "newest", "order", "seeded", "tenants")

    def __init__(self, base: int, seeded: _Seeded | None = None, order: list[str] | None = None):
        self.base = base
        self.newest = base
        self.tenants: dict[str, _Entry] = {}
        self.domains: dict[str, _Holders] = {}
        self.seeded = seeded
        self.order: list[str] = order if order is not None else []
        self.created = array.array("q")
        if seeded is not None:
            offsets, versions = seeded.offsets, seeded.versions
            self.created.extend(versions[offsets[row]] for row in range(len(self.order)))

    def newest_entry(self, slug: str) -> _Entry | None:
        entry = self.tenants.get(slug)
        if entry is None and self.seeded is not None:
            entry = self.seeded.take(slug)
            if entry is not None:
                self.tenants[slug] = entry
        return entry

    def entry(self, slug: str, version: int) -> _Entry | None:
        entry = self.newest_entry(slug)
        while entry is not None and entry.version > version:
            entry = entry.previous
        return entry

    def holders(self, domain: str, version: int) -> tuple[str, ...]:
        entry = self.domains.get(domain)
        while entry is not None and entry.version > version:
            entry = entry.previous
        if entry is not None:
            return entry.holders
        return self.seeded.by_domain.get(domain, ()) if self.seeded is not None else ()

    def holds(self, tenant: Tenant | None, version: int) -> bool:
        """Whether ``version`` was folded already, into the same state."""
        if version > self.newest:
            return False
        if tenant is None:
            return True
        entry = self.entry(tenant.slug, version)
        return entry is not None and entry.version == version and entry.tenant == tenant

    def seed(self, tenant: Tenant, versions: Sequence[int]) -> None:
        """A tenant known from before ``base``, with the versions of its events."""
        slug = tenant.slug
        if slug in self.tenants:
            raise ValueError(f"tenant {slug} is listed twice")
        entry = None
        for version in versions:
            entry = _Entry(version, tenant, entry)
        if entry is None:
            raise ValueError(f"tenant {slug} has no version")
        self.tenants[slug] = entry
        self.order.append(slug)
        self.created.append(versions[0])
        if tenant.domain is not None:
            self._move(tenant.domain, self.base, add=slug)

    def fold(self, tenant: Tenant | None, version: int) -> None:
        self.newest = version
        if tenant is None:
            return
        slug = tenant.slug
        current = self.newest_entry(slug)
        if current is None:
            self.order.append(slug)
            self.created.append(version)
        self.tenants[slug] = _Entry(version, tenant, current)
        before = current.tenant.domain if current is not None else None
        if before != tenant.domain:
            if before is not None:
                self._move(before, version, remove=slug)
            if tenant.domain is not None:
                self._move(tenant.domain, version, add=slug)

    def _move(self, domain: str, version: int, *, add: str = "", remove: str = "") -> None:
        current = self.domains.get(domain)
        holders = self.holders(domain, version)
        if remove:
            holders = tuple(h for h in holders if h != remove)
        if add:
            holders = (*holders, add)
        if current is not None and current.version == version:
            current.holders = holders  # seeding: one state per domain
        else:
            self.domains[domain] = _Holders(version, holders, current)

    def first_created(self, holders: tuple[str, ...]) -> str:
        if len(holders) == 1:
            return holders[0]

        def created(slug: str) -> tuple[int, int]:
            oldest = self.newest_entry(slug)
            assert oldest is not None
            while oldest.previous is not None:
                oldest = oldest.previous
            # tenants seeded from a mapping share a creation version: then their listed order
            return (oldest.version, self.order.index(slug))

        return min(holders, key=created)


class _Tenants(Mapping[str, Tenant]):
    """The tenants of one registry version, by slug, in the order they were created."""

    __slots__ = ("_history", "_version")

    def __init__(self, history: _History, version: int) -> None:
        self._history, self._version = history, version

    def __getitem__(self, slug: str) -> Tenant:
        entry = self._history.entry(slug, self._version)
        if entry is None:
            raise KeyError(slug)
        return entry.tenant

    def get(self, slug: str, default: Any = None) -> Any:
        try:
            return self[slug]
        except KeyError:
            return default

    def __contains__(self, slug: object) -> bool:
        return isinstance(slug, str) and self.get(slug) is not None

    def __len__(self) -> int:
        return bisect.bisect_right(self._history.created, self._version)

    def __iter__(self) -> Iterator[str]:
        return itertools.islice(self._history.order, len(self))


def tenant_stream(slug: str) -> str:
    return TENANT_STREAM_PREFIX + slug


def slug_of_stream(stream: str) -> str | None:
    """The tenant a stream belongs to, or None for platform and other streams."""
    return stream.removeprefix(TENANT_STREAM_PREFIX) if is_tenant_stream(stream) else None


def is_tenant_stream(stream: str) -> bool:
    return stream.startswith(TENANT_STREAM_PREFIX)


def new_slug(raw: str) -> str:
    """Normalise and check a new tenant's slug, with the reference's rules and messages."""
    slug = raw.strip().lower()
    if slug in RESERVED_SLUGS:
        raise _invalid("slug", f"Slug '{slug}' is reserved for system infrastructure")
    if not 2 <= len(slug) <= 63 or not _CREATE_SLUG.match(slug):
        raise _invalid(
            "slug",
            "Slug must be lowercase alphanumeric with optional hyphens, "
            "cannot start or end with a hyphen",
        )
    return slug


def is_tenant_identifier(value: str) -> bool:
    """Whether a tenant named by a request can be a slug at all (before any lookup)."""
    return bool(_IDENTIFIER.match(value))


def normalise_domain(raw: str | None) -> str | None:
    """A custom domain as stored: trimmed, lower-case, no trailing dot; ``''`` means none."""
    if raw is None:
        return None
    domain = raw.strip().lower().removesuffix(".")
    if not domain:
        return None
    if is_ip_literal(domain) or not _HOSTNAME.match(domain):
        raise _invalid("domain", "Domain must be a hostname without a scheme, port, or path")
    return domain


def display_name_of(raw: str | None, slug: str) -> str:
    name = (raw if raw is not None else slug).strip()
    if not 1 <= len(name) <= 255:
        raise _invalid("display_name", "Display name must be between 1 and 255 characters")
    return name


def is_ip_literal(host: str) -> bool:
    """IP hosts are never tenant domains, nor do they carry a tenant subdomain."""
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def _invalid(path: str, message: str) -> ValidationFailed:
    return ValidationFailed([Issue(path, message)], "Invalid tenant")
