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


@attrs.frozen
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
    )
    jwt_expires_in: str = setting(
        "1h", Text(min_length=1, min_length_message="JWT expiration cannot be empty")
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
    )


@attrs.frozen
class RateLimiting:
    """Settings under `security.protection.rate_limiting`."""

    enabled: bool = setting(True, Boolean(), tenant=True, policy=BOOLEAN_FLOOR)
    requests_per_minute: int = setting(
        100,
        Integer(gt=0, gt_message="Requests per minute must be a positive integer"),
        tenant=True,
        policy=CEILING,
    )
    window_minutes: int = setting(
        15,
        Integer(gt=0, gt_message="Window in minutes must be a positive integer"),
        tenant=True,
        policy=CEILING,
    )


@attrs.frozen
class DeviceMatching:
    """Settings under `security.protection.device_matching`."""

    min_confidence_score: int = setting(
        70, Integer(min=0, max=100), tenant=True, policy=NUMERIC_FLOOR
    )
    ip_similarity_threshold: float = setting(
        0.8, Number(min=0, max=1), tenant=True, policy=NUMERIC_FLOOR
    )
    enable_impossible_travel: bool = setting(True, Boolean())
    impossible_travel_max_speed_kmh: int = setting(900, Integer(gt=0), tenant=True, policy=CEILING)
    trust_duration_days: int = setting(30, Integer(min=1, max=365), tenant=True, policy=CEILING)


@attrs.frozen
class Protection:
    """Settings under `security.protection`."""

    rate_limiting: RateLimiting = section(RateLimiting)
    trusted_domains: tuple[Any, ...] = setting(
        (), ListOf(Text(min_length=1, min_length_message="Domain cannot be empty"))
    )
    trusted_proxies: tuple[Any, ...] = setting(
        (), ListOf(Text(min_length=1, min_length_message="Proxy IP/range cannot be empty"))
    )
    high_risk_countries: tuple[Any, ...] = setting((), ListOf(Text(length=2)), tenant=True)
    encrypt_device_data: bool = setting(
        False, Boolean(html=True), tenant=True, policy=BOOLEAN_FLOOR
    )
    device_matching: DeviceMatching = section(DeviceMatching)


@attrs.frozen
class Totp:
    """Settings under `security.authentication.multi_factor.totp`."""

    enabled: bool = setting(True, Boolean(), tenant=True, policy=BOOLEAN_FLOOR)
    issuer_name: str = setting(
        "OIDC Provider",
        Text(min_length=1, min_length_message="TOTP issuer name cannot be empty"),
        tenant=True,
        computed=computed.COMPANY_NAME,
    )


@attrs.frozen
class MultiFactorEmail:
    """Settings under `security.authentication.multi_factor.email`."""

    enabled: bool = setting(True, Boolean(), tenant=True, policy=BOOLEAN_FLOOR)
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
    )


@attrs.frozen
class MultiFactorSms:
    """Settings under `security.authentication.multi_factor.sms`."""

    enabled: bool = setting(False, Boolean(), tenant=True, policy=BOOLEAN_FLOOR)


@attrs.frozen
class Webauthn:
    """Settings under `security.authentication.multi_factor.webauthn`."""

    enabled: bool = setting(False, Boolean(), tenant=True, policy=BOOLEAN_FLOOR)
    rp_name: str = setting(
        "OIDC Provider",
        Text(min_length=1, min_length_message="WebAuthn RP name cannot be empty"),
        tenant=True,
        computed=computed.COMPANY_NAME,
    )
    rp_id: str = setting(
        "localhost",
        Text(min_length=1, min_length_message="WebAuthn RP ID cannot be empty"),
        computed=computed.RP_ID,
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
    )
    attestation: str = setting("none", Choice(("none", "indirect", "direct", "enterprise")))
    user_verification: str = setting(
        "preferred",
        Choice(("required", "preferred", "discouraged")),
        tenant=True,
        policy=OrderedFloor(("discouraged", "preferred", "required")),
    )
    authenticator_attachment: str | None = setting(
        None, Choice(("platform", "cross-platform")), nullable=True, tenant=True
    )
    resident_key: str = setting(
        "preferred", Choice(("required", "preferred", "discouraged")), tenant=True
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
    )


