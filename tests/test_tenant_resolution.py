"""Request → tenant: header and subdomain order, custom domains, rejections (the reference's)."""

from __future__ import annotations

import pytest

from eventstore.tenants import Registry, Tenant, TenantStatus
from projections.tenant_resolution import (
    IDENTIFICATION_REQUIRED,
    Rejected,
    Resolved,
    TenantSettings,
    resolve_tenant,
)

REGISTRY = Registry(
    {
        "acme": Tenant("acme", "Acme"),
        "globex": Tenant("globex", "Globex", domain="auth.globex.com"),
        "old": Tenant("old", "Old", status=TenantStatus.SUSPENDED),
    },
    3,
)
ON = TenantSettings(enabled=True)


def resolve(
    settings: TenantSettings = ON,
    *,
    headers: dict[str, str] | None = None,
    host: str | None = None,
    session: str | None = None,
) -> Resolved | Rejected:
    return resolve_tenant(
        settings, REGISTRY, headers=headers or {}, host=host, session_tenant=session
    )


def test_single_tenant_mode_is_always_default() -> None:
    off = TenantSettings(enabled=False)
    assert resolve(off, headers={"x-tenant-id": "acme"}, host="acme.parako.id") == Resolved(
        "default"
    )


@pytest.mark.parametrize(
    ("headers", "host", "expected"),
    [
        ({"X-Tenant-Id": "acme"}, None, "acme"),
        ({}, "acme.parako.id", "acme"),
        ({}, "ACME.parako.id:8443", "acme"),
        ({}, "auth.globex.com", "globex"),
        ({}, "auth.globex.com.", "globex"),
        ({"x-tenant-id": "acme"}, "auth.globex.com", "acme"),  # header first by default
        ({"x-tenant-id": "  "}, "acme.parako.id", "acme"),  # blank header falls through
    ],
)
def test_extraction(headers: dict[str, str], host: str | None, expected: str) -> None:
    assert resolve(headers=headers, host=host) == Resolved(expected)


def test_subdomain_first_when_configured_so() -> None:
    settings = TenantSettings(enabled=True, extraction_priority=("subdomain", "header"))
    got = resolve(settings, headers={"x-tenant-id": "acme"}, host="auth.globex.com")
    assert got == Resolved("globex")


def test_custom_header_name() -> None:
    settings = TenantSettings(enabled=True, tenant_header="X-Org")
    assert resolve(settings, headers={"x-org": "acme"}) == Resolved("acme")


@pytest.mark.parametrize("host", ["parako.id", "localhost:9007", "10.1.2.3", "[::1]:8443"])
def test_hosts_without_a_tenant_label_give_default_in_development(host: str) -> None:
    got = resolve(host=host)
    assert isinstance(got, Resolved)
    assert got.tenant == "default"
    assert got.warning


@pytest.mark.parametrize("environment", ["production", "staging"])
def test_default_is_refused_outside_development(environment: str) -> None:
    settings = TenantSettings(enabled=True, environment=environment)
    assert resolve(settings, host="parako.id") == Rejected(400, IDENTIFICATION_REQUIRED)


def test_session_tenant_is_used_when_nothing_is_extracted() -> None:
    assert resolve(host="parako.id", session="acme") == Resolved("acme")


def test_a_different_extracted_tenant_clears_the_session_auth() -> None:
    assert resolve(host="globex.parako.id", session="acme") == Resolved(
        "globex", clear_session_auth=True
    )
    assert resolve(headers={"x-tenant-id": "acme"}, session="old") == Resolved(
        "acme", clear_session_auth=True
    )


@pytest.mark.parametrize(
    ("tenant", "expected"),
    [
        ("_ops", Resolved("_ops")),
        ("_platforms", Resolved("_platforms")),
        ("Acme", Rejected(400, "Invalid tenant identifier format")),
        ("-acme", Rejected(400, "Invalid tenant identifier format")),
        ("a" * 64, Rejected(400, "Invalid tenant identifier format")),
        ("nobody", Rejected(404, "Tenant not found")),
        ("old", Rejected(403, "Tenant is not active")),
    ],
)
def test_rejections(tenant: str, expected: Resolved | Rejected) -> None:
    assert resolve(headers={"x-tenant-id": tenant}) == expected
