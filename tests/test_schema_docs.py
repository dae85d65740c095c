"""Every setting says what it is: a label and a one-line help declared beside it, the same words
in the console, the JSON schema of the configuration and ``explain`` (the CLI's ``--explain``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from eventstore.docpath import get_path
from eventstore.schema import AppConfig, unstructure
from eventstore.schema.docs import (
    UnknownSetting,
    explain,
    json_schema,
    resolve_path,
    setting_index,
    title_of,
)
from eventstore.schema.paths import SECRET_FIELDS, walk


def test_every_setting_and_group_has_a_label_and_one_line_of_help() -> None:
    paths = list(walk())
    assert len(paths) >= 640
    missing = [p for p, d in paths if not d.info.label.strip() or not d.info.help.strip()]
    assert missing == []
    for path, declared in paths:
        label, help_text = declared.info.label, declared.info.help
        assert label[0].isupper() or label[0].isdigit(), path
        assert len(label) <= 60, path
        assert "\n" not in help_text, path
        assert help_text.endswith("."), path
        assert 10 <= len(help_text) <= 160, path
        assert help_text != label, path


def test_labels_are_written_not_generated_from_keys() -> None:
    assert explain("security.secrets.jwt_secret")["label"] == "JWT secret"
    assert explain("deployment.url")["label"] == "Public URL"
    assert explain("branding.ui")["label"] == "User interface"
    assert explain("branding.companyName")["label"] == "Company name"
    # the same class in three places: the group's label tells them apart
    assert title_of("deployment.cookies.types.locale.name") == (
        "Deployment › Cookies › Cookie types › Language cookie › Cookie name"
    )


def test_explain_gives_what_the_schema_knows_about_a_setting() -> None:
    idle = explain("security.authentication.session.idle_timeout_minutes")
    assert idle["label"] == "Idle timeout (minutes)"
    assert "0 means never" in idle["help"]
    assert idle["default"] == 30
    assert idle["type"] == "integer"
    assert idle["minimum"] == 0
    assert idle["tenant_overridable"] is True
    port = explain("deployment.server.port")
    assert (port["env"], port["bootstrap_only"], port["maximum"]) == (
        "DEPLOYMENT_SERVER_PORT",
        True,
        65535,
    )
    assert explain("oidc.issuer")["computed"] == "always computed from deployment.url and oidc.path"
    assert "when empty" in explain("integrations.urls.privacy_policy")["computed"]
    same_site = explain("deployment.cookies.defaults.sameSite")
    assert same_site["choices"] == ["strict", "lax", "none"]
    group = explain("security.authentication.session")
    assert (group["kind"], group["type"]) == ("group", "object")
    assert explain("storage.adapter")["runtime_only"] is True


def test_explain_masks_secret_defaults() -> None:
    for path in SECRET_FIELDS:
        default = explain(path)["default"]
        assert default in (None, "", "•••••••") or default == ["•••••••"], path
        assert explain(path)["secret"] is True


def test_a_map_entry_is_explained_by_its_map_and_anything_else_is_unknown() -> None:
    entry = explain("features.oidc.claims.profile")
    assert entry["entry_of"] == "features.oidc.claims"
    assert entry["path"] == "features.oidc.claims.profile"
    assert "name" in entry["default"]
    assert resolve_path("features.oidc.claims.anything") == "features.oidc.claims"
    for unknown in ("nope", "branding.nope", "security.secrets.jwt_secret.x", "oidc.path.x"):
        with pytest.raises(UnknownSetting) as raised:
            explain(unknown)
        assert unknown in str(raised.value)


def test_the_search_index_holds_every_leaf_setting() -> None:
    index = setting_index()
    leaves = {p for p, d in walk() if d.info.nested is None}
    assert {entry["path"] for entry in index} == leaves
    jwt = next(e for e in index if e["path"] == "security.secrets.jwt_secret")
    assert jwt["title"] == "Security › Secrets › JWT secret"
    assert jwt["section"] == "security"


def _property(schema: Mapping[str, Any], path: str) -> Mapping[str, Any]:
    node: Mapping[str, Any] = schema
    for key in path.split("."):
        node = node["properties"][key]
        if "anyOf" in node:
            node = {**node, **node["anyOf"][0]}
    return node


def test_the_json_schema_describes_every_setting_with_its_default() -> None:
    schema = json_schema()
    defaults = unstructure(AppConfig())
    for path, declared in walk():
        node = _property(schema, path)
        assert node["title"] == declared.info.label, path
        assert node["description"] == declared.info.help, path
        if declared.info.nested is None and path not in SECRET_FIELDS:
            assert node["default"] == get_path(defaults, path, None), path
    assert "default" not in _property(schema, "security.secrets.jwt_secret")
    assert _property(schema, "security.secrets.jwt_secret")["writeOnly"] is True
    assert _property(schema, "deployment.server.port")["readOnly"] is True
    assert _property(schema, "deployment.server.port")["x-env"] == "DEPLOYMENT_SERVER_PORT"
    assert _property(schema, "oidc.issuer")["readOnly"] is True
    assert _property(schema, "deployment.cookies.defaults.sameSite")["enum"] == [
        "strict",
        "lax",
        "none",
    ]