@attrs.frozen
class MultiFactor:
    """Settings under `security.authentication.multi_factor`."""

    enabled: bool = setting(True, Boolean(), tenant=True, policy=BOOLEAN_FLOOR)
    totp: Totp = section(Totp)
    email: MultiFactorEmail = section(MultiFactorEmail)
    sms: MultiFactorSms = section(MultiFactorSms)
    webauthn: Webauthn = section(Webauthn)


@attrs.frozen
class MultipleAccounts:
    """Settings under `security.authentication.session_management.multiple_accounts`."""

    enabled: bool = setting(True, Boolean(), tenant=True)


@attrs.frozen
class SessionManagement:
    """Settings under `security.authentication.session_management`."""

    multiple_accounts: MultipleAccounts = section(MultipleAccounts)


@attrs.frozen
class AuthenticationSession:
    """Settings under `security.authentication.session`."""

    cookie_name: str = setting("application_session", Text(patterns=(Pattern("^[a-zA-Z0-9_-]+$"),)))
    same_site: str = setting("lax", SAME_SITE)
    bind_ip: bool = setting(False, Boolean(html=True), tenant=True, policy=BOOLEAN_FLOOR)
    bind_user_agent: bool = setting(False, Boolean(html=True), tenant=True, policy=BOOLEAN_FLOOR)
    bind_device: bool = setting(False, Boolean(html=True), tenant=True, policy=BOOLEAN_FLOOR)
    idle_timeout_minutes: int = setting(
        30, Integer(min=0, coerce=True), tenant=True, policy=CEILING_ZERO_UNLIMITED
    )
    absolute_timeout_hours: int = setting(
        24, Integer(min=0, coerce=True), tenant=True, policy=CEILING_ZERO_UNLIMITED
    )
    max_concurrent_sessions: int = setting(
        0, Integer(min=0, coerce=True), tenant=True, policy=CEILING_ZERO_UNLIMITED
    )
    max_accounts_per_session: int = setting(
        5, Integer(min=1, coerce=True), tenant=True, policy=CEILING
    )
    encrypt_session_data: bool = setting(
        False, Boolean(html=True), tenant=True, policy=BOOLEAN_FLOOR
    )
    notify_new_session: bool = setting(False, Boolean(html=True), tenant=True)
    require_reauth_on_switch: bool = setting(
        False, Boolean(html=True), tenant=True, policy=BOOLEAN_FLOOR
    )
    max_flash_messages_per_type: int = setting(10, Integer(min=1, max=50, coerce=True))
    max_flash_messages_total: int = setting(20, Integer(min=1, max=100, coerce=True))
    require_2fa_for_new_device: bool = setting(
        False, Boolean(html=True), tenant=True, policy=BOOLEAN_FLOOR
    )
    new_device_2fa_method: str = setting("auto", Choice(("auto", "totp", "email")), tenant=True)
    new_device_confidence_threshold: int = setting(
        70, Integer(min=0, max=100, coerce=True), tenant=True, policy=NUMERIC_FLOOR
    )
    store_metadata: bool = setting(False, Boolean(html=True))


@attrs.frozen
class PasswordPolicy:
    """Settings under `security.authentication.login.password_policy`."""

    min_length: int = setting(
        8,
        Integer(min=1, min_message="Password minimum length must be at least 1"),
        tenant=True,
        policy=NumericFloor(absolute_minimum=8),
    )
    require_uppercase: bool = setting(True, Boolean(), tenant=True, policy=BOOLEAN_FLOOR)
    require_lowercase: bool = setting(True, Boolean(), tenant=True, policy=BOOLEAN_FLOOR)
    require_numbers: bool = setting(True, Boolean(), tenant=True, policy=BOOLEAN_FLOOR)
    require_symbols: bool = setting(False, Boolean(), tenant=True, policy=BOOLEAN_FLOOR)
    max_age_days: int = setting(
        90,
        Integer(gt=0, gt_message="Password max age must be a positive integer"),
        tenant=True,
        policy=CEILING,
    )


