from __future__ import annotations

import base64
import copy
import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eventstore.crypto import (
    PURPOSE_FIELD_ENCRYPTION,
    PURPOSE_HASH_CHAIN,
    DecryptionError,
    EncryptionKeyError,
    FieldCipher,
    Keyring,
    decrypt_fields,
    derive_key,
    encrypt_fields,
    generate_encryption_key,
    is_envelope,
    key_id,
    parse_encryption_key,
)
from eventstore.errors import ConfigError
from eventstore.masking import is_masked, mask_fields, mask_value, restore_masked
from eventstore.secret import MASK

KEY_A = bytes(range(32))
KEY_A_HEX = KEY_A.hex()
KEY_A_B64 = base64.b64encode(KEY_A).decode()
KEY_B_HEX = "f0" * 32
KEY_C_HEX = "5a" * 32

JWT = "security.secrets.jwt_secret"
COOKIES = "security.secrets.cookie_secrets"
SMTP = "integrations.email.smtp_password"
ACCEPTED_FORMS = "must be 32 bytes written as 64 hexadecimal characters or 44 base64 characters"
ENVELOPE = re.compile(r"enc:v1:[0-9a-f]{8}:[A-Za-z0-9_-]{16}:[A-Za-z0-9_-]{22,}")


def cipher_for(current: str, retired: str | None = None) -> FieldCipher:
    return FieldCipher(Keyring.from_values(current, retired))


CIPHER_A = cipher_for(KEY_A_HEX)


def replace_part(envelope: str, index: int, new: str) -> str:
    parts = envelope.split(":")
    parts[index] = new
    return ":".join(parts)


# --- parse_encryption_key ---------------------------------------------------------------------


def test_hex_and_base64_spellings_of_one_key_give_the_same_bytes() -> None:
    assert len(KEY_A_B64) == 44
    assert parse_encryption_key(KEY_A_HEX) == KEY_A
    assert parse_encryption_key(KEY_A_B64) == KEY_A
    assert parse_encryption_key(KEY_A_HEX.upper()) == KEY_A


@pytest.mark.parametrize(
    ("raw", "detail"),
    [
        pytest.param("ab" * 31 + "c", "got 63 characters)", id="63-hex"),
        pytest.param("ab" * 32 + "c", "got 65 characters)", id="65-hex"),
        pytest.param(KEY_A_HEX + "\n", "got 65 characters)", id="hex-with-newline"),
        pytest.param("zz" + KEY_A_HEX[2:], "not all hexadecimal", id="64-non-hex"),
        pytest.param(base64.b64encode(b"k" * 31).decode(), "decode to 31 bytes", id="b64-31"),
        pytest.param(base64.b64encode(b"k" * 33).decode(), "decode to 33 bytes", id="b64-33"),
        pytest.param(
            base64.urlsafe_b64encode(b"\xfb" * 32).decode(),
            "not valid standard base64",
            id="b64url",
        ),
        pytest.param(KEY_A_B64[:42] + "B=", "non-canonical base64", id="b64-stray-bits"),
        pytest.param("correct-horse-battery-staple-32c", "got 32 characters)", id="raw-32"),
    ],
)
def test_malformed_keys_are_refused_without_echoing_them(raw: str, detail: str) -> None:
    with pytest.raises(EncryptionKeyError) as caught:
        parse_encryption_key(raw)
    message = str(caught.value)
    assert message.startswith(f"ENCRYPTION_KEY {ACCEPTED_FORMS} (")
    assert detail in message
    assert raw.strip() not in message
    assert isinstance(caught.value, ConfigError)


@pytest.mark.parametrize("raw", [None, ""])
def test_missing_key_says_how_to_generate_one(raw: str | None) -> None:
    with pytest.raises(
        EncryptionKeyError,
        match=r"^ENCRYPTION_KEY is not set\. Generate one with: openssl rand -hex 32$",
    ):
        parse_encryption_key(raw)


def test_generated_keys_are_fresh_64_hex_keys_that_parse() -> None:
    first, second = generate_encryption_key(), generate_encryption_key()
    assert re.fullmatch(r"[0-9a-f]{64}", first)
    assert first != second
    assert len(parse_encryption_key(first)) == 32


# --- derived keys and key ids ------------------------------------------------------------------


