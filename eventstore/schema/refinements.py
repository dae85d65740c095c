"""Rules that span several settings, and rewrites one setting implies for another."""

from __future__ import annotations

import re
from collections.abc import Iterator

import attrs

from eventstore.errors import Issue
from eventstore.schema.declare import normaliser, refinement
from eventstore.schema.sections.application import Locales
from eventstore.schema.sections.features import (
    DynamicClientRegistration,
    FeaturesOidc,
    SocialProviders,
)
from eventstore.schema.sections.security import CustomIdentifiers, FieldsField
from eventstore.schema.sections.storage import Storage
from eventstore.schema.structure import join
from eventstore.secret import Secret


@refinement(Locales)
def _default_locale_is_available(locales: Locales, path: str) -> Iterator[Issue]:
    if locales.default not in locales.available:
        yield Issue(join(path, "default"), "Default locale must be included in available locales")


@refinement(CustomIdentifiers)
def _identifier_slots_and_keys_unique(ids: CustomIdentifiers, path: str) -> Iterator[Issue]:
    where = join(path, "fields")
    slots = [f.slot for f in ids.fields]
    keys = [f.key for f in ids.fields]
    if len(set(slots)) != len(slots):
        yield Issue(where, "Each field must use a unique slot number")
    if len(set(keys)) != len(keys):
        yield Issue(where, "Each field must have a unique key")


_FEATURE_DEPENDENCIES = (
    (
        "jwt_introspection",
        "token_introspection",
        "JWT introspection requires the token introspection endpoint to be enabled",
    ),
    (
        "jwt_userinfo",
        "userinfo_endpoint",
        "JWT UserInfo requires the UserInfo endpoint to be enabled",
    ),
    (
        "client_registration_management",
        "dynamic_client_registration",
        "Client registration management requires dynamic client registration to be enabled",
    ),
)


@refinement(FeaturesOidc)
def _oidc_feature_dependencies(features: FeaturesOidc, path: str) -> Iterator[Issue]:
    for feature, needs, message in _FEATURE_DEPENDENCIES:
        if getattr(features, feature).enabled and not getattr(features, needs).enabled:
            yield Issue(join(path, f"{feature}.enabled"), message)


@refinement(SocialProviders)
def _enabled_providers_have_credentials(social: SocialProviders, path: str) -> Iterator[Issue]:
    for provider in social.enabled:
        creds = getattr(social, provider)
        for field in ("client_id", "client_secret"):
            value = getattr(creds, field)
            text = (value.reveal() if isinstance(value, Secret) else value or "").strip()
            placeholder = f"your-{provider}-{field.replace('_', '-')}"
            if not text or text == placeholder:
                yield Issue(
                    join(path, f"{provider}.{field}"),
                    f"Enabled social provider {provider} requires a usable {field}",
                )
                break


@refinement(Storage)
def _storage_location_given(storage: Storage, path: str) -> Iterator[Issue]:
    if storage.adapter == "mongodb" and not storage.mongodb.uri:
        yield Issue(
            join(path, "mongodb.uri"),
            "STORAGE_MONGODB_URI is required when STORAGE_ADAPTER=mongodb",
        )
    if storage.adapter == "postgresql" and not storage.postgresql.url:
        yield Issue(
            join(path, "postgresql.url"),
            "STORAGE_POSTGRESQL_URL is required when STORAGE_ADAPTER=postgresql",
        )


@normaliser(DynamicClientRegistration)
def _open_registration_needs_token(dcr: DynamicClientRegistration) -> DynamicClientRegistration:
    """Dynamic registration without an initial access token would let anyone register clients."""
    if dcr.enabled and not dcr.require_initial_access_token:
        return attrs.evolve(dcr, require_initial_access_token=True)
    return dcr


_BACKREFERENCE = re.compile(r"\\[1-9]")
_NESTED_QUANTIFIER = re.compile(r"(\+|\*|\{[^}]+\})(\+|\*|\{[^}]+\}|\?)")
_QUANTIFIED_GROUP = re.compile(r"\([^)]*[+*][^)]*\)[+*?{]")


def is_unsafe_pattern(pattern: str) -> bool:
    """Patterns that could backtrack catastrophically on user input are refused."""
    if len(pattern) > 200 or _BACKREFERENCE.search(pattern):
        return True
    if _NESTED_QUANTIFIER.search(pattern) or _QUANTIFIED_GROUP.search(pattern):
        return True
    try:
        re.compile(pattern)
    except re.error:
        return True
    return False


@normaliser(FieldsField)
def _identifier_validation_is_usable(field: FieldsField) -> FieldsField:
    """An identifier rule that cannot be applied safely degrades to no rule at all."""
    if field.validation_type == "regex" and (not field.pattern or is_unsafe_pattern(field.pattern)):
        field = attrs.evolve(field, validation_type="none", pattern=None)
    if field.validation_type == "charset_mask" and not (field.charset and field.mask):
        field = attrs.evolve(field, validation_type="none", charset=None, mask=None)
    if field.min_length > field.max_length:
        field = attrs.evolve(field, min_length=field.max_length)
    return field
