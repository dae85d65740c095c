"""The `deployment` section of the Parako.ID configuration.

Each setting is declared once, here, with its default, its checks and its flags; every list of
paths elsewhere (encrypted, tenant-overridable, bootstrap-only, policy) is derived from these.
"""

from __future__ import annotations

from typing import Any

import attrs

from eventstore.schema.declare import section, setting
from eventstore.schema.kinds import (
    ROUTE,
    SAME_SITE,
    TEXT,
    Boolean,
    Choice,
    Integer,
    ListOf,
    Pattern,
    Text,
)


@attrs.frozen(weakref_slot=False)
class Server:
    """Settings under `deployment.server`."""

    port: int = setting(
        9007,
        Integer(
            gt=0,
            gt_message="Port must be a positive integer",
            max=65535,
            max_message="Port must be less than 65536",
        ),
        env="DEPLOYMENT_SERVER_PORT",
        bootstrap_only=True,
        label="Port",
        help="TCP port the server listens on (1-65535).",
    )
    allowed_origins: tuple[Any, ...] = setting(
        (),
        ListOf(Text(url=True)),
        label="Allowed origins (CORS)",
        help="Web origins allowed to call the service from a browser, one URL per line; empty allows none.",
    )
    dev_allowed_origins: tuple[Any, ...] = setting(
        ("http://localhost:9007", "http://localhost:5173"),
        ListOf(Text(url=True)),
        label="Development origins (CORS)",
        help="Extra browser origins allowed in development only, such as local front-end dev servers.",
    )
    trust_proxy_hops: int = setting(
        1,
        Integer(min=0, max=10),
        label="Trusted proxy hops",
        help="How many reverse proxies in front of the server to trust for the client address (0-10).",
    )


@attrs.frozen(weakref_slot=False)
class CookiesDefaults:
    """Settings under `deployment.cookies.defaults`."""

    max_age: int = setting(
        31536000000,
        Integer(gt=0, gt_message="Cookie max age must be a positive integer"),
        key="maxAge",
        label="Lifetime (ms)",
        help="How long a cookie is kept, in milliseconds.",
    )
    http_only: bool = setting(
        True, Boolean(), key="httpOnly", label="HttpOnly", help="Hide cookies from page scripts."
    )
    secure: bool = setting(
        False,
        Boolean(),
        label="Secure",
        help="Send cookies over HTTPS only; turn on in production.",
    )
    same_site: str = setting(
        "lax",
        SAME_SITE,
        key="sameSite",
        label="SameSite",
        help="When browsers send cookies with cross-site requests: strict, lax or none.",
    )
    path: str = setting("/", TEXT, label="Path", help="URL path cookies are sent for.")


@attrs.frozen(weakref_slot=False)
class CookieType:
    """Settings under `deployment.cookies.types.session` and `deployment.cookies.types.locale` and `deployment.cookies.types.theme`."""

    name: str = setting(
        "application_session", TEXT, label="Cookie name", help="Name of this cookie."
    )
    max_age: int = setting(
        86400000,
        Integer(gt=0),
        key="maxAge",
        label="Lifetime (ms)",
        help="How long this cookie is kept, in milliseconds.",
    )
    http_only: bool = setting(
        True,
        Boolean(),
        key="httpOnly",
        label="HttpOnly",
        help="Hide this cookie from page scripts.",
    )
    secure: bool = setting(
        False,
        Boolean(),
        label="Secure",
        help="Send this cookie over HTTPS only; turn on in production.",
    )
    same_site: str = setting(
        "lax",
        SAME_SITE,
        key="sameSite",
        label="SameSite",
        help="When browsers send this cookie with cross-site requests: strict, lax or none.",
    )


