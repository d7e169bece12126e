"""Log lines: JSON (one object a line, for a log pipeline) or text (for a terminal), on stdout.

Every line logged while a request is served carries its `request_id` (a context variable,
so the tasks a request fans out to carry it too). Fields given with `extra=` become fields
of the line; a traceback is a field of its own (`traceback`), and only lines logged with
`exc_info` (the unexpected) have one. Configured by the command line (`logging_config`),
never on import.
"""

from __future__ import annotations

import logging
import re
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Literal

import orjson

LogFormat = Literal["json", "text"]
REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)

# What every LogRecord holds: the rest was given with `extra=`.
_RECORD_FIELDS = frozenset(
    logging.LogRecord("", 0, "", 0, "", None, None).__dict__.keys()
    | {"message", "asctime", "color_message"}  # uvicorn's copy of its message, with colours
)
_PLAIN = re.compile(r"[\w.:/@+-]+")  # a text value shown without quotes


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    fields = {k: v for k, v in record.__dict__.items() if k not in _RECORD_FIELDS}
    request_id = REQUEST_ID.get()
    if request_id is not None:
        fields.setdefault("request_id", request_id)
    return fields


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **_fields(record),
        }
        if record.exc_info:
            line["traceback"] = self.formatException(record.exc_info)
        return orjson.dumps(line, default=str).decode()


class TextFormatter(logging.Formatter):
    """`time level logger: message key=value ...`, then the traceback if there is one."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S")

    def formatMessage(self, record: logging.LogRecord) -> str:
        text = super().formatMessage(record)
        pairs = " ".join(f"{key}={_text(value)}" for key, value in _fields(record).items())
        return f"{text} {pairs}" if pairs else text


def _text(value: object) -> str:
    """A value as one token: quoted (JSON) unless plain, so a client's text cannot forge a
    line or a field."""
    if isinstance(value, str) and _PLAIN.fullmatch(value):
        return value
    if isinstance(value, int | float | bool) or value is None:
        return str(value)
    return orjson.dumps(value, default=str).decode()


def logging_config(log_format: LogFormat, level: str = "INFO") -> dict[str, Any]:
    """A `logging.config.dictConfig` for the whole process, uvicorn's loggers included (uvicorn
    applies it in every worker). uvicorn's access log is left out: the gateway logs each
    request itself (`gateway.request_observer`), with more to say."""
    formatter = JsonFormatter if log_format == "json" else TextFormatter
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"gateway": {"()": f"{__name__}.{formatter.__name__}"}},
        "handlers": {
            "stdout": {
                "class": "logging.StreamHandler",
                "formatter": "gateway",
                "stream": "ext://sys.stdout",
            }
        },
        "root": {"handlers": ["stdout"], "level": level},
        "loggers": {
            "uvicorn": {"level": level},
            "uvicorn.access": {"level": "WARNING", "propagate": False},
        },
    }
