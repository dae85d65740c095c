"""Value kinds: what a setting accepts, how it is normalised, and what the user reads when not.

Messages keep the reference's wording (Zod 4) verbatim (D18 in docs/decisions.md), so errors read
the same as the product documentation;
a custom message given by the schema replaces the generic one for that check.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any, Final, Literal, Protocol

import attrs

from eventstore.credentials import mask_url
from eventstore.errors import Issue
from eventstore.secret import MASK, Secret


class _Invalid:
    """Marker for a value that failed its checks; the issues say why."""

    def __repr__(self) -> str:
        return "INVALID"


INVALID: Final = _Invalid()

_TYPE_NAMES: Final = {
    str: "string",
    bool: "boolean",
    int: "number",
    float: "number",
    list: "array",
    tuple: "array",
    dict: "object",
    type(None): "null",
}


def type_name(value: object) -> str:
    """The JSON type name of a value, as the user wrote it."""
    if isinstance(value, float) and math.isnan(value):
        return "NaN"
    if isinstance(value, float) and math.isinf(value):
        return "Infinity"
    if isinstance(value, Mapping):
        return "object"
    return _TYPE_NAMES.get(type(value), type(value).__name__)


def expected(kind: str, value: object) -> str:
    return f"Invalid input: expected {kind}, received {type_name(value)}"


class Kind(Protocol):
    """A value kind parses one JSON value at ``path``; failures go to ``issues``."""

    def parse(self, value: Any, path: str, issues: list[Issue]) -> Any: ...

    def dump(self, value: Any, reveal: bool) -> Any: ...


class _Plain:
    """Kinds whose parsed value is already JSON."""

    def dump(self, value: Any, reveal: bool) -> Any:
        return value


def _end_anchored(regex: str) -> str:
    """Give ``$`` its JavaScript meaning (end of input): in Python it also matches before a
    final newline, so ``"#fff\\n"`` would pass as a hex colour and ``"parako\\n"`` as a prefix."""
    out: list[str] = []
    escaped = in_class = False
    for ch in regex:
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
        elif ch == "$":
            out.append(r"\Z")
            continue
        out.append(ch)
    return "".join(out)


@attrs.frozen
class Pattern:
    regex: str
    message: str | None = None
    _compiled: re.Pattern[str] = attrs.field(init=False, repr=False, eq=False)

    @_compiled.default
    def _compile(self) -> re.Pattern[str]:
        return re.compile(_end_anchored(self.regex))

    def matches(self, text: str) -> bool:
        return self._compiled.search(text) is not None

    def describe(self) -> str:
        return self.message or f"Invalid string: must match pattern /{self.regex}/"


_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")
#: what ``str.isspace`` calls whitespace (the same characters), found without a loop in Python
_WHITESPACE = re.compile(r"\s")
_SPECIAL_SCHEMES: Final = frozenset({"http", "https", "ws", "wss", "ftp", "file"})
_HOST_END: Final = re.compile(r"[/?#]")


def is_url(text: str) -> bool:
    """Accept what a WHATWG URL parser accepts, closely enough for configuration values."""
    if not text or _WHITESPACE.search(text) or not _SCHEME.match(text):
        return False
    scheme, rest = text.split(":", 1)
    scheme = scheme.lower()
    if scheme in _SPECIAL_SCHEMES:
        if scheme == "file":
            return rest.startswith("/")
        rest = rest.lstrip("/\\")
        host = _HOST_END.split(rest, maxsplit=1)[0].rsplit("@", 1)[-1]
        hostname = host.rsplit(":", 1)[0] if not host.startswith("[") else host
        if not hostname:
            return False
        if ":" in host and not host.startswith("["):
            port = host.rsplit(":", 1)[1]
            if port and (not port.isdigit() or int(port) > 65535):
                return False
    return True


def is_http_url(text: str) -> bool:
    return is_url(text) and re.match(r"^https?://", text, re.IGNORECASE) is not None


#: a connection URL: its password is masked in every output, the rest is shown
CREDENTIALS_IN_URL: Final = "in_url"
#: the whole value is a connection password: masked in every output like a secret (it is not
#: encrypted: it comes from the bootstrap and never reaches the log)
CREDENTIAL_VALUE: Final = "value"


@attrs.frozen
class Text(_Plain):
    """A string with optional trimming, length, prefix, pattern and URL checks.

    ``credentials`` marks a value that carries a connection credential: the runtime config keeps
    it whole (the process connects with it) and :meth:`dump` masks it unless revealing.
    """

    trim: bool = False
    min_length: int | None = None
    min_length_message: str | None = None
    max_length: int | None = None
    length: int | None = None
    length_message: str | None = None
    starts_with: str | None = None
    starts_with_message: str | None = None
    patterns: tuple[Pattern, ...] = ()
    url: bool = False
    url_message: str | None = None
    credentials: Literal["in_url", "value"] | None = None

    def dump(self, value: Any, reveal: bool) -> Any:
        if reveal or self.credentials is None or not isinstance(value, str) or value == "":
            return value
        return mask_url(value) if self.credentials == CREDENTIALS_IN_URL else MASK

    def parse(self, value: Any, path: str, issues: list[Issue]) -> Any:
        if not isinstance(value, str):
            issues.append(Issue(path, expected("string", value)))
            return INVALID
        text = value.strip() if self.trim else value
        found: list[str] = []
        if self.min_length is not None and len(text) < self.min_length:
            found.append(
                self.min_length_message
                or f"Too small: expected string to have >={self.min_length} characters"
            )
        if self.max_length is not None and len(text) > self.max_length:
            found.append(f"Too big: expected string to have <={self.max_length} characters")
        if self.length is not None and len(text) != self.length:
            rel = "<=" if len(text) > self.length else ">="
            size = "Too big" if len(text) > self.length else "Too small"
            found.append(
                self.length_message
                or f"{size}: expected string to have {rel}{self.length} characters"
            )
        if self.starts_with is not None and not text.startswith(self.starts_with):
            found.append(
                self.starts_with_message or f'Invalid string: must start with "{self.starts_with}"'
            )
        found.extend(p.describe() for p in self.patterns if not p.matches(text))
        if self.url and not is_url(text):
            found.append(self.url_message or "Invalid URL")
        issues.extend(Issue(path, message) for message in found)
        return INVALID if found else text


@attrs.frozen
class Integer(_Plain):
    """A whole number; ``coerce`` accepts decimal strings as HTML forms send them."""

    min: float | None = None
    min_message: str | None = None
    max: float | None = None
    max_message: str | None = None
    gt: float | None = None
    gt_message: str | None = None
    integer_message: str | None = None
    coerce: bool = False
    whole: bool = True

    def parse(self, value: Any, path: str, issues: list[Issue]) -> Any:
        if self.coerce and isinstance(value, str):
            value = js_number(value)
        if isinstance(value, bool) or not isinstance(value, int | float):
            issues.append(Issue(path, expected("number", value)))
            return INVALID
        if math.isnan(value) or math.isinf(value):
            issues.append(Issue(path, expected("number", value)))
            return INVALID
        found: list[str] = []
        if self.whole:
            if value != int(value) or abs(value) > 2**53 - 1:
                issues.append(
                    Issue(
                        path, self.integer_message or "Invalid input: expected int, received number"
                    )
                )
                return INVALID
            value = int(value)
        if self.gt is not None and not value > self.gt:
            found.append(self.gt_message or f"Too small: expected number to be >{_num(self.gt)}")
        if self.min is not None and value < self.min:
            found.append(self.min_message or f"Too small: expected number to be >={_num(self.min)}")
        if self.max is not None and value > self.max:
            found.append(self.max_message or f"Too big: expected number to be <={_num(self.max)}")
        issues.extend(Issue(path, message) for message in found)
        return INVALID if found else value


#: what JavaScript's ``String.prototype.trim`` removes (``str.strip()`` removes more: ``\x1c``…)
_JS_WHITESPACE: Final = (
    " \t\n\v\f\r\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009"
    "\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
)
_JS_DECIMAL: Final = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_JS_RADIX: Final = {"0x": (16, "0123456789abcdefABCDEF"), "0o": (8, "01234567"), "0b": (2, "01")}
_JS_INFINITY: Final = {"Infinity": math.inf, "+Infinity": math.inf, "-Infinity": -math.inf}


def js_number(text: str) -> float:
    """A string read as JavaScript's ``Number()`` reads it, the coercion the reference applies to
    form-style numeric settings: surrounding whitespace ignored, ``''`` is 0, ``0x``/``0o``/``0b``
    literals and exponents are numbers, ``Infinity`` is infinite, anything else is NaN."""
    body = text.strip(_JS_WHITESPACE)
    if not body:
        return 0.0
    radix = _JS_RADIX.get(body[:2].lower())
    if radix is not None:
        base, digits = radix
        rest = body[2:]
        return float(int(rest, base)) if rest and all(c in digits for c in rest) else math.nan
    if body in _JS_INFINITY:
        return _JS_INFINITY[body]
    return float(body) if _JS_DECIMAL.fullmatch(body) else math.nan


def Number(**kwargs: Any) -> Integer:  # noqa: N802 - reads like the other kind constructors
    """A number that may have a fractional part."""
    return Integer(whole=False, **kwargs)


def _num(value: float) -> str:
    return str(int(value)) if value == int(value) else str(value)


_HTML_TRUE: Final = frozenset({"on", "true", "1"})


@attrs.frozen
class Boolean(_Plain):
    """``html`` booleans are read as the reference reads a form's checkbox: ``null`` is false,
    and a string is true only when, lower-cased, it is ``on``, ``true`` or ``1`` (``off``,
    ``0``, ``''`` and anything unexpected are false)."""

    html: bool = False

    @property
    def accepts_null(self) -> bool:
        """``null`` is a value of this kind (false), not a missing one."""
        return self.html

    def parse(self, value: Any, path: str, issues: list[Issue]) -> Any:
        if isinstance(value, bool):
            return value
        if self.html and value is None:
            return False
        if self.html and isinstance(value, str):
            return value.lower() in _HTML_TRUE
        issues.append(Issue(path, expected("boolean", value)))
        return INVALID


@attrs.frozen
class Choice(_Plain):
    """One of ``values``. ``literals`` is the reference's union of literals rather than its enum:
    a value outside it reads ``Invalid input``, as Zod words a union no branch accepts."""

    values: tuple[Any, ...]
    literals: bool = False

    def parse(self, value: Any, path: str, issues: list[Issue]) -> Any:
        if value in self.values and type(value) in {type(v) for v in self.values}:
            return value
        if self.literals:
            issues.append(Issue(path, "Invalid input"))
            return INVALID
        options = "|".join(f'"{v}"' if isinstance(v, str) else str(v) for v in self.values)
        issues.append(Issue(path, f"Invalid option: expected one of {options}"))
        return INVALID


@attrs.frozen
class ListOf:
    """A list, stored as a tuple so the config stays immutable; ``unique`` drops repeats."""

    item: Kind
    min_items: int | None = None
    min_items_message: str | None = None
    max_items: int | None = None
    unique: bool = False

    def parse(self, value: Any, path: str, issues: list[Issue]) -> Any:
        if not isinstance(value, list | tuple):
            issues.append(Issue(path, expected("array", value)))
            return INVALID
        before = len(issues)
        if self.min_items is not None and len(value) < self.min_items:
            issues.append(
                Issue(
                    path,
                    self.min_items_message
                    or f"Too small: expected array to have >={self.min_items} items",
                )
            )
        if self.max_items is not None and len(value) > self.max_items:
            issues.append(Issue(path, f"Too big: expected array to have <={self.max_items} items"))
        items = [self.item.parse(v, f"{path}[{i}]", issues) for i, v in enumerate(value)]
        if len(issues) > before:
            return INVALID
        if self.unique:
            items = list(dict.fromkeys(items))
        return tuple(items)

    def dump(self, value: Any, reveal: bool) -> Any:
        return [self.item.dump(v, reveal) for v in value]


@attrs.frozen
class MapOf:
    """A free-form mapping of names to values of one kind (e.g. OIDC scope → claims)."""

    value: Kind

    def parse(self, value: Any, path: str, issues: list[Issue]) -> Any:
        if not isinstance(value, Mapping):
            issues.append(Issue(path, expected("object", value)))
            return INVALID
        before = len(issues)
        parsed = {str(k): self.value.parse(v, f"{path}.{k}", issues) for k, v in value.items()}
        return INVALID if len(issues) > before else MappingProxyType(parsed)

    def dump(self, value: Any, reveal: bool) -> Any:
        return {k: self.value.dump(v, reveal) for k, v in value.items()}


@attrs.frozen
class Sensitive:
    """A secret: checked like its inner kind, then carried as :class:`Secret` values."""

    inner: Kind

    def parse(self, value: Any, path: str, issues: list[Issue]) -> Any:
        if isinstance(value, Secret):
            value = value.reveal()
        elif isinstance(value, list | tuple):
            value = [v.reveal() if isinstance(v, Secret) else v for v in value]
        parsed = self.inner.parse(value, path, issues)
        if parsed is INVALID:
            return INVALID
        if isinstance(parsed, tuple):
            return tuple(Secret(v) for v in parsed)
        return Secret(parsed)

    def dump(self, value: Any, reveal: bool) -> Any:
        if isinstance(value, tuple):
            return [v.reveal() if reveal else str(v) for v in value]
        return value.reveal() if reveal else str(value)


@attrs.frozen
class HttpUrlOrEmpty(_Plain):
    """Empty, or an http(s) URL — discovery metadata links."""

    label: str

    def parse(self, value: Any, path: str, issues: list[Issue]) -> Any:
        if value == "":
            return value
        if not isinstance(value, str):
            issues.append(Issue(path, "Invalid input"))
            return INVALID
        found = []
        if not is_url(value):
            found.append(f"{self.label} must be a valid URL")
        if not re.match(r"^https?://", value, re.IGNORECASE):
            found.append(f"{self.label} must use HTTP or HTTPS")
        issues.extend(Issue(path, m) for m in found)
        return INVALID if found else value


@attrs.frozen
class UrlOrEmpty(_Plain):
    def parse(self, value: Any, path: str, issues: list[Issue]) -> Any:
        if value == "" or (isinstance(value, str) and is_url(value)):
            return value
        issues.append(Issue(path, "Invalid input" if not isinstance(value, str) else "Invalid URL"))
        return INVALID


_EMAIL: Final = re.compile(r"^[^\s@]+@[^\s@]+\.[^\s@]+$")
_NAMED_EMAIL: Final = re.compile(r"^.+\s*<[^\s@]+@[^\s@]+\.[^\s@]+>$")


@attrs.frozen
class EmailAddress(_Plain):
    """A sender address, bare or RFC 5322 ``Name <address>``."""

    empty_message: str | None = None

    def parse(self, value: Any, path: str, issues: list[Issue]) -> Any:
        if not isinstance(value, str):
            issues.append(Issue(path, expected("string", value)))
            return INVALID
        if not value:
            issues.append(Issue(path, self.empty_message or "Too small"))
            return INVALID
        if _EMAIL.match(value) or _NAMED_EMAIL.match(value):
            return value
        issues.append(Issue(path, "From email must be a valid email address or RFC 5322 format"))
        return INVALID


_STORAGE_SEGMENT: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def is_safe_asset_location(value: str) -> bool:
    """A site-relative path, a storage key (``tenant/logos/x.svg``) or an http(s) URL."""
    if value.startswith("/") and not value.startswith("//") and "\\" not in value:
        segments = value[1:].split("/")
        if value == "/" or all(s and s not in {".", ".."} for s in segments):
            return value != "/"
    parts = value.split("/")
    if len(parts) >= 2 and all(_STORAGE_SEGMENT.match(p) and p not in {".", ".."} for p in parts):
        return True
    return is_http_url(value)


@attrs.frozen
class AssetLocation(_Plain):
    """A logo or icon location; ``allow_empty`` lets ``''`` mean "no logo"."""

    message: str
    empty_message: str | None = None
    allow_empty: bool = False

    def parse(self, value: Any, path: str, issues: list[Issue]) -> Any:
        if not isinstance(value, str):
            issues.append(Issue(path, expected("string", value)))
            return INVALID
        if value == "":
            if self.allow_empty:
                return value
            issues.append(Issue(path, self.empty_message or self.message))
            return INVALID
        if not is_safe_asset_location(value):
            issues.append(Issue(path, self.message))
            return INVALID
        return value


# Kinds shared by many settings.
TEXT: Final = Text()
ROUTE: Final = Text(min_length=2, starts_with="/")
HEX_COLOR: Final = Text(
    patterns=(Pattern("^#([0-9A-Fa-f]{3}|[0-9A-Fa-f]{6})$", "Invalid hex color"),)
)
SAME_SITE: Final = Choice(("strict", "lax", "none"))
LOCALE: Final = Text(
    trim=True,
    min_length=2,
    min_length_message="Locale identifier must be at least 2 characters",
    patterns=(
        Pattern(
            "^[A-Za-z0-9]+(?:[-_][A-Za-z0-9]+)*$",
            "Locale identifiers may contain only letters, numbers, hyphens, and underscores",
        ),
    ),
)

__all__: Sequence[str] = (
    "HEX_COLOR",
    "INVALID",
    "LOCALE",
    "ROUTE",
    "SAME_SITE",
    "TEXT",
    "AssetLocation",
    "Boolean",
    "Choice",
    "EmailAddress",
    "HttpUrlOrEmpty",
    "Integer",
    "Kind",
    "ListOf",
    "MapOf",
    "Number",
    "Pattern",
    "Sensitive",
    "Text",
    "UrlOrEmpty",
)
