"""Computed fields: generated secrets, derived URLs and names, storage sections from bootstrap.

Everything here is a pure function over JSON-like dicts so the same rules run before a version is
persisted (D7 in docs/decisions.md: generated secrets are stored with the first version), on every
rebuild of the runtime config and inside a tenant's context. The schema owns the list of computed
paths: it names a rule object from this module on each field, and the ``apply`` functions take
that mapping as a parameter so there is a single source of truth for *which* paths are computed.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Final, Protocol
from urllib.parse import unquote, urlsplit

import attrs

from eventstore.docpath import get_path, set_path
from eventstore.errors import ConfigError, Issue, ValidationFailed

Document = dict[str, Any]

DEFAULT_OIDC_PATH: Final = "/oidc/v1"
DEFAULT_COMPANY_NAME: Final = "Parako.ID"
DEFAULT_TENANT: Final = "default"
DEFAULT_MONGODB_URI: Final = "mongodb://localhost:27017"
DEFAULT_MONGODB_DATABASE: Final = "parako-id-dev"
DEFAULT_REDIS_HOST: Final = "localhost"
DEFAULT_REDIS_PORT: Final = 6379
DEFAULT_REDIS_DATABASE: Final = 0
FALLBACK_RP_ID: Final = "localhost"

EMPTY_SECRET_MESSAGE: Final = "Secret is an empty string; delete the field to regenerate it"

#: a private "absent" marker: ``None`` is a value, and docpath's MISSING means "raise"
MISSING_VALUE: Final = object()

_SCHEME = re.compile(r"^(https?)://", re.IGNORECASE)


# --------------------------------------------------------------------------------------------
# Dotted paths: docpath's structural sharing means no rule ever deep-copies a whole document


def _lookup(doc: Mapping[str, Any], path: str) -> tuple[bool, Any]:
    value = get_path(doc, path, MISSING_VALUE)
    return (False, None) if value is MISSING_VALUE else (True, value)


def _assign(doc: Mapping[str, Any], path: str, value: Any) -> Document:
    """A new document with ``value`` at ``path``, creating missing intermediate objects.

    An intermediate that exists but is not an object is an invalid document; overwriting it would
    silently drop the user's value, so it is reported instead.
    """
    try:
        return set_path(doc, path, value)
    except TypeError:
        parts = path.split(".")
        where = next(
            ".".join(parts[: depth + 1])
            for depth in range(len(parts) - 1)
            if not isinstance(get_path(doc, ".".join(parts[: depth + 1]), {}), Mapping)
        )
        raise ValidationFailed([Issue(where, f"must be an object to hold {path}")]) from None


def _text(doc: Mapping[str, Any], path: str) -> str:
    found, value = _lookup(doc, path)
    return value if found and isinstance(value, str) else ""


# --------------------------------------------------------------------------------------------
# A. Generated secrets


class MissingSecretError(ConfigError):
    """Outside development a missing secret is fatal (D8); every missing one is listed at once
    so an operator fixes the environment in a single round trip."""

    def __init__(self, messages: tuple[str, ...], unset: tuple[tuple[str, str], ...] = ()) -> None:
        self.messages = messages
        #: (path, environment variable) of every secret left unset
        self.unset = unset
        super().__init__("\n".join(messages))


@attrs.frozen
class GeneratedSecret:
    """How one secret field is filled when it is missing.

    A list secret has one environment variable (and one label) per element, which is why
    ``env_vars`` and ``labels`` are parallel tuples rather than a single name.
    """

    env_vars: tuple[str, ...]
    labels: tuple[str, ...]
    hex_chars: int
    is_list: bool = False

    def __attrs_post_init__(self) -> None:
        if not self.env_vars or len(self.env_vars) != len(self.labels):
            raise ValueError("every environment variable of a secret needs exactly one label")
        if not self.is_list and len(self.env_vars) != 1:
            raise ValueError("a scalar secret is read from exactly one environment variable")
        if self.hex_chars <= 0 or self.hex_chars % 2:
            raise ValueError("hex_chars must be a positive even number (two per random byte)")

    def fatal_message(self, index: int) -> str:
        """The reference's start-up text (D8), kept verbatim for operators' runbooks."""
        return (
            f"[FATAL] {self.env_vars[index]} is not set. {self.labels[index]} must be explicitly "
            "configured in production. Generate one with: openssl rand -hex 32"
        )


JWT_SECRET: Final = GeneratedSecret(("JWT_SECRET",), ("JWT signing secret",), 128)
COOKIE_SECRETS: Final = GeneratedSecret(
    ("COOKIE_SECRET_1", "COOKIE_SECRET_2"),
    ("Cookie encryption secret 1", "Cookie encryption secret 2"),
    128,
    is_list=True,
)
HMAC_SECRET: Final = GeneratedSecret(("HMAC_SECRET",), ("HMAC signing secret",), 128)
PAIRWISE_SALT: Final = GeneratedSecret(("PAIRWISE_SALT",), ("OIDC pairwise subject salt",), 64)


def _secret_is_missing(found: bool, value: Any) -> bool:
    # '' is deliberately not missing: it signals corruption and must fail validation (D7).
    return not found or value is None or value == []


def resolve_secrets(
    doc: Mapping[str, Any],
    specs: Mapping[str, GeneratedSecret],
    *,
    environment: str,
    environ: Mapping[str, str],
    token_hex: Callable[[int], str] = secrets.token_hex,
) -> tuple[Document, tuple[str, ...]]:
    """Fill missing secrets from the environment, or generate them in development.

    Returns the new document and the paths where at least one value was randomly generated
    (values taken from the environment are not counted), so the caller can tell the operator
    which secrets only exist because this is a development machine.
    """
    result: Document = dict(doc)
    generated: list[str] = []
    fatal: list[str] = []
    unset: list[tuple[str, str]] = []
    for path, spec in specs.items():
        found, current = _lookup(result, path)
        if not _secret_is_missing(found, current):
            continue
        values: list[str] = []
        any_generated = False
        for index, var in enumerate(spec.env_vars):
            from_env = environ.get(var, "")
            if from_env:
                values.append(from_env)
            elif environment == "development":
                values.append(token_hex(spec.hex_chars // 2))
                any_generated = True
            else:
                fatal.append(spec.fatal_message(index))
                unset.append((path, var))
        if len(values) == len(spec.env_vars):
            result = _assign(result, path, values if spec.is_list else values[0])
            if any_generated:
                generated.append(path)
    if fatal:
        raise MissingSecretError(tuple(fatal), tuple(dict.fromkeys(unset)))
    return result, tuple(generated)


# --------------------------------------------------------------------------------------------
# B. Derived fields


@attrs.frozen
class TenantRef:
    """The tenant a config is being computed for; ``custom_domain`` is a bare host name."""

    id: str
    custom_domain: str | None = None


def tenant_base_url(platform_url: str, tenant_id: str | None, custom_domain: str | None) -> str:
    """The public base URL of a tenant (D6).

    Trailing slashes are dropped because callers append paths (``/oidc/v1``) to the result.
    The platform port and path are kept for subdomain tenants so a development setup on
    ``http://localhost:9007`` yields working tenant URLs.
    """
    platform = platform_url.rstrip("/")
    if not tenant_id or tenant_id == DEFAULT_TENANT:
        return platform
    match = _SCHEME.match(platform)
    scheme = match.group(1).lower() if match else "https"
    if custom_domain:
        return f"{scheme}://{custom_domain}"
    if not platform:
        return platform
    rest = platform[match.end() :] if match else platform
    return f"{scheme}://{tenant_id}.{rest}"


def hostname_of(url: str) -> str:
    """Host of ``url`` without port; ``localhost`` when it cannot be parsed."""
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises on a malformed port, like the URL parser of the original
    except ValueError:
        return FALLBACK_RP_ID
    return parts.hostname or FALLBACK_RP_ID


@attrs.frozen
class DerivationContext:
    """The few inputs every derived field depends on, read once per document.

    ``tenant_id`` is ``None`` outside a tenant context (the ``default`` tenant is the platform),
    and the tenant is passed explicitly rather than read from ambient state (docs/decisions.md
    X23), so a platform save made from a tenant's admin portal never persists tenant URLs.
    """

    deployment_url: str
    oidc_path: str = DEFAULT_OIDC_PATH
    company_name: str = DEFAULT_COMPANY_NAME
    tenant_id: str | None = None
    tenant_domain: str | None = None
    base_url: str = ""

    @classmethod
    def from_document(
        cls, doc: Mapping[str, Any], tenant: TenantRef | None = None
    ) -> DerivationContext:
        deployment_url = _text(doc, "deployment.url").rstrip("/")
        tenant_id: str | None = None
        tenant_domain: str | None = None
        if tenant is not None and tenant.id and tenant.id != DEFAULT_TENANT:
            tenant_id, tenant_domain = tenant.id, tenant.custom_domain or None
        base_url = (
            tenant_base_url(deployment_url, tenant_id, tenant_domain) if deployment_url else ""
        )
        return cls(
            deployment_url=deployment_url,
            oidc_path=_text(doc, "oidc.path") or DEFAULT_OIDC_PATH,
            company_name=_text(doc, "branding.companyName") or DEFAULT_COMPANY_NAME,
            tenant_id=tenant_id,
            tenant_domain=tenant_domain,
            base_url=base_url,
        )


class Rule(Protocol):
    """Computes a field from the context and its current value (``None`` when absent).

    Returning the current value leaves the field as it is; a rule never deletes a field.
    """

    def __call__(self, ctx: DerivationContext, current: Any) -> Any: ...


def _is_empty(value: Any) -> bool:
    return value is None or value == ""


class AlwaysDerived:
    """A rule that never keeps the current value: whatever is stored or written at its path is
    replaced, so a write that sets the path must be refused (naming :attr:`derived_from`)
    rather than accepted and silently lost."""

    #: the settings the value follows, as shown to someone who tried to set it
    derived_from: ClassVar[str]


@attrs.frozen
class Issuer(AlwaysDerived):
    """``oidc.issuer`` is always recomputed (D6): tokens must name the URL they are served from."""

    derived_from: ClassVar[str] = "deployment.url and oidc.path"

    def __call__(self, ctx: DerivationContext, current: Any) -> Any:
        return ctx.base_url + ctx.oidc_path if ctx.base_url else current


@attrs.frozen
class FillIfEmpty:
    """A public URL under the base URL, filled only when empty so operators can point it
    elsewhere (e.g. a privacy policy hosted on the company website)."""

    suffix: str

    def __call__(self, ctx: DerivationContext, current: Any) -> Any:
        return ctx.base_url + self.suffix if _is_empty(current) and ctx.base_url else current


@attrs.frozen
class CompanyName(AlwaysDerived):
    """MFA issuer and relying-party names follow ``branding.companyName`` (D6), so renaming the
    company is one edit rather than three."""

    derived_from: ClassVar[str] = "branding.companyName"

    def __call__(self, ctx: DerivationContext, current: Any) -> Any:
        return ctx.company_name


@attrs.frozen
class RpId(AlwaysDerived):
    """WebAuthn ``rp_id`` must be a registrable suffix of every origin that uses it: the platform
    host covers all subdomain tenants; a custom-domain tenant needs its own domain."""

    derived_from: ClassVar[str] = "the host of deployment.url (a tenant's custom domain)"

    def __call__(self, ctx: DerivationContext, current: Any) -> Any:
        if not ctx.deployment_url:
            return current
        if ctx.tenant_id is not None and ctx.tenant_domain:
            return ctx.tenant_domain
        return hostname_of(ctx.deployment_url)


ISSUER: Final = Issuer()
BASE_URL: Final = FillIfEmpty("")
PRIVACY_URL: Final = FillIfEmpty("/privacy")
TERMS_URL: Final = FillIfEmpty("/terms")
DOCS_URL: Final = FillIfEmpty("/docs")
CONTACT_URL: Final = FillIfEmpty("/contact")
COMPANY_NAME: Final = CompanyName()
RP_ID: Final = RpId()


def apply_derived(
    doc: Mapping[str, Any], rules: Mapping[str, Rule], ctx: DerivationContext
) -> Document:
    """Return a copy of ``doc`` with every rule applied; fields a rule leaves alone stay absent."""
    result: Document = dict(doc)
    for path, rule in rules.items():
        found, current = _lookup(result, path)
        value = rule(ctx, current)
        if (found and value == current) or (not found and value is None):
            continue
        result = _assign(result, path, value)
    return result


# --------------------------------------------------------------------------------------------
# C. Storage sections computed from bootstrap (never persisted)


def compute_storage(
    adapter: str = "sqlite",
    *,
    mongodb_uri: str | None = None,
    sqlite_path: str | None = None,
    postgresql_url: str | None = None,
) -> Document:
    """The runtime ``storage`` section, built from the ``STORAGE_*`` bootstrap variables.

    A sub-object exists only when its variable was set, mirroring the bootstrap schema, so a
    reader can tell "configured" from "defaulted".
    """
    storage: Document = {"adapter": adapter}
    if mongodb_uri is not None:
        storage["mongodb"] = {"uri": mongodb_uri}
    if sqlite_path is not None:
        storage["sqlite"] = {"path": sqlite_path}
    if postgresql_url is not None:
        storage["postgresql"] = {"url": postgresql_url}
    return storage


def mongodb_database(uri: str) -> str:
    """Database name from a MongoDB URI's path (decoded), or the development default.

    Parsed by hand rather than with ``urlsplit`` because seed lists (``host1:27017,host2:27017``)
    are not valid URL authorities yet are the normal way to address a replica set.
    """
    scheme, separator, rest = uri.partition("://")
    if not scheme or not separator:
        return DEFAULT_MONGODB_DATABASE
    rest = rest.split("?", 1)[0].split("#", 1)[0]
    _, _, path = rest.partition("/")
    return unquote(path.lstrip("/")) or DEFAULT_MONGODB_DATABASE


def compute_oidc_storage(
    storage_adapter: str = "sqlite",
    *,
    oidc_adapter: str | None = None,
    mongodb_uri: str | None = None,
    redis_host: str | None = None,
    redis_port: int | None = None,
    redis_password: str | None = None,
    redis_database: int | None = None,
) -> Document:
    """The runtime ``oidc_storage`` section, built from the bootstrap variables.

    The MongoDB and Redis sub-objects are always present with their defaults, as in the
    reference, so the OIDC adapter can be switched by one variable; the Redis password is
    omitted when unset rather than stored as ``None``.
    """
    uri = DEFAULT_MONGODB_URI if mongodb_uri is None else mongodb_uri
    redis: Document = {
        "host": DEFAULT_REDIS_HOST if redis_host is None else redis_host,
        "port": DEFAULT_REDIS_PORT if redis_port is None else redis_port,
    }
    if redis_password is not None:
        redis["password"] = redis_password
    redis["database"] = DEFAULT_REDIS_DATABASE if redis_database is None else redis_database
    return {
        "oidc_adapter": {
            "type": storage_adapter if oidc_adapter is None else oidc_adapter,
            "mongodb": {"uri": uri, "database": mongodb_database(uri)},
            "redis": redis,
        }
    }
