"""The `branding` section of the Parako.ID configuration.

Each setting is declared once, here, with its default, its checks and its flags; every list of
paths elsewhere (encrypted, tenant-overridable, bootstrap-only, policy) is derived from these.
"""

from __future__ import annotations

import attrs

from eventstore.schema.declare import section, setting
from eventstore.schema.kinds import HEX_COLOR, TEXT, AssetLocation, Boolean, Text


@attrs.frozen(weakref_slot=False)
class AuthOidc:
    """Settings under `branding.ui.customization.views.auth.oidc`."""

    consent: str = setting(
        "auth/oidc/consent.njk",
        TEXT,
        label="Consent template",
        help="Template of the page where a user grants an application access.",
    )
    device_flow_code_input: str = setting(
        "auth/oidc/_device-flow-code-input.njk",
        TEXT,
        label="Device code entry template",
        help="Template of the page where a user types the code shown on a device.",
    )
    device_flow_confirm_code: str = setting(
        "auth/oidc/device-flow-confirm-code.njk",
        TEXT,
        label="Device code confirmation template",
        help="Template of the page asking the user to confirm the device sign-in.",
    )
    device_flow_success: str = setting(
        "auth/oidc/device-flow-success.njk",
        TEXT,
        label="Device sign-in done template",
        help="Template of the page shown once a device is signed in.",
    )
    error: str = setting(
        "auth/oidc/error.njk",
        TEXT,
        label="OIDC error template",
        help="Template of the error page of the OpenID Connect flows.",
    )
    login: str = setting(
        "auth/oidc/login.njk",
        TEXT,
        label="OIDC sign-in template",
        help="Template of the sign-in step of an OpenID Connect authorization.",
    )
    logout_success: str = setting(
        "auth/oidc/logout-success.njk",
        TEXT,
        label="Signed out template",
        help="Template of the page shown after an application-initiated sign-out.",
    )
    logout: str = setting(
        "auth/oidc/logout.njk",
        TEXT,
        label="Sign-out confirmation template",
        help="Template of the page asking to confirm an application-initiated sign-out.",
    )
    mfa: str = setting(
        "auth/oidc/mfa.njk",
        TEXT,
        label="OIDC second factor template",
        help="Template of the second-factor step of an OpenID Connect authorization.",
    )
    mfa_select: str = setting(
        "auth/oidc/mfa-select.njk",
        TEXT,
        label="OIDC MFA method choice template",
        help="Template of the page to choose a second factor during an authorization.",
    )
    mfa_webauthn: str = setting(
        "auth/oidc/mfa-webauthn.njk",
        TEXT,
        label="OIDC passkey step template",
        help="Template of the passkey step during an authorization.",
    )
    mfa_no_fallback: str = setting(
        "auth/oidc/mfa-no-fallback.njk",
        TEXT,
        label="OIDC no MFA fallback template",
        help="Template of the page shown during an authorization when no second factor is usable.",
    )
    new_device_verify: str = setting(
        "auth/oidc/new-device-verify.njk",
        TEXT,
        key="newDeviceVerify",
        label="New device check template",
        help="Template of the extra verification asked when signing in from an unknown device.",
    )


