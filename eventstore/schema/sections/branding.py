"""The `branding` section of the Parako.ID configuration.

Each setting is declared once, here, with its default, its checks and its flags; every list of
paths elsewhere (encrypted, tenant-overridable, bootstrap-only, policy) is derived from these.
"""

from __future__ import annotations

import attrs

from eventstore.schema.declare import section, setting
from eventstore.schema.kinds import HEX_COLOR, TEXT, AssetLocation, Boolean, Text


@attrs.frozen
class AuthOidc:
    """Settings under `branding.ui.customization.views.auth.oidc`."""

    consent: str = setting("auth/oidc/consent.njk", TEXT)
    device_flow_code_input: str = setting("auth/oidc/_device-flow-code-input.njk", TEXT)
    device_flow_confirm_code: str = setting("auth/oidc/device-flow-confirm-code.njk", TEXT)
    device_flow_success: str = setting("auth/oidc/device-flow-success.njk", TEXT)
    error: str = setting("auth/oidc/error.njk", TEXT)
    login: str = setting("auth/oidc/login.njk", TEXT)
    logout_success: str = setting("auth/oidc/logout-success.njk", TEXT)
    logout: str = setting("auth/oidc/logout.njk", TEXT)
    mfa: str = setting("auth/oidc/mfa.njk", TEXT)
    mfa_select: str = setting("auth/oidc/mfa-select.njk", TEXT)
    mfa_webauthn: str = setting("auth/oidc/mfa-webauthn.njk", TEXT)
    mfa_no_fallback: str = setting("auth/oidc/mfa-no-fallback.njk", TEXT)
    new_device_verify: str = setting("auth/oidc/new-device-verify.njk", TEXT, key="newDeviceVerify")


@attrs.frozen
class Auth:
    """Settings under `branding.ui.customization.views.auth`."""

    login: str = setting("auth/login.njk", TEXT)
    register: str = setting("auth/_register.njk", TEXT)
    forgot_password: str = setting("auth/forgot-password.njk", TEXT)
    reset_password: str = setting("auth/reset-password.njk", TEXT)
    email_verification: str = setting("auth/email-verification.njk", TEXT)
    verify_email: str = setting("auth/verify-email.njk", TEXT)
    email_verification_success: str = setting("auth/email-verification-success.njk", TEXT)
    phone_verification: str = setting("auth/phone-verification.njk", TEXT)
    account_select: str = setting("auth/account-select.njk", TEXT)
    continue_: str = setting("auth/continue.njk", TEXT, key="continue")
    multi_factor: str = setting("auth/multi-factor.njk", TEXT)
    mfa_verify: str = setting("auth/mfa-verify.njk", TEXT)
    mfa_resend: str = setting("auth/mfa-resend.njk", TEXT)
    logout: str = setting("auth/logout.njk", TEXT)
    social_password_setup: str = setting("auth/social-password-setup.njk", TEXT)
    social_contact_info: str = setting("auth/social-contact-info.njk", TEXT)
    account_recovery: str = setting("auth/account-recovery.njk", TEXT)
    recovery_backup_codes: str = setting("auth/recovery-backup-codes.njk", TEXT)
    recovery_secondary_email: str = setting("auth/recovery-secondary-email.njk", TEXT)
    recovery_verify_code: str = setting("auth/recovery-verify-code.njk", TEXT)
    setup_mfa: str = setting("auth/setup-mfa.njk", TEXT)
    social_callback: str = setting("auth/social-cb.njk", TEXT)
    recovery_method_select: str = setting("auth/recovery-method-select.njk", TEXT)
    recovery_security_questions: str = setting("auth/recovery-security-questions.njk", TEXT)
    recovery_sms: str = setting("auth/recovery-sms.njk", TEXT)
    recovery_codes_display: str = setting("auth/recovery-codes-display.njk", TEXT)
    setup_webauthn: str = setting("auth/setup-webauthn.njk", TEXT)
    mfa_select: str = setting("auth/mfa-select.njk", TEXT)
    mfa_webauthn: str = setting("auth/mfa-webauthn.njk", TEXT)
    mfa_no_fallback: str = setting("auth/mfa-no-fallback.njk", TEXT)
    oidc: AuthOidc = section(AuthOidc)


