"""Masking: how a secret is shown (D11 in docs/decisions.md), and how a mask sent back is read.

Every place that shows a value — reads, exports, diffs, the audit trail, the console, log lines —
masks through this module, so the rules exist once: "unset" (``None``, ``""``) stays visible, a
list is masked element by element, an unexpected type is masked whole (hiding too much is the
safe failure), and anything that looks like one of our ciphertext envelopes is masked wherever it
appears, because an envelope at an unexpected place means a secret we do not know about. The
other direction — a document that comes back with masks in it means "keep what is there" — is
:func:`restore_masked`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, Final

from eventstore.crypto import ENVELOPE_PREFIX
from eventstore.docpath import MISSING, delete_path, get_path, has_path, set_path
from eventstore.schema.paths import SECRET_FIELDS, TENANT_ENCRYPTED_FIELDS
from eventstore.secret import MASK, is_unset

#: every path whose value is a secret, on the platform or in a tenant's overrides
SECRET_PATHS: Final = frozenset(SECRET_FIELDS) | frozenset(TENANT_ENCRYPTED_FIELDS)
#: an envelope inside free text (a log line, an error message): loose on purpose, so a cut-off
#: envelope is masked too
_ENVELOPE_IN_TEXT: Final = re.compile(re.escape(ENVELOPE_PREFIX) + r"[^\s\"',;)\]}]*")


def redact_envelopes(text: str) -> str:
    """``text`` with every ciphertext envelope in it replaced by the mask."""
    return _ENVELOPE_IN_TEXT.sub(MASK, text)


def _mask_scalar(value: Any) -> Any:
    return value if value is None or value == "" else MASK


def mask_value(value: Any) -> Any:
    """Hide a sensitive value for display and export, keeping "unset" visible.

    A list is masked element by element so that the reader still sees how many secrets there
    are. Values of unexpected types are masked too: hiding too much is the safe failure.
    """
    if isinstance(value, list):
        return [_mask_scalar(item) for item in value]
    return _mask_scalar(value)


def mask_fields(doc: Mapping[str, Any], paths: Iterable[str]) -> dict[str, Any]:
    """Return ``doc`` with every listed field that is present masked."""
    result = dict(doc)
    for path in paths:
        if has_path(result, path):
            result = set_path(result, path, mask_value(get_path(result, path)))
    return result


def is_masked(value: Any) -> bool:
    """Tell whether ``value`` is the mask, or a non-empty list of nothing but masks."""
    if isinstance(value, list):
        return bool(value) and all(item == MASK for item in value)
    return isinstance(value, str) and value == MASK


def _holds_mask(value: Any) -> bool:
    return value == MASK or (isinstance(value, list) and MASK in value)


def _restore_list(path: str, incoming: list[Any], current: Any) -> tuple[list[Any], bool]:
    """Put current elements back where ``incoming`` holds the mask, position by position.

    A masked element with no current counterpart is dropped: keeping it would store the mask
    itself as a secret.
    """
    if current is not None and not isinstance(current, list):
        raise ValueError(
            f"cannot restore masked elements of {path}: the current value is not a plain list "
            "(decrypt it first)"
        )
    previous = current or []
    restored: list[Any] = []
    changed = False
    for index, item in enumerate(incoming):
        if item != MASK:
            restored.append(item)
        elif index < len(previous):
            restored.append(previous[index])
            changed = True
    return restored, changed


def _restore_one(path: str, incoming: Any, current: Any) -> tuple[Any, bool]:
    """Return the restored value (``MISSING`` to remove the field) and whether anything came back.

    A wholly masked value takes the current one whole, whatever form it has (plaintext or
    envelope); a list is restored element by element only when it is partly masked or the
    current value is a plain list too.
    """
    if isinstance(incoming, list) and (isinstance(current, list) or not is_masked(incoming)):
        restored, changed = _restore_list(path, incoming, current)
        return (restored if restored else MISSING), changed
    if is_unset(current):
        return MISSING, False
    return current, True


def restore_masked(
    incoming: Mapping[str, Any], current: Mapping[str, Any], paths: Iterable[str]
) -> tuple[dict[str, Any], list[str]]:
    """Replace masks in an imported or saved document by the values they stand for.

    Exports and the UI show secrets masked; sending such a document back means "keep what is
    there", not "set the secret to the mask". A partly masked list needs ``current`` in
    plaintext, as elements are matched by position. A mask with nothing to restore is removed,
    so the mask never becomes a stored secret. Returns the new document and the restored paths.
    """
    result = dict(incoming)
    restored_paths: list[str] = []
    for path in paths:
        value = get_path(result, path, None)
        if not _holds_mask(value):
            continue
        new_value, restored = _restore_one(path, value, get_path(current, path, None))
        if new_value is MISSING:
            result = delete_path(result, path)
        else:
            result = set_path(result, path, new_value)
        if restored:
            restored_paths.append(path)
    return result, restored_paths


def _holds_envelope(value: Any) -> bool:
    if isinstance(value, str):
        return value.startswith(ENVELOPE_PREFIX)
    if isinstance(value, list):
        return any(_holds_envelope(item) for item in value)
    if isinstance(value, Mapping):
        return any(_holds_envelope(item) for item in value.values())
    return False


def mask_for_display(path: str, value: Any) -> Any:
    """Return ``value`` as it may be shown for the setting at ``path`` (D11).

    A secret path is masked whatever its value's type (hiding too much is the safe failure);
    any other value is masked if it holds a ciphertext envelope, because an envelope at an
    unexpected path means a secret we do not know about. An object is masked key by key, so a
    section that appears or disappears as a whole still hides the secrets inside it. ``None``
    and ``""`` stay visible so "unset" can be told from "set".
    """
    if path in SECRET_PATHS:
        return mask_value(value)
    if isinstance(value, Mapping):
        return {
            key: mask_for_display(f"{path}.{key}" if path else key, item)
            for key, item in value.items()
        }
    if _holds_envelope(value):
        return mask_value(value)
    return value
