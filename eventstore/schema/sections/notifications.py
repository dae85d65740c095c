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


@attrs.frozen
class ChannelsEmail:
    """Settings under `notifications.channels.email`."""

    enabled: bool = setting(True, Boolean(html=True), tenant=True)


@attrs.frozen
class RateLimits:
    """Settings under `notifications.channels.sms.rate_limits`."""

    per_phone_per_hour: float = setting(3, Number(), tenant=True, policy=CEILING)
    per_ip_per_day: float = setting(10, Number(), tenant=True, policy=CEILING)
    cooldown_seconds: float = setting(60, Number(), tenant=True, policy=CEILING)


@attrs.frozen
class ChannelsSms:
    """Settings under `notifications.channels.sms`."""

    enabled: bool = setting(False, Boolean(html=True), tenant=True)
    provider: str | None = setting(None, Choice(("twilio",)), nullable=True, tenant=True)
    api_key: Secret | None = setting(
        None, Sensitive(TEXT), nullable=True, encrypted=True, tenant_encrypted=True, tenant=True
    )
    api_secret: Secret | None = setting(
        None, Sensitive(TEXT), nullable=True, encrypted=True, tenant_encrypted=True, tenant=True
    )
    from_number: str | None = setting(None, TEXT, nullable=True, tenant=True)
    rate_limits: RateLimits | None = section(RateLimits, optional=True)


@attrs.frozen
class Channels:
    """Settings under `notifications.channels`."""

    email: ChannelsEmail = section(ChannelsEmail)
    sms: ChannelsSms = section(ChannelsSms)


@attrs.frozen
class NotificationsDefaults:
    """Settings under `notifications.defaults`."""

    security_alerts: bool = setting(True, Boolean(html=True), tenant=True)
    new_session_alerts: bool = setting(True, Boolean(html=True), tenant=True)
    allow_user_preferences: bool = setting(True, Boolean(html=True), tenant=True)


@attrs.frozen
class Notifications:
    """Settings under `notifications`."""

    channels: Channels = section(Channels)
    defaults: NotificationsDefaults = section(NotificationsDefaults)
