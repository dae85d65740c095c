"""The composition root: from a project directory and the environment to a running service.

Everything that decides *which* implementation runs is here and only here: the sources and
logging, the key check and the chain key, the event log named by ``STORAGE_ADAPTER``, the hint
transports, the one :class:`Announcer` every write path shares, and the tenant service when
multi-tenancy is on. The service facade (:mod:`adapters.service`) receives them ready-made.

    async with await open_service(Path.cwd(), os.environ) as service:
        service.config.branding.company_name
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Final

from adapters.log_setup import LoggingSettings, configure_logging
from adapters.propagation.announcer import Announcer
from adapters.propagation.transports import transports_for
from adapters.service import ConfigService
from adapters.sources.layers import Sources, read_sources
from adapters.storage.opening import open_log
from adapters.tenant_service import TenantService
from eventstore.commands import ConfigCommands
from eventstore.crypto import PURPOSE_HASH_CHAIN, FieldCipher, Keyring, derive_key
from eventstore.errors import ConfigError
from eventstore.hashchain import HashChain
from eventstore.integrity import VerifiedLog
from eventstore.log import EventLog
from eventstore.resolve import resolve

KEY_ID_META: Final = "encryption-key-id"


async def open_service(
    root: Path, environ: Mapping[str, str], *, configure_logs: bool = False
) -> ConfigService:
    """Read the bootstrap, then the file (file mode) or open the event store (D9, D12)."""
    sources = read_sources(root, environ)
    if configure_logs:
        configure_logging(logging_settings(sources))
    if sources.file_mode:
        return ConfigService(sources, file_config=resolve(sources.file_document, sources.bootstrap))
    keyring = Keyring.from_values(
        sources.bootstrap.environ.get("ENCRYPTION_KEY"),
        sources.bootstrap.environ.get("ENCRYPTION_KEY_RETIRED"),
    )
    raw, chain = await _open_checked_log(sources, keyring)
    log = VerifiedLog(raw, chain)
    try:
        return await _database_service(sources, log, chain, FieldCipher(keyring))
    except BaseException:
        await log.close()
        raise


async def open_verifier(root: Path, environ: Mapping[str, str]) -> tuple[EventLog, HashChain]:
    """The adapter's log and the chain key, without the service: ``verify`` must be able to
    report on a log that a service would refuse to open. Nothing is written."""
    sources = read_sources(root, environ)
    if sources.file_mode:
        raise ConfigError(
            "verify checks the event store; this deployment reads runtime/parako.jsonc "
            "(set USE_FILE_CONFIG=false to use the event store)"
        )
    keyring = Keyring.from_values(
        sources.bootstrap.environ.get("ENCRYPTION_KEY"),
        sources.bootstrap.environ.get("ENCRYPTION_KEY_RETIRED"),
    )
    return await _open_checked_log(sources, keyring)


async def _open_checked_log(sources: Sources, keyring: Keyring) -> tuple[EventLog, HashChain]:
    """The log, once the configured keys are known to open it (else nothing is written)."""
    chain = chain_for(keyring.current)
    log = await open_log(sources, chain)
    try:
        store_key = await check_key(log, keyring)
    except BaseException:
        await log.close()
        raise
    if store_key != keyring.current:
        # rotated: the chain stays keyed by the key the store was created with
        await log.close()
        chain = chain_for(store_key)
        log = await open_log(sources, chain)
    return log, chain


async def _database_service(
    sources: Sources, log: VerifiedLog, chain: HashChain, cipher: FieldCipher
) -> ConfigService:
    """Commands, first start, the runtime view, hints and tenants over an opened log."""
    commands = ConfigCommands(log, cipher, sources.bootstrap)
    await log.check_head()  # before anything is written: a truncated log is not built on
    await commands.initialize()
    announcer = Announcer(log)
    service = ConfigService(sources, log, commands, chain, announcer)
    await service.check_integrity()
    config = service.config
    announcer.transports = transports_for(
        sources, announcer.origin_id, config.deployment.redis_prefix
    )
    multi_tenancy = config.features.multi_tenancy
    service.started()
    if multi_tenancy.enabled:
        service.tenants = TenantService(
            log,
            cipher,
            commands,
            sources.bootstrap,
            service.view,
            multi_tenancy.provider_pool.max_size,
            announcer,
        )
    return service


def logging_settings(sources: Sources) -> LoggingSettings:
    """Where and how this process logs, from the bootstrap's logging variables."""
    variables = sources.bootstrap.process.logging
    return LoggingSettings(
        enabled=variables.enabled,
        level=variables.level,
        pretty=variables.pretty_print,
        file_enabled=variables.file_logging_enabled,
        directory=sources.root / variables.file_logging_directory,
        environment=sources.bootstrap.environment,
    )


def chain_for(master: bytes) -> HashChain:
    """The hash chain key is derived from the key the store was *created* with, not the current
    one: links already written cannot be re-signed, so rotating ENCRYPTION_KEY must not change
    it. (Retiring that key for good therefore needs a re-anchored log; see the README.)"""
    return HashChain(derive_key(master, PURPOSE_HASH_CHAIN))


async def check_key(log: EventLog, keyring: Keyring) -> bytes:
    """Refuse a store written with another ENCRYPTION_KEY before anything is read or written;
    return the key the store was created with (the current one, or a retired one)."""
    recorded = await log.read_meta(KEY_ID_META)
    if recorded is None:
        if await log.head_position() == 0:
            await log.write_meta(KEY_ID_META, keyring.current_id.encode(), only_if_absent=True)
        # re-read: another process starting at the same time may have written it first
        recorded = await log.read_meta(KEY_ID_META)
        if recorded is None:
            raise ConfigError("the store has events but no key fingerprint; refusing to guess")
    master = keyring.master_for(recorded.decode())
    if master is None:
        raise ConfigError(
            f"ENCRYPTION_KEY does not match this store: it was created with key "
            f"{recorded.decode()}, and the configured keys are {', '.join(keyring.ids)}. Restore "
            "the original ENCRYPTION_KEY (or list it in ENCRYPTION_KEY_RETIRED after a rotation)"
        )
    return master
