from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eventstore.docpath import (
    MISSING,
    deep_merge,
    delete_path,
    get_path,
    has_path,
    is_object,
    iter_leaves,
    set_path,
    set_paths,
    split_path,
)

DOC: dict[str, Any] = {
    "security": {"secrets": {"jwt_secret": "s1", "cookie_secrets": ["a", "b"]}, "mfa": None},
    "branding": {"name": "Parako"},
    "port": 8080,
}


# --- split_path / get_path / has_path -------------------------------------------------------


def test_split_path_returns_segments() -> None:
    assert split_path("security.secrets.jwt_secret") == ("security", "secrets", "jwt_secret")
    assert split_path("port") == ("port",)


@pytest.mark.parametrize("path", ["", ".a", "a.", "a..b", "."])
def test_split_path_rejects_empty_segments(path: str) -> None:
    with pytest.raises(ValueError, match="empty segment"):
        split_path(path)


def test_get_path_reads_nested_values_lists_and_none() -> None:
    assert get_path(DOC, "security.secrets.jwt_secret") == "s1"
    assert get_path(DOC, "security.secrets.cookie_secrets") == ["a", "b"]
    assert get_path(DOC, "security.mfa") is None
    assert get_path(DOC, "branding") == {"name": "Parako"}


def test_get_path_without_default_raises_key_error_naming_the_path() -> None:
    with pytest.raises(KeyError, match=r"branding\.logo"):
        get_path(DOC, "branding.logo")


def test_get_path_returns_default_for_absent_paths_including_through_scalars() -> None:
    assert get_path(DOC, "branding.logo", "none") == "none"
    assert get_path(DOC, "port.number", None) is None
    assert get_path(DOC, "security.secrets.cookie_secrets.0", 7) == 7


def test_has_path_counts_none_as_present() -> None:
    assert has_path(DOC, "security.mfa")
    assert has_path(DOC, "security.secrets")
    assert not has_path(DOC, "security.missing")
    assert not has_path(DOC, "port.inner")


def test_missing_sentinel_is_not_none_and_reprs_by_name() -> None:
    assert MISSING is not None
    assert repr(MISSING) == "MISSING"


# --- set_path ---------------------------------------------------------------------------------


def test_set_path_replaces_a_value_without_touching_the_input() -> None:
    before = copy.deepcopy(DOC)
    result = set_path(DOC, "security.secrets.jwt_secret", "s2")
    assert result["security"]["secrets"]["jwt_secret"] == "s2"
    assert before == DOC


def test_set_path_shares_untouched_branches_and_copies_the_changed_ones() -> None:
    result = set_path(DOC, "security.secrets.jwt_secret", "s2")
    assert result["branding"] is DOC["branding"]
    assert (
        result["security"]["secrets"]["cookie_secrets"]
        is DOC["security"]["secrets"]["cookie_secrets"]
    )
    assert result["security"] is not DOC["security"]
    assert result["security"]["secrets"] is not DOC["security"]["secrets"]


def test_set_path_creates_missing_objects() -> None:
    assert set_path({}, "a.b.c", 1) == {"a": {"b": {"c": 1}}}
    assert set_path({"a": {"x": 0}}, "a.b", [1]) == {"a": {"x": 0, "b": [1]}}


def test_set_path_refuses_to_descend_into_a_scalar() -> None:
    with pytest.raises(TypeError, match=r"cannot set port\.number: port"):
        set_path(DOC, "port.number", 1)


# --- delete_path ------------------------------------------------------------------------------


def test_delete_path_removes_the_value_without_touching_the_input() -> None:
    before = copy.deepcopy(DOC)
    result = delete_path(DOC, "security.secrets.jwt_secret")
    assert result["security"]["secrets"] == {"cookie_secrets": ["a", "b"]}
    assert before == DOC


def test_delete_path_removes_ancestors_left_empty_but_keeps_the_root() -> None:
    assert delete_path({"a": {"b": {"c": 1}}, "x": 2}, "a.b.c") == {"x": 2}
    assert delete_path({"a": {"b": {"c": 1}, "d": 3}}, "a.b.c") == {"a": {"d": 3}}
    assert delete_path({"a": {"b": 1}}, "a.b") == {}