def test_derived_keys_are_per_purpose_deterministic_and_not_the_master() -> None:
    field_key = derive_key(KEY_A, PURPOSE_FIELD_ENCRYPTION)
    chain_key = derive_key(KEY_A, PURPOSE_HASH_CHAIN)
    assert len(field_key) == len(chain_key) == 32
    assert field_key != chain_key
    assert KEY_A not in (field_key, chain_key)
    assert derive_key(KEY_A, PURPOSE_FIELD_ENCRYPTION) == field_key
    assert derive_key(parse_encryption_key(KEY_B_HEX), PURPOSE_FIELD_ENCRYPTION) != field_key


def test_derive_key_refuses_a_master_of_the_wrong_length() -> None:
    with pytest.raises(ValueError, match="32 bytes, got 16"):
        derive_key(b"\x00" * 16, PURPOSE_FIELD_ENCRYPTION)


def test_key_id_is_a_stable_8_hex_fingerprint_distinct_per_key() -> None:
    kid = key_id(KEY_A)
    assert re.fullmatch(r"[0-9a-f]{8}", kid)
    assert key_id(KEY_A) == kid
    assert key_id(parse_encryption_key(KEY_B_HEX)) != kid
    assert kid not in KEY_A_HEX


# --- keyring -----------------------------------------------------------------------------------


def test_keyring_reads_current_and_comma_separated_retired_keys() -> None:
    keyring = Keyring.from_values(KEY_B_HEX, f"{KEY_A_B64},{KEY_C_HEX}")
    kid_a, kid_b, kid_c = (
        key_id(parse_encryption_key(k)) for k in (KEY_A_HEX, KEY_B_HEX, KEY_C_HEX)
    )
    assert keyring.current_id == kid_b
    assert keyring.ids == (kid_b, kid_a, kid_c)
    assert keyring.master_for(kid_a) == KEY_A
    assert keyring.master_for("00000000") is None


def test_keyring_repr_shows_ids_not_keys() -> None:
    keyring = Keyring.from_values(KEY_B_HEX, KEY_A_HEX)
    text = repr(keyring) + repr(FieldCipher(keyring))
    assert keyring.current_id in text
    for secret in (KEY_A_HEX, KEY_B_HEX, "f0f0f0", repr(KEY_A)[:20], "\\xf0\\xf0"):
        assert secret not in text


def test_bad_retired_entry_is_named_by_position_without_its_value() -> None:
    with pytest.raises(EncryptionKeyError) as caught:
        Keyring.from_values(KEY_B_HEX, f"{KEY_A_HEX}, {KEY_C_HEX}")
    message = str(caught.value)
    assert message.startswith(f"ENCRYPTION_KEY_RETIRED entry 2 {ACCEPTED_FORMS}")
    assert KEY_C_HEX not in message


def test_empty_retired_entry_is_refused() -> None:
    with pytest.raises(EncryptionKeyError, match="ENCRYPTION_KEY_RETIRED entry 2 is empty"):
        Keyring.from_values(KEY_B_HEX, f"{KEY_A_HEX},")


def test_keyring_without_current_key_is_refused() -> None:
    with pytest.raises(EncryptionKeyError, match="ENCRYPTION_KEY is not set"):
        Keyring.from_values(None, KEY_A_HEX)


# --- envelopes ---------------------------------------------------------------------------------


def test_envelope_has_the_v1_shape_and_does_not_contain_the_plaintext() -> None:
    envelope = CIPHER_A.encrypt("hunter2-jwt-secret", scope="platform", path=JWT)
    assert ENVELOPE.fullmatch(envelope)
    assert envelope.split(":")[2] == key_id(KEY_A)
    assert "hunter2" not in envelope
    assert is_envelope(envelope)
    assert CIPHER_A.is_envelope(envelope)
    assert CIPHER_A.decrypt(envelope, scope="platform", path=JWT) == "hunter2-jwt-secret"


def test_two_encryptions_of_one_value_differ_and_both_decrypt() -> None:
    first = CIPHER_A.encrypt("same", scope="platform", path=JWT)
    second = CIPHER_A.encrypt("same", scope="platform", path=JWT)
    assert first != second
    assert first.split(":")[3] != second.split(":")[3]
    assert CIPHER_A.decrypt(first, scope="platform", path=JWT) == "same"
    assert CIPHER_A.decrypt(second, scope="platform", path=JWT) == "same"


