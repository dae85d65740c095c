from __future__ import annotations

from pathlib import Path

import pytest

from adapters.sources.file_source import UnreadableFileError, load_file_document
from adapters.sources.jsonc import JsoncError
from eventstore.errors import ValidationFailed


def _write(root: Path, name: str, text: str) -> Path:
    path = root / "runtime" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_missing_file_lists_both_searched_paths(tmp_path: Path) -> None:
    result = load_file_document(tmp_path, {})
    assert result.path is None
    assert result.document is None
    assert result.searched == (
        tmp_path / "runtime" / "parako.jsonc",
        tmp_path / "runtime" / "parako.json",
    )


def test_jsonc_wins_over_json(tmp_path: Path) -> None:
    jsonc = _write(tmp_path, "parako.jsonc", '{"from": "jsonc"}')
    _write(tmp_path, "parako.json", '{"from": "json"}')
    result = load_file_document(tmp_path, {})
    assert result.path == jsonc
    assert result.document == {"from": "jsonc"}


def test_json_file_is_read_as_jsonc(tmp_path: Path) -> None:
    json_path = _write(tmp_path, "parako.json", '{\n  // comment\n  "a": [1, 2,],\n}')
    result = load_file_document(tmp_path, {})
    assert result.path == json_path
    assert result.document == {"a": [1, 2]}


def test_document_is_interpolated_not_merged(tmp_path: Path) -> None:
    _write(tmp_path, "parako.jsonc", '{"smtp": {"host": "${SMTP_HOST:-localhost}", "port": 25}}')
    result = load_file_document(tmp_path, {"SMTP_HOST": "mail.example"})
    assert result.document == {"smtp": {"host": "mail.example", "port": 25}}


def test_broken_jsonc_does_not_fall_back_to_json(tmp_path: Path) -> None:
    _write(tmp_path, "parako.jsonc", '{\n  "a": 1\n  "b": 2\n}')
    _write(tmp_path, "parako.json", '{"a": 1}')
    with pytest.raises(JsoncError) as caught:
        load_file_document(tmp_path, {})
    assert str(caught.value) == "runtime/parako.jsonc:3:3: expected ',' or '}', found a string"


def test_empty_file_is_an_error(tmp_path: Path) -> None:
    _write(tmp_path, "parako.json", "")
    with pytest.raises(JsoncError) as caught:
        load_file_document(tmp_path, {})
    assert str(caught.value).startswith("runtime/parako.json:1:1: no JSON value found")


@pytest.mark.parametrize(("text", "kind"), [("[1]", "an array"), ('"x"', "a string")])
def test_top_level_must_be_an_object(tmp_path: Path, text: str, kind: str) -> None:
    _write(tmp_path, "parako.jsonc", text)
    with pytest.raises(ValidationFailed) as caught:
        load_file_document(tmp_path, {})
    assert str(caught.value) == (
        "Invalid config file runtime/parako.jsonc:\n"
        f"  runtime/parako.jsonc: the top level must be an object ({{ ... }}), not {kind}"
    )


def test_interpolation_errors_name_the_file_and_every_path(tmp_path: Path) -> None:
    _write(tmp_path, "parako.jsonc", '{"a": "${ONE}", "b": ["${TWO}"]}')
    with pytest.raises(ValidationFailed) as caught:
        load_file_document(tmp_path, {})
    error = caught.value
    assert error.heading == "Environment variable substitution failed in runtime/parako.jsonc"
    assert [issue.path for issue in error.issues] == ["a", "b[0]"]
    assert "runtime/parako.jsonc" in str(error)
    assert "${TWO} is not set" in str(error)


def test_file_that_is_not_utf8_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "runtime" / "parako.jsonc"
    path.parent.mkdir()
    path.write_bytes(b'{"a": "\xff"}')
    with pytest.raises(UnreadableFileError) as caught:
        load_file_document(tmp_path, {})
    assert str(caught.value) == f"cannot read {path}: not UTF-8 text (byte 7)"


def test_directory_in_place_of_file_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "runtime" / "parako.jsonc").mkdir(parents=True)
    with pytest.raises(UnreadableFileError, match=r"cannot read .*parako\.jsonc"):
        load_file_document(tmp_path, {})
