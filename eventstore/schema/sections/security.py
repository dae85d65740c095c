"""The `security` section of the Parako.ID configuration.

Each setting is declared once, here, with its default, its checks and its flags; every list of
paths elsewhere (encrypted, tenant-overridable, bootstrap-only, policy) is derived from these.
"""

from __future__ import annotations

from typing import Any, Final

import attrs

from eventstore import computed
from eventstore.schema.declare import section, setting
from eventstore.schema.kinds import (
    SAME_SITE,
    TEXT,
    Boolean,
    Choice,
    Integer,
    ListOf,
    Number,
    Pattern,
    Sensitive,
    Text,
)
from eventstore.schema.policy import (
    BOOLEAN_FLOOR,
    CEILING,
    CEILING_ZERO_UNLIMITED,
    NUMERIC_FLOOR,
    NumericFloor,
    OrderedFloor,
)
from eventstore.schema.structure import Nested
from eventstore.secret import Secret


@attrs.frozen(weakref_slot=False)
class SecuritySecrets:
    """Settings under `security.secrets`."""

    jwt_secret: Secret | None = setting(
        None,
        Sensitive(
            Text(
                min_length=32,
                min_length_message="JWT secret should be at least 32 characters for security",
            )
        ),
        encrypted=True,
        computed=computed.JWT_SECRET,
        label="JWT secret",
        help="Signs the service's own JWTs; at least 32 characters (JWT_SECRET in production).",
    )
    jwt_expires_in: str = setting(
        "1h",
        Text(min_length=1, min_length_message="JWT expiration cannot be empty"),
        label="JWT lifetime",
        help="How long the service's own JWTs are valid, as a duration such as 1h or 30m.",
    )
    cookie_secrets: tuple[Secret, ...] | None = setting(
        None,
        Sensitive(
            ListOf(
                Text(
                    min_length=32,
                    min_length_message="Cookie secret should be at least 32 characters for security",
                ),
                min_items=1,
                min_items_message="At least one cookie secret is required",
            )
        ),
        encrypted=True,
        computed=computed.COOKIE_SECRETS,
        label="Cookie secrets",
        help="Keys that sign cookies, one per line, newest first; two are expected (COOKIE_SECRET_1 and _2).",
    )
    hmac_secret: Secret | None = setting(
        None,
        Sensitive(
            Text(
                min_length=32,
                min_length_message="HMAC secret should be at least 32 characters for security",
            )
        ),
        nullable=True,
        secret=True,
        computed=computed.HMAC_SECRET,
        label="HMAC secret",
        help="Signs the OAuth state of sign-ins that cross tenants; at least 32 characters (HMAC_SECRET).",
    )


@attrs.frozen(weakref_slot=False)
class RateLimiting:
    """Settings under `security.protection.rate_limiting`."""

    enabled: bool = setting(
        True,
        Boolean(),
        tenant=True,
        policy=BOOLEAN_FLOOR,
        label="Rate limiting on",
        help="Refuse clients that send too many requests; a tenant cannot turn it off when the platform has it on.",
    )
    requests_per_minute: int = setting(
        100,
        Integer(gt=0, gt_message="Requests per minute must be a positive integer"),
        tenant=True,
        policy=CEILING,
        label="Requests per minute",
        help="Requests a client may send per minute before it is refused; tenants may only lower it.",
    )
    window_minutes: int = setting(
        15,
        Integer(gt=0, gt_message="Window in minutes must be a positive integer"),
        tenant=True,
        policy=CEILING,
        label="Window (minutes)",
        help="Length of the window requests are counted over, in minutes.",
    )


