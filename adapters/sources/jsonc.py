"""Parse the hand-edited config file (JSON with comments) and point at the exact bad spot.

People edit ``runtime/parako.jsonc`` by hand, so every error names ``file:line:col``. ``json5`` does
the parsing; it reports positions for syntax errors but not for duplicate keys or for the
non-JSON numbers (NaN, Infinity, overflowing floats) it would let through, so a small scanner
walks the text to find those positions. For syntax errors the same scanner says what was
expected ("expected ',' or '}'"), and moves the position back to the first token the structure
rejects, because ``json5`` reports the farthest point it reached rather than the mistake.

Error messages never quote string or value tokens: a misplaced token may be a hand-typed password.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from typing import Any, Final, NoReturn

import attrs
import json5

from eventstore.errors import ConfigError

__all__ = ["JsoncError", "parse_jsonc"]


class JsoncError(ConfigError):
    """The text is not a usable JSON document; ``line`` and ``col`` are 1-based."""

    def __init__(self, source: str, line: int, col: int, message: str) -> None:
        self.source = source
        self.line = line
        self.col = col
        self.reason = message
        super().__init__(f"{source}:{line}:{col}: {message}")


def parse_jsonc(text: str, source: str) -> Any:
    """Return the JSON value in ``text``; ``source`` only names the text in error messages."""
    tokens = list(_tokenize(text))
    if not tokens:
        raise JsoncError(source, 1, 1, "no JSON value found (the file is empty or only comments)")
    try:
        value, error, position = json5.parse(
            text,
            allow_duplicate_keys=False,
            parse_constant=_reject_constant,
            parse_float=_finite_float,
        )
    except RecursionError:
        # json5's parser recurses per nesting level; no hand-written config gets near the limit.
        line, col = _line_col(text, tokens[0].offset)
        raise JsoncError(source, line, col, "the document is nested too deeply") from None
    if error is None:
        return value
    if error.startswith("<string>:"):
        _raise_syntax_error(text, source, tokens, position)
    problem = _first_problem(tokens)
    if problem is not None:
        line, col = _line_col(text, problem.offset)
        message = problem.message
        if problem.first is not None:
            message += f" (first defined at line {_line_col(text, problem.first)[0]})"
        raise JsoncError(source, line, col, message)
    # json5 found a problem the scanner cannot place; point at the document rather than guess.
    line, col = _line_col(text, tokens[0].offset)
    raise JsoncError(source, line, col, error)


def _reject_constant(literal: str) -> NoReturn:
    raise ValueError(f"{literal} is not allowed in JSON")


def _finite_float(literal: str) -> float:
    number = float(literal)
    if math.isinf(number):
        raise ValueError(f"number {literal} is too large")
    return number


def _line_col(text: str, offset: int) -> tuple[int, int]:
    """Count like ``json5`` does (lines end at ``\\n``) so both agree on positions."""
    line = text.count("\n", 0, offset) + 1
    col = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, col


# --- tokens ---------------------------------------------------------------------------------

_PUNCTUATION: Final = frozenset("{}[]:,")
_LINE_ENDS: Final = frozenset("\n\r\u2028\u2029")
_STRING: Final = "string"
_BARE: Final = "bare"  # numbers, true/false/null and unquoted keys
_COMMENT: Final = "comment"  # only unterminated block comments become tokens


@attrs.frozen
class _Token:
    kind: str  # one of _PUNCTUATION, _STRING, _BARE or _COMMENT
    text: str
    offset: int
    closed: bool = True  # False for a string or comment that runs to the end of the text


def _tokenize(text: str) -> Iterable[_Token]:
    """Split into tokens, skipping whitespace and finished comments."""
    i, end = 0, len(text)
    while i < end:
        char = text[i]
        if char.isspace() or char == "\ufeff":
            i += 1
        elif text.startswith("//", i):
            while i < end and text[i] not in _LINE_ENDS:
                i += 1
        elif text.startswith("/*", i):
            close = text.find("*/", i + 2)
            if close < 0:
                yield _Token(_COMMENT, text[i:], i, closed=False)
                return
            i = close + 2
        elif char in _PUNCTUATION:
            yield _Token(char, char, i)
            i += 1
        elif char in "\"'":
            start = i
            i += 1
            while i < end and text[i] != char:
                i += 2 if text[i] == "\\" else 1
            closed = i < end
            i = min(i + 1, end)
            yield _Token(_STRING, text[start:i], start, closed=closed)
        else:
            start = i
            while i < end and not _ends_bare(text, i):
                i += 1
            yield _Token(_BARE, text[start:i], start)


def _ends_bare(text: str, i: int) -> bool:
    char = text[i]
    return char.isspace() or char in _PUNCTUATION or char in "\"'/" or char == "\ufeff"


# --- structure ------------------------------------------------------------------------------

# What the innermost container waits for next.
_KEY: Final = "key"  # object: a key or '}'
_COLON: Final = "colon"
_VALUE: Final = "value"
_NEXT: Final = "next"  # after a value: ',' or the closing bracket
_END: Final = "end"  # top level, after the document's value

_EXPECTED: Final = {
    ("{", _KEY): "expected a key or '}'",
    ("{", _COLON): "expected ':'",
    ("{", _VALUE): "expected a value",
    ("{", _NEXT): "expected ',' or '}'",
    ("[", _VALUE): "expected a value or ']'",
    ("[", _NEXT): "expected ',' or ']'",
    ("", _VALUE): "expected a value",
    ("", _END): "expected the end of the file",
}


@attrs.frozen
class _Problem:
    offset: int
    message: str
    first: int | None = None  # offset of the earlier key a duplicate repeats


@attrs.define
class _Frame:
    bracket: str  # "{", "[" or "" for the top level
    state: str
    keys: dict[str, int] = attrs.field(factory=dict)  # key -> offset of its first use


class _UnexpectedTokenError(Exception):
    """The token does not fit; carries what the scanner waited for instead."""

    def __init__(self, expected: str) -> None:
        self.expected = expected
        super().__init__(expected)


class _Walker:
    """Follows the nesting of tokens, recording duplicate keys and non-JSON numbers."""

    def __init__(self) -> None:
        self.stack = [_Frame("", _VALUE)]
        self.problems: list[_Problem] = []

    def feed(self, token: _Token) -> None:
        frame = self.stack[-1]
        expected = _EXPECTED[(frame.bracket, frame.state)]
        kind = token.kind
        if frame.state == _KEY and kind in (_STRING, _BARE):
            self._key(frame, token)
        elif frame.state == _VALUE and kind in ("{", "["):
            self._value_done(frame)
            self.stack.append(_Frame(kind, _KEY if kind == "{" else _VALUE))
        elif frame.state == _VALUE and kind in (_STRING, _BARE):
            if kind == _BARE:
                self._check_number(token)
            self._value_done(frame)
        elif kind == ":" and frame.state == _COLON:
            frame.state = _VALUE
        elif kind == "," and frame.state == _NEXT and frame.bracket:
            frame.state = _KEY if frame.bracket == "{" else _VALUE
        elif self._closes(frame, kind):
            self.stack.pop()
        else:
            raise _UnexpectedTokenError(expected)

    def wants_value(self) -> bool:
        return self.stack[-1].state == _VALUE

    @staticmethod
    def _value_done(frame: _Frame) -> None:
        frame.state = _END if not frame.bracket else _NEXT

    @staticmethod
    def _closes(frame: _Frame, kind: str) -> bool:
        if frame.bracket == "{":
            return kind == "}" and frame.state in (_KEY, _NEXT)
        if frame.bracket == "[":
            return kind == "]" and frame.state in (_VALUE, _NEXT)
        return False

    def _key(self, frame: _Frame, token: _Token) -> None:
        name = _key_name(token)
        first = frame.keys.get(name)
        if first is None:
            frame.keys[name] = token.offset
        else:
            message = f"duplicate key {json.dumps(name)}"
            self.problems.append(_Problem(token.offset, message, first))
        frame.state = _COLON

    def _check_number(self, token: _Token) -> None:
        literal = token.text
        if literal in ("true", "false", "null"):
            return
        if "Infinity" in literal or "NaN" in literal:
            self.problems.append(_Problem(token.offset, f"{literal} is not allowed in JSON"))
            return
        unsigned = literal.lstrip("+-")
        if unsigned.lower().startswith("0x") or not any(c in unsigned for c in ".eE"):
            return
        try:
            too_large = math.isinf(float(literal))
        except ValueError:
            return  # not a number after all; json5 reports it as a syntax error
        if too_large:
            self.problems.append(_Problem(token.offset, f"number {literal} is too large"))


_UNICODE_ESCAPE: Final = re.compile(r"\\u([0-9a-fA-F]{4})")


def _key_name(token: _Token) -> str:
    """Decode a key the way json5 does, so ``"a"``, ``'a'`` and ``\\u0061`` count as the same."""
    if token.kind == _STRING:
        decoded = json5.loads(token.text)
        return decoded if isinstance(decoded, str) else token.text
    return _UNICODE_ESCAPE.sub(lambda match: chr(int(match.group(1), 16)), token.text)


def _first_problem(tokens: list[_Token]) -> _Problem | None:
    walker = _Walker()
    for token in tokens:
        try:
            walker.feed(token)
        except _UnexpectedTokenError:
            break
    return min(walker.problems, key=lambda problem: problem.offset, default=None)


def _raise_syntax_error(text: str, source: str, tokens: list[_Token], position: int) -> NoReturn:
    offset, message = _explain(text, tokens, position)
    line, col = _line_col(text, offset)
    raise JsoncError(source, line, col, message)


def _explain(text: str, tokens: list[_Token], position: int) -> tuple[int, str]:
    """Say what was wrong at json5's error ``position``; fall back to naming the character."""
    at_end = position >= len(text)
    found = "end of file" if at_end else repr(text[position])
    walker = _Walker()
    for token in tokens:
        if not token.closed and token.offset < position:
            what = "comment (missing '*/')" if token.kind == _COMMENT else "string"
            return token.offset, f"unterminated {what}"
        if token.offset > position or token.kind == _COMMENT:
            return position, f"unexpected {found}"
        if walker.wants_value() and token.kind == _BARE and not _valid_literal(token.text):
            return token.offset, "invalid value (strings need quotes; numbers, true, false, null)"
        try:
            walker.feed(token)
        except _UnexpectedTokenError as unexpected:
            # json5 points past "1,," at the next token; the rejected token is the mistake.
            return token.offset, f"{unexpected.expected}, found {_describe(token)}"
    frame = walker.stack[-1]
    if at_end and frame.state != _END:
        return position, f"{_EXPECTED[(frame.bracket, frame.state)]}, found {found}"
    return position, f"unexpected {found}"


def _valid_literal(literal: str) -> bool:
    return json5.parse(literal)[1] is None


def _describe(token: _Token) -> str:
    """Name a misplaced token without quoting it: the text may be a password typed by hand."""
    if token.kind == _STRING:
        return "a string"
    if token.kind == _BARE:
        return "a value"
    return repr(token.text)
