"""Document diffs (with masking, docs/decisions.md X21) and the impact rules, message by message."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eventstore.crypto import FieldCipher, Keyring
from eventstore.events import FieldChange
from eventstore.secret import MASK
from projections.diff import (
    RULES,
    Change,
    Diff,
    Impact,
    analyze_impact,
    diff_documents,
    parse_rules,
)

REFERENCE_RULES = Path(__file__).parent / "data" / "reference" / "impact_rules.json"
CIPHER = FieldCipher(Keyring.from_values("cd" * 32))

# The messages, written out here rather than read from the rule file, so a typo in either fails.
ISSUER = (
    "CRITICAL: Changing OIDC issuer will invalidate all existing tokens, sessions, and client "
    "registrations. All users will need to re-authenticate. This is a BREAKING CHANGE."
)
OIDC_SECRETS = (
    "OIDC secrets modified. Application restart required. Existing sessions may be invalidated."
)
DISCOVERY = (
    "OIDC discovery document modified. Relying parties should refresh their cached discovery "
    "documents."
)
OIDC_FEATURES = "OIDC features changed. Application restart required for changes to take effect."
JWT = (
    "CRITICAL: JWT secret modified. All existing JWT tokens will be invalidated. Users will need "
    "to re-authenticate."
)
COOKIES = (
    "Cookie secrets modified. Application restart required. Existing sessions will be invalidated."
)
MFA = "Multi-factor authentication settings modified. Changes will affect new MFA enrollments."
RATE = "Rate limiting configuration modified. New limits will apply to subsequent requests."
EMAIL = (
    "Email/SMTP configuration modified. Application restart required. Test email connectivity "
    "after restart."
)
SOCIAL = (
    "Social login provider configuration modified. Test social login flows to ensure connectivity."
)
URL = (
    "IMPORTANT: Deployment URL changed. This will automatically update OIDC issuer, callback "
    "URLs, and integration URLs. Verify all redirect URIs are updated in OIDC clients and social "
    "login providers."
)
CORS = "CORS allowed origins modified. New origins will apply immediately to subsequent requests."
COMPANY = (
    "Company name changed. This will automatically update MFA issuer names (TOTP and WebAuthn). "
    "Users may see the new name in their authenticator apps after re-enrollment."
)


def modified(path: str) -> Change:
    return Change(path, 1, 2, "modified")


# --- diff -------------------------------------------------------------------------------------


def test_added_removed_and_modified_leaves_in_key_order() -> None:
    old = {"branding": {"companyName": "Acme", "logo_url": "/a.png"}, "features": {"x": 1}}
    new = {"features": {"x": 2, "y": None}, "branding": {"companyName": "Acme"}, "zeta": "z"}

    assert diff_documents(old, new) == [
        Change("branding.logo_url", "/a.png", None, "removed"),
        Change("features.x", 1, 2, "modified"),
        Change("features.y", None, None, "added"),  # null is a value
        Change("zeta", None, "z", "added"),
    ]


def test_identical_documents_have_no_changes() -> None:
    doc = {"a": {"b": [1, {"c": True}], "d": None}}
    assert diff_documents(doc, json.loads(json.dumps(doc))) == []
    assert diff_documents(None, None) == []
    assert diff_documents(None, {}) == []


def test_lists_are_compared_as_whole_values() -> None:
    old = {"deployment": {"server": {"allowed_origins": ["https://a", "https://b"]}}}
    new = {"deployment": {"server": {"allowed_origins": ["https://b", "https://a"]}}}

    assert diff_documents(old, new) == [
        Change(
            "deployment.server.allowed_origins",
            ["https://a", "https://b"],
            ["https://b", "https://a"],
            "modified",
        )
    ]


def test_json_equality_tells_booleans_from_numbers_but_not_ints_from_floats() -> None:
    assert diff_documents({"a": True, "b": 1, "c": [0]}, {"a": 1, "b": 1.0, "c": [False]}) == [
        Change("a", True, 1, "modified"),
        Change("c", [0], [False], "modified"),
    ]


def test_null_to_object_is_one_modification_not_a_recursion() -> None:
    assert diff_documents({"x": None}, {"x": {"nested": True}}) == [
        Change("x", None, {"nested": True}, "modified")
    ]
    assert diff_documents({"x": {"nested": True}}, {"x": "flat"}) == [
        Change("x", {"nested": True}, "flat", "modified")
    ]


def test_a_section_added_or_removed_whole_is_reported_leaf_by_leaf() -> None:
    added = {"integrations": {"email": {"smtp_host": "mail", "smtp_port": 25}, "empty": {}}}

    assert diff_documents({}, added) == [
        Change("integrations.email.smtp_host", None, "mail", "added"),
        Change("integrations.email.smtp_port", None, 25, "added"),
    ]
    assert diff_documents(added, None) == [
        Change("integrations.email.smtp_host", "mail", None, "removed"),
        Change("integrations.email.smtp_port", 25, None, "removed"),
    ]


def test_record_keys_are_skipped_at_the_top_level_only() -> None:
    old = {"_id": "a", "_version": 3, "metadata": {"x": 1}, "application": {"description": "old"}}
    new = {"_id": "b", "_version": 4, "metadata": {"x": 2}, "application": {"description": "new"}}

    assert diff_documents(old, new) == [Change("application.description", "old", "new", "modified")]


def test_secrets_are_masked_in_every_form() -> None:
    envelope = CIPHER.encrypt("sealed-jwt", scope="platform", path="security.secrets.jwt_secret")
    old = {
        "security": {"secrets": {"jwt_secret": envelope, "hmac_secret": "plain-hmac-old"}},
        "notifications": {"channels": {"sms": {"api_key": 123}}},
        "oidc": {"secrets": None},
    }
    new = {
        "security": {
            "secrets": {
                "jwt_secret": "plain-jwt-new",
                "hmac_secret": "plain-hmac-new",
                "cookie_secrets": ["plain-c1", "plain-c2"],
            }
        },
        "notifications": {"channels": {"sms": {"api_key": 456}}},
        "oidc": {"secrets": {"pairwise_salt": "plain-salt", "note": "visible"}},
    }

    changes = diff_documents(old, new)

    assert changes == [
        Change("security.secrets.jwt_secret", MASK, MASK, "modified"),
        Change("security.secrets.hmac_secret", MASK, MASK, "modified"),
        Change("security.secrets.cookie_secrets", None, [MASK, MASK], "added"),
        Change("notifications.channels.sms.api_key", MASK, MASK, "modified"),
        Change("oidc.secrets", None, {"pairwise_salt": MASK, "note": "visible"}, "modified"),
    ]
    dumped = json.dumps(Diff.between(old, new).to_json(), ensure_ascii=False)
    for leaked in (envelope, "enc:v1:", "plain-", "sealed-jwt", "123", "456"):
        assert leaked not in dumped


def test_an_envelope_at_any_path_is_masked() -> None:
    envelope = CIPHER.encrypt("x", scope="platform", path="integrations.custom.token")
    assert diff_documents({}, {"integrations": {"custom": {"token": envelope}}}) == [
        Change("integrations.custom.token", None, MASK, "added")
    ]


def test_diff_to_json_has_the_import_preview_shape() -> None:
    diff = Diff.between(
        {"branding": {"companyName": "Acme"}}, {"branding": {"companyName": "Bcme"}}
    )

    assert diff.to_json() == {
        "diff": [
            {
                "field": "branding.companyName",
                "oldValue": "Acme",
                "newValue": "Bcme",
                "changeType": "modified",
            }
        ],
        "impact": {
            "servicesAffected": ["branding"],
            "requiresRestart": False,
            "warnings": [COMPANY],
        },
        "changeCount": 1,
    }


# --- impact -----------------------------------------------------------------------------------

RULE_CASES = [
    ("oidc.path", ("oidc",), False, ()),
    ("oidc.issuer", ("oidc",), True, (ISSUER,)),
    ("oidc.secrets.pairwise_salt", ("oidc",), True, (OIDC_SECRETS,)),
    ("oidc.discovery.claims", ("oidc",), False, (DISCOVERY,)),
    ("oidc.features.pkce", ("oidc",), True, (OIDC_FEATURES,)),
    ("security.session.ttl", ("security",), False, ()),
    ("security.secrets.jwt_secret", ("security",), True, (JWT,)),
    ("security.secrets.cookie_secrets", ("security",), True, (COOKIES,)),
    ("security.authentication.multi_factor.enabled", ("security", "authentication"), False, (MFA,)),
    ("security.rate_limiting.enabled", ("security",), False, (RATE,)),
    ("integrations.ipinfo.api_token", ("integrations",), False, ()),
    ("integrations.email.smtp_host", ("integrations", "email"), True, (EMAIL,)),
    ("integrations.social_providers.google", ("integrations", "social_login"), False, (SOCIAL,)),
    ("deployment.server.port", ("deployment",), False, ()),
    ("deployment.url", ("deployment",), True, (URL,)),
    ("deployment.server.allowed_origins", ("deployment",), False, (CORS,)),
    ("branding.logo_url", ("branding",), False, ()),
    ("branding.companyName", ("branding",), False, (COMPANY,)),
    ("features.registration", ("features",), False, ()),
    ("unrelated.value", (), False, ()),
    # exact rules are exact; prefix rules are plain string prefixes, as in the reference
    ("oidc.issuer_hint", ("oidc",), False, ()),
    ("deployment.url_alias", ("deployment",), False, ()),
    ("security.secrets.jwt_secret_previous", ("security",), True, (JWT,)),
    # the real rate-limit and OIDC feature paths do not match the reference's rules
    ("security.protection.rate_limiting.enabled", ("security",), False, ()),
    ("features.oidc.pkce", ("features",), False, ()),
]


@pytest.mark.parametrize(("path", "services", "restart", "warnings"), RULE_CASES)
def test_each_rule(
    path: str, services: tuple[str, ...], restart: bool, warnings: tuple[str, ...]
) -> None:
    assert analyze_impact([modified(path)]) == Impact(services, restart, warnings)


def test_every_rule_fires_in_some_case() -> None:
    for rule in RULES:
        assert any(rule.matches(path) for path, *_ in RULE_CASES), rule


def test_reference_case() -> None:
    fields = [
        "oidc.issuer",
        "oidc.secrets.pairwise_salt",
        "oidc.discovery.claims",
        "oidc.features.pkce",
        "security.secrets.jwt_secret",
        "security.secrets.cookie_secrets",
        "security.authentication.multi_factor.enabled",
        "security.rate_limiting.enabled",
        "integrations.email.smtp_host",
        "integrations.social_providers.google",
        "deployment.url",
        "deployment.server.allowed_origins",
        "branding.companyName",
        "branding.logo_url",
        "features.registration",
        "unrelated.value",
    ]

    impact = analyze_impact([modified(f) for f in fields])

    assert impact.requires_restart is True
    assert impact.warnings == (
        ISSUER,
        OIDC_SECRETS,
        DISCOVERY,
        OIDC_FEATURES,
        JWT,
        COOKIES,
        MFA,
        RATE,
        EMAIL,
        SOCIAL,
        URL,
        CORS,
        COMPANY,
    )
    assert impact.services_affected == (
        "oidc",
        "security",
        "authentication",
        "integrations",
        "email",
        "social_login",
        "deployment",
        "branding",
        "features",
    )


def test_warnings_repeat_per_change_but_services_are_unique_in_first_seen_order() -> None:
    impact = analyze_impact(
        [
            modified("branding.companyName"),
            modified("oidc.secrets.pairwise_salt"),
            modified("oidc.secrets.other"),
            modified("branding.companyName"),
        ]
    )

    assert impact == Impact(
        ("branding", "oidc"), True, (COMPANY, OIDC_SECRETS, OIDC_SECRETS, COMPANY)
    )


def test_no_changes_no_impact() -> None:
    assert analyze_impact([]).to_json() == {
        "servicesAffected": [],
        "requiresRestart": False,
        "warnings": [],
    }


def test_event_field_changes_can_be_analysed_directly() -> None:
    impact = analyze_impact([FieldChange("deployment.url", "http://a", "https://a")])
    assert impact == Impact(("deployment",), True, (URL,))


def test_adding_a_whole_section_triggers_the_rules_of_its_leaves() -> None:
    diff = Diff.between({}, {"integrations": {"email": {"smtp_host": "mail.example"}}})
    assert diff.impact == Impact(("integrations", "email"), True, (EMAIL,))


def test_shipped_rules_are_the_reference_rules() -> None:
    shipped = json.loads(
        (Path(__file__).parents[1] / "projections" / "impact_rules.json").read_text("utf-8")
    )
    reference = json.loads(REFERENCE_RULES.read_text("utf-8"))
    assert shipped["rules"] == reference["rules"]
    assert len(RULES) == 19


def test_an_unreadable_rule_is_an_error() -> None:
    text = json.dumps({"rules": [{"match": "field endsWith 'x'", "warning": "w"}]})
    with pytest.raises(ValueError, match="impact rule 1: cannot read match"):
        parse_rules(text)
