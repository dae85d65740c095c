"""The `features` section of the Parako.ID configuration.

Each setting is declared once, here, with its default, its checks and its flags; every list of
paths elsewhere (encrypted, tenant-overridable, bootstrap-only, policy) is derived from these.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import attrs

from eventstore.schema.declare import section, setting
from eventstore.schema.kinds import (
    TEXT,
    Boolean,
    Choice,
    Integer,
    ListOf,
    MapOf,
    Number,
    Pattern,
    Sensitive,
    Text,
)
from eventstore.secret import Secret


@attrs.frozen
class DevInteractions:
    """Settings under `features.oidc.dev_interactions`."""

    enabled: bool = setting(False, Boolean())


@attrs.frozen
class DeviceFlow:
    """Settings under `features.oidc.device_flow`."""

    enabled: bool = setting(True, Boolean())
    charset: str = setting("digits", Choice(("digits", "base-20")))
    mask: str = setting(
        "***-*-***",
        Text(
            min_length=1,
            min_length_message="Device code mask cannot be empty",
            patterns=(
                Pattern(
                    "^[-* ]*$", "Device code mask can only contain asterisks, hyphens, and spaces"
                ),
            ),
        ),
    )


@attrs.frozen
class ClientCredentials:
    """Settings under `features.oidc.client_credentials`."""

    enabled: bool = setting(True, Boolean())


@attrs.frozen
class TokenRevocation:
    """Settings under `features.oidc.token_revocation`."""

    enabled: bool = setting(True, Boolean())


@attrs.frozen
class TokenIntrospection:
    """Settings under `features.oidc.token_introspection`."""

    enabled: bool = setting(True, Boolean())


@attrs.frozen
class JwtIntrospection:
    """Settings under `features.oidc.jwt_introspection`."""

    enabled: bool = setting(False, Boolean())


@attrs.frozen
class UserinfoEndpoint:
    """Settings under `features.oidc.userinfo_endpoint`."""

    enabled: bool = setting(True, Boolean())


@attrs.frozen
class ResourceIndicators:
    """Settings under `features.oidc.resource_indicators`."""

    enabled: bool = setting(True, Boolean())


@attrs.frozen
class RpInitiatedLogout:
    """Settings under `features.oidc.rp_initiated_logout`."""

    enabled: bool = setting(True, Boolean())


@attrs.frozen
class BackchannelLogout:
    """Settings under `features.oidc.backchannel_logout`."""

    enabled: bool = setting(True, Boolean())


@attrs.frozen
class DynamicClientRegistration:
    """Settings under `features.oidc.dynamic_client_registration`."""

    enabled: bool = setting(False, Boolean())
    require_initial_access_token: bool = setting(True, Boolean(html=True))
    issue_registration_access_token: bool = setting(True, Boolean())


@attrs.frozen
class ClientRegistrationManagement:
    """Settings under `features.oidc.client_registration_management`."""

    enabled: bool = setting(False, Boolean())
    rotate_registration_access_token: bool = setting(True, Boolean())


@attrs.frozen
class Pkce:
    """Settings under `features.oidc.pkce`."""

    enabled: bool = setting(True, Boolean())
    required: bool = setting(True, Boolean())


@attrs.frozen
class ExtraParams:
    """Settings under `features.oidc.extra_params`."""

    enabled: bool = setting(True, Boolean())
    allowed_params: tuple[Any, ...] = setting(
        (
            "utm_source",
            "utm_medium",
            "utm_campaign",
            "utm_term",
            "utm_content",
            "tenant_id",
            "app_id",
            "continue",
        ),
        ListOf(TEXT),
    )


@attrs.frozen
class AcrValues:
    """Settings under `features.oidc.acr_values`."""

    supported: tuple[Any, ...] = setting(("urn:mfa:otp", "urn:mfa:webauthn"), ListOf(TEXT))


@attrs.frozen
class Encryption:
    """Settings under `features.oidc.encryption`."""

    enabled: bool = setting(False, Boolean())


@attrs.frozen
class JwtResponseModes:
    """Settings under `features.oidc.jwt_response_modes`."""

    enabled: bool = setting(False, Boolean())


@attrs.frozen
class JwtUserinfo:
    """Settings under `features.oidc.jwt_userinfo`."""

    enabled: bool = setting(False, Boolean())


@attrs.frozen
class RequestObjects:
    """Settings under `features.oidc.request_objects`."""

    enabled: bool = setting(True, Boolean())


@attrs.frozen
class ExtraClientMetadata:
    """Settings under `features.oidc.extra_client_metadata`."""

    properties: tuple[Any, ...] = setting(
        ("allowedResources", "resourcesScopes", "isInternalClient", "ttl"), ListOf(TEXT)
    )


@attrs.frozen
class FeaturesOidc:
    """Settings under `features.oidc`."""

    dev_interactions: DevInteractions = section(DevInteractions)
    device_flow: DeviceFlow = section(DeviceFlow)
    client_credentials: ClientCredentials = section(ClientCredentials)
    token_revocation: TokenRevocation = section(TokenRevocation)
    token_introspection: TokenIntrospection = section(TokenIntrospection)
    jwt_introspection: JwtIntrospection = section(JwtIntrospection)
    userinfo_endpoint: UserinfoEndpoint = section(UserinfoEndpoint)
    resource_indicators: ResourceIndicators = section(ResourceIndicators)
    rp_initiated_logout: RpInitiatedLogout = section(RpInitiatedLogout)
    backchannel_logout: BackchannelLogout = section(BackchannelLogout)
    dynamic_client_registration: DynamicClientRegistration = section(DynamicClientRegistration)
    client_registration_management: ClientRegistrationManagement = section(
        ClientRegistrationManagement
    )
    pkce: Pkce = section(Pkce)
    extra_params: ExtraParams = section(ExtraParams)
    accept_query_param_access_tokens: bool = setting(False, Boolean())
    conform_id_token_claims: bool = setting(False, Boolean())
    allow_omitting_single_registered_redirect_uri: bool = setting(True, Boolean())
    enable_http_post_methods: bool = setting(False, Boolean())
    expires_with_session: bool = setting(True, Boolean())
    rotate_refresh_token: bool = setting(True, Boolean())
    client_based_cors: bool = setting(True, Boolean())
    clock_tolerance: int = setting(15, Integer(min=0))
    acr_values: AcrValues = section(AcrValues)
    claims: Mapping[str, Any] | None = setting(
        {
            "openid": ("sub",),
            "profile": ("name", "family_name", "given_name", "picture", "locale", "username"),
            "email": ("email", "email_verified"),
            "phone": ("phone_number", "phone_number_verified"),
            "address": ("address",),
            "custom_identifiers": (),
        },
        MapOf(ListOf(TEXT)),
        nullable=True,
    )
    scopes: tuple[Any, ...] = setting(
        ("openid", "profile", "email", "phone", "address", "offline_access", "custom_identifiers"),
        ListOf(TEXT),
    )
    subject_types: tuple[Any, ...] = setting(
        ("public", "pairwise"),
        ListOf(
            Choice(("public", "pairwise")),
            min_items=1,
            min_items_message="At least one OIDC subject type must be enabled",
        ),
    )
    allow_omitting_single_registered_redirect_uri_legacy: bool = setting(
        True, Boolean(), key="allowOmittingSingleRegisteredRedirectUri"
    )
    encryption: Encryption = section(Encryption)
    jwt_response_modes: JwtResponseModes = section(JwtResponseModes)
    jwt_userinfo: JwtUserinfo = section(JwtUserinfo)
    request_objects: RequestObjects = section(RequestObjects)
    extra_client_metadata: ExtraClientMetadata = section(ExtraClientMetadata)


@attrs.frozen
class Options:
    """Settings under `features.social_providers.behavior.options`."""

    allow_multiple_providers: bool = setting(True, Boolean())
    auto_verify_email: bool = setting(True, Boolean())
    show_helpful_errors: bool = setting(False, Boolean())
    max_providers_per_user: float = setting(5, Number(min=1, max=10))


@attrs.frozen
class Behavior:
    """Settings under `features.social_providers.behavior`."""

    existing_user_no_integration: str = setting(
        "require_manual_link", Choice(("auto_link", "require_manual_link"))
    )
    no_user_account: str = setting(
        "allow_registration", Choice(("allow_registration", "require_existing_account"))
    )
    missing_contact_info: str = setting(
        "redirect_to_form", Choice(("redirect_to_form", "reject_login"))
    )
    require_password_on_registration: bool = setting(False, Boolean())
    options: Options = section(Options)


def client_id_setting(label: str) -> Any:
    """A provider's OAuth client ID: optional, overridable per tenant."""
    return setting(
        None,
        Text(trim=True, min_length=1, min_length_message=f"{label} client ID cannot be empty"),
        nullable=True,
        tenant=True,
    )