@attrs.frozen
class Accounts:
    """Settings under `branding.ui.customization.views.accounts`."""

    my_account: str = setting("accounts/my-account.njk", TEXT)
    settings: str | None = setting(None, TEXT, nullable=True)
    apps: str = setting("accounts/apps.njk", TEXT)
    sessions: str = setting("accounts/sessions.njk", TEXT)
    recovery_codes: str = setting("accounts/recovery-codes.njk", TEXT)
    recovery_setup: str = setting("accounts/recovery-setup.njk", TEXT)
    settings_profile: str = setting("accounts/settings/profile.njk", TEXT)
    settings_preferences: str = setting("accounts/settings/preferences.njk", TEXT)
    settings_notifications: str = setting("accounts/settings/notifications.njk", TEXT)
    settings_security: str = setting("accounts/settings/security.njk", TEXT)
    settings_recovery: str = setting("accounts/settings/recovery.njk", TEXT)
    settings_social: str = setting("accounts/settings/social.njk", TEXT)
    security_questions_setup: str = setting("accounts/security-questions-setup.njk", TEXT)
    passkeys: str = setting("accounts/passkeys.njk", TEXT)


@attrs.frozen
class Errorpage:
    """Settings under `branding.ui.customization.views.errorpage`."""

    unauthorized: str = setting("error/401.njk", TEXT)
    forbidden: str = setting("error/403.njk", TEXT)
    notfound: str = setting("error/404.njk", TEXT)
    server_error: str = setting("error/500.njk", TEXT)
    rate_limit: str = setting("error/rate-limit-inline.html", TEXT)


@attrs.frozen
class ViewsEmail:
    """Settings under `branding.ui.customization.views.email`."""

    mail: str = setting("email/mail.njk", TEXT)


@attrs.frozen
class Home:
    """Settings under `branding.ui.customization.views.home`."""

    index: str = setting("home/index.njk", TEXT)


@attrs.frozen
class Views:
    """Settings under `branding.ui.customization.views`."""

    auth: Auth = section(Auth)
    accounts: Accounts = section(Accounts)
    errorpage: Errorpage = section(Errorpage)
    email: ViewsEmail = section(ViewsEmail)
    home: Home = section(Home)


@attrs.frozen
class Customization:
    """Settings under `branding.ui.customization`."""

    enabled: bool = setting(False, Boolean())
    root_path: str = setting("runtime/views", TEXT, key="rootPath")
    views: Views = section(Views)


@attrs.frozen
class Ui:
    """Settings under `branding.ui`."""

    customization: Customization = section(Customization)


@attrs.frozen
class Fonts:
    """Settings under `branding.fonts`."""

    sans: str | None = setting(
        "ui-sans-serif, system-ui, sans-serif", Text(max_length=200), nullable=True, tenant=True
    )
    heading: str | None = setting(
        "ui-sans-serif, system-ui, sans-serif", Text(max_length=200), nullable=True, tenant=True
    )
    mono: str | None = setting(
        'ui-monospace, SFMono-Regular, "SF Mono", Menlo, Consolas, "Liberation Mono", monospace',
        Text(max_length=200),
        nullable=True,
        tenant=True,
    )


