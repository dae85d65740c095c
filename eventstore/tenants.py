"""Tenants: who they are (the registry) and where their overrides live (one stream each).

The registry is a stream of :class:`~eventstore.events.TenantChanged` events folded into a map
of slug → :class:`Tenant`; each tenant's overrides are the stream ``config/tenant/<slug>``. The
slug is the tenant's key everywhere — streams, caches, encryption scope and hint channels — which
avoids the reference's split between slug and database id (docs/decisions.md X22).
"""

from __future__ import annotations

import enum
import ipaddress
import re
from collections.abc import Mapping
from typing import Final

import attrs

from eventstore.errors import ConfigError, Issue, ValidationFailed
from eventstore.events import TenantChanged

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


@attrs.frozen
class Registry:
    """Every tenant by slug, and the registry stream version this reflects."""

    tenants: Mapping[str, Tenant] = attrs.field(factory=dict)
    version: int = 0

    def apply(self, event: TenantChanged, version: int) -> Registry:
        tenant = Tenant(event.slug, event.display_name, event.domain, TenantStatus(event.status))
        return Registry({**self.tenants, event.slug: tenant}, version)

    def by_domain(self, host: str) -> Tenant | None:
        """Exact custom-domain lookup (request host → tenant)."""
        return next((t for t in self.tenants.values() if t.domain == host), None)


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
