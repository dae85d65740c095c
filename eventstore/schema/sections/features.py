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


@attrs.frozen(weakref_slot=False)
class DevInteractions:
    """Settings under `features.oidc.dev_interactions`."""

    enabled: bool = setting(
        False,
        Boolean(),
        label="Development sign-in pages on",
        help="Offer the provider's built-in development sign-in pages; never in production.",
    )


@attrs.frozen(weakref_slot=False)
class DeviceFlow:
    """Settings under `features.oidc.device_flow`."""

    enabled: bool = setting(
        True,
        Boolean(),
        label="Device flow on",
        help="Offer the device authorization grant, for TVs and command-line tools.",
    )
    charset: str = setting(
        "digits",
        Choice(("digits", "base-20")),
        label="User code characters",
        help="Characters of the code a user types: digits, or base-20 consonants.",
    )
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
        label="User code format",
        help="Shape of the user code: * is a character, - and spaces are kept as typed (for example ***-*-***).",
    )


@attrs.frozen(weakref_slot=False)
class ClientCredentials:
    """Settings under `features.oidc.client_credentials`."""

    enabled: bool = setting(
        True,
        Boolean(),
        label="Client credentials on",
        help="Offer the client-credentials grant, for machine-to-machine access.",
    )


@attrs.frozen(weakref_slot=False)
class TokenRevocation:
    """Settings under `features.oidc.token_revocation`."""

    enabled: bool = setting(
        True, Boolean(), label="Token revocation on", help="Offer the endpoint that revokes tokens."
    )


@attrs.frozen(weakref_slot=False)
class TokenIntrospection:
    """Settings under `features.oidc.token_introspection`."""

    enabled: bool = setting(
        True,
        Boolean(),
        label="Token introspection on",
        help="Offer the endpoint that tells resource servers whether a token is active.",
    )


@attrs.frozen(weakref_slot=False)
class JwtIntrospection:
    """Settings under `features.oidc.jwt_introspection`."""

    enabled: bool = setting(
        False,
        Boolean(),
        label="JWT introspection responses on",
        help="Offer introspection responses as signed JWTs.",
    )


@attrs.frozen(weakref_slot=False)
class UserinfoEndpoint:
    """Settings under `features.oidc.userinfo_endpoint`."""

    enabled: bool = setting(
        True,
        Boolean(),
        label="UserInfo endpoint on",
        help="Offer the endpoint that returns the user's claims.",
    )


@attrs.frozen(weakref_slot=False)
class ResourceIndicators:
    """Settings under `features.oidc.resource_indicators`."""

    enabled: bool = setting(
        True,
        Boolean(),
        label="Resource indicators on",
        help="Offer the resource parameter that scopes tokens to one API.",
    )


@attrs.frozen(weakref_slot=False)
class RpInitiatedLogout:
    """Settings under `features.oidc.rp_initiated_logout`."""

    enabled: bool = setting(
        True,
        Boolean(),
        label="RP-initiated logout on",
        help="Offer sign-out requested by an application.",
    )


@attrs.frozen(weakref_slot=False)
class BackchannelLogout:
    """Settings under `features.oidc.backchannel_logout`."""

    enabled: bool = setting(
        True,
        Boolean(),
        label="Back-channel logout on",
        help="Offer server-to-server sign-out notices to applications.",
    )


@attrs.frozen(weakref_slot=False)
class DynamicClientRegistration:
    """Settings under `features.oidc.dynamic_client_registration`."""

    enabled: bool = setting(
        False,
        Boolean(),
        label="Dynamic client registration on",
        help="Offer applications registering themselves.",
    )
    require_initial_access_token: bool = setting(
        True,
        Boolean(html=True),
        label="Require initial access token",
        help="Registration needs a token issued by an administrator; off lets anyone register.",
    )
    issue_registration_access_token: bool = setting(
        True,
        Boolean(),
        label="Issue registration access token",
        help="Give each registered client a token to manage its registration.",
    )


@attrs.frozen(weakref_slot=False)
class ClientRegistrationManagement:
    """Settings under `features.oidc.client_registration_management`."""

    enabled: bool = setting(
        False,
        Boolean(),
        label="Registration management on",
        help="Offer applications reading, updating and deleting their own registration.",
    )
    rotate_registration_access_token: bool = setting(
        True,
        Boolean(),
        label="Rotate registration token",
        help="Issue a new registration access token each time a client updates its registration.",
    )


