"""A written document is checked for shape first: objects where the schema has groups, finite
nesting, encodable text; each problem is invalid input named by path, and nothing is written."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from adapters.wiring import open_service
from eventstore.commands import Author
from eventstore.errors import ValidationFailed
from eventstore.shape import MAX_DEPTH, shape_issues
from eventstore.state import PLATFORM_STREAM

ENVIRON = {"USE_FILE_CONFIG": "false", "ENCRYPTION_KEY": "0123456789abcdef" * 4}


def deep(levels: int) -> Any:
    value: Any = "leaf"
    for _ in range(levels):
        value = {"k": value}
    return value


@pytest.mark.parametrize(
    ("document", "path", "message"),
    [
        ({"features": 5}, "features", "expected object, received number"),
        ({"features": {"multi_tenancy": "x"}}, "features.multi_tenancy", "received string"),
        ({"deployment": None}, "deployment", "received null"),
        ({"branding": []}, "branding", "received array"),
        ({"features": {"oidc": {"claims": deep(100)}}}, "features.oidc.claims", "too deeply"),
        ({"application": {"title": "\ud800"}}, "application.title", "not valid Unicode"),
        ({"application": {"\udfff": 1}}, "application", "key is not valid Unicode"),
    ],
)
def test_each_problem_is_named_by_path(document: Any, path: str, message: str) -> None:
    [issue] = shape_issues(document)
    assert issue.path.startswith(path)
    assert message in issue.message


def test_a_document_far_deeper_than_the_stack_is_reported_not_crashed_on() -> None:
    [issue] = shape_issues({"features": {"oidc": {"claims": deep(100_000)}}})
    assert f"more than {MAX_DEPTH} levels" in issue.message


def test_a_sound_document_has_no_issues() -> None:
    assert shape_issues({"features": {"oidc": {"claims": {"openid": ["sub"]}}}}) == []


async def test_a_save_of_a_bad_shape_is_invalid_input_and_writes_nothing(tmp_path: Path) -> None:
    async with await open_service(tmp_path, ENVIRON) as store:
        for bad in ({"features": 5}, {"deployment": "x"}, {"application": {"title": "\ud800"}}):
            with pytest.raises(ValidationFailed):
                await store.save(bad, Author("a", "b"))
            with pytest.raises(ValidationFailed):
                await store.import_document(bad, Author("a", "b"))
        assert await store.event_log.stream_version(PLATFORM_STREAM) == 1
