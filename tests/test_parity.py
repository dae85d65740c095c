"""Parity with the reference, row by row: its validation messages and its environment variables.

The tables are data (``tests/data/parity/``): each row is a value in and a message or a value
out. A row with a ``decision`` is a deliberate difference, explained by that entry of
docs/decisions.md. The coverage tests read the reference's own lists (``validation_rules.json``,
``bootstrap_env.json``) so that a message or variable without a row fails the suite.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from adapters.sources.bootstrap import read_bootstrap
from adapters.sources.env_files import EnvLayers
from eventstore.computed import MissingSecretError
from eventstore.crypto import EncryptionKeyError, parse_encryption_key
from eventstore.docpath import delete_path, set_path
from eventstore.errors import ValidationFailed
from eventstore.resolve import initial_document, resolve
from eventstore.schema import AppConfig, structure, unstructure
from eventstore.secret import Secret

PARITY = Path(__file__).parent / "data" / "parity"
Row = dict[str, Any]
Load = Callable[[str], Any]


def _table(name: str) -> list[Row]:
    rows: list[Row] = json.loads((PARITY / name).read_text(encoding="utf-8"))["rows"]
    return rows


MESSAGE_ROWS = _table("validation_messages.json")
ENVIRONMENT_ROWS = _table("environment.json")
_DECISION = re.compile(r"^[DX][0-9]+$")


def _id(row: Row) -> str:
    return str(row["id"]) + (f" [{row['decision']}]" if "decision" in row else "")


def value_at(doc: Any, path: str) -> Any:
    """``a.b[1].c`` in a JSON document."""
    for segment in re.findall(r"[^.\[\]]+|\[\d+\]", path):
        doc = doc[int(segment[1:-1])] if segment.startswith("[") else doc[segment]
    return doc


def test_every_row_names_an_existing_decision_if_any() -> None:
    decisions = (Path(__file__).parent.parent / "docs" / "decisions.md").read_text("utf-8")
    for row in MESSAGE_ROWS + ENVIRONMENT_ROWS:
        if "decision" in row:
            assert _DECISION.match(row["decision"]), row
            assert f'<a id="{row["decision"].lower()}"></a>' in decisions, row


# --------------------------------------------------------------------------------------------
# Validation messages: a value set on a complete, valid configuration


def _outcome(valid_doc: Mapping[str, Any], row: Row) -> list[list[str]] | dict[str, Any]:
    doc: Mapping[str, Any] = copy.deepcopy(dict(valid_doc))
    for path, value in row.get("set", {}).items():
        doc = set_path(doc, path, value)
    for path in row.get("unset", []):
        doc = delete_path(doc, path)
    try:
        config = structure(AppConfig, doc)
    except ValidationFailed as failed:
        return [[issue.path, issue.message] for issue in failed.issues]
    return unstructure(config, reveal=True)


@pytest.mark.parametrize("row", MESSAGE_ROWS, ids=_id)
def test_validation_message(valid_doc: dict[str, Any], row: Row) -> None:
    outcome = _outcome(valid_doc, row)
    if "issues" in row:
        assert outcome == row["issues"]
    else:
        assert isinstance(outcome, dict), outcome
        assert {path: value_at(outcome, path) for path in row["values"]} == row["values"]


def _reference_messages(reference: Load) -> Iterator[str]:
    """Every message text of ``validation_rules.json``: custom messages, refinements, both
    schemas (``<Label>`` templates as they are written)."""
    rules = reference("validation_rules.json")

    def walk(node: Any) -> Iterator[str]:
        if isinstance(node, Mapping):
            for key, value in node.items():
                if key in {"messages", "custom_refinements", "message"}:
                    yield from _strings(value)
                else:
                    yield from walk(value)
        elif isinstance(node, list):
            for item in node:
                yield from walk(item)

    for part in ("app_config", "refinements", "bootstrap_config", "bootstrap_refinements"):
        yield from walk(rules[part])


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, Mapping):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from _strings(item)


def _as_pattern(message: str) -> re.Pattern[str]:
    """A message with ``<placeholders>`` matches any filling of them."""
    parts = re.split(r"<[^>]+>", message)
    return re.compile(".+".join(re.escape(part) for part in parts) + r"\Z")


def _tabled_messages() -> set[str]:
    """Messages the rows show, and the reference's messages a decision row replaces."""
    found = {issue[1] for row in MESSAGE_ROWS for issue in row.get("issues", [])}
    found |= {row["reference"] for row in MESSAGE_ROWS if "decision" in row}
    for row in ENVIRONMENT_ROWS:
        for line in row.get("issues", []) + row.get("fatal", []):
            found.add(line.split(": ", 1)[-1] if ": " in line else line)
            found.add(line)
    return found


