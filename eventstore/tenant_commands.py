"""The write side of multi-tenancy: the tenant registry and each tenant's override stream.

A tenant write goes: filter to the allowed paths (D21) → put masked secrets back → apply to
the current overrides → clamp to the platform policy (D22) → validate the tenant's whole
effective config → encrypt the tenant secrets with the tenant bound into the associated data →
append one ``TenantOverrideChanged`` with what changed, what was stripped and what was adjusted.
The effective config is built by :func:`effective_document` here, the same function the read
side uses, so a write is validated against exactly what readers will see.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Final

import attrs

from eventstore import events
from eventstore.commands import ConfigCommands
from eventstore.computed import TenantRef, hostname_of
from eventstore.computed_writes import NO_CLAIMS, ComputedClaims
from eventstore.crypto import FieldCipher
from eventstore.docpath import deep_merge, get_path
from eventstore.document_stream import Author, DocumentStream, EventFactory, Persisted
from eventstore.errors import Issue, ValidationFailed
from eventstore.events import FieldChange, TenantChanged, TenantOverrideChanged
from eventstore.log import EventLog
from eventstore.masking import restore_masked
from eventstore.resolve import Bootstrap, layered_document
from eventstore.retry import until_appended
from eventstore.schema import AppConfig, structure
from eventstore.schema.paths import TENANT_ENCRYPTED_FIELDS, TENANT_SECTIONS
from eventstore.shape import check_shape
from eventstore.state import StoredConfig
from eventstore.tenant_overrides import OverrideWrite, filter_write
from eventstore.tenant_policy import ConstraintViolation, enforce, guard_credentials
from eventstore.tenants import (
    REGISTRY_STREAM,
    Registry,
    Tenant,
    TenantNotFound,
    TenantStatus,
    bulk_fold,
    display_name_of,
    new_slug,
    normalise_domain,
    snapshot_due,
    tenant_stream,
)

_UNSET: Final = object()
#: a registry tail longer than this is folded with the cyclic garbage collector paused
BULK: Final = 1000


@attrs.frozen
class TenantSaveResult:
    """What a tenant write did; ``adjustments`` are the policy clamps recorded with it."""

    tenant: str
    version: int
    semver: str
    changes: tuple[FieldChange, ...]
    stripped: tuple[str, ...] = ()
    adjustments: tuple[ConstraintViolation, ...] = ()
    appended: bool = True

    def to_json(self) -> dict[str, Any]:
        return {
            "tenant": self.tenant,
            "version": self.semver,
            "_version": self.version,
            "appended": self.appended,
            "changed": [c.path for c in self.changes],
            "stripped": list(self.stripped),
            "adjustments": [a.to_json() for a in self.adjustments],
        }


def tenant_scope(slug: str) -> str:
    """Encryption scope: an envelope copied to another tenant's stream will not open there."""
    return f"tenant:{slug}"


@attrs.frozen
class EffectiveDocument:
    """A tenant's complete config document (before validation), with the clamped overrides it
    was built from and the policy adjustments made on the way."""

    document: dict[str, Any]
    overrides: dict[str, Any]
    adjustments: tuple[ConstraintViolation, ...]
    #: overrides set back because they would send the platform's credentials elsewhere
    withheld: tuple[ConstraintViolation, ...] = ()


def effective_document(
    platform_plain: Mapping[str, Any],
    platform_runtime: Mapping[str, Any],
    overrides_plain: Mapping[str, Any],
    tenant: Tenant,
    bootstrap: Bootstrap,
) -> EffectiveDocument:
    """Platform stored config ⊕ the tenant's overrides clamped by the policy ⊕ computed fields.

    The policy is judged against the platform's *runtime* values (defaults and bootstrap
    included: ``layered_document`` of ``platform_plain``, which callers build once per platform
    version) and applied on every build, so a tightened platform limit binds at once (D22).
    """
    clamped, adjustments = enforce(overrides_plain, platform_runtime)
    guarded, withheld = guard_credentials(clamped, platform_runtime)
    doc, _ = layered_document(
        deep_merge(platform_plain, guarded), bootstrap, TenantRef(tenant.slug, tenant.domain)
    )
    return EffectiveDocument(doc, clamped, adjustments + withheld, withheld)


