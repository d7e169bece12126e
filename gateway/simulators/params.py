"""Parsing of raw query-string values. Each API decides what a bad value means for it."""

from __future__ import annotations

from datetime import UTC, datetime


class BadValue(ValueError):
    """A query parameter value that does not parse; `name` is the parameter."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"{name}: {message}")
        self.name = name
        self.message = message


def parse_int(name: str, raw: str) -> int:
    text = raw.strip()
    if not text or not text.lstrip("-").isdigit():
        raise BadValue(name, "must be an integer")
    return int(text)


def parse_bool(name: str, raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise BadValue(name, "must be true or false")


def parse_datetime(name: str, raw: str) -> datetime:
    """ISO 8601 with an offset or Z; a value without one is read as UTC, as the vendors do."""
    try:
        moment = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        raise BadValue(name, "must be an ISO 8601 date-time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def record_time(value: object) -> datetime | None:
    """A time field of a stored record, or None when absent or not a date-time string.

    Tolerant on purpose: a test may store a malformed record, which must still be served.
    """
    if not isinstance(value, str):
        return None
    try:
        return parse_datetime("record", value)
    except BadValue:
        return None
