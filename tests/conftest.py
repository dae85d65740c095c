"""Shared fixtures: the reference data files and a complete, valid configuration document."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from eventstore.resolve import Bootstrap, layered_document

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


def pytest_report_header(config: pytest.Config) -> list[str]:
    """Say which real servers (or stand-ins) the adapter tests run against, before they run."""
    import mongo_server
    import pg_server

    return [pg_server.describe(), mongo_server.describe()]


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """The same lines after the results, where ``pytest -q`` (``make test``) shows them too."""
    for line in pytest_report_header(terminalreporter.config):
        terminalreporter.write_line(f"servers: {line}")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    import mongo_server

    mongo_server.stop()