class TenantCommands:
    """Create and edit tenants; write, reset and restore their overrides."""

    def __init__(
        self,
        log: EventLog,
        cipher: FieldCipher,
        platform: ConfigCommands,
        bootstrap: Bootstrap,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._log = log
        self._cipher = cipher
        self._platform = platform
        self._bootstrap = bootstrap
        self._clock = clock
        self._lock = asyncio.Lock()
        self._registry: Registry | None = None
        #: the version of the newest registry snapshot this process read or wrote
        self._registry_snapshot_version = 0

    # --- the registry ------------------------------------------------------------------------

    async def registry(self) -> Registry:
        """The registry as of now: the last fold plus whatever was appended since.

        Incremental because every tenant write and build asks for it; the first call of a
        process starts from the registry's newest snapshot, and a fold that went far past it
        leaves a new one (:func:`~eventstore.tenants.snapshot_due`), so neither a fresh
        process nor a long-running one ever folds the whole stream again.
        """
        registry = self._registry
        if registry is None:
            registry = await self._registry_snapshot()
        tail = await self._log.read_stream(REGISTRY_STREAM, registry.version + 1)
        with bulk_fold() if len(tail) > BULK else contextlib.nullcontext():
            for recorded in tail:
                event = events.decode(recorded)
                if isinstance(event, TenantChanged):
                    registry = registry.apply(event, recorded.version, recorded.position)
                else:
                    registry = registry.skip(recorded.version, recorded.position)
        if self._registry is None or registry.version >= self._registry.version:
            self._registry = registry  # a concurrent fold may have got further meanwhile
        if snapshot_due(registry.version, self._registry_snapshot_version):
            self._registry_snapshot_version = registry.version
            await self._log.save_snapshot(registry.to_snapshot())
        return registry

    async def _registry_snapshot(self) -> Registry:
        """The newest readable registry snapshot (the log checks its seal), or an empty one."""
        snapshot = await self._log.latest_snapshot(REGISTRY_STREAM)
        if snapshot is not None:
            try:
                registry = Registry.from_snapshot(snapshot)
            except ValueError:
                pass  # a layout this release does not read: fold the stream instead
            else:
                self._registry_snapshot_version = registry.version
                return registry
        return Registry()

    async def tenant(self, slug: str) -> Tenant:
        found = (await self.registry()).tenants.get(slug)
        if found is None:
            raise TenantNotFound(slug)
        return found

    async def create(
        self,
        slug: str,
        author: Author,
        *,
        display_name: str | None = None,
        domain: str | None = None,
    ) -> Tenant:
        slug = new_slug(slug)
        tenant = Tenant(slug, display_name_of(display_name, slug), normalise_domain(domain))

        async def attempt() -> Tenant:
            registry = await self.registry()
            if slug in registry.tenants:
                raise ValidationFailed([Issue("slug", f"Tenant '{slug}' already exists")])
            self._check_domain_free(registry, tenant, await self._platform_host())
            await self._record(registry, tenant, author, created=True)
            return tenant

        return await until_appended(attempt)

    async def update(
        self,
        slug: str,
        author: Author,
        *,
        display_name: str | None = None,
        domain: str | object | None = _UNSET,
        status: str | None = None,
    ) -> Tenant:
        """Edit a tenant's record; ``domain=None`` removes its custom domain."""

        async def attempt() -> Tenant:
            registry = await self.registry()
            current = registry.tenants.get(slug)
            if current is None:
                raise TenantNotFound(slug)
            changed = attrs.evolve(
                current,
                display_name=display_name_of(display_name, slug)
                if display_name is not None
                else current.display_name,
                domain=current.domain
                if domain is _UNSET
                else normalise_domain(domain if isinstance(domain, str) else None),
                status=_status(status) if status is not None else current.status,
            )
            if changed == current:
                return current
            if changed.domain != current.domain:
                self._check_domain_free(registry, changed, await self._platform_host())
            await self._record(registry, changed, author, created=False)
            return changed

        return await until_appended(attempt)

    # --- overrides ---------------------------------------------------------------------------

    def stream(self, slug: str) -> DocumentStream:
        """The override stream of one tenant: the platform's write pipeline with the tenant's
        stream, secret paths and encryption scope (an envelope copied to another tenant's
        stream will not open there)."""
        return DocumentStream(
            self._log,
            self._cipher,
            tenant_stream(slug),
            secret_paths=TENANT_ENCRYPTED_FIELDS,
            scope=tenant_scope(slug),
            lock=self._lock,
        )

    async def load(self, slug: str, up_to: int | None = None) -> StoredConfig:
        """One tenant's stored overrides (envelopes sealed), folded from its stream."""
        return await self.stream(slug).load(up_to)

    async def load_version(self, slug: str, semver: str | None) -> StoredConfig:
        """The overrides at ``semver`` (checked to exist in this tenant's stream) or the newest."""
        return await self.stream(slug).load_version(semver)

    def plaintext(self, slug: str, state: StoredConfig) -> dict[str, Any]:
        return self.stream(slug).plaintext(state)

    async def save(
        self,
        slug: str,
        partial: Mapping[str, Any],
        author: Author,
        expected_version: int | None = None,
        *,
        replace_sections: bool = False,
    ) -> TenantSaveResult:
        """Write overrides: ``PATH=VALUE`` merges by default; the API's PUT replaces sections."""
        check_shape(partial)
        partial, claims = ComputedClaims.take(partial)
        write = filter_write(partial, replace_sections=replace_sections)
        return await self._write(
            slug,
            lambda current: self._applied(write, current, replace_sections),
            author,
            expected_version,
            "save",
            write.stripped,
            claims=claims,
        )

    async def reset_section(
        self, slug: str, section: str, author: Author, expected_version: int | None = None
    ) -> TenantSaveResult:
        """Drop every override of one section: the tenant inherits it again."""
        if section not in TENANT_SECTIONS:
            raise ValidationFailed(
                [Issue("section", f"Section '{section}' is not a valid override section")]
            )
        author = author if author.reason else attrs.evolve(author, reason=f"Reset {section}")
        return await self._write(
            slug,
            lambda current: {k: v for k, v in current.items() if k != section},
            author,
            expected_version,
            "save",
        )

    async def restore(
        self, slug: str, semver: str, author: Author, expected_version: int | None = None
    ) -> TenantSaveResult:
        """A new version of the tenant's overrides equal to an old one, re-validated and
        re-clamped against today's platform policy."""
        stream = self.stream(slug)
        target = stream.plaintext(await stream.load_version(semver))
        return await self._write(
            slug, lambda _current: target, author, expected_version, "restore", restored_from=semver
        )

    # --- the shared write path ---------------------------------------------------------------

    def _applied(
        self, write: OverrideWrite, current: Mapping[str, Any], replace_sections: bool
    ) -> dict[str, Any]:
        restored, _kept = restore_masked(write.values, current, TENANT_ENCRYPTED_FIELDS)
        return attrs.evolve(write, values=restored).apply(
            current, replace_sections=replace_sections
        )

    async def _write(
        self,
        slug: str,
        build: Callable[[dict[str, Any]], Mapping[str, Any]],
        author: Author,
        expected_version: int | None,
        origin: str,
        stripped: tuple[str, ...] = (),
        restored_from: str | None = None,
        claims: ComputedClaims = NO_CLAIMS,
    ) -> TenantSaveResult:
        tenant = await self.tenant(slug)
        written = await self.stream(slug).write(
            build,
            lambda state, candidate: self._persist(tenant, state, candidate, claims),
            self._event(tenant, author, origin, stripped, restored_from),
            expected_version,
        )
        return TenantSaveResult(
            tenant.slug,
            written.version,
            written.semver,
            written.changes,
            stripped,
            written.adjustments,
            written.appended,
        )

    async def _persist(
        self,
        tenant: Tenant,
        state: StoredConfig,
        candidate: Mapping[str, Any],
        claims: ComputedClaims,
    ) -> Persisted:
        """Clamp to the platform policy (D22) and validate the tenant's whole effective config,
        built exactly as readers will build it; the clamped overrides are what is stored."""
        platform_plain = self._platform.plaintext(await self._platform.load())
        platform_runtime, _ = layered_document(platform_plain, self._bootstrap)
        built = effective_document(
            platform_plain, platform_runtime, candidate, tenant, self._bootstrap
        )
        if built.withheld:
            raise ValidationFailed(
                [Issue(w.path, w.reason) for w in built.withheld],
                f"Invalid overrides for tenant {tenant.slug}",
            )
        structure(AppConfig, built.document, f"Invalid overrides for tenant {tenant.slug}")
        claims.check(built.document, state.document)
        return Persisted(built.overrides, built.adjustments)

    def _event(
        self,
        tenant: Tenant,
        author: Author,
        origin: str,
        stripped: tuple[str, ...],
        restored_from: str | None,
    ) -> EventFactory:
        def make(
            changes: tuple[FieldChange, ...], semver: str, persisted: Persisted
        ) -> TenantOverrideChanged:
            return TenantOverrideChanged(
                tenant=tenant.slug,
                changes=changes,
                semver=semver,
                stripped=stripped,
                adjustments=tuple(a.to_json() for a in persisted.adjustments),
                **author.provenance(
                    origin, restored_from, self._bootstrap.environment, self._clock()
                ),
            )

        return make

    async def _record(
        self, registry: Registry, tenant: Tenant, author: Author, *, created: bool
    ) -> None:
        event = TenantChanged(
            slug=tenant.slug,
            display_name=tenant.display_name,
            domain=tenant.domain,
            status=tenant.status.value,
            actor=author.actor,
            reason=author.reason,
            at=self._clock(),
            created=created,
        )
        await self._log.append(REGISTRY_STREAM, registry.version, [events.encode(event)])

    async def _platform_host(self) -> str:
        """The host the platform is served from (``deployment.url`` in force)."""
        runtime, _ = layered_document(
            self._platform.plaintext(await self._platform.load()), self._bootstrap
        )
        return hostname_of(str(get_path(runtime, "deployment.url", "")))

    @staticmethod
    def _check_domain_free(registry: Registry, tenant: Tenant, platform_host: str) -> None:
        """A custom domain must be no one else's: not another tenant's custom domain, not the
        platform's own host, and not a name under it (where every tenant is served by its
        slug: ``acme.<platform host>`` belongs to the tenant ``acme``, present or future)."""
        domain = tenant.domain
        if domain is None:
            return
        owner = registry.by_domain(domain)
        if owner is not None and owner.slug != tenant.slug:
            raise ValidationFailed(
                [Issue("domain", f"Domain {domain} is already used by tenant {owner.slug}")]
            )
        if domain == platform_host:
            raise ValidationFailed([Issue("domain", f"Domain {domain} is the platform's own host")])
        if domain.endswith("." + platform_host):
            raise ValidationFailed(
                [
                    Issue(
                        "domain",
                        f"Domain {domain} is under the platform's host {platform_host}, where "
                        "tenants are served by their slug; use a domain of your own",
                    )
                ]
            )


def _status(raw: str) -> TenantStatus:
    try:
        return TenantStatus(raw)
    except ValueError:
        allowed = ", ".join(s.value for s in TenantStatus)
        raise ValidationFailed([Issue("status", f"status must be one of: {allowed}")]) from None