@attrs.frozen(weakref_slot=False)
class Types:
    """Settings under `deployment.cookies.types`."""

    session: CookieType = section(
        CookieType,
        defaults=dict(
            name="application_session",
            max_age=86400000,
            http_only=True,
            secure=False,
            same_site="lax",
        ),
        label="Session cookie",
        help="The cookie that keeps a user signed in.",
    )
    locale: CookieType = section(
        CookieType,
        defaults=dict(
            name="locale", max_age=31536000000, http_only=True, secure=False, same_site="lax"
        ),
        label="Language cookie",
        help="The cookie that remembers the chosen language.",
    )
    theme: CookieType = section(
        CookieType,
        defaults=dict(
            name="theme", max_age=31536000000, http_only=True, secure=False, same_site="lax"
        ),
        label="Theme cookie",
        help="The cookie that remembers the light or dark theme.",
    )


@attrs.frozen(weakref_slot=False)
class Cookies:
    """Settings under `deployment.cookies`."""

    defaults: CookiesDefaults = section(
        CookiesDefaults,
        label="Cookie defaults",
        help="Attributes used by cookies that have no settings of their own.",
    )
    types: Types = section(
        Types, label="Cookie types", help="Settings of the session, language and theme cookies."
    )


@attrs.frozen(weakref_slot=False)
class AuthRoutes:
    """Settings under `deployment.routes.auth_routes`."""

    login: str = setting(
        "/login",
        ROUTE,
        label="Sign-in route",
        help="Path of the sign-in page, under the sign-in base path.",
    )
    register: str = setting(
        "/register",
        ROUTE,
        label="Registration route",
        help="Path of the registration (sign-up) page, under the sign-in base path.",
    )
    forgot_password: str = setting(
        "/forgot-password",
        ROUTE,
        label="Forgot password route",
        help="Path of the page where a user asks for a password reset link, under the sign-in base path.",
    )
    reset_password: str = setting(
        "/reset-password",
        ROUTE,
        label="Reset password route",
        help="Path of the page where a user chooses a new password from a reset link, under the sign-in base path.",
    )
    email_verification: str = setting(
        "/email-verification",
        ROUTE,
        label="Email verification route",
        help="Path of the page asking a user to verify their email address, under the sign-in base path.",
    )
    verify_email: str = setting(
        "/verify-email",
        ROUTE,
        label="Verify email route",
        help="Path of the link target that confirms an email address, under the sign-in base path.",
    )
    email_verification_success: str = setting(
        "/email-verification-success",
        ROUTE,
        label="Email verified route",
        help="Path of the confirmation shown once an email address is verified, under the sign-in base path.",
    )
    phone_verification: str = setting(
        "/phone-verification",
        ROUTE,
        label="Phone verification route",
        help="Path of the page where a user confirms their phone number with a code, under the sign-in base path.",
    )
    account_select: str = setting(
        "/account-select",
        ROUTE,
        label="Account picker route",
        help="Path of the page to choose between the accounts signed in on this browser, under the sign-in base path.",
    )
    continue_: str = setting(
        "/continue",
        ROUTE,
        key="continue",
        label="Continue route",
        help="Path of the step that resumes an interrupted sign-in, under the sign-in base path.",
    )
    multi_factor: str = setting(
        "/multi-factor",
        ROUTE,
        label="Multi-factor prompt route",
        help="Path of the second-factor step of a sign-in, under the sign-in base path.",
    )
    mfa_verify: str = setting(
        "/mfa-verify",
        ROUTE,
        label="MFA code check route",
        help="Path of the endpoint that checks a submitted second-factor code, under the sign-in base path.",
    )
    mfa_resend: str = setting(
        "/mfa-resend",
        ROUTE,
        label="MFA code resend route",
        help="Path of the endpoint that sends a new email or SMS code, under the sign-in base path.",
    )
    mfa_select: str = setting(
        "/mfa-select",
        ROUTE,
        label="MFA method choice route",
        help="Path of the page to choose which second factor to use, under the sign-in base path.",
    )
    mfa_webauthn: str = setting(
        "/mfa-webauthn",
        ROUTE,
        label="Passkey verification route",
        help="Path of the security-key or passkey step of a sign-in, under the sign-in base path.",
    )
    logout: str = setting(
        "/logout",
        ROUTE,
        label="Sign-out route",
        help="Path of the sign-out page, under the sign-in base path.",
    )
    social_password_setup: str = setting(
        "/social-password-setup",
        ROUTE,
        label="Password after social sign-up route",
        help="Path of the page where a user who signed up with a social provider sets a password, under the sign-in base path.",
    )
    social_contact_info: str = setting(
        "/social-contact-info",
        ROUTE,
        label="Contact details after social sign-up route",
        help="Path of the page asking for contact details a social provider did not give, under the sign-in base path.",
    )
    account_recovery: str = setting(
        "/account-recovery",
        ROUTE,
        label="Account recovery route",
        help="Path of the entry page of account recovery, under the sign-in base path.",
    )
    recovery_backup_codes: str = setting(
        "/recovery-backup-codes",
        ROUTE,
        label="Recovery with backup codes route",
        help="Path of the recovery step that accepts a backup code, under the sign-in base path.",
    )
    recovery_secondary_email: str = setting(
        "/recovery-secondary-email",
        ROUTE,
        label="Recovery by secondary email route",
        help="Path of the recovery step that sends a code to the secondary email address, under the sign-in base path.",
    )
    recovery_verify_code: str = setting(
        "/recovery-verify-code",
        ROUTE,
        label="Recovery code check route",
        help="Path of the recovery step that checks the code that was sent, under the sign-in base path.",
    )
    recovery_method_select: str = setting(
        "/recovery-method-select",
        ROUTE,
        label="Recovery method choice route",
        help="Path of the page to choose a recovery method, under the sign-in base path.",
    )
    recovery_security_questions: str = setting(
        "/recovery-security-questions",
        ROUTE,
        label="Recovery by security questions route",
        help="Path of the recovery step that asks the security questions, under the sign-in base path.",
    )
    recovery_sms: str = setting(
        "/recovery-sms",
        ROUTE,
        label="Recovery by SMS route",
        help="Path of the recovery step that sends a code by SMS, under the sign-in base path.",
    )
    update_theme: str = setting(
        "/update-theme",
        ROUTE,
        label="Theme switch route",
        help="Path of the endpoint that stores the chosen light or dark theme, under the sign-in base path.",
    )
    update_locale: str = setting(
        "/update-locale",
        ROUTE,
        label="Language switch route",
        help="Path of the endpoint that stores the chosen language, under the sign-in base path.",
    )
    update_sidebar: str = setting(
        "/update-sidebar",
        ROUTE,
        label="Sidebar toggle route",
        help="Path of the endpoint that stores whether the sidebar is collapsed, under the sign-in base path.",
    )
    update_timezone: str = setting(
        "/update-timezone",
        ROUTE,
        label="Time zone update route",
        help="Path of the endpoint that stores the browser's time zone, under the sign-in base path.",
    )


