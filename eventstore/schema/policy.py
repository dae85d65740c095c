"""Tenant policy kinds a setting can carry: floors and ceilings the platform sets for tenants.

Declaring them on the setting keeps one place for "which paths are floors"; the tenant work
applies them (D22).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import attrs


@attrs.frozen
class BooleanFloor:
    """If the platform enables it, a tenant cannot disable it."""


@attrs.frozen
class NumericFloor:
    """A tenant value may not go below the platform's; ``absolute_minimum`` binds regardless."""

    absolute_minimum: int | None = None


@attrs.frozen
class Ceiling:
    """A tenant value may not exceed the platform's; with ``zero_unlimited`` 0 means no limit."""

    zero_unlimited: bool = False


@attrs.frozen
class OrderedFloor:
    """An enum ordered weakest → strongest; a tenant may not pick a weaker value."""

    order: tuple[str, ...]


Policy = BooleanFloor | NumericFloor | Ceiling | OrderedFloor

BOOLEAN_FLOOR: Final = BooleanFloor()
NUMERIC_FLOOR: Final = NumericFloor()
CEILING: Final = Ceiling()
CEILING_ZERO_UNLIMITED: Final = Ceiling(zero_unlimited=True)

__all__: Sequence[str] = (
    "BOOLEAN_FLOOR",
    "CEILING",
    "CEILING_ZERO_UNLIMITED",
    "NUMERIC_FLOOR",
    "BooleanFloor",
    "Ceiling",
    "NumericFloor",
    "OrderedFloor",
    "Policy",
)
