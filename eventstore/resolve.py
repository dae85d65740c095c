"""Assemble one complete, validated config from its layers.

defaults ⊕ stored (file or event log) ⊕ bootstrap → secrets → derived fields → validation.
The same function serves start-up, every save (the whole result is validated before anything is
appended) and the tenant view, so there is one definition of "the effective config".
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Mapping
from typing import Any, Final

import attrs

from eventstore import computed
from eventstore.docpath import deep_merge, delete_path, get_path, has_path, set_path
from eventstore.errors import Issue, ValidationFailed
from eventstore.schema import AppConfig, structure, unstructure
from eventstore.schema.bootstrap import ProcessSettings
from eventstore.schema.paths import BOOTSTRAP_ONLY_FIELDS, COMPUTED, RUNTIME_ONLY_SECTIONS

SECRET_RULES: Final = {p: r for p, r in COMPUTED.items() if isinstance(r, computed.GeneratedSecret)}
DERIVED_RULES: Final = {
    p: r for p, r in COMPUTED.items() if not isinstance(r, computed.GeneratedSecret)
}
#: Persisted, but at run time the bootstrap value (or its default) always wins over the stored
#: one (D23 in docs/decisions.md): a stored ``true`` must not switch multi-tenancy on behind the
#: SQLite check's back.
BOOTSTRAP_WINS: Final = ("features.multi_tenancy.enabled",)
#: The SMTP password's default comes from ``SMTP_PASSWORD`` when that is set and not empty, as
#: the reference's default object did.
SMTP_PASSWORD_VAR: Final = "SMTP_PASSWORD"
SMTP_PASSWORD_PATH: Final = "integrations.email.smtp_password"
#: In production every cookie is ``Secure`` by default, as in the reference's default object; we
#: decide "production" by ``DEPLOYMENT_ENVIRONMENT`` (docs/decisions.md X8).
SECURE_COOKIE_PATHS: Final = tuple(
    f"deployment.cookies.{cookie}.secure"
    for cookie in ("defaults", "types.session", "types.locale", "types.theme")
)


@attrs.frozen
class Bootstrap:
    """What the environment says: config paths it sets, and the process settings.

    ``overrides`` maps config paths to typed values (``deployment.server.port`` → 9007); only
    variables that were actually set appear, so defaults and stored values show through.
    """

    overrides: Mapping[str, Any] = attrs.field(factory=dict)
    process: ProcessSettings = attrs.field(factory=ProcessSettings)
    environ: Mapping[str, str] = attrs.field(factory=dict, repr=False)

    @property
    def environment(self) -> str:
        return str(self.overrides.get("deployment.environment", "development"))


def default_document() -> dict[str, Any]:
    """The complete default config (secrets not yet generated), as a JSON document (a copy the
    caller may change)."""
    return copy.deepcopy(_shared_defaults())


@functools.cache
def _shared_defaults() -> dict[str, Any]:
    """Shared, never modified: layering only builds new dicts on top of it (docpath)."""
    return unstructure(AppConfig(), reveal=True)


def environment_defaults(bootstrap: Bootstrap) -> dict[str, Any]:
    """The defaults the environment changes, by path (empty for most environments)."""
    values: dict[str, Any] = {}
    smtp_password = bootstrap.environ.get(SMTP_PASSWORD_VAR, "")
    if smtp_password:
        values[SMTP_PASSWORD_PATH] = smtp_password
    if bootstrap.environment == "production":
        values.update(dict.fromkeys(SECURE_COOKIE_PATHS, True))
    return values


def _defaults_for(bootstrap: Bootstrap) -> dict[str, Any]:
    """The shared defaults with :func:`environment_defaults` applied (new dicts on the way to a
    changed value; everything else still shared)."""
    doc = _shared_defaults()
    for path, value in environment_defaults(bootstrap).items():
        doc = set_path(doc, path, value)
    return doc


def initial_document(bootstrap: Bootstrap) -> dict[str, Any]:
    """What a new store's first version holds: the defaults as this environment makes them, with
    ``deployment.url`` taken from ``DEPLOYMENT_URL`` when that is set at first start, so a later
    start without the variable keeps the URL (and the issuer derived from it)."""
    doc = copy.deepcopy(_defaults_for(bootstrap))
    url = bootstrap.overrides.get("deployment.url")
    if url:
        doc = set_path(doc, "deployment.url", url)
    return strip_unpersisted(doc)


def strip_unpersisted(doc: Mapping[str, Any]) -> dict[str, Any]:
    """Remove what never goes to storage: bootstrap-only paths and runtime-only sections."""
    out = {k: v for k, v in doc.items() if k not in RUNTIME_ONLY_SECTIONS}
    for path in BOOTSTRAP_ONLY_FIELDS:
        if has_path(out, path):
            out = delete_path(out, path)
    return out


def bootstrap_only_paths_in(doc: Mapping[str, Any]) -> tuple[str, ...]:
    """Bootstrap-only paths a document tries to set (reported, then stripped)."""
    return tuple(p for p in BOOTSTRAP_ONLY_FIELDS if has_path(doc, p))


def layered_document(
    stored: Mapping[str, Any] | None,
    bootstrap: Bootstrap,
    tenant: computed.TenantRef | None = None,
) -> tuple[dict[str, Any], tuple[str, ...]]:
    """The merged JSON document before validation, and the secret paths generated for it."""
    defaults = _defaults_for(bootstrap)
    doc = deep_merge(defaults, strip_unpersisted(stored or {}))
    for path in BOOTSTRAP_WINS:
        doc = set_path(doc, path, get_path(defaults, path))
    for path, value in bootstrap.overrides.items():
        doc = set_path(doc, path, value)
    process = bootstrap.process
    storage = doc["storage"]
    doc["storage"] = computed.compute_storage(
        storage["adapter"],
        mongodb_uri=storage["mongodb"].get("uri"),
        sqlite_path=storage["sqlite"]["path"],
        postgresql_url=storage["postgresql"].get("url"),
    )
    doc["storage"] = deep_merge(storage, doc["storage"])
    password = process.redis.password
    doc["oidc_storage"] = computed.compute_oidc_storage(
        storage["adapter"],
        oidc_adapter=process.oidc_storage_adapter,
        mongodb_uri=storage["mongodb"].get("uri"),
        redis_host=process.redis.host,
        redis_port=process.redis.port,
        redis_password=password.reveal() if password is not None else None,  # type: ignore[attr-defined]
        redis_database=process.redis.database,
    )
    doc, generated = computed.resolve_secrets(
        doc, SECRET_RULES, environment=bootstrap.environment, environ=bootstrap.environ
    )
    ctx = computed.DerivationContext.from_document(doc, tenant)
    return computed.apply_derived(doc, DERIVED_RULES, ctx), generated


def layered_for_write(
    candidate: Mapping[str, Any],
    bootstrap: Bootstrap,
    tenant: computed.TenantRef | None = None,
) -> tuple[dict[str, Any], tuple[str, ...]]:
    """:func:`layered_document` for a candidate write: a secret the write leaves unset where
    none can be generated is the writer's invalid input (named by path), not a failed start."""
    try:
        return layered_document(candidate, bootstrap, tenant)
    except computed.MissingSecretError as missing:
        raise ValidationFailed(
            [
                Issue(path, f"is required in {bootstrap.environment}: store a value or set {var}")
                for path, var in missing.unset
            ]
        ) from None


