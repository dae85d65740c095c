"""Process-wide logging: structlog in front, the standard library's handlers behind.

Standard-library integration means third-party libraries that log through ``logging`` end up in
the same stream and file, rendered the same way. Everything is rendered by one chain of
processors, and the last step before every renderer is :func:`redact_secrets`, so no handler
can receive an event that still holds a secret (nor a URL's password: every string is masked by
:func:`eventstore.credentials.mask_urls_in_text`). The log file is created ``0600``.

Tracebacks are rendered without local variables on every path (JSON dict tracebacks with
``show_locals=False``, the console with the plain formatter). structlog's default console
formatter is rich with locals switched on, and a local variable is exactly where a decrypted
secret lives while it is being used.
"""

from __future__ import annotations

import io
import logging
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final, TextIO

import attrs
import structlog
from structlog.typing import EventDict, ExcInfo, Processor, WrappedLogger

from adapters.private_files import make_private_directories, open_private
from eventstore.credentials import mask_urls_in_text
from eventstore.errors import ConfigError, Issue, ValidationFailed
from eventstore.masking import redact_envelopes
from eventstore.secret import MASK, Secret

__all__ = [
    "LOG_FILE_NAME",
    "TRACE",
    "LoggingSettings",
    "LoggingSetupError",
    "configure_logging",
    "get_logger",
    "redact_secrets",
]

TRACE: Final = logging.DEBUG - 5
LOG_FILE_NAME: Final = "parako-config.log"

_LEVELS: Final = {
    "trace": TRACE,
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warn": logging.WARNING,
    "error": logging.ERROR,
    "fatal": logging.CRITICAL,
}

# Handlers we install carry this name prefix, so reconfiguring replaces exactly ours and leaves
# handlers that someone else (pytest, an embedding application) put on the root logger alone.
_HANDLER_PREFIX: Final = "parako-config:"


def _check_level(instance: LoggingSettings, attribute: attrs.Attribute[str], value: str) -> None:
    if value not in _LEVELS:
        allowed = ", ".join(_LEVELS)
        raise ValidationFailed([Issue("logging.level", f'"{value}" is not one of {allowed}')])


@attrs.frozen
class LoggingSettings:
    """How and where to log; ``stream`` replaces stderr (tests pass a StringIO)."""

    enabled: bool = True
    level: str = attrs.field(default="info", validator=_check_level)
    pretty: bool = True
    file_enabled: bool = True
    directory: Path = Path("logs")
    environment: str = "development"
    stream: TextIO | None = None


class LoggingSetupError(ConfigError):
    """The log file cannot be opened; better to refuse to start than to run without logs."""


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    return structlog.stdlib.get_logger(name)


def configure_logging(settings: LoggingSettings) -> None:
    """Install (or replace) parako-config's handlers; safe to call more than once."""
    logging.addLevelName(TRACE, "TRACE")
    root = logging.getLogger()
    _remove_our_handlers(root)
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *_shared_processors(),
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        # Loggers created before a reconfiguration must follow it, so nothing is cached.
        cache_logger_on_first_use=False,
    )
    if not settings.enabled:
        root.addHandler(_named(logging.NullHandler(), "null"))
        root.setLevel(logging.CRITICAL + 1)
        return
    handlers = [_stream_handler(settings)]
    if settings.file_enabled:
        handlers.append(_file_handler(settings.directory))
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(_LEVELS[settings.level])


def _shared_processors() -> list[Processor]:
    """Steps for every event, whether it came through structlog or plain ``logging``."""
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
    ]


def _remove_our_handlers(root: logging.Logger) -> None:
    for handler in list(root.handlers):
        if (handler.get_name() or "").startswith(_HANDLER_PREFIX):
            root.removeHandler(handler)
            handler.close()


def _named(handler: logging.Handler, name: str) -> logging.Handler:
    handler.set_name(_HANDLER_PREFIX + name)
    return handler


def _stream_handler(settings: LoggingSettings) -> logging.Handler:
    stream = settings.stream if settings.stream is not None else sys.stderr
    if settings.environment != "production" and settings.pretty:
        renderer = _console_formatter(colors=_is_terminal(stream))
    else:
        renderer = _json_formatter()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(renderer)
    return _named(handler, "stream")


class _PrivateFileHandler(logging.FileHandler):
    """A file handler whose new file is ``0600`` from its creation on: log lines say who
    changed what and when, which is nobody else's business on a shared machine."""

    def _open(self) -> io.TextIOWrapper:
        fd = open_private(Path(self.baseFilename), os.O_WRONLY | os.O_APPEND)
        return os.fdopen(fd, "a", encoding=self.encoding, errors=self.errors)


def _file_handler(directory: Path) -> logging.Handler:
    try:
        make_private_directories(directory)
        handler = _PrivateFileHandler(directory / LOG_FILE_NAME, encoding="utf-8")
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise LoggingSetupError(f"cannot write log files to {directory}: {reason}") from None
    handler.setFormatter(_json_formatter())
    return _named(handler, "file")


def _is_terminal(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _json_formatter() -> logging.Formatter:
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_shared_processors(),
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.ExceptionRenderer(
                structlog.tracebacks.ExceptionDictTransformer(show_locals=False)
            ),
            redact_secrets,
            structlog.processors.JSONRenderer(),
        ],
    )


def _console_formatter(*, colors: bool) -> logging.Formatter:
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_shared_processors(),
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            redact_secrets,
            structlog.dev.ConsoleRenderer(colors=colors, exception_formatter=_masked_traceback),
        ],
    )


def _masked_traceback(sio: TextIO, exc_info: ExcInfo) -> None:
    """The plain traceback, with the password of every URL it quotes masked (an exception
    message may quote a connection URL)."""
    buffer = io.StringIO()
    structlog.dev.plain_traceback(buffer, exc_info)
    sio.write(mask_urls_in_text(buffer.getvalue()))


# --- redaction ------------------------------------------------------------------------------

_SECRET_KEY_PARTS: Final = (
    "password",
    "secret",
    "token",
    "api_key",
    "salt",
    "encryption_key",
    "authorization",
)
# The console renderer needs the raw exception tuple; its text is rendered without locals.
_UNTOUCHED_KEYS: Final = frozenset({"exc_info"})


def redact_secrets(logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
    """Mask secrets anywhere in the event: Secret objects, secret-looking keys, envelopes."""
    return {
        key: value if key in _UNTOUCHED_KEYS else _redact_field(key, value)
        for key, value in event_dict.items()
    }


def _looks_secret(key: object) -> bool:
    normalized = str(key).lower().replace("-", "_")
    return any(part in normalized for part in _SECRET_KEY_PARTS)


def _redact_field(key: object, value: Any) -> Any:
    if value is not None and _looks_secret(key):
        return MASK
    return _redact_value(value)


def _redact_value(value: Any) -> Any:
    if isinstance(value, Secret):
        return MASK
    if isinstance(value, str):
        # an envelope tells key version and length: no log; a URL may carry a password
        return mask_urls_in_text(redact_envelopes(value))
    if isinstance(value, Mapping):
        return {key: _redact_field(key, item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_redact_value(item) for item in value]
    return value
