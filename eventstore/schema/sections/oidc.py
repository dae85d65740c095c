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


def proof_signing_setting(*, label: str = "", help: str = "") -> Any:
    """Algorithms for proofs a client signs with its own key pair (DPoP, attestation):
    asymmetric only, since there is no shared secret to key an HMAC with."""
    return setting(
        DEFAULT_PROOF_SIGNING, ListOf(Choice(ASYMMETRIC_SIGNING)), label=label, help=help
    )


def signing_setting(*, client_signed: bool = False, label: str = "", help: str = "") -> Any:
    """Algorithms for a signed JWT; ``client_signed`` ones (request objects, client
    authentication) also default to HS256, keyed with the client's secret."""
    return setting(
        DEFAULT_CLIENT_SIGNING if client_signed else DEFAULT_SIGNING,
        ListOf(Choice(ASYMMETRIC_SIGNING + HMAC_SIGNING)),
        label=label,
        help=help,
    )


def key_management_setting(*, label: str = "", help: str = "") -> Any:
    """Algorithms that encrypt the content key of an encrypted JWT (its ``alg``)."""
    return setting(DEFAULT_KEY_MANAGEMENT, ListOf(Choice(KEY_MANAGEMENT)), label=label, help=help)


def content_encryption_setting(*, label: str = "", help: str = "") -> Any:
    """Algorithms that encrypt the content of an encrypted JWT (its ``enc``)."""
    return setting(
        DEFAULT_CONTENT_ENCRYPTION, ListOf(Choice(CONTENT_ENCRYPTION)), label=label, help=help
    )


def ttl_setting(default: int, label: str, *, help: str = "") -> Any:
    """A token or session lifetime in seconds: positive, and a ceiling for tenants, who may
    shorten it but never extend it. ``label`` names the token, in its messages and its label."""
    message = f"{label} TTL must be a positive integer"
    return setting(
        default,
        Integer(gt=0, gt_message=message, integer_message=message),
        tenant=True,
        policy=CEILING,
        label=f"{label} lifetime (s)",
        help=help,
    )


@attrs.frozen(weakref_slot=False)
class OidcRoutes:
    """Settings under `oidc.routes`."""

    authorization: str = setting(
        "/authorize",
        ROUTE,
        label="Authorization endpoint",
        help="Path of the endpoint where clients send users to sign in and consent (authorization requests).",
    )
    userinfo: str = setting(
        "/userinfo",
        ROUTE,
        label="UserInfo endpoint",
        help="Path of the endpoint where clients read the signed-in user's claims with an access token.",
    )
    registration: str = setting(
        "/register-rp",
        ROUTE,
        label="Client registration endpoint",
        help="Path of the endpoint where clients register themselves (dynamic client registration).",
    )
    backchannel_authentication: str = setting(
        "/backchannel",
        ROUTE,
        label="Backchannel authentication endpoint",
        help="Path of the endpoint where clients start a decoupled (CIBA) authentication.",
    )
    challenge: str = setting(
        "/challenge",
        ROUTE,
        label="Challenge endpoint",
        help="Path of the endpoint where clients fetch a challenge (nonce) for attested client authentication.",
    )
    code_verification: str = setting(
        "/device",
        ROUTE,
        label="Device verification page",
        help="Path of the endpoint the page where a user enters the code shown on a device (device flow).",
    )
    device_authorization: str = setting(
        "/device/auth",
        ROUTE,
        label="Device authorization endpoint",
        help="Path of the endpoint where a device asks for a user code and device code (device flow).",
    )
    end_session: str = setting(
        "/session/end",
        ROUTE,
        label="End-session endpoint",
        help="Path of the endpoint where clients send users to sign out (RP-initiated logout).",
    )
    introspection: str = setting(
        "/token/introspection",
        ROUTE,
        label="Introspection endpoint",
        help="Path of the endpoint where resource servers ask whether a token is active.",
    )
    jwks: str = setting(
        "/jwks",
        ROUTE,
        label="JWKS endpoint",
        help="Path of the endpoint where the provider publishes its public signing keys.",
    )
    pushed_authorization_request: str = setting(
        "/request",
        ROUTE,
        label="Pushed authorization request endpoint",
        help="Path of the endpoint where clients push authorization parameters before redirecting (PAR).",
    )
    revocation: str = setting(
        "/token/revocation",
        ROUTE,
        label="Revocation endpoint",
        help="Path of the endpoint where clients revoke access and refresh tokens.",
    )
    token: str = setting(
        "/token",
        ROUTE,
        label="Token endpoint",
        help="Path of the endpoint where clients exchange codes and grants for tokens.",
    )


