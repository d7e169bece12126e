"""Log lines as a real handler writes them: JSON fields, the request id of the context, a
traceback only for what was logged with one (the unexpected), text lines that client text
cannot break."""

from __future__ import annotations

import io
import json
import logging
import logging.config
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from graphql import GraphQLError

from gateway.api.errors import log_errors
from gateway.errors import BadUserInput, UpstreamTimeout
from gateway.logs import REQUEST_ID, JsonFormatter, TextFormatter, logging_config
from gateway.model import Source


@pytest.fixture
def logger() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger of its own writing JSON lines into a buffer."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    log = logging.getLogger("tests.logs")
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    yield log, stream
    log.removeHandler(handler)


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_json_line_has_its_fields_and_the_request_id_of_its_context(
    logger: tuple[logging.Logger, io.StringIO],
) -> None:
    log, stream = logger
    log.warning("outside any request")
    token = REQUEST_ID.set("req-42")
    try:
        log.info("upstream failed", extra={"source": "daily", "status": 503, "kind": "timeout"})
    finally:
        REQUEST_ID.reset(token)
    outside, inside = lines(stream)
    assert "request_id" not in outside
    assert outside["level"] == "WARNING"
    assert datetime.fromisoformat(inside.pop("time")).utcoffset() is not None
    assert inside == {
        "level": "INFO",
        "logger": "tests.logs",
        "message": "upstream failed",
        "source": "daily",
        "status": 503,
        "kind": "timeout",
        "request_id": "req-42",
    }


def test_only_a_line_logged_with_its_exception_carries_a_traceback(
    logger: tuple[logging.Logger, io.StringIO],
) -> None:
    log, stream = logger
    try:
        _ = 1 / 0
    except ZeroDivisionError:
        log.exception("unexpected error at meetings")
        log.warning("upstream failed")
    unexpected, expected = lines(stream)
    assert unexpected["traceback"].startswith("Traceback (most recent call last):")
    assert "ZeroDivisionError: division by zero" in unexpected["traceback"]
    assert "traceback" not in expected


def test_a_text_line_quotes_what_could_break_it() -> None:
    record = logging.LogRecord("gateway.requests", logging.INFO, "", 0, "request", None, None)
    record.__dict__.update(
        {"client": "10.0.0.7", "operation": "Upcoming", "note": 'two\nlines "quoted"', "n": 3}
    )
    text = TextFormatter().format(record)
    assert "\n" not in text
    assert text.endswith(
        "INFO gateway.requests: request client=10.0.0.7 operation=Upcoming "
        'note="two\\nlines \\"quoted\\"" n=3'
    )


def test_the_logging_config_writes_json_lines_on_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        logging.config.dictConfig(logging_config("json"))
        logging.getLogger("gateway.requests").info("request", extra={"status": 200})
        logging.getLogger("uvicorn.access").info("an access line the gateway replaces")
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
    (line,) = capsys.readouterr().out.splitlines()
    assert json.loads(line)["status"] == 200


def test_graphql_errors_are_logged_by_kind(caplog: pytest.LogCaptureFixture) -> None:
    try:
        raise KeyError("a bug")
    except KeyError as bug:
        unexpected = GraphQLError("a bug", path=["meetings", 0, "title"], original_error=bug)
    bad_input = GraphQLError("`first` must be between 1 and 100", path=["meetings"])
    bad_input.original_error = BadUserInput("`first` must be between 1 and 100")
    upstream = GraphQLError("DAILY: timeout", path=["meetings"])
    upstream.original_error = UpstreamTimeout(Source.DAILY, "no answer within 5 s")
    with caplog.at_level(logging.INFO, logger="gateway"):
        log_errors([unexpected, bad_input, upstream, GraphQLError("Syntax Error: Expected Name")])
    lines = [json.loads(JsonFormatter().format(record)) for record in caplog.records]
    bug_line, input_line, syntax_line = lines  # the upstream failure was logged where it failed
    assert (bug_line["level"], bug_line["message"]) == (
        "ERROR",
        "unexpected error at meetings.0.title",
    )
    assert "KeyError: 'a bug'" in bug_line["traceback"]
    assert (input_line["level"], input_line["code"]) == ("INFO", "BAD_USER_INPUT")
    assert syntax_line["code"] == "GRAPHQL_PARSE_FAILED"
    assert "traceback" not in input_line
    assert "traceback" not in syntax_line