@attrs.frozen
class Login:
    """Settings under `security.authentication.login`."""

    login_methods: tuple[Any, ...] = setting(("email", "phone"), ListOf(TEXT), tenant=True)
    password_policy: PasswordPolicy = section(PasswordPolicy)


@attrs.frozen
class AutoApproval:
    """Settings under `security.authentication.signup.auto_approval`."""

    enabled: bool = setting(True, Boolean(), tenant=True)
    domains_whitelist: tuple[Any, ...] = setting((), ListOf(TEXT), tenant=True)


@attrs.frozen
class ContactChannelsEmail:
    """Settings under `security.authentication.signup.contact_channels.email`."""

    enabled: bool = setting(True, Boolean())
    required: bool = setting(False, Boolean())


@attrs.frozen
class Phone:
    """Settings under `security.authentication.signup.contact_channels.phone`."""

    enabled: bool = setting(True, Boolean())
    required: bool = setting(False, Boolean())


@attrs.frozen
class FullName:
    """Settings under `security.authentication.signup.contact_channels.full_name`."""

    enabled: bool = setting(True, Boolean())
    required: bool = setting(True, Boolean())


@attrs.frozen
class ContactChannels:
    """Settings under `security.authentication.signup.contact_channels`."""

    require_at_least_one: bool = setting(True, Boolean())
    email: ContactChannelsEmail = section(ContactChannelsEmail)
    phone: Phone = section(Phone)
    full_name: FullName = section(FullName)


@attrs.frozen
class Signup:
    """Settings under `security.authentication.signup`."""

    signup_methods: tuple[Any, ...] = setting(("email", "phone"), ListOf(TEXT), tenant=True)
    require_email_verification: bool = setting(False, Boolean(), tenant=True, policy=BOOLEAN_FLOOR)
    require_phone_verification: bool = setting(False, Boolean(), tenant=True, policy=BOOLEAN_FLOOR)
    auto_approval: AutoApproval = section(AutoApproval)
    contact_channels: ContactChannels = section(ContactChannels, tenant=True)


@attrs.frozen
class Roles:
    """Settings under `security.authentication.roles`."""

    available: tuple[Any, ...] = setting(
        ("user", "admin", "superadmin"),
        ListOf(TEXT, min_items=1, min_items_message="At least one role must be available"),
    )
    default: str = setting(
        "user", Text(min_length=1, min_length_message="Default role cannot be empty"), tenant=True
    )


@attrs.frozen
class FieldsField:
    """Settings under `security.authentication.custom_identifiers.fields[*]`."""

    slot: int | None = setting(None, Choice((1, 2, 3)))
    key: str | None = setting(
        None,
        Text(
            min_length=1,
            max_length=50,
            patterns=(
                Pattern("^[a-z][a-z0-9_]*$", "Key must be lowercase alphanumeric with underscores"),
            ),
        ),
    )
    name: str | None = setting(None, Text(min_length=1, max_length=100))
    hint_for_user: str = setting("", Text(max_length=200))
    validation_type: str = setting("none", Choice(("none", "regex", "charset_mask")))
    pattern: str | None = setting(None, TEXT, nullable=True)
    charset: str | None = setting(None, TEXT, nullable=True)
    mask: str | None = setting(None, TEXT, nullable=True)
    min_length: int = setting(1, Integer(min=1, max=100))
    max_length: int = setting(100, Integer(min=1, max=100))
    case_sensitive: bool = setting(False, Boolean())
    required_for_registration: bool = setting(False, Boolean())
    edit_policy: str = setting("set_once", Choice(("admin_only", "set_once", "editable", "full")))
    usable_for_login: bool = setting(True, Boolean())