@attrs.frozen(weakref_slot=False)
class OidcSecrets:
    """Settings under `oidc.secrets`."""

    pairwise_salt: Secret | None = setting(
        None,
        Sensitive(Text(min_length=1, min_length_message="Pairwise salt cannot be empty")),
        encrypted=True,
        computed=computed.PAIRWISE_SALT,
        label="Pairwise salt",
        help="Salt that makes pairwise subject IDs differ per client; generated in development (PAIRWISE_SALT).",
    )


@attrs.frozen(weakref_slot=False)
class TokenTtl:
    """Settings under `oidc.token_ttl`."""

    access_token: int = ttl_setting(
        3600,
        "Access token",
        help="How long an access token is valid, in seconds; tenants may shorten it, not extend it.",
    )
    authorization_code: int = ttl_setting(
        600,
        "Authorization code",
        help="How long an authorization code can be exchanged, in seconds; keep it short.",
    )
    backchannel_auth: int = ttl_setting(
        600,
        "Backchannel authentication",
        help="How long a backchannel (CIBA) authentication request stays pending, in seconds.",
    )
    client_credentials: int = ttl_setting(
        3600,
        "Client credentials",
        help="How long an access token from the client-credentials grant is valid, in seconds.",
    )
    device_code: int = ttl_setting(
        600, "Device code", help="How long a device-flow code waits for the user, in seconds."
    )
    grant: int = ttl_setting(
        3600, "Grant", help="How long a user's grant to an application is remembered, in seconds."
    )
    id_token: int = ttl_setting(3600, "ID token", help="How long an ID token is valid, in seconds.")
    interaction: int = ttl_setting(
        600, "Interaction", help="How long a sign-in or consent interaction may take, in seconds."
    )
    refresh_token: int = ttl_setting(
        86400, "Refresh token", help="How long a refresh token is valid, in seconds."
    )
    session: int = ttl_setting(
        86400, "Session", help="How long a provider session lasts, in seconds."
    )


@attrs.frozen(weakref_slot=False)
class Discovery:
    """Settings under `oidc.discovery`."""

    claims_locales_supported: tuple[Any, ...] | None = setting(
        SHIPPED_LOCALES,
        ListOf(LOCALE, unique=True),
        nullable=True,
        tenant=True,
        label="Claim languages",
        help="Languages claims can be returned in, one per line.",
    )
    display_values_supported: tuple[Any, ...] | None = setting(
        ("page",),
        ListOf(Choice(("page", "popup", "touch", "wap")), unique=True),
        nullable=True,
        tenant=True,
        label="Display modes",
        help="How sign-in pages can be displayed: page, popup, touch, wap.",
    )
    op_policy_uri: str | None = setting(
        "",
        HttpUrlOrEmpty("OP policy URI"),
        nullable=True,
        tenant=True,
        computed=computed.PRIVACY_URL,
        label="Privacy policy URL",
        help="Published privacy policy; empty uses the public URL + /privacy.",
    )
    op_tos_uri: str | None = setting(
        "",
        HttpUrlOrEmpty("OP terms of service URI"),
        nullable=True,
        tenant=True,
        computed=computed.TERMS_URL,
        label="Terms of service URL",
        help="Published terms of service; empty uses the public URL + /terms.",
    )
    service_documentation: str | None = setting(
        "",
        HttpUrlOrEmpty("Service documentation URI"),
        nullable=True,
        tenant=True,
        computed=computed.DOCS_URL,
        label="Documentation URL",
        help="Published developer documentation; empty uses the public URL + /docs.",
    )
    ui_locales_supported: tuple[Any, ...] | None = setting(
        SHIPPED_LOCALES,
        ListOf(LOCALE, unique=True),
        nullable=True,
        label="Interface languages",
        help="Languages the sign-in pages can be shown in, one per line.",
    )


