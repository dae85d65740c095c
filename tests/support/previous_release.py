"""Writing a store as the release before data keys did: keys derived from ENCRYPTION_KEY.

That release opened the log with the chain key derived from the key the store was created with,
recorded that key's id in meta (``encryption-key-id``) and encrypted with the keyring (current
and retired keys). Rebuilt here from the same pieces, so a test can hold a store of the previous
format on any backend and watch this release upgrade it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from adapters.key_store import DATA_KEYS_META, KEY_ID_META, LateChain, keyring_from
from adapters.sources.layers import read_sources
from adapters.storage.opening import open_log
from adapters.wiring import chain_for
from eventstore.commands import Author, ConfigCommands
from eventstore.crypto import FieldCipher
from eventstore.integrity import VerifiedLog

AUTHOR = Author("ops", "written by the previous release")


async def write_as_previous_release(
    root: Path, environ: Mapping[str, str], saves: Sequence[Mapping[str, Any]] = ()
) -> list[str]:
    """Open (creating it if need be) the store under ``root`` the way the previous release did
    and save each of ``saves``; returns the versions written. No data keys are stored."""
    sources = read_sources(root, environ)
    keyring = keyring_from(sources.bootstrap.environ)
    late = LateChain()
    raw = await open_log(sources, late)
    try:
        assert await raw.read_meta(DATA_KEYS_META) is None, "the store already has data keys"
        recorded = await raw.read_meta(KEY_ID_META)
        if recorded is None:
            assert await raw.head_position() == 0
            await raw.write_meta(KEY_ID_META, keyring.current_id.encode(), only_if_absent=True)
            creator = keyring.current
        else:
            found = keyring.master_for(recorded.decode())
            assert found is not None, "the previous release would refuse this key"
            creator = found
        chain = chain_for(creator)
        late.bind(chain)
        commands = ConfigCommands(VerifiedLog(raw, chain), FieldCipher(keyring), sources.bootstrap)
        versions = []
        first = await commands.initialize()
        if first is not None:
            versions.append(first.semver)
        for partial in saves:
            versions.append((await commands.save(partial, AUTHOR)).semver)
        return versions
    finally:
        await raw.close()
