"""The root of the configuration: nine persisted sections plus the runtime-only ones."""

from __future__ import annotations

import attrs

from eventstore.schema.declare import section
from eventstore.schema.sections.application import Application
from eventstore.schema.sections.branding import Branding
from eventstore.schema.sections.deployment import Deployment
from eventstore.schema.sections.features import Features
from eventstore.schema.sections.integrations import Integrations
from eventstore.schema.sections.notifications import Notifications
from eventstore.schema.sections.oidc import Oidc
from eventstore.schema.sections.oidc_storage import OidcStorage
from eventstore.schema.sections.security import Security
from eventstore.schema.sections.storage import Storage


@attrs.frozen(weakref_slot=False)
class AppConfig:
    """The complete, validated configuration; the runtime config is an instance of it.

    Reading a value is a chain of attribute accesses on frozen objects, so the hot path of an app
    process costs no lookups and no locks.
    """

    application: Application = section(
        Application, label="Application", help="The product's name, description and languages."
    )
    branding: Branding = section(
        Branding,
        label="Branding",
        help="Company name, logos, fonts, colours and custom page templates.",
    )
    deployment: Deployment = section(
        Deployment,
        label="Deployment",
        help="Where and how the service runs: URL, server, cookies and route paths.",
    )
    security: Security = section(
        Security,
        label="Security",
        help="Secrets, abuse protection, sign-in, sign-up, sessions, MFA and recovery.",
    )
    features: Features = section(
        Features,
        label="Features",
        help="OpenID Connect features, social sign-in, metrics and multi-tenancy.",
    )
    oidc_storage: OidcStorage = section(
        OidcStorage,
        runtime_only=True,
        label="OIDC storage",
        help="Where OIDC sessions and tokens are kept; computed at start-up, never stored.",
    )
    oidc: Oidc = section(
        Oidc,
        label="OIDC",
        help="The OpenID Connect provider: issuer, endpoints, token lifetimes, algorithms.",
    )
    integrations: Integrations = section(
        Integrations,
        label="Integrations",
        help="External services: SMTP, public URLs, IP intelligence, fingerprinting, file storage.",
    )
    notifications: Notifications = section(
        Notifications,
        label="Notifications",
        help="Notification channels (email, SMS) and what users are told by default.",
    )
    storage: Storage = section(
        Storage,
        runtime_only=True,
        label="Storage",
        help="The primary database; set by the start-up variables, never stored.",
    )