@attrs.frozen(weakref_slot=False)
class DeviceMatching:
    """Settings under `security.protection.device_matching`."""

    min_confidence_score: int = setting(
        70,
        Integer(min=0, max=100),
        tenant=True,
        policy=NUMERIC_FLOOR,
        label="Minimum match confidence",
        help="Score (0-100) a device must reach to count as already known; tenants may only raise it.",
    )
    ip_similarity_threshold: float = setting(
        0.8,
        Number(min=0, max=1),
        tenant=True,
        policy=NUMERIC_FLOOR,
        label="IP similarity threshold",
        help="How similar (0-1) two IP addresses must be to count as the same network.",
    )
    enable_impossible_travel: bool = setting(
        True,
        Boolean(),
        label="Impossible-travel check",
        help="Flag sign-ins from places too far apart to travel between in the time since the last one.",
    )
    impossible_travel_max_speed_kmh: int = setting(
        900,
        Integer(gt=0),
        tenant=True,
        policy=CEILING,
        label="Impossible-travel speed (km/h)",
        help="Travel speed above which two sign-ins count as impossible travel.",
    )
    trust_duration_days: int = setting(
        30,
        Integer(min=1, max=365),
        tenant=True,
        policy=CEILING,
        label="Device trust (days)",
        help="How long a recognised device stays trusted, in days (1-365).",
    )


@attrs.frozen(weakref_slot=False)
class Protection:
    """Settings under `security.protection`."""

    rate_limiting: RateLimiting = section(
        RateLimiting, label="Rate limiting", help="Limits how many requests a client may send."
    )
    trusted_domains: tuple[Any, ...] = setting(
        (),
        ListOf(Text(min_length=1, min_length_message="Domain cannot be empty")),
        label="Trusted domains",
        help="Domains treated as trusted, one per line (for example your own front ends).",
    )
    trusted_proxies: tuple[Any, ...] = setting(
        (),
        ListOf(Text(min_length=1, min_length_message="Proxy IP/range cannot be empty")),
        label="Trusted proxies",
        help="IP addresses or ranges of proxies whose forwarded headers are believed, one per line.",
    )
    high_risk_countries: tuple[Any, ...] = setting(
        (),
        ListOf(Text(length=2, length_message="Country code must be 2 characters")),
        tenant=True,
        label="High-risk countries",
        help="Two-letter country codes whose sign-ins get extra scrutiny, one per line.",
    )
    encrypt_device_data: bool = setting(
        False,
        Boolean(html=True),
        tenant=True,
        policy=BOOLEAN_FLOOR,
        label="Encrypt device data",
        help="Encrypt the stored device fingerprints and metadata.",
    )
    device_matching: DeviceMatching = section(
        DeviceMatching,
        label="Device recognition",
        help="How a returning device is recognised and how long it stays trusted.",
    )


@attrs.frozen(weakref_slot=False)
class Totp:
    """Settings under `security.authentication.multi_factor.totp`."""

    enabled: bool = setting(
        True,
        Boolean(),
        tenant=True,
        policy=BOOLEAN_FLOOR,
        label="Authenticator apps on",
        help="Allow authenticator-app codes as a second factor.",
    )
    issuer_name: str = setting(
        "OIDC Provider",
        Text(min_length=1, min_length_message="TOTP issuer name cannot be empty"),
        tenant=True,
        computed=computed.COMPANY_NAME,
        label="Issuer name",
        help="Name shown next to the account in authenticator apps; follows the company name.",
    )


@attrs.frozen(weakref_slot=False)
class MultiFactorEmail:
    """Settings under `security.authentication.multi_factor.email`."""

    enabled: bool = setting(
        True,
        Boolean(),
        tenant=True,
        policy=BOOLEAN_FLOOR,
        label="Email codes on",
        help="Allow codes sent by email as a second factor.",
    )
    code_ttl_seconds: int = setting(
        600,
        Integer(
            min=60,
            min_message="Email OTP TTL must be at least 60 seconds",
            max=3600,
            max_message="Email OTP TTL cannot exceed 3600 seconds",
        ),
        tenant=True,
        policy=CEILING,
        label="Code lifetime (s)",
        help="How long an emailed code can be used, in seconds (60-3600).",
    )


@attrs.frozen(weakref_slot=False)
class MultiFactorSms:
    """Settings under `security.authentication.multi_factor.sms`."""

    enabled: bool = setting(
        False,
        Boolean(),
        tenant=True,
        policy=BOOLEAN_FLOOR,
        label="SMS codes on",
        help="Allow codes sent by SMS as a second factor; needs the SMS channel.",
    )