@attrs.frozen(weakref_slot=False)
class Auth:
    """Settings under `branding.ui.customization.views.auth`."""

    login: str = setting(
        "auth/login.njk", TEXT, label="Sign-in template", help="Template of the sign-in page."
    )
    register: str = setting(
        "auth/_register.njk",
        TEXT,
        label="Registration template",
        help="Template of the registration (sign-up) page.",
    )
    forgot_password: str = setting(
        "auth/forgot-password.njk",
        TEXT,
        label="Forgot password template",
        help="Template of the page where a user asks for a password reset link.",
    )
    reset_password: str = setting(
        "auth/reset-password.njk",
        TEXT,
        label="Reset password template",
        help="Template of the page where a user chooses a new password from a reset link.",
    )
    email_verification: str = setting(
        "auth/email-verification.njk",
        TEXT,
        label="Email verification template",
        help="Template of the page asking a user to verify their email address.",
    )
    verify_email: str = setting(
        "auth/verify-email.njk",
        TEXT,
        label="Verify email template",
        help="Template of the link target that confirms an email address.",
    )
    email_verification_success: str = setting(
        "auth/email-verification-success.njk",
        TEXT,
        label="Email verified template",
        help="Template of the confirmation shown once an email address is verified.",
    )
    phone_verification: str = setting(
        "auth/phone-verification.njk",
        TEXT,
        label="Phone verification template",
        help="Template of the page where a user confirms their phone number with a code.",
    )
    account_select: str = setting(
        "auth/account-select.njk",
        TEXT,
        label="Account picker template",
        help="Template of the page to choose between the accounts signed in on this browser.",
    )
    continue_: str = setting(
        "auth/continue.njk",
        TEXT,
        key="continue",
        label="Continue template",
        help="Template of the step that resumes an interrupted sign-in.",
    )
    multi_factor: str = setting(
        "auth/multi-factor.njk",
        TEXT,
        label="Multi-factor prompt template",
        help="Template of the second-factor step of a sign-in.",
    )
    mfa_verify: str = setting(
        "auth/mfa-verify.njk",
        TEXT,
        label="MFA code check template",
        help="Template of the endpoint that checks a submitted second-factor code.",
    )
    mfa_resend: str = setting(
        "auth/mfa-resend.njk",
        TEXT,
        label="MFA code resend template",
        help="Template of the endpoint that sends a new email or SMS code.",
    )
    logout: str = setting(
        "auth/logout.njk", TEXT, label="Sign-out template", help="Template of the sign-out page."
    )
    social_password_setup: str = setting(
        "auth/social-password-setup.njk",
        TEXT,
        label="Password after social sign-up template",
        help="Template of the page where a user who signed up with a social provider sets a password.",
    )
    social_contact_info: str = setting(
        "auth/social-contact-info.njk",
        TEXT,
        label="Contact details after social sign-up template",
        help="Template of the page asking for contact details a social provider did not give.",
    )
    account_recovery: str = setting(
        "auth/account-recovery.njk",
        TEXT,
        label="Account recovery template",
        help="Template of the entry page of account recovery.",
    )
    recovery_backup_codes: str = setting(
        "auth/recovery-backup-codes.njk",
        TEXT,
        label="Recovery with backup codes template",
        help="Template of the recovery step that accepts a backup code.",
    )
    recovery_secondary_email: str = setting(
        "auth/recovery-secondary-email.njk",
        TEXT,
        label="Recovery by secondary email template",
        help="Template of the recovery step that sends a code to the secondary email address.",
    )
    recovery_verify_code: str = setting(
        "auth/recovery-verify-code.njk",
        TEXT,
        label="Recovery code check template",
        help="Template of the recovery step that checks the code that was sent.",
    )
    setup_mfa: str = setting(
        "auth/setup-mfa.njk",
        TEXT,
        label="MFA set-up template",
        help="Template of the page where a user sets up an authenticator app.",
    )
    social_callback: str = setting(
        "auth/social-cb.njk",
        TEXT,
        label="Social sign-in callback template",
        help="Template of the page a social provider returns the user to.",
    )
    recovery_method_select: str = setting(
        "auth/recovery-method-select.njk",
        TEXT,
        label="Recovery method choice template",
        help="Template of the page to choose a recovery method.",
    )
    recovery_security_questions: str = setting(
        "auth/recovery-security-questions.njk",
        TEXT,
        label="Recovery by security questions template",
        help="Template of the recovery step that asks the security questions.",
    )
    recovery_sms: str = setting(
        "auth/recovery-sms.njk",
        TEXT,
        label="Recovery by SMS template",
        help="Template of the recovery step that sends a code by SMS.",
    )
    recovery_codes_display: str = setting(
        "auth/recovery-codes-display.njk",
        TEXT,
        label="Backup codes display template",
        help="Template of the page that shows newly generated backup codes once.",
    )
    setup_webauthn: str = setting(
        "auth/setup-webauthn.njk",
        TEXT,
        label="Passkey set-up template",
        help="Template of the page where a user registers a security key or passkey.",
    )
    mfa_select: str = setting(
        "auth/mfa-select.njk",
        TEXT,
        label="MFA method choice template",
        help="Template of the page to choose which second factor to use.",
    )
    mfa_webauthn: str = setting(
        "auth/mfa-webauthn.njk",
        TEXT,
        label="Passkey verification template",
        help="Template of the security-key or passkey step of a sign-in.",
    )
    mfa_no_fallback: str = setting(
        "auth/mfa-no-fallback.njk",
        TEXT,
        label="No MFA fallback template",
        help="Template of the page shown when no usable second factor is left.",
    )
    oidc: AuthOidc = section(
        AuthOidc,
        label="OpenID Connect pages",
        help="Templates of the consent, device-flow and OIDC sign-in pages.",
    )