def resolve(
    stored: Mapping[str, Any] | None,
    bootstrap: Bootstrap,
    tenant: computed.TenantRef | None = None,
) -> AppConfig:
    """The validated runtime config; raises ValidationFailed listing every problem."""
    doc, _ = layered_document(stored, bootstrap, tenant)
    try:
        return structure(AppConfig, doc)
    except ValidationFailed as failed:
        raise _without_echoes(failed, doc, tenant) from None


#: The settings derived URLs are built from.
DERIVATION_INPUTS: Final = frozenset({"deployment.url", "oidc.path"})


def _without_echoes(
    failed: ValidationFailed, doc: Mapping[str, Any], tenant: computed.TenantRef | None
) -> ValidationFailed:
    """Drop the issues a bad ``deployment.url`` or ``oidc.path`` causes in the URLs derived from
    it: one typo would otherwise come back as a dozen errors on fields the user never set."""
    if not any(issue.path in DERIVATION_INPUTS for issue in failed.issues):
        return failed
    base = computed.DerivationContext.from_document(doc, tenant).base_url

    def is_echo(path: str) -> bool:
        value = get_path(doc, path, None)
        return path in DERIVED_RULES and isinstance(value, str) and value.startswith(base)

    kept = [issue for issue in failed.issues if not (base and is_echo(issue.path))]
    return ValidationFailed(kept, failed.heading)
