"""The multi-tenant part of the Python API: tenants, their overrides and effective configs.

    service = await open_service(root, environ)      # MULTI_TENANCY_ENABLED=true
    await service.tenants.create("acme", Author("ops", "onboarding"))
    await service.tenants.save("acme", {"branding": {"companyName": "Acme"}}, author)
    (await service.tenants.effective("acme")).config.branding.company_name

Writes here evict this process's cache at once and publish a hint for the others; every process
also evicts on what its catch-up reads (a tenant stream: that tenant; the registry: the tenants
it names), so a missed hint delays, never loses, a change. A platform change evicts nobody: the
cache re-derives each tenant from the changed paths on its next read.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Unpack

from adapters.propagation.announcer import Announcer
from eventstore.commands import Author, ConfigCommands
from eventstore.crypto import FieldCipher
from eventstore.log import EventLog
from eventstore.masking import mask_fields
from eventstore.resolve import Bootstrap
from eventstore.schema.paths import TENANT_ENCRYPTED_FIELDS
from eventstore.state import StoredConfig
from eventstore.tenant_commands import TenantCommands, TenantSaveResult
from eventstore.tenants import REGISTRY_STREAM, Registry, Tenant, TenantNotFound, tenant_stream
from projections.audit import AuditEntry, AuditFilters, audit_entries
from projections.diff import Diff
from projections.history import VersionInfo, history_from
from projections.runtime import RuntimeView
from projections.tenant_configs import TenantConfig, TenantConfigs


class TenantService:
    def __init__(
        self,
        log: EventLog,
        cipher: FieldCipher,
        platform: ConfigCommands,
        bootstrap: Bootstrap,
        view: RuntimeView,
        cache_size: int,
        announcer: Announcer,
    ) -> None:
        self._log = log
        self._view = view
        self._announcer = announcer
        self.commands = TenantCommands(log, cipher, platform, bootstrap)
        self.configs = TenantConfigs(
            self.commands, bootstrap, self._platform, platform.plaintext, max_size=cache_size
        )
        view.on_tenant_change("tenant-configs", self.configs.evict)

    # --- the registry ------------------------------------------------------------------------

    async def registry(self) -> Registry:
        return await self.commands.registry()

    async def create(
        self,
        slug: str,
        author: Author,
        *,
        display_name: str | None = None,
        domain: str | None = None,
    ) -> Tenant:
        tenant = await self.commands.create(slug, author, display_name=display_name, domain=domain)
        await self._changed(REGISTRY_STREAM, tenant.slug)
        return tenant

    async def update(self, slug: str, author: Author, **changes: Any) -> Tenant:
        tenant = await self.commands.update(slug, author, **changes)
        await self._changed(REGISTRY_STREAM, slug)
        return tenant

    # --- overrides ---------------------------------------------------------------------------

    async def save(
        self,
        slug: str,
        partial: Mapping[str, Any],
        author: Author,
        expected_version: int | None = None,
        *,
        replace_sections: bool = False,
    ) -> TenantSaveResult:
        return await self._written(
            slug,
            lambda: self.commands.save(
                slug, partial, author, expected_version, replace_sections=replace_sections
            ),
        )

    async def reset_section(
        self, slug: str, section: str, author: Author, expected_version: int | None = None
    ) -> TenantSaveResult:
        return await self._written(
            slug, lambda: self.commands.reset_section(slug, section, author, expected_version)
        )

    async def restore(
        self, slug: str, semver: str, author: Author, expected_version: int | None = None
    ) -> TenantSaveResult:
        return await self._written(
            slug, lambda: self.commands.restore(slug, semver, author, expected_version)
        )

    # --- reading -----------------------------------------------------------------------------

    async def effective(self, slug: str) -> TenantConfig:
        """The tenant's effective config (cached; see :class:`TenantConfigs`)."""
        await self.commands.tenant(slug)  # a clear "not found" before any build
        return await self.configs.get(slug)

    async def overrides(self, slug: str, semver: str | None = None) -> StoredConfig:
        await self.commands.tenant(slug)
        return await self.commands.load_version(slug, semver)

    def masked(self, state: StoredConfig) -> dict[str, Any]:
        """Stored overrides as they may be shown: tenant secrets masked."""
        return mask_fields(state.document, TENANT_ENCRYPTED_FIELDS)

    async def diff(self, slug: str, old: str, new: str) -> Diff:
        """What changed in the tenant's overrides between two of its versions (masked)."""
        before, after = await self.overrides(slug, old), await self.overrides(slug, new)
        return Diff.between(
            self.commands.plaintext(slug, before), self.commands.plaintext(slug, after)
        )

    async def history(self, slug: str) -> list[VersionInfo]:
        await self.commands.tenant(slug)
        stream = tenant_stream(slug)
        return history_from(await self._log.read_stream(stream), stream=stream)

    async def audit(self, slug: str, **filters: Unpack[AuditFilters]) -> list[AuditEntry]:
        """The tenant's own audit entries: its registry events (found through the registry's
        index, not by reading every tenant's) and its override stream."""
        registry = await self.commands.registry()
        if slug not in registry.tenants:
            raise TenantNotFound(slug)
        recorded = [
            event
            for version in registry.versions_of(slug)
            for event in await self._log.read_stream(REGISTRY_STREAM, version, version)
        ]
        recorded += await self._log.read_stream(tenant_stream(slug))
        recorded.sort(key=lambda r: r.position)
        filters["tenant"] = slug
        return audit_entries(recorded, **filters)

    # --- keeping the cache right -------------------------------------------------------------

    def _platform(self) -> tuple[StoredConfig, Any]:
        return self._view.state, self._view.config

    async def _written(
        self, slug: str, write: Callable[[], Awaitable[TenantSaveResult]]
    ) -> TenantSaveResult:
        result = await write()
        if result.appended:
            await self._changed(tenant_stream(slug), slug, result.version)
        return result

    async def _changed(self, stream: str, slug: str, version: int | None = None) -> None:
        self.configs.evict(slug)
        await self._announcer.announce(stream, version)
