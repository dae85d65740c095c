"""A tenant's overrides of one section as a form, and what a write of them would do.

The editor lists only the settings a tenant may override (``ALLOWED_TENANT_FIELDS``, D21 in
docs/decisions.md), each with the tenant's value, the platform value it inherits otherwise and the
value readers get. An empty input means *inherit*, as ``''`` does in the API and the CLI, so a
section posted with every input empty leaves the tenant inheriting the whole section.

The preview runs the tenant write pipeline up to the append: the overrides are put together as
the store will (masks restored, the section replaced), clamped by the platform policy and checked
by building the tenant's whole effective config with ``effective_document`` — the function the
store's write and every reader use — so it shows the policy's adjustments (D22) and the
validation messages before anything is saved. The store checks again when it saves. As in the
platform's previews (D25), a submitted tenant secret always shows as changed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Final, cast

import attrs
from litestar.datastructures import FormMultiDict

from adapters.admin.forms import Widget, label_of, shown_text, widget_of
from adapters.service import ConfigService
from adapters.tenant_service import TenantService
from eventstore.docpath import MISSING, get_path, set_path
from eventstore.errors import Issue, ValidationFailed
from eventstore.masking import is_masked, mask_for_display, restore_masked
from eventstore.resolve import layered_document
from eventstore.schema import AppConfig, structure
from eventstore.schema.declare import Declared
from eventstore.schema.kinds import Choice, Integer, ListOf, Sensitive
from eventstore.schema.paths import (
    ALLOWED_TENANT_FIELDS,
    SECRET_FIELDS,
    TENANT_ENCRYPTED_FIELDS,
    walk,
)
from eventstore.secret import is_unset
from eventstore.tenant_commands import effective_document
from eventstore.tenant_overrides import filter_write
from eventstore.tenant_policy import ConstraintViolation
from projections.diff import Diff

_DECLARED: Final[Mapping[str, Declared]] = dict(walk())
#: what an empty input stands for, in every widget
INHERIT: Final = ""

Build = Callable[[dict[str, Any]], Mapping[str, Any]]


@attrs.frozen
class TenantField:
    """One allowed setting of a tenant's section, ready for the template."""

    path: str
    label: str
    help: str
    #: switch (a select: inherit / true / false), number, select, list, json, color, text, secret
    widget: str
    #: what the input holds: the tenant's override as text, "" when it inherits
    value: str
    #: the platform value it inherits otherwise, and the value readers get (both masked)
    inherited: str
    effective: str
    status: str = "inherited"
    choices: tuple[str, ...] = ()
    multiple: bool = False
    errors: tuple[str, ...] = ()

    @property
    def dom_id(self) -> str:
        return "t-" + self.path.replace(".", "-")

    @property
    def group(self) -> str:
        return self.path.rsplit(".", 1)[0]


def section_paths(section: str) -> tuple[str, ...]:
    return tuple(p for p in ALLOWED_TENANT_FIELDS if p.split(".")[0] == section)


def _widget(declared: Declared) -> str:
    if declared.info.nested is not None:
        return "json"  # an allowed object is overridden as a whole
    return widget_of(declared.info.kind)


def _text(widget: str, value: Any) -> str:
    if value is None or value is MISSING:
        return ""
    if widget == "switch":
        return "true" if value is True else "false"
    return shown_text(cast(Widget, widget), value)


def _summary(widget: str, value: Any) -> str:
    """A value in the "inherits" and "readers get" columns: one line."""
    if value is None or value is MISSING:
        return "—"
    if widget in ("json", "list") or not isinstance(value, str | int | float | bool):
        return json.dumps(value, ensure_ascii=False)
    return _text(widget, value)


def section_fields(
    section: str,
    overrides: Mapping[str, Any],
    platform: Mapping[str, Any],
    effective: Mapping[str, Any],
    adjusted: Iterable[str] = (),
    submitted: FormMultiDict | None = None,
    issues: Mapping[str, Sequence[str]] | None = None,
) -> list[TenantField]:
    """The editor's fields; ``overrides``, ``platform`` and ``effective`` are masked documents.
    ``submitted`` (a refused post) replaces the values shown, so nothing typed is lost."""
    clamped = set(adjusted)
    fields = []
    for path in section_paths(section):
        declared = _DECLARED[path]
        info, widget = declared.info, _widget(declared)
        override = get_path(overrides, path, None)
        value = _text(widget, override)
        if submitted is not None and path in submitted:
            value = str(submitted.getall(path)[-1])
        status = "inherited"
        if override is not None:
            status = "adjusted" if path in clamped else "override"
        kind = info.kind
        fields.append(
            TenantField(
                path=path,
                label=info.label or label_of(info.key),
                help=info.help,
                widget=widget,
                value=value,
                inherited=_summary(widget, get_path(platform, path, None)),
                effective=_summary(widget, get_path(effective, path, None)),
                status=status,
                choices=tuple(_text("text", v) for v in kind.values)
                if isinstance(kind, Choice)
                else (),
                multiple=isinstance(kind, Sensitive) and isinstance(kind.inner, ListOf),
                errors=tuple((issues or {}).get(path, ())),
            )
        )
    return fields


