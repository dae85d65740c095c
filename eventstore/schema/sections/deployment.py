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


@attrs.frozen
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
    )
    allowed_origins: tuple[Any, ...] = setting((), ListOf(Text(url=True)))
    dev_allowed_origins: tuple[Any, ...] = setting(
        ("http://localhost:9007", "http://localhost:5173"), ListOf(Text(url=True))
    )
    trust_proxy_hops: int = setting(1, Integer(min=0, max=10))


@attrs.frozen
class CookiesDefaults:
    """Settings under `deployment.cookies.defaults`."""

    max_age: int = setting(
        31536000000,
        Integer(gt=0, gt_message="Cookie max age must be a positive integer"),
        key="maxAge",
    )
    http_only: bool = setting(True, Boolean(), key="httpOnly")
    secure: bool = setting(False, Boolean())
    same_site: str = setting("lax", SAME_SITE, key="sameSite")
    path: str = setting("/", TEXT)


@attrs.frozen
class CookieType:
    """Settings under `deployment.cookies.types.session` and `deployment.cookies.types.locale` and `deployment.cookies.types.theme`."""

    name: str = setting("application_session", TEXT)
    max_age: int = setting(86400000, Integer(gt=0), key="maxAge")
    http_only: bool = setting(True, Boolean(), key="httpOnly")
    secure: bool = setting(False, Boolean())
    same_site: str = setting("lax", SAME_SITE, key="sameSite")


@attrs.frozen
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
    )
    locale: CookieType = section(
        CookieType,
        defaults=dict(
            name="locale", max_age=31536000000, http_only=True, secure=False, same_site="lax"
        ),
    )
    theme: CookieType = section(
        CookieType,
        defaults=dict(
            name="theme", max_age=31536000000, http_only=True, secure=False, same_site="lax"
        ),
    )


@attrs.frozen
class Cookies:
    """Settings under `deployment.cookies`."""

    defaults: CookiesDefaults = section(CookiesDefaults)
    types: Types = section(Types)


@attrs.frozen
class AuthRoutes:
    """Settings under `deployment.routes.auth_routes`."""

    login: str = setting("/login", ROUTE)
    register: str = setting("/register", ROUTE)
    forgot_password: str = setting("/forgot-password", ROUTE)
    reset_password: str = setting("/reset-password", ROUTE)
    email_verification: str = setting("/email-verification", ROUTE)
    verify_email: str = setting("/verify-email", ROUTE)
    email_verification_success: str = setting("/email-verification-success", ROUTE)
    phone_verification: str = setting("/phone-verification", ROUTE)
    account_select: str = setting("/account-select", ROUTE)
    continue_: str = setting("/continue", ROUTE, key="continue")
    multi_factor: str = setting("/multi-factor", ROUTE)
    mfa_verify: str = setting("/mfa-verify", ROUTE)
    mfa_resend: str = setting("/mfa-resend", ROUTE)
    mfa_select: str = setting("/mfa-select", ROUTE)
    mfa_webauthn: str = setting("/mfa-webauthn", ROUTE)
    logout: str = setting("/logout", ROUTE)
    social_password_setup: str = setting("/social-password-setup", ROUTE)
    social_contact_info: str = setting("/social-contact-info", ROUTE)
    account_recovery: str = setting("/account-recovery", ROUTE)
    recovery_backup_codes: str = setting("/recovery-backup-codes", ROUTE)
    recovery_secondary_email: str = setting("/recovery-secondary-email", ROUTE)
    recovery_verify_code: str = setting("/recovery-verify-code", ROUTE)
    recovery_method_select: str = setting("/recovery-method-select", ROUTE)
    recovery_security_questions: str = setting("/recovery-security-questions", ROUTE)
    recovery_sms: str = setting("/recovery-sms", ROUTE)
    update_theme: str = setting("/update-theme", ROUTE)
    update_locale: str = setting("/update-locale", ROUTE)
    update_sidebar: str = setting("/update-sidebar", ROUTE)
    update_timezone: str = setting("/update-timezone", ROUTE)


