"""Bootstrap variables from the process environment and the ``runtime/.env*`` files.

Precedence (D1 in docs/decisions.md): the process environment wins, then ``runtime/.env.local``,
then ``runtime/.env``. ``.env`` holds the shared defaults, ``.env.local`` the machine's overrides,
and the environment what the operator set for this one run.

Choices worth knowing:

* A key that is *present* in a higher layer wins even when its value is empty: ``FOO=`` in
  ``.env.local`` hides ``FOO=bar`` from ``.env``. Setting a variable to empty is a deliberate act;
  whether empty is acceptable is for the consumer to decide (``${FOO}`` rejects it).
* A bare ``FOO`` line (no ``=``) counts as absent, so it never hides a lower layer.
* ``${...}`` inside ``.env`` values is *not* expanded (``interpolate=False``): values are taken
  literally, so a secret containing ``$`` survives, and expansion happens in one place only —
  the config document.
* A line python-dotenv cannot parse is an error naming ``file:line``; dotenv alone would log a
  warning and silently drop it and everything up to the next parsable line.
* Nothing is written into ``os.environ``.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Final

import attrs
from dotenv import dotenv_values
from dotenv.parser import parse_stream

from adapters.sources.file_source import read_text
from eventstore.errors import Issue, ValidationFailed

__all__ = ["ENVIRONMENT", "ENV_FILES", "EnvLayers", "read_env"]

ENVIRONMENT: Final = "environment"
# Highest precedence first.
ENV_FILES: Final = ("runtime/.env.local", "runtime/.env")


def _freeze(
    layers: tuple[tuple[str, Mapping[str, str]], ...],
) -> tuple[tuple[str, Mapping[str, str]], ...]:
    return tuple((source, MappingProxyType(dict(values))) for source, values in layers)


@attrs.frozen
class EnvLayers:
    """The variable layers, highest precedence first, each named by where it came from."""

    layers: tuple[tuple[str, Mapping[str, str]], ...] = attrs.field(converter=_freeze)
    _merged: Mapping[str, str] = attrs.field(init=False)

    @_merged.default
    def _merge(self) -> Mapping[str, str]:
        merged: dict[str, str] = {}
        for _, values in reversed(self.layers):
            merged.update(values)
        return MappingProxyType(merged)

    def get(self, name: str) -> str | None:
        return self._merged.get(name)

    def source_of(self, name: str) -> str:
        """Where the winning value of ``name`` came from, for error messages.

        Raises KeyError when no layer has the variable.
        """
        for source, values in self.layers:
            if name in values:
                return source
        raise KeyError(f"{name} is not set in the {self._where()}")

    def as_mapping(self) -> Mapping[str, str]:
        return self._merged

    def _where(self) -> str:
        names = [source for source, _ in self.layers]
        return ", ".join(names[:-1]) + f" or {names[-1]}" if len(names) > 1 else names[0]


def read_env(root: Path, environ: Mapping[str, str]) -> EnvLayers:
    """Read both env files under ``root`` (missing files are fine) and layer ``environ`` on top."""
    layers: list[tuple[str, Mapping[str, str]]] = [(ENVIRONMENT, environ)]
    layers.extend((name, _read_file(root / name, name)) for name in ENV_FILES)
    return EnvLayers(tuple(layers))


def _read_file(path: Path, source: str) -> dict[str, str]:
    if not path.exists():
        return {}
    text = read_text(path)
    bad_lines = [
        binding.original.line for binding in parse_stream(io.StringIO(text)) if binding.error
    ]
    if bad_lines:
        # The offending text is not quoted: it is likely to hold a secret.
        raise ValidationFailed(
            [
                Issue(f"{source}:{line}", "cannot parse this line; expected KEY=value")
                for line in bad_lines
            ],
            heading=f"Invalid environment file {source}",
        )
    values = dotenv_values(stream=io.StringIO(text), interpolate=False)
    return {key: value for key, value in values.items() if value is not None}
