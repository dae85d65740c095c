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
from eventstore.secret import Secret

# The JOSE algorithm families the JWA lists choose from.
ASYMMETRIC_SIGNING_ALGS: Final = ListOf(
    Choice(
        (
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
    )
)
KEY_MANAGEMENT_ALGS: Final = ListOf(
    Choice(
        (
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
    )
)
CONTENT_ENCRYPTION_ALGS: Final = ListOf(
    Choice(("A128CBC-HS256", "A128GCM", "A192CBC-HS384", "A192GCM", "A256CBC-HS512", "A256GCM"))
)
SIGNING_ALGS: Final = ListOf(
    Choice(
        (
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
            "HS256",
            "HS384",
            "HS512",
        )
    )
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

    access_token: int = setting(
        3600,
        Integer(
            gt=0,
            gt_message="Access token TTL must be a positive integer",
            integer_message="Access token TTL must be a positive integer",
        ),
        tenant=True,
        policy=CEILING,
    )
    authorization_code: int = setting(
        600,
        Integer(
            gt=0,
            gt_message="Authorization code TTL must be a positive integer",
            integer_message="Authorization code TTL must be a positive integer",
        ),
        tenant=True,
        policy=CEILING,
    )
    backchannel_auth: int = setting(
        600,
        Integer(
            gt=0,
            gt_message="Backchannel authentication TTL must be a positive integer",
            integer_message="Backchannel authentication TTL must be a positive integer",
        ),
        tenant=True,
        policy=CEILING,
    )
    client_credentials: int = setting(
        3600,
        Integer(
            gt=0,
            gt_message="Client credentials TTL must be a positive integer",
            integer_message="Client credentials TTL must be a positive integer",
        ),
        tenant=True,
        policy=CEILING,
    )
    device_code: int = setting(
        600,
        Integer(
            gt=0,
            gt_message="Device code TTL must be a positive integer",
            integer_message="Device code TTL must be a positive integer",
        ),
        tenant=True,
        policy=CEILING,
    )
    grant: int = setting(
        3600,
        Integer(
            gt=0,
            gt_message="Grant TTL must be a positive integer",
            integer_message="Grant TTL must be a positive integer",
        ),
        tenant=True,
        policy=CEILING,
    )
    id_token: int = setting(
        3600,
        Integer(
            gt=0,
            gt_message="ID token TTL must be a positive integer",
            integer_message="ID token TTL must be a positive integer",
        ),
        tenant=True,
        policy=CEILING,
    )
    interaction: int = setting(
        600,
        Integer(
            gt=0,
            gt_message="Interaction TTL must be a positive integer",
            integer_message="Interaction TTL must be a positive integer",
        ),
        tenant=True,
        policy=CEILING,
    )
    refresh_token: int = setting(
        86400,
        Integer(
            gt=0,
            gt_message="Refresh token TTL must be a positive integer",
            integer_message="Refresh token TTL must be a positive integer",
        ),
        tenant=True,
        policy=CEILING,
    )
    session: int = setting(
        86400,
        Integer(
            gt=0,
            gt_message="Session TTL must be a positive integer",
            integer_message="Session TTL must be a positive integer",
        ),
        tenant=True,
        policy=CEILING,
    )


@attrs.frozen
class Discovery:
    """Settings under `oidc.discovery`."""

    claims_locales_supported: tuple[Any, ...] | None = setting(
        ("en", "fr", "es", "pt", "de", "it", "ru", "zh", "ja", "ko"),
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
        ("en", "fr", "es", "pt", "de", "it", "ru", "zh", "ja", "ko"),
        ListOf(LOCALE, unique=True),
        nullable=True,
    )


@attrs.frozen
class Jwa:
    """Settings under `oidc.jwa`."""

    attest_signing_alg_values: tuple[Any, ...] = setting(
        ("ES256", "Ed25519", "EdDSA"),
        ASYMMETRIC_SIGNING_ALGS,
    )
    authorization_encryption_alg_values: tuple[Any, ...] = setting(
        ("A128KW", "A256KW", "ECDH-ES", "RSA-OAEP", "RSA-OAEP-256", "dir"),
        KEY_MANAGEMENT_ALGS,
    )
    authorization_encryption_enc_values: tuple[Any, ...] = setting(
        ("A128CBC-HS256", "A128GCM", "A256CBC-HS512", "A256GCM"),
        CONTENT_ENCRYPTION_ALGS,
    )
    authorization_signing_alg_values: tuple[Any, ...] = setting(
        ("RS256", "PS256", "ES256", "Ed25519", "EdDSA"),
        SIGNING_ALGS,
    )
    client_auth_signing_alg_values: tuple[Any, ...] = setting(
        ("HS256", "RS256", "PS256", "ES256", "Ed25519", "EdDSA"),
        SIGNING_ALGS,
    )
    dpop_signing_alg_values: tuple[Any, ...] = setting(
        ("ES256", "Ed25519", "EdDSA"),
        ASYMMETRIC_SIGNING_ALGS,
    )
    id_token_encryption_alg_values: tuple[Any, ...] = setting(
        ("A128KW", "A256KW", "ECDH-ES", "RSA-OAEP", "RSA-OAEP-256", "dir"),
        KEY_MANAGEMENT_ALGS,
    )
    id_token_encryption_enc_values: tuple[Any, ...] = setting(
        ("A128CBC-HS256", "A128GCM", "A256CBC-HS512", "A256GCM"),
        CONTENT_ENCRYPTION_ALGS,
    )
    id_token_signing_alg_values: tuple[Any, ...] = setting(
        ("RS256", "PS256", "ES256", "Ed25519", "EdDSA"),
        SIGNING_ALGS,
    )
    introspection_encryption_alg_values: tuple[Any, ...] = setting(
        ("A128KW", "A256KW", "ECDH-ES", "RSA-OAEP", "RSA-OAEP-256", "dir"),
        KEY_MANAGEMENT_ALGS,
    )
    introspection_encryption_enc_values: tuple[Any, ...] = setting(
        ("A128CBC-HS256", "A128GCM", "A256CBC-HS512", "A256GCM"),
        CONTENT_ENCRYPTION_ALGS,
    )
    introspection_signing_alg_values: tuple[Any, ...] = setting(
        ("RS256", "PS256", "ES256", "Ed25519", "EdDSA"),
        SIGNING_ALGS,
    )
    request_object_encryption_alg_values: tuple[Any, ...] = setting(
        ("A128KW", "A256KW", "ECDH-ES", "RSA-OAEP", "RSA-OAEP-256", "dir"),
        KEY_MANAGEMENT_ALGS,
    )
    request_object_encryption_enc_values: tuple[Any, ...] = setting(
        ("A128CBC-HS256", "A128GCM", "A256CBC-HS512", "A256GCM"),
        CONTENT_ENCRYPTION_ALGS,
    )
    request_object_signing_alg_values: tuple[Any, ...] = setting(
        ("HS256", "RS256", "PS256", "ES256", "Ed25519", "EdDSA"),
        SIGNING_ALGS,
    )
    userinfo_encryption_alg_values: tuple[Any, ...] = setting(
        ("A128KW", "A256KW", "ECDH-ES", "RSA-OAEP", "RSA-OAEP-256", "dir"),
        KEY_MANAGEMENT_ALGS,
    )
    userinfo_encryption_enc_values: tuple[Any, ...] = setting(
        ("A128CBC-HS256", "A128GCM", "A256CBC-HS512", "A256GCM"),
        CONTENT_ENCRYPTION_ALGS,
    )
    userinfo_signing_alg_values: tuple[Any, ...] = setting(
        ("RS256", "PS256", "ES256", "Ed25519", "EdDSA"),
        SIGNING_ALGS,
    )


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
