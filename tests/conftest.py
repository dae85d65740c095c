"""Shared fixtures: the reference data files, a complete, valid configuration document, and the
Management API served for a test (``api``; ``tenant_api`` with multi-tenancy on PostgreSQL).

Helpers that are not tests (servers, storage backends, the served API, the browser) live in the
``support`` package next to this file.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from eventstore.resolve import Bootstrap, layered_document

if TYPE_CHECKING:
    from support.api_support import RunningApi


# the helpers' asserts explain themselves as the tests' do (before any test module imports them)
pytest.register_assert_rewrite("support")

REFERENCE_DIR = Path(__file__).parent / "data" / "reference"

#: Fixed secrets, so documents built from them are reproducible (and long enough to be valid).
SECRETS_ENV = {
    "JWT_SECRET": "j" * 40,
    "COOKIE_SECRET_1": "c" * 40,
    "COOKIE_SECRET_2": "d" * 40,
    "HMAC_SECRET": "h" * 40,
    "PAIRWISE_SALT": "p" * 20,
}


@cache
def _reference(name: str) -> Any:
    return json.loads((REFERENCE_DIR / name).read_text(encoding="utf-8"))


def _copy_of_reference(name: str) -> Any:
    return copy.deepcopy(_reference(name))


@pytest.fixture(scope="session")
def reference() -> Callable[[str], Any]:
    """Load a reference data file (``defaults.json`` …); every call returns a fresh copy."""
    return _copy_of_reference


@cache
def _valid_document() -> dict[str, Any]:
    doc, _ = layered_document(None, Bootstrap(environ=SECRETS_ENV))
    return doc


@pytest.fixture
def valid_doc() -> dict[str, Any]:
    """Defaults + fixed secrets + derived fields: a complete document that validates."""
    return copy.deepcopy(_valid_document())


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project root with an empty ``runtime/`` directory (for ``.env`` files)."""
    (tmp_path / "runtime").mkdir()
    return tmp_path


# The Management API's modules are imported by the fixtures, not here, so that test modules which
# never serve it do not pay for importing the web stack.


@pytest.fixture
def api(tmp_path: Path) -> Iterator[RunningApi]:
    """The Management API and console on a loopback port, over a SQLite store in ``tmp_path``."""
    from support.api_support import serving

    with serving(tmp_path) as running:
        yield running


@pytest.fixture
def tenant_api(tmp_path: Path) -> Iterator[RunningApi]:
    """The same with multi-tenancy on, over a fresh PostgreSQL database, with tenant ``acme``
    created (and no overrides yet)."""
    from support.api_support import serving_tenants

    with serving_tenants(tmp_path) as running:
        yield running


def pytest_report_header(config: pytest.Config) -> list[str]:
    """Say which real servers (or stand-ins) the adapter tests run against, before they run."""
    from support import mongo_server, pg_server

    return [pg_server.describe(), mongo_server.describe()]


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """The same lines after the results, where ``pytest -q`` (``make test``) shows them too."""
    for line in pytest_report_header(terminalreporter.config):
        terminalreporter.write_line(f"servers: {line}")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    from support import mongo_server

    mongo_server.stop()


# --- hypothesis profiles (the property, stateful and fuzz tests) ---------------------------------


def pytest_configure(config: pytest.Config) -> None:
    """``default``: hypothesis' own example counts, which keep the stateful store machine (a
    sixteenth of them per backend) and the HTTP fuzz tests within 90 s on two cores. ``fuzz``
    (``HYPOTHESIS_PROFILE=fuzz``; ``make fuzz`` runs it in rounds for 10 minutes): 5 times the
    examples, no deadline. ``--hypothesis-profile`` on the command line wins over the variable."""
    import os

    from hypothesis import HealthCheck, settings

    settings.register_profile("default", print_blob=True)
    settings.register_profile(
        "fuzz",
        max_examples=500,
        deadline=None,
        print_blob=True,
        suppress_health_check=[HealthCheck.too_slow],
    )
    if not config.getoption("hypothesis_profile", None):
        settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
