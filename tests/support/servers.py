"""Finding the real servers the adapter tests talk to, and refusing to pretend when one is missing.

Outside CI a missing server skips its tests with a message saying what to install or set; under
``CI=true`` it fails them, because a green run that silently skipped PostgreSQL proves nothing.
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def unavailable(server: str, why: str, remedy: str) -> NoReturn:
    """Skip (developer machine) or fail (CI) a test whose real server cannot be reached."""
    message = f"{server} is not reachable: {why}. {remedy}"
    if in_ci():
        pytest.fail(f"{message} (CI=true: a missing server is a failure, not a skip)")
    pytest.skip(message)