def test_every_reference_message_has_a_row(reference: Load) -> None:
    tabled = _tabled_messages()
    missing = sorted(
        {
            message
            for message in _reference_messages(reference)
            if message != "(see refinements)"
            and not any(_as_pattern(message).match(text) for text in tabled)
        }
    )
    assert missing == []


def test_every_html_boolean_of_the_reference_has_a_null_row(reference: Load) -> None:
    rules = reference("validation_rules.json")["app_config"]
    html = {path for path, node in rules.items() if "coercion" in node}
    assert len(html) == 15
    nulls = {path for row in MESSAGE_ROWS for path, v in row.get("set", {}).items() if v is None}
    assert html <= nulls


# --------------------------------------------------------------------------------------------
# Environment variables: the variables of one process, read as a start reads them


def _environment_outcome(row: Row) -> dict[str, Any]:
    """What the row's variables give: the issue lines, the [FATAL] lines, values of the runtime
    config (``values``) or of the first stored version (``stored``), process settings, or how
    the encryption key reads."""
    env: dict[str, str] = row["env"]
    if "key" in row:
        try:
            parse_encryption_key(env.get("ENCRYPTION_KEY"))
        except EncryptionKeyError as error:
            return {"key": str(error)}
        return {"key": "accepted"}
    try:
        bootstrap = read_bootstrap(EnvLayers((("environment", env),)))
        config = resolve(None, bootstrap)
    except ValidationFailed as failed:
        return {"issues": [str(issue) for issue in failed.issues]}
    except MissingSecretError as missing:
        return {"fatal": list(missing.messages)}
    runtime = unstructure(config, reveal=True)
    outcome: dict[str, Any] = {
        "values": {path: value_at(runtime, path) for path in row.get("values", {})},
        "matches": {path: value_at(runtime, path) for path in row.get("matches", {})},
        "process": {name: _attribute(bootstrap.process, name) for name in row.get("process", {})},
    }
    stored = initial_document(bootstrap)
    outcome["stored"] = {path: _stored_at(stored, path) for path in row.get("stored", {})}
    return outcome


def _attribute(obj: Any, dotted: str) -> Any:
    for name in dotted.split("."):
        obj = getattr(obj, name)
    return str(obj) if isinstance(obj, Secret) else obj


def _stored_at(doc: Mapping[str, Any], path: str) -> Any:
    try:
        value = value_at(doc, path)
    except KeyError:
        value = None
    return "(not stored)" if value is None else value


@pytest.mark.parametrize("row", ENVIRONMENT_ROWS, ids=_id)
def test_environment_variable(row: Row) -> None:
    outcome = _environment_outcome(row)
    for expectation in ("issues", "fatal", "key"):
        if expectation in row:
            assert outcome.get(expectation) == row[expectation]
    for expectation in ("values", "process", "stored"):
        if expectation in row:
            assert outcome.get(expectation) == row[expectation], outcome
    for path, pattern in row.get("matches", {}).items():
        assert re.fullmatch(pattern, str(outcome["matches"][path])), outcome


def test_every_variable_of_the_reference_has_a_row(reference: Load) -> None:
    variables = {v["name"] for v in reference("bootstrap_env.json")["variables"]}
    tabled = {row["variable"] for row in ENVIRONMENT_ROWS}
    assert sorted(variables - tabled) == []