def _convert(field: TenantField, raw: str) -> tuple[Any, str | None]:
    """The JSON value an input's text stands for (as the platform editor reads it), or why it
    stands for none. Values the schema refuses are passed on, so its message is what shows."""
    kind = _DECLARED[field.path].info.kind
    widget = field.widget
    if widget == "switch":
        return raw == "true", None
    if widget == "number":
        try:
            number = float(raw)
        except ValueError:
            return raw, None
        return (int(number) if number == int(number) else number), None
    if widget == "select" and isinstance(kind, Choice):
        return next((v for v in kind.values if _text("text", v) == raw), raw), None
    if widget == "json":
        try:
            return json.loads(raw), None
        except ValueError as exc:
            return None, f"Not valid JSON: {exc}"
        except RecursionError:
            return None, "Not valid JSON here: nested too deeply"
    if widget == "list" or (widget == "secret" and field.multiple):
        items: list[Any] = [line.strip() for line in raw.splitlines() if line.strip()]
        if isinstance(kind, ListOf) and isinstance(kind.item, Integer):
            items = [int(i) if i.lstrip("-").isdigit() else i for i in items]
        return items, None
    return raw, None


def overrides_from_form(
    fields: Sequence[TenantField], form: FormMultiDict
) -> tuple[dict[str, Any], list[Issue]]:
    """The section's overrides the form stands for (inputs left empty inherit) and the inputs
    that could not be read at all."""
    section: dict[str, Any] = {}
    issues: list[Issue] = []
    for field in fields:
        if field.path not in form:
            continue
        raw = str(form.getall(field.path)[-1]).replace("\r\n", "\n")
        if raw.strip() == INHERIT:
            continue
        value, problem = _convert(field, raw)
        if problem is not None:
            issues.append(Issue(field.path, problem))
            continue
        section = set_path(section, field.path.split(".", 1)[1], value)
    return section, issues


# --- what a write would do --------------------------------------------------------------------


@attrs.frozen
class TenantPreview:
    """A tenant write before it is made: the overrides' version it starts from, what changes in
    them (masked) and what the platform policy would adjust."""

    version: int
    diff: Diff
    adjustments: tuple[ConstraintViolation, ...]


def section_write(section: str, values: Mapping[str, Any]) -> Build:
    """Replacing one section's overrides, as the API's PUT and the store do it; no values: the
    section is inherited again (a reset)."""
    if not values:
        return lambda current: {k: v for k, v in current.items() if k != section}
    write = filter_write({section: dict(values)})

    def build(current: dict[str, Any]) -> dict[str, Any]:
        restored, _ = restore_masked(write.values, current, TENANT_ENCRYPTED_FIELDS)
        return attrs.evolve(write, values=restored).apply(current, replace_sections=True)

    return build


async def preview(
    service: ConfigService,
    tenants: TenantService,
    slug: str,
    build: Build,
    submitted: Mapping[str, Any] | None = None,
) -> TenantPreview:
    """Raises ``ValidationFailed`` with every failing path when the store would refuse it."""
    commands = tenants.commands
    tenant = await commands.tenant(slug)
    state = await commands.load(slug)
    current = commands.plaintext(slug, state)
    candidate = build(current)
    await service.catch_up()
    platform_plain = await service.plaintext_at()
    bootstrap = service.sources.bootstrap
    platform_runtime, _ = layered_document(platform_plain, bootstrap)
    built = effective_document(platform_plain, platform_runtime, candidate, tenant, bootstrap)
    heading = f"Invalid overrides for tenant {slug}"
    if built.withheld:
        raise ValidationFailed([Issue(w.path, w.reason) for w in built.withheld], heading)
    structure(AppConfig, built.document, heading)
    before = _withheld(current, submitted or {})
    adjustments = tuple(
        attrs.evolve(
            a,
            original=mask_for_display(a.path, a.original),
            adjusted=mask_for_display(a.path, a.adjusted),
        )
        for a in built.adjustments
    )
    return TenantPreview(state.version, Diff.between(before, built.overrides), adjustments)


class _Withheld:
    """Stands for a stored tenant secret in the "before" side of a preview: equal to nothing,
    masked like any secret, so a submitted secret shows as changed whatever it is (D25)."""


def _withheld(current: Mapping[str, Any], submitted: Mapping[str, Any]) -> dict[str, Any]:
    result = dict(current)
    for path in SECRET_FIELDS:
        value = get_path(submitted, path, None)
        if is_unset(value) or is_masked(value):
            continue
        stored = get_path(current, path, None)
        if is_unset(stored):
            continue
        hidden: Any = [_Withheld() for _ in stored] if isinstance(stored, list) else _Withheld()
        result = set_path(result, path, hidden)
    return result