def test_a_list_is_one_envelope_and_comes_back_as_a_list() -> None:
    envelope = CIPHER_A.encrypt(["c1", "c2"], scope="platform", path=COOKIES)
    assert ENVELOPE.fullmatch(envelope)
    assert CIPHER_A.decrypt(envelope, scope="platform", path=COOKIES) == ["c1", "c2"]


def test_ciphertext_moved_to_another_path_fails_naming_the_target() -> None:
    envelope = CIPHER_A.encrypt("p@ss", scope="platform", path=SMTP)
    with pytest.raises(DecryptionError) as caught:
        CIPHER_A.decrypt(envelope, scope="platform", path=JWT)
    assert str(caught.value) == (
        f"cannot decrypt {JWT}: wrong ENCRYPTION_KEY, or the value was altered or moved from "
        "another field"
    )
    assert caught.value.path == JWT


def test_ciphertext_moved_to_another_tenant_fails() -> None:
    envelope = CIPHER_A.encrypt("p@ss", scope="tenant:acme", path=SMTP)
    with pytest.raises(DecryptionError, match="moved from another field"):
        CIPHER_A.decrypt(envelope, scope="tenant:globex", path=SMTP)
    with pytest.raises(DecryptionError, match="moved from another field"):
        CIPHER_A.decrypt(envelope, scope="platform", path=SMTP)


def test_wrong_key_under_the_same_id_fails_authentication() -> None:
    other = cipher_for(KEY_B_HEX)
    envelope = CIPHER_A.encrypt("p@ss", scope="platform", path=JWT)
    forged = replace_part(envelope, 2, other.keyring.current_id)
    with pytest.raises(DecryptionError, match="wrong ENCRYPTION_KEY"):
        other.decrypt(forged, scope="platform", path=JWT)


