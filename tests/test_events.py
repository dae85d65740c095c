"""Events survive their encoding: whatever a change holds is read back equal (replay = history)."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eventstore.events import (
    ConfigChanged,
    FieldChange,
    TenantChanged,
    TenantOverrideChanged,
    decode,
    encode,
)
from eventstore.log import RecordedEvent

AT = datetime(2026, 5, 4, 3, 2, 1, 123456, tzinfo=UTC)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)  # beyond 64 bits: the fallback parser
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)
changes = st.lists(
    st.builds(FieldChange, st.text(min_size=1), json_values, json_values, st.booleans()),
    max_size=5,
).map(tuple)


def recorded(event: Any) -> RecordedEvent:
    new = encode(event)
    return RecordedEvent("s", 1, 1, new.type, new.data, AT, bytes(32))


@given(changes, st.text(), st.text(), st.lists(st.text(), max_size=3).map(tuple))
def test_config_changed_round_trips(
    fields: tuple[FieldChange, ...], actor: str, reason: str, tags: tuple[str, ...]
) -> None:
    event = ConfigChanged(
        fields, "1.0.7", actor, reason, tags, "production", AT, "restore", "1.0.2"
    )
    assert decode(recorded(event)) == event


@given(changes, st.lists(st.text(), max_size=3).map(tuple))
def test_tenant_override_changed_round_trips(
    fields: tuple[FieldChange, ...], stripped: tuple[str, ...]
) -> None:
    adjustment = {"path": "p", "original": 9, "adjusted": 3, "reason": "Ceiling: …"}
    event = TenantOverrideChanged(
        fields,
        "1.0.0",
        "ops",
        "",
        ("main",),
        "development",
        AT,
        tenant="acme",
        stripped=stripped,
        adjustments=(adjustment,),
    )
    assert decode(recorded(event)) == event


def test_tenant_changed_round_trips() -> None:
    event = TenantChanged("acme", "Acme", "auth.acme.com", "suspended", "ops", "why", AT, True)
    assert decode(recorded(event)) == event


def test_a_nan_written_by_an_earlier_release_is_still_readable() -> None:
    event = ConfigChanged((FieldChange("x", None, None),), "1.0.1", "a", "", (), "development", AT)
    data = encode(event).data.replace(b'"new":null', b'"new":NaN')
    (change,) = decode(RecordedEvent("s", 1, 1, "ConfigChanged", data, AT, bytes(32))).changes  # type: ignore[union-attr]
    assert math.isnan(change.new)


def test_a_nan_is_never_written() -> None:
    event = ConfigChanged(
        (FieldChange("x", None, float("nan")),), "1.0.1", "a", "", (), "development", AT
    )
    with pytest.raises(ValueError, match="JSON compliant"):
        encode(event)