@attrs.frozen(weakref_slot=False)
class Webauthn:
    """Settings under `security.authentication.multi_factor.webauthn`."""

    enabled: bool = setting(
        False,
        Boolean(),
        tenant=True,
        policy=BOOLEAN_FLOOR,
        label="Passkeys on",
        help="Allow passkeys and security keys.",
    )
    rp_name: str = setting(
        "OIDC Provider",
        Text(min_length=1, min_length_message="WebAuthn RP name cannot be empty"),
        tenant=True,
        computed=computed.COMPANY_NAME,
        label="Relying party name",
        help="Name shown by the browser when creating a passkey; follows the company name.",
    )
    rp_id: str = setting(
        "localhost",
        Text(min_length=1, min_length_message="WebAuthn RP ID cannot be empty"),
        computed=computed.RP_ID,
        label="Relying party ID",
        help="Domain passkeys are bound to; computed from the host of the public URL.",
    )
    timeout: int = setting(
        60000,
        Integer(
            min=30000,
            min_message="WebAuthn timeout must be at least 30 seconds",
            max=300000,
            max_message="WebAuthn timeout cannot exceed 5 minutes",
        ),
        tenant=True,
        label="Ceremony timeout (ms)",
        help="How long the browser waits for the authenticator, in milliseconds (30000-300000).",
    )
    attestation: str = setting(
        "none",
        Choice(("none", "indirect", "direct", "enterprise")),
        label="Attestation",
        help="Whether to ask authenticators to prove their make and model: none, indirect, direct or enterprise.",
    )
    user_verification: str = setting(
        "preferred",
        Choice(("required", "preferred", "discouraged")),
        tenant=True,
        policy=OrderedFloor(("discouraged", "preferred", "required")),
        label="User verification",
        help="Whether the authenticator must check the user (PIN, biometrics): required, preferred or discouraged.",
    )
    authenticator_attachment: str | None = setting(
        None,
        Choice(("platform", "cross-platform")),
        nullable=True,
        tenant=True,
        label="Authenticator type",
        help="Limit to built-in (platform) or roaming (cross-platform) authenticators; not set allows both.",
    )
    resident_key: str = setting(
        "preferred",
        Choice(("required", "preferred", "discouraged")),
        tenant=True,
        label="Discoverable credentials",
        help="Whether passkeys are stored on the authenticator so no username is needed: required, preferred or discouraged.",
    )
    max_credentials_per_user: int = setting(
        10,
        Integer(
            min=1,
            min_message="Must allow at least 1 credential per user",
            max=50,
            max_message="Cannot exceed 50 credentials per user",
        ),
        tenant=True,
        policy=CEILING,
        label="Passkeys per user",
        help="Most passkeys one user may register (1-50).",
    )


@attrs.frozen(weakref_slot=False)
class MultiFactor:
    """Settings under `security.authentication.multi_factor`."""

    enabled: bool = setting(
        True,
        Boolean(),
        tenant=True,
        policy=BOOLEAN_FLOOR,
        label="MFA on",
        help="Let users protect their account with a second factor.",
    )
    totp: Totp = section(
        Totp,
        label="Authenticator app (TOTP)",
        help="Time-based one-time codes from an authenticator app.",
    )
    email: MultiFactorEmail = section(
        MultiFactorEmail, label="Email codes", help="One-time codes sent by email."
    )
    sms: MultiFactorSms = section(
        MultiFactorSms, label="SMS codes", help="One-time codes sent by SMS."
    )
    webauthn: Webauthn = section(
        Webauthn,
        label="Passkeys (WebAuthn)",
        help="Security keys, platform authenticators and passkeys.",
    )


@attrs.frozen(weakref_slot=False)
class MultipleAccounts:
    """Settings under `security.authentication.session_management.multiple_accounts`."""

    enabled: bool = setting(
        True,
        Boolean(),
        tenant=True,
        label="Multiple accounts on",
        help="Let users be signed in to several accounts in one browser and switch between them.",
    )


@attrs.frozen(weakref_slot=False)
class SessionManagement:
    """Settings under `security.authentication.session_management`."""

    multiple_accounts: MultipleAccounts = section(
        MultipleAccounts, label="Multiple accounts", help="Signing in to several accounts at once."
    )


