"""Section editors built from the schema, and the posted form turned back into a change.

The form is derived from the declared settings (``declared_fields`` and their ``FieldInfo``), so a
setting added to the schema appears in its editor with no template change. Each leaf becomes one
input named by its dotted path, typed by its kind: a switch for a boolean, a number input, a
select for a choice, a textarea of lines for a list of simple values, JSON for structured
values, a colour field with a swatch for a hex colour, a masked field with a reveal button for a
secret. Bootstrap-only settings (and settings whose environment variable is set) are shown
read-only with the variable that sets them; always-computed settings read-only with why. Labels and
the line of help under each input are the ones declared beside the setting in the schema.

A setting whose stored value differs from its default is marked *changed* and can be reset (the
store's ``unset``). A secret counts as changed only when it is set where the default is unset or
the other way round: comparing a stored secret with a default value would tell a reader more
about the secret than its mask does (D25 in docs/decisions.md). Generated secrets are never
offered a reset, which would replace them and end every session they protect.

Posting back: a field whose submitted text equals what the form showed is not a change, so an
untouched form changes nothing and a masked secret left alone keeps its value.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any, Final, Literal

import attrs
from litestar.datastructures import FormMultiDict

from eventstore.computed import AlwaysDerived, GeneratedSecret
from eventstore.docpath import MISSING, get_path, has_path, set_path
from eventstore.errors import Issue
from eventstore.events import canonical_json
from eventstore.schema.declare import Declared, FieldInfo, declared_fields
from eventstore.schema.kinds import (
    HEX_COLOR,
    Boolean,
    Choice,
    Integer,
    Kind,
    ListOf,
    MapOf,
    Sensitive,
)
from eventstore.schema.structure import join
from eventstore.secret import MASK, is_unset

Widget = Literal["switch", "number", "select", "list", "json", "color", "text", "secret"]

_INDEX: Final = re.compile(r"\[\d+\]")
_HEX: Final = re.compile(r"#(?:[0-9A-Fa-f]{3}|[0-9A-Fa-f]{6})")


def label_of(key: str) -> str:
    """``companyName`` / ``smtp_host`` → ``Company name`` / ``Smtp host``: only for a field
    declared without a label (every setting of the schema has one)."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", key).replace("_", " ").strip()
    return spaced[:1].upper() + spaced[1:].lower() if spaced else key


def widget_of(kind: Kind | None) -> Widget:
    if isinstance(kind, Sensitive):
        return "secret"
    if isinstance(kind, Boolean):
        return "switch"
    if isinstance(kind, Integer):
        return "number"
    if isinstance(kind, Choice):
        return "select"
    if isinstance(kind, ListOf):
        return "list" if not hasattr(kind.item, "cls") else "json"
    if isinstance(kind, MapOf):
        return "json"
    if kind == HEX_COLOR:
        return "color"
    return "text"


@attrs.frozen
class FieldView:
    """One input of an editor, ready for the template."""

    path: str
    label: str
    widget: Widget
    value: str
    checked: bool = False
    choices: tuple[tuple[str, str], ...] = ()
    read_only: bool = False
    #: why it cannot be edited here, or where else it can be set
    note: str = ""
    nullable: bool = False
    multiple_secrets: bool = False
    step: str = "1"
    minimum: str = ""
    maximum: str = ""
    errors: tuple[str, ...] = ()
    #: one line on what the setting does, from the schema
    help: str = ""
    #: the stored value differs from the default (see the module docstring for secrets)
    changed: bool = False
    #: the default as the input would show it ("" when it has none)
    default_text: str = ""
    #: a reset (unset) is offered: changed, editable and not a generated secret
    resettable: bool = False

    @property
    def dom_id(self) -> str:
        return "f-" + self.path.replace(".", "-")

    @property
    def swatch(self) -> str:
        """The colour to paint the swatch with: only a valid hex colour reaches the style
        attribute (a rejected value is shown again in the input, never in CSS)."""
        return self.value if _HEX.fullmatch(self.value) else "transparent"

    @property
    def rows(self) -> int:
        """Tall enough for the value, within reason."""
        return min(12, max(3, self.value.count("\n") + 2))


@attrs.frozen
class Group:
    """A nested settings class: a fieldset with its own fields and sub-groups."""

    path: str
    label: str
    fields: tuple[FieldView, ...]
    groups: tuple[Group, ...]
    help: str = ""

    def count_errors(self) -> int:
        return sum(bool(f.errors) for f in self.fields) + sum(g.count_errors() for g in self.groups)

    def count_changed(self) -> int:
        return sum(f.changed for f in self.fields) + sum(g.count_changed() for g in self.groups)

    def holds(self, path: str) -> bool:
        """Whether ``path`` (a setting's) is inside this group."""
        return bool(path) and path.startswith(self.path + ".")


