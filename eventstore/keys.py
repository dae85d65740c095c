"""The key hierarchy: data keys, wrapped by ENCRYPTION_KEY (D26 in docs/decisions.md).

Nothing a store keeps is keyed by ENCRYPTION_KEY itself. Three *data keys* do the work — one
encrypts secret fields, one keys the hash chain, one signs the console's cookies — and the store
keeps them in its meta, each sealed (AES-256-GCM) under a wrapping key derived from
ENCRYPTION_KEY. Rotating ENCRYPTION_KEY then means sealing the same data keys again under the
new key: one small record is rewritten, no event is, and the old key opens nothing afterwards.

The record, canonical JSON in ASCII (keys sorted, no spaces)::

    {"cookies": "<sealed>", "field": [{"id": "<envelope key id>", "key": "<sealed>"}, ...],
     "format": "parako-config/data-keys", "hash_chain": "<sealed>", "origin": "random",
     "version": 1, "wrapped_by": "<id of the wrapping ENCRYPTION_KEY>"}

``<sealed>`` is unpadded base64url of a 12-byte nonce and the ciphertext with its tag. The
associated data of every sealed key names the record version, the wrapping key's id, the origin,
the key's purpose, its place among the field keys and its envelope id, so no part of the record
can be edited, swapped or reordered without a key failing to open. Only the canonical spelling
of a record is accepted, so every byte of it matters.

``origin`` says where the keys came from: ``random`` for a store created with data keys, or
``derived`` for a store of the previous format upgraded in place, whose field and chain keys are
the ones its ENCRYPTION_KEY derived (the keys its envelopes and links were made with). Such keys
stay derivable from that original key whatever the rotations; only a new store's are not.

Pure logic, no I/O: reading and writing the record is the adapters' part.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Sequence
from typing import Any, Final, NoReturn

import attrs
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from eventstore.crypto import (
    KEY_BYTES,
    NONCE_BYTES,
    PURPOSE_FIELD_ENCRYPTION,
    PURPOSE_HASH_CHAIN,
    TAG_BYTES,
    FieldKeys,
    Keyring,
    derive_key,
    key_id,
)
from eventstore.errors import ConfigError

RECORD_FORMAT: Final = "parako-config/data-keys"
RECORD_VERSION: Final = 1
PURPOSE_KEY_WRAPPING: Final = "key-wrapping"
PURPOSE_FIELDS: Final = PURPOSE_FIELD_ENCRYPTION
PURPOSE_CHAIN: Final = PURPOSE_HASH_CHAIN
PURPOSE_COOKIES: Final = "admin-cookies"
ORIGIN_RANDOM: Final = "random"
ORIGIN_DERIVED: Final = "derived"
#: a bound, so a damaged record cannot make a reader unwrap without end
MAX_FIELD_KEYS: Final = 64

_ORIGINS: Final = frozenset({ORIGIN_RANDOM, ORIGIN_DERIVED})
_RECORD_KEYS: Final = frozenset(
    {"cookies", "field", "format", "hash_chain", "origin", "version", "wrapped_by"}
)
_FIELD_ENTRY_KEYS: Final = frozenset({"id", "key"})
_KEY_ID: Final = re.compile(r"[0-9a-f]{8}")
_SEALED_BYTES: Final = NONCE_BYTES + KEY_BYTES + TAG_BYTES
_AAD_PREFIX: Final = "parako-config/data-key"
_DATA_KEY_ID_MESSAGE: Final = b"parako-config/data-key-id"


class KeyRecordError(ConfigError):
    """A data-keys record that does not open with the key presented; never names key material."""


class WrongWrappingKeyError(KeyRecordError):
    """The record is wrapped by another ENCRYPTION_KEY than the one presented."""

    def __init__(self, expected: str, presented: str) -> None:
        self.expected = expected
        self.presented = presented
        super().__init__(f"the data keys are wrapped by key {expected}, not by key {presented}")


class DamagedKeyRecordError(KeyRecordError):
    """The record is not one this release wrote, or was altered after it was written."""


def _check_key(_instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, bytes) or len(value) != KEY_BYTES:
        raise ValueError(f"DataKeys.{attribute.name} must be {KEY_BYTES} bytes")


def _check_origin(_instance: object, _attribute: attrs.Attribute[Any], value: Any) -> None:
    if value not in _ORIGINS:
        raise ValueError(f"a data-key origin is one of {sorted(_ORIGINS)}")


@attrs.frozen(repr=False, eq=False)
class DataKeys:
    """A store's data keys, in clear: only ever in memory, never in an error, a repr or a pickle."""

    field: FieldKeys
    chain: bytes = attrs.field(validator=_check_key)
    cookies: bytes = attrs.field(validator=_check_key)
    origin: str = attrs.field(default=ORIGIN_RANDOM, validator=_check_origin)

    def same_as(self, other: DataKeys) -> bool:
        """Whether ``other`` holds the same keys (constant-time comparisons)."""
        return (
            self.field.ids == other.field.ids
            and all(
                hmac.compare_digest(mine, theirs)
                for (_, mine), (_, theirs) in zip(
                    self.field.items(), other.field.items(), strict=True
                )
            )
            and hmac.compare_digest(self.chain, other.chain)
            and hmac.compare_digest(self.cookies, other.cookies)
            and self.origin == other.origin
        )

    def __repr__(self) -> str:
        return f"DataKeys(field_ids={self.field.ids!r}, origin={self.origin!r})"

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("DataKeys holds secret keys and is not picklable")