@attrs.frozen(weakref_slot=False)
class Accounts:
    """Settings under `branding.ui.customization.views.accounts`."""

    my_account: str = setting(
        "accounts/my-account.njk",
        TEXT,
        label="Account home template",
        help="Template of the account dashboard.",
    )
    settings: str | None = setting(
        None,
        TEXT,
        nullable=True,
        label="Settings (legacy) template",
        help="Template of the single settings page of earlier releases; leave empty to use the split settings pages.",
    )
    apps: str = setting(
        "accounts/apps.njk",
        TEXT,
        label="Connected apps template",
        help="Template of the list of applications the user has authorised.",
    )
    sessions: str = setting(
        "accounts/sessions.njk",
        TEXT,
        label="Sessions template",
        help="Template of the list of the user's active sessions.",
    )
    recovery_codes: str = setting(
        "accounts/recovery-codes.njk",
        TEXT,
        label="Backup codes template",
        help="Template of the page listing the user's backup codes.",
    )
    recovery_setup: str = setting(
        "accounts/recovery-setup.njk",
        TEXT,
        label="Recovery set-up template",
        help="Template of the page where a user sets up account recovery.",
    )
    settings_profile: str = setting(
        "accounts/settings/profile.njk",
        TEXT,
        label="Profile settings template",
        help="Template of the profile settings page.",
    )
    settings_preferences: str = setting(
        "accounts/settings/preferences.njk",
        TEXT,
        label="Preferences template",
        help="Template of the preferences page (language, theme, time zone).",
    )
    settings_notifications: str = setting(
        "accounts/settings/notifications.njk",
        TEXT,
        label="Notification settings template",
        help="Template of the notification preferences page.",
    )
    settings_security: str = setting(
        "accounts/settings/security.njk",
        TEXT,
        label="Security settings template",
        help="Template of the security page (password, second factors, passkeys).",
    )
    settings_recovery: str = setting(
        "accounts/settings/recovery.njk",
        TEXT,
        label="Recovery settings template",
        help="Template of the account recovery settings page.",
    )
    settings_social: str = setting(
        "accounts/settings/social.njk",
        TEXT,
        label="Linked social accounts template",
        help="Template of the page listing linked social sign-in accounts.",
    )
    security_questions_setup: str = setting(
        "accounts/security-questions-setup.njk",
        TEXT,
        label="Security questions set-up template",
        help="Template of the page where a user chooses security questions.",
    )
    passkeys: str = setting(
        "accounts/passkeys.njk",
        TEXT,
        label="Passkeys template",
        help="Template of the page listing the user's passkeys and security keys.",
    )


@attrs.frozen(weakref_slot=False)
class Errorpage:
    """Settings under `branding.ui.customization.views.errorpage`."""

    unauthorized: str = setting(
        "error/401.njk",
        TEXT,
        label="401 page template",
        help="Template of the page shown when a request needs a signed-in user (HTTP 401).",
    )
    forbidden: str = setting(
        "error/403.njk",
        TEXT,
        label="403 page template",
        help="Template of the page shown when the user may not see something (HTTP 403).",
    )
    notfound: str = setting(
        "error/404.njk",
        TEXT,
        label="404 page template",
        help="Template of the page shown for an unknown address (HTTP 404).",
    )
    server_error: str = setting(
        "error/500.njk",
        TEXT,
        label="500 page template",
        help="Template of the page shown after an unexpected server error (HTTP 500).",
    )
    rate_limit: str = setting(
        "error/rate-limit-inline.html",
        TEXT,
        label="Rate-limit page template",
        help="Template of the page shown when a client sent too many requests (HTTP 429).",
    )