def client_secret_setting(label: str) -> Any:
    """A provider's OAuth client secret: encrypted at rest (per tenant too when overridden)."""
    return setting(
        None,
        Sensitive(
            Text(
                trim=True, min_length=1, min_length_message=f"{label} client secret cannot be empty"
            )
        ),
        nullable=True,
        encrypted=True,
        tenant_encrypted=True,
        tenant=True,
    )


@attrs.frozen
class Google:
    """Settings under `features.social_providers.google`."""

    client_id: str | None = client_id_setting("Google")
    client_secret: Secret | None = client_secret_setting("Google")
    discovery_url: str = setting(
        "https://accounts.google.com/.well-known/openid-configuration",
        Text(url=True, url_message="Google discovery URL must be a valid URL"),
    )
    scopes: tuple[Any, ...] = setting(("openid", "profile", "email"), ListOf(TEXT))


@attrs.frozen
class Github:
    """Settings under `features.social_providers.github`."""

    client_id: str | None = client_id_setting("GitHub")
    client_secret: Secret | None = client_secret_setting("GitHub")
    authorization_endpoint: str = setting(
        "https://github.com/login/oauth/authorize",
        Text(url=True, url_message="GitHub authorization endpoint must be a valid URL"),
    )
    token_endpoint: str = setting(
        "https://github.com/login/oauth/access_token",
        Text(url=True, url_message="GitHub token endpoint must be a valid URL"),
    )
    userinfo_endpoint: str = setting(
        "https://api.github.com/user",
        Text(url=True, url_message="GitHub userinfo endpoint must be a valid URL"),
    )
    scopes: tuple[Any, ...] = setting(("user:email",), ListOf(TEXT))