def test_delete_path_of_absent_path_returns_an_equal_new_document() -> None:
    result = delete_path(DOC, "security.nothing.here")
    assert result == DOC
    assert result is not DOC
    assert delete_path(DOC, "port.inner") == DOC


# --- iter_leaves ------------------------------------------------------------------------------


def test_iter_leaves_yields_dotted_paths_with_lists_as_leaves() -> None:
    assert dict(iter_leaves(DOC)) == {
        "security.secrets.jwt_secret": "s1",
        "security.secrets.cookie_secrets": ["a", "b"],
        "security.mfa": None,
        "branding.name": "Parako",
        "port": 8080,
    }


def test_iter_leaves_honours_prefix_and_skips_empty_objects() -> None:
    assert list(iter_leaves({"a": {}, "b": 1}, prefix="root")) == [("root.b", 1)]


@pytest.mark.parametrize("doc", [{"a.b": 1}, {"a": {"": 1}}])
def test_iter_leaves_refuses_keys_that_are_not_path_segments(doc: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="cannot be used in a path"):
        list(iter_leaves(doc))


# --- deep_merge: concrete -----------------------------------------------------------------------


def test_deep_merge_merges_objects_and_keeps_base_only_keys() -> None:
    base = {"a": {"x": 1, "y": 2}, "b": 3}
    assert deep_merge(base, {"a": {"y": 20, "z": 30}}) == {"a": {"x": 1, "y": 20, "z": 30}, "b": 3}


def test_deep_merge_replaces_lists_instead_of_concatenating() -> None:
    assert deep_merge({"l": [1, 2, 3]}, {"l": [9]}) == {"l": [9]}
    assert deep_merge({"l": [1, 2, 3]}, {"l": []}) == {"l": []}


def test_deep_merge_none_replaces_objects_and_scalars() -> None:
    assert deep_merge({"a": {"x": 1}, "b": 2}, {"a": None, "b": None}) == {"a": None, "b": None}


def test_deep_merge_object_replaces_scalar_and_scalar_replaces_object() -> None:
    assert deep_merge({"a": 1}, {"a": {"x": 1}}) == {"a": {"x": 1}}
    assert deep_merge({"a": {"x": 1}}, {"a": "flat"}) == {"a": "flat"}


def test_deep_merge_is_not_associative_across_a_type_change() -> None:
    # Documented limit: a scalar in the middle layer hides the bottom object only when the
    # bottom two layers are merged first.
    a, b, c = {"k": {"p": 1}}, {"k": 5}, {"k": {"q": 2}}
    assert deep_merge(deep_merge(a, b), c) == {"k": {"q": 2}}
    assert deep_merge(a, deep_merge(b, c)) == {"k": {"p": 1, "q": 2}}


# --- deep_merge: properties -----------------------------------------------------------------------

leaf_values = (
    st.none()
    | st.booleans()
    | st.integers(-5, 5)
    | st.text(alphabet="ab é", max_size=3)
    | st.lists(st.integers(-3, 3), max_size=3)
)
keys = st.text(alphabet="abcxyz_", min_size=1, max_size=2)
node_values = st.recursive(
    leaf_values, lambda children: st.dictionaries(keys, children, max_size=3), max_leaves=10
)
documents = st.dictionaries(keys, node_values, max_size=4)


def shaped(depth: int) -> st.SearchStrategy[dict[str, Any]]:
    """Documents of one implicit schema: keys a/b always hold objects, x/y always leaves."""
    optional: dict[str, st.SearchStrategy[Any]] = {"x": leaf_values, "y": leaf_values}
    if depth > 0:
        optional |= {"a": shaped(depth - 1), "b": shaped(depth - 1)}
    return st.fixed_dictionaries({}, optional=optional)


shaped_documents = shaped(3)


@given(documents)
def test_merge_with_empty_is_identity(doc: dict[str, Any]) -> None:
    assert deep_merge(doc, {}) == doc
    assert deep_merge({}, doc) == doc


@given(documents, documents)
def test_every_leaf_of_override_appears_in_the_result(
    base: dict[str, Any], override: dict[str, Any]
) -> None:
    result = deep_merge(base, override)
    for path, value in iter_leaves(override):
        assert get_path(result, path) == value


