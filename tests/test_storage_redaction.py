"""The shared URL redaction: every scheme the stores and hint transports take, passwords with the
characters that make a URL's user-info ambiguous, and URLs that carry no password at all."""

from __future__ import annotations

import pytest

from adapters.storage.redaction import password_forms, redact_url, scrub, url_secrets

SCHEMES = ("postgresql", "postgres", "mongodb", "mongodb+srv", "redis", "rediss")
# raw '@' and ':' inside the password, and a percent-escaped '@' (%40)
PASSWORDS = ("Hunter2-Sekr3t", "p@ss@word", "pa:ss:word", "p%40ss%3Aword", "p@ss:w%40rd")


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("password", PASSWORDS)
def test_the_password_is_masked_and_the_rest_is_kept(scheme: str, password: str) -> None:
    url = f"{scheme}://app:{password}@db.example:5432/cfg?sslmode=require"
    redacted = redact_url(url)
    assert redacted == f"{scheme}://app:***@db.example:5432/cfg?sslmode=require"


@pytest.mark.parametrize("scheme", SCHEMES)
def test_a_password_without_a_user_is_masked(scheme: str) -> None:
    """Redis takes ``:password@`` (no user name) for its legacy AUTH."""
    assert redact_url(f"{scheme}://:p@ss:w%40rd@cache:6379/0") == f"{scheme}://:***@cache:6379/0"


@pytest.mark.parametrize("scheme", SCHEMES)
def test_urls_without_a_password_are_unchanged(scheme: str) -> None:
    for url in (
        f"{scheme}://app@db.example/cfg",  # user, no password
        f"{scheme}://db.example:5432/cfg",  # no user-info at all
        f"{scheme}://db.example",
    ):
        assert redact_url(url) == url


def test_postgres_url_formats_are_kept() -> None:
    """What PostgreSQL error messages have always shown (the contract tests pin the same)."""
    assert redact_url("postgresql://app:pw@db:5432/cfg?sslmode=require") == (
        "postgresql://app:***@db:5432/cfg?sslmode=require"
    )
    assert redact_url("postgresql://db/cfg?user=app&password=p@ss:w%40rd") == (
        "postgresql://db/cfg?user=app&password=***"
    )
    assert redact_url("postgresql://app:@db/x") == "postgresql://app:***@db/x"


def test_mongodb_host_lists_and_options_are_kept() -> None:
    url = "mongodb://alice:p@ss:w%40rd@h1:27017,h2:27017/db?replicaSet=rs0&authSource=admin"
    assert redact_url(url) == (
        "mongodb://alice:***@h1:27017,h2:27017/db?replicaSet=rs0&authSource=admin"
    )


@pytest.mark.parametrize("password", ["pw", "p@ss@word", "pa:ss"])
def test_a_url_that_cannot_be_split_is_still_masked(password: str) -> None:
    """An unbalanced IPv6 bracket makes ``urlsplit`` raise; the fallback hides the password
    up to the authority's last ``@``, and a ``password=`` parameter too."""
    url = f"postgresql://app:{password}@[::1/x?password={password}&a=1"
    redacted = redact_url(url)
    assert redacted == "postgresql://app:***@[::1/x?password=***&a=1"
    assert password not in redacted


def test_free_text_is_scrubbed_of_every_reading_of_the_password() -> None:
    """Driver messages may quote the password raw, percent-decoded, or with the user name."""
    url = "mongodb://alice:p@ss:w%40rd@h1/db"
    candidates = url_secrets(url)
    assert candidates == sorted(candidates, key=len, reverse=True)  # longest first
    message = "bad auth for alice:p@ss:w%40rd (p@ss:w@rd) at h1"
    assert scrub(message, candidates) == "bad auth for *** (***) at h1"
    assert url_secrets("mongodb://h1/db") == url_secrets(None) == []


def test_a_known_password_is_scrubbed_raw_and_decoded() -> None:
    assert password_forms("p%40ss") == ["p%40ss", "p@ss"]
    assert password_forms(None) == password_forms("") == []
    assert scrub("refused p%40ss, then p@ss", password_forms("p%40ss")) == "refused ***, then ***"