@attrs.frozen
class Microsoft:
    """Settings under `features.social_providers.microsoft`."""

    client_id: str | None = client_id_setting("Microsoft")
    client_secret: Secret | None = client_secret_setting("Microsoft")
    discovery_url: str = setting(
        "https://login.microsoftonline.com/common/v2.0/.well-known/openid-configuration",
        Text(url=True, url_message="Microsoft discovery URL must be a valid URL"),
    )
    scopes: tuple[Any, ...] = setting(("openid", "profile", "email"), ListOf(TEXT))


@attrs.frozen
class Linkedin:
    """Settings under `features.social_providers.linkedin`."""

    client_id: str | None = client_id_setting("LinkedIn")
    client_secret: Secret | None = client_secret_setting("LinkedIn")
    authorization_endpoint: str = setting(
        "https://www.linkedin.com/oauth/v2/authorization",
        Text(url=True, url_message="LinkedIn authorization endpoint must be a valid URL"),
    )
    token_endpoint: str = setting(
        "https://www.linkedin.com/oauth/v2/accessToken",
        Text(url=True, url_message="LinkedIn token endpoint must be a valid URL"),
    )
    userinfo_endpoint: str = setting(
        "https://api.linkedin.com/v2/userinfo",
        Text(url=True, url_message="LinkedIn userinfo endpoint must be a valid URL"),
    )
    scopes: tuple[Any, ...] = setting(("openid", "profile", "email"), ListOf(TEXT))