@attrs.frozen(weakref_slot=False)
class Pkce:
    """Settings under `features.oidc.pkce`."""

    enabled: bool = setting(
        True, Boolean(), label="PKCE on", help="Offer proof keys for code exchange."
    )
    required: bool = setting(
        True,
        Boolean(),
        label="PKCE required",
        help="Every authorization-code request must use PKCE, public and confidential clients alike.",
    )


@attrs.frozen(weakref_slot=False)
class ExtraParams:
    """Settings under `features.oidc.extra_params`."""

    enabled: bool = setting(
        True,
        Boolean(),
        label="Extra parameters on",
        help="Offer extra authorization parameters kept through the sign-in.",
    )
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
        label="Allowed extra parameters",
        help="Authorization parameters kept through the sign-in (such as utm_source), one per line.",
    )


@attrs.frozen(weakref_slot=False)
class AcrValues:
    """Settings under `features.oidc.acr_values`."""

    supported: tuple[Any, ...] = setting(
        ("urn:mfa:otp", "urn:mfa:webauthn"),
        ListOf(TEXT),
        label="Supported ACR values",
        help="Authentication context class references the provider can satisfy, one per line.",
    )


@attrs.frozen(weakref_slot=False)
class Encryption:
    """Settings under `features.oidc.encryption`."""

    enabled: bool = setting(
        False,
        Boolean(),
        label="Encryption on",
        help="Offer encrypted ID tokens, UserInfo and other responses.",
    )


@attrs.frozen(weakref_slot=False)
class JwtResponseModes:
    """Settings under `features.oidc.jwt_response_modes`."""

    enabled: bool = setting(
        False,
        Boolean(),
        label="JWT response modes (JARM) on",
        help="Offer authorization responses as signed JWTs.",
    )


@attrs.frozen(weakref_slot=False)
class JwtUserinfo:
    """Settings under `features.oidc.jwt_userinfo`."""

    enabled: bool = setting(
        False, Boolean(), label="JWT UserInfo on", help="Offer UserInfo responses as signed JWTs."
    )


@attrs.frozen(weakref_slot=False)
class RequestObjects:
    """Settings under `features.oidc.request_objects`."""

    enabled: bool = setting(
        True,
        Boolean(),
        label="Request objects on",
        help="Offer authorization parameters sent as a signed JWT (JAR).",
    )


@attrs.frozen(weakref_slot=False)
class ExtraClientMetadata:
    """Settings under `features.oidc.extra_client_metadata`."""

    properties: tuple[Any, ...] = setting(
        ("allowedResources", "resourcesScopes", "isInternalClient", "ttl"),
        ListOf(TEXT),
        label="Extra client properties",
        help="Extra property names a client registration may carry, one per line.",
    )