@attrs.frozen
class AccountRoutes:
    """Settings under `deployment.routes.account_routes`."""

    dashboard: str = setting("/", Text(starts_with="/"))
    settings: str = setting("/settings", ROUTE)
    apps: str = setting("/apps", ROUTE)
    sessions: str = setting("/sessions", ROUTE)
    update_profile: str = setting("/update-profile", ROUTE)
    change_password: str = setting("/change-password", ROUTE)
    remove_avatar: str = setting("/remove-avatar", ROUTE)
    enable_mfa: str = setting("/enable-mfa", ROUTE)
    disable_mfa: str = setting("/disable-mfa", ROUTE)
    setup_mfa: str = setting("/setup-mfa", ROUTE)
    setup_webauthn: str = setting("/setup-webauthn", ROUTE)
    passkeys: str = setting("/passkeys", ROUTE)
    switch_account: str = setting("/switch-account", ROUTE)
    add_account: str = setting("/add-account", ROUTE)
    remove_account: str = setting("/remove-account", ROUTE)
    account_switcher_data: str = setting("/account-switcher-data", ROUTE)
    revoke_app: str = setting("/revoke-app", ROUTE)
    revoke_all_apps: str = setting("/revoke-all-apps", ROUTE)
    logout_session: str = setting("/logout-session", ROUTE)
    logout_all_other_sessions: str = setting("/logout-all-other-sessions", ROUTE)
    resend_email_verification: str = setting("/resend-email-verification", ROUTE)
    enable_recovery: str = setting("/enable-recovery", ROUTE)
    disable_recovery: str = setting("/disable-recovery", ROUTE)
    recovery_codes: str = setting("/recovery-codes", ROUTE)
    verify_recovery_email: str = setting("/verify-recovery-email", ROUTE)
    regenerate_backup_codes: str = setting("/regenerate-backup-codes", ROUTE)
    recovery_setup: str = setting("/recovery-setup", ROUTE)
    security_questions_setup: str = setting("/security-questions/setup", ROUTE)
    update_notification_preferences: str = setting("/update-notification-preferences", ROUTE)
    settings_profile: str = setting("/settings/profile", ROUTE)
    settings_preferences: str = setting("/settings/preferences", ROUTE)
    settings_notifications: str = setting("/settings/notifications", ROUTE)
    settings_security: str = setting("/settings/security", ROUTE)
    settings_recovery: str = setting("/settings/recovery", ROUTE)
    settings_social: str = setting("/settings/social", ROUTE)


@attrs.frozen
class ApiRoutes:
    """Settings under `deployment.routes.api_routes`."""

    base: str = setting("/", Text(min_length=1, starts_with="/"))


@attrs.frozen
class DeploymentRoutes:
    """Settings under `deployment.routes`."""

    auth: str = setting("/auth", ROUTE)
    accounts: str = setting("/accounts", ROUTE)
    api: str = setting("/api/v1", ROUTE)
    home: str = setting("/", Text(starts_with="/"))
    auth_routes: AuthRoutes = section(AuthRoutes)
    account_routes: AccountRoutes = section(AccountRoutes)
    api_routes: ApiRoutes = section(ApiRoutes)


@attrs.frozen
class Deployment:
    """Settings under `deployment`."""

    environment: str = setting(
        "development",
        Choice(("development", "staging", "production")),
        env="DEPLOYMENT_ENVIRONMENT",
        bootstrap_only=True,
    )
    url: str = setting(
        "http://localhost:9007",
        Text(url=True, url_message="Application URL must be a valid URL"),
        env="DEPLOYMENT_URL",
    )
    server: Server = section(Server)
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
    )
    cookies: Cookies = section(Cookies)
    routes: DeploymentRoutes = section(DeploymentRoutes)
