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