@pytest.mark.parametrize("part", [3, 4])
def test_changing_one_character_of_nonce_or_ciphertext_fails(part: int) -> None:
    envelope = CIPHER_A.encrypt("p@ss", scope="platform", path=JWT)
    segment = envelope.split(":")[part]
    for index in (0, len(segment) // 2, len(segment) - 1):
        changed = "A" if segment[index] != "A" else "B"
        tampered = replace_part(envelope, part, segment[:index] + changed + segment[index + 1 :])
        with pytest.raises(DecryptionError, match=f"^cannot decrypt {JWT}: "):
            CIPHER_A.decrypt(tampered, scope="platform", path=JWT)


@pytest.mark.parametrize(
    "stored",
    [
        "plain-secret-value",
        "enc:v1:zz",
        "enc:v2:00000000:AAAAAAAAAAAAAAAA:AAAAAAAAAAAAAAAAAAAAAA",
        "enc:v1:00000000:AAAAAAAAAAAAAAAA:AAAA",
    ],
)
def test_malformed_envelope_is_reported_without_its_content(stored: str) -> None:
    with pytest.raises(DecryptionError) as caught:
        CIPHER_A.decrypt(stored, scope="platform", path=JWT)
    assert (
        str(caught.value)
        == f"cannot decrypt {JWT}: the stored value is not a valid enc:v1 envelope"
    )
    assert not is_envelope(stored)


@pytest.mark.parametrize("value", [42, ["ok", 3], {"a": "b"}])
def test_only_strings_and_lists_of_strings_can_be_encrypted(value: Any) -> None:
    with pytest.raises(TypeError, match=f"cannot encrypt {JWT}: expected a string"):
        CIPHER_A.encrypt(value, scope="platform", path=JWT)


@pytest.mark.parametrize(
    ("scope", "path", "message"),
    [
        ("", JWT, "scope must not be empty"),
        ("a\x1fb", JWT, "must not contain the unit separator"),
        ("platform", "a..b", "empty segment"),
    ],
)
def test_scope_and_path_must_be_unambiguous(scope: str, path: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        CIPHER_A.encrypt("x", scope=scope, path=path)


# --- rotation ----------------------------------------------------------------------------------


def test_rotation_keeps_old_envelopes_readable_and_encrypts_with_the_new_key() -> None:
    old = CIPHER_A.encrypt("legacy", scope="platform", path=JWT)
    rotated = cipher_for(KEY_B_HEX, KEY_A_HEX)
    assert rotated.decrypt(old, scope="platform", path=JWT) == "legacy"
    new = rotated.encrypt("fresh", scope="platform", path=JWT)
    assert (
        new.split(":")[2] == rotated.keyring.current_id == key_id(parse_encryption_key(KEY_B_HEX))
    )
    assert new.split(":")[2] != old.split(":")[2]


def test_dropping_the_retired_key_names_the_missing_key_id() -> None:
    old = CIPHER_A.encrypt("legacy", scope="platform", path=JWT)
    with pytest.raises(DecryptionError) as caught:
        cipher_for(KEY_B_HEX).decrypt(old, scope="platform", path=JWT)
    assert str(caught.value) == (
        f"cannot decrypt {JWT}: it was encrypted with key {key_id(KEY_A)}, which is not in the "
        "keyring (set ENCRYPTION_KEY or ENCRYPTION_KEY_RETIRED)"
    )


# --- round-trip properties ---------------------------------------------------------------------

# Every code point except surrogates, which cannot be written as UTF-8. Built from code point
# ranges so that hypothesis does not need its Unicode category table (slow on a fresh clone).
any_text = st.text(
    st.characters(max_codepoint=0xD7FF, categories=None)
    | st.characters(min_codepoint=0xE000, categories=None)
)
paths = st.lists(st.text("abcdefghijklmnopqrstuvwxyz_0123456789", min_size=1), min_size=1).map(
    ".".join
)
scopes = any_text.filter(lambda s: s != "" and "\x1f" not in s)


@given(value=any_text, path=paths, scope=scopes)
def test_any_text_round_trips(value: str, path: str, scope: str) -> None:
    envelope = CIPHER_A.encrypt(value, scope=scope, path=path)
    assert is_envelope(envelope)
    assert CIPHER_A.decrypt(envelope, scope=scope, path=path) == value


@given(value=st.lists(any_text, max_size=5), path=paths, scope=scopes)
def test_any_list_of_text_round_trips(value: list[str], path: str, scope: str) -> None:
    envelope = CIPHER_A.encrypt(value, scope=scope, path=path)
    assert CIPHER_A.decrypt(envelope, scope=scope, path=path) == value


# --- whole documents ---------------------------------------------------------------------------

DOC: dict[str, Any] = {
    "security": {
        "secrets": {
            "jwt_secret": "jwt-plain",
            "cookie_secrets": ["cookie-1", "cookie-2"],
            "hmac_secret": "hmac-plain",
        }
    },
    "integrations": {"email": {"smtp_password": "", "host": "smtp.example"}},
    "oidc": {"secrets": {"pairwise_salt": None}},
    "branding": {"name": "Parako"},
}
SENSITIVE = [
    JWT,
    COOKIES,
    SMTP,
    "oidc.secrets.pairwise_salt",
    "features.social_providers.google.client_secret",
]


def test_encrypt_fields_seals_present_non_empty_fields_only() -> None:
    before = copy.deepcopy(DOC)
    sealed = encrypt_fields(DOC, SENSITIVE, CIPHER_A, "platform")
    secrets_ = sealed["security"]["secrets"]
    assert ENVELOPE.fullmatch(secrets_["jwt_secret"])
    assert ENVELOPE.fullmatch(secrets_["cookie_secrets"])
    assert secrets_["hmac_secret"] == "hmac-plain"
    assert sealed["integrations"]["email"] == {"smtp_password": "", "host": "smtp.example"}
    assert sealed["oidc"]["secrets"]["pairwise_salt"] is None
    assert "features" not in sealed
    assert sealed["branding"] == DOC["branding"]
    assert before == DOC


def test_decrypt_fields_reverses_encrypt_fields() -> None:
    sealed = encrypt_fields(DOC, SENSITIVE, CIPHER_A, "platform")
    assert decrypt_fields(sealed, SENSITIVE, CIPHER_A, "platform") == DOC


def test_encrypt_fields_does_not_encrypt_twice() -> None:
    sealed = encrypt_fields(DOC, SENSITIVE, CIPHER_A, "platform")
    assert encrypt_fields(sealed, SENSITIVE, CIPHER_A, "platform") == sealed


def test_decrypt_fields_uses_the_scope_it_is_given() -> None:
    sealed = encrypt_fields(DOC, SENSITIVE, CIPHER_A, "tenant:acme")
    with pytest.raises(DecryptionError, match=f"cannot decrypt {JWT}"):
        decrypt_fields(sealed, SENSITIVE, CIPHER_A, "tenant:globex")


def test_empty_list_is_left_unencrypted() -> None:
    doc: dict[str, Any] = {"security": {"secrets": {"cookie_secrets": []}}}
    assert encrypt_fields(doc, [COOKIES], CIPHER_A, "platform") == doc


# --- masking -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("secret", MASK),
        (None, None),
        ("", ""),
        ([], []),
        (["a", "", "b"], [MASK, "", MASK]),
        ("enc:v1:whatever", MASK),
    ],
)
def test_mask_value(value: Any, masked: Any) -> None:
    assert mask_value(value) == masked