def _num(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if value == int(value) else str(value)


def shown_text(widget: Widget, value: Any) -> str:
    """The text an input shows for ``value`` (as reads show it: secrets already masked)."""
    if value is None or value is MISSING:
        return ""
    if widget == "switch":
        return "true" if value is True else "false"
    if widget == "json":
        return json.dumps(value, indent=2, ensure_ascii=False)
    if widget in {"list", "secret"} and isinstance(value, list | tuple):
        return "\n".join(str(item) for item in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def is_changed(
    path: str, info: FieldInfo, stored: Mapping[str, Any] | None, defaults: Mapping[str, Any]
) -> bool:
    """Whether the stored value at ``path`` differs from the default (for a secret: whether one
    is set and the other not). Settings that are never stored, always computed or generated
    are never "changed"; neither is anything when there is no stored document (file mode)."""
    if stored is None or info.bootstrap_only:
        return False
    if isinstance(info.computed, AlwaysDerived | GeneratedSecret):
        return False
    if not has_path(stored, path):
        return False
    value = get_path(stored, path)
    default = get_path(defaults, path, None)
    if isinstance(info.kind, Sensitive) or info.secret or info.encrypted:
        return is_unset(value) != is_unset(default)
    return canonical_json(value) != canonical_json(default)


def _default_text(widget: Widget, info: FieldInfo, default: Any) -> str:
    if isinstance(info.kind, Sensitive) or info.secret or info.encrypted:
        return "" if is_unset(default) else MASK
    return shown_text(widget, default)


@attrs.frozen
class Baseline:
    """What the badges and resets compare with: the stored document (secrets may stay
    encrypted: only whether they are set is compared) and the default document."""

    stored: Mapping[str, Any] | None
    defaults: Mapping[str, Any]


NO_BASELINE: Final = Baseline(None, {})


def _field(
    path: str,
    declared: Declared,
    shown: Mapping[str, Any],
    environ: Mapping[str, str],
    submitted: FormMultiDict | None,
    errors: Mapping[str, Sequence[str]],
    baseline: Baseline = NO_BASELINE,
) -> FieldView:
    info = declared.info
    kind = info.kind
    widget = widget_of(kind)
    value = get_path(shown, path, None)
    text = shown_text(widget, value)
    if submitted is not None and path in submitted:
        text = str(submitted.getall(path)[-1])
    read_only, note = False, ""
    if info.bootstrap_only:
        read_only, note = True, f"set by {info.env} in runtime/.env; restart to change"
    elif info.env and environ.get(info.env):
        read_only, note = True, f"set by {info.env} in the environment, which wins"
    elif info.env:
        note = f"{info.env} in the environment would override this"
    elif isinstance(info.computed, AlwaysDerived):
        read_only = True
        note = f"computed from {info.computed.derived_from}"
    elif isinstance(info.computed, GeneratedSecret):
        note = "generated when absent; delete it from an import to regenerate"
    choices: tuple[tuple[str, str], ...] = ()
    if isinstance(kind, Choice):
        choices = tuple((shown_text("text", v), shown_text("text", v)) for v in kind.values)
    step, minimum, maximum = "1", "", ""
    if isinstance(kind, Integer):
        step = "1" if kind.whole else "any"
        minimum, maximum = _num(kind.min), _num(kind.max)
    changed = is_changed(path, info, baseline.stored, baseline.defaults)
    return FieldView(
        path=path,
        label=info.label or label_of(info.key),
        widget=widget,
        value=text,
        checked=text == "true",
        choices=choices,
        read_only=read_only,
        note=note,
        nullable=info.nullable,
        multiple_secrets=isinstance(kind, Sensitive) and isinstance(kind.inner, ListOf),
        step=step,
        minimum=minimum,
        maximum=maximum,
        errors=tuple(errors.get(path, ())),
        help=info.help,
        changed=changed,
        default_text=_default_text(widget, info, get_path(baseline.defaults, path, None)),
        resettable=changed and not read_only,
    )


def build_group(
    cls: type,
    path: str,
    shown: Mapping[str, Any],
    environ: Mapping[str, str],
    submitted: FormMultiDict | None = None,
    errors: Mapping[str, Sequence[str]] | None = None,
    *,
    baseline: Baseline = NO_BASELINE,
    only_changed: bool = False,
    info: FieldInfo | None = None,
) -> Group:
    """The editor of the settings class ``cls`` found at ``path`` (``info`` is that group's
    declaration, for its label and help). With ``only_changed``, only the settings that differ
    from their defaults, and the groups holding them."""
    fields: list[FieldView] = []
    groups: list[Group] = []
    for declared in declared_fields(cls):
        where = join(path, declared.info.key)
        if declared.info.nested is not None:
            sub = build_group(
                declared.info.nested,
                where,
                shown,
                environ,
                submitted,
                errors,
                baseline=baseline,
                only_changed=only_changed,
                info=declared.info,
            )
            if sub.fields or sub.groups or not only_changed:
                groups.append(sub)
        else:
            field = _field(where, declared, shown, environ, submitted, errors or {}, baseline)
            if field.changed or not only_changed:
                fields.append(field)
    label = info.label if info is not None and info.label else label_of(path.rsplit(".", 1)[-1])
    return Group(path, label, tuple(fields), tuple(groups), info.help if info else "")


def leaves(group: Group) -> list[FieldView]:
    out = list(group.fields)
    for sub in group.groups:
        out.extend(leaves(sub))
    return out


# --- posted form → change ---------------------------------------------------------------------


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _convert(field: FieldView, kind: Kind | None, raw: str) -> tuple[Any, str | None]:
    """The JSON value a posted text stands for, or a message why it stands for none.

    Values the schema would refuse are passed on as they are, so the message the person reads
    is the schema's own (the same as the API's and the CLI's).
    """
    widget = field.widget
    if widget == "switch":
        return raw == "true", None
    if widget == "number":
        text = raw.strip()
        if text == "" and field.nullable:
            return None, None
        try:
            number = float(text)
        except ValueError:
            return text, None
        return (int(number) if number == int(number) else number), None
    if widget == "select":
        assert isinstance(kind, Choice)
        return next((v for v in kind.values if shown_text("text", v) == raw), raw), None
    if widget == "list":
        items: list[Any] = _lines(raw)
        if isinstance(kind, ListOf) and isinstance(kind.item, Integer):
            items = [int(i) if i.lstrip("-").isdigit() else i for i in items]
        return items, None
    if widget == "json":
        try:
            return json.loads(raw), None
        except ValueError as exc:
            return None, f"Not valid JSON: {exc}"
        except RecursionError:
            return None, "Not valid JSON here: nested too deeply"
    if widget == "secret" and field.multiple_secrets:
        return _lines(raw), None
    if raw == "" and field.nullable:
        return None, None
    return raw, None


def _kinds(cls: type, path: str, out: dict[str, Kind | None]) -> dict[str, Kind | None]:
    for declared in declared_fields(cls):
        where = join(path, declared.info.key)
        if declared.info.nested is not None:
            _kinds(declared.info.nested, where, out)
        else:
            out[where] = declared.info.kind
    return out


def change_from_form(
    group: Group, cls: type, form: FormMultiDict, shown: Mapping[str, Any]
) -> tuple[dict[str, Any], list[Issue]]:
    """The partial document the form changes (only what differs from ``shown``), and the
    inputs that could not be read at all (e.g. broken JSON)."""
    kinds = _kinds(cls, group.path, {})
    change: dict[str, Any] = {}
    issues: list[Issue] = []
    for field in leaves(group):
        if field.read_only or field.path not in form:
            continue
        raw = str(form.getall(field.path)[-1])
        before = shown_text(field.widget, get_path(shown, field.path, None))
        if raw.replace("\r\n", "\n") == before:
            continue
        value, problem = _convert(field, kinds.get(field.path), raw.replace("\r\n", "\n"))
        if problem is not None:
            issues.append(Issue(field.path, problem))
            continue
        change = set_path(change, field.path, value)
    return change, issues


def errors_by_field(
    issues: Sequence[Issue], paths: Sequence[str]
) -> tuple[dict[str, list[str]], list[Issue]]:
    """Issues by the editor field they belong to (``x.y[2]`` and ``x.y.z`` belong to ``x.y``
    when that is the input), and the issues no input of this editor holds."""
    known = set(paths)
    by_field: dict[str, list[str]] = {}
    rest: list[Issue] = []
    for issue in issues:
        path = _INDEX.sub("", issue.path)
        while path and path not in known:
            path = path.rsplit(".", 1)[0] if "." in path else ""
        if path:
            by_field.setdefault(path, []).append(issue.message)
        else:
            rest.append(issue)
    return by_field, rest
