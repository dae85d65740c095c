"""Errors the write model raises.

Every error carries a message meant for the person who has to fix the input, and never a secret.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import attrs


class ConfigError(Exception):
    """Base of every error parako-config raises on purpose."""


@attrs.frozen
class Issue:
    """One thing wrong with one place of the input.

    ``path`` is a dotted config path (``security.secrets.jwt_secret``), an environment variable
    name, or ``file:line:col`` — whatever lets the reader find the place.
    """

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class ValidationFailed(ConfigError):
    """The input is invalid; ``issues`` lists every problem found, not just the first."""

    def __init__(self, issues: Iterable[Issue], heading: str = "Invalid configuration") -> None:
        self.issues: Sequence[Issue] = tuple(issues)
        self.heading = heading
        lines = "\n".join(f"  {issue}" for issue in self.issues)
        super().__init__(f"{heading}:\n{lines}" if lines else heading)


class VersionConflict(ConfigError):
    """Another writer saved first (D14); the message is the exact product text."""

    MESSAGE = "Configuration was modified by another user. Please refresh the page and try again."

    def __init__(self, expected: int | None, actual: int | None) -> None:
        self.expected = expected
        self.actual = actual
        super().__init__(self.MESSAGE)
