"""The `notifications` section of the Parako.ID configuration.

Each setting is declared once, here, with its default, its checks and its flags; every list of
paths elsewhere (encrypted, tenant-overridable, bootstrap-only, policy) is derived from these.
"""

from __future__ import annotations

import attrs

from eventstore.schema.declare import section, setting
from eventstore.schema.kinds import TEXT, Boolean, Choice, Number, Sensitive
from eventstore.schema.policy import CEILING
from eventstore.secret import Secret


@attrs.frozen(weakref_slot=False)
class ChannelsEmail:
    """Settings under `notifications.channels.email`."""

    enabled: bool = setting(
        True,
        Boolean(html=True),
        tenant=True,
        label="Email notifications on",
        help="Send notifications by email.",
    )


@attrs.frozen(weakref_slot=False)
class RateLimits:
    """Settings under `notifications.channels.sms.rate_limits`."""

    per_phone_per_hour: float = setting(
        3,
        Number(),
        tenant=True,
        policy=CEILING,
        label="Per phone per hour",
        help="Most messages one phone number receives per hour (3 when not set).",
    )
    per_ip_per_day: float = setting(
        10,
        Number(),
        tenant=True,
        policy=CEILING,
        label="Per address per day",
        help="Most messages requested from one IP address per day (10 when not set).",
    )
    cooldown_seconds: float = setting(
        60,
        Number(),
        tenant=True,
        policy=CEILING,
        label="Cooldown (s)",
        help="Seconds before another message can go to the same number (60 when not set).",
    )


@attrs.frozen(weakref_slot=False)
class ChannelsSms:
    """Settings under `notifications.channels.sms`."""

    enabled: bool = setting(
        False,
        Boolean(html=True),
        tenant=True,
        label="SMS on",
        help="Send notifications and codes by SMS.",
    )
    provider: str | None = setting(
        None,
        Choice(("twilio",)),
        nullable=True,
        tenant=True,
        label="SMS provider",
        help="Service that sends the messages; twilio is the one supported.",
    )
    api_key: Secret | None = setting(
        None,
        Sensitive(TEXT),
        nullable=True,
        encrypted=True,
        tenant_encrypted=True,
        tenant=True,
        label="SMS API key",
        help="API key (Twilio account SID) of the SMS provider.",
    )
    api_secret: Secret | None = setting(
        None,
        Sensitive(TEXT),
        nullable=True,
        encrypted=True,
        tenant_encrypted=True,
        tenant=True,
        label="SMS API secret",
        help="API secret (Twilio auth token) of the SMS provider.",
    )
    from_number: str | None = setting(
        None,
        TEXT,
        nullable=True,
        tenant=True,
        label="Sender number",
        help="Phone number messages are sent from, in international format.",
    )
    rate_limits: RateLimits | None = section(
        RateLimits,
        optional=True,
        label="SMS limits",
        help="Limits that keep SMS costs and abuse down; tenants may only lower them.",
    )


@attrs.frozen(weakref_slot=False)
class Channels:
    """Settings under `notifications.channels`."""

    email: ChannelsEmail = section(ChannelsEmail, label="Email", help="Notifications by email.")
    sms: ChannelsSms = section(
        ChannelsSms, label="SMS", help="Notifications and codes by SMS (Twilio)."
    )


@attrs.frozen(weakref_slot=False)
class NotificationsDefaults:
    """Settings under `notifications.defaults`."""

    security_alerts: bool = setting(
        True,
        Boolean(html=True),
        tenant=True,
        label="Security alerts",
        help="Tell users about security events on their account (password changed, MFA turned off).",
    )
    new_session_alerts: bool = setting(
        True,
        Boolean(html=True),
        tenant=True,
        label="New sign-in alerts",
        help="Tell users when their account is signed in from somewhere new.",
    )
    allow_user_preferences: bool = setting(
        True,
        Boolean(html=True),
        tenant=True,
        label="User preferences",
        help="Let users choose which notifications they receive.",
    )


@attrs.frozen(weakref_slot=False)
class Notifications:
    """Settings under `notifications`."""

    channels: Channels = section(Channels, label="Channels", help="How notifications reach users.")
    defaults: NotificationsDefaults = section(
        NotificationsDefaults,
        label="Defaults",
        help="What users are notified about unless they choose otherwise.",
    )
