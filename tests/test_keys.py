"""Data keys and their wrapped record (``eventstore.keys``, D26 in docs/decisions.md): the round
trip, rewrapping, the record's fields, the keys of a store of the previous format, and that no
key ever shows in a repr, an error or a pickle."""

from __future__ import annotations

import json
import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eventstore.commands import PLATFORM_SCOPE
from eventstore.crypto import (
    PURPOSE_FIELD_ENCRYPTION,
    PURPOSE_HASH_CHAIN,
    FieldCipher,
    FieldKeys,
    Keyring,
    derive_key,
    key_id,
)
from eventstore.keys import (
    ORIGIN_DERIVED,
    RECORD_FORMAT,
    RECORD_VERSION,
    DataKeys,
    KeyRecordError,
    WrongWrappingKeyError,
    data_key_id,
    derived_data_keys,
    generate_data_keys,
    record_key_id,
    rewrap_data_keys,
    unwrap_data_keys,
    wrap_data_keys,
)

MASTER = bytes(range(32))
OTHER = bytes(range(1, 33))
KEY = st.binary(min_size=32, max_size=32)


@st.composite
def data_keys(draw: st.DrawFn) -> DataKeys:
    field = draw(st.lists(KEY, min_size=1, max_size=4, unique_by=data_key_id))
    return DataKeys(
        field=FieldKeys(tuple((data_key_id(key), key) for key in field)),
        chain=draw(KEY),
        cookies=draw(KEY),
        origin=draw(st.sampled_from(["random", "derived"])),
    )


@given(keys=data_keys(), master=KEY)
def test_wrap_then_unwrap_gives_back_the_same_keys(keys: DataKeys, master: bytes) -> None:
    record = wrap_data_keys(keys, master)
    assert unwrap_data_keys(record, master).same_as(keys)
    assert record_key_id(record) == key_id(master)
    for key in (*(k for _, k in keys.field.items()), keys.chain, keys.cookies):
        assert key not in record


@given(keys=data_keys(), current=KEY, new=KEY)
def test_rewrap_keeps_the_keys_and_only_the_new_master_opens_them(
    keys: DataKeys, current: bytes, new: bytes
) -> None:
    if key_id(current) == key_id(new):
        return
    rewrapped = rewrap_data_keys(wrap_data_keys(keys, current), current, new)
    assert unwrap_data_keys(rewrapped, new).same_as(keys)
    with pytest.raises(WrongWrappingKeyError) as caught:
        unwrap_data_keys(rewrapped, current)
    assert (caught.value.expected, caught.value.presented) == (key_id(new), key_id(current))


def test_the_record_names_its_format_version_and_wrapping_key() -> None:
    record = json.loads(wrap_data_keys(generate_data_keys(), MASTER))
    assert record["format"] == RECORD_FORMAT
    assert record["version"] == RECORD_VERSION == 1
    assert record["wrapped_by"] == key_id(MASTER)
    assert record["origin"] == "random"
    assert set(record) == {
        "cookies",
        "field",
        "format",
        "hash_chain",
        "origin",
        "version",
        "wrapped_by",
    }


def test_two_wraps_of_the_same_keys_differ_and_both_open() -> None:
    keys = generate_data_keys()
    first, second = wrap_data_keys(keys, MASTER), wrap_data_keys(keys, MASTER)
    assert first != second  # fresh nonces
    assert unwrap_data_keys(first, MASTER).same_as(unwrap_data_keys(second, MASTER))


def test_generated_keys_are_fresh_and_independent() -> None:
    one, two = generate_data_keys(), generate_data_keys()
    assert not one.same_as(two)
    assert len({one.chain, one.cookies, *(k for _, k in one.field.items())}) == 3


def test_a_record_of_a_newer_release_is_refused_by_name() -> None:
    record = json.loads(wrap_data_keys(generate_data_keys(), MASTER))
    record["version"] = RECORD_VERSION + 1
    newer = json.dumps(record, sort_keys=True, separators=(",", ":")).encode()
    with pytest.raises(KeyRecordError, match="written by a newer parako-config"):
        unwrap_data_keys(newer, MASTER)


def test_a_field_key_entry_moved_to_another_place_does_not_open() -> None:
    """The order says which key encrypts: swapping entries is an edit like any other."""
    keys = DataKeys(
        field=FieldKeys(((data_key_id(MASTER), MASTER), (data_key_id(OTHER), OTHER))),
        chain=MASTER,
        cookies=OTHER,
    )
    record = json.loads(wrap_data_keys(keys, MASTER))
    record["field"].reverse()
    swapped = json.dumps(record, sort_keys=True, separators=(",", ":")).encode()
    with pytest.raises(KeyRecordError, match="damaged or was altered"):
        unwrap_data_keys(swapped, MASTER)


def test_the_keys_of_a_store_of_the_previous_format_are_the_ones_it_derived() -> None:
    keyring = Keyring(OTHER, (MASTER,))  # rotated the previous release's way
    keys = derived_data_keys(keyring, MASTER)
    assert keys.origin == ORIGIN_DERIVED
    assert keys.chain == derive_key(MASTER, PURPOSE_HASH_CHAIN)
    assert dict(keys.field.items()) == {
        key_id(OTHER): derive_key(OTHER, PURPOSE_FIELD_ENCRYPTION),
        key_id(MASTER): derive_key(MASTER, PURPOSE_FIELD_ENCRYPTION),
    }
    # so the envelopes that release made open with the stored keys
    old = FieldCipher(Keyring(MASTER)).encrypt("s3cret", scope=PLATFORM_SCOPE, path="a.b")
    newer = FieldCipher(keyring).encrypt("n3wer", scope=PLATFORM_SCOPE, path="a.b")
    cipher = FieldCipher(unwrap_data_keys(wrap_data_keys(keys, OTHER), OTHER).field)
    assert cipher.decrypt(old, scope=PLATFORM_SCOPE, path="a.b") == "s3cret"
    assert cipher.decrypt(newer, scope=PLATFORM_SCOPE, path="a.b") == "n3wer"
    assert cipher.encrypt("x", scope=PLATFORM_SCOPE, path="a.b").split(":")[2] == key_id(OTHER)


def test_no_key_shows_in_a_repr_and_none_pickles() -> None:
    keys = generate_data_keys()
    text = repr(keys) + repr(keys.field) + repr(FieldCipher(keys.field))
    for key in (keys.chain, keys.cookies, *(k for _, k in keys.field.items())):
        assert key.hex() not in text
        assert repr(key) not in text
    with pytest.raises(TypeError, match="not picklable"):
        pickle.dumps(keys)


def test_field_keys_refuse_malformed_entries() -> None:
    with pytest.raises(ValueError, match="at least one"):
        FieldKeys(())
    with pytest.raises(ValueError, match="8 lowercase hexadecimal"):
        FieldKeys((("XYZ", MASTER),))
    with pytest.raises(ValueError, match="32 bytes"):
        FieldKeys((("0a1b2c3d", b"short"),))
    with pytest.raises(ValueError, match="share the key id"):
        FieldKeys((("0a1b2c3d", MASTER), ("0a1b2c3d", OTHER)))
