"""A string that refuses to show itself.

Decrypted secrets travel through the program in this wrapper so that a stray ``repr`` in a log
line, an exception message or a traceback shows the mask instead of the value.
"""

from __future__ import annotations

import hmac
from typing import Final

MASK: Final = "•••••••"


def is_unset(value: object) -> bool:
    """``None``, ``""`` and ``[]`` mean "no secret here": never encrypted, never masked."""
    return value is None or value == "" or value == []


class Secret:
    """Holds a secret string; only :meth:`reveal` gives the value back."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """Return the plaintext; call it only where the value must leave the process."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret({MASK!r})"

    def __str__(self) -> str:
        return MASK

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash((Secret, len(self._value)))

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("Secret values are not picklable")
