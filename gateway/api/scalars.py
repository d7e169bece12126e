"""Custom scalars: a strict DateTime (offset required, output in UTC) and JSON."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import strawberry

MAX_DATETIME_LENGTH = 64


def parse_datetime(value: object) -> datetime:
    """ISO 8601 with an offset; the message is what the client reads."""
    example = "e.g. 2026-03-10T14:00:00Z"
    if not isinstance(value, str) or len(value) > MAX_DATETIME_LENGTH:
        raise ValueError(f"DateTime must be an ISO 8601 string with an offset, {example}.")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"'{value}' is not an ISO 8601 date-time ({example}).") from None
    if parsed.tzinfo is None:
        raise ValueError(f"'{value}' has no timezone offset: add Z or +hh:mm ({example}).")
    return parsed.astimezone(UTC)


def serialize_datetime(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


DateTime = strawberry.scalar(
    name="DateTime",
    description="An instant, as an RFC 3339 date-time: `2026-03-10T14:00:00Z`. Output is "
    "always UTC (`Z`, with fractions of a second only when there are any). Input must "
    "carry an offset (`Z` or `+01:00`); other ISO 8601 forms with an offset are accepted too.",
    specified_by_url="https://www.rfc-editor.org/rfc/rfc3339",
    serialize=serialize_datetime,
    parse_value=parse_datetime,
)

SCALARS: dict[object, Any] = {datetime: DateTime}