@attrs.frozen(weakref_slot=False)
class FeaturesOidc:
    """Settings under `features.oidc`."""

    dev_interactions: DevInteractions = section(
        DevInteractions,
        label="Development sign-in pages",
        help="Settings of the provider's built-in development sign-in pages; never in production.",
    )
    device_flow: DeviceFlow = section(
        DeviceFlow,
        label="Device flow",
        help="Settings of the device authorization grant, for TVs and command-line tools.",
    )
    client_credentials: ClientCredentials = section(
        ClientCredentials,
        label="Client credentials",
        help="Settings of the client-credentials grant, for machine-to-machine access.",
    )
    token_revocation: TokenRevocation = section(
        TokenRevocation,
        label="Token revocation",
        help="Settings of the endpoint that revokes tokens.",
    )
    token_introspection: TokenIntrospection = section(
        TokenIntrospection,
        label="Token introspection",
        help="Settings of the endpoint that tells resource servers whether a token is active.",
    )
    jwt_introspection: JwtIntrospection = section(
        JwtIntrospection,
        label="JWT introspection responses",
        help="Settings of introspection responses as signed JWTs.",
    )
    userinfo_endpoint: UserinfoEndpoint = section(
        UserinfoEndpoint,
        label="UserInfo endpoint",
        help="Settings of the endpoint that returns the user's claims.",
    )
    resource_indicators: ResourceIndicators = section(
        ResourceIndicators,
        label="Resource indicators",
        help="Settings of the resource parameter that scopes tokens to one API.",
    )
    rp_initiated_logout: RpInitiatedLogout = section(
        RpInitiatedLogout,
        label="RP-initiated logout",
        help="Settings of sign-out requested by an application.",
    )
    backchannel_logout: BackchannelLogout = section(
        BackchannelLogout,
        label="Back-channel logout",
        help="Settings of server-to-server sign-out notices to applications.",
    )
    dynamic_client_registration: DynamicClientRegistration = section(
        DynamicClientRegistration,
        label="Dynamic client registration",
        help="Settings of applications registering themselves.",
    )
    client_registration_management: ClientRegistrationManagement = section(
        ClientRegistrationManagement,
        label="Registration management",
        help="Settings of applications reading, updating and deleting their own registration.",
    )
    pkce: Pkce = section(Pkce, label="PKCE", help="Settings of proof keys for code exchange.")
    extra_params: ExtraParams = section(
        ExtraParams,
        label="Extra parameters",
        help="Settings of extra authorization parameters kept through the sign-in.",
    )
    accept_query_param_access_tokens: bool = setting(
        False,
        Boolean(),
        label="Access tokens in the query",
        help="Accept access tokens in the URL query string; less safe than the Authorization header.",
    )
    conform_id_token_claims: bool = setting(
        False,
        Boolean(),
        label="Conform ID token claims",
        help="Put only the claims the specification allows in ID tokens when an access token is also issued.",
    )
    allow_omitting_single_registered_redirect_uri: bool = setting(
        True,
        Boolean(),
        label="Omit single redirect URI",
        help="Let a client with exactly one registered redirect URI leave it out of its requests.",
    )
    enable_http_post_methods: bool = setting(
        False,
        Boolean(),
        label="POST to sign-in endpoints",
        help="Also accept POST on endpoints that normally take GET (authorization, end session).",
    )
    expires_with_session: bool = setting(
        True,
        Boolean(),
        label="Tokens end with the session",
        help="Access and refresh tokens stop working when the user's session ends.",
    )
    rotate_refresh_token: bool = setting(
        True,
        Boolean(),
        label="Rotate refresh tokens",
        help="Each use of a refresh token returns a new one and retires the old.",
    )
    client_based_cors: bool = setting(
        True,
        Boolean(),
        label="CORS from client origins",
        help="Allow browser calls from the web origins of registered clients.",
    )
    clock_tolerance: int = setting(
        15,
        Integer(min=0),
        label="Clock tolerance (s)",
        help="Seconds of clock difference accepted when checking token times.",
    )
    acr_values: AcrValues = section(
        AcrValues,
        label="Authentication context (ACR)",
        help="Settings of the authentication context classes the provider can satisfy.",
    )
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
        label="Claims per scope",
        help="Which user claims each scope releases (JSON object: scope to list of claims).",
    )
    scopes: tuple[Any, ...] = setting(
        ("openid", "profile", "email", "phone", "address", "offline_access", "custom_identifiers"),
        ListOf(TEXT),
        label="Scopes",
        help="Scopes clients may request, one per line.",
    )
    subject_types: tuple[Any, ...] = setting(
        ("public", "pairwise"),
        ListOf(
            Choice(("public", "pairwise")),
            min_items=1,
            min_items_message="At least one OIDC subject type must be enabled",
        ),
        label="Subject types",
        help="public (the same user ID for every client) and/or pairwise (a different ID per client).",
    )
    allow_omitting_single_registered_redirect_uri_legacy: bool = setting(
        True,
        Boolean(),
        key="allowOmittingSingleRegisteredRedirectUri",
        label="Omit single redirect URI (legacy key)",
        help="Earlier spelling of the setting that lets a single registered redirect URI be left out.",
    )
    encryption: Encryption = section(
        Encryption,
        label="Encryption",
        help="Settings of encrypted ID tokens, UserInfo and other responses.",
    )
    jwt_response_modes: JwtResponseModes = section(
        JwtResponseModes,
        label="JWT response modes (JARM)",
        help="Settings of authorization responses as signed JWTs.",
    )
    jwt_userinfo: JwtUserinfo = section(
        JwtUserinfo, label="JWT UserInfo", help="Settings of UserInfo responses as signed JWTs."
    )
    request_objects: RequestObjects = section(
        RequestObjects,
        label="Request objects",
        help="Settings of authorization parameters sent as a signed JWT (JAR).",
    )
    extra_client_metadata: ExtraClientMetadata = section(
        ExtraClientMetadata,
        label="Extra client metadata",
        help="Settings of extra properties clients may carry in their registration.",
    )


