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


@attrs.frozen(weakref_slot=False)
class IntegrationsEmail:
    """Settings under `integrations.email`."""

    smtp_host: str = setting(
        "your-smtp-host",
        Text(min_length=1, min_length_message="SMTP host cannot be empty"),
        tenant=True,
        guards_credentials=SMTP_CREDENTIALS,
        label="SMTP host",
        help="Host name of the SMTP server.",
    )
    smtp_port: int = setting(
        587,
        Integer(gt=0, gt_message="SMTP port must be a positive integer"),
        tenant=True,
        label="SMTP port",
        help="Port of the SMTP server (587 for STARTTLS, 465 for TLS).",
    )
    smtp_username: str = setting(
        "your-email@example.com",
        Text(min_length=1, min_length_message="SMTP username cannot be empty"),
        tenant=True,
        label="SMTP user name",
        help="User name to sign in to the SMTP server with.",
    )
    smtp_password: Secret = setting(
        "not-configured",
        Sensitive(Text(min_length=1, min_length_message="SMTP password cannot be empty")),
        encrypted=True,
        tenant_encrypted=True,
        tenant=True,
        label="SMTP password",
        help="Password for the SMTP server (SMTP_PASSWORD).",
    )
    from_: str = setting(
        "your-email@example.com",
        EmailAddress(empty_message="Email from field cannot be empty"),
        key="from",
        tenant=True,
        label="Sender address",
        help="Address emails are sent from.",
    )
    tls_reject_unauthorized: bool | None = setting(
        None,
        Boolean(),
        nullable=True,
        tenant=True,
        guards_credentials=SMTP_CREDENTIALS,
        label="Check the TLS certificate",
        help="Refuse an SMTP server whose certificate cannot be verified; off allows self-signed certificates.",
    )


@attrs.frozen(weakref_slot=False)
class Urls:
    """Settings under `integrations.urls`."""

    website: str = setting(
        "",
        Text(url=True, url_message="Website URL must be valid"),
        tenant=True,
        computed=computed.BASE_URL,
        label="Website",
        help="Your website; empty uses the public URL.",
    )
    privacy_policy: str = setting(
        "",
        Text(url=True, url_message="Privacy policy URL must be valid"),
        tenant=True,
        computed=computed.PRIVACY_URL,
        label="Privacy policy",
        help="Your privacy policy; empty uses the public URL + /privacy.",
    )
    terms_of_service: str = setting(
        "",
        Text(url=True, url_message="Terms of service URL must be valid"),
        tenant=True,
        computed=computed.TERMS_URL,
        label="Terms of service",
        help="Your terms of service; empty uses the public URL + /terms.",
    )
    contact: str = setting(
        "",
        Text(url=True, url_message="Contact URL must be valid"),
        tenant=True,
        computed=computed.CONTACT_URL,
        label="Contact page",
        help="Where users can reach you; empty uses the public URL + /contact.",
    )


@attrs.frozen(weakref_slot=False)
class Ipinfo:
    """Settings under `integrations.ipinfo`."""

    enabled: bool = setting(
        False,
        Boolean(),
        label="IPinfo on",
        help="Look up the location of sign-in addresses with ipinfo.io.",
    )
    api_token: Secret | None = setting(
        None,
        Sensitive(TEXT),
        nullable=True,
        encrypted=True,
        label="IPinfo token",
        help="API token of ipinfo.io (IPINFO_API_TOKEN).",
    )
    cache_ttl_hours: int = setting(
        24, Integer(gt=0), label="Cache (hours)", help="Hours a looked-up location is reused."
    )


