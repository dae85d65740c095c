"""Which tenant a request is for, for app processes and the HTTP API.

A pure function over what the request carries and the registry projection, so every front end
(HTTP API, admin console, the identity provider itself) resolves tenants identically and the
rules are tested once. The rules are the reference's (header, then host, then session), and
rejections carry its HTTP status and exact error text.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import attrs

from eventstore.tenants import (
    DEFAULT_TENANT,
    SYSTEM_TENANTS,
    Registry,
    is_ip_literal,
    is_tenant_identifier,
)

OPS_TENANT: Final = "_ops"
STRICT_ENVIRONMENTS: Final = ("production", "staging")
IDENTIFICATION_REQUIRED: Final = (
    "Tenant identification required. No tenant could be resolved from session, headers, or "
    "subdomain."
)


@attrs.frozen
class TenantSettings:
    """The multi-tenancy settings resolution depends on (``features.multi_tenancy``)."""

    enabled: bool
    extraction_priority: tuple[str, ...] = ("header", "subdomain")
    tenant_header: str = "x-tenant-id"
    environment: str = "development"


@attrs.frozen
class Resolved:
    """The request's tenant; ``clear_session_auth`` when it differs from the session's."""

    tenant: str
    clear_session_auth: bool = False
    warning: str | None = None


@attrs.frozen
class Rejected:
    status: int
    error: str

    def to_json(self) -> dict[str, str]:
        return {"error": self.error}


def resolve_tenant(
    settings: TenantSettings,
    registry: Registry,
    *,
    headers: Mapping[str, str],
    host: str | None,
    session_tenant: str | None = None,
) -> Resolved | Rejected:
    if not settings.enabled:
        return Resolved(DEFAULT_TENANT)
    extracted = _extract(settings, registry, headers, host)
    bound = session_tenant if session_tenant not in (None, DEFAULT_TENANT, OPS_TENANT) else None
    tenant = extracted or bound or DEFAULT_TENANT
    clear = extracted is not None and bound is not None and extracted != bound
    if tenant in SYSTEM_TENANTS:
        return Resolved(tenant, clear)
    if not is_tenant_identifier(tenant):
        return Rejected(400, "Invalid tenant identifier format")
    if tenant == DEFAULT_TENANT:
        if settings.environment in STRICT_ENVIRONMENTS:
            return Rejected(400, IDENTIFICATION_REQUIRED)
        return Resolved(tenant, clear, "no tenant resolved; using the default tenant")
    record = registry.tenants.get(tenant)
    if record is None:
        return Rejected(404, "Tenant not found")
    if not record.active:
        return Rejected(403, "Tenant is not active")
    return Resolved(tenant, clear)


def _extract(
    settings: TenantSettings, registry: Registry, headers: Mapping[str, str], host: str | None
) -> str | None:
    wanted = settings.tenant_header.lower()
    lowered = {name.lower(): value for name, value in headers.items()}
    for source in settings.extraction_priority:
        if source == "header":
            value = lowered.get(wanted, "").strip()
            if value:
                return value
        elif source == "subdomain" and host:
            found = _from_host(registry, host)
            if found:
                return found
    return None


def _from_host(registry: Registry, raw_host: str) -> str | None:
    host = _without_port(raw_host.strip().lower()).removesuffix(".")
    if not host or is_ip_literal(host):
        return None
    owner = registry.by_domain(host)
    if owner is not None:
        return owner.slug
    labels = host.split(".")
    return labels[0] if len(labels) >= 3 else None


def _without_port(host: str) -> str:
    if host.startswith("["):  # [::1]:8443
        return host[: host.find("]") + 1]
    name, _, port = host.rpartition(":")
    return name if name and port.isdigit() else host
