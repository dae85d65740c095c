"""What each setting is, for people: its label and help, where it sits, its default and its rules.

Everything here is read from the declarations (``label=`` and ``help=`` beside each field, the
kinds, the flags), so the console, the JSON schema of ``GET /api/v1/config/schema`` and the CLI's
``show --explain`` describe a setting in the same words. Defaults are shown as reads show them:
secrets masked.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from typing import Any, Final

from eventstore.computed import AlwaysDerived, FillIfEmpty, GeneratedSecret
from eventstore.docpath import get_path
from eventstore.schema.config import AppConfig
from eventstore.schema.declare import Declared, declared_fields
from eventstore.schema.kinds import (
    Boolean,
    Choice,
    EmailAddress,
    HttpUrlOrEmpty,
    Integer,
    Kind,
    ListOf,
    MapOf,
    Sensitive,
    Text,
    UrlOrEmpty,
)
from eventstore.schema.paths import walk
from eventstore.schema.structure import Nested, unstructure

#: what separates the labels of a setting's groups in its title
TRAIL: Final = " › "


class UnknownSetting(KeyError):
    """A path that is neither a declared setting or group nor an entry of a free-form map."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.path = path

    def __str__(self) -> str:
        return f"{self.path}: not a setting of the schema"


@functools.cache
def _declared() -> dict[str, Declared]:
    return dict(walk())


@functools.cache
def _defaults() -> dict[str, Any]:
    return unstructure(AppConfig())


def declared_paths() -> tuple[str, ...]:
    """Every declared setting and group, in schema order."""
    return tuple(_declared())


def resolve_path(path: str) -> str:
    """The declared path ``path`` stands for: itself, or the free-form map it is an entry of
    (``features.oidc.claims.profile`` → ``features.oidc.claims``); :class:`UnknownSetting`
    otherwise."""
    declared = _declared()
    if path in declared:
        return path
    parent = path
    while "." in parent:
        parent = parent.rsplit(".", 1)[0]
        found = declared.get(parent)
        if found is not None:
            if isinstance(found.info.kind, MapOf):
                return parent
            break
    raise UnknownSetting(path)


def title_of(path: str) -> str:
    """The labels from the section down to the setting: ``Security › Sessions › Idle timeout``."""
    declared = _declared()
    parts = path.split(".")
    return TRAIL.join(declared[".".join(parts[: i + 1])].info.label for i in range(len(parts)))


def _computed(info: Any) -> str | None:
    rule = info.computed
    if isinstance(rule, AlwaysDerived):
        return f"always computed from {rule.derived_from}"
    if isinstance(rule, FillIfEmpty):
        return f"filled from deployment.url{rule.suffix and ' + ' + rule.suffix} when empty"
    if isinstance(rule, GeneratedSecret):
        return "generated when absent (development only; required elsewhere)"
    return None


def _type(kind: Kind | None) -> str:
    if isinstance(kind, Sensitive):
        return _type(kind.inner)
    if isinstance(kind, Boolean):
        return "boolean"
    if isinstance(kind, Integer):
        return "integer" if kind.whole else "number"
    if isinstance(kind, ListOf):
        return "array"
    if isinstance(kind, MapOf | Nested):
        return "object"
    if isinstance(kind, Choice):
        types = {type(v) for v in kind.values}
        return "integer" if types == {int} else "string"
    return "string"


