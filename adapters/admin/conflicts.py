"""A stale form, explained: what others saved since it was opened, and which edits still apply.

When a form's ``_version`` is no longer the newest (D14 in docs/decisions.md), nothing is saved;
the conflict page keeps the person's edits, lists the versions saved in between (who, when, why,
which settings), and marks each edit as *overlapping* (someone changed that setting, or a group
holding it, since) or not. The edits that do not overlap can be sent again on top of the newest
version; they go through the ordinary review, so nothing is saved before "Confirm and save".
Overlapping edits are shown beside the value now in force, to be redone by hand if still wanted.

Edits are read the way the editor reads a post: against the configuration *as the form showed
it*, at the form's version, so a setting someone else changed in between is not mistaken for an
edit. Secret values are masked wherever they are shown; an edited secret is carried back only in
the form that re-applies it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs
from litestar.datastructures import FormMultiDict

from adapters.admin.forms import FieldView, Group, build_group, change_from_form, leaves, shown_text
from adapters.service import ConfigService
from eventstore.docpath import get_path, has_path
from eventstore.masking import mask_for_display
from eventstore.schema import unstructure
from eventstore.state import semver_of
from projections.history import VersionInfo, versions_after


@attrs.frozen
class Edit:
    """One setting the stale form changed."""

    path: str
    label: str
    #: the edited value as shown (secrets masked)
    mine: str
    #: the text the input posts, to re-apply it
    form_text: str
    #: the value in force now (masked), when someone changed the setting since
    theirs: str | None = None

    @property
    def overlaps(self) -> bool:
        return self.theirs is not None


@attrs.frozen
class Conflict:
    edits: tuple[Edit, ...]
    since: tuple[VersionInfo, ...]
    #: the ``_version`` a re-applied form must carry
    current_version: int

    @property
    def reapplicable(self) -> tuple[Edit, ...]:
        return tuple(e for e in self.edits if not e.overlaps)

    @property
    def overlapping(self) -> tuple[Edit, ...]:
        return tuple(e for e in self.edits if e.overlaps)

    @property
    def current_semver(self) -> str:
        return semver_of(self.current_version) if self.current_version else ""


def _touches(edited: str, changed: str) -> bool:
    return edited == changed or changed.startswith(edited + ".") or edited.startswith(changed + ".")


def _display(path: str, value: Any) -> str:
    masked = mask_for_display(path, value)
    if masked is None:
        return "—"
    return shown_text("json" if isinstance(masked, dict) else "list", masked)


async def versions_since(service: ConfigService, version: int) -> tuple[VersionInfo, ...]:
    """The versions saved after ``version``, oldest first, read from the end of the stream: a
    conflict costs what was missed, not the whole history."""
    return tuple(sorted(await versions_after(service.event_log, version), key=_order))


def _order(info: VersionInfo) -> int:
    return info.stream_version


def _conflict(
    edits: Sequence[tuple[FieldView, Any, str]],
    since: tuple[VersionInfo, ...],
    current: Mapping[str, Any],
    version: int,
) -> Conflict:
    changed = [path for info in since for path in info.changed_paths]
    out = []
    for field, value, text in edits:
        overlapping = any(_touches(field.path, path) for path in changed)
        theirs = _display(field.path, get_path(current, field.path, None)) if overlapping else None
        out.append(Edit(field.path, field.label, _display(field.path, value), text, theirs))
    return Conflict(tuple(out), since, version)


async def from_form(
    service: ConfigService,
    cls: type,
    section: str,
    form: FormMultiDict,
    expected: int,
    current_shown: Mapping[str, Any],
) -> Conflict | None:
    """The conflict of a stale editor post made at ``expected`` (None when that version cannot
    be read back, e.g. a forged ``_version``)."""
    if not 0 < expected < service.version:
        return None
    then = unstructure(await service.config_at(semver_of(expected)))
    environ = service.sources.bootstrap.environ
    group = build_group(cls, section, then, environ)
    change, _ = change_from_form(group, cls, form, then)
    fields = {f.path: f for f in leaves(group)}
    edits = [
        (fields[path], value, str(form.getall(path)[-1]).replace("\r\n", "\n"))
        for path, value in _leaves(change, fields)
    ]
    since = await versions_since(service, expected)
    return _conflict(edits, since, current_shown, service.version)


async def from_change(
    service: ConfigService,
    group: Group,
    change: Mapping[str, Any],
    expected: int | None,
    current_shown: Mapping[str, Any],
) -> Conflict | None:
    """The conflict of a confirmed change (a partial document) made at ``expected``."""
    if expected is None or not 0 < expected < service.version:
        return None
    fields = {f.path: f for f in leaves(group)}
    edits = [
        (fields[path], value, shown_text(fields[path].widget, value))
        for path, value in _leaves(change, fields)
    ]
    since = await versions_since(service, expected)
    return _conflict(edits, since, current_shown, service.version)


def _leaves(change: Mapping[str, Any], fields: Mapping[str, FieldView]) -> list[tuple[str, Any]]:
    """The editor fields a partial document sets, in the editor's order."""
    return [(path, get_path(change, path)) for path in fields if has_path(change, path)]
