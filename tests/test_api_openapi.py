"""The served OpenAPI document: it lists every route, and the app keeps its promises.

The document is generated from the routes, so rather than a committed copy (which would only
prove that someone re-ran a script), the test checks the served document against the routes the
application actually has, and schemathesis checks the answers against the document: no 5xx,
every body matching its declared schema, no undocumented status code. The number of examples is
bounded so this runs in ``make test``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.result import Err
from support.api_support import RunningApi, serving

from adapters.http.app import OPENAPI_PATH
from eventstore.tokens import SCOPES

EXAMPLES = 12


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningApi, str]]:
    with serving(tmp_path_factory.mktemp("openapi")) as api:
        yield api, api.token("fuzzer", *SCOPES)


def test_the_document_is_openapi_3_1_and_lists_every_route(
    running: tuple[RunningApi, str],
) -> None:
    api, _ = running
    document = httpx.get(f"{api.base_url}{OPENAPI_PATH}").json()
    assert document["openapi"].startswith("3.1")
    served = {
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method in item
        if method in {"get", "put", "patch", "post", "delete"}
    }
    expected = {
        ("GET", "/api/v1/health"),
        ("GET", "/api/v1/config"),
        ("PATCH", "/api/v1/config"),
        ("GET", "/api/v1/config/{section}"),
        ("PUT", "/api/v1/config/{section}"),
        ("POST", "/api/v1/config/reveal"),
        ("GET", "/api/v1/config/versions"),
        ("GET", "/api/v1/config/versions/{version}"),
        ("GET", "/api/v1/config/diff"),
        ("POST", "/api/v1/config/restore"),
        ("GET", "/api/v1/config/as-of"),
        ("GET", "/api/v1/config/export"),
        ("POST", "/api/v1/config/import"),
        ("GET", "/api/v1/config/audit"),
        ("GET", "/api/v1/tenants/{slug}/config"),
        ("GET", "/api/v1/tenants/{slug}/config/{section}"),
        ("PUT", "/api/v1/tenants/{slug}/config/{section}"),
        ("GET", "/api/v1/runtime"),
        ("GET", "/api/v1/runtime/{section}"),
        ("GET", "/api/v1/runtime/watch"),
        ("GET", "/api/v1/config/watch"),
        ("GET", "/api/v1/config/schema"),
        ("GET", "/api/v1/config/schema/{path}"),
        ("GET", "/api/v1/tokens"),
        ("POST", "/api/v1/tokens"),
        ("DELETE", "/api/v1/tokens/{name}"),
    }
    assert served == expected
    schemes = document["components"]["securitySchemes"]
    assert schemes["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "A token from `parako-config token create`",
    }
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if path != "/api/v1/health":
                assert operation["security"] == [{"bearerAuth": []}], (method, path)
                assert {"401", "403"} <= set(operation["responses"]), (method, path)


def test_the_api_keeps_to_its_document(running: tuple[RunningApi, str]) -> None:
    """Every operation, with generated parameters and bodies, authenticated with every scope."""
    api, token = running
    schema = schemathesis.openapi.from_url(f"{api.base_url}{OPENAPI_PATH}")
    failures: list[str] = []
    statuses: list[int] = []
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            failures.append(f"an operation the document does not define well: {result.err()}")
            continue
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def check(case: Any) -> None:
            response = case.call_and_validate(
                headers={"Authorization": f"Bearer {token}"},
                checks=[not_a_server_error, response_schema_conformance, status_code_conformance],
            )
            statuses.append(response.status_code)

        try:
            check()
        except Exception as exc:
            failures.append(f"{operation.label}: {exc}")
    assert not failures, "\n\n".join(failures)
    assert len(statuses) >= 17 * 3  # every operation was exercised, not skipped
    assert 200 in statuses
