"""Floors and ceilings (D22): every rule of the reference data, below, at and above its limit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eventstore.docpath import get_path, set_path
from eventstore.tenant_policy import ConstraintViolation, enforce, js_number

Reference = Callable[[str], Any]


def doc(path: str, value: Any) -> dict[str, Any]:
    return set_path({}, path, value)


def floors(reference: Reference) -> dict[str, Any]:
    data: dict[str, Any] = reference("tenant_floors.json")
    return data


def ceilings(reference: Reference) -> list[dict[str, str]]:
    paths: list[dict[str, str]] = reference("tenant_ceilings.json")["paths"]
    return paths


# -- boolean floors -----------------------------------------------------------------------------


def test_every_boolean_floor_forces_enabled_when_the_platform_requires_it(
    reference: Reference,
) -> None:
    for path in floors(reference)["boolean"]["paths"]:
        adjusted, found = enforce(doc(path, False), doc(path, True))
        assert get_path(adjusted, path) is True, path
        assert found == (
            ConstraintViolation(path, False, True, "Boolean floor: platform requires enabled"),
        )


@pytest.mark.parametrize(
    ("tenant", "platform"), [(True, True), (True, False), (False, False), ("false", True)]
)
def test_a_boolean_floor_leaves_other_combinations_alone(
    reference: Reference, tenant: Any, platform: Any
) -> None:
    for path in floors(reference)["boolean"]["paths"]:
        adjusted, found = enforce(doc(path, tenant), doc(path, platform))
        assert get_path(adjusted, path) == tenant
        assert found == ()


# -- numeric floors and the absolute minimum ----------------------------------------------------


def test_every_numeric_floor_below_at_and_above(reference: Reference) -> None:
    for path in floors(reference)["numeric"]["paths"]:
        base = 10 if path.endswith("min_length") else 0.5
        below = 9 if path.endswith("min_length") else 0.25
        above = 11 if path.endswith("min_length") else 0.75
        adjusted, found = enforce(doc(path, below), doc(path, base))
        assert get_path(adjusted, path) == base
        reason = f"Numeric floor: must be >= platform value ({js_number(base)})"
        assert found == (ConstraintViolation(path, below, base, reason),)
        for kept in (base, above):
            adjusted, found = enforce(doc(path, kept), doc(path, base))
            assert get_path(adjusted, path) == kept
            assert found == ()


def test_password_length_floor_then_nist_minimum_are_two_adjustments(reference: Reference) -> None:
    path = floors(reference)["absolute_minimum"]["path"]
    adjusted, found = enforce(doc(path, 5), doc(path, 6))
    assert get_path(adjusted, path) == 8
    assert [v.reason for v in found] == [
        "Numeric floor: must be >= platform value (6)",
        "Absolute minimum 8 per NIST SP 800-63B",
    ]
    assert [(v.original, v.adjusted) for v in found] == [(5, 6), (6, 8)]


@pytest.mark.parametrize(("tenant", "expected"), [(7, 8), (8, 8), (9, 9)])
def test_nist_minimum_below_at_and_above(tenant: int, expected: int) -> None:
    path = "security.authentication.login.password_policy.min_length"
    adjusted, _ = enforce(doc(path, tenant), doc(path, 4))
    assert get_path(adjusted, path) == expected


# -- ceilings -----------------------------------------------------------------------------------


def test_every_ceiling_below_at_and_above(reference: Reference) -> None:
    for entry in ceilings(reference):
        path = entry["path"]
        adjusted, found = enforce(doc(path, 101), doc(path, 100))
        assert get_path(adjusted, path) == 100, path
        assert found == (
            ConstraintViolation(path, 101, 100, "Ceiling: must be <= platform value (100)"),
        )
        for kept in (100, 99):
            adjusted, found = enforce(doc(path, kept), doc(path, 100))
            assert get_path(adjusted, path) == kept
            assert found == ()


def test_zero_means_unlimited_both_ways(reference: Reference) -> None:
    zero_unlimited = set(reference("zero_unlimited_fields.json")["paths"])
    kinds = {e["path"]: e["kind"] for e in ceilings(reference)}
    assert {p for p, k in kinds.items() if k == "numeric_ceiling_zero_unlimited"} == zero_unlimited
    for path in zero_unlimited:
        # platform unlimited: the tenant may pick anything, 0 included
        for tenant in (0, 5, 10_000):
            adjusted, found = enforce(doc(path, tenant), doc(path, 0))
            assert (get_path(adjusted, path), found) == (tenant, ())
        # platform limited: a tenant cannot ask for unlimited
        adjusted, found = enforce(doc(path, 0), doc(path, 30))
        assert get_path(adjusted, path) == 30
        assert found == (
            ConstraintViolation(
                path, 0, 30, "Ceiling: tenant cannot set unlimited when platform limits to 30"
            ),
        )
    ordinary = next(p for p in kinds if p not in zero_unlimited)
    adjusted, found = enforce(doc(ordinary, 0), doc(ordinary, 30))
    assert (get_path(adjusted, ordinary), found) == (0, ())


# -- ordered enum -------------------------------------------------------------------------------


def test_user_verification_cannot_be_weakened(reference: Reference) -> None:
    rule = floors(reference)["ordered_enum"]
    path, order = rule["path"], rule["order_weakest_to_strongest"]
    for i, platform in enumerate(order):
        for j, tenant in enumerate(order):
            adjusted, found = enforce(doc(path, tenant), doc(path, platform))
            if j < i:
                reason = f"Floor: cannot weaken from '{platform}' to '{tenant}'"
                assert found == (ConstraintViolation(path, tenant, platform, reason),)
                assert get_path(adjusted, path) == platform
            else:
                assert (found, get_path(adjusted, path)) == ((), tenant)


# -- what is never touched ----------------------------------------------------------------------


def test_absent_or_null_on_either_side_skips_the_rule() -> None:
    path = "oidc.token_ttl.access_token"
    assert enforce({}, doc(path, 10)) == ({}, ())
    assert enforce(doc(path, None), doc(path, 10))[1] == ()
    assert enforce(doc(path, 999), {})[1] == ()
    assert enforce(doc(path, 999), doc(path, None))[1] == ()


@given(
    st.integers(min_value=0, max_value=10**6),
    st.integers(min_value=0, max_value=10**6),
)
def test_a_ceiling_never_lets_a_value_above_the_platform_through(tenant: int, base: int) -> None:
    path = "oidc.token_ttl.refresh_token"
    adjusted, found = enforce(doc(path, tenant), doc(path, base))
    assert get_path(adjusted, path) == min(tenant, base)
    assert bool(found) == (tenant > base)
    # enforcing twice changes nothing more: the build-time pass is idempotent over the save-time
    assert enforce(adjusted, doc(path, base)) == (adjusted, ())


def test_the_input_document_is_not_modified() -> None:
    path = "security.authentication.multi_factor.enabled"
    overrides = doc(path, False)
    enforce(overrides, doc(path, True))
    assert get_path(overrides, path) is False