def test_mask_fields_masks_listed_present_fields_only() -> None:
    masked = mask_fields(DOC, SENSITIVE)
    assert masked["security"]["secrets"] == {
        "jwt_secret": MASK,
        "cookie_secrets": [MASK, MASK],
        "hmac_secret": "hmac-plain",
    }
    assert masked["integrations"]["email"]["smtp_password"] == ""
    assert masked["oidc"]["secrets"]["pairwise_salt"] is None
    assert "features" not in masked
    assert "jwt-plain" not in repr(masked)
    assert DOC["security"]["secrets"]["jwt_secret"] == "jwt-plain"


@pytest.mark.parametrize(
    ("value", "expected"),
    [(MASK, True), ([MASK, MASK], True), ([MASK, "new"], False), ([], False), ("x", False)],
)
def test_is_masked(value: Any, expected: bool) -> None:
    assert is_masked(value) is expected


def test_restore_masked_takes_current_values_for_masked_fields() -> None:
    incoming = mask_fields(DOC, SENSITIVE)
    incoming = {**incoming, "branding": {"name": "Renamed"}}
    restored, paths_ = restore_masked(incoming, DOC, SENSITIVE)
    assert restored == {**DOC, "branding": {"name": "Renamed"}}
    assert paths_ == [JWT, COOKIES]


def test_restore_masked_list_restores_masked_elements_by_position() -> None:
    incoming = {"security": {"secrets": {"cookie_secrets": ["new-cookie", MASK, MASK]}}}
    current = {"security": {"secrets": {"cookie_secrets": ["old-1", "old-2", "old-3"]}}}
    restored, paths_ = restore_masked(incoming, current, [COOKIES])
    assert restored["security"]["secrets"]["cookie_secrets"] == ["new-cookie", "old-2", "old-3"]
    assert paths_ == [COOKIES]


def test_restore_masked_drops_masks_that_have_nothing_to_restore() -> None:
    incoming = {
        "security": {"secrets": {"jwt_secret": MASK, "cookie_secrets": ["keep", MASK, MASK]}}
    }
    current = {"security": {"secrets": {"cookie_secrets": ["old-1", "old-2"]}}}
    restored, paths_ = restore_masked(incoming, current, [JWT, COOKIES])
    assert restored == {"security": {"secrets": {"cookie_secrets": ["keep", "old-2"]}}}
    assert paths_ == [COOKIES]


def test_restore_masked_keeps_a_stored_envelope_for_a_wholly_masked_field() -> None:
    current = encrypt_fields(DOC, SENSITIVE, CIPHER_A, "platform")
    incoming = mask_fields(DOC, SENSITIVE)
    restored, _ = restore_masked(incoming, current, SENSITIVE)
    assert (
        restored["security"]["secrets"]["cookie_secrets"]
        == current["security"]["secrets"]["cookie_secrets"]
    )
    assert decrypt_fields(restored, SENSITIVE, CIPHER_A, "platform") == DOC


def test_restore_masked_refuses_partial_list_against_an_encrypted_current_value() -> None:
    current = encrypt_fields(DOC, [COOKIES], CIPHER_A, "platform")
    incoming = {"security": {"secrets": {"cookie_secrets": ["new", MASK]}}}
    with pytest.raises(ValueError, match=f"cannot restore masked elements of {COOKIES}"):
        restore_masked(incoming, current, [COOKIES])


def test_restore_masked_leaves_unmasked_values_and_inputs_alone() -> None:
    incoming = {"security": {"secrets": {"jwt_secret": "changed"}}}
    before = copy.deepcopy(incoming)
    restored, paths_ = restore_masked(incoming, DOC, SENSITIVE)
    assert restored == incoming
    assert paths_ == []
    assert incoming == before
