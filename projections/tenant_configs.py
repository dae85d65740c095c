"""Effective tenant configs: built on demand, cached, shared with the platform config, and
re-derived from what changed when the platform changes.

A tenant's config is the platform's stored config ⊕ the tenant's overrides, clamped by the
platform policy, ⊕ the tenant-aware computed fields (issuer, URLs, ``rp_id``). It is built on
first use and cached; concurrent first requests for one tenant wait for the same build; the
cache is bounded (least recently used goes first) and a tenant is evicted when its overrides or
record change.

Building: the platform's document before the derivation is kept once per platform version
(:class:`~projections.tenant_derivation.Derivable`), so a build merges the tenant's overrides
into it and derives, instead of layering the whole configuration again; ``structure_like`` takes
every part equal to the platform's from the platform config object itself, so a cached tenant
costs only the objects on the paths where it differs.

A platform change evicts nobody: the next read of a cached tenant re-derives it from the paths
the platform changed — the policy applied again where the change reaches a policed path the
tenant overrides (D22 in docs/decisions.md), the derived fields again where their inputs
changed, and only the sections those paths are in rebuilt, everything else kept from the tenant's
previous config. A tenant cached before the last few platform versions this process saw (or one
whose overrides the fast build does not cover) is built again from the overrides it keeps, still
without reading the log.
"""

from __future__ import annotations

import asyncio
import functools
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Final

import attrs

from eventstore.computed import TenantRef
from eventstore.resolve import DERIVED_RULES, Bootstrap, layered_document
from eventstore.schema import AppConfig, structure_like
from eventstore.state import StoredConfig
from eventstore.tenant_commands import TenantCommands, effective_document
from eventstore.tenant_policy import ConstraintViolation
from eventstore.tenants import Tenant, TenantNotFound
from projections.tenant_derivation import (
    NO_LEAVES,
    POLICED,
    CannotPatch,
    Derivable,
    Leaves,
    Trie,
    changed_paths,
    derivation_inputs_changed,
    differs_from_platform,
    police,
    rules_in,
    sections_of,
    shared_adjustments,
    structure_patched,
    structure_updated,
    trie_of,
)

DEFAULT_CACHE_SIZE: Final = 50
#: how many platform changes a process remembers to re-derive cached tenants from
REMEMBERED_CHANGES: Final = 32
_INVALID: Final = "The effective config of tenant {} is invalid"


@attrs.frozen
class PlatformBasis:
    """What every tenant build of one platform version starts from, computed once."""

    version: int
    plain: dict[str, Any]
    runtime_document: dict[str, Any]
    config: AppConfig
    #: the document tenants are merged into (None: every tenant is built by the definition)
    derivable: Derivable | None = None