@attrs.frozen(weakref_slot=False)
class AuthenticationSession:
    """Settings under `security.authentication.session`."""

    cookie_name: str = setting(
        "application_session",
        Text(patterns=(Pattern("^[a-zA-Z0-9_-]+$"),)),
        label="Session cookie name",
        help="Name of the session cookie (letters, digits, - and _).",
    )
    same_site: str = setting(
        "lax",
        SAME_SITE,
        label="Session cookie SameSite",
        help="When browsers send the session cookie with cross-site requests: strict, lax or none.",
    )
    bind_ip: bool = setting(
        False,
        Boolean(html=True),
        tenant=True,
        policy=BOOLEAN_FLOOR,
        label="Bind to IP address",
        help="End a session when it is used from another IP address.",
    )
    bind_user_agent: bool = setting(
        False,
        Boolean(html=True),
        tenant=True,
        policy=BOOLEAN_FLOOR,
        label="Bind to browser",
        help="End a session when it is used from another browser (user agent).",
    )
    bind_device: bool = setting(
        False,
        Boolean(html=True),
        tenant=True,
        policy=BOOLEAN_FLOOR,
        label="Bind to device",
        help="End a session when it is used from another device fingerprint.",
    )
    idle_timeout_minutes: int = setting(
        30,
        Integer(min=0, coerce=True),
        tenant=True,
        policy=CEILING_ZERO_UNLIMITED,
        label="Idle timeout (minutes)",
        help="Minutes without activity after which a session ends; 0 means never.",
    )
    absolute_timeout_hours: int = setting(
        24,
        Integer(min=0, coerce=True),
        tenant=True,
        policy=CEILING_ZERO_UNLIMITED,
        label="Absolute timeout (hours)",
        help="Hours after sign-in after which a session ends whatever the activity; 0 means never.",
    )
    max_concurrent_sessions: int = setting(
        0,
        Integer(min=0, coerce=True),
        tenant=True,
        policy=CEILING_ZERO_UNLIMITED,
        label="Concurrent sessions",
        help="Most sessions one user may have at once; 0 means unlimited.",
    )
    max_accounts_per_session: int = setting(
        5,
        Integer(min=1, coerce=True),
        tenant=True,
        policy=CEILING,
        label="Accounts per browser",
        help="Most accounts that can be signed in together in one browser.",
    )
    encrypt_session_data: bool = setting(
        False,
        Boolean(html=True),
        tenant=True,
        policy=BOOLEAN_FLOOR,
        label="Encrypt session data",
        help="Encrypt the data stored with each session.",
    )
    notify_new_session: bool = setting(
        False,
        Boolean(html=True),
        tenant=True,
        label="New-session notice",
        help="Tell users when a new session starts on their account.",
    )
    require_reauth_on_switch: bool = setting(
        False,
        Boolean(html=True),
        tenant=True,
        policy=BOOLEAN_FLOOR,
        label="Re-authenticate on switch",
        help="Ask for the password again when switching to another signed-in account.",
    )
    max_flash_messages_per_type: int = setting(
        10,
        Integer(min=1, max=50, coerce=True),
        label="Flash messages per type",
        help="Most one-time notices of one kind kept for the next page (1-50).",
    )
    max_flash_messages_total: int = setting(
        20,
        Integer(min=1, max=100, coerce=True),
        label="Flash messages in all",
        help="Most one-time notices kept for the next page (1-100).",
    )
    require_2fa_for_new_device: bool = setting(
        False,
        Boolean(html=True),
        tenant=True,
        policy=BOOLEAN_FLOOR,
        label="Second factor on new devices",
        help="Ask for a second factor when signing in from a device that is not recognised.",
    )
    new_device_2fa_method: str = setting(
        "auto",
        Choice(("auto", "totp", "email")),
        tenant=True,
        label="New-device method",
        help="Second factor asked on a new device: auto (what the user has), totp or email.",
    )
    new_device_confidence_threshold: int = setting(
        70,
        Integer(min=0, max=100, coerce=True),
        tenant=True,
        policy=NUMERIC_FLOOR,
        label="New-device threshold",
        help="Device match score (0-100) below which a device counts as new.",
    )
    store_metadata: bool = setting(
        False,
        Boolean(html=True),
        label="Store session metadata",
        help="Keep browser, address and location with each session for the sessions page.",
    )