@given(documents, documents)
def test_every_leaf_of_the_result_comes_from_override_or_base(
    base: dict[str, Any], override: dict[str, Any]
) -> None:
    result = deep_merge(base, override)
    for path, value in iter_leaves(result):
        source = override if has_path(override, path) else base
        assert get_path(source, path) == value


@given(shaped_documents, shaped_documents)
def test_keys_only_in_base_survive(base: dict[str, Any], override: dict[str, Any]) -> None:
    result = deep_merge(base, override)
    for path, value in iter_leaves(base):
        if not has_path(override, path):
            assert get_path(result, path) == value


@given(shaped_documents, shaped_documents, shaped_documents)
def test_merge_is_associative_for_documents_of_one_shape(
    a: dict[str, Any], b: dict[str, Any], c: dict[str, Any]
) -> None:
    assert deep_merge(deep_merge(a, b), c) == deep_merge(a, deep_merge(b, c))


@given(documents, documents)
def test_merge_does_not_mutate_its_inputs(base: dict[str, Any], override: dict[str, Any]) -> None:
    base_before, override_before = copy.deepcopy(base), copy.deepcopy(override)
    deep_merge(base, override)
    assert base == base_before
    assert override == override_before


@given(documents, st.lists(st.sampled_from("abxy"), min_size=1, max_size=3), leaf_values)
def test_set_then_get_round_trips_and_leaves_input_alone(
    doc: dict[str, Any], segments: list[str], value: Any
) -> None:
    path = ".".join(segments)
    before = copy.deepcopy(doc)
    try:
        result = set_path(doc, path, value)
    except TypeError:
        # Only a scalar on the way may refuse the write.
        assert any(
            has_path(doc, p) and not isinstance(get_path(doc, p), dict)
            for p in (".".join(segments[:i]) for i in range(1, len(segments)))
        )
    else:
        assert get_path(result, path) == value
        for other, other_value in iter_leaves(doc):
            if other != path and not other.startswith(path + "."):
                assert get_path(result, other) == other_value
    assert doc == before


class _ReadOnlyView(Mapping[str, Any]):
    """A mapping that is not a dict (documents may hold such views)."""

    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(max_size=3), inner, max_size=3)
        | st.dictionaries(st.text(max_size=3), inner, max_size=3).map(_ReadOnlyView)
        | st.lists(inner, max_size=3).map(tuple)
    ),
    max_leaves=8,
)


@given(JSON_VALUES)
def test_is_object_answers_what_the_mapping_check_answers(value: Any) -> None:
    assert is_object(value) == isinstance(value, Mapping)


# --- set_paths: many values at once ---------------------------------------------------------

PATHS = st.lists(st.sampled_from(["a", "b", "x"]), min_size=1, max_size=3).map(".".join)


@given(documents, st.lists(st.tuples(PATHS, node_values), max_size=6))
def test_set_paths_is_set_path_in_turn_and_touches_neither_input(
    doc: dict[str, Any], items: list[tuple[str, Any]]
) -> None:
    """A fold applies an event's values at once, each object copied once; the result (or the
    refusal to descend into a value) must be what setting them one by one gives, and neither
    the document nor a value set (which a later path may go into) may change."""
    before, values_before = copy.deepcopy(doc), copy.deepcopy(items)
    expected: dict[str, Any] | str = doc
    try:
        for path, value in items:
            expected = set_path(expected, path, value)  # type: ignore[arg-type]
    except TypeError as refused:
        expected = str(refused)
    try:
        found: dict[str, Any] | str = set_paths(doc, items)
    except TypeError as refused:
        found = str(refused)
    assert found == expected
    assert doc == before
    assert items == values_before


def test_set_paths_shares_what_no_path_goes_through() -> None:
    doc = copy.deepcopy(DOC)
    found = set_paths(doc, [("security.secrets.jwt_secret", "s2"), ("security.mfa", True)])
    assert found["branding"] is doc["branding"]
    assert (
        found["security"]["secrets"]["cookie_secrets"]
        is doc["security"]["secrets"]["cookie_secrets"]
    )
    assert found["security"]["secrets"]["jwt_secret"] == "s2"
    assert doc["security"]["secrets"]["jwt_secret"] == "s1"