@attrs.frozen(weakref_slot=False)
class Options:
    """Settings under `features.social_providers.behavior.options`."""

    allow_multiple_providers: bool = setting(
        True,
        Boolean(),
        label="Several providers per user",
        help="Let a user link more than one social provider.",
    )
    auto_verify_email: bool = setting(
        True,
        Boolean(),
        label="Trust provider emails",
        help="Treat an email address given by the provider as verified.",
    )
    show_helpful_errors: bool = setting(
        False,
        Boolean(),
        label="Detailed errors",
        help="Explain why a social sign-in failed; off shows a generic message.",
    )
    max_providers_per_user: float = setting(
        5,
        Number(min=1, max=10),
        label="Providers per user",
        help="Most social providers one user may link.",
    )


@attrs.frozen(weakref_slot=False)
class Behavior:
    """Settings under `features.social_providers.behavior`."""

    existing_user_no_integration: str = setting(
        "require_manual_link",
        Choice(("auto_link", "require_manual_link")),
        label="Existing user, not linked",
        help="When the email belongs to an account not linked to this provider: link automatically, require a manual link, or refuse.",
    )
    no_user_account: str = setting(
        "allow_registration",
        Choice(("allow_registration", "require_existing_account")),
        label="No account yet",
        help="When no account matches: allow registration or refuse the sign-in.",
    )
    missing_contact_info: str = setting(
        "redirect_to_form",
        Choice(("redirect_to_form", "reject_login")),
        label="Missing contact details",
        help="When the provider gives no email or phone: ask for it in a form or refuse the sign-in.",
    )
    require_password_on_registration: bool = setting(
        False,
        Boolean(),
        label="Password at social sign-up",
        help="Users who register through a social provider must also choose a password.",
    )
    options: Options = section(Options, label="Options", help="Further social sign-in options.")


def client_id_setting(label: str) -> Any:
    """A provider's OAuth client ID: optional, overridable per tenant."""
    return setting(
        None,
        Text(trim=True, min_length=1, min_length_message=f"{label} client ID cannot be empty"),
        nullable=True,
        tenant=True,
        label="Client ID",
        help=f"Client ID of your {label} OAuth app; sign-in with {label} needs it.",
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
        label="Client secret",
        help=f"Client secret of your {label} OAuth app; stored encrypted.",
    )


@attrs.frozen(weakref_slot=False)
class Google:
    """Settings under `features.social_providers.google`."""

    client_id: str | None = client_id_setting("Google")
    client_secret: Secret | None = client_secret_setting("Google")
    discovery_url: str = setting(
        "https://accounts.google.com/.well-known/openid-configuration",
        Text(url=True, url_message="Google discovery URL must be a valid URL"),
        label="Discovery URL",
        help="Google's OpenID Connect discovery document, which names its endpoints.",
    )
    scopes: tuple[Any, ...] = setting(
        ("openid", "profile", "email"),
        ListOf(TEXT),
        label="Scopes",
        help="Scopes asked of Google, one per line.",
    )


@attrs.frozen(weakref_slot=False)
class Github:
    """Settings under `features.social_providers.github`."""

    client_id: str | None = client_id_setting("GitHub")
    client_secret: Secret | None = client_secret_setting("GitHub")
    authorization_endpoint: str = setting(
        "https://github.com/login/oauth/authorize",
        Text(url=True, url_message="GitHub authorization endpoint must be a valid URL"),
        label="Authorization endpoint",
        help="GitHub URL users are sent to for consent.",
    )
    token_endpoint: str = setting(
        "https://github.com/login/oauth/access_token",
        Text(url=True, url_message="GitHub token endpoint must be a valid URL"),
        label="Token endpoint",
        help="GitHub URL that exchanges the code for a token.",
    )
    userinfo_endpoint: str = setting(
        "https://api.github.com/user",
        Text(url=True, url_message="GitHub userinfo endpoint must be a valid URL"),
        label="User info endpoint",
        help="GitHub URL that returns the user's profile.",
    )
    scopes: tuple[Any, ...] = setting(
        ("user:email",), ListOf(TEXT), label="Scopes", help="Scopes asked of GitHub, one per line."
    )


