"""Unset: a stored value removed so its default applies again, through the save pipeline.

A save cannot do it: ``null`` replaces a value rather than meaning "inherit" (the merge's rule),
so saving ``{"path": null}`` stores a null, which the schema refuses for most settings. Unset
deletes the stored value instead; the whole result is validated, computed fields recompute, and
nothing is appended when nothing was stored. (SQLite only: the pipeline is the one every adapter
shares, tested per backend in ``test_store_commands``.)
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from adapters.service import ConfigService
from adapters.wiring import open_service
from eventstore import events
from eventstore.commands import Author
from eventstore.docpath import has_path
from eventstore.errors import ValidationFailed, VersionConflict

KEY = "0123456789abcdef" * 4
ENVIRON = {"USE_FILE_CONFIG": "false", "ENCRYPTION_KEY": KEY}
ALICE = Author("alice", "back to the default")
MIN_LENGTH = "security.authentication.login.password_policy.min_length"


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[ConfigService]:
    service = await open_service(tmp_path, ENVIRON)
    try:
        yield service
    finally:
        await service.close()


def min_length(service: ConfigService) -> int:
    return service.config.security.authentication.login.password_policy.min_length


async def test_saving_null_does_not_mean_the_default(store: ConfigService) -> None:
    await store.save({"security": {"authentication": {"login": {"password_policy": {
        "min_length": 12}}}}}, ALICE)  # fmt: skip
    with pytest.raises(ValidationFailed) as failed:
        await store.save({"security": {"authentication": {"login": {"password_policy": {
            "min_length": None}}}}}, ALICE)  # fmt: skip
    assert [issue.path for issue in failed.value.issues] == [MIN_LENGTH]
    assert min_length(store) == 12


async def test_unset_brings_the_default_back_as_a_new_version(
    store: ConfigService, tmp_path: Path
) -> None:
    await store.save({"security": {"authentication": {"login": {"password_policy": {
        "min_length": 12}}}}}, ALICE)  # fmt: skip
    assert (min_length(store), store.version) == (12, 2)
    result = await store.unset([MIN_LENGTH], ALICE)
    assert (result.version, result.semver, result.appended) == (3, "1.0.2", True)
    assert [(c.path, c.old, c.removed) for c in result.changes] == [(MIN_LENGTH, 12, True)]
    assert min_length(store) == 8
    assert not has_path(await store.plaintext_at(), MIN_LENGTH)
    last = events.decode((await store.recorded_events())[-1])
    assert isinstance(last, events.ConfigChanged)
    assert (last.actor, last.reason, last.origin) == ("alice", "back to the default", "unset")
    # another process replays it the same way
    other = await open_service(tmp_path, ENVIRON)
    try:
        assert (min_length(other), other.version) == (8, 3)
    finally:
        await other.close()


async def test_unset_of_what_is_not_stored_appends_nothing(store: ConfigService) -> None:
    await store.unset([MIN_LENGTH], ALICE)
    version = store.version
    again = await store.unset([MIN_LENGTH], ALICE)
    assert (again.appended, again.version, again.changes) == (False, version, ())


async def test_unknown_paths_are_refused_by_name_and_nothing_is_appended(
    store: ConfigService,
) -> None:
    with pytest.raises(ValidationFailed) as failed:
        await store.unset(["branding.nope", MIN_LENGTH, "", "a..b"], ALICE)
    assert [issue.path for issue in failed.value.issues] == ["branding.nope", "", "a..b"]
    assert {issue.message for issue in failed.value.issues} == {
        "Unknown setting (not part of the schema)"
    }
    with pytest.raises(ValidationFailed):
        await store.unset("branding.logo", ALICE)  # a string is not a list of paths
    assert store.version == 1


async def test_bootstrap_only_and_runtime_only_paths_are_reported_not_written(
    store: ConfigService,
) -> None:
    result = await store.unset(["deployment.server.port", "storage.sqlite.path"], ALICE)
    assert result.stripped == ("deployment.server.port", "storage.sqlite.path")
    assert (result.appended, store.version) == (False, 1)


async def test_a_group_and_a_map_entry_can_be_unset(store: ConfigService) -> None:
    await store.save(
        {
            "branding": {"colors": {"light": {"primary": "#000000", "ring": "#111111"}}},
            "features": {"oidc": {"claims": {"profile": ["name"]}}},
        },
        ALICE,
    )
    await store.unset(["branding.colors.light", "features.oidc.claims.profile"], ALICE)
    light = store.config.branding.colors.light
    assert (light.primary, light.ring) == ("#2656a8", "#2656a8")
    assert store.config.features.oidc.claims is not None
    assert "username" in store.config.features.oidc.claims["profile"]


async def test_computed_fields_follow_an_unset(store: ConfigService) -> None:
    await store.save({"deployment": {"url": "https://id.example.com"}}, ALICE)
    assert store.config.oidc.issuer == "https://id.example.com/oidc/v1"
    await store.unset(["deployment.url"], ALICE)
    assert store.config.deployment.url == "http://localhost:9007"
    assert store.config.oidc.issuer == "http://localhost:9007/oidc/v1"


async def test_an_unset_generated_secret_is_generated_anew(store: ConfigService) -> None:
    before = store.config.security.secrets.jwt_secret
    assert before is not None
    result = await store.unset(["security.secrets.jwt_secret"], ALICE)
    after = store.config.security.secrets.jwt_secret
    assert after is not None
    assert len(after.reveal()) == 128
    assert after.reveal() != before.reveal()
    assert [c.path for c in result.changes] == ["security.secrets.jwt_secret"]


async def test_the_result_is_validated_as_a_whole(store: ConfigService) -> None:
    await store.save(
        {"application": {"locales": {"default": "de", "available": ["de", "fr"]}}}, ALICE
    )
    with pytest.raises(ValidationFailed) as failed:
        await store.unset(["application.locales.default"], ALICE)  # "en" is not available
    assert [issue.path for issue in failed.value.issues] == ["application.locales.default"]
    assert store.version == 2
    await store.unset(["application.locales.available"], ALICE)  # the default list has "de"
    assert store.config.application.locales.default == "de"


async def test_unset_takes_the_expected_version(store: ConfigService) -> None:
    await store.save({"branding": {"companyName": "Acme"}}, ALICE)
    with pytest.raises(VersionConflict):
        await store.unset(["branding.companyName"], ALICE, expected_version=1)
    assert store.config.branding.company_name == "Acme"
    await store.unset(["branding.companyName"], ALICE, expected_version=2)
    assert store.config.branding.company_name == "Your Organization"