@attrs.frozen(weakref_slot=False)
class AccountRoutes:
    """Settings under `deployment.routes.account_routes`."""

    dashboard: str = setting(
        "/",
        Text(starts_with="/"),
        label="Account home route",
        help="Path of the account dashboard; the only account route that may be just '/', under the account base path.",
    )
    settings: str = setting(
        "/settings",
        ROUTE,
        label="Settings route",
        help="Path of the settings overview, under the account base path.",
    )
    apps: str = setting(
        "/apps",
        ROUTE,
        label="Connected apps route",
        help="Path of the list of authorised applications, under the account base path.",
    )
    sessions: str = setting(
        "/sessions",
        ROUTE,
        label="Sessions route",
        help="Path of the list of active sessions, under the account base path.",
    )
    update_profile: str = setting(
        "/update-profile",
        ROUTE,
        label="Update profile route",
        help="Path of the endpoint that saves profile changes, under the account base path.",
    )
    change_password: str = setting(
        "/change-password",
        ROUTE,
        label="Change password route",
        help="Path of the endpoint that changes the password, under the account base path.",
    )
    remove_avatar: str = setting(
        "/remove-avatar",
        ROUTE,
        label="Remove avatar route",
        help="Path of the endpoint that deletes the profile picture, under the account base path.",
    )
    enable_mfa: str = setting(
        "/enable-mfa",
        ROUTE,
        label="Enable MFA route",
        help="Path of the endpoint that turns a second factor on, under the account base path.",
    )
    disable_mfa: str = setting(
        "/disable-mfa",
        ROUTE,
        label="Disable MFA route",
        help="Path of the endpoint that turns a second factor off, under the account base path.",
    )
    setup_mfa: str = setting(
        "/setup-mfa",
        ROUTE,
        label="MFA set-up route",
        help="Path of the authenticator-app set-up page, under the account base path.",
    )
    setup_webauthn: str = setting(
        "/setup-webauthn",
        ROUTE,
        label="Passkey set-up route",
        help="Path of the passkey registration page, under the account base path.",
    )
    passkeys: str = setting(
        "/passkeys",
        ROUTE,
        label="Passkeys route",
        help="Path of the passkey list, under the account base path.",
    )
    switch_account: str = setting(
        "/switch-account",
        ROUTE,
        label="Switch account route",
        help="Path of the endpoint that switches between signed-in accounts, under the account base path.",
    )
    add_account: str = setting(
        "/add-account",
        ROUTE,
        label="Add account route",
        help="Path of the endpoint that signs in one more account on this browser, under the account base path.",
    )
    remove_account: str = setting(
        "/remove-account",
        ROUTE,
        label="Remove account route",
        help="Path of the endpoint that signs one account out of this browser, under the account base path.",
    )
    account_switcher_data: str = setting(
        "/account-switcher-data",
        ROUTE,
        label="Account switcher data route",
        help="Path of the endpoint that feeds the account switcher menu, under the account base path.",
    )
    revoke_app: str = setting(
        "/revoke-app",
        ROUTE,
        label="Revoke app route",
        help="Path of the endpoint that withdraws one application's access, under the account base path.",
    )
    revoke_all_apps: str = setting(
        "/revoke-all-apps",
        ROUTE,
        label="Revoke all apps route",
        help="Path of the endpoint that withdraws every application's access, under the account base path.",
    )
    logout_session: str = setting(
        "/logout-session",
        ROUTE,
        label="End session route",
        help="Path of the endpoint that ends one session, under the account base path.",
    )
    logout_all_other_sessions: str = setting(
        "/logout-all-other-sessions",
        ROUTE,
        label="End other sessions route",
        help="Path of the endpoint that ends every other session, under the account base path.",
    )
    resend_email_verification: str = setting(
        "/resend-email-verification",
        ROUTE,
        label="Resend verification email route",
        help="Path of the endpoint that sends the email verification link again, under the account base path.",
    )
    enable_recovery: str = setting(
        "/enable-recovery",
        ROUTE,
        label="Enable recovery route",
        help="Path of the endpoint that turns account recovery on, under the account base path.",
    )
    disable_recovery: str = setting(
        "/disable-recovery",
        ROUTE,
        label="Disable recovery route",
        help="Path of the endpoint that turns account recovery off, under the account base path.",
    )
    recovery_codes: str = setting(
        "/recovery-codes",
        ROUTE,
        label="Backup codes route",
        help="Path of the backup codes page, under the account base path.",
    )
    verify_recovery_email: str = setting(
        "/verify-recovery-email",
        ROUTE,
        label="Verify recovery email route",
        help="Path of the endpoint that confirms the secondary email address, under the account base path.",
    )
    regenerate_backup_codes: str = setting(
        "/regenerate-backup-codes",
        ROUTE,
        label="Regenerate backup codes route",
        help="Path of the endpoint that replaces the backup codes, under the account base path.",
    )
    recovery_setup: str = setting(
        "/recovery-setup",
        ROUTE,
        label="Recovery set-up route",
        help="Path of the recovery set-up page, under the account base path.",
    )
    security_questions_setup: str = setting(
        "/security-questions/setup",
        ROUTE,
        label="Security questions set-up route",
        help="Path of the security questions page, under the account base path.",
    )
    update_notification_preferences: str = setting(
        "/update-notification-preferences",
        ROUTE,
        label="Update notification preferences route",
        help="Path of the endpoint that saves notification preferences, under the account base path.",
    )
    settings_profile: str = setting(
        "/settings/profile",
        ROUTE,
        label="Profile settings route",
        help="Path of the profile settings page, under the account base path.",
    )
    settings_preferences: str = setting(
        "/settings/preferences",
        ROUTE,
        label="Preferences route",
        help="Path of the preferences page, under the account base path.",
    )
    settings_notifications: str = setting(
        "/settings/notifications",
        ROUTE,
        label="Notification settings route",
        help="Path of the notification settings page, under the account base path.",
    )
    settings_security: str = setting(
        "/settings/security",
        ROUTE,
        label="Security settings route",
        help="Path of the security settings page, under the account base path.",
    )
    settings_recovery: str = setting(
        "/settings/recovery",
        ROUTE,
        label="Recovery settings route",
        help="Path of the recovery settings page, under the account base path.",
    )
    settings_social: str = setting(
        "/settings/social",
        ROUTE,
        label="Linked social accounts route",
        help="Path of the linked social accounts page, under the account base path.",
    )


