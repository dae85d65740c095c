"""Two processes' worth of services on one PostgreSQL database: a tenant change made by one is in
the other's effective config after its catch-up (tenant stream, registry record, platform)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from adapters.service import ConfigService
from adapters.tenant_service import TenantService
from adapters.wiring import open_service
from eventstore.commands import Author

KEY = "5c" * 32
OPS = Author("ops", "test")


@pytest.fixture
async def pair(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[tuple[ConfigService, ConfigService]]:
    from support.pg_server import fresh_database  # skips (or fails under CI) without a server

    with fresh_database() as url:
        environ = {
            "USE_FILE_CONFIG": "false",
            "ENCRYPTION_KEY": KEY,
            "STORAGE_ADAPTER": "postgresql",
            "STORAGE_POSTGRESQL_URL": url,
            "MULTI_TENANCY_ENABLED": "true",
            "DEPLOYMENT_URL": "https://parako.id",
        }
        writer = await open_service(tmp_path_factory.mktemp("a"), environ)
        reader = await open_service(tmp_path_factory.mktemp("b"), environ)
        try:
            yield writer, reader
        finally:
            await writer.close()
            await reader.close()


def tenants(service: ConfigService) -> TenantService:
    assert service.tenants is not None
    return service.tenants


async def test_changes_by_one_service_reach_the_others_cache(
    pair: tuple[ConfigService, ConfigService],
) -> None:
    writer, reader = pair
    await tenants(writer).create("acme", OPS)
    await reader.catch_up()
    first = await tenants(reader).effective("acme")
    assert first.config.oidc.issuer == "https://acme.parako.id/oidc/v1"

    await tenants(writer).update("acme", OPS, domain="auth.acme.com")
    assert (await tenants(reader).effective("acme")) is first  # nothing read yet: cached
    await reader.catch_up()  # a registry event: evicts acme
    second = await tenants(reader).effective("acme")
    assert second.config.oidc.issuer == "https://auth.acme.com/oidc/v1"

    await tenants(writer).save("acme", {"branding": {"companyName": "Acme"}}, OPS)
    await reader.catch_up()  # an event on acme's stream
    assert (await tenants(reader).effective("acme")).config.branding.company_name == "Acme"

    await writer.save({"oidc": {"token_ttl": {"access_token": 600}}}, OPS)
    await reader.catch_up()
    third = await tenants(reader).effective("acme")
    assert third.config.oidc.token_ttl.access_token == 600
    assert third.config.branding.company_name == "Acme"
