"""What the upstream cache stores, and under which key.

An entry is the upstream's answer as received (status + body bytes), stored only after the
caller validated it. Bytes are immutable, so no two callers ever share a mutable object.
The key holds the source, a fingerprint of the credential and the normalized request.
"""

from __future__ import annotations

import enum
import functools
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlencode

KEY_PREFIX = "mg:v1:"  # bump when the stored format changes: old entries are then ignored


class Served(enum.Enum):
    """How one upstream request of a query was answered."""

    UPSTREAM = "upstream"  # this query made the request
    SHARED = "shared"  # joined an identical request already in flight (single-flight)
    FRESH = "fresh"  # a fresh cache entry
    STALE = "stale"  # a stale cache entry, refreshed in the background


@dataclass(frozen=True, slots=True)
class Entry:
    """An upstream answer as received: what the cache stores."""

    status: int
    body: bytes
    stored_at: float  # wall-clock seconds: replicas sharing Redis compare ages

    def encode(self) -> bytes:
        return f"{self.status} {self.stored_at!r}\n".encode() + self.body

    @classmethod
    def decode(cls, data: bytes) -> Entry | None:
        head, newline, body = data.partition(b"\n")
        status, _, stored_at = head.partition(b" ")
        try:
            return cls(int(status), body, float(stored_at)) if newline else None
        except ValueError:
            return None


@dataclass(frozen=True, slots=True)
class Freshness:
    fresh_s: float
    stale_s: float

    @property
    def keep_s(self) -> float:
        return self.fresh_s + self.stale_s


def request_key(scope: str, path: str, params: Sequence[tuple[str, str]]) -> str:
    """The key of one upstream request: `scope` (source + credential) + path + sorted query."""
    return _request_key(scope, path, tuple(params))


@functools.lru_cache(maxsize=4096)  # the same few requests are keyed again and again
def _request_key(scope: str, path: str, params: tuple[tuple[str, str], ...]) -> str:
    normalized = path + "?" + urlencode(sorted(params))
    return f"{KEY_PREFIX}{scope}:{hashlib.sha256(normalized.encode()).hexdigest()[:32]}"


def fingerprint(*parts: str) -> str:
    """A short hash that tells credentials apart without revealing them."""
    digest = hashlib.sha256("\x00".join(parts).encode())
    return digest.hexdigest()[:24]
