"""Bootstrap variables: where they come from, how they are typed, and what a bad one says."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest

from adapters.sources.bootstrap import read_bootstrap
from adapters.sources.env_files import read_env
from eventstore.errors import ValidationFailed
from eventstore.resolve import Bootstrap, resolve
from eventstore.secret import Secret

PG_URL = "postgresql://parako@db.internal:5432/parako"


def boot(
    root: Path,
    environ: Mapping[str, str] | None = None,
    *,
    env: str | None = None,
    local: str | None = None,
) -> Bootstrap:
    """Write ``runtime/.env`` / ``runtime/.env.local`` (when given) and read the bootstrap."""
    if env is not None:
        (root / "runtime" / ".env").write_text(env, encoding="utf-8")
    if local is not None:
        (root / "runtime" / ".env.local").write_text(local, encoding="utf-8")
    return read_bootstrap(read_env(root, dict(environ or {})))


def failures(root: Path, environ: Mapping[str, str] | None = None, **files: str) -> list[str]:
    """The issue lines (``VARIABLE: message``) reading the bootstrap raises."""
    with pytest.raises(ValidationFailed) as caught:
        boot(root, environ, **files)
    assert caught.value.heading == "Invalid bootstrap variables"
    return [str(issue) for issue in caught.value.issues]


# --------------------------------------------------------------------------------------------
# Precedence (D1) and defaults (D2)


def test_environment_beats_env_local_beats_env(project: Path) -> None:
    files = {"env": "DEPLOYMENT_SERVER_PORT=1111\n", "local": "DEPLOYMENT_SERVER_PORT=2222\n"}
    both = boot(project, {"DEPLOYMENT_SERVER_PORT": "3333"}, **files)
    assert both.overrides["deployment.server.port"] == 3333
    assert boot(project, {}).overrides["deployment.server.port"] == 2222
    (project / "runtime" / ".env.local").unlink()
    assert boot(project, {}).overrides["deployment.server.port"] == 1111


def test_each_variable_takes_its_own_highest_layer(project: Path) -> None:
    bootstrap = boot(
        project,
        {"DEPLOYMENT_URL": "https://from-environment.example"},
        env="DEPLOYMENT_URL=https://from-env.example\nDEPLOYMENT_ENVIRONMENT=staging\n"
        "MULTI_TENANCY_TENANT_HEADER=x-from-env\n",
        local="MULTI_TENANCY_TENANT_HEADER=x-from-local\n",
    )
    assert dict(bootstrap.overrides) == {
        "deployment.url": "https://from-environment.example",
        "deployment.environment": "staging",
        "features.multi_tenancy.tenant_header": "x-from-local",
    }


def test_nothing_set_gives_the_documented_defaults(project: Path) -> None:
    bootstrap = boot(project, {})
    assert dict(bootstrap.overrides) == {}
    assert bootstrap.environment == "development"
    assert bootstrap.process.use_file_config is True
    config = resolve(None, bootstrap)
    assert config.deployment.environment == "development"
    assert config.deployment.server.port == 9007
    assert config.deployment.url == "http://localhost:9007"
    assert config.storage.adapter == "sqlite"
    assert config.features.multi_tenancy.enabled is False


# --------------------------------------------------------------------------------------------
# Typing (D3)


def test_non_boolean_is_rejected_naming_variable_value_and_file(project: Path) -> None:
    # the reference's words: the variable, then its value quoted as JSON quotes it
    assert failures(project, env="MULTI_TENANCY_ENABLED=truthy\n") == [
        'Invalid boolean value for MULTI_TENANCY_ENABLED: "truthy" (from runtime/.env)'
    ]
    assert failures(project, {"USE_FILE_CONFIG": 'say "yes"\\'}, env="") == [
        'Invalid boolean value for USE_FILE_CONFIG: "say \\"yes\\"\\\\"'
    ]


@pytest.mark.parametrize(
    ("raw", "expected"), [("TRUE", True), ("False", False), ("true", True), ("FALSE", False)]
)
def test_booleans_accept_true_and_false_in_any_case(
    project: Path, raw: str, expected: bool
) -> None:
    bootstrap = boot(
        project,
        {
            "MULTI_TENANCY_ENABLED": raw,
            "STORAGE_ADAPTER": "postgresql",
            "STORAGE_POSTGRESQL_URL": PG_URL,
            "SECURITY_LOGGING_PRETTY_PRINT": raw,
            "USE_FILE_CONFIG": raw,
        },
    )
    assert bootstrap.overrides["features.multi_tenancy.enabled"] is expected
    assert bootstrap.process.logging.pretty_print is expected
    assert bootstrap.process.use_file_config is expected


@pytest.mark.parametrize("raw", ["1", "yes", "on", ""])
def test_other_boolean_spellings_are_rejected(project: Path, raw: str) -> None:
    assert failures(project, {"USE_FILE_CONFIG": raw}) == [
        f'Invalid boolean value for USE_FILE_CONFIG: "{raw}"'
    ]


def test_number_with_junk_is_rejected_by_name(project: Path) -> None:
    assert failures(project, local="DEPLOYMENT_SERVER_PORT=9007junk\n") == [
        'DEPLOYMENT_SERVER_PORT: must be a decimal integer, got "9007junk"'
        " (from runtime/.env.local)"
    ]


@pytest.mark.parametrize("raw", ["0x1F", "1e3", "9007.0", ""])
def test_only_decimal_integers_are_numbers(project: Path, raw: str) -> None:
    assert failures(project, {"REDIS_PORT": raw}) == [
        f'REDIS_PORT: must be a decimal integer, got "{raw}"'
    ]


def test_number_with_surrounding_spaces_is_accepted(project: Path) -> None:
    assert boot(project, {"DEPLOYMENT_SERVER_PORT": " 8080 "}).overrides == {
        "deployment.server.port": 8080
    }


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("70000", "Port must be less than 65536"),
        ("65536", "Port must be less than 65536"),
        ("0", "Port must be a positive integer"),
        ("-1", "Port must be a positive integer"),
    ],
)
def test_port_out_of_range(project: Path, raw: str, message: str) -> None:
    assert failures(project, {"DEPLOYMENT_SERVER_PORT": raw}) == [
        f"DEPLOYMENT_SERVER_PORT: {message}"
    ]


def test_port_65535_is_the_largest(project: Path) -> None:
    config = resolve(None, boot(project, {"DEPLOYMENT_SERVER_PORT": "65535"}))
    assert config.deployment.server.port == 65535


def test_extraction_priority_is_a_trimmed_list(project: Path) -> None:
    bootstrap = boot(project, {"MULTI_TENANCY_EXTRACTION_PRIORITY": "subdomain, header"})
    assert bootstrap.overrides["features.multi_tenancy.extraction_priority"] == (
        "subdomain",
        "header",
    )
    config = resolve(None, bootstrap)
    assert config.features.multi_tenancy.extraction_priority == ("subdomain", "header")


def test_extraction_priority_value_outside_the_enum_names_the_variable(project: Path) -> None:
    assert failures(project, env="MULTI_TENANCY_EXTRACTION_PRIORITY=header,cookie\n") == [
        'MULTI_TENANCY_EXTRACTION_PRIORITY[1]: Invalid option: expected one of "header"|"subdomain"'
        " (from runtime/.env)"
    ]


def test_empty_deployment_url_is_an_error_not_unset(project: Path) -> None:
    assert failures(project, {"DEPLOYMENT_URL": ""}) == [
        "DEPLOYMENT_URL: Application URL must be a valid URL"
    ]


def test_unknown_environment_is_rejected(project: Path) -> None:
    assert failures(project, {"DEPLOYMENT_ENVIRONMENT": "prod"}) == [
        "DEPLOYMENT_ENVIRONMENT: Invalid option: expected one of "
        '"development"|"staging"|"production"'
    ]


# --------------------------------------------------------------------------------------------
# Rules across variables


def test_postgresql_without_url_is_refused_when_reading_the_bootstrap(project: Path) -> None:
    # The event log cannot even be opened without it, so it is a bootstrap error.
    assert failures(project, env="STORAGE_ADAPTER=postgresql\n") == [
        "STORAGE_POSTGRESQL_URL: STORAGE_POSTGRESQL_URL is required when STORAGE_ADAPTER=postgresql"
        " (STORAGE_ADAPTER from runtime/.env)"
    ]


def test_mongodb_without_uri_is_refused(project: Path) -> None:
    assert failures(project, {"STORAGE_ADAPTER": "mongodb"}) == [
        "STORAGE_MONGODB_URI: STORAGE_MONGODB_URI is required when STORAGE_ADAPTER=mongodb"
    ]


def test_resolve_also_refuses_postgresql_without_url() -> None:
    # A Bootstrap built by hand (not read from the environment) meets the same rule in resolve.
    with pytest.raises(ValidationFailed) as caught:
        resolve(None, Bootstrap(overrides={"storage.adapter": "postgresql"}))
    assert [(i.path, i.message) for i in caught.value.issues] == [
        (
            "storage.postgresql.url",
            "STORAGE_POSTGRESQL_URL is required when STORAGE_ADAPTER=postgresql",
        )
    ]


def test_postgresql_with_url_is_used(project: Path) -> None:
    config = resolve(
        None, boot(project, {"STORAGE_ADAPTER": "postgresql", "STORAGE_POSTGRESQL_URL": PG_URL})
    )
    assert config.storage.adapter == "postgresql"
    assert config.storage.postgresql.url == PG_URL
    assert config.oidc_storage.oidc_adapter.type == "postgresql"


def test_bad_postgresql_url_is_reported_once(project: Path) -> None:
    assert failures(
        project, {"STORAGE_ADAPTER": "postgresql", "STORAGE_POSTGRESQL_URL": "mysql://db/x"}
    ) == ["STORAGE_POSTGRESQL_URL: PostgreSQL URL must use postgres:// or postgresql://"]


@pytest.mark.parametrize(
    ("environ", "files", "suffix"),
    [
        ({"MULTI_TENANCY_ENABLED": "true"}, {}, ""),
        (
            {},
            {"local": "MULTI_TENANCY_ENABLED=true\n"},
            " (MULTI_TENANCY_ENABLED from runtime/.env.local)",
        ),
        (
            {"MULTI_TENANCY_ENABLED": "true", "STORAGE_ADAPTER": "sqlite"},
            {},
            "",
        ),
    ],
)
def test_multi_tenancy_on_sqlite_is_refused(
    project: Path, environ: dict[str, str], files: dict[str, str], suffix: str
) -> None:
    assert failures(project, environ, **files) == [
        "MULTI_TENANCY_ENABLED: multi-tenancy needs STORAGE_ADAPTER=postgresql or mongodb; "
        "SQLite does not support it" + suffix
    ]


def test_multi_tenancy_on_postgresql_is_accepted(project: Path) -> None:
    bootstrap = boot(
        project,
        {
            "MULTI_TENANCY_ENABLED": "true",
            "STORAGE_ADAPTER": "postgresql",
            "STORAGE_POSTGRESQL_URL": PG_URL,
        },
    )
    assert resolve(None, bootstrap).features.multi_tenancy.enabled is True


MULTI_TENANT = {
    "MULTI_TENANCY_ENABLED": "true",
    "STORAGE_ADAPTER": "postgresql",
    "STORAGE_POSTGRESQL_URL": PG_URL,
}


def test_master_tenant_administrator_is_checked_by_variable(project: Path) -> None:
    lines = failures(
        project,
        {
            **MULTI_TENANT,
            "PARAKO_BOOTSTRAP_ADMIN_EMAIL": "invalid",
            "PARAKO_BOOTSTRAP_ADMIN_PASSWORD": "eleven-char",
        },
    )
    assert lines == [
        "PARAKO_BOOTSTRAP_ADMIN_EMAIL: Invalid email address",
        "PARAKO_BOOTSTRAP_ADMIN_PASSWORD: Too small: expected string to have >=12 characters",
    ]
    assert "eleven-char" not in "\n".join(lines)


def test_a_valid_master_tenant_administrator_is_read(project: Path) -> None:
    bootstrap = boot(
        project,
        {
            **MULTI_TENANT,
            "PARAKO_BOOTSTRAP_ADMIN_EMAIL": "root@acme.example",
            "PARAKO_BOOTSTRAP_ADMIN_PASSWORD": "twelve-chars",
        },
    )
    admin = bootstrap.process.bootstrap_admin
    assert admin.email == "root@acme.example"
    assert isinstance(admin.password, Secret)
    assert admin.password.reveal() == "twelve-chars"


def test_several_bad_variables_are_reported_together_with_their_files(project: Path) -> None:
    lines = failures(
        project,
        {"MULTI_TENANCY_ENABLED": "yes", "REDIS_DATABASE": "16"},
        env="DEPLOYMENT_ENVIRONMENT=prod\nMULTI_TENANCY_EXTRACTION_PRIORITY=cookie\n",
        local="DEPLOYMENT_SERVER_PORT=x\n",
    )
    assert sorted(lines) == sorted(
        [
            'DEPLOYMENT_ENVIRONMENT: Invalid option: expected one of "development"|"staging"|'
            '"production" (from runtime/.env)',
            'DEPLOYMENT_SERVER_PORT: must be a decimal integer, got "x" (from runtime/.env.local)',
            'Invalid boolean value for MULTI_TENANCY_ENABLED: "yes"',
            'MULTI_TENANCY_EXTRACTION_PRIORITY[0]: Invalid option: expected one of "header"|'
            '"subdomain" (from runtime/.env)',
            "REDIS_DATABASE: Too big: expected number to be <=15",
        ]
    )


def test_cross_variable_rules_are_reported_with_the_others(project: Path) -> None:
    lines = failures(project, {"MULTI_TENANCY_ENABLED": "true", "DEPLOYMENT_SERVER_PORT": "0"})
    assert len(lines) == 2
    assert lines[0] == "DEPLOYMENT_SERVER_PORT: Port must be a positive integer"
    assert lines[1].startswith("MULTI_TENANCY_ENABLED: multi-tenancy needs STORAGE_ADAPTER=")


def test_error_text_never_shows_a_secret_variable(project: Path) -> None:
    with pytest.raises(ValidationFailed) as caught:
        boot(project, {"REDIS_PASSWORD": "hunter2-secret", "REDIS_PORT": "x"})
    assert "hunter2-secret" not in str(caught.value)
