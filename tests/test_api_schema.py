"""``GET /api/v1/config/schema``: the configuration as a JSON schema with every setting's label
and description, and ``GET /api/v1/config/schema/{path}``: one setting explained.

The routes live in ``adapters.http.routes_schema``; this test mounts them beside the config
routes (whose ``/config/{section}`` must not swallow them) on an application of its own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar, Router
from litestar.testing import AsyncTestClient

from adapters.http import routes_config, routes_schema
from adapters.http.context import STATE_KEY, ApiContext
from adapters.http.errors import EXCEPTION_HANDLERS
from adapters.http.limits import RevealLimit
from adapters.http.metrics import ApiMetrics
from adapters.http.owned_paths import API_PREFIX
from adapters.http.tokens import TokenAuthenticator
from adapters.wiring import open_service
from eventstore.tokens import READ, TENANT_READ, TokenStore

ENVIRON = {"USE_FILE_CONFIG": "false", "ENCRYPTION_KEY": "5a" * 32}


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[tuple[AsyncTestClient[Any], dict[str, str]]]:
    service = await open_service(tmp_path, ENVIRON)
    tokens = TokenStore(service.event_log)
    _, reader = await tokens.create("reader", (READ,), "tests")
    _, tenant_only = await tokens.create("tenants", (TENANT_READ,), "tests")
    app = Litestar(
        route_handlers=[
            Router(API_PREFIX, route_handlers=[*routes_config.ROUTES, *routes_schema.ROUTES])
        ],
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
    )
    app.state[STATE_KEY] = ApiContext(
        service=service,
        authenticator=TokenAuthenticator(service),
        reveals=RevealLimit(service),
        metrics=ApiMetrics("parako_"),
    )
    try:
        async with AsyncTestClient(app) as test_client:
            yield test_client, {"reader": reader, "tenants": tenant_only}
    finally:
        await service.close()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_the_schema_carries_every_settings_label_and_description(
    client: tuple[AsyncTestClient[Any], dict[str, str]],
) -> None:
    http, tokens = client
    response = await http.get(f"{API_PREFIX}/config/schema", headers=bearer(tokens["reader"]))
    assert response.status_code == 200, response.text
    schema = response.json()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jwt = schema["properties"]["security"]["properties"]["secrets"]["properties"]["jwt_secret"]
    assert jwt["title"] == "JWT secret"
    assert "32 characters" in jwt["description"]
    assert "default" not in jwt
    idle = schema["properties"]["security"]["properties"]["authentication"]["properties"][
        "session"
    ]["properties"]["idle_timeout_minutes"]
    assert (idle["title"], idle["default"], idle["minimum"]) == ("Idle timeout (minutes)", 30, 0)
    assert "max-age" in response.headers["cache-control"]


async def test_one_setting_is_explained_and_an_unknown_one_is_a_404(
    client: tuple[AsyncTestClient[Any], dict[str, str]],
) -> None:
    http, tokens = client
    url = f"{API_PREFIX}/config/schema/deployment.server.port"
    port = (await http.get(url, headers=bearer(tokens["reader"]))).json()["data"]
    assert port["label"] == "Port"
    assert port["env"] == "DEPLOYMENT_SERVER_PORT"
    assert port["bootstrap_only"] is True
    missing = await http.get(
        f"{API_PREFIX}/config/schema/branding.nope", headers=bearer(tokens["reader"])
    )
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "unknown_setting"
    # /config/{section} still answers for sections
    section = await http.get(f"{API_PREFIX}/config/branding", headers=bearer(tokens["reader"]))
    assert section.status_code == 200


async def test_the_schema_needs_a_token_with_the_read_scope(
    client: tuple[AsyncTestClient[Any], dict[str, str]],
) -> None:
    http, tokens = client
    assert (await http.get(f"{API_PREFIX}/config/schema")).status_code == 401
    refused = await http.get(f"{API_PREFIX}/config/schema", headers=bearer(tokens["tenants"]))
    assert refused.status_code == 403