def data_key_id(key: bytes) -> str:
    """The envelope id of a random field key: an 8-hex fingerprint that reveals nothing of it."""
    return hmac.new(key, _DATA_KEY_ID_MESSAGE, hashlib.sha256).hexdigest()[:8]


def generate_data_keys() -> DataKeys:
    """Fresh random data keys, for a new store."""
    field = secrets.token_bytes(KEY_BYTES)
    return DataKeys(
        field=FieldKeys(((data_key_id(field), field),)),
        chain=secrets.token_bytes(KEY_BYTES),
        cookies=secrets.token_bytes(KEY_BYTES),
        origin=ORIGIN_RANDOM,
    )


def derived_data_keys(keyring: Keyring, creator: bytes) -> DataKeys:
    """The data keys of a store of the previous format: exactly the keys it used.

    Its envelopes were made with field keys derived from the configured masters (current and
    retired, named by the masters' ids) and its chain is keyed by a key derived from the master
    it was created with (``creator``), so both keep opening and verifying. Cookies were never
    stored: a fresh random key signs them from now on (console users sign in once more).
    """
    return DataKeys(
        field=keyring.field_keys(),
        chain=derive_key(creator, PURPOSE_HASH_CHAIN),
        cookies=secrets.token_bytes(KEY_BYTES),
        origin=ORIGIN_DERIVED,
    )


# --- the record ----------------------------------------------------------------------------


@attrs.frozen(repr=False)
class WrappedKeys:
    """A parsed record, its keys still sealed."""

    wrapped_by: str
    origin: str
    field: tuple[tuple[str, bytes], ...]
    chain: bytes
    cookies: bytes
    version: int = RECORD_VERSION

    def to_bytes(self) -> bytes:
        fields = {
            "cookies": _b64url(self.cookies),
            "field": [{"id": kid, "key": _b64url(sealed)} for kid, sealed in self.field],
            "format": RECORD_FORMAT,
            "hash_chain": _b64url(self.chain),
            "origin": self.origin,
            "version": self.version,
            "wrapped_by": self.wrapped_by,
        }
        return json.dumps(fields, sort_keys=True, separators=(",", ":")).encode("ascii")

    @classmethod
    def parse(cls, record: bytes) -> WrappedKeys:
        """Read a record; anything but the canonical spelling of a well-formed record is
        :class:`DamagedKeyRecordError` (or :class:`KeyRecordError` for a newer version)."""
        if not isinstance(record, bytes):
            _damaged("it is not bytes")
        try:
            fields = json.loads(
                record.decode("ascii"),
                object_pairs_hook=_no_duplicates,
                parse_float=_no_float,
                parse_constant=_no_float,
            )
        except UnicodeDecodeError:
            _damaged("it is not ASCII text")
        except (ValueError, RecursionError):
            _damaged("it is not JSON")
        if not isinstance(fields, dict):
            _damaged("it is not a JSON object")
        if fields.get("format") != RECORD_FORMAT:
            _damaged(f"it does not say format {RECORD_FORMAT!r}")
        version = fields.get("version")
        if type(version) is int and version > RECORD_VERSION:
            raise KeyRecordError(
                f"the data keys were written by a newer parako-config (record version {version}; "
                f"this one reads version {RECORD_VERSION})"
            )
        if version != RECORD_VERSION:
            _damaged(f"its version must be {RECORD_VERSION}")
        if fields.keys() != _RECORD_KEYS:
            _damaged("its fields are not the record's fields")
        wrapped_by = _key_id_of(fields["wrapped_by"], "wrapped_by")
        origin = fields["origin"]
        if origin not in _ORIGINS:
            _damaged("its origin is unknown")
        entries = fields["field"]
        if not isinstance(entries, list) or not 1 <= len(entries) <= MAX_FIELD_KEYS:
            _damaged(f"it must hold 1 to {MAX_FIELD_KEYS} field keys")
        field: list[tuple[str, bytes]] = []
        for entry in entries:
            if not isinstance(entry, dict) or entry.keys() != _FIELD_ENTRY_KEYS:
                _damaged("a field key entry is not {id, key}")
            field.append((_key_id_of(entry["id"], "a field key id"), _sealed(entry["key"])))
        if len({kid for kid, _ in field}) != len(field):
            _damaged("two field keys share an id")
        parsed = cls(
            wrapped_by=wrapped_by,
            origin=origin,
            field=tuple(field),
            chain=_sealed(fields["hash_chain"]),
            cookies=_sealed(fields["cookies"]),
        )
        if parsed.to_bytes() != record:
            _damaged("it is not in its canonical form")
        return parsed


