"""Effective tenant configs: built on demand, cached, shared with the platform config.

A tenant's config is the platform's stored config ⊕ the tenant's overrides, clamped by the
platform policy, ⊕ the tenant-aware computed fields (issuer, URLs, ``rp_id``). Building one costs
a few milliseconds, so it is done on first use and cached; concurrent first requests for one
tenant wait for the same build; the cache is bounded (least recently used goes first) and a
tenant is evicted when its overrides or record change, every tenant when the platform changes.

Memory: ``structure_like`` takes every part equal to the platform's from the platform config
object itself, so a cached tenant costs only the objects on the paths where it differs.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Final

import attrs

from eventstore.resolve import Bootstrap, layered_document
from eventstore.schema import AppConfig, structure_like
from eventstore.state import StoredConfig
from eventstore.tenant_commands import TenantCommands, effective_document
from eventstore.tenant_policy import ConstraintViolation
from eventstore.tenants import TenantNotFound

DEFAULT_CACHE_SIZE: Final = 50


@attrs.frozen
class PlatformBasis:
    """What every tenant build of one platform version starts from, computed once."""

    version: int
    plain: dict[str, Any]
    runtime_document: dict[str, Any]
    config: AppConfig


@attrs.frozen
class TenantConfig:
    """One tenant's effective config and the policy adjustments its build applied."""

    slug: str
    config: AppConfig
    platform_version: int
    overrides_version: int
    adjustments: tuple[ConstraintViolation, ...] = ()


PlatformSource = Callable[[], tuple[StoredConfig, AppConfig]]


class TenantConfigs:
    """The per-process cache of effective tenant configs."""

    def __init__(
        self,
        tenants: TenantCommands,
        bootstrap: Bootstrap,
        platform: PlatformSource,
        plaintext: Callable[[StoredConfig], dict[str, Any]],
        *,
        max_size: int = DEFAULT_CACHE_SIZE,
    ) -> None:
        if max_size < 1:
            raise ValueError("the tenant cache needs room for at least one tenant")
        self._tenants = tenants
        self._bootstrap = bootstrap
        self._platform = platform
        self._plaintext = plaintext
        self._max_size = max_size
        self._cache: OrderedDict[str, TenantConfig] = OrderedDict()
        self._building: dict[str, asyncio.Future[TenantConfig]] = {}
        self._basis: PlatformBasis | None = None
        self.builds = 0  # how many builds ran; lets tests see coalescing

    def __len__(self) -> int:
        return len(self._cache)

    def cached(self, slug: str) -> TenantConfig | None:
        return self._cache.get(slug)

    async def get(self, slug: str) -> TenantConfig:
        """The tenant's effective config, from the cache or built once for all waiting callers."""
        found = self._cache.get(slug)
        # checked on every hit, so a missed platform eviction can never serve a stale config
        if found is not None and found.platform_version == self._platform()[0].version:
            self._cache.move_to_end(slug)
            return found
        pending = self._building.get(slug)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[TenantConfig] = asyncio.get_running_loop().create_future()
        self._building[slug] = future
        try:
            built = await self._build(slug)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: waiters re-raise it, nobody else must log it
            raise
        finally:
            del self._building[slug]
        future.set_result(built)
        self._store(built)
        return built

    def evict(self, slug: str) -> None:
        """The tenant's overrides or record changed: rebuild it on next use."""
        self._cache.pop(slug, None)

    def evict_all(self) -> None:
        """The platform changed: every tenant config rests on it."""
        self._cache.clear()
        self._basis = None

    # --- building ----------------------------------------------------------------------------

    async def _build(self, slug: str) -> TenantConfig:
        basis = self._current_basis()
        tenant = (await self._tenants.registry()).tenants.get(slug)
        if tenant is None:
            raise TenantNotFound(slug)
        state = await self._tenants.load(slug)
        built = effective_document(
            basis.plain,
            basis.runtime_document,
            self._tenants.plaintext(slug, state),
            tenant,
            self._bootstrap,
        )
        config = structure_like(
            AppConfig,
            built.document,
            basis.config,
            basis.runtime_document,
            f"The effective config of tenant {slug} is invalid",
        )
        self.builds += 1
        return TenantConfig(slug, config, basis.version, state.version, built.adjustments)

    def _current_basis(self) -> PlatformBasis:
        state, config = self._platform()
        if self._basis is None or self._basis.version != state.version:
            plain = self._plaintext(state)
            runtime_document, _ = layered_document(plain, self._bootstrap)
            self._basis = PlatformBasis(state.version, plain, runtime_document, config)
        return self._basis

    def _store(self, built: TenantConfig) -> None:
        if self._basis is None or built.platform_version != self._basis.version:
            return  # the platform moved on while building: don't cache a stale config
        self._cache[built.slug] = built
        self._cache.move_to_end(built.slug)
        while len(self._cache) > self._max_size:
            self._cache.popitem(last=False)