@attrs.frozen
class CustomIdentifiers:
    """Settings under `security.authentication.custom_identifiers`."""

    enabled: bool = setting(False, Boolean())
    fields: tuple[FieldsField, ...] = setting((), ListOf(Nested(FieldsField), max_items=3))


@attrs.frozen
class BackupCodes:
    """Settings under `security.authentication.recovery.backup_codes`."""

    enabled: bool = setting(True, Boolean())
    count: int = setting(10, Integer(min=1, max=50))
    expiry_days: int = setting(365, Integer(min=1))


@attrs.frozen
class SecondaryEmail:
    """Settings under `security.authentication.recovery.secondary_email`."""

    enabled: bool = setting(True, Boolean())


@attrs.frozen
class RecoverySms:
    """Settings under `security.authentication.recovery.sms`."""

    enabled: bool = setting(False, Boolean())


@attrs.frozen
class SecurityQuestions:
    """Settings under `security.authentication.recovery.security_questions`."""

    enabled: bool = setting(False, Boolean())


@attrs.frozen
class Recovery:
    """Settings under `security.authentication.recovery`."""

    enabled: bool = setting(True, Boolean())
    backup_codes: BackupCodes = section(BackupCodes)
    secondary_email: SecondaryEmail = section(SecondaryEmail)
    sms: RecoverySms = section(RecoverySms)
    security_questions: SecurityQuestions = section(SecurityQuestions)


@attrs.frozen
class PasswordBreachDetection:
    """Settings under `security.authentication.password_breach_detection`."""

    enabled: bool = setting(True, Boolean())
    api_timeout_ms: int = setting(3000, Integer(min=500, max=30000))
    check_on_registration: bool = setting(True, Boolean())
    check_on_login: bool = setting(True, Boolean())
    check_on_password_reset: bool = setting(True, Boolean())
    check_on_password_change: bool = setting(True, Boolean())
    min_breach_count: int = setting(1, Integer(min=1))


@attrs.frozen
class Authentication:
    """Settings under `security.authentication`."""

    multi_factor: MultiFactor = section(MultiFactor)
    session_management: SessionManagement = section(SessionManagement)
    session: AuthenticationSession = section(AuthenticationSession)
    login: Login = section(Login)
    signup: Signup = section(Signup)
    roles: Roles = section(Roles)
    custom_identifiers: CustomIdentifiers = section(CustomIdentifiers, tenant=True)
    recovery: Recovery = section(Recovery, tenant=True)
    password_breach_detection: PasswordBreachDetection = section(PasswordBreachDetection)


# The algorithms the key store can generate signing keys for; it keeps keys for all of them
# unless told otherwise, so any client can be served.
KEY_ALGORITHMS: Final = ("RS256", "ES256", "EdDSA")


@attrs.frozen
class KeyStore:
    """Settings under `security.key_store`."""

    type: str = setting("database", Choice(("database", "file")))
    rotation_interval_days: int = setting(
        90, Integer(gt=0, gt_message="Rotation interval must be a positive integer")
    )
    overlap_window_seconds: int = setting(
        7200, Integer(gt=0, gt_message="Overlap window must be a positive integer")
    )
    algorithms: tuple[Any, ...] = setting(
        KEY_ALGORITHMS,
        ListOf(
            Choice(KEY_ALGORITHMS),
            min_items=1,
            min_items_message="At least one signing algorithm is required",
        ),
    )
    promotion_delay_ms: int = setting(
        0,
        Integer(
            min=0,
            min_message="Promotion delay must be non-negative",
            max=86400000,
            max_message="Promotion delay cannot exceed 24 hours",
        ),
    )


@attrs.frozen
class Security:
    """Settings under `security`."""

    secrets: SecuritySecrets = section(SecuritySecrets)
    protection: Protection = section(Protection)
    authentication: Authentication = section(Authentication)
    key_store: KeyStore = section(KeyStore)