def _bounds(kind: Kind | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if isinstance(kind, Integer):
        if kind.min is not None:
            out["minimum"] = kind.min
        if kind.max is not None:
            out["maximum"] = kind.max
        if kind.gt is not None:
            out["exclusiveMinimum"] = kind.gt
    if isinstance(kind, Choice):
        out["choices"] = list(kind.values)
    if isinstance(kind, ListOf) and isinstance(kind.item, Choice):
        out["choices"] = list(kind.item.values)
    return out


def explain(path: str) -> dict[str, Any]:
    """Everything the schema says about one setting or group, as plain JSON values.

    ``path`` may also be an entry of a free-form map (a scope of ``features.oidc.claims``): the
    map is explained, and ``entry_of`` says so. Raises :class:`UnknownSetting` for any other
    path. Secrets' defaults are masked.
    """
    declared_path = resolve_path(path)
    info = _declared()[declared_path].info
    group = info.nested is not None
    out: dict[str, Any] = {
        "path": declared_path,
        "label": info.label,
        "help": info.help,
        "title": title_of(declared_path),
        "section": declared_path.split(".")[0],
        "kind": "group" if group else "setting",
        "type": "object" if group else _type(info.kind),
        "default": get_path(_defaults(), declared_path, None),
        "nullable": info.nullable or info.optional,
        "env": info.env,
        "bootstrap_only": info.bootstrap_only,
        "runtime_only": declared_path.split(".")[0] in _runtime_only(),
        "tenant_overridable": info.tenant,
        "secret": isinstance(info.kind, Sensitive) or info.secret or info.encrypted,
        "computed": _computed(info),
    }
    if path != declared_path:
        out["entry_of"] = declared_path
        out["path"] = path
        out["default"] = get_path(_defaults(), path, None)
    out.update(_bounds(info.kind))
    return out


@functools.cache
def _runtime_only() -> frozenset[str]:
    return frozenset(p for p, d in _declared().items() if d.info.runtime_only)


def setting_index() -> list[dict[str, str]]:
    """One entry per declared leaf setting, for searching: path, title, label, help."""
    return [
        {
            "path": path,
            "section": path.split(".")[0],
            "label": d.info.label,
            "title": title_of(path),
            "help": d.info.help,
        }
        for path, d in _declared().items()
        if d.info.nested is None
    ]


# --- a JSON schema of the configuration -------------------------------------------------------


def _kind_schema(kind: Kind | None) -> dict[str, Any]:
    if isinstance(kind, Sensitive):
        return {**_kind_schema(kind.inner), "writeOnly": True}
    if isinstance(kind, Boolean):
        return {"type": "boolean"}
    if isinstance(kind, Integer):
        schema: dict[str, Any] = {"type": "integer" if kind.whole else "number"}
        bounds = _bounds(kind)
        schema.update({k: v for k, v in bounds.items() if k != "choices"})
        return schema
    if isinstance(kind, Choice):
        return {"enum": list(kind.values)}
    if isinstance(kind, ListOf):
        schema = {"type": "array", "items": _kind_schema(kind.item)}
        if kind.max_items is not None:
            schema["maxItems"] = kind.max_items
        if kind.min_items is not None:
            schema["minItems"] = kind.min_items
        return schema
    if isinstance(kind, MapOf):
        return {"type": "object", "additionalProperties": _kind_schema(kind.value)}
    if isinstance(kind, Nested):
        return _object_schema(kind.cls, "", with_defaults=False)
    if isinstance(kind, HttpUrlOrEmpty | UrlOrEmpty):
        return {"type": "string", "format": "uri"}
    if isinstance(kind, EmailAddress):
        return {"type": "string"}
    if isinstance(kind, Text):
        schema = {"type": "string"}
        if kind.min_length is not None:
            schema["minLength"] = kind.min_length
        if kind.max_length is not None:
            schema["maxLength"] = kind.max_length
        if kind.url:
            schema["format"] = "uri"
        return schema
    return {}


def _object_schema(cls: type, path: str, *, with_defaults: bool = True) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    for d in declared_fields(cls):
        where = f"{path}.{d.info.key}" if path else d.info.key
        info = d.info
        if info.nested is not None:
            schema = _object_schema(info.nested, where, with_defaults=with_defaults)
        else:
            schema = _kind_schema(info.kind)
            if with_defaults and not isinstance(info.kind, Sensitive):
                schema["default"] = get_path(_defaults(), where, None)
        if info.nullable or info.optional:
            schema = {"anyOf": [schema, {"type": "null"}]}
        schema = {"title": info.label, "description": info.help, **schema}
        if info.bootstrap_only or isinstance(info.computed, AlwaysDerived):
            schema["readOnly"] = True
        if info.env:
            schema["x-env"] = info.env
        properties[info.key] = schema
    return {"type": "object", "properties": properties, "additionalProperties": False}


@functools.cache
def _schema() -> dict[str, Any]:
    body = _object_schema(AppConfig, "")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Parako.ID configuration",
        "description": (
            "Every setting with its label, what it does and its default; secrets are write-only "
            "and never carry a default here."
        ),
        **body,
    }


def json_schema() -> Mapping[str, Any]:
    """The configuration as a JSON schema (draft 2020-12): a ``title`` (the label) and a
    ``description`` (the help) on every property. Shared: do not modify."""
    return _schema()


def iter_help() -> Iterator[tuple[str, str, str]]:
    """``(path, label, help)`` of every declared setting and group."""
    for path, d in _declared().items():
        yield path, d.info.label, d.info.help


__all__ = [
    "UnknownSetting",
    "declared_paths",
    "explain",
    "iter_help",
    "json_schema",
    "resolve_path",
    "setting_index",
    "title_of",
]