@attrs.frozen(weakref_slot=False)
class ViewsEmail:
    """Settings under `branding.ui.customization.views.email`."""

    mail: str = setting(
        "email/mail.njk",
        TEXT,
        label="Email layout template",
        help="Template that wraps the content of every email sent to users.",
    )


@attrs.frozen(weakref_slot=False)
class Home:
    """Settings under `branding.ui.customization.views.home`."""

    index: str = setting(
        "home/index.njk", TEXT, label="Home page template", help="Template of the home page."
    )


@attrs.frozen(weakref_slot=False)
class Views:
    """Settings under `branding.ui.customization.views`."""

    auth: Auth = section(
        Auth,
        label="Sign-in pages",
        help="Templates of the sign-in, sign-up, MFA and recovery pages.",
    )
    accounts: Accounts = section(
        Accounts, label="Account pages", help="Templates of the self-service account pages."
    )
    errorpage: Errorpage = section(
        Errorpage, label="Error pages", help="Templates of the error pages."
    )
    email: ViewsEmail = section(
        ViewsEmail, label="Email", help="Template that wraps every email sent."
    )
    home: Home = section(Home, label="Home", help="Template of the home page.")


@attrs.frozen(weakref_slot=False)
class Customization:
    """Settings under `branding.ui.customization`."""

    enabled: bool = setting(
        False,
        Boolean(),
        label="Use custom templates",
        help="When on, the templates named below are loaded from the custom view folder instead of the built-in ones.",
    )
    root_path: str = setting(
        "runtime/views",
        TEXT,
        key="rootPath",
        label="Custom view folder",
        help="Folder the custom templates are read from, relative to the working directory.",
    )
    views: Views = section(
        Views,
        label="Templates",
        help="The template file used for each page, relative to the custom view folder.",
    )


@attrs.frozen(weakref_slot=False)
class Ui:
    """Settings under `branding.ui`."""

    customization: Customization = section(
        Customization,
        label="Template overrides",
        help="Replace built-in page templates with your own.",
    )


@attrs.frozen(weakref_slot=False)
class Fonts:
    """Settings under `branding.fonts`."""

    sans: str | None = setting(
        "ui-sans-serif, system-ui, sans-serif",
        Text(max_length=200),
        nullable=True,
        tenant=True,
        label="Body font",
        help="CSS font stack for body text.",
    )
    heading: str | None = setting(
        "ui-sans-serif, system-ui, sans-serif",
        Text(max_length=200),
        nullable=True,
        tenant=True,
        label="Heading font",
        help="CSS font stack for headings.",
    )
    mono: str | None = setting(
        'ui-monospace, SFMono-Regular, "SF Mono", Menlo, Consolas, "Liberation Mono", monospace',
        Text(max_length=200),
        nullable=True,
        tenant=True,
        label="Monospace font",
        help="CSS font stack for codes and other fixed-width text.",
    )


