from __future__ import annotations

import pytest

from adapters.sources.interpolation import interpolate
from eventstore.errors import Issue, ValidationFailed


def _issues(value: object, environ: dict[str, str]) -> list[Issue]:
    with pytest.raises(ValidationFailed) as caught:
        interpolate(value, environ)
    return list(caught.value.issues)


def _not_set(path: str, name: str) -> Issue:
    return Issue(
        path,
        f'Config error at "{path}": environment variable ${{{name}}} is not set. '
        f"Set it in .env or use ${{{name}:-default}} for a fallback.",
    )


def _invalid(path: str, name: str) -> Issue:
    return Issue(
        path,
        f'Config error at "{path}": invalid variable name "{name}". Variable names must start '
        "with a letter or underscore, followed by letters, digits, or underscores.",
    )


def test_several_references_in_one_string() -> None:
    doc = {"database": {"url": "postgres://${HOST}:${PORT}/db"}}
    result = interpolate(doc, {"HOST": "db.internal", "PORT": "5432"})
    assert result == {"database": {"url": "postgres://db.internal:5432/db"}}


def test_results_are_always_strings_and_other_leaves_are_kept() -> None:
    doc = {"port": "${PORT}", "debug": True, "retries": 3, "ratio": 0.5, "none": None}
    assert interpolate(doc, {"PORT": "8080"}) == {
        "port": "8080",
        "debug": True,
        "retries": 3,
        "ratio": 0.5,
        "none": None,
    }


def test_input_is_not_modified() -> None:
    doc = {"a": ["${X}"]}
    interpolate(doc, {"X": "1"})
    assert doc == {"a": ["${X}"]}


def test_default_used_when_unset_or_empty() -> None:
    doc = {"a": "${MISSING:-fallback}", "b": "${EMPTY:-fallback}", "c": "${SET:-fallback}"}
    result = interpolate(doc, {"EMPTY": "", "SET": "value"})
    assert result == {"a": "fallback", "b": "fallback", "c": "value"}


def test_default_may_be_empty_and_is_kept_verbatim() -> None:
    doc = {"a": "[${MISSING:-}]", "b": "${MISSING:- spaced :-more }"}
    assert interpolate(doc, {}) == {"a": "[]", "b": " spaced :-more "}


def test_name_is_trimmed() -> None:
    assert interpolate("${ HOST }/${ PORT :-1}", {"HOST": "h"}) == "h/1"


def test_empty_braces_and_unclosed_references_stay_literal() -> None:
    assert interpolate("a${}b ${OPEN and $PLAIN", {"OPEN": "x", "PLAIN": "y"}) == (
        "a${}b ${OPEN and $PLAIN"
    )


def test_values_are_not_expanded_again() -> None:
    assert interpolate("${A}", {"A": "${B}", "B": "nope"}) == "${B}"


def test_unset_and_empty_variables_are_errors() -> None:
    doc = {"smtp": {"host": "${SMTP_HOST}", "user": "${SMTP_USER}"}}
    assert _issues(doc, {"SMTP_USER": ""}) == [
        _not_set("smtp.host", "SMTP_HOST"),
        _not_set("smtp.user", "SMTP_USER"),
    ]


def test_list_paths_use_indices() -> None:
    doc = {"security": {"secrets": {"cookie_secrets": ["${A}", "${COOKIE_2}"]}}}
    assert _issues(doc, {"A": "x"}) == [
        _not_set("security.secrets.cookie_secrets[1]", "COOKIE_2"),
    ]


def test_nested_lists_and_root_values() -> None:
    assert _issues([["ok", "${X}"]], {}) == [_not_set("[0][1]", "X")]
    assert _issues("${X}", {}) == [_not_set("", "X")]


def test_exact_message_text() -> None:
    with pytest.raises(ValidationFailed) as caught:
        interpolate({"a": {"b": "${JWT_SECRET}"}}, {})
    assert caught.value.issues[0].message == (
        'Config error at "a.b": environment variable ${JWT_SECRET} is not set. '
        "Set it in .env or use ${JWT_SECRET:-default} for a fallback."
    )


@pytest.mark.parametrize(
    ("body", "name"),
    [("1ABC", "1ABC"), ("MY-VAR", "MY-VAR"), ("A B", "A B"), (" ", ""), ("A:B", "A:B")],
)
def test_invalid_names(body: str, name: str) -> None:
    assert _issues({"x": f"${{{body}}}"}, {"1ABC": "v", "MY-VAR": "v"}) == [_invalid("x", name)]


def test_invalid_name_with_default_is_still_invalid() -> None:
    assert _issues({"x": "${9LIVES:-cat}"}, {}) == [_invalid("x", "9LIVES")]


def test_all_errors_are_collected() -> None:
    doc = {
        "a": "${ONE} and ${TWO}",
        "list": ["${bad-name}", {"deep": "${THREE}"}],
        "fine": "${SET}",
    }
    assert _issues(doc, {"SET": "ok"}) == [
        _not_set("a", "ONE"),
        _not_set("a", "TWO"),
        _invalid("list[0]", "bad-name"),
        _not_set("list[1].deep", "THREE"),
    ]


def test_error_never_contains_values_of_other_variables() -> None:
    with pytest.raises(ValidationFailed) as caught:
        interpolate({"a": "${SECRET}:${MISSING}"}, {"SECRET": "hunter2"})
    assert "hunter2" not in str(caught.value)