@attrs.frozen(weakref_slot=False)
class PasswordPolicy:
    """Settings under `security.authentication.login.password_policy`."""

    min_length: int = setting(
        8,
        Integer(min=1, min_message="Password minimum length must be at least 1"),
        tenant=True,
        policy=NumericFloor(absolute_minimum=8),
        label="Minimum length",
        help="Fewest characters a password may have; tenants may only raise it, and never below 8.",
    )
    require_uppercase: bool = setting(
        True,
        Boolean(),
        tenant=True,
        policy=BOOLEAN_FLOOR,
        label="Require uppercase",
        help="Passwords must contain an uppercase letter.",
    )
    require_lowercase: bool = setting(
        True,
        Boolean(),
        tenant=True,
        policy=BOOLEAN_FLOOR,
        label="Require lowercase",
        help="Passwords must contain a lowercase letter.",
    )
    require_numbers: bool = setting(
        True,
        Boolean(),
        tenant=True,
        policy=BOOLEAN_FLOOR,
        label="Require digits",
        help="Passwords must contain a digit.",
    )
    require_symbols: bool = setting(
        False,
        Boolean(),
        tenant=True,
        policy=BOOLEAN_FLOOR,
        label="Require symbols",
        help="Passwords must contain a symbol.",
    )
    max_age_days: int = setting(
        90,
        Integer(gt=0, gt_message="Password max age must be a positive integer"),
        tenant=True,
        policy=CEILING,
        label="Password age (days)",
        help="Days after which users are asked to change their password.",
    )


@attrs.frozen(weakref_slot=False)
class Login:
    """Settings under `security.authentication.login`."""

    login_methods: tuple[Any, ...] = setting(
        ("email", "phone"),
        ListOf(TEXT),
        tenant=True,
        label="Sign-in identifiers",
        help="What users can sign in with (email, phone), one per line.",
    )
    password_policy: PasswordPolicy = section(
        PasswordPolicy, label="Password policy", help="Rules every new password must follow."
    )


@attrs.frozen(weakref_slot=False)
class AutoApproval:
    """Settings under `security.authentication.signup.auto_approval`."""

    enabled: bool = setting(
        True,
        Boolean(),
        tenant=True,
        label="Approve automatically",
        help="New accounts are active at once; when off, an administrator approves them.",
    )
    domains_whitelist: tuple[Any, ...] = setting(
        (),
        ListOf(TEXT),
        tenant=True,
        label="Approved email domains",
        help="Email domains approved automatically, one per line; empty approves every domain.",
    )


@attrs.frozen(weakref_slot=False)
class ContactChannelsEmail:
    """Settings under `security.authentication.signup.contact_channels.email`."""

    enabled: bool = setting(
        True,
        Boolean(),
        label="Ask for it",
        help="Show the email address field on the sign-up form.",
    )
    required: bool = setting(
        False, Boolean(), label="Required", help="The email address must be filled in to register."
    )


@attrs.frozen(weakref_slot=False)
class Phone:
    """Settings under `security.authentication.signup.contact_channels.phone`."""

    enabled: bool = setting(
        True, Boolean(), label="Ask for it", help="Show the phone number field on the sign-up form."
    )
    required: bool = setting(
        False, Boolean(), label="Required", help="The phone number must be filled in to register."
    )


@attrs.frozen(weakref_slot=False)
class FullName:
    """Settings under `security.authentication.signup.contact_channels.full_name`."""

    enabled: bool = setting(
        True, Boolean(), label="Ask for it", help="Show the full name field on the sign-up form."
    )
    required: bool = setting(
        True, Boolean(), label="Required", help="The full name must be filled in to register."
    )