def wrap_data_keys(keys: DataKeys, master: bytes) -> bytes:
    """The record holding ``keys``, each sealed under the wrapping key ``master`` derives."""
    wrapped_by = key_id(master)
    aead = _wrapping_aead(master)
    count = len(keys.field.keys)
    field = tuple(
        (kid, _seal(aead, key, _aad(wrapped_by, keys.origin, PURPOSE_FIELDS, index, count, kid)))
        for index, (kid, key) in enumerate(keys.field.items())
    )
    return WrappedKeys(
        wrapped_by=wrapped_by,
        origin=keys.origin,
        field=field,
        chain=_seal(aead, keys.chain, _aad(wrapped_by, keys.origin, PURPOSE_CHAIN)),
        cookies=_seal(aead, keys.cookies, _aad(wrapped_by, keys.origin, PURPOSE_COOKIES)),
    ).to_bytes()


def unwrap_data_keys(record: bytes, master: bytes) -> DataKeys:
    """Open ``record`` with ``master``: the data keys, or :class:`KeyRecordError`.

    A record wrapped by another key is :class:`WrongWrappingKeyError` naming both key ids; one
    that names another key but opens with ``master`` had its id altered, and one that names
    ``master`` but does not open was altered elsewhere: both :class:`DamagedKeyRecordError`.
    """
    wrapped = WrappedKeys.parse(record)
    presented = key_id(master)
    aead = _wrapping_aead(master)
    if wrapped.wrapped_by != presented:
        if _opens(aead, wrapped, presented):
            _damaged(f"it names key {wrapped.wrapped_by}, but key {presented} wrapped it")
        raise WrongWrappingKeyError(wrapped.wrapped_by, presented)
    return _unwrap(aead, wrapped)


def rewrap_data_keys(record: bytes, current: bytes, new: bytes) -> bytes:
    """The same data keys, wrapped by ``new`` instead of ``current``."""
    return wrap_data_keys(unwrap_data_keys(record, current), new)


def record_key_id(record: bytes) -> str:
    """The id of the key that wrapped ``record`` (as the record says; opening it proves it)."""
    return WrappedKeys.parse(record).wrapped_by


# --- sealing -------------------------------------------------------------------------------


def _wrapping_aead(master: bytes) -> AESGCM:
    return AESGCM(derive_key(master, PURPOSE_KEY_WRAPPING))


def _aad(
    wrapped_by: str, origin: str, purpose: str, index: int = 0, count: int = 1, kid: str = ""
) -> bytes:
    """Binds a sealed key to everything the record says about it."""
    parts = (_AAD_PREFIX, str(RECORD_VERSION), wrapped_by, origin, purpose, f"{index}/{count}", kid)
    return "\x1f".join(parts).encode("ascii")


def _seal(aead: AESGCM, key: bytes, associated: bytes) -> bytes:
    nonce = secrets.token_bytes(NONCE_BYTES)
    return nonce + aead.encrypt(nonce, key, associated)


def _open(aead: AESGCM, sealed: bytes, associated: bytes) -> bytes:
    return aead.decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], associated)


def _unwrap(aead: AESGCM, wrapped: WrappedKeys) -> DataKeys:
    by, origin, count = wrapped.wrapped_by, wrapped.origin, len(wrapped.field)
    purpose = PURPOSE_CHAIN
    try:
        chain = _open(aead, wrapped.chain, _aad(by, origin, PURPOSE_CHAIN))
        purpose = PURPOSE_COOKIES
        cookies = _open(aead, wrapped.cookies, _aad(by, origin, PURPOSE_COOKIES))
        purpose = PURPOSE_FIELDS
        field = tuple(
            (kid, _open(aead, sealed, _aad(by, origin, PURPOSE_FIELDS, index, count, kid)))
            for index, (kid, sealed) in enumerate(wrapped.field)
        )
    except InvalidTag:
        _damaged(f"its {purpose} key does not open under the key it names")
    return DataKeys(field=FieldKeys(field), chain=chain, cookies=cookies, origin=origin)


def _opens(aead: AESGCM, wrapped: WrappedKeys, wrapped_by: str) -> bool:
    try:
        _open(aead, wrapped.chain, _aad(wrapped_by, wrapped.origin, PURPOSE_CHAIN))
    except InvalidTag:
        return False
    return True


# --- parsing helpers -----------------------------------------------------------------------


def _damaged(reason: str) -> NoReturn:
    raise DamagedKeyRecordError(f"the data-keys record is damaged or was altered: {reason}")


def _key_id_of(value: object, what: str) -> str:
    if not isinstance(value, str) or not _KEY_ID.fullmatch(value):
        _damaged(f"{what} is not 8 lowercase hexadecimal characters")
    return value


def _sealed(value: object) -> bytes:
    data = _unb64url(value) if isinstance(value, str) else None
    if data is None or len(data) != _SEALED_BYTES:
        _damaged("a sealed key is not the right base64url text")
    return data


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64url(text: str) -> bytes | None:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None


def _no_duplicates(pairs: Sequence[tuple[str, Any]]) -> dict[str, Any]:
    fields = dict(pairs)
    if len(fields) != len(pairs):
        raise ValueError("a field appears twice")
    return fields


def _no_float(literal: str) -> NoReturn:
    raise ValueError(f"{literal} is not an integer")