@attrs.frozen
class Facebook:
    """Settings under `features.social_providers.facebook`."""

    client_id: str | None = client_id_setting("Facebook")
    client_secret: Secret | None = client_secret_setting("Facebook")
    authorization_endpoint: str = setting(
        "https://www.facebook.com/v19.0/dialog/oauth",
        Text(url=True, url_message="Facebook authorization endpoint must be a valid URL"),
    )
    token_endpoint: str = setting(
        "https://graph.facebook.com/v19.0/oauth/access_token",
        Text(url=True, url_message="Facebook token endpoint must be a valid URL"),
    )
    userinfo_endpoint: str = setting(
        "https://graph.facebook.com/me",
        Text(url=True, url_message="Facebook userinfo endpoint must be a valid URL"),
    )
    scopes: tuple[Any, ...] = setting(("email", "public_profile"), ListOf(TEXT))


# The providers a sign-in can go through; all of them are available unless narrowed.
SOCIAL_PROVIDERS: Final = ("google", "github", "microsoft", "linkedin", "facebook")


@attrs.frozen
class SocialProviders:
    """Settings under `features.social_providers`."""

    enabled: tuple[Any, ...] = setting((), ListOf(Choice(SOCIAL_PROVIDERS)), tenant=True)
    available: tuple[Any, ...] = setting(SOCIAL_PROVIDERS, ListOf(Choice(SOCIAL_PROVIDERS)))
    behavior: Behavior = section(Behavior, tenant=True)
    google: Google = section(Google)
    github: Github = section(Github)
    microsoft: Microsoft = section(Microsoft)
    linkedin: Linkedin = section(Linkedin)
    facebook: Facebook = section(Facebook)


@attrs.frozen
class Metrics:
    """Settings under `features.metrics`."""

    enabled: bool = setting(False, Boolean())
    path: str = setting("/metrics", TEXT)
    include_default_metrics: bool = setting(True, Boolean())
    prefix: str = setting("parako_", TEXT)


@attrs.frozen
class ProviderPool:
    """Settings under `features.multi_tenancy.provider_pool`."""

    max_size: int = setting(
        50, Integer(min=1), bootstrap_only=True, env="MULTI_TENANCY_PROVIDER_POOL_MAX_SIZE"
    )
    idle_ttl_ms: int = setting(
        1800000,
        Integer(min=60000),
        bootstrap_only=True,
        env="MULTI_TENANCY_PROVIDER_POOL_IDLE_TTL_MS",
    )
    cleanup_interval_ms: int = setting(
        60000,
        Integer(min=10000),
        bootstrap_only=True,
        env="MULTI_TENANCY_PROVIDER_POOL_CLEANUP_INTERVAL_MS",
    )


@attrs.frozen
class MultiTenancy:
    """Settings under `features.multi_tenancy`."""

    enabled: bool = setting(False, Boolean(), env="MULTI_TENANCY_ENABLED")
    extraction_priority: tuple[Any, ...] = setting(
        ("header", "subdomain"),
        ListOf(Choice(("header", "subdomain"))),
        bootstrap_only=True,
        env="MULTI_TENANCY_EXTRACTION_PRIORITY",
    )
    tenant_header: str = setting(
        "x-tenant-id", TEXT, bootstrap_only=True, env="MULTI_TENANCY_TENANT_HEADER"
    )
    provider_pool: ProviderPool = section(ProviderPool)


@attrs.frozen
class Features:
    """Settings under `features`."""

    oidc: FeaturesOidc = section(FeaturesOidc)
    social_providers: SocialProviders = section(SocialProviders)
    metrics: Metrics = section(Metrics)
    multi_tenancy: MultiTenancy = section(MultiTenancy)
