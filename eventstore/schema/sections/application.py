"""The `application` section of the Parako.ID configuration.

Each setting is declared once, here, with its default, its checks and its flags; every list of
paths elsewhere (encrypted, tenant-overridable, bootstrap-only, policy) is derived from these.
"""

from __future__ import annotations

from typing import Any, Final

import attrs

from eventstore.schema.declare import section, setting
from eventstore.schema.kinds import LOCALE, ListOf, Text

# The locales the product ships translations for: available to users by default, and what
# discovery advertises as supported for claims and the UI.
SHIPPED_LOCALES: Final = ("en", "fr", "es", "pt", "de", "it", "ru", "zh", "ja", "ko")


@attrs.frozen(weakref_slot=False)
class Locales:
    """Settings under `application.locales`."""

    default: str = setting(
        "en",
        LOCALE,
        tenant=True,
        label="Default language",
        help="Language used when the user has not chosen one (a code such as en or pt-BR).",
    )
    available: tuple[Any, ...] = setting(
        SHIPPED_LOCALES,
        ListOf(
            LOCALE,
            min_items=1,
            min_items_message="At least one locale must be available",
            unique=True,
        ),
        tenant=True,
        label="Available languages",
        help="Language codes users can switch between; the default should be one of them.",
    )


@attrs.frozen(weakref_slot=False)
class Application:
    """Settings under `application`."""

    title: str = setting(
        "Parako.ID",
        Text(trim=True, min_length=1, min_length_message="Application title cannot be empty"),
        tenant=True,
        label="Application title",
        help="Name of the application shown in page titles and the interface.",
    )
    description: str = setting(
        "Open-source, self-hosted identity infrastructure for secure SSO, OIDC/OAuth2, MFA,"
        " passkeys, and multi-tenant authentication.",
        Text(trim=True, min_length=1, min_length_message="Application description cannot be empty"),
        tenant=True,
        label="Application description",
        help="Short description of the application, used in page metadata.",
    )
    locales: Locales = section(
        Locales,
        label="Languages",
        help="Which interface languages are offered and which one is the default.",
    )