@attrs.frozen(weakref_slot=False)
class TenantConfig:
    """One tenant's effective config and the policy adjustments its build applied.

    The last fields are what re-deriving it after a platform change needs: its record and its
    overrides, compactly (see ``Leaves``). The overrides after the policy are not kept: the
    config holds their values, and re-deriving polices the overrides again where it needs them
    (the same overrides against the same policed platform values clamp the same way).
    """

    slug: str
    config: AppConfig
    platform_version: int
    overrides_version: int
    adjustments: tuple[ConstraintViolation, ...] = ()
    tenant: Tenant | None = attrs.field(default=None, eq=False, repr=False)
    overrides: Leaves = attrs.field(default=NO_LEAVES, eq=False, repr=False)
    #: built by merging into the platform's document (re-derivable from changed paths)
    derived: bool = attrs.field(default=False, eq=False, repr=False)


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
        #: platform version → (the next version a basis was made for, the paths it changed)
        self._changes: OrderedDict[int, tuple[int, frozenset[str]]] = OrderedDict()
        self._tries: dict[frozenset[str], Trie] = {}
        self.builds = 0  # how many builds ran; lets tests see coalescing
        self.rederived = 0  # how many cached tenants were re-derived after a platform change

    def __len__(self) -> int:
        return len(self._cache)

    def cached(self, slug: str) -> TenantConfig | None:
        return self._cache.get(slug)

    async def get(self, slug: str) -> TenantConfig:
        """The tenant's effective config, from the cache (re-derived if the platform changed
        since) or built once for all waiting callers."""
        found = self._cache.get(slug)
        # checked on every hit, so a platform change can never serve a stale config
        if found is not None and found.platform_version != self._platform()[0].version:
            if found.overrides is NO_LEAVES:  # its overrides are not kept: read them again
                self._cache.pop(slug)
                found = None
            else:
                found = self._cache[slug] = self._rederive(found, self._current_basis())
        if found is not None:
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
        """Forget every tenant (the next reads build them from the log again)."""
        self._cache.clear()
        self._basis = None
        self._changes.clear()

    # --- building ----------------------------------------------------------------------------

    async def _build(self, slug: str) -> TenantConfig:
        basis = self._current_basis()
        tenant = (await self._tenants.registry()).tenants.get(slug)
        if tenant is None:
            raise TenantNotFound(slug)
        state = await self._tenants.load(slug)
        plain = self._tenants.plaintext(slug, state)
        try:
            overrides = Leaves.of(plain)
        except ValueError:  # a key that cannot be part of a path: only the definition knows
            # (NO_LEAVES: not re-derivable, read from the log again after a platform change)
            return self._defined(tenant, state.version, NO_LEAVES, basis, plain)
        return self._built(tenant, state.version, overrides, basis, plain)

    def _built(
        self,
        tenant: Tenant,
        overrides_version: int,
        overrides: Leaves,
        basis: PlatformBasis,
        plain: dict[str, Any] | None = None,
    ) -> TenantConfig:
        """Merged into the platform's document when the overrides fit, else by definition."""
        derivable = basis.derivable
        if derivable is None or not derivable.fits(overrides):
            return self._defined(tenant, overrides_version, overrides, basis, plain)
        policed = police(overrides, basis.runtime_document)
        leaves = policed.leaves
        if not derivable.fits(leaves):
            return self._defined(tenant, overrides_version, overrides, basis, plain)
        ref = TenantRef(tenant.slug, tenant.domain)
        doc = derivable.document(zip(leaves.paths, leaves.values, strict=True), ref)
        config = structure_patched(
            AppConfig,
            doc,
            basis.config,
            basis.runtime_document,
            differs_from_platform(leaves.paths),
            _INVALID.format(tenant.slug),
        )
        self.builds += 1
        return TenantConfig(
            tenant.slug,
            config,
            basis.version,
            overrides_version,
            shared_adjustments(policed.adjustments),
            tenant,
            overrides,
            True,
        )

    def _defined(
        self,
        tenant: Tenant,
        overrides_version: int,
        overrides: Leaves,
        basis: PlatformBasis,
        plain: dict[str, Any] | None,
    ) -> TenantConfig:
        """Built by :func:`~eventstore.tenant_commands.effective_document` itself."""
        built = effective_document(
            basis.plain,
            basis.runtime_document,
            plain if plain is not None else overrides.document(),
            tenant,
            self._bootstrap,
        )
        config = structure_like(
            AppConfig,
            built.document,
            basis.config,
            basis.runtime_document,
            _INVALID.format(tenant.slug),
        )
        self.builds += 1
        return TenantConfig(
            tenant.slug,
            config,
            basis.version,
            overrides_version,
            shared_adjustments(built.adjustments),
            tenant,
            overrides,
            False,
        )

    # --- after a platform change ---------------------------------------------------------------

    def _rederive(self, cached: TenantConfig, basis: PlatformBasis) -> TenantConfig:
        """``cached`` brought to ``basis``: only what the platform's changes reach is redone."""
        changed = self._changed_since(cached.platform_version, basis.version)
        tenant, derivable = cached.tenant, basis.derivable
        if changed is None or derivable is None or not cached.derived or tenant is None:
            return self._again(cached, basis)
        update = set(changed)
        if derivation_inputs_changed(changed):
            update.update(DERIVED_RULES)
        overrides, adjustments = cached.overrides, cached.adjustments
        # the policy binds against the new platform values (D22): where the changes reach a
        # policed path the tenant overrides it is applied again now; elsewhere it clamps as it
        # did, and is applied again only if the tenant's document is needed
        policed = functools.cache(lambda: police(overrides, basis.runtime_document))
        if not derivable.fits(overrides):
            return self._again(cached, basis)
        if overrides.touch(changed & POLICED):
            adjustments = shared_adjustments(policed().adjustments)
            update.update(path for path in overrides.paths if path in POLICED)
        config = cached.config
        if update:
            sections = sections_of(update)
            ref = TenantRef(tenant.slug, tenant.domain)

            def document() -> dict[str, Any]:
                leaves = policed().leaves.within(sections)
                return derivable.document(leaves, ref, rules_in(update))

            try:
                config = structure_updated(
                    cached.config,
                    basis.config,
                    basis.runtime_document,
                    differs_from_platform(overrides.paths),
                    self._trie(frozenset(update)),
                    document,
                    _INVALID.format(tenant.slug),
                )
            except CannotPatch:
                return self._again(cached, basis)
        self.rederived += 1
        return attrs.evolve(
            cached,
            config=config,
            platform_version=basis.version,
            adjustments=adjustments,
        )

    def _trie(self, paths: frozenset[str]) -> Trie:
        """The trie of ``paths``, shared by the tenants a platform change reaches alike."""
        found = self._tries.get(paths)
        if found is None:
            if len(self._tries) >= REMEMBERED_CHANGES:
                self._tries.clear()
            found = self._tries[paths] = trie_of(paths)
        return found

    def _again(self, cached: TenantConfig, basis: PlatformBasis) -> TenantConfig:
        """Built anew from the overrides the cached config keeps (the log is not read)."""
        assert cached.tenant is not None
        return self._built(cached.tenant, cached.overrides_version, cached.overrides, basis)

    def _changed_since(self, version: int, current: int) -> frozenset[str] | None:
        """Every path the platform changed from ``version`` to ``current``, or None when this
        process does not remember all of those changes."""
        changed: set[str] = set()
        while version != current:
            step = self._changes.get(version)
            if step is None:
                return None
            version, paths = step
            changed |= paths
        return frozenset(changed)

    # --- the platform ------------------------------------------------------------------------

    def _current_basis(self) -> PlatformBasis:
        state, config = self._platform()
        basis = self._basis
        if basis is None or basis.version != state.version:
            plain = self._plaintext(state)
            runtime_document, _ = layered_document(plain, self._bootstrap)
            derivable = Derivable.of(plain, runtime_document, self._bootstrap)
            new = PlatformBasis(state.version, plain, runtime_document, config, derivable)
            if basis is not None:
                self._remember(basis, new)
            self._basis = basis = new
        return basis

    def _remember(self, old: PlatformBasis, new: PlatformBasis) -> None:
        paths = changed_paths(old.runtime_document, new.runtime_document)
        if old.derivable is not None and new.derivable is not None:
            paths |= changed_paths(old.derivable.pre, new.derivable.pre)
        self._changes[old.version] = (new.version, frozenset(paths))
        while len(self._changes) > REMEMBERED_CHANGES:
            self._changes.popitem(last=False)

    def _store(self, built: TenantConfig) -> None:
        if self._basis is None or built.platform_version != self._basis.version:
            return  # the platform moved on while building: don't cache a stale config
        self._cache[built.slug] = built
        self._cache.move_to_end(built.slug)
        while len(self._cache) > self._max_size:
            self._cache.popitem(last=False)