@attrs.frozen(weakref_slot=False)
class ContactChannels:
    """Settings under `security.authentication.signup.contact_channels`."""

    require_at_least_one: bool = setting(
        True,
        Boolean(),
        label="At least one contact",
        help="A new user must give at least one way to be contacted.",
    )
    email: ContactChannelsEmail = section(
        ContactChannelsEmail, label="Email address", help="The email field of the sign-up form."
    )
    phone: Phone = section(Phone, label="Phone number", help="The phone field of the sign-up form.")
    full_name: FullName = section(
        FullName, label="Full name", help="The name field of the sign-up form."
    )


@attrs.frozen(weakref_slot=False)
class Signup:
    """Settings under `security.authentication.signup`."""

    signup_methods: tuple[Any, ...] = setting(
        ("email", "phone"),
        ListOf(TEXT),
        tenant=True,
        label="Sign-up identifiers",
        help="What users can register with (email, phone), one per line.",
    )
    require_email_verification: bool = setting(
        False,
        Boolean(),
        tenant=True,
        policy=BOOLEAN_FLOOR,
        label="Verify email on sign-up",
        help="New users must confirm their email address before signing in.",
    )
    require_phone_verification: bool = setting(
        False,
        Boolean(),
        tenant=True,
        policy=BOOLEAN_FLOOR,
        label="Verify phone on sign-up",
        help="New users must confirm their phone number before signing in.",
    )
    auto_approval: AutoApproval = section(
        AutoApproval, label="Automatic approval", help="Whether new accounts are active at once."
    )
    contact_channels: ContactChannels = section(
        ContactChannels,
        tenant=True,
        label="Contact details",
        help="Which contact details the sign-up form asks for.",
    )


@attrs.frozen(weakref_slot=False)
class Roles:
    """Settings under `security.authentication.roles`."""

    # Role names are trimmed as the reference trims them; the default role is checked after
    # trimming, so a blank one is refused (docs/decisions.md X29).
    available: tuple[Any, ...] = setting(
        ("user", "admin", "superadmin"),
        ListOf(
            Text(trim=True), min_items=1, min_items_message="At least one role must be available"
        ),
        label="Available roles",
        help="Role names that can be given to users, one per line.",
    )
    default: str = setting(
        "user",
        Text(trim=True, min_length=1, min_length_message="Default role cannot be empty"),
        tenant=True,
        label="Default role",
        help="Role given to every new user; should be one of the available roles.",
    )


@attrs.frozen(weakref_slot=False)
class FieldsField:
    """Settings under `security.authentication.custom_identifiers.fields[*]`."""

    slot: int | None = setting(
        None,
        Choice((1, 2, 3), literals=True),
        label="Slot",
        help="Which of the three identifier slots (1, 2 or 3) this field uses.",
    )
    key: str | None = setting(
        None,
        Text(
            min_length=1,
            max_length=50,
            patterns=(
                Pattern("^[a-z][a-z0-9_]*$", "Key must be lowercase alphanumeric with underscores"),
            ),
        ),
        label="Key",
        help="Internal name of the identifier: lowercase letters, digits and _, starting with a letter.",
    )
    name: str | None = setting(
        None,
        Text(min_length=1, max_length=100),
        label="Name",
        help="Name of the identifier shown to users.",
    )
    hint_for_user: str = setting(
        "", Text(max_length=200), label="Hint", help="Help text shown under the field."
    )
    validation_type: str = setting(
        "none",
        Choice(("none", "regex", "charset_mask")),
        label="Validation",
        help="How values are checked: none, regex or charset_mask.",
    )
    pattern: str | None = setting(
        None,
        TEXT,
        nullable=True,
        label="Pattern",
        help="Regular expression values must match (validation regex).",
    )
    charset: str | None = setting(
        None,
        TEXT,
        nullable=True,
        label="Character set",
        help="Characters allowed in values (validation charset_mask).",
    )
    mask: str | None = setting(
        None,
        TEXT,
        nullable=True,
        label="Mask",
        help="Shape values must have (validation charset_mask).",
    )
    min_length: int = setting(
        1,
        Integer(min=1, max=100),
        label="Minimum length",
        help="Fewest characters a value may have (1-100).",
    )
    max_length: int = setting(
        100,
        Integer(min=1, max=100),
        label="Maximum length",
        help="Most characters a value may have (1-100).",
    )
    case_sensitive: bool = setting(
        False,
        Boolean(),
        label="Case-sensitive",
        help="Whether upper and lower case count as different.",
    )
    required_for_registration: bool = setting(
        False, Boolean(), label="Required at sign-up", help="New users must fill it in to register."
    )
    edit_policy: str = setting(
        "set_once",
        Choice(("admin_only", "set_once", "editable", "full")),
        label="Who can edit",
        help="admin_only, set_once, editable or full.",
    )
    usable_for_login: bool = setting(
        True, Boolean(), label="Usable to sign in", help="Users can sign in with this identifier."
    )