@attrs.frozen(weakref_slot=False)
class ApiRoutes:
    """Settings under `deployment.routes.api_routes`."""

    base: str = setting(
        "/",
        Text(min_length=1, starts_with="/"),
        label="API root",
        help="Path of the API root, under the API base path.",
    )


@attrs.frozen(weakref_slot=False)
class DeploymentRoutes:
    """Settings under `deployment.routes`."""

    auth: str = setting(
        "/auth",
        ROUTE,
        label="Sign-in base path",
        help="Path prefix of the sign-in, sign-up and recovery pages.",
    )
    accounts: str = setting(
        "/accounts",
        ROUTE,
        label="Account base path",
        help="Path prefix of the self-service account pages.",
    )
    api: str = setting(
        "/api/v1", ROUTE, label="API base path", help="Path prefix of the application's API."
    )
    home: str = setting(
        "/", Text(starts_with="/"), label="Home path", help="Path of the home page."
    )
    auth_routes: AuthRoutes = section(
        AuthRoutes,
        label="Sign-in routes",
        help="Paths of the sign-in pages, under the sign-in base path.",
    )
    account_routes: AccountRoutes = section(
        AccountRoutes,
        label="Account routes",
        help="Paths of the account pages, under the account base path.",
    )
    api_routes: ApiRoutes = section(
        ApiRoutes, label="API routes", help="Paths under the API base path."
    )