@attrs.frozen
class Palette:
    """Settings under `branding.colors.light` and `branding.colors.dark`."""

    primary: str | None = setting(None, HEX_COLOR, nullable=True, tenant=True)
    primary_foreground: str | None = setting(
        None, HEX_COLOR, nullable=True, key="primaryForeground", tenant=True
    )
    secondary: str | None = setting(None, HEX_COLOR, nullable=True, tenant=True)
    secondary_foreground: str | None = setting(
        None, HEX_COLOR, nullable=True, key="secondaryForeground", tenant=True
    )
    accent: str | None = setting(None, HEX_COLOR, nullable=True, tenant=True)
    accent_foreground: str | None = setting(
        None, HEX_COLOR, nullable=True, key="accentForeground", tenant=True
    )
    destructive: str | None = setting(None, HEX_COLOR, nullable=True, tenant=True)
    destructive_foreground: str | None = setting(
        None, HEX_COLOR, nullable=True, key="destructiveForeground", tenant=True
    )
    success: str | None = setting(None, HEX_COLOR, nullable=True, tenant=True)
    success_foreground: str | None = setting(
        None, HEX_COLOR, nullable=True, key="successForeground", tenant=True
    )
    warning: str | None = setting(None, HEX_COLOR, nullable=True, tenant=True)
    warning_foreground: str | None = setting(
        None, HEX_COLOR, nullable=True, key="warningForeground", tenant=True
    )
    info: str | None = setting(None, HEX_COLOR, nullable=True, tenant=True)
    info_foreground: str | None = setting(
        None, HEX_COLOR, nullable=True, key="infoForeground", tenant=True
    )
    background: str | None = setting(None, HEX_COLOR, nullable=True, tenant=True)
    foreground: str | None = setting(None, HEX_COLOR, nullable=True, tenant=True)
    card: str | None = setting(None, HEX_COLOR, nullable=True, tenant=True)
    card_foreground: str | None = setting(
        None, HEX_COLOR, nullable=True, key="cardForeground", tenant=True
    )
    popover: str | None = setting(None, HEX_COLOR, nullable=True, tenant=True)
    popover_foreground: str | None = setting(
        None, HEX_COLOR, nullable=True, key="popoverForeground", tenant=True
    )
    muted: str | None = setting(None, HEX_COLOR, nullable=True, tenant=True)
    muted_foreground: str | None = setting(
        None, HEX_COLOR, nullable=True, key="mutedForeground", tenant=True
    )
    border: str | None = setting(None, HEX_COLOR, nullable=True, tenant=True)
    input: str | None = setting(None, HEX_COLOR, nullable=True, tenant=True)
    ring: str | None = setting(None, HEX_COLOR, nullable=True, tenant=True)
    sidebar: str | None = setting(None, HEX_COLOR, nullable=True, tenant=True)
    sidebar_foreground: str | None = setting(
        None, HEX_COLOR, nullable=True, key="sidebarForeground", tenant=True
    )
    sidebar_primary: str | None = setting(
        None, HEX_COLOR, nullable=True, key="sidebarPrimary", tenant=True
    )
    sidebar_primary_foreground: str | None = setting(
        None, HEX_COLOR, nullable=True, key="sidebarPrimaryForeground", tenant=True
    )
    sidebar_accent: str | None = setting(
        None, HEX_COLOR, nullable=True, key="sidebarAccent", tenant=True
    )
    sidebar_accent_foreground: str | None = setting(
        None, HEX_COLOR, nullable=True, key="sidebarAccentForeground", tenant=True
    )
    sidebar_border: str | None = setting(
        None, HEX_COLOR, nullable=True, key="sidebarBorder", tenant=True
    )
    sidebar_ring: str | None = setting(
        None, HEX_COLOR, nullable=True, key="sidebarRing", tenant=True
    )


