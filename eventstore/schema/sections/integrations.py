"""The `integrations` section of the Parako.ID configuration.

Each setting is declared once, here, with its default, its checks and its flags; every list of
paths elsewhere (encrypted, tenant-overridable, bootstrap-only, policy) is derived from these.
"""

from __future__ import annotations

from typing import Final

import attrs

from eventstore import computed
from eventstore.schema.declare import section, setting
from eventstore.schema.kinds import (
    TEXT,
    Boolean,
    Choice,
    EmailAddress,
    Integer,
    Sensitive,
    Text,
    UrlOrEmpty,
)
from eventstore.secret import Secret

#: sent to ``smtp_host``, protected by ``tls_reject_unauthorized``
SMTP_CREDENTIALS: Final = ("smtp_username", "smtp_password")


@attrs.frozen
class IntegrationsEmail:
    """Settings under `integrations.email`."""

    smtp_host: str = setting(
        "your-smtp-host",
        Text(min_length=1, min_length_message="SMTP host cannot be empty"),
        tenant=True,
        guards_credentials=SMTP_CREDENTIALS,
    )
    smtp_port: int = setting(
        587, Integer(gt=0, gt_message="SMTP port must be a positive integer"), tenant=True
    )
    smtp_username: str = setting(
        "your-email@example.com",
        Text(min_length=1, min_length_message="SMTP username cannot be empty"),
        tenant=True,
    )
    smtp_password: Secret = setting(
        "not-configured",
        Sensitive(Text(min_length=1, min_length_message="SMTP password cannot be empty")),
        encrypted=True,
        tenant_encrypted=True,
        tenant=True,
    )
    from_: str = setting(
        "your-email@example.com",
        EmailAddress(empty_message="Email from field cannot be empty"),
        key="from",
        tenant=True,
    )
    tls_reject_unauthorized: bool | None = setting(
        None, Boolean(), nullable=True, tenant=True, guards_credentials=SMTP_CREDENTIALS
    )


@attrs.frozen
class Urls:
    """Settings under `integrations.urls`."""

    website: str = setting(
        "",
        Text(url=True, url_message="Website URL must be valid"),
        tenant=True,
        computed=computed.BASE_URL,
    )
    privacy_policy: str = setting(
        "",
        Text(url=True, url_message="Privacy policy URL must be valid"),
        tenant=True,
        computed=computed.PRIVACY_URL,
    )
    terms_of_service: str = setting(
        "",
        Text(url=True, url_message="Terms of service URL must be valid"),
        tenant=True,
        computed=computed.TERMS_URL,
    )
    contact: str = setting(
        "",
        Text(url=True, url_message="Contact URL must be valid"),
        tenant=True,
        computed=computed.CONTACT_URL,
    )


@attrs.frozen
class Ipinfo:
    """Settings under `integrations.ipinfo`."""

    enabled: bool = setting(False, Boolean())
    api_token: Secret | None = setting(None, Sensitive(TEXT), nullable=True, encrypted=True)
    cache_ttl_hours: int = setting(24, Integer(gt=0))


@attrs.frozen
class Ipqualityscore:
    """Settings under `integrations.ipqualityscore`."""

    enabled: bool = setting(False, Boolean())
    api_key: Secret | None = setting(None, Sensitive(TEXT), nullable=True, encrypted=True)
    fraud_score_threshold: int = setting(75, Integer(min=0, max=100))
    cache_ttl_hours: int = setting(6, Integer(gt=0))


@attrs.frozen
class Fingerprintjs:
    """Settings under `integrations.fingerprintjs`."""

    enabled: bool = setting(False, Boolean())
    api_key: Secret | None = setting(None, Sensitive(TEXT), nullable=True, encrypted=True)
    endpoint: str | None = setting(None, TEXT, nullable=True)


@attrs.frozen
class S3:
    """Settings under `integrations.file_storage.s3`."""

    region: str = setting("us-east-1", TEXT)
    bucket: str = setting("", TEXT)
    access_key_id: str = setting("", TEXT)
    secret_access_key: Secret = setting("", Sensitive(TEXT), secret=True)
    endpoint: str = setting("", UrlOrEmpty())
    force_path_style: bool = setting(False, Boolean())


@attrs.frozen
class FileStorage:
    """Settings under `integrations.file_storage`."""

    provider: str = setting(
        "local", Choice(("local", "s3")), bootstrap_only=True, env="FILE_STORAGE_PROVIDER"
    )
    upload_dir: str = setting("./runtime/uploads", TEXT)
    signed_url_expiry_seconds: int = setting(3600, Integer(gt=0))
    s3: S3 = section(S3)


@attrs.frozen
class Integrations:
    """Settings under `integrations`."""

    email: IntegrationsEmail = section(IntegrationsEmail)
    urls: Urls = section(Urls)
    ipinfo: Ipinfo = section(Ipinfo)
    ipqualityscore: Ipqualityscore = section(Ipqualityscore)
    fingerprintjs: Fingerprintjs = section(Fingerprintjs)
    file_storage: FileStorage = section(FileStorage)