@attrs.frozen(weakref_slot=False)
class Microsoft:
    """Settings under `features.social_providers.microsoft`."""

    client_id: str | None = client_id_setting("Microsoft")
    client_secret: Secret | None = client_secret_setting("Microsoft")
    discovery_url: str = setting(
        "https://login.microsoftonline.com/common/v2.0/.well-known/openid-configuration",
        Text(url=True, url_message="Microsoft discovery URL must be a valid URL"),
        label="Discovery URL",
        help="Microsoft's OpenID Connect discovery document, which names its endpoints.",
    )
    scopes: tuple[Any, ...] = setting(
        ("openid", "profile", "email"),
        ListOf(TEXT),
        label="Scopes",
        help="Scopes asked of Microsoft, one per line.",
    )


@attrs.frozen(weakref_slot=False)
class Linkedin:
    """Settings under `features.social_providers.linkedin`."""

    client_id: str | None = client_id_setting("LinkedIn")
    client_secret: Secret | None = client_secret_setting("LinkedIn")
    authorization_endpoint: str = setting(
        "https://www.linkedin.com/oauth/v2/authorization",
        Text(url=True, url_message="LinkedIn authorization endpoint must be a valid URL"),
        label="Authorization endpoint",
        help="LinkedIn URL users are sent to for consent.",
    )
    token_endpoint: str = setting(
        "https://www.linkedin.com/oauth/v2/accessToken",
        Text(url=True, url_message="LinkedIn token endpoint must be a valid URL"),
        label="Token endpoint",
        help="LinkedIn URL that exchanges the code for a token.",
    )
    userinfo_endpoint: str = setting(
        "https://api.linkedin.com/v2/userinfo",
        Text(url=True, url_message="LinkedIn userinfo endpoint must be a valid URL"),
        label="User info endpoint",
        help="LinkedIn URL that returns the user's profile.",
    )
    scopes: tuple[Any, ...] = setting(
        ("openid", "profile", "email"),
        ListOf(TEXT),
        label="Scopes",
        help="Scopes asked of LinkedIn, one per line.",
    )


@attrs.frozen(weakref_slot=False)
class Facebook:
    """Settings under `features.social_providers.facebook`."""

    client_id: str | None = client_id_setting("Facebook")
    client_secret: Secret | None = client_secret_setting("Facebook")
    authorization_endpoint: str = setting(
        "https://www.facebook.com/v19.0/dialog/oauth",
        Text(url=True, url_message="Facebook authorization endpoint must be a valid URL"),
        label="Authorization endpoint",
        help="Facebook URL users are sent to for consent.",
    )
    token_endpoint: str = setting(
        "https://graph.facebook.com/v19.0/oauth/access_token",
        Text(url=True, url_message="Facebook token endpoint must be a valid URL"),
        label="Token endpoint",
        help="Facebook URL that exchanges the code for a token.",
    )
    userinfo_endpoint: str = setting(
        "https://graph.facebook.com/me",
        Text(url=True, url_message="Facebook userinfo endpoint must be a valid URL"),
        label="User info endpoint",
        help="Facebook URL that returns the user's profile.",
    )
    scopes: tuple[Any, ...] = setting(
        ("email", "public_profile"),
        ListOf(TEXT),
        label="Scopes",
        help="Scopes asked of Facebook, one per line.",
    )


# The providers a sign-in can go through; all of them are available unless narrowed.
SOCIAL_PROVIDERS: Final = ("google", "github", "microsoft", "linkedin", "facebook")


@attrs.frozen(weakref_slot=False)
class SocialProviders:
    """Settings under `features.social_providers`."""

    enabled: tuple[Any, ...] = setting(
        (),
        ListOf(Choice(SOCIAL_PROVIDERS)),
        tenant=True,
        label="Enabled providers",
        help="Social providers offered on the sign-in page, one per line.",
    )
    available: tuple[Any, ...] = setting(
        SOCIAL_PROVIDERS,
        ListOf(Choice(SOCIAL_PROVIDERS)),
        label="Available providers",
        help="Social providers that can be enabled, one per line.",
    )
    behavior: Behavior = section(
        Behavior,
        tenant=True,
        label="Behaviour",
        help="What happens when a social sign-in meets an existing, missing or incomplete account.",
    )
    google: Google = section(
        Google,
        label="Google",
        help="Sign-in with Google: the OAuth app's credentials and endpoints.",
    )
    github: Github = section(
        Github,
        label="GitHub",
        help="Sign-in with GitHub: the OAuth app's credentials and endpoints.",
    )
    microsoft: Microsoft = section(
        Microsoft,
        label="Microsoft",
        help="Sign-in with Microsoft: the OAuth app's credentials and endpoints.",
    )
    linkedin: Linkedin = section(
        Linkedin,
        label="LinkedIn",
        help="Sign-in with LinkedIn: the OAuth app's credentials and endpoints.",
    )
    facebook: Facebook = section(
        Facebook,
        label="Facebook",
        help="Sign-in with Facebook: the OAuth app's credentials and endpoints.",
    )