@attrs.frozen
class Colors:
    """Settings under `branding.colors`."""

    light: Palette = section(
        Palette,
        defaults=dict(
            background="#eef0f5",
            foreground="#2b2b2b",
            card="#f3f4f8",
            card_foreground="#2b2b2b",
            popover="#f3f4f8",
            popover_foreground="#2b2b2b",
            primary="#2656a8",
            primary_foreground="#fefeff",
            secondary="#e2e4ea",
            secondary_foreground="#2b2b2b",
            muted="#e8e9ef",
            muted_foreground="#5b5c62",
            accent="#e0e3eb",
            accent_foreground="#2b2b2b",
            destructive="#c53030",
            destructive_foreground="#ffffff",
            success="#16803c",
            success_foreground="#ffffff",
            warning="#c49a1b",
            warning_foreground="#2b2b2b",
            info="#2558d1",
            info_foreground="#ffffff",
            border="#d4d6de",
            input="#e3e4e9",
            ring="#2656a8",
            sidebar="#e2e4ea",
            sidebar_foreground="#2b2b2b",
            sidebar_primary="#2656a8",
            sidebar_primary_foreground="#fefeff",
            sidebar_accent="#d4d6de",
            sidebar_accent_foreground="#2b2b2b",
            sidebar_border="#d4d6de",
            sidebar_ring="#2656a8",
        ),
    )
    dark: Palette = section(
        Palette,
        defaults=dict(
            background="#252838",
            foreground="#d8dae0",
            card="#2f3240",
            card_foreground="#d8dae0",
            popover="#2f3240",
            popover_foreground="#d8dae0",
            primary="#6b8aff",
            primary_foreground="#ffffff",
            secondary="#3e4158",
            secondary_foreground="#d8dae0",
            muted="#2f3240",
            muted_foreground="#8b8d96",
            accent="#363950",
            accent_foreground="#b4b8ff",
            destructive="#f87171",
            destructive_foreground="#252838",
            success="#4ade80",
            success_foreground="#252838",
            warning="#facc15",
            warning_foreground="#252838",
            info="#93b4ff",
            info_foreground="#252838",
            border="#3e4158",
            input="#3e4158",
            ring="#6b8aff",
            sidebar="#2f3240",
            sidebar_foreground="#d8dae0",
            sidebar_primary="#6b8aff",
            sidebar_primary_foreground="#ffffff",
            sidebar_accent="#363950",
            sidebar_accent_foreground="#b4b8ff",
            sidebar_border="#3e4158",
            sidebar_ring="#6b8aff",
        ),
    )


@attrs.frozen
class Branding:
    """Settings under `branding`."""

    company_name: str = setting(
        "Your Organization",
        Text(min_length=1, min_length_message="Company name cannot be empty"),
        key="companyName",
        tenant=True,
    )
    logo: str = setting(
        "/images/logo-light.png",
        AssetLocation(
            "Logo must be a storage key, valid HTTP(S) URL, or relative path (/images/logo.png)",
            empty_message=None,
            allow_empty=True,
        ),
        tenant=True,
    )
    logo_dark: str | None = setting(
        "/images/logo-dark.png",
        AssetLocation(
            "Dark logo must be a valid HTTP(S) URL or relative path",
            empty_message="Dark logo path cannot be empty",
            allow_empty=False,
        ),
        nullable=True,
        key="logoDark",
        tenant=True,
    )
    logo_icon: str | None = setting(
        "/images/logo-icon-light.png",
        AssetLocation(
            "Icon logo must be a valid HTTP(S) URL or relative path",
            empty_message="Icon logo path cannot be empty",
            allow_empty=False,
        ),
        nullable=True,
        key="logoIcon",
        tenant=True,
    )
    logo_icon_dark: str | None = setting(
        "/images/logo-icon-dark.png",
        AssetLocation(
            "Dark icon logo must be a valid HTTP(S) URL or relative path",
            empty_message="Dark icon logo path cannot be empty",
            allow_empty=False,
        ),
        nullable=True,
        key="logoIconDark",
        tenant=True,
    )
    favicon: str | None = setting(
        "/favicon.png",
        AssetLocation(
            "Favicon must be a valid HTTP(S) URL or relative path",
            empty_message="Favicon path cannot be empty",
            allow_empty=False,
        ),
        nullable=True,
        tenant=True,
    )
    ui: Ui = section(Ui)
    fonts: Fonts = section(Fonts)
    colors: Colors = section(Colors)