@attrs.frozen(weakref_slot=False)
class Ipqualityscore:
    """Settings under `integrations.ipqualityscore`."""

    enabled: bool = setting(
        False,
        Boolean(),
        label="IPQualityScore on",
        help="Check the reputation of sign-in addresses with IPQualityScore.",
    )
    api_key: Secret | None = setting(
        None,
        Sensitive(TEXT),
        nullable=True,
        encrypted=True,
        label="IPQualityScore key",
        help="API key of IPQualityScore (IPQUALITYSCORE_API_KEY).",
    )
    fraud_score_threshold: int = setting(
        75,
        Integer(min=0, max=100),
        label="Fraud score threshold",
        help="Score (0-100) from which an address counts as risky.",
    )
    cache_ttl_hours: int = setting(
        6, Integer(gt=0), label="Cache (hours)", help="Hours a reputation result is reused."
    )


@attrs.frozen(weakref_slot=False)
class Fingerprintjs:
    """Settings under `integrations.fingerprintjs`."""

    enabled: bool = setting(
        False,
        Boolean(),
        label="FingerprintJS on",
        help="Identify browsers with FingerprintJS to recognise devices.",
    )
    api_key: Secret | None = setting(
        None,
        Sensitive(TEXT),
        nullable=True,
        encrypted=True,
        label="FingerprintJS key",
        help="API key of FingerprintJS.",
    )
    endpoint: str | None = setting(
        None,
        TEXT,
        nullable=True,
        label="FingerprintJS endpoint",
        help="Custom FingerprintJS endpoint, if you proxy it; empty uses the default.",
    )


@attrs.frozen(weakref_slot=False)
class S3:
    """Settings under `integrations.file_storage.s3`."""

    region: str = setting("us-east-1", TEXT, label="Region", help="Region of the bucket.")
    bucket: str = setting("", TEXT, label="Bucket", help="Name of the bucket.")
    access_key_id: str = setting(
        "", TEXT, label="Access key ID", help="Access key ID to reach the bucket with."
    )
    secret_access_key: Secret = setting(
        "",
        Sensitive(TEXT),
        secret=True,
        label="Secret access key",
        help="Secret access key to reach the bucket with.",
    )
    endpoint: str = setting(
        "",
        UrlOrEmpty(),
        label="Endpoint",
        help="URL of an S3-compatible service (such as MinIO); empty uses AWS.",
    )
    force_path_style: bool = setting(
        False,
        Boolean(),
        label="Path-style addressing",
        help="Put the bucket in the URL path instead of the host name; needed by most S3-compatible services.",
    )


@attrs.frozen(weakref_slot=False)
class FileStorage:
    """Settings under `integrations.file_storage`."""

    provider: str = setting(
        "local",
        Choice(("local", "s3")),
        bootstrap_only=True,
        env="FILE_STORAGE_PROVIDER",
        label="Storage provider",
        help="local disk or s3; set at start-up, not stored.",
    )
    upload_dir: str = setting(
        "./runtime/uploads",
        TEXT,
        label="Upload folder",
        help="Folder for uploads on local storage; an absolute path can point at a dedicated volume.",
    )
    signed_url_expiry_seconds: int = setting(
        3600,
        Integer(gt=0),
        label="Signed URL lifetime (s)",
        help="Seconds a signed download link stays valid.",
    )
    s3: S3 = section(S3, label="S3", help="The S3-compatible bucket used when the provider is s3.")


@attrs.frozen(weakref_slot=False)
class Integrations:
    """Settings under `integrations`."""

    email: IntegrationsEmail = section(
        IntegrationsEmail,
        label="Email (SMTP)",
        help="The SMTP server outgoing email is sent through.",
    )
    urls: Urls = section(
        Urls,
        label="Public pages",
        help="Links to your website and policies shown to users; empty ones follow the public URL.",
    )
    ipinfo: Ipinfo = section(Ipinfo, label="IPinfo", help="IP geolocation with ipinfo.io.")
    ipqualityscore: Ipqualityscore = section(
        Ipqualityscore, label="IPQualityScore", help="IP reputation with IPQualityScore."
    )
    fingerprintjs: Fingerprintjs = section(
        Fingerprintjs, label="FingerprintJS", help="Browser fingerprinting with FingerprintJS."
    )
    file_storage: FileStorage = section(
        FileStorage, label="File storage", help="Where uploaded files (such as avatars) are kept."
    )
