from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog

from adapters.log_setup import (
    LOG_FILE_NAME,
    LoggingSettings,
    configure_logging,
    get_logger,
)
from eventstore.errors import ValidationFailed
from eventstore.secret import MASK, Secret

PLAINTEXT = "pl41ntext-SECRET-do-not-log"


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """configure_logging changes process-wide state; put it back for the rest of the suite."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)
    structlog.reset_defaults()


def _settings(tmp_path: Path, stream: io.StringIO, **overrides: Any) -> LoggingSettings:
    values: dict[str, Any] = {"directory": tmp_path / "logs", "stream": stream}
    values.update(overrides)
    return LoggingSettings(**values)


def _json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _fail_with_secret_in_a_local() -> None:
    decrypted = PLAINTEXT  # a local variable, as when a secret is in use
    if decrypted:
        raise RuntimeError("smtp login failed")


def _log_failure() -> None:
    try:
        _fail_with_secret_in_a_local()
    except RuntimeError:
        get_logger("test").exception("delivery failed")


@pytest.mark.parametrize("environment", ["production", "development"])
def test_traceback_never_shows_local_variables(tmp_path: Path, environment: str) -> None:
    stream = io.StringIO()
    configure_logging(_settings(tmp_path, stream, environment=environment, pretty=True))
    _log_failure()
    output = stream.getvalue()
    log_file = (tmp_path / "logs" / LOG_FILE_NAME).read_text(encoding="utf-8")
    # The traceback itself is there, so the absence of the secret means something.
    assert "_fail_with_secret_in_a_local" in output
    assert "smtp login failed" in output
    assert "_fail_with_secret_in_a_local" in log_file
    assert PLAINTEXT not in output
    assert PLAINTEXT not in log_file


def test_production_writes_json_lines_even_when_pretty(tmp_path: Path) -> None:
    stream = io.StringIO()
    configure_logging(_settings(tmp_path, stream, environment="production", pretty=True))
    get_logger("parako.test").info("started", port=8080)
    (line,) = _json_lines(stream.getvalue())
    assert line["event"] == "started"
    assert line["port"] == 8080
    assert line["level"] == "info"
    assert line["logger"] == "parako.test"
    assert "timestamp" in line


def test_development_pretty_uses_console_renderer(tmp_path: Path) -> None:
    stream = io.StringIO()
    configure_logging(_settings(tmp_path, stream, file_enabled=False))
    get_logger("t").info("started", port=8080)
    output = stream.getvalue()
    assert "started" in output
    assert "port=8080" in output
    assert not output.lstrip().startswith("{")


def test_secret_values_are_masked(tmp_path: Path) -> None:
    stream = io.StringIO()
    configure_logging(_settings(tmp_path, stream, environment="production"))
    get_logger("t").info(
        "loaded",
        jwt=Secret(PLAINTEXT),
        smtp_password=PLAINTEXT,
        settings={"Authorization": PLAINTEXT, "nested": [{"API_KEY": PLAINTEXT}], "host": "h"},
        stored=f"enc:v1:{PLAINTEXT}",
        note=f"value was enc:v1:{PLAINTEXT}, rotated",
    )
    (line,) = _json_lines(stream.getvalue())
    assert PLAINTEXT not in stream.getvalue()
    assert line["jwt"] == MASK
    assert line["smtp_password"] == MASK
    assert line["settings"] == {
        "Authorization": MASK,
        "nested": [{"API_KEY": MASK}],
        "host": "h",
    }
    assert line["stored"] == MASK
    assert line["note"] == f"value was {MASK}, rotated"


def test_secret_is_masked_in_console_output_and_file(tmp_path: Path) -> None:
    stream = io.StringIO()
    configure_logging(_settings(tmp_path, stream))
    get_logger("t").warning("login", token=PLAINTEXT, user="alice")
    log_file = (tmp_path / "logs" / LOG_FILE_NAME).read_text(encoding="utf-8")
    assert f"token={MASK}" in stream.getvalue()
    assert "user=alice" in stream.getvalue()
    assert _json_lines(log_file)[0]["token"] == MASK
    assert PLAINTEXT not in stream.getvalue() + log_file


def test_warn_level_drops_info(tmp_path: Path) -> None:
    stream = io.StringIO()
    configure_logging(_settings(tmp_path, stream, environment="production", level="warn"))
    log = get_logger("t")
    log.info("quiet")
    log.warning("loud")
    logging.getLogger("thirdparty").info("also quiet")
    logging.getLogger("thirdparty").error("also loud")
    events = [line["event"] for line in _json_lines(stream.getvalue())]
    assert events == ["loud", "also loud"]


def test_trace_level_lets_debug_through(tmp_path: Path) -> None:
    stream = io.StringIO()
    configure_logging(_settings(tmp_path, stream, environment="production", level="trace"))
    get_logger("t").debug("detail")
    assert [line["event"] for line in _json_lines(stream.getvalue())] == ["detail"]


def test_unknown_level_is_rejected() -> None:
    with pytest.raises(ValidationFailed, match=r'logging\.level: "verbose" is not one of'):
        LoggingSettings(level="verbose")


def test_file_logging_writes_json_into_configured_directory(tmp_path: Path) -> None:
    directory = tmp_path / "var" / "log" / "parako"
    configure_logging(_settings(tmp_path, io.StringIO(), directory=directory))
    get_logger("t").info("to file", n=1)
    lines = _json_lines((directory / LOG_FILE_NAME).read_text(encoding="utf-8"))
    assert [(line["event"], line["n"]) for line in lines] == [("to file", 1)]


def test_file_logging_can_be_switched_off(tmp_path: Path) -> None:
    configure_logging(_settings(tmp_path, io.StringIO(), file_enabled=False))
    get_logger("t").info("only to stream")
    assert not (tmp_path / "logs").exists()


def test_disabled_logging_writes_nothing(tmp_path: Path) -> None:
    stream = io.StringIO()
    configure_logging(_settings(tmp_path, stream, enabled=False))
    get_logger("t").error("nobody hears this")
    assert stream.getvalue() == ""
    assert not (tmp_path / "logs").exists()


def test_configuring_twice_does_not_duplicate_lines(tmp_path: Path) -> None:
    stream = io.StringIO()
    settings = _settings(tmp_path, stream, environment="production")
    configure_logging(settings)
    configure_logging(settings)
    get_logger("t").info("once")
    assert len(_json_lines(stream.getvalue())) == 1
    log_file = (tmp_path / "logs" / LOG_FILE_NAME).read_text(encoding="utf-8")
    assert len(_json_lines(log_file)) == 1


def test_reconfiguring_keeps_foreign_handlers(tmp_path: Path) -> None:
    foreign = logging.StreamHandler(io.StringIO())
    logging.getLogger().addHandler(foreign)
    configure_logging(_settings(tmp_path, io.StringIO()))
    configure_logging(_settings(tmp_path, io.StringIO()))
    assert foreign in logging.getLogger().handlers
