"""``parako-config rotate-key``: wrap the store's data keys by a new ENCRYPTION_KEY (D26 in
docs/decisions.md).

The current key is ``ENCRYPTION_KEY``, the new one ``NEW_ENCRYPTION_KEY`` (from the environment
or the ``runtime/.env*`` files, as every variable). One meta record is rewritten; events,
envelopes, links and console cookies stay as they are, since the data keys do not change.
Afterwards only the new key opens the store, so ``ENCRYPTION_KEY`` must be replaced wherever
the service reads it: the command says so on stderr and never edits a file itself (only the
first ``make run`` writes ``runtime/.env``, and only when it does not exist).

Exit codes as everywhere: 2 for bad input (``NEW_ENCRYPTION_KEY`` missing, malformed or equal to
the current key: nothing is opened), 1 for anything else (the current key does not open the
store, the store cannot be reached). Every error is one line on stderr, without key material.
"""

from __future__ import annotations

import hmac
import json
import os
from collections.abc import Mapping
from pathlib import Path

import click

from adapters.cli.support import HELP, fail, guarded
from adapters.key_store import NEW_KEY_VAR, LateChain, Rotation, keyring_from, rotate_data_keys
from adapters.sources.bootstrap import project_root
from adapters.sources.layers import read_sources
from adapters.storage.opening import open_log
from eventstore.crypto import CURRENT_KEY_VAR, EncryptionKeyError, parse_encryption_key
from eventstore.errors import ConfigError, ValidationFailed


async def rotate(root: Path, environ: Mapping[str, str]) -> Rotation:
    """Rewrap the data keys of the store under ``root`` by NEW_ENCRYPTION_KEY."""
    sources = read_sources(root, environ)
    if sources.file_mode:
        raise ConfigError(
            "rotate-key works on the event store; this deployment reads runtime/parako.jsonc "
            "(set USE_FILE_CONFIG=false to use the event store)"
        )
    variables = sources.bootstrap.environ
    try:
        new = parse_encryption_key(variables.get(NEW_KEY_VAR), name=NEW_KEY_VAR)
    except EncryptionKeyError as error:
        raise ValidationFailed([], f"rotate-key: {error}") from None
    keyring = keyring_from(variables)
    if hmac.compare_digest(new, keyring.current):
        raise ValidationFailed(
            [],
            f"rotate-key: {NEW_KEY_VAR} is the key {CURRENT_KEY_VAR} already holds; generate "
            "a new one with: openssl rand -hex 32",
        )
    # the chain key is never bound: a rotation appends nothing
    log = await open_log(sources, LateChain())
    try:
        return await rotate_data_keys(log, keyring, new)
    finally:
        await log.close()


@click.command(name="rotate-key", context_settings=HELP)
@click.option("--json", "as_json", is_flag=True, help="print a JSON object")
def rotate_key(as_json: bool) -> None:
    """Wrap the store's data keys by NEW_ENCRYPTION_KEY; ENCRYPTION_KEY then opens nothing.

    \b
    Example:
      NEW_ENCRYPTION_KEY=$(openssl rand -hex 32) parako-config rotate-key
    """

    async def run() -> None:
        try:
            rotation = await rotate(project_root(), os.environ)
        except ConfigError:
            raise
        except Exception as error:  # a driver's or the OS's: its class, never its text
            fail(1, f"error: rotate-key failed ({type(error).__name__})")
            return
        if as_json:
            click.echo(
                json.dumps(
                    {
                        "rotated": True,
                        "wrapped_by": rotation.new_key_id,
                        "previous_key_id": rotation.previous_key_id,
                    }
                )
            )
        else:
            click.echo(
                f"rotated: data keys now wrapped by key {rotation.new_key_id}; "
                "the old key opens nothing"
            )
        click.echo(
            f"set {CURRENT_KEY_VAR} to the new key (key {rotation.new_key_id}) in runtime/.env "
            f"and wherever else processes read it, and remove {NEW_KEY_VAR}: key "
            f"{rotation.previous_key_id} no longer opens this store",
            err=True,
        )
        if rotation.derived_from:
            click.echo(
                "note: this store predates data keys: its field and chain keys are derived from "
                f"key {', '.join(rotation.derived_from)}, which still derives them, whatever "
                "the rotations; a rotation protects against a leak of a later key only",
                err=True,
            )

    guarded(run)