@attrs.frozen(weakref_slot=False)
class Deployment:
    """Settings under `deployment`."""

    environment: str = setting(
        "development",
        Choice(("development", "staging", "production")),
        env="DEPLOYMENT_ENVIRONMENT",
        bootstrap_only=True,
        label="Environment",
        help="development, staging or production; only development generates missing secrets and allows file mode.",
    )
    url: str = setting(
        "http://localhost:9007",
        Text(url=True, url_message="Application URL must be a valid URL"),
        env="DEPLOYMENT_URL",
        label="Public URL",
        help="The address users reach the service at; the OIDC issuer, discovery and integration URLs are derived from it.",
    )
    server: Server = section(
        Server, label="Server", help="The HTTP server: port, allowed origins and proxies."
    )
    redis_prefix: str = setting(
        "parako",
        Text(
            patterns=(
                Pattern(
                    "^[a-zA-Z0-9_-]+$",
                    "Redis prefix must contain only alphanumeric characters, hyphens, and underscores",
                ),
            )
        ),
        label="Redis key prefix",
        help="Prefix of every Redis key and channel, so several installations can share one Redis.",
    )
    cookies: Cookies = section(
        Cookies, label="Cookies", help="Attributes of the cookies the service sets."
    )
    routes: DeploymentRoutes = section(
        DeploymentRoutes, label="Routes", help="URL paths of the user-facing pages and the API."
    )
