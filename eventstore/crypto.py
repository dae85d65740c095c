"""Encryption at rest and masking of sensitive configuration fields (D9–D11 in docs/decisions.md).

Secrets are stored in the event log as self-describing envelopes so that the log can be kept,
copied and backed up without exposing them. The envelope names the key it was made with, so
old envelopes keep opening when the key that encrypts changes. Since D26 the field key is a
store's data key (:mod:`eventstore.keys`), not derived from ENCRYPTION_KEY; the keyring of
masters (current and retired) is what a store of the previous format encrypted with.
Each envelope is bound to the scope (platform, or one tenant) and the field path it was written
for, so a ciphertext pasted into another field or another tenant does not decrypt.

Nothing here ever puts a key or a plaintext into an error message or a repr.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
import string
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Final, TypeAlias

import attrs
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from eventstore.docpath import get_path, set_path, split_path
from eventstore.errors import ConfigError
from eventstore.secret import is_unset

FieldValue: TypeAlias = str | list[str]
"""What a sensitive field holds in plaintext: a string, or a list of strings (cookie secrets)."""

KEY_BYTES: Final = 32
NONCE_BYTES: Final = 12
TAG_BYTES: Final = 16

CURRENT_KEY_VAR: Final = "ENCRYPTION_KEY"
RETIRED_KEYS_VAR: Final = "ENCRYPTION_KEY_RETIRED"

PURPOSE_FIELD_ENCRYPTION: Final = "field-encryption"
PURPOSE_HASH_CHAIN: Final = "hash-chain"
PURPOSE_KEY_ID: Final = "key-id"

ENVELOPE_PREFIX: Final = "enc:v1:"
_AAD_PREFIX: Final = b"parako-config/v1\x1f"
_AAD_SEPARATOR: Final = "\x1f"
_HKDF_SALT: Final = b"parako-config/hkdf/v1"

_B64_32_BYTES = re.compile(r"[A-Za-z0-9+/]{43}=")
_ENVELOPE = re.compile(
    r"enc:v1:(?P<kid>[0-9a-f]{8}):(?P<nonce>[A-Za-z0-9_-]{16}):(?P<ct>[A-Za-z0-9_-]{22,})"
)


class EncryptionKeyError(ConfigError):
    """ENCRYPTION_KEY (or a retired key) is missing or not written in an accepted form."""


class DecryptionError(ConfigError):
    """A stored secret cannot be decrypted; names the field, never the value."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"cannot decrypt {path}: {reason}")


# --- keys -----------------------------------------------------------------------------------


def _key_form_error(name: str, detail: str) -> EncryptionKeyError:
    return EncryptionKeyError(
        f"{name} must be {KEY_BYTES} bytes written as 64 hexadecimal characters or 44 base64 "
        f"characters ({detail})"
    )


def parse_encryption_key(raw: str | None, *, name: str = CURRENT_KEY_VAR) -> bytes:
    """Decode a key written as 64 hex or 44 standard base64 characters; nothing else.

    There is no trimming and no lenient decoding: a key that is almost right (a stray newline, a
    URL-safe alphabet, a truncated copy) would otherwise decode to a *different* key and make
    every stored secret unreadable with a misleading "wrong key" error. ``name`` is the setting
    reported in errors; messages give the length of the input, never the input.
    """
    if not raw:
        raise EncryptionKeyError(f"{name} is not set. Generate one with: openssl rand -hex 32")
    length = len(raw)
    if length == 2 * KEY_BYTES:
        if all(char in string.hexdigits for char in raw):
            return bytes.fromhex(raw)
        raise _key_form_error(name, f"got {length} characters, which are not all hexadecimal")
    if length == 44:
        try:
            decoded = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            raise _key_form_error(
                name, f"got {length} characters, which are not valid standard base64"
            ) from None
        if len(decoded) != KEY_BYTES:
            raise _key_form_error(
                name, f"got {length} base64 characters that decode to {len(decoded)} bytes"
            )
        if not _B64_32_BYTES.fullmatch(raw) or base64.b64encode(decoded).decode() != raw:
            raise _key_form_error(name, f"got {length} characters of non-canonical base64")
        return decoded
    raise _key_form_error(name, f"got {length} characters")


