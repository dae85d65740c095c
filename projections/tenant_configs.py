"""Effective tenant configs: built on demand, cached as their differences from the platform
config, and re-derived from what changed when the platform changes.

A tenant's config is the platform's stored config ⊕ the tenant's overrides, clamped by the
platform policy, ⊕ the tenant-aware computed fields (issuer, URLs, ``rp_id``). It is built on
first use and cached; concurrent first requests for one tenant wait for the same build; the
cache is bounded (least recently used goes first) and a tenant is evicted when its overrides or
record change.

Building: the platform's document before the derivation is kept once per platform version
(:class:`~projections.tenant_derivation.Derivable`). A tenant whose overrides are plain settings
is built straight from them (:class:`~projections.tenant_direct.DirectBuild`); any other is
merged into that document, derived, and structured where it differs (``structure_patched``).
Either way every part equal to the platform's is the platform config's own object.

Keeping: each cached tenant keeps its config as its differences from the platform config
(:class:`~projections.config_delta.ConfigDelta`), and the most recently read also keep it made
as objects (D31 in docs/decisions.md): a read of another makes it again from its differences.

A platform change evicts nobody: the next read of a cached tenant re-derives it from the paths
the platform changed. A change clear of everything the tenant overrides, derives or is policed
by has the tenant's differences laid on the new platform config, each object on the way to the
change checked again; otherwise the policy is applied again where the change reaches a policed
path the tenant overrides (D22), the derived fields again where their inputs changed, and only
the sections those paths are in rebuilt, everything else kept from the tenant's previous
config. A tenant cached before the last few platform versions this process saw (or one whose
overrides the fast build does not cover) is built again from the overrides it keeps, still
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
from projections.config_delta import ConfigDelta, delta, rebased
from projections.tenant_derivation import (
    NO_LEAVES,
    POLICED,
    SHAPES_KEPT,
    CannotPatch,
    Derivable,
    Leaves,
    Trie,
    changed_paths,
    derivation_inputs_changed,
    differs_from_platform,
    meets,
    police,
    rules_in,
    sections_of,
    shared_adjustments,
    structure_patched,
    structure_updated,
    trie_of,
)
from projections.tenant_direct import DirectBuild

DEFAULT_CACHE_SIZE: Final = 50
#: how many cached tenants keep their config made as objects (the most recently read); the
#: others keep only their differences from the platform and make it again when read
DEFAULT_HELD: Final = 1_000
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
    #: tenants built without their document (None: as ``derivable``)
    direct: DirectBuild | None = None


@attrs.frozen(weakref_slot=False, eq=False)
class TenantConfig:
    """One tenant's effective config and the policy adjustments its build applied.

    The config is kept as its differences from the platform config it was built against
    (:class:`~projections.config_delta.ConfigDelta`): the object is made again from them when it
    is read, and :class:`TenantConfigs` holds it made for the tenants read most recently.

    The last fields are what re-deriving it after a platform change needs: its record and its
    overrides, compactly (see ``Leaves``). The overrides after the policy are not kept: the
    config holds their values, and re-deriving polices the overrides again where it needs them
    (the same overrides against the same policed platform values clamp the same way).

    Compared by identity: two builds are compared by their ``config``.
    """

    slug: str
    delta: ConfigDelta = attrs.field(repr=False)
    platform_version: int
    overrides_version: int
    adjustments: tuple[ConstraintViolation, ...] = ()
    tenant: Tenant | None = attrs.field(default=None, repr=False)
    overrides: Leaves = attrs.field(default=NO_LEAVES, repr=False)
    #: built by merging into the platform's document (re-derivable from changed paths)
    derived: bool = attrs.field(default=False, repr=False)
    #: the config as an object, while the cache holds it made (see ``TenantConfigs``)
    held: AppConfig | None = attrs.field(default=None, repr=False)

    @classmethod
    def of(
        cls,
        slug: str,
        config: AppConfig,
        platform: AppConfig,
        platform_version: int,
        overrides_version: int,
        adjustments: tuple[ConstraintViolation, ...] = (),
        tenant: Tenant | None = None,
        overrides: Leaves = NO_LEAVES,
        derived: bool = False,
        differences: ConfigDelta | None = None,
    ) -> TenantConfig:
        """``config`` (built against ``platform``) kept as its ``differences`` from it (found
        when not given), and held."""
        return cls(
            slug,
            differences if differences is not None else delta(config, platform),
            platform_version,
            overrides_version,
            adjustments,
            tenant,
            overrides,
            derived,
            config,
        )

    @property
    def config(self) -> AppConfig:
        """The tenant's effective config (the one the cache holds, or made again)."""
        held = self.held
        return held if held is not None else self.delta.made()

    def _hold(self, config: AppConfig | None) -> None:
        # (a cache of how the delta is read: equality and every reader see the same config)
        object.__setattr__(self, "held", config)


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
        held: int = DEFAULT_HELD,
    ) -> None:
        if max_size < 1 or held < 1:
            raise ValueError("the tenant cache needs room for at least one tenant")
        self._tenants = tenants
        self._bootstrap = bootstrap
        self._platform = platform
        self._plaintext = plaintext
        self._max_size = max_size
        self._cache: OrderedDict[str, TenantConfig] = OrderedDict()
        #: the cached tenants whose config is held made, least recently read first
        self._held: OrderedDict[str, TenantConfig] = OrderedDict()
        self._max_held = held
        self._building: dict[str, asyncio.Future[TenantConfig]] = {}
        self._basis: PlatformBasis | None = None
        #: platform version → (the next version a basis was made for, the paths it changed)
        self._changes: OrderedDict[int, tuple[int, frozenset[str]]] = OrderedDict()
        self._tries: dict[frozenset[str], Trie] = {}
        #: whether changed paths are clear of the paths a tenant overrides and derives
        self._clear: dict[tuple[tuple[str, ...], frozenset[str]], bool] = {}
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
                self.evict(slug)
                found = None
            else:
                found = self._rederive(found, self._current_basis())
                self._cache[slug] = found
        if found is not None:
            self._cache.move_to_end(slug)
            self._hold(found)
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
        self._release(slug)

    def evict_all(self) -> None:
        """Forget every tenant (the next reads build them from the log again)."""
        self._cache.clear()
        for entry in self._held.values():
            entry._hold(None)
        self._held.clear()
        self._basis = None
        self._changes.clear()

    def _hold(self, entry: TenantConfig) -> None:
        """Keep ``entry``'s config made, as one of the most recently read."""
        slug = entry.slug
        if self._held.get(slug) is entry:
            self._held.move_to_end(slug)
            return
        self._release(slug)
        if entry.held is None:
            entry._hold(entry.delta.made())
        self._held[slug] = entry
        while len(self._held) > self._max_held:
            _, oldest = self._held.popitem(last=False)
            oldest._hold(None)

    def _release(self, slug: str) -> None:
        entry = self._held.pop(slug, None)
        if entry is not None:
            entry._hold(None)

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
        direct = basis.direct.build(leaves, ref) if basis.direct is not None else None
        if direct is not None:
            config, differences = direct
        else:
            doc = derivable.document(zip(leaves.paths, leaves.values, strict=True), ref)
            config = structure_patched(
                AppConfig,
                doc,
                basis.config,
                basis.runtime_document,
                differs_from_platform(leaves.paths),
                _INVALID.format(tenant.slug),
            )
            differences = None
        self.builds += 1
        return TenantConfig.of(
            tenant.slug,
            config,
            basis.config,
            basis.version,
            overrides_version,
            shared_adjustments(policed.adjustments),
            tenant,
            overrides,
            True,
            differences,
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
        return TenantConfig.of(
            tenant.slug,
            config,
            basis.config,
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
        differs = differs_from_platform(overrides.paths)
        laid = self._laid_on(cached, basis, changed)
        if laid is not None:
            config, differences = laid
        else:
            differences = None
            config = previous = cached.config
            if update:
                sections = sections_of(update)
                ref = TenantRef(tenant.slug, tenant.domain)

                def document() -> dict[str, Any]:
                    leaves = policed().leaves.within(sections)
                    return derivable.document(leaves, ref, rules_in(update))

                try:
                    config = structure_updated(
                        previous,
                        basis.config,
                        basis.runtime_document,
                        differs,
                        self._trie(frozenset(update)),
                        document,
                        _INVALID.format(tenant.slug),
                    )
                except CannotPatch:
                    return self._again(cached, basis)
        self.rederived += 1
        return TenantConfig.of(
            tenant.slug,
            config,
            basis.config,
            basis.version,
            cached.overrides_version,
            adjustments,
            tenant,
            overrides,
            True,
            differences,
        )

    def _laid_on(
        self,
        cached: TenantConfig,
        basis: PlatformBasis,
        changed: frozenset[str],
    ) -> tuple[AppConfig, ConfigDelta] | None:
        """``cached``'s differences laid on the new platform config, when the changes are clear
        of the policy, of the derivation and of every path the tenant overrides or derives
        (each object on the way to a change checked again); None otherwise."""
        if not changed or changed & POLICED or derivation_inputs_changed(changed):
            return None
        paths = cached.overrides.paths
        key = (paths, changed)
        clear = self._clear.get(key)
        if clear is None:
            if len(self._clear) >= SHAPES_KEPT:
                self._clear.clear()
            clear = self._clear[key] = not meets((*paths, *DERIVED_RULES), changed)
        if not clear:
            return None
        config = rebased(cached.delta, basis.config, self._trie(changed), cached.held)
        if config is None:
            return None
        return config, ConfigDelta(basis.config, cached.delta.shape, cached.delta.values)

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
            direct = (
                DirectBuild(derivable, config, runtime_document) if derivable is not None else None
            )
            new = PlatformBasis(state.version, plain, runtime_document, config, derivable, direct)
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
        self._hold(built)
        while len(self._cache) > self._max_size:
            slug, _ = self._cache.popitem(last=False)
            self._release(slug)
