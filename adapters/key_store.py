"""A store's data keys in its log's meta: found, created, upgraded, refused and rotated here
(D26 in docs/decisions.md; the record itself is :mod:`eventstore.keys`).

Opening a store reads the record ``data-keys`` and unwraps it with ENCRYPTION_KEY; that unwrap
is the key check, so a store opened with another key is refused before anything is written. A
store without the record is either new (no events, no key fingerprint: it gets random data keys)
or of the previous format (it has the fingerprint ``encryption-key-id`` of the key it was
created with): its data keys are then the ones its keys derive, and are stored, wrapped, on its
first open — nothing in the log is rewritten.

The adapter needs a chain to seal appends before the chain key is known, so it is opened with a
:class:`LateChain` that refuses to seal until the key is bound: nothing can be appended before
the key check has passed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Final

import attrs

from adapters.sources.layers import Sources
from adapters.storage.opening import open_log
from eventstore.crypto import CURRENT_KEY_VAR, RETIRED_KEYS_VAR, Keyring, key_id
from eventstore.errors import ConfigError
from eventstore.hashchain import HashChain
from eventstore.keys import (
    ORIGIN_DERIVED,
    DataKeys,
    KeyRecordError,
    WrongWrappingKeyError,
    derived_data_keys,
    generate_data_keys,
    record_key_id,
    unwrap_data_keys,
    wrap_data_keys,
)
from eventstore.log import EventLog, NewEvent, RecordedEvent

#: the wrapped data keys (D26)
DATA_KEYS_META: Final = "data-keys"
#: the id of the key a store of the previous format was created with; never written any more
KEY_ID_META: Final = "encryption-key-id"
NEW_KEY_VAR: Final = "NEW_ENCRYPTION_KEY"


class LateChain(HashChain):
    """A chain whose key is bound once the store's data keys are open; until then it refuses
    to seal, so an adapter opened with it appends nothing before the key check."""

    __slots__ = ("_inner",)

    def __init__(self) -> None:  # no super().__init__(): the key comes later
        self._inner: HashChain | None = None

    def bind(self, chain: HashChain) -> None:
        self._inner = chain

    def _chain(self) -> HashChain:
        if self._inner is None:
            raise RuntimeError("the chain key is not known before the data keys are opened")
        return self._inner

    def link(self, previous_link: bytes, content: bytes) -> bytes:
        return self._chain().link(previous_link, content)

    def mac(self, domain: bytes, *fields: bytes) -> bytes:
        return self._chain().mac(domain, *fields)

    def link_of(self, previous_link: bytes, event: RecordedEvent) -> bytes:
        return self._chain().link_of(previous_link, event)

    def first_mismatch(
        self, previous_link: bytes, events: Iterable[RecordedEvent]
    ) -> RecordedEvent | None:
        return self._chain().first_mismatch(previous_link, events)

    def seal(
        self,
        previous_link: bytes,
        stream: str,
        first_version: int,
        first_position: int,
        events: Sequence[NewEvent],
        recorded_at: datetime,
    ) -> list[RecordedEvent]:
        return self._chain().seal(
            previous_link, stream, first_version, first_position, events, recorded_at
        )


@attrs.frozen
class KeyedLog:
    """An opened log, the store's data keys and the chain keyed by them."""

    log: EventLog
    keys: DataKeys
    chain: HashChain


@attrs.frozen
class Rotation:
    """What ``rotate-key`` did: the ids of the old and the new wrapping key, and for a store
    that predates data keys the ids of the keys its data keys are derived from."""

    previous_key_id: str
    new_key_id: str
    derived_from: tuple[str, ...] = ()


def keyring_from(environ: Mapping[str, str]) -> Keyring:
    """ENCRYPTION_KEY, and the retired keys a store of the previous format may still need."""
    return Keyring.from_values(environ.get(CURRENT_KEY_VAR), environ.get(RETIRED_KEYS_VAR))


async def open_keyed_log(sources: Sources, keyring: Keyring, *, write: bool = True) -> KeyedLog:
    """The log named by ``STORAGE_ADAPTER`` with its data keys open, or a refusal (nothing
    written). ``write=False`` stores nothing, not even the upgrade (``verify``)."""
    late = LateChain()
    log = await open_log(sources, late)
    try:
        keys = await load_data_keys(log, keyring, write=write)
    except BaseException:
        await log.close()
        raise
    chain = HashChain(keys.chain)
    late.bind(chain)
    return KeyedLog(log, keys, chain)


async def load_data_keys(log: EventLog, keyring: Keyring, *, write: bool = True) -> DataKeys:
    """Open the store's data keys with ENCRYPTION_KEY; store them first if it has none yet."""
    record = await log.read_meta(DATA_KEYS_META)
    if record is None:
        keys = await _keys_of_a_store_without_record(log, keyring)
        if isinstance(keys, bytes):
            record = keys  # another process stored them meanwhile
        elif not write:
            return keys
        else:
            await log.write_meta(
                DATA_KEYS_META, wrap_data_keys(keys, keyring.current), only_if_absent=True
            )
            # re-read: another process starting at the same time may have stored its own
            record = await log.read_meta(DATA_KEYS_META)
            if record is None:
                raise ConfigError("the store did not keep its data keys (meta data-keys)")
    return open_record(record, keyring)