def generate_encryption_key() -> str:
    """Return a fresh random key as 64 hex characters, the form ``openssl rand -hex 32`` gives."""
    return secrets.token_hex(KEY_BYTES)


def derive_key(master: bytes, purpose: str) -> bytes:
    """Derive an independent 32-byte subkey for one purpose (HKDF-SHA256).

    One ENCRYPTION_KEY serves several mechanisms; using it directly for more than one would let
    a weakness or a leak in one compromise the others.
    """
    if len(master) != KEY_BYTES:
        raise ValueError(f"a master key must be {KEY_BYTES} bytes, got {len(master)}")
    if not purpose:
        raise ValueError("a key purpose must not be empty")
    hkdf = HKDF(
        algorithm=hashes.SHA256(),
        length=KEY_BYTES,
        salt=_HKDF_SALT,
        info=b"parako-config/" + purpose.encode("utf-8"),
    )
    return hkdf.derive(master)


def key_id(master: bytes) -> str:
    """Name a key by an 8-hex-character fingerprint that reveals nothing usable about it."""
    digest = hmac.new(derive_key(master, PURPOSE_KEY_ID), b"parako-config", hashlib.sha256)
    return digest.hexdigest()[:8]


def _check_master(_instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    keys = value if isinstance(value, tuple) else (value,)
    for key in keys:
        if not isinstance(key, bytes) or len(key) != KEY_BYTES:
            raise ValueError(f"Keyring.{attribute.name} must hold {KEY_BYTES}-byte keys")


@attrs.frozen(repr=False, eq=False)
class Keyring:
    """The current master key, which encrypts, and retired ones, which only decrypt.

    Keeping retired keys lets ENCRYPTION_KEY change without re-encrypting the event log: each
    envelope names its key, and the keyring finds it by that name.
    """

    current: bytes = attrs.field(validator=_check_master)
    retired: tuple[bytes, ...] = attrs.field(default=(), validator=_check_master)
    _by_id: Mapping[str, bytes] = attrs.field(init=False)
    _current_id: str = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        by_id: dict[str, bytes] = {}
        for master in (self.current, *self.retired):
            kid = key_id(master)
            known = by_id.setdefault(kid, master)
            if not hmac.compare_digest(known, master):
                raise EncryptionKeyError(
                    f"two different keys share the key id {kid}; retire one of them"
                )
        object.__setattr__(self, "_by_id", by_id)
        object.__setattr__(self, "_current_id", key_id(self.current))

    @classmethod
    def from_values(cls, current: str | None, retired: str | None = None) -> Keyring:
        """Build the keyring from ENCRYPTION_KEY and the comma-separated ENCRYPTION_KEY_RETIRED."""
        current_key = parse_encryption_key(current, name=CURRENT_KEY_VAR)
        retired_keys: list[bytes] = []
        if retired:
            for number, entry in enumerate(retired.split(","), start=1):
                name = f"{RETIRED_KEYS_VAR} entry {number}"
                if not entry:
                    raise EncryptionKeyError(f"{name} is empty; remove the extra comma")
                retired_keys.append(parse_encryption_key(entry, name=name))
        return cls(current_key, tuple(retired_keys))

    @property
    def current_id(self) -> str:
        """The id new envelopes carry."""
        return self._current_id

    @property
    def ids(self) -> tuple[str, ...]:
        """Every key id the keyring can decrypt, current first."""
        return tuple(self._by_id)

    def master_for(self, kid: str) -> bytes | None:
        """Return the master key named ``kid``, or ``None`` if it is not in the keyring."""
        return self._by_id.get(kid)

    def items(self) -> Iterator[tuple[str, bytes]]:
        """Yield ``(key id, master key)`` pairs, current first."""
        yield from self._by_id.items()

    def field_keys(self) -> FieldKeys:
        """The field-encryption keys derived from these masters, each named by its master's id:
        what a store of the previous format encrypted with (D26)."""
        return FieldKeys(
            tuple(
                (kid, derive_key(master, PURPOSE_FIELD_ENCRYPTION)) for kid, master in self.items()
            )
        )

    def __repr__(self) -> str:
        retired_ids = tuple(kid for kid in self._by_id if kid != self.current_id)
        return f"Keyring(current_id={self.current_id!r}, retired_ids={retired_ids!r})"


_KEY_ID = re.compile(r"[0-9a-f]{8}")


def _check_field_keys(
    _instance: object, _attribute: attrs.Attribute[Any], value: tuple[tuple[str, bytes], ...]
) -> None:
    if not isinstance(value, tuple) or not value:
        raise ValueError("FieldKeys needs at least one key")
    seen: set[str] = set()
    for entry in value:
        if not isinstance(entry, tuple) or len(entry) != 2:
            raise ValueError("FieldKeys holds (key id, key) pairs")
        kid, key = entry
        if not isinstance(kid, str) or not _KEY_ID.fullmatch(kid):
            raise ValueError("a field key id is 8 lowercase hexadecimal characters")
        if not isinstance(key, bytes) or len(key) != KEY_BYTES:
            raise ValueError(f"a field key must be {KEY_BYTES} bytes")
        if kid in seen:
            raise ValueError(f"two field keys share the key id {kid}")
        seen.add(kid)


@attrs.frozen(repr=False, eq=False)
class FieldKeys:
    """Field-encryption keys by the id their envelopes carry, the one that encrypts first.

    A store's own field data keys (D26), or what a :class:`Keyring` derives from its masters.
    """

    keys: tuple[tuple[str, bytes], ...] = attrs.field(validator=_check_field_keys)

    @property
    def current_id(self) -> str:
        """The id new envelopes carry."""
        return self.keys[0][0]

    @property
    def ids(self) -> tuple[str, ...]:
        """Every key id these keys decrypt, current first."""
        return tuple(kid for kid, _ in self.keys)

    def items(self) -> Iterator[tuple[str, bytes]]:
        """Yield ``(key id, field key)`` pairs, current first."""
        yield from self.keys

    def __repr__(self) -> str:
        return f"FieldKeys(ids={self.ids!r})"


# --- envelopes ------------------------------------------------------------------------------


def _b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes | None:
    """Decode unpadded base64url, or ``None`` unless ``text`` is its one canonical spelling.

    Requiring the canonical spelling means every character of an envelope matters, so an
    altered character is always detected, even one that only touches unused padding bits.
    """
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None
    return data if _b64url_encode(data) == text else None


def _associated_data(scope: str, path: str) -> bytes:
    """Bind a ciphertext to where it belongs, so moving it elsewhere breaks authentication."""
    if not scope:
        raise ValueError("an encryption scope must not be empty")
    if _AAD_SEPARATOR in scope:
        raise ValueError("an encryption scope must not contain the unit separator")
    split_path(path)
    return _AAD_PREFIX + scope.encode("utf-8") + b"\x1f" + path.encode("utf-8")


def is_envelope(value: object) -> bool:
    """Tell stored ciphertext from plaintext by the full envelope grammar, not just a prefix.

    A prefix test would leave a user's secret that happens to start with ``enc:`` unencrypted.
    """
    return isinstance(value, str) and _ENVELOPE.fullmatch(value) is not None


def _is_field_value(value: object) -> bool:
    return isinstance(value, str) or (
        isinstance(value, list) and all(isinstance(item, str) for item in value)
    )


@attrs.frozen
class FieldCipher:
    """Encrypts sensitive field values into envelopes ``enc:v1:<key id>:<nonce>:<ciphertext>``.

    The plaintext is the JSON encoding of the value, so a list of secrets is one envelope and
    comes back as a list. Built from a store's field data keys (D26), or from a keyring, whose
    masters' derived keys are the field keys of a store of the previous format.
    """

    keyring: Keyring | FieldKeys
    _aeads: Mapping[str, AESGCM] = attrs.field(init=False, repr=False, eq=False)
    _unknown_key_hint: str = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        keyring = self.keyring
        keys = keyring.field_keys() if isinstance(keyring, Keyring) else keyring
        object.__setattr__(self, "_aeads", {kid: AESGCM(key) for kid, key in keys.items()})
        hint = (
            f"which is not in the keyring (set {CURRENT_KEY_VAR} or {RETIRED_KEYS_VAR})"
            if isinstance(keyring, Keyring)
            else "which is not one of this store's field keys"
        )
        object.__setattr__(self, "_unknown_key_hint", hint)

    @staticmethod
    def is_envelope(value: object) -> bool:
        """Tell stored ciphertext from plaintext, so nothing is encrypted or decrypted twice."""
        return is_envelope(value)

    def encrypt(self, value: FieldValue, *, scope: str, path: str) -> str:
        """Encrypt ``value`` with the current key for the field ``path`` of ``scope``."""
        if not _is_field_value(value):
            raise TypeError(
                f"cannot encrypt {path}: expected a string or a list of strings, "
                f"got {type(value).__name__}"
            )
        associated = _associated_data(scope, path)
        kid = self.keyring.current_id
        nonce = secrets.token_bytes(NONCE_BYTES)
        plaintext = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        sealed = self._aeads[kid].encrypt(nonce, plaintext, associated)
        return f"{ENVELOPE_PREFIX}{kid}:{_b64url_encode(nonce)}:{_b64url_encode(sealed)}"

    def decrypt(self, envelope: str, *, scope: str, path: str) -> FieldValue:
        """Return the value sealed in ``envelope`` for the field ``path`` of ``scope``."""
        associated = _associated_data(scope, path)
        match = _ENVELOPE.fullmatch(envelope) if isinstance(envelope, str) else None
        if match is None:
            raise DecryptionError(path, "the stored value is not a valid enc:v1 envelope")
        nonce = _b64url_decode(match["nonce"])
        sealed = _b64url_decode(match["ct"])
        if nonce is None or sealed is None or len(sealed) < TAG_BYTES:
            raise DecryptionError(path, "the stored value is not a valid enc:v1 envelope")
        kid = match["kid"]
        aead = self._aeads.get(kid)
        if aead is None:
            raise DecryptionError(
                path, f"it was encrypted with key {kid}, {self._unknown_key_hint}"
            )
        try:
            plaintext = aead.decrypt(nonce, sealed, associated)
        except InvalidTag:
            raise DecryptionError(
                path,
                f"wrong {CURRENT_KEY_VAR}, or the value was altered or moved from another field",
            ) from None
        try:
            value = json.loads(plaintext.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            value = None
        if not _is_field_value(value):
            raise DecryptionError(path, "the decrypted value is not a string or list of strings")
        result: FieldValue = value
        return result


# --- whole documents ------------------------------------------------------------------------


def encrypt_fields(
    doc: Mapping[str, Any], paths: Iterable[str], cipher: FieldCipher, scope: str
) -> dict[str, Any]:
    """Return ``doc`` with every listed, non-empty, not yet encrypted field sealed.

    Empty values stay as they are so that "unset" remains visible without a key; envelopes stay
    as they are so that re-saving a stored document does not encrypt twice.
    """
    result = dict(doc)
    for path in paths:
        value = get_path(result, path, None)
        if is_unset(value) or cipher.is_envelope(value):
            continue
        result = set_path(result, path, cipher.encrypt(value, scope=scope, path=path))
    return result


def encrypt_changed(
    plain: Mapping[str, Any],
    stored: Mapping[str, Any],
    stored_plain: Mapping[str, Any],
    paths: Iterable[str],
    cipher: FieldCipher,
    scope: str,
) -> dict[str, Any]:
    """Seal the listed fields of ``plain``, reusing the stored envelope where nothing changed.

    Envelopes use random nonces, so re-encrypting an unchanged secret would look like a change
    in every save. ``stored`` is the current stored document (envelopes), ``stored_plain`` the
    same decrypted.
    """
    result = dict(plain)
    for path in paths:
        value = get_path(result, path, None)
        if is_unset(value):
            continue
        if value == get_path(stored_plain, path, None):
            result = set_path(result, path, get_path(stored, path, None))
        else:
            result = set_path(result, path, cipher.encrypt(value, scope=scope, path=path))
    return result


def decrypt_fields(
    doc: Mapping[str, Any], paths: Iterable[str], cipher: FieldCipher, scope: str
) -> dict[str, Any]:
    """Return ``doc`` with every listed envelope opened; other values are left as they are."""
    result = dict(doc)
    for path in paths:
        value = get_path(result, path, None)
        if cipher.is_envelope(value):
            result = set_path(result, path, cipher.decrypt(value, scope=scope, path=path))
    return result
