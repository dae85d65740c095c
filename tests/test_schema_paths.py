"""The path lists derived from the schema's flags equal the reference data files.

Every list is compared as a set, with the expected size checked separately so a data file that
is cut short cannot make a comparison pass.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from eventstore import computed
from eventstore.schema.kinds import ListOf
from eventstore.schema.paths import (
    ALLOWED_TENANT_FIELDS,
    BOOLEAN_FLOORS,
    BOOTSTRAP_ONLY_FIELDS,
    CEILINGS,
    COMPUTED,
    ENCRYPTED_FIELDS,
    ENV_FIELDS,
    NUMERIC_FLOORS,
    ORDERED_FLOORS,
    TENANT_ENCRYPTED_FIELDS,
    ZERO_UNLIMITED_FIELDS,
    walk,
)
from eventstore.schema.policy import Ceiling, NumericFloor, OrderedFloor
from eventstore.schema.structure import Nested

Load = Callable[[str], Any]


def test_bootstrap_only_fields_are_the_twelve_of_the_data_file(reference: Load) -> None:
    data = reference("bootstrap_only_fields.json")
    assert len(BOOTSTRAP_ONLY_FIELDS) == data["count"] == 12
    assert set(BOOTSTRAP_ONLY_FIELDS) == set(data["paths"])


def test_deployment_url_and_multi_tenancy_enabled_are_not_bootstrap_only() -> None:
    # Both are set by a variable, but they are persisted (bootstrap_only_fields.json notes).
    assert ENV_FIELDS["DEPLOYMENT_URL"] == "deployment.url"
    assert ENV_FIELDS["MULTI_TENANCY_ENABLED"] == "features.multi_tenancy.enabled"
    assert "deployment.url" not in BOOTSTRAP_ONLY_FIELDS
    assert "features.multi_tenancy.enabled" not in BOOTSTRAP_ONLY_FIELDS


def test_encrypted_platform_fields_are_the_fourteen_of_the_data_file(reference: Load) -> None:
    data = reference("encrypted_fields.json")["platform"]
    assert len(ENCRYPTED_FIELDS) == data["count"] == 14
    assert set(ENCRYPTED_FIELDS) == set(data["paths"])
    assert "security.secrets.hmac_secret" not in ENCRYPTED_FIELDS


def test_encrypted_tenant_fields_are_the_eight_of_the_data_file(reference: Load) -> None:
    data = reference("encrypted_fields.json")["tenant"]
    assert len(TENANT_ENCRYPTED_FIELDS) == data["count"] == 8
    assert set(TENANT_ENCRYPTED_FIELDS) == set(data["paths"])


def test_allowed_tenant_fields_are_the_180_of_the_data_file(reference: Load) -> None:
    data = reference("allowed_tenant_fields.json")
    assert len(ALLOWED_TENANT_FIELDS) == data["count"] == 180
    assert set(ALLOWED_TENANT_FIELDS) == set(data["paths"])
    # The one the TypeScript union declared but the runtime list strips.
    assert "oidc.discovery.ui_locales_supported" not in ALLOWED_TENANT_FIELDS


def test_boolean_floors_equal_the_data_file(reference: Load) -> None:
    paths = reference("tenant_floors.json")["boolean"]["paths"]
    assert len(BOOLEAN_FLOORS) == len(paths) == 19
    assert set(BOOLEAN_FLOORS) == set(paths)


def test_numeric_floors_equal_the_data_file(reference: Load) -> None:
    paths = reference("tenant_floors.json")["numeric"]["paths"]
    assert len(NUMERIC_FLOORS) == len(paths) == 4
    assert set(NUMERIC_FLOORS) == set(paths)


def test_password_min_length_has_the_nist_absolute_minimum_of_8(reference: Load) -> None:
    data = reference("tenant_floors.json")["absolute_minimum"]
    assert data["path"] == "security.authentication.login.password_policy.min_length"
    minimums = {
        p: pol.absolute_minimum
        for p, pol in NUMERIC_FLOORS.items()
        if isinstance(pol, NumericFloor) and pol.absolute_minimum is not None
    }
    assert minimums == {data["path"]: 8}
    assert data["minimum"] == 8


def test_ordered_floor_is_webauthn_user_verification_weakest_first(reference: Load) -> None:
    data = reference("tenant_floors.json")["ordered_enum"]
    assert set(ORDERED_FLOORS) == {data["path"]}
    policy = ORDERED_FLOORS[data["path"]]
    assert isinstance(policy, OrderedFloor)
    assert policy.order == tuple(data["order_weakest_to_strongest"])
    assert policy.order == ("discouraged", "preferred", "required")


def test_ceilings_with_their_kinds_equal_the_data_file(reference: Load) -> None:
    data = reference("tenant_ceilings.json")
    expected = {
        entry["path"]: entry["kind"] == "numeric_ceiling_zero_unlimited" for entry in data["paths"]
    }
    ours = {p: pol.zero_unlimited for p, pol in CEILINGS.items() if isinstance(pol, Ceiling)}
    assert len(ours) == len(CEILINGS) == data["count"] == 24
    assert ours == expected


def test_zero_unlimited_fields_equal_the_data_file(reference: Load) -> None:
    paths = reference("zero_unlimited_fields.json")["paths"]
    assert len(ZERO_UNLIMITED_FIELDS) == len(paths) == 3
    assert set(ZERO_UNLIMITED_FIELDS) == set(paths)


def test_computed_paths_equal_auto_generated_plus_derived(reference: Load) -> None:
    data = reference("computed_fields.json")
    generated = {e["path"] for e in data["auto_generated"]}
    derived = {e["path"] for e in data["derived"]}
    ours_generated = {p for p, r in COMPUTED.items() if isinstance(r, computed.GeneratedSecret)}
    assert ours_generated == generated
    assert len(generated) == 4
    assert set(COMPUTED) - ours_generated == derived
    assert len(derived) == 11


def test_generated_secret_lengths_follow_the_data_file() -> None:
    lengths = {
        p: r.hex_chars for p, r in COMPUTED.items() if isinstance(r, computed.GeneratedSecret)
    }
    assert lengths == {
        "security.secrets.jwt_secret": 128,
        "security.secrets.cookie_secrets": 128,
        "security.secrets.hmac_secret": 128,
        "oidc.secrets.pairwise_salt": 64,
    }


# --------------------------------------------------------------------------------------------
# The schema's paths against validation_rules.json

#: A function in the reference (validates client metadata); not a setting.
NOT_A_SETTING = {"features.oidc.extra_client_metadata.validator"}
#: Present in our schema only, each on purpose (docs/decisions.md X20): the two bootstrap
#: settings are declared where they live in the runtime config (D2 gives them defaults), and
#: ``storage`` is the runtime-only section the reference built outside its AppConfig schema.
ADDITIONS = {
    "deployment.environment",
    "deployment.server.port",
    "storage.adapter",
    "storage.mongodb.uri",
    "storage.sqlite.path",
    "storage.postgresql.url",
}
ELEMENT = "[]"


def _leaves(paths: set[str]) -> set[str]:
    return {p for p in paths if not any(o.startswith((p + ".", p + ELEMENT)) for o in paths)}


def test_every_reference_setting_exists_in_the_schema(reference: Load) -> None:
    ref = _leaves(set(reference("validation_rules.json")["app_config"]))
    ref = {p for p in ref if ELEMENT not in p} - NOT_A_SETTING
    ours = {p for p, _ in walk()}
    assert len(ref) > 500
    assert sorted(ref - ours) == []


def test_every_schema_setting_exists_in_the_reference_except_the_additions(reference: Load) -> None:
    ref = set(reference("validation_rules.json")["app_config"])
    ours = {p for p, d in walk() if d.info.nested is None}
    assert sorted(ours - ref) == sorted(ADDITIONS)
    assert all(p.startswith("storage.") or p in BOOTSTRAP_ONLY_FIELDS for p in ADDITIONS)


def test_list_element_settings_match_the_reference(reference: Load) -> None:
    """``fields[]`` paths describe one element of a list of objects: compare its class."""
    ref = {p for p in reference("validation_rules.json")["app_config"] if ELEMENT in p}
    element_paths: set[str] = set()
    for path, declared in walk():
        kind = declared.info.kind
        if isinstance(kind, ListOf) and isinstance(kind.item, Nested):
            element_paths |= {f"{path}{ELEMENT}.{sub}" for sub, _ in walk(kind.item.cls)}
    assert len(ref) == 14
    assert element_paths == ref
