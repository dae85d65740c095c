"""Fill ``${VAR}`` and ``${VAR:-default}`` in config strings from the bootstrap environment.

Deployments keep host names and secrets out of the committed config file by referencing
environment variables. The rules are deliberately small so the result is predictable:

* only string leaves are touched (dict keys, numbers, booleans and null stay as they are), and
  the result is always a string — ``"${PORT}"`` gives ``"5432"``, never ``5432``;
* ``${`` + one or more characters other than ``}`` + ``}`` is a reference; ``${}`` stays literal;
  there is no escape syntax and no nesting (``${A:-${B}}`` is not supported);
* ``${VAR:-default}`` splits at the first ``:-``; the name is trimmed, the default is kept
  verbatim (it may be empty) and is used when ``VAR`` is unset *or* empty;
* ``${VAR}`` with ``VAR`` unset or empty is an error, because an empty host or secret almost
  always means a forgotten ``.env`` entry.

Every problem in the document is reported at once, so one run shows everything to fix.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from eventstore.errors import Issue, ValidationFailed

__all__ = ["interpolate"]

_REFERENCE: Final = re.compile(r"\$\{([^}]+)\}")
_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DEFAULT_SEPARATOR: Final = ":-"


def interpolate(value: Any, environ: Mapping[str, str]) -> Any:
    """Return a copy of ``value`` with every reference replaced; raise listing every failure."""
    issues: list[Issue] = []
    result = _walk(value, "", environ, issues)
    if issues:
        raise ValidationFailed(issues, heading="Environment variable substitution failed")
    return result


def _walk(value: Any, path: str, environ: Mapping[str, str], issues: list[Issue]) -> Any:
    if isinstance(value, str):
        return _substitute(value, path, environ, issues)
    if isinstance(value, dict):
        return {
            key: _walk(item, f"{path}.{key}" if path else str(key), environ, issues)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [
            _walk(item, f"{path}[{index}]", environ, issues) for index, item in enumerate(value)
        ]
    return value


def _substitute(text: str, path: str, environ: Mapping[str, str], issues: list[Issue]) -> str:
    def replace(match: re.Match[str]) -> str:
        body = match.group(1)
        name, separator, default = body.partition(_DEFAULT_SEPARATOR)
        name = name.strip()
        if not _NAME.fullmatch(name):
            issues.append(Issue(path, _invalid_name(path, name)))
            return match.group(0)
        found = environ.get(name, "")
        if found:
            return found
        if separator:
            return default
        issues.append(Issue(path, _not_set(path, name)))
        return match.group(0)

    return _REFERENCE.sub(replace, text)


def _not_set(path: str, name: str) -> str:
    return (
        f'Config error at "{path}": environment variable ${{{name}}} is not set. '
        f"Set it in .env or use ${{{name}:-default}} for a fallback."
    )


def _invalid_name(path: str, name: str) -> str:
    return (
        f'Config error at "{path}": invalid variable name "{name}". Variable names must start '
        "with a letter or underscore, followed by letters, digits, or underscores."
    )
