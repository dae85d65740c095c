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


@attrs.frozen
class AppConfig:
    """The complete, validated configuration; the runtime config is an instance of it.

    Reading a value is a chain of attribute accesses on frozen objects, so the hot path of an app
    process costs no lookups and no locks.
    """

    application: Application = section(Application)
    branding: Branding = section(Branding)
    deployment: Deployment = section(Deployment)
    security: Security = section(Security)
    features: Features = section(Features)
    oidc_storage: OidcStorage = section(OidcStorage, runtime_only=True)
    oidc: Oidc = section(Oidc)
    integrations: Integrations = section(Integrations)
    notifications: Notifications = section(Notifications)
    storage: Storage = section(Storage, runtime_only=True)