@attrs.frozen(weakref_slot=False)
class Palette:
    """Settings under `branding.colors.light` and `branding.colors.dark`."""

    primary: str | None = setting(
        None,
        HEX_COLOR,
        nullable=True,
        tenant=True,
        label="Primary",
        help="Main brand colour: primary buttons, links and highlights (hex colour).",
    )
    primary_foreground: str | None = setting(
        None,
        HEX_COLOR,
        nullable=True,
        key="primaryForeground",
        tenant=True,
        label="Primary foreground",
        help="Text and icons drawn on the primary colour (hex colour).",
    )
    secondary: str | None = setting(
        None,
        HEX_COLOR,
        nullable=True,
        tenant=True,
        label="Secondary",
        help="Colour of secondary buttons and less prominent surfaces (hex colour).",
    )
    secondary_foreground: str | None = setting(
        None,
        HEX_COLOR,
        nullable=True,
        key="secondaryForeground",
        tenant=True,
        label="Secondary foreground",
        help="Text and icons drawn on the secondary colour (hex colour).",
    )
    accent: str | None = setting(
        None,
        HEX_COLOR,
        nullable=True,
        tenant=True,
        label="Accent",
        help="Hover and selected-item background (hex colour).",
    )
    accent_foreground: str | None = setting(
        None,
        HEX_COLOR,
        nullable=True,
        key="accentForeground",
        tenant=True,
        label="Accent foreground",
        help="Text and icons drawn on the accent colour (hex colour).",
    )
    destructive: str | None = setting(
        None,
        HEX_COLOR,
        nullable=True,
        tenant=True,
        label="Destructive",
        help="Colour of dangerous actions and error messages (hex colour).",
    )
    destructive_foreground: str | None = setting(
        None,
        HEX_COLOR,
        nullable=True,
        key="destructiveForeground",
        tenant=True,
        label="Destructive foreground",
        help="Text and icons drawn on the destructive colour (hex colour).",
    )
    success: str | None = setting(
        None,
        HEX_COLOR,
        nullable=True,
        tenant=True,
        label="Success",
        help="Colour of success messages and confirmations (hex colour).",
    )
    success_foreground: str | None = setting(
        None,
        HEX_COLOR,
        nullable=True,
        key="successForeground",
        tenant=True,
        label="Success foreground",
        help="Text and icons drawn on the success colour (hex colour).",
    )
    warning: str | None = setting(
        None,
        HEX_COLOR,
        nullable=True,
        tenant=True,
        label="Warning",
        help="Colour of warnings (hex colour).",
    )
    warning_foreground: str | None = setting(
        None,
        HEX_COLOR,
        nullable=True,
        key="warningForeground",
        tenant=True,
        label="Warning foreground",
        help="Text and icons drawn on the warning colour (hex colour).",
    )
    info: str | None = setting(
        None,
        HEX_COLOR,
        nullable=True,
        tenant=True,
        label="Info",
        help="Colour of informational notices (hex colour).",
    )
    info_foreground: str | None = setting(
        None,
        HEX_COLOR,
        nullable=True,
        key="infoForeground",
        tenant=True,
        label="Info foreground",
        help="Text and icons drawn on the info colour (hex colour).",
    )
    background: str | None = setting(
        None,
        HEX_COLOR,
        nullable=True,
        tenant=True,
        label="Background",
        help="Page background (hex colour).",
    )
    foreground: str | None = setting(
        None,
        HEX_COLOR,
        nullable=True,
        tenant=True,
        label="Foreground",
        help="Default text colour on the page background (hex colour).",
    )
    card: str | None = setting(
        None,
        HEX_COLOR,
        nullable=True,
        tenant=True,
        label="Card",
        help="Background of cards and panels (hex colour).",
    )
    card_foreground: str | None = setting(
        None,
        HEX_COLOR,
        nullable=True,
        key="cardForeground",
        tenant=True,
        label="Card foreground",
        help="Text colour inside cards and panels (hex colour).",
    )
    popover: str | None = setting(
        None,
        HEX_COLOR,
        nullable=True,
        tenant=True,
        label="Popover",
        help="Background of menus, popovers and tooltips (hex colour).",
    )
    popover_foreground: str | None = setting(
        None,
        HEX_COLOR,
        nullable=True,
        key="popoverForeground",
        tenant=True,
        label="Popover foreground",
        help="Text colour inside menus, popovers and tooltips (hex colour).",
    )
    muted: str | None = setting(
        None,
        HEX_COLOR,
        nullable=True,
        tenant=True,
        label="Muted",
        help="Background of subdued areas (placeholders, disabled controls) (hex colour).",
    )
    muted_foreground: str | None = setting(
        None,
        HEX_COLOR,
        nullable=True,
        key="mutedForeground",
        tenant=True,
        label="Muted foreground",
        help="Colour of secondary text, hints and captions (hex colour).",
    )
    border: str | None = setting(
        None,
        HEX_COLOR,
        nullable=True,
        tenant=True,
        label="Border",
        help="Colour of borders and dividers (hex colour).",
    )
    input: str | None = setting(
        None,
        HEX_COLOR,
        nullable=True,
        tenant=True,
        label="Input border",
        help="Border colour of form inputs (hex colour).",
    )
    ring: str | None = setting(
        None,
        HEX_COLOR,
        nullable=True,
        tenant=True,
        label="Focus ring",
        help="Outline drawn around the focused control (hex colour).",
    )
    sidebar: str | None = setting(
        None,
        HEX_COLOR,
        nullable=True,
        tenant=True,
        label="Sidebar",
        help="Background of the account sidebar (hex colour).",
    )
    sidebar_foreground: str | None = setting(
        None,
        HEX_COLOR,
        nullable=True,
        key="sidebarForeground",
        tenant=True,
        label="Sidebar foreground",
        help="Text colour in the sidebar (hex colour).",
    )
    sidebar_primary: str | None = setting(
        None,
        HEX_COLOR,
        nullable=True,
        key="sidebarPrimary",
        tenant=True,
        label="Sidebar primary",
        help="Colour of the active item in the sidebar (hex colour).",
    )
    sidebar_primary_foreground: str | None = setting(
        None,
        HEX_COLOR,
        nullable=True,
        key="sidebarPrimaryForeground",
        tenant=True,
        label="Sidebar primary foreground",
        help="Text drawn on the sidebar's active item (hex colour).",
    )
    sidebar_accent: str | None = setting(
        None,
        HEX_COLOR,
        nullable=True,
        key="sidebarAccent",
        tenant=True,
        label="Sidebar accent",
        help="Hover background of sidebar items (hex colour).",
    )
    sidebar_accent_foreground: str | None = setting(
        None,
        HEX_COLOR,
        nullable=True,
        key="sidebarAccentForeground",
        tenant=True,
        label="Sidebar accent foreground",
        help="Text drawn on a hovered sidebar item (hex colour).",
    )
    sidebar_border: str | None = setting(
        None,
        HEX_COLOR,
        nullable=True,
        key="sidebarBorder",
        tenant=True,
        label="Sidebar border",
        help="Border colour of the sidebar (hex colour).",
    )
    sidebar_ring: str | None = setting(
        None,
        HEX_COLOR,
        nullable=True,
        key="sidebarRing",
        tenant=True,
        label="Sidebar focus ring",
        help="Focus outline inside the sidebar (hex colour).",
    )


