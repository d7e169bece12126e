"""Opaque keyset cursors: a position in an order plus the query they belong to."""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import json
from collections.abc import Hashable, Mapping
from datetime import datetime
from typing import Any

import orjson

from gateway.errors import BadUserInput
from gateway.model import Source
from gateway.query import Position, canonical

MAX_CURSOR_LENGTH = 512
MAX_HINTS = 4
MAX_HINT_LENGTH = 48


@functools.lru_cache(maxsize=1024)  # asked for every page; its parts are frozen values
def query_fingerprint(*query: Hashable) -> str:
    """Identifies a query (its filter, order, kind...), so a cursor of another is refused."""
    canonical_form = json.dumps([canonical(part) for part in query], sort_keys=True)
    return hashlib.sha256(canonical_form.encode()).hexdigest()[:16]


def encode_cursor(position: Position, fingerprint: str, hints: Mapping[str, str]) -> str:
    payload = {
        "v": None if position.value is None else position.value.isoformat(),
        "s": position.source.value,
        "i": position.source_id,
        "q": fingerprint,
        "h": dict(hints),
    }
    return base64.urlsafe_b64encode(orjson.dumps(payload)).decode().rstrip("=")


def decode_cursor(
    cursor: str, fingerprint: str, *, argument: str
) -> tuple[Position, dict[str, str]]:
    """The position (and resume hints) in a cursor of this query; anything else is a
    BAD_USER_INPUT error."""
    payload = _payload(cursor)
    if payload is None:
        raise BadUserInput(f"`{argument}` is not a valid cursor: use a cursor from this field.")
    if payload["q"] != fingerprint:
        raise BadUserInput(
            f"`{argument}` is a cursor of another filter or order: start again from the first page."
        )
    return Position(payload["v"], payload["s"], payload["i"]), payload["h"]


def _payload(cursor: str) -> dict[str, Any] | None:
    if not cursor or len(cursor) > MAX_CURSOR_LENGTH:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        payload = json.loads(raw)
        value = payload["v"]
        return {
            "v": None if value is None else _aware(datetime.fromisoformat(value)),
            "s": Source(payload["s"]),
            "i": _text(payload["i"]),
            "q": _text(payload["q"]),
            "h": _hints(payload.get("h", {})),
        }
    except (binascii.Error, ValueError, TypeError, KeyError, UnicodeDecodeError):
        return None


def _hints(value: object) -> dict[str, str]:
    if not isinstance(value, dict) or len(value) > MAX_HINTS:
        raise TypeError("cursor hints are not a small object")
    hints = {_text(k): _text(v) for k, v in value.items()}
    if any(len(k) + len(v) > MAX_HINT_LENGTH for k, v in hints.items()):
        raise ValueError("cursor hint too long")
    return hints


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("naive time in cursor")
    return moment


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError("cursor part is not text")
    return value
