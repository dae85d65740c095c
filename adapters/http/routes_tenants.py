"""Tenant overrides, keyed by slug (D24 in docs/decisions.md): read the overrides and the effective
config, and replace one section's overrides. Writes answer with what the policy did: the paths
stripped (tenants may only set the 180 allowed paths, D21) and the values clamped (D22)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, put
from litestar.params import FromPath

from adapters.http.auth import SCOPE_OPT, caller, require_scope
from adapters.http.common import (
    BEARER,
    Consistency,
    consistent,
    errors,
    expected_version,
    version_meta,
    with_etag,
)
from adapters.http.context import api_context
from adapters.http.errors import ApiError
from adapters.http.routes_config import Body, Reason
from adapters.tenant_service import TenantService
from eventstore.commands import Author
from eventstore.schema import unstructure
from eventstore.schema.paths import PERSISTED_SECTIONS, TENANT_SECTIONS
from eventstore.tokens import TENANT_READ, TENANT_WRITE

Req = Request[Any, Any, Any]
_READING: dict[str, Any] = {
    "guards": [require_scope],
    "opt": {SCOPE_OPT: TENANT_READ},
    "security": BEARER,
}
_WRITING: dict[str, Any] = {
    "guards": [require_scope],
    "opt": {SCOPE_OPT: TENANT_WRITE},
    "security": BEARER,
}


def _tenants(request: Req) -> TenantService:
    tenants = api_context(request).service.tenants
    if tenants is None:
        raise ApiError(
            404,
            "multi-tenancy is off (MULTI_TENANCY_ENABLED is not true): there are no tenant "
            "configurations",
            code="multi_tenancy_disabled",
        )
    return tenants


def _check_section(section: str) -> None:
    if section not in TENANT_SECTIONS:
        raise ApiError(
            400,
            f"Configuration section '{section}' is not a valid override section. "
            f"Allowed: {', '.join(TENANT_SECTIONS)}",
            code="section_not_allowed",
        )


async def _view(tenants: TenantService, slug: str) -> tuple[dict[str, Any], dict[str, Any], int]:
    overrides = await tenants.overrides(slug)
    effective = await tenants.effective(slug)
    doc = unstructure(effective.config)
    visible = {s: doc[s] for s in PERSISTED_SECTIONS if s in doc}
    return tenants.masked(overrides), visible, overrides.version


@get(
    "/tenants/{slug:str}/config",
    **_READING,
    responses=errors(401, 403, 404),
    summary="A tenant's overrides and effective configuration",
)
async def read_tenant(
    request: Req, slug: FromPath[str], consistency: Consistency = None
) -> Response[dict[str, Any]]:
    """The ETag is the ``_version`` of the tenant's overrides (0 before the first write)."""
    await consistent(request, consistency)
    overrides, effective, version = await _view(_tenants(request), slug)
    body = {
        "data": {"tenant": slug, "overrides": overrides, "effective": effective},
        "meta": version_meta(version),
    }
    return with_etag(body, version)


@get(
    "/tenants/{slug:str}/config/{section:str}",
    **_READING,
    responses=errors(401, 403, 404),
    summary="One section of a tenant's overrides and effective configuration",
)
async def read_tenant_section(
    request: Req, slug: FromPath[str], section: FromPath[str], consistency: Consistency = None
) -> Response[dict[str, Any]]:
    tenants = _tenants(request)
    _check_section(section)
    await consistent(request, consistency)
    overrides, effective, version = await _view(tenants, slug)
    body = {
        "data": {
            "tenant": slug,
            "section": section,
            "overrides": overrides.get(section, {}),
            "effective": effective[section],
        },
        "meta": version_meta(version),
    }
    return with_etag(body, version)


@put(
    "/tenants/{slug:str}/config/{section:str}",
    **_WRITING,
    responses=errors(401, 403, 404, 409, 413, 422),
    summary="Replace one section of a tenant's overrides",
)
async def write_tenant_section(
    request: Req,
    slug: FromPath[str],
    section: FromPath[str],
    data: Body,
    reason: Reason = None,
) -> Response[dict[str, Any]]:
    """The body replaces the section's overrides (D21): paths tenants may not set are stripped
    and listed in ``stripped``; values beyond the platform's floors and ceilings are clamped and
    listed in ``adjustments`` (D22)."""
    context = api_context(request)
    tenants = _tenants(request)
    _check_section(section)
    why = reason or f"Updated {section} configuration via Management API"
    author = Author(caller(request).name, why)
    write = tenants.save(
        slug, {section: data}, author, expected_version(request), replace_sections=True
    )
    result = await context.metrics.counting("tenant", write)
    return with_etag({"data": result.to_json()}, result.version)


ROUTES = [read_tenant, read_tenant_section, write_tenant_section]