@attrs.frozen(weakref_slot=False)
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
        label="Light theme colours",
        help="The 33 colour tokens of the light theme.",
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
        label="Dark theme colours",
        help="The 33 colour tokens of the dark theme.",
    )


@attrs.frozen(weakref_slot=False)
class Branding:
    """Settings under `branding`."""

    company_name: str = setting(
        "Your Organization",
        Text(min_length=1, min_length_message="Company name cannot be empty"),
        key="companyName",
        tenant=True,
        label="Company name",
        help="Your organisation's name; also the issuer name shown in authenticator apps and for passkeys.",
    )
    logo: str = setting(
        "/images/logo-light.png",
        AssetLocation(
            "Logo must be a storage key, valid HTTP(S) URL, or relative path (/images/logo.png)",
            empty_message=None,
            allow_empty=True,
        ),
        tenant=True,
        label="Logo",
        help="Path or URL of the logo on light backgrounds.",
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
        label="Logo (dark mode)",
        help="Path or URL of the logo used in dark mode; empty uses the light logo.",
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
        label="Logo icon",
        help="Path or URL of the small square logo on light backgrounds.",
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
        label="Logo icon (dark mode)",
        help="Path or URL of the small square logo used in dark mode.",
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
        label="Favicon",
        help="Path or URL of the icon shown in browser tabs.",
    )
    ui: Ui = section(Ui, label="User interface", help="Customisation of the pages users see.")
    fonts: Fonts = section(
        Fonts, label="Fonts", help="Font families (CSS font stacks) used by the pages."
    )
    colors: Colors = section(
        Colors,
        label="Colours",
        help="Theme colours for light and dark mode, as hex values (#rgb or #rrggbb).",
    )
