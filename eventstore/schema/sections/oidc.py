"""The `oidc` section of the Parako.ID configuration.

Each setting is declared once, here, with its default, its checks and its flags; every list of
paths elsewhere (encrypted, tenant-overridable, bootstrap-only, policy) is derived from these.
"""

from __future__ import annotations

from typing import Any, Final

import attrs

from eventstore import computed
from eventstore.schema.declare import section, setting
from eventstore.schema.kinds import (
    LOCALE,
    ROUTE,
    Choice,
    HttpUrlOrEmpty,
    Integer,
    ListOf,
    Sensitive,
    Text,
)
from eventstore.schema.policy import CEILING
from eventstore.schema.sections.application import SHIPPED_LOCALES
from eventstore.secret import Secret

# The JOSE algorithms (JWA) the `oidc.jwa` lists choose from, by family. HMAC signatures are
# keyed with a client's secret, so they are only offered where the client signs.
ASYMMETRIC_SIGNING: Final = (
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "ES256",
    "ES384",
    "ES512",
    "Ed25519",
    "EdDSA",
)
HMAC_SIGNING: Final = ("HS256", "HS384", "HS512")
KEY_MANAGEMENT: Final = (
    "RSA-OAEP",
    "RSA-OAEP-256",
    "RSA-OAEP-384",
    "RSA-OAEP-512",
    "ECDH-ES",
    "ECDH-ES+A128KW",
    "ECDH-ES+A192KW",
    "ECDH-ES+A256KW",
    "A128KW",
    "A192KW",
    "A256KW",
    "A128GCMKW",
    "A192GCMKW",
    "A256GCMKW",
    "dir",
)
CONTENT_ENCRYPTION: Final = (
    "A128CBC-HS256",
    "A128GCM",
    "A192CBC-HS384",
    "A192GCM",
    "A256CBC-HS512",
    "A256GCM",
)

# What each kind of JWA list offers by default.
DEFAULT_PROOF_SIGNING: Final = ("ES256", "Ed25519", "EdDSA")
DEFAULT_SIGNING: Final = ("RS256", "PS256", "ES256", "Ed25519", "EdDSA")
DEFAULT_CLIENT_SIGNING: Final = ("HS256", *DEFAULT_SIGNING)
DEFAULT_KEY_MANAGEMENT: Final = ("A128KW", "A256KW", "ECDH-ES", "RSA-OAEP", "RSA-OAEP-256", "dir")
DEFAULT_CONTENT_ENCRYPTION: Final = ("A128CBC-HS256", "A128GCM", "A256CBC-HS512", "A256GCM")


def proof_signing_setting() -> Any:
    """Algorithms for proofs a client signs with its own key pair (DPoP, attestation):
    asymmetric only, since there is no shared secret to key an HMAC with."""
    return setting(DEFAULT_PROOF_SIGNING, ListOf(Choice(ASYMMETRIC_SIGNING)))


def signing_setting(*, client_signed: bool = False) -> Any:
    """Algorithms for a signed JWT; ``client_signed`` ones (request objects, client
    authentication) also default to HS256, keyed with the client's secret."""
    return setting(
        DEFAULT_CLIENT_SIGNING if client_signed else DEFAULT_SIGNING,
        ListOf(Choice(ASYMMETRIC_SIGNING + HMAC_SIGNING)),
    )


def key_management_setting() -> Any:
    """Algorithms that encrypt the content key of an encrypted JWT (its ``alg``)."""
    return setting(DEFAULT_KEY_MANAGEMENT, ListOf(Choice(KEY_MANAGEMENT)))


def content_encryption_setting() -> Any:
    """Algorithms that encrypt the content of an encrypted JWT (its ``enc``)."""
    return setting(DEFAULT_CONTENT_ENCRYPTION, ListOf(Choice(CONTENT_ENCRYPTION)))


def ttl_setting(default: int, label: str) -> Any:
    """A token or session lifetime in seconds: positive, and a ceiling for tenants, who may
    shorten it but never extend it."""
    message = f"{label} TTL must be a positive integer"
    return setting(
        default,
        Integer(gt=0, gt_message=message, integer_message=message),
        tenant=True,
        policy=CEILING,
    )


@attrs.frozen
class OidcRoutes:
    """Settings under `oidc.routes`."""

    authorization: str = setting("/authorize", ROUTE)
    userinfo: str = setting("/userinfo", ROUTE)
    registration: str = setting("/register-rp", ROUTE)
    backchannel_authentication: str = setting("/backchannel", ROUTE)
    challenge: str = setting("/challenge", ROUTE)
    code_verification: str = setting("/device", ROUTE)
    device_authorization: str = setting("/device/auth", ROUTE)
    end_session: str = setting("/session/end", ROUTE)
    introspection: str = setting("/token/introspection", ROUTE)
    jwks: str = setting("/jwks", ROUTE)
    pushed_authorization_request: str = setting("/request", ROUTE)
    revocation: str = setting("/token/revocation", ROUTE)
    token: str = setting("/token", ROUTE)


