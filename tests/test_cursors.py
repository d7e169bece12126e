"""Keyset cursors: round trips, and a clear user error for anything not ours."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest

from gateway.cursors import decode_cursor, encode_cursor, query_fingerprint
from gateway.errors import BadUserInput
from gateway.model import Source
from gateway.query import MeetingFilter, Position

POSITION = Position(datetime(2026, 3, 10, 14, 0, tzinfo=UTC), Source.SALESLOFT, "40001211")
FINGERPRINT = query_fingerprint("meetings", MeetingFilter())


def forge(payload: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


def test_a_cursor_carries_its_position_and_hints() -> None:
    cursor = encode_cursor(POSITION, FINGERPRINT, {"salesloft:false": "|2"})
    assert decode_cursor(cursor, FINGERPRINT, argument="after") == (
        POSITION,
        {"salesloft:false": "|2"},
    )


def test_a_cursor_of_another_query_is_refused() -> None:
    cursor = encode_cursor(POSITION, FINGERPRINT, {})
    other = query_fingerprint("meetings", MeetingFilter(search="demo"))
    with pytest.raises(BadUserInput, match="another filter or order"):
        decode_cursor(cursor, other, argument="after")


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "%%%",
        "x" * 513,
        forge([1, 2]),
        forge({"v": "2026-03-10T14:00:00", "s": "salesloft", "i": "1", "q": FINGERPRINT}),  # naive
        forge({"v": None, "s": "zoom", "i": "1", "q": FINGERPRINT}),
        forge({"v": None, "s": "daily", "i": 7, "q": FINGERPRINT}),
        forge({"v": None, "s": "daily", "i": "1", "q": FINGERPRINT, "h": {"k": "v" * 60}}),
        forge(
            {"v": None, "s": "daily", "i": "1", "q": FINGERPRINT, "h": dict.fromkeys("abcde", "")}
        ),
    ],
)
def test_anything_else_is_the_clients_error(cursor: str) -> None:
    with pytest.raises(BadUserInput, match="`before` is not a valid cursor"):
        decode_cursor(cursor, FINGERPRINT, argument="before")