@attrs.frozen(weakref_slot=False)
class Jwa:
    """Settings under `oidc.jwa`."""

    attest_signing_alg_values: tuple[Any, ...] = proof_signing_setting(
        label="Client attestation signing algorithms",
        help="Algorithms accepted for client attestation proofs (asymmetric only).",
    )
    authorization_encryption_alg_values: tuple[Any, ...] = key_management_setting(
        label="Authorization response encryption (alg)",
        help="Key-management algorithms offered for encrypted (JARM) authorization responses.",
    )
    authorization_encryption_enc_values: tuple[Any, ...] = content_encryption_setting(
        label="Authorization response encryption (enc)",
        help="Content-encryption algorithms offered for encrypted (JARM) authorization responses.",
    )
    authorization_signing_alg_values: tuple[Any, ...] = signing_setting(
        label="Authorization response signing",
        help="Algorithms offered for signing JWT (JARM) authorization responses.",
    )
    client_auth_signing_alg_values: tuple[Any, ...] = signing_setting(
        client_signed=True,
        label="Client authentication signing",
        help="Algorithms accepted for client assertions (private_key_jwt, client_secret_jwt).",
    )
    dpop_signing_alg_values: tuple[Any, ...] = proof_signing_setting(
        label="DPoP proof signing",
        help="Algorithms accepted for DPoP proofs that bind tokens to a client key (asymmetric only).",
    )
    id_token_encryption_alg_values: tuple[Any, ...] = key_management_setting(
        label="ID token encryption (alg)",
        help="Key-management algorithms offered for encrypted ID tokens.",
    )
    id_token_encryption_enc_values: tuple[Any, ...] = content_encryption_setting(
        label="ID token encryption (enc)",
        help="Content-encryption algorithms offered for encrypted ID tokens.",
    )
    id_token_signing_alg_values: tuple[Any, ...] = signing_setting(
        label="ID token signing", help="Algorithms the provider can sign ID tokens with."
    )
    introspection_encryption_alg_values: tuple[Any, ...] = key_management_setting(
        label="Introspection response encryption (alg)",
        help="Key-management algorithms offered for encrypted JWT introspection responses.",
    )
    introspection_encryption_enc_values: tuple[Any, ...] = content_encryption_setting(
        label="Introspection response encryption (enc)",
        help="Content-encryption algorithms offered for encrypted JWT introspection responses.",
    )
    introspection_signing_alg_values: tuple[Any, ...] = signing_setting(
        label="Introspection response signing",
        help="Algorithms offered for signing JWT introspection responses.",
    )
    request_object_encryption_alg_values: tuple[Any, ...] = key_management_setting(
        label="Request object encryption (alg)",
        help="Key-management algorithms accepted for encrypted request objects.",
    )
    request_object_encryption_enc_values: tuple[Any, ...] = content_encryption_setting(
        label="Request object encryption (enc)",
        help="Content-encryption algorithms accepted for encrypted request objects.",
    )
    request_object_signing_alg_values: tuple[Any, ...] = signing_setting(
        client_signed=True,
        label="Request object signing",
        help="Algorithms accepted for signed request objects (JAR).",
    )
    userinfo_encryption_alg_values: tuple[Any, ...] = key_management_setting(
        label="UserInfo encryption (alg)",
        help="Key-management algorithms offered for encrypted UserInfo responses.",
    )
    userinfo_encryption_enc_values: tuple[Any, ...] = content_encryption_setting(
        label="UserInfo encryption (enc)",
        help="Content-encryption algorithms offered for encrypted UserInfo responses.",
    )
    userinfo_signing_alg_values: tuple[Any, ...] = signing_setting(
        label="UserInfo signing", help="Algorithms offered for signing UserInfo responses as JWTs."
    )


@attrs.frozen(weakref_slot=False)
class Oidc:
    """Settings under `oidc`."""

    issuer: str = setting(
        "",
        Text(url=True, url_message="OIDC issuer must be a valid URL"),
        computed=computed.ISSUER,
        label="Issuer",
        help="The provider's issuer URL; always the public URL followed by the OIDC path.",
    )
    path: str = setting(
        "/oidc/v1",
        Text(
            min_length=2,
            min_length_message='OIDC path cannot be just "/"',
            starts_with="/",
            starts_with_message="OIDC path must start with /",
        ),
        label="OIDC path",
        help="Path the provider is mounted at, under the public URL.",
    )
    routes: OidcRoutes = section(
        OidcRoutes,
        label="Endpoint paths",
        help="Paths of the provider's endpoints, under the OIDC path.",
    )
    secrets: OidcSecrets = section(
        OidcSecrets, label="OIDC secrets", help="Secrets of the OIDC provider."
    )
    token_ttl: TokenTtl = section(
        TokenTtl,
        label="Token lifetimes",
        help="How long each kind of token or artefact is valid, in seconds; tenants may only shorten them.",
    )
    discovery: Discovery = section(
        Discovery,
        label="Discovery metadata",
        help="Values published in the OpenID Connect discovery document.",
    )
    jwa: Jwa = section(
        Jwa,
        label="Algorithms (JWA)",
        help="Which signing and encryption algorithms the provider offers and accepts.",
    )
