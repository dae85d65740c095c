from __future__ import annotations

import pytest

from adapters.sources.jsonc import JsoncError, parse_jsonc

SOURCE = "runtime/parako.jsonc"


def _error(text: str) -> JsoncError:
    with pytest.raises(JsoncError) as caught:
        parse_jsonc(text, SOURCE)
    return caught.value


def test_comments_and_trailing_commas_are_accepted() -> None:
    text = """
    // line comment
    {
      /* block
         comment */
      "companyName": "Parako", // after a value
      "ports": [80, 443,],
      "nested": {"a": true,},
    }
    """
    assert parse_jsonc(text, SOURCE) == {
        "companyName": "Parako",
        "ports": [80, 443],
        "nested": {"a": True},
    }


def test_comment_markers_inside_strings_are_text() -> None:
    assert parse_jsonc('{"url": "http://x/*y*/", "k": "a//b"}', SOURCE) == {
        "url": "http://x/*y*/",
        "k": "a//b",
    }


def test_byte_order_mark_is_ignored() -> None:
    assert parse_jsonc('\ufeff{"a": 1}', SOURCE) == {"a": 1}


def test_duplicate_key_reports_the_second_occurrence() -> None:
    text = '{\n  "companyName": "A",\n  "x": 1,\n  "y": 2, "companyName": "B"\n}'
    error = _error(text)
    assert str(error) == (
        'runtime/parako.jsonc:4:11: duplicate key "companyName" (first defined at line 2)'
    )
    assert (error.source, error.line, error.col) == (SOURCE, 4, 11)


def test_duplicate_key_in_nested_object_is_rejected() -> None:
    text = '{\n  "smtp": {\n    "host": "a",\n    // again\n    "host": "b"\n  }\n}'
    assert str(_error(text)) == (
        'runtime/parako.jsonc:5:5: duplicate key "host" (first defined at line 3)'
    )


def test_duplicate_key_inside_array_element_is_rejected() -> None:
    error = _error('[{"a": 1}, {"b": 1, "b": 2}]')
    assert (error.line, error.col) == (1, 21)


def test_keys_that_decode_to_the_same_name_are_duplicates() -> None:
    error = _error("{'name': 1, name: 2, \"\\u006eame\": 3}")
    assert str(error) == 'runtime/parako.jsonc:1:13: duplicate key "name" (first defined at line 1)'


def test_same_key_in_sibling_objects_is_fine() -> None:
    assert parse_jsonc('[{"a": 1}, {"a": 2}]', SOURCE) == [{"a": 1}, {"a": 2}]


def test_missing_comma_between_members() -> None:
    text = '{\n  "a": 1,\n  "b": "x"\n  "c": 2\n}'
    assert str(_error(text)) == "runtime/parako.jsonc:4:3: expected ',' or '}', found a string"


def test_missing_colon() -> None:
    assert str(_error('{"a" 1}')) == "runtime/parako.jsonc:1:6: expected ':', found a value"


def test_double_comma_points_at_the_second_comma() -> None:
    assert str(_error("{a: 1,, }")) == "runtime/parako.jsonc:1:7: expected a key or '}', found ','"


def test_unclosed_array_reports_end_of_file() -> None:
    assert str(_error("[1,\n 2")) == (
        "runtime/parako.jsonc:2:3: expected ',' or ']', found end of file"
    )


def test_unterminated_string_points_at_its_start() -> None:
    assert str(_error('{"a": "open}')) == "runtime/parako.jsonc:1:7: unterminated string"


def test_unterminated_comment_points_at_its_start() -> None:
    assert str(_error('{"a": 1}\n/* never closed')) == (
        "runtime/parako.jsonc:2:1: unterminated comment (missing '*/')"
    )


def test_unquoted_word_as_value_is_not_echoed() -> None:
    error = _error('{"password": hunter2}')
    assert (error.line, error.col) == (1, 14)
    assert "hunter2" not in str(error)


def test_misplaced_string_is_not_echoed() -> None:
    error = _error('{"password": "s3cr3t-value" "other": 1}')
    assert "s3cr3t" not in str(error)
    assert (error.line, error.col) == (1, 29)


def test_garbage_after_document() -> None:
    assert str(_error('{"a": 1}\n}')) == (
        "runtime/parako.jsonc:2:1: expected the end of the file, found '}'"
    )


def test_windows_line_endings_count_lines() -> None:
    assert str(_error('{\r\n"a": 1\r\n"b": 2}')) == (
        "runtime/parako.jsonc:3:1: expected ',' or '}', found a string"
    )


@pytest.mark.parametrize("text", ["", "   \n\t", "// nothing here\n/* at all */"])
def test_empty_content_is_an_error(text: str) -> None:
    assert str(_error(text)) == (
        "runtime/parako.jsonc:1:1: no JSON value found (the file is empty or only comments)"
    )


@pytest.mark.parametrize(
    ("literal", "message"),
    [
        ("NaN", "NaN is not allowed in JSON"),
        ("Infinity", "Infinity is not allowed in JSON"),
        ("-Infinity", "-Infinity is not allowed in JSON"),
        ("1e999", "number 1e999 is too large"),
    ],
)
def test_non_json_numbers_are_rejected_with_position(literal: str, message: str) -> None:
    assert str(_error(f'{{\n  "limit": {literal}\n}}')) == f"runtime/parako.jsonc:2:12: {message}"


def test_json5_numbers_that_are_json_values_pass() -> None:
    assert parse_jsonc("{a: 0x1F, b: .5, c: +3, d: 1e3}", SOURCE) == {
        "a": 31,
        "b": 0.5,
        "c": 3,
        "d": 1000.0,
    }


def test_deep_nesting_is_an_error_not_a_crash() -> None:
    error = _error("[" * 5000 + "]" * 5000)
    assert str(error) == "runtime/parako.jsonc:1:1: the document is nested too deeply"
