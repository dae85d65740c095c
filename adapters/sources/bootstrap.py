"""Read the bootstrap variables: typed, validated, and mapped onto config paths.

Every variable is declared once, on the setting it controls (``env=`` in the schema) or on the
process settings; this module only converts text to the declared kind. Errors name the variable,
its value and the file it came from, because that is where the operator has to look.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

from adapters.sources.env_files import ENVIRONMENT, EnvLayers
from eventstore.errors import Issue, ValidationFailed
from eventstore.resolve import Bootstrap
from eventstore.schema.bootstrap import ProcessSettings
from eventstore.schema.config import AppConfig
from eventstore.schema.declare import Declared
from eventstore.schema.kinds import INVALID, Boolean, Integer, ListOf, Sensitive
from eventstore.schema.paths import ENV_FIELDS, walk
from eventstore.schema.sections.storage import Storage
from eventstore.schema.structure import structure
from eventstore.secret import Secret

_DECIMAL = re.compile(r"^[+-]?[0-9]+$")


def env_settings(cls: type) -> Iterator[tuple[str, str, Declared]]:
    """(variable, config path, declaration) for every setting of ``cls`` set by a variable."""
    for path, declared in walk(cls):
        if declared.info.env:
            yield declared.info.env, path, declared


class _Unreadable(ValueError):
    """A variable's text is not of its kind: ``issue`` says so, as the operator will read it."""

    def __init__(self, issue: Issue) -> None:
        super().__init__(str(issue))
        self.issue = issue


def _convert(name: str, raw: str, declared: Declared, where: str) -> Any:
    """Text → the declared kind's input type (D3); raises :class:`_Unreadable`."""
    kind = declared.info.kind
    if isinstance(kind, Sensitive):
        return raw
    if isinstance(kind, Boolean):
        lowered = raw.lower()
        if lowered not in {"true", "false"}:
            # the reference's message, which names the variable itself (the raw value quoted as
            # JSON quotes it), so the line is the message alone
            quoted = json.dumps(raw, ensure_ascii=False)
            raise _Unreadable(Issue("", f"Invalid boolean value for {name}: {quoted}{where}"))
        return lowered == "true"
    if isinstance(kind, Integer):
        if not _DECIMAL.match(raw.strip()):
            # docs/decisions.md X2, X30: not the reference's "received NaN", which would be
            # wrong for "0x10" or "1e3" (numbers to JavaScript, refused here)
            raise _Unreadable(Issue(name, f'must be a decimal integer, got "{raw}"{where}'))
        return int(raw.strip())
    if isinstance(kind, ListOf):
        return [item.strip() for item in raw.split(",") if item.strip()]
    return raw


def _parse(layers: EnvLayers, cls: type, issues: list[Issue]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, path, declared in env_settings(cls):
        raw = layers.get(name)
        if raw is None:
            continue
        source = layers.source_of(name)
        where = "" if source == "environment" else f" (from {source})"
        try:
            value = _convert(name, raw, declared, where)
        except _Unreadable as unreadable:
            issues.append(unreadable.issue)
            continue
        kind = declared.info.kind
        assert kind is not None
        found: list[Issue] = []
        parsed = kind.parse(value, name, found)
        if parsed is INVALID:
            issues.extend(Issue(i.path, i.message + where) for i in found)
            continue
        values[path] = raw if isinstance(kind, Sensitive) else parsed
    return values


def read_bootstrap(layers: EnvLayers) -> Bootstrap:
    """Parse every bootstrap variable; raise ValidationFailed naming each bad one.

    Rules that span several variables (the storage location the adapter needs, D23) are checked
    here too, with the single-variable ones, so the operator gets every problem in one round.
    """
    issues: list[Issue] = []
    overrides = _parse(layers, AppConfig, issues)
    process_values = _parse(layers, ProcessSettings, issues)
    if not any(issue.path.startswith("STORAGE_") for issue in issues):
        issues.extend(_storage_issues(overrides, layers))
    issues.extend(_multi_tenancy_issues(overrides, layers))
    if issues:
        raise ValidationFailed(issues, "Invalid bootstrap variables")
    process = structure(ProcessSettings, _nested(process_values), "Invalid bootstrap variables")
    return Bootstrap(overrides=overrides, process=process, environ=layers.as_mapping())


def _nested(values: dict[str, Any]) -> dict[str, Any]:
    """``{"a.b": 1}`` → ``{"a": {"b": 1}}``."""
    doc: dict[str, Any] = {}
    for path, value in values.items():
        head, _, leaf = path.rpartition(".")
        target = doc
        for segment in filter(None, head.split(".")):
            target = target.setdefault(segment, {})
        target[leaf] = value
    return doc


def _set_in(layers: EnvLayers, name: str) -> str:
    """`` (STORAGE_ADAPTER from runtime/.env)`` when a file set ``name``, else ``""``."""
    if layers.get(name) is None:
        return ""
    source = layers.source_of(name)
    return "" if source == ENVIRONMENT else f" ({name} from {source})"


def _storage_issues(overrides: dict[str, Any], layers: EnvLayers) -> list[Issue]:
    """The storage adapter needs its location before the event log can even be opened, so the
    ``storage`` rules (``STORAGE_POSTGRESQL_URL is required when …``) are bootstrap errors."""
    storage = {
        p.removeprefix("storage."): v for p, v in overrides.items() if p.startswith("storage.")
    }
    try:
        structure(Storage, _nested(storage))
    except ValidationFailed as failed:
        variables = {path: name for name, path in ENV_FIELDS.items()}
        where = _set_in(layers, "STORAGE_ADAPTER")
        return [
            Issue(variables.get(f"storage.{i.path}", i.path), i.message + where)
            for i in failed.issues
        ]
    return []


def _multi_tenancy_issues(overrides: dict[str, Any], layers: EnvLayers) -> list[Issue]:
    """D23: tenants need a database that can isolate them."""
    adapter = overrides.get("storage.adapter", "sqlite")
    if overrides.get("features.multi_tenancy.enabled") and adapter == "sqlite":
        return [
            Issue(
                "MULTI_TENANCY_ENABLED",
                "multi-tenancy needs STORAGE_ADAPTER=postgresql or mongodb; "
                "SQLite does not support it" + _set_in(layers, "MULTI_TENANCY_ENABLED"),
            )
        ]
    return []


#: where the CLI finds the deployment when not run from it
HOME_VARIABLE: Final = "PARAKO_HOME"


def redis_password(bootstrap: Bootstrap) -> str | None:
    password = bootstrap.process.redis.password
    return password.reveal() if isinstance(password, Secret) else None


def project_root(start: Path | None = None) -> Path:
    """The directory whose ``runtime/`` holds the config: ``start`` when given, else
    ``PARAKO_HOME`` (what ``parako-config --root`` sets) when set, else the working directory."""
    if start is not None:
        return start.resolve()
    home = os.environ.get(HOME_VARIABLE, "").strip()
    return Path(home).expanduser().resolve() if home else Path.cwd().resolve()