@attrs.frozen(weakref_slot=False)
class Metrics:
    """Settings under `features.metrics`."""

    enabled: bool = setting(
        False,
        Boolean(),
        label="Metrics on",
        help="Serve Prometheus metrics; anyone who can reach the path can read them.",
    )
    path: str = setting(
        "/metrics", TEXT, label="Metrics path", help="Path the metrics are served at."
    )
    include_default_metrics: bool = setting(
        True,
        Boolean(),
        label="Process metrics",
        help="Also report process metrics (memory, CPU, event loop).",
    )
    prefix: str = setting(
        "parako_", TEXT, label="Metric name prefix", help="Prefix of every metric name."
    )


@attrs.frozen(weakref_slot=False)
class ProviderPool:
    """Settings under `features.multi_tenancy.provider_pool`."""

    # The bootstrap schema's rule (> 0) is the one in force for the three pool settings: the
    # reference's config schema declared minimums (1, 60000, 10000) its runtime never applied.
    max_size: int = setting(
        50,
        Integer(gt=0),
        bootstrap_only=True,
        env="MULTI_TENANCY_PROVIDER_POOL_MAX_SIZE",
        label="Pool size",
        help="Most tenant provider instances kept in memory.",
    )
    idle_ttl_ms: int = setting(
        1800000,
        Integer(gt=0),
        bootstrap_only=True,
        env="MULTI_TENANCY_PROVIDER_POOL_IDLE_TTL_MS",
        label="Idle lifetime (ms)",
        help="Milliseconds an unused tenant provider is kept (default 30 minutes).",
    )
    cleanup_interval_ms: int = setting(
        60000,
        Integer(gt=0),
        bootstrap_only=True,
        env="MULTI_TENANCY_PROVIDER_POOL_CLEANUP_INTERVAL_MS",
        label="Cleanup interval (ms)",
        help="Milliseconds between sweeps of idle tenant providers (default 1 minute).",
    )


@attrs.frozen(weakref_slot=False)
class MultiTenancy:
    """Settings under `features.multi_tenancy`."""

    enabled: bool = setting(
        False,
        Boolean(),
        env="MULTI_TENANCY_ENABLED",
        label="Multi-tenancy on",
        help="Serve several tenants; MULTI_TENANCY_ENABLED decides at run time, and it needs PostgreSQL or MongoDB.",
    )
    extraction_priority: tuple[Any, ...] = setting(
        ("header", "subdomain"),
        ListOf(Choice(("header", "subdomain"))),
        bootstrap_only=True,
        env="MULTI_TENANCY_EXTRACTION_PRIORITY",
        label="Tenant lookup order",
        help="How a request's tenant is found, in order: header, subdomain.",
    )
    tenant_header: str = setting(
        "x-tenant-id",
        TEXT,
        bootstrap_only=True,
        env="MULTI_TENANCY_TENANT_HEADER",
        label="Tenant header",
        help="HTTP header naming the tenant when the header lookup is used.",
    )
    provider_pool: ProviderPool = section(
        ProviderPool, label="Provider pool", help="The cache of per-tenant OIDC provider instances."
    )


@attrs.frozen(weakref_slot=False)
class Features:
    """Settings under `features`."""

    oidc: FeaturesOidc = section(
        FeaturesOidc,
        label="OpenID Connect features",
        help="Which optional OpenID Connect and OAuth 2.0 features the provider offers.",
    )
    social_providers: SocialProviders = section(
        SocialProviders,
        label="Social sign-in",
        help="Signing in with Google, GitHub, Microsoft, LinkedIn or Facebook.",
    )
    metrics: Metrics = section(Metrics, label="Metrics", help="The Prometheus metrics endpoint.")
    multi_tenancy: MultiTenancy = section(
        MultiTenancy,
        label="Multi-tenancy",
        help="Serving several tenants from one installation; mostly set by start-up variables.",
    )
