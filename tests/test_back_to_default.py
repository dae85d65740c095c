"""Back to the default, and dry runs: ``unset``, ``null`` in a PATCH, ``import --replace``, and
``--dry-run`` on every write — which must predict exactly what the write then does."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.api_support import RunningApi

from adapters.service import ConfigService
from adapters.wiring import open_service
from eventstore.commands import Author
from eventstore.document_stream import rehearsal
from eventstore.resolve import default_document
from eventstore.state import PLATFORM_STREAM
from eventstore.tokens import READ, WRITE

CLI = Path(sys.executable).with_name("parako-config")
KEY = "d3fa" * 16
ENVIRON = {"USE_FILE_CONFIG": "false", "ENCRYPTION_KEY": KEY}
OPS = Author("ops", "test")
WRITE_ARGS = ("--by", "ops", "--reason", "why")
DEFAULTS = default_document()


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG", "TMPDIR") if k in os.environ}
    return subprocess.run(
        [str(CLI), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )


def ok(cwd: Path, *args: str) -> str:
    done = run(cwd, *args)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "runtime").mkdir()
    (tmp_path / "runtime" / ".env").write_text(
        f"STORAGE_ADAPTER=sqlite\nUSE_FILE_CONFIG=false\nENCRYPTION_KEY={KEY}\n", encoding="utf-8"
    )
    ok(tmp_path, "check")  # the store's first start
    return tmp_path


# --- the command line ------------------------------------------------------------------------


def test_unset_returns_settings_to_their_defaults(root: Path) -> None:
    ok(root, "set", "branding.companyName=Acme", "oidc.token_ttl.access_token=900", *WRITE_ARGS)
    out = ok(root, "unset", "branding.companyName", "oidc.token_ttl", *WRITE_ARGS)
    assert out.startswith("unset; saved 1.0.2")
    default_name = DEFAULTS["branding"]["companyName"]
    assert ok(root, "show", "branding.companyName").strip() == default_name
    # computed fields recompute: the MFA issuer follows the company name back
    issuer = ok(root, "show", "security.authentication.multi_factor.totp.issuer_name")
    assert issuer.strip() == default_name
    assert ok(root, "show", "oidc.token_ttl.access_token").strip() == "3600"
    again = ok(root, "unset", "branding.companyName", *WRITE_ARGS)
    assert again.strip() == "nothing changed; still 1.0.2"
    unknown = run(root, "unset", "branding.nope", *WRITE_ARGS)
    assert unknown.returncode == 2
    assert "branding.nope" in unknown.stderr


def test_every_write_has_a_dry_run_that_writes_nothing(root: Path, tmp_path: Path) -> None:
    ok(root, "set", "branding.companyName=Acme", *WRITE_ARGS)
    exported = tmp_path / "export.json"
    document = json.loads(ok(root, "export"))
    document["branding"]["companyName"] = "Imported"
    exported.write_text(json.dumps(document), encoding="utf-8")
    head = ok(root, "history", "--json")
    for args in (
        ("set", "branding.companyName=Dry"),
        ("unset", "branding.companyName"),
        ("rollback", "1.0.0"),
        ("import", str(exported)),
        ("import", str(exported), "--replace"),
    ):
        out = ok(root, *args, *WRITE_ARGS, "--dry-run")
        assert out.startswith("dry run: would save 1.0.2"), (args, out)
        assert "branding.companyName" in out
        assert "nothing written" in out
        assert ok(root, "history", "--json") == head, args
    as_json = json.loads(
        ok(root, "set", "branding.companyName=Dry", *WRITE_ARGS, "--dry-run", "--json")
    )
    assert as_json["dry_run"] is True
    assert as_json["version"] == "1.0.2"
    assert [c["field"] for c in as_json["changes"]] == ["branding.companyName"]
    same = ok(root, "set", "branding.companyName=Acme", *WRITE_ARGS, "--dry-run")
    assert same.strip() == "dry run: nothing would change; nothing written"
    bad = run(root, "set", "oidc.token_ttl.access_token=-5", *WRITE_ARGS, "--dry-run")
    assert bad.returncode == 2  # a dry run validates as the write does


def test_import_replace_returns_what_the_file_leaves_out_to_its_default(
    root: Path, tmp_path: Path
) -> None:
    ok(root, "set", "branding.companyName=Acme", "oidc.token_ttl.access_token=900", *WRITE_ARGS)
    document = json.loads(ok(root, "export"))
    del document["oidc"]["token_ttl"]["access_token"]
    exported = tmp_path / "export.json"
    exported.write_text(json.dumps(document), encoding="utf-8")
    merged = ok(root, "import", str(exported), *WRITE_ARGS)
    assert merged.strip() == "nothing changed; still 1.0.1"
    ok(root, "import", str(exported), "--replace", *WRITE_ARGS)
    assert ok(root, "show", "oidc.token_ttl.access_token").strip() == "3600"
    assert ok(root, "show", "branding.companyName").strip() == "Acme"
    assert ok(root, "show", "security.secrets.jwt_secret").strip().startswith("•")


def test_explain_says_what_a_setting_is(root: Path) -> None:
    out = ok(root, "show", "--explain", "oidc.token_ttl.access_token")
    assert "Access token" in out
    assert "default:" in out
    assert "3600" in out
    facts = json.loads(ok(root, "show", "--explain", "oidc.token_ttl.access_token", "--json"))
    assert facts["default"] == 3600
    unknown = run(root, "show", "--explain", "oidc.nope")
    assert unknown.returncode == 2
    assert "oidc.nope" in unknown.stderr


# --- the API ---------------------------------------------------------------------------------


def test_null_in_a_patch_returns_a_setting_to_its_default(api: RunningApi) -> None:
    client = api.client(api.token("ops", READ, WRITE))
    assert client.patch("/config", json={"branding": {"companyName": "Acme"}}).status_code == 200
    reset = client.patch("/config", json={"branding": {"companyName": None}})
    assert reset.status_code == 200, reset.text
    assert reset.json()["data"]["changed"] == ["branding.companyName"]
    shown = client.get("/config/branding").json()["data"]
    assert shown["companyName"] == DEFAULTS["branding"]["companyName"]
    # a null where the schema allows one stays a value
    nullable = client.patch(
        "/config", json={"integrations": {"email": {"tls_reject_unauthorized": True}}}
    )
    assert nullable.status_code == 200, nullable.text
    back = client.patch(
        "/config", json={"integrations": {"email": {"tls_reject_unauthorized": None}}}
    )
    assert back.status_code == 200, back.text
    email = client.get("/config/integrations").json()["data"]["email"]
    assert email.get("tls_reject_unauthorized") is None
    # and for the reference's checkbox booleans a null is a value too: false, not the default
    alerts = {"notifications": {"defaults": {"security_alerts": None}}}
    assert client.patch("/config", json=alerts).status_code == 200
    defaults = client.get("/config/notifications").json()["data"]["defaults"]
    assert defaults["security_alerts"] is False


# --- a dry run predicts the write ------------------------------------------------------------

SETTINGS: dict[str, Any] = {
    "branding.companyName": st.text(min_size=1, max_size=12).filter(lambda t: "\x00" not in t),
    "oidc.token_ttl.access_token": st.integers(-5, 100_000),
    "oidc.token_ttl.refresh_token": st.integers(1, 10_000_000),
    "security.authentication.login.password_policy.min_length": st.integers(0, 200),
    "features.metrics.path": st.sampled_from(["/metrics", "/admin/x", "/api/v1/m", "/m2"]),
}


def nested(path: str, value: Any) -> dict[str, Any]:
    doc: Any = value
    for segment in reversed(path.split(".")):
        doc = {segment: doc}
    return dict(doc)


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    st.lists(
        st.one_of(
            *[
                st.tuples(st.just("set"), st.just(path), strategy)
                for path, strategy in SETTINGS.items()
            ],
            st.tuples(st.just("unset"), st.sampled_from(sorted(SETTINGS)), st.none()),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_a_dry_run_predicts_exactly_what_the_write_does(
    tmp_path_factory: pytest.TempPathFactory, steps: list[tuple[str, str, Any]]
) -> None:
    import asyncio

    async def check(service: ConfigService) -> None:
        for kind, path, value in steps:

            async def write(kind: str = kind, path: str = path, value: Any = value) -> Any:
                if kind == "set":
                    return await service.save(nested(path, value), OPS)
                return await service.unset([path], OPS)

            head = await service.event_log.stream_version(PLATFORM_STREAM)
            try:
                with rehearsal() as predicted:
                    await write()
            except Exception as refused:
                assert await service.event_log.stream_version(PLATFORM_STREAM) == head
                with pytest.raises(type(refused)):
                    await write()
                continue
            assert await service.event_log.stream_version(PLATFORM_STREAM) == head
            done = await write()
            assert done.changes == predicted.changes
            assert done.appended == bool(predicted.changes)
            if predicted.changes:
                assert done.semver == predicted.semver

    async def main() -> None:
        service = await open_service(tmp_path_factory.mktemp("dry"), ENVIRON)
        try:
            await check(service)
        finally:
            await service.close()

    asyncio.run(main())
