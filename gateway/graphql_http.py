"""The HTTP rules of `/graphql` beyond strawberry's view: which other origins may read its
answers (CORS), which GET requests run, and what caches may keep (Cache-Control)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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


class Cors(CORSMiddleware):
    """Starlette's CORS middleware, configured the same way and answering preflights itself;
    an ordinary answer gets the very headers Starlette's would give it, written into its raw
    header list in one pass. (Starlette parses every answer's headers into `MutableHeaders`
    to set them one by one: 5 µs a request against 2 here, where a whole-response cache hit
    takes 10.)"""

    def __init__(
        self,
        app: ASGIApp,
        *,
        allow_origins: Sequence[str],
        allow_methods: Sequence[str],
        allow_headers: Sequence[str],
        allow_credentials: bool,
    ) -> None:
        super().__init__(
            app,
            allow_origins=allow_origins,
            allow_methods=allow_methods,
            allow_headers=allow_headers,
            allow_credentials=allow_credentials,
        )
        self._simple = {
            name.lower().encode("latin-1"): value.encode("latin-1")
            for name, value in self.simple_headers.items()
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        origin = next((v for k, v in scope["headers"] if k == b"origin"), None)
        if origin is not None and scope["method"] == "OPTIONS":
            await super().__call__(scope, receive, send)  # a preflight, if Starlette says so
            return
        added = self._answer_headers(origin)

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = _with_cors(message.get("headers", ()), added)
            await send(message)

        await self.app(scope, receive, send_with_cors)

    def _answer_headers(self, origin: bytes | None) -> Mapping[bytes, bytes]:
        """What an answer to `origin` gets besides `Vary: Origin` (which every answer gets):
        the configured headers and, if the origin may read it, the origin itself."""
        if origin is None:
            return {}
        explicit = (
            self.allow_credentials
            if self.allow_all_origins
            else self.is_allowed_origin(origin.decode("latin-1"))
        )
        if not explicit:
            return self._simple
        return {**self._simple, b"access-control-allow-origin": origin}


def _with_cors(
    headers: Iterable[tuple[bytes, bytes]], added: Mapping[bytes, bytes]
) -> list[tuple[bytes, bytes]]:
    """`headers` with each of `added` set where it first was (its other entries dropped),
    else at the end, and `Vary` extended by `Origin` the same way: as Starlette leaves them."""
    result: list[tuple[bytes, bytes]] = []
    vary: list[bytes] = []
    vary_at = 0
    done: set[bytes] = set()
    for name, value in headers:
        if name == b"vary":
            if not vary:
                vary_at = len(result)
                result.append((name, value))
            vary.append(value)
        elif name not in added:
            result.append((name, value))
        elif name not in done:
            done.add(name)
            result.append((name, added[name]))
    result += [(name, value) for name, value in added.items() if name not in done]
    joined = (b"vary", b", ".join([*vary, b"Origin"]))
    if vary:
        result[vary_at] = joined
    else:
        result.append(joined)
    return result