@attrs.frozen
class OidcSecrets:
    """Settings under `oidc.secrets`."""

    pairwise_salt: Secret | None = setting(
        None,
        Sensitive(Text(min_length=1, min_length_message="Pairwise salt cannot be empty")),
        encrypted=True,
        computed=computed.PAIRWISE_SALT,
    )


@attrs.frozen
class TokenTtl:
    """Settings under `oidc.token_ttl`."""

    access_token: int = ttl_setting(3600, "Access token")
    authorization_code: int = ttl_setting(600, "Authorization code")
    backchannel_auth: int = ttl_setting(600, "Backchannel authentication")
    client_credentials: int = ttl_setting(3600, "Client credentials")
    device_code: int = ttl_setting(600, "Device code")
    grant: int = ttl_setting(3600, "Grant")
    id_token: int = ttl_setting(3600, "ID token")
    interaction: int = ttl_setting(600, "Interaction")
    refresh_token: int = ttl_setting(86400, "Refresh token")
    session: int = ttl_setting(86400, "Session")


@attrs.frozen
class Discovery:
    """Settings under `oidc.discovery`."""

    claims_locales_supported: tuple[Any, ...] | None = setting(
        SHIPPED_LOCALES,
        ListOf(LOCALE, unique=True),
        nullable=True,
        tenant=True,
    )
    display_values_supported: tuple[Any, ...] | None = setting(
        ("page",),
        ListOf(Choice(("page", "popup", "touch", "wap")), unique=True),
        nullable=True,
        tenant=True,
    )
    op_policy_uri: str | None = setting(
        "",
        HttpUrlOrEmpty("OP policy URI"),
        nullable=True,
        tenant=True,
        computed=computed.PRIVACY_URL,
    )
    op_tos_uri: str | None = setting(
        "",
        HttpUrlOrEmpty("OP terms of service URI"),
        nullable=True,
        tenant=True,
        computed=computed.TERMS_URL,
    )
    service_documentation: str | None = setting(
        "",
        HttpUrlOrEmpty("Service documentation URI"),
        nullable=True,
        tenant=True,
        computed=computed.DOCS_URL,
    )
    ui_locales_supported: tuple[Any, ...] | None = setting(
        SHIPPED_LOCALES,
        ListOf(LOCALE, unique=True),
        nullable=True,
    )


@attrs.frozen
class Jwa:
    """Settings under `oidc.jwa`."""

    attest_signing_alg_values: tuple[Any, ...] = proof_signing_setting()
    authorization_encryption_alg_values: tuple[Any, ...] = key_management_setting()
    authorization_encryption_enc_values: tuple[Any, ...] = content_encryption_setting()
    authorization_signing_alg_values: tuple[Any, ...] = signing_setting()
    client_auth_signing_alg_values: tuple[Any, ...] = signing_setting(client_signed=True)
    dpop_signing_alg_values: tuple[Any, ...] = proof_signing_setting()
    id_token_encryption_alg_values: tuple[Any, ...] = key_management_setting()
    id_token_encryption_enc_values: tuple[Any, ...] = content_encryption_setting()
    id_token_signing_alg_values: tuple[Any, ...] = signing_setting()
    introspection_encryption_alg_values: tuple[Any, ...] = key_management_setting()
    introspection_encryption_enc_values: tuple[Any, ...] = content_encryption_setting()
    introspection_signing_alg_values: tuple[Any, ...] = signing_setting()
    request_object_encryption_alg_values: tuple[Any, ...] = key_management_setting()
    request_object_encryption_enc_values: tuple[Any, ...] = content_encryption_setting()
    request_object_signing_alg_values: tuple[Any, ...] = signing_setting(client_signed=True)
    userinfo_encryption_alg_values: tuple[Any, ...] = key_management_setting()
    userinfo_encryption_enc_values: tuple[Any, ...] = content_encryption_setting()
    userinfo_signing_alg_values: tuple[Any, ...] = signing_setting()


@attrs.frozen
class Oidc:
    """Settings under `oidc`."""

    issuer: str = setting(
        "",
        Text(url=True, url_message="OIDC issuer must be a valid URL"),
        computed=computed.ISSUER,
    )
    path: str = setting(
        "/oidc/v1",
        Text(
            min_length=2,
            min_length_message='OIDC path cannot be just "/"',
            starts_with="/",
            starts_with_message="OIDC path must start with /",
        ),
    )
    routes: OidcRoutes = section(OidcRoutes)
    secrets: OidcSecrets = section(OidcSecrets)
    token_ttl: TokenTtl = section(TokenTtl)
    discovery: Discovery = section(Discovery)
    jwa: Jwa = section(Jwa)