@attrs.frozen(weakref_slot=False)
class CustomIdentifiers:
    """Settings under `security.authentication.custom_identifiers`."""

    enabled: bool = setting(
        False,
        Boolean(),
        label="Custom identifiers on",
        help="Use the custom identifier fields below.",
    )
    fields: tuple[FieldsField, ...] = setting(
        (),
        ListOf(Nested(FieldsField), max_items=3),
        label="Identifier fields",
        help="Up to three identifier definitions (JSON list), each in its own slot 1-3.",
    )


@attrs.frozen(weakref_slot=False)
class BackupCodes:
    """Settings under `security.authentication.recovery.backup_codes`."""

    enabled: bool = setting(
        True, Boolean(), label="Backup codes on", help="Let users generate backup codes."
    )
    count: int = setting(
        10,
        Integer(min=1, max=50),
        label="Codes per set",
        help="How many codes each set has (1-50).",
    )
    expiry_days: int = setting(
        365,
        Integer(min=1),
        label="Code lifetime (days)",
        help="Days after which unused backup codes expire.",
    )


@attrs.frozen(weakref_slot=False)
class SecondaryEmail:
    """Settings under `security.authentication.recovery.secondary_email`."""

    enabled: bool = setting(
        True,
        Boolean(),
        label="Secondary email on",
        help="Let users recover their account through a second email address.",
    )


@attrs.frozen(weakref_slot=False)
class RecoverySms:
    """Settings under `security.authentication.recovery.sms`."""

    enabled: bool = setting(
        False,
        Boolean(),
        label="SMS recovery on",
        help="Let users recover their account with a code sent by SMS.",
    )


@attrs.frozen(weakref_slot=False)
class SecurityQuestions:
    """Settings under `security.authentication.recovery.security_questions`."""

    enabled: bool = setting(
        False,
        Boolean(),
        label="Security questions on",
        help="Let users recover their account by answering security questions.",
    )


@attrs.frozen(weakref_slot=False)
class Recovery:
    """Settings under `security.authentication.recovery`."""

    enabled: bool = setting(
        True, Boolean(), label="Recovery on", help="Let users recover their account."
    )
    backup_codes: BackupCodes = section(
        BackupCodes, label="Backup codes", help="Single-use codes printed or saved in advance."
    )
    secondary_email: SecondaryEmail = section(
        SecondaryEmail, label="Secondary email", help="Recovery through a second email address."
    )
    sms: RecoverySms = section(
        RecoverySms, label="SMS recovery", help="Recovery through a code sent by SMS."
    )
    security_questions: SecurityQuestions = section(
        SecurityQuestions,
        label="Security questions",
        help="Recovery by answering security questions.",
    )


@attrs.frozen(weakref_slot=False)
class PasswordBreachDetection:
    """Settings under `security.authentication.password_breach_detection`."""

    enabled: bool = setting(
        True,
        Boolean(),
        label="Breach check on",
        help="Check passwords against known breaches; only a hash prefix leaves the server.",
    )
    api_timeout_ms: int = setting(
        3000,
        Integer(min=500, max=30000),
        label="Lookup timeout (ms)",
        help="How long to wait for the breach service, in milliseconds (500-30000).",
    )
    check_on_registration: bool = setting(
        True, Boolean(), label="Check at sign-up", help="Check the password a new user chooses."
    )
    check_on_login: bool = setting(
        True,
        Boolean(),
        label="Check at sign-in",
        help="Check the password each time a user signs in.",
    )
    check_on_password_reset: bool = setting(
        True,
        Boolean(),
        label="Check on reset",
        help="Check the password chosen in a password reset.",
    )
    check_on_password_change: bool = setting(
        True,
        Boolean(),
        label="Check on change",
        help="Check the password chosen in a password change.",
    )
    min_breach_count: int = setting(
        1,
        Integer(min=1),
        label="Breach threshold",
        help="How many breaches a password must appear in to be refused.",
    )


