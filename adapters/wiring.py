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

import contextlib
from collections.abc import Mapping
from pathlib import Path

from adapters.http.owned_paths import route_conflicts
from adapters.key_store import keyring_from, open_keyed_log
from adapters.log_setup import LoggingSettings, configure_logging
from adapters.propagation.announcer import Announcer
from adapters.propagation.transports import transports_for
from adapters.service import ConfigService
from adapters.sources.dev_secrets import with_kept_secrets
from adapters.sources.layers import Sources, read_sources
from adapters.storage.opening import sqlite_file
from adapters.tenant_service import TenantService
from eventstore.commands import ConfigCommands
from eventstore.crypto import PURPOSE_HASH_CHAIN, FieldCipher, derive_key
from eventstore.errors import ConfigError, ValidationFailed
from eventstore.hashchain import HashChain
from eventstore.integrity import VerifiedLog
from eventstore.log import EventLog
from eventstore.resolve import resolve
from eventstore.schema import unstructure


class NoStore(ConfigError):
    """A command that reads the store was run where there is none (the wrong directory, or a
    deployment that never started): saying so beats showing defaults as if they were stored."""

    def __init__(self, where: str) -> None:
        super().__init__(
            f"no configuration store at {where}; `parako-config check` or `serve` creates it "
            "(or run from the deployment directory, or pass --root)"
        )


async def open_service(
    root: Path,
    environ: Mapping[str, str],
    *,
    configure_logs: bool = False,
    must_exist: bool = False,
) -> ConfigService:
    """Read the bootstrap, then the file (file mode) or open the event store (D9, D12, D26).

    ``must_exist`` refuses (:class:`NoStore`) to create a store that is not there. A first
    start that fails leaves no SQLite files behind.
    """
    sources = read_sources(root, environ)
    if configure_logs:
        configure_logging(logging_settings(sources))
    if sources.file_mode:
        bootstrap = with_kept_secrets(sources.root, sources.bootstrap)
        file_config = resolve(sources.file_document, bootstrap)
        conflicts = route_conflicts(unstructure(file_config))
        if conflicts:
            raise ValidationFailed(conflicts)
        return ConfigService(sources, file_config=file_config)
    new_file = _missing(sqlite_file(sources))
    if must_exist and new_file is not None:
        raise NoStore(str(new_file[0]))
    try:
        keyed = await open_keyed_log(sources, keyring_from(sources.bootstrap.environ))
    except BaseException:
        _remove(new_file)
        raise
    log = VerifiedLog(keyed.log, keyed.chain)
    try:
        if must_exist and not await log.head_position():
            raise NoStore(f"STORAGE_ADAPTER={sources.bootstrap.overrides.get('storage.adapter')}")
        service = await _database_service(
            sources, log, keyed.chain, FieldCipher(keyed.keys.field), keyed.keys.cookies
        )
    except BaseException:
        await log.close()
        _remove(new_file)
        raise
    return service


def _missing(path: Path | None) -> tuple[Path, list[Path]] | None:
    """A SQLite file that does not exist yet, and the directories opening it would create."""
    if path is None or path.exists():
        return None
    created = []
    parent = path.parent
    while not parent.exists():
        created.append(parent)
        parent = parent.parent
    return path, created


def _remove(new_file: tuple[Path, list[Path]] | None) -> None:
    """Undo a first start that failed: the database, its companion files, the directories."""
    if new_file is None:
        return
    path, directories = new_file
    for suffix in ("", "-wal", "-shm", "-journal"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)
    for directory in directories:  # innermost first
        with contextlib.suppress(OSError):
            directory.rmdir()


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
    new_file = _missing(sqlite_file(sources))
    if new_file is not None:
        raise NoStore(str(new_file[0]))
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