def open_record(record: bytes, keyring: Keyring) -> DataKeys:
    """Unwrap a store's record with ENCRYPTION_KEY alone: a retired key opens no store."""
    try:
        return unwrap_data_keys(record, keyring.current)
    except WrongWrappingKeyError as wrong:
        raise ConfigError(_wrong_key_message(wrong, keyring)) from None
    except KeyRecordError as damaged:
        raise ConfigError(
            f"this store's data keys cannot be opened: {damaged}. Nothing was written; restore "
            "the store from a backup (`parako-config restore-log`)"
        ) from None


async def rotate_data_keys(log: EventLog, keyring: Keyring, new: bytes) -> Rotation:
    """Wrap the store's data keys by ``new`` instead of ENCRYPTION_KEY: one meta write of one
    record, then the record is read back and must open with ``new`` and not with the old key.

    A store of the previous format (no record yet) gets its derived keys stored directly under
    ``new``, still in one write. Nothing else changes: the data keys, hence every envelope,
    link and cookie, stay as they are.
    """
    record = await log.read_meta(DATA_KEYS_META)
    first = False
    if record is None:
        found = await _keys_of_a_store_without_record(log, keyring)
        if isinstance(found, bytes):
            record = found
        else:
            keys, first = found, True
    if record is not None:
        keys = open_record(record, keyring)
    written = wrap_data_keys(keys, new)
    if not await log.write_meta(DATA_KEYS_META, written, only_if_absent=first):
        raise ConfigError(
            "another process stored this store's data keys while rotating; nothing was "
            "changed: run rotate-key again"
        )
    stored = await log.read_meta(DATA_KEYS_META)
    if stored != written:
        raise ConfigError(
            "the store's data keys changed while rotating (another rotate-key at the same "
            f"time?); the store now holds keys wrapped by key {_wrapper_of(stored)}"
        )
    try:
        unwrap_data_keys(stored, keyring.current)
    except WrongWrappingKeyError:
        pass  # as it must be: the old key opens nothing
    else:
        raise ConfigError("the old key still opens the rotated data keys")
    if not unwrap_data_keys(stored, new).same_as(keys):
        raise ConfigError("the rotated record does not hold the store's data keys")
    derived_from = keys.field.ids if keys.origin == ORIGIN_DERIVED else ()
    return Rotation(keyring.current_id, key_id(new), derived_from)


async def _keys_of_a_store_without_record(log: EventLog, keyring: Keyring) -> DataKeys | bytes:
    """New random keys for a new store, the derived keys of a store of the previous format,
    or a record another process stored since the caller looked (as bytes)."""
    recorded = await log.read_meta(KEY_ID_META)
    if recorded is None:
        if await log.head_position() == 0:
            return generate_data_keys()
        stored = await log.read_meta(DATA_KEYS_META)  # a first start may have stored them
        if stored is not None:
            return stored
        raise ConfigError(
            "the store has events but neither data keys nor a key fingerprint; refusing to guess"
        )
    creator_id = recorded.decode("utf-8", errors="replace")
    creator = keyring.master_for(creator_id)
    if creator is None:
        raise ConfigError(
            f"{CURRENT_KEY_VAR} does not match this store: it was created with key {creator_id}, "
            f"and the configured keys are {', '.join(keyring.ids)}. Restore the original "
            f"{CURRENT_KEY_VAR} (or list it in {RETIRED_KEYS_VAR} after a rotation of the "
            "previous release)"
        )
    return derived_data_keys(keyring, creator)


def _wrong_key_message(wrong: WrongWrappingKeyError, keyring: Keyring) -> str:
    message = (
        f"{CURRENT_KEY_VAR} does not match this store: its data keys are wrapped by key "
        f"{wrong.expected}, and {CURRENT_KEY_VAR} is key {wrong.presented}."
    )
    if keyring.master_for(wrong.expected) is not None:
        return (
            f"{message} Key {wrong.expected} is listed in {RETIRED_KEYS_VAR}, which opens no "
            f"store with data keys: set {CURRENT_KEY_VAR} to it again and rotate with "
            f"`parako-config rotate-key` ({NEW_KEY_VAR} holding the new key)"
        )
    return (
        f"{message} Set {CURRENT_KEY_VAR} to the key {wrong.expected} (after `parako-config "
        f"rotate-key`, the key that was given as {NEW_KEY_VAR})"
    )


def _wrapper_of(record: bytes | None) -> str:
    if record is None:
        return "none (the record is gone)"
    try:
        return record_key_id(record)
    except KeyRecordError:
        return "unknown (the record is damaged)"