@attrs.frozen(weakref_slot=False)
class Authentication:
    """Settings under `security.authentication`."""

    multi_factor: MultiFactor = section(
        MultiFactor,
        label="Multi-factor authentication",
        help="Second factors users can sign in with.",
    )
    session_management: SessionManagement = section(
        SessionManagement, label="Session management", help="Several accounts in one browser."
    )
    session: AuthenticationSession = section(
        AuthenticationSession,
        label="Sessions",
        help="Session cookie, binding, timeouts and limits.",
    )
    login: Login = section(
        Login, label="Sign-in", help="Identifiers users sign in with and the password policy."
    )
    signup: Signup = section(
        Signup, label="Sign-up", help="Who can register and what they must provide."
    )
    roles: Roles = section(Roles, label="Roles", help="Roles users can have.")
    custom_identifiers: CustomIdentifiers = section(
        CustomIdentifiers,
        tenant=True,
        label="Custom identifiers",
        help="Up to three extra identifiers (such as an employee number) users can have.",
    )
    recovery: Recovery = section(
        Recovery,
        tenant=True,
        label="Account recovery",
        help="Ways to get back into an account without the password or second factor.",
    )
    password_breach_detection: PasswordBreachDetection = section(
        PasswordBreachDetection,
        label="Breached-password check",
        help="Refuse passwords that appear in known data breaches (Have I Been Pwned).",
    )


# The algorithms the key store can generate signing keys for; it keeps keys for all of them
# unless told otherwise, so any client can be served.
KEY_ALGORITHMS: Final = ("RS256", "ES256", "EdDSA")


@attrs.frozen(weakref_slot=False)
class KeyStore:
    """Settings under `security.key_store`."""

    type: str = setting(
        "database",
        Choice(("database", "file")),
        label="Key storage",
        help="Keep the signing keys in the database or in files.",
    )
    rotation_interval_days: int = setting(
        90,
        Integer(gt=0, gt_message="Rotation interval must be a positive integer"),
        label="Rotation interval (days)",
        help="Days between automatic rotations of the signing keys.",
    )
    overlap_window_seconds: int = setting(
        7200,
        Integer(gt=0, gt_message="Overlap window must be a positive integer"),
        label="Overlap window (s)",
        help="Seconds a retired key is still published so tokens it signed keep verifying.",
    )
    algorithms: tuple[Any, ...] = setting(
        KEY_ALGORITHMS,
        ListOf(
            Choice(KEY_ALGORITHMS),
            min_items=1,
            min_items_message="At least one signing algorithm is required",
        ),
        label="Key algorithms",
        help="Algorithms a signing key is kept for: RS256, ES256, EdDSA.",
    )
    promotion_delay_ms: int = setting(
        0,
        Integer(
            min=0,
            min_message="Promotion delay must be non-negative",
            max=86400000,
            max_message="Promotion delay cannot exceed 24 hours",
        ),
        label="Promotion delay (ms)",
        help="Milliseconds a new key is published before it signs, so caches learn it first (at most 24 hours).",
    )


@attrs.frozen(weakref_slot=False)
class Security:
    """Settings under `security`."""

    secrets: SecuritySecrets = section(
        SecuritySecrets,
        label="Secrets",
        help="Keys that sign and encrypt tokens and cookies; generated in development when absent.",
    )
    protection: Protection = section(
        Protection,
        label="Protection",
        help="Rate limiting, trusted networks and device recognition.",
    )
    authentication: Authentication = section(
        Authentication,
        label="Authentication",
        help="Sign-in, sign-up, sessions, second factors, roles and recovery.",
    )
    key_store: KeyStore = section(
        KeyStore,
        label="Signing keys",
        help="Where the OIDC signing keys are kept and how they rotate.",
    )
