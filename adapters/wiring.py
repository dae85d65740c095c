"""The composition root: from a project directory and the environment to a running service.

Everything that decides *which* implementation runs is here and only here: the sources and
logging, the store's data keys (:mod:`adapters.key_store`), the event log named by
``STORAGE_ADAPTER``, the hint transports, the one :class:`Announcer` every write path shares,
and the tenant service when multi-tenancy is on. The service facade (:mod:`adapters.service`)
receives them ready-made.

    async with await open_service(Path.cwd(), os.environ) as service:
        service.config.branding.company_name
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from adapters.http.owned_paths import route_conflicts
from adapters.key_store import keyring_from, open_keyed_log
from adapters.log_setup import LoggingSettings, configure_logging
from adapters.propagation.announcer import Announcer
from adapters.propagation.transports import transports_for
from adapters.service import ConfigService
from adapters.sources.layers import Sources, read_sources
from adapters.tenant_service import TenantService
from eventstore.commands import ConfigCommands
from eventstore.crypto import PURPOSE_HASH_CHAIN, FieldCipher, derive_key
from eventstore.errors import ConfigError, ValidationFailed
from eventstore.hashchain import HashChain
from eventstore.integrity import VerifiedLog
from eventstore.log import EventLog
from eventstore.resolve import resolve
from eventstore.schema import unstructure


async def open_service(
    root: Path, environ: Mapping[str, str], *, configure_logs: bool = False
) -> ConfigService:
    """Read the bootstrap, then the file (file mode) or open the event store (D9, D12, D26)."""
    sources = read_sources(root, environ)
    if configure_logs:
        configure_logging(logging_settings(sources))
    if sources.file_mode:
        file_config = resolve(sources.file_document, sources.bootstrap)
        conflicts = route_conflicts(unstructure(file_config))
        if conflicts:
            raise ValidationFailed(conflicts)
        return ConfigService(sources, file_config=file_config)
    keyed = await open_keyed_log(sources, keyring_from(sources.bootstrap.environ))
    log = VerifiedLog(keyed.log, keyed.chain)
    try:
        service = await _database_service(
            sources, log, keyed.chain, FieldCipher(keyed.keys.field), keyed.keys.cookies
        )
    except BaseException:
        await log.close()
        raise
    return service


async def open_verifier(root: Path, environ: Mapping[str, str]) -> tuple[EventLog, HashChain]:
    """The adapter's log and the chain key, without the service: ``verify`` must be able to
    report on a log that a service would refuse to open. Nothing is written (a store of the
    previous format is checked with its derived keys, not upgraded)."""
    sources = read_sources(root, environ)
    if sources.file_mode:
        raise ConfigError(
            "verify checks the event store; this deployment reads runtime/parako.jsonc "
            "(set USE_FILE_CONFIG=false to use the event store)"
        )
    keyed = await open_keyed_log(sources, keyring_from(sources.bootstrap.environ), write=False)
    return keyed.log, keyed.chain


async def _database_service(
    sources: Sources, log: VerifiedLog, chain: HashChain, cipher: FieldCipher, cookie_key: bytes
) -> ConfigService:
    """Commands, first start, the runtime view, hints and tenants over an opened log."""
    commands = ConfigCommands(log, cipher, sources.bootstrap, checks=(route_conflicts,))
    await log.check_head()  # before anything is written: a truncated log is not built on
    await commands.initialize()
    announcer = Announcer(log)
    service = ConfigService(sources, log, commands, chain, announcer, cookie_key=cookie_key)
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
    """The chain of a store of the previous format, keyed by a key derived from the master it
    was created with; such a store keeps that key as its chain data key when it is upgraded
    (D26), and backups it wrote name that master."""
    return HashChain(derive_key(master, PURPOSE_HASH_CHAIN))
