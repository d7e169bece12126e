"""The HTTP rules of `/graphql` beyond strawberry's view: which other origins may read its
answers (CORS), which GET requests run, and what caches may keep (Cache-Control)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from gateway.api.persisted import EXTENSION
from gateway.config import Settings
from gateway.model import Source
from gateway.usage import Usage

# What a page of an allowed origin may send: credentials, JSON, and the headers Apollo
# clients add (APQ over GET, client awareness).
CORS_METHODS = ("GET", "POST")
CORS_HEADERS = (
    "Authorization",
    "Content-Type",
    "Apollo-Require-Preflight",
    "X-Apollo-Operation-Name",
    "Apollographql-Client-Name",
    "Apollographql-Client-Version",
)

NO_STORE = "no-store"
# An answer differs by credentials: a shared cache must never hand one caller's to another.
_VARY = (b"vary", b"Authorization, Cookie")
_NOT_KEPT = ((b"cache-control", NO_STORE.encode()), _VARY)

# A browser sends these without asking first (no CORS preflight), so any site could.
_SIMPLE_CONTENT_TYPES = frozenset(
    {"application/x-www-form-urlencoded", "multipart/form-data", "text/plain"}
)
_PREFLIGHT_HEADERS = ("apollo-require-preflight", "x-apollo-operation-name")


def get_refusal(headers: Mapping[str, str], extensions: Mapping[str, Any] | None) -> str | None:
    """Why a GET may not run (None: it may). GET runs persisted queries only, which caches
    and CDNs can keep, and, as Apollo Server's CSRF prevention, only what a browser would
    have preflighted: a non-simple `Content-Type` (Apollo Client sends `application/json`
    even on GET) or a non-empty `Apollo-Require-Preflight` / `X-Apollo-Operation-Name`."""
    content_type = headers.get("content-type", "").split(";")[0].strip().lower()
    preflighted = (content_type and content_type not in _SIMPLE_CONTENT_TYPES) or any(
        headers.get(name) for name in _PREFLIGHT_HEADERS
    )
    if not preflighted:
        return (
            "This GET request could come from any web page (CSRF): send it with a "
            "Content-Type such as application/json, or a non-empty Apollo-Require-Preflight "
            "or X-Apollo-Operation-Name header."
        )
    if not extensions or EXTENSION not in extensions:
        return (
            "GET runs persisted queries only (extensions.persistedQuery); "
            "POST the document as JSON instead."
        )
    return None


def is_credentialed(headers: Iterable[tuple[bytes, bytes]]) -> bool:
    """The request (its raw ASGI headers) carries credentials, so its answer may be its
    caller's alone."""
    return any(name in (b"authorization", b"cookie") for name, _ in headers)


def fresh_for(usage: Usage | None, *, live: bool, default_s: float, now: float) -> float:
    """Seconds an answer stays true: until the first upstream answer it used turns stale.
    0 for an answer built from stale data or showing live state; `default_s` for one that
    read no upstream (introspection, every source skipped)."""
    if usage is None or live or usage.stale_hits:
        return 0.0
    if usage.fresh_until is None:
        return 0.0 if usage.sources else default_s
    return max(0.0, usage.fresh_until - now)


def freshness_without_upstream(settings: Settings) -> float:
    """How long an answer that read no upstream is kept: the shortest fresh TTL of the
    enabled sources (what any of them would have been kept)."""
    enabled = [s for s in Source if settings.source(s).enabled]
    return min((settings.source(s).cache_ttl for s in enabled), default=0.0)


def cache_headers(seconds: float, *, credentialed: bool) -> Sequence[tuple[bytes, bytes]]:
    """Raw `Cache-Control` and `Vary` of an answer fresh for `seconds` (under a second: not
    to be kept)."""
    max_age = int(seconds)
    if max_age <= 0:
        return _NOT_KEPT
    scope = b"private" if credentialed else b"public"
    return ((b"cache-control", b"%s, max-age=%d" % (scope, max_age)), _VARY)
