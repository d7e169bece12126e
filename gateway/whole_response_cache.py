"""The whole-response cache: an identical operation is answered before GraphQL runs.

An ASGI middleware in front of `/graphql`, behind the client gate. The key is the operation
(document, or the hash an automatic persisted query names it by; variables; operation name)
*and* the credential scope: the upstream credentials this deployment uses plus the caller:
its verified identity when client authentication is on, else its own `Authorization`
header, so two tenants never share an answer. Only answers without errors, built from fresh
upstream data, are kept, and only while the first upstream answer they used stays fresh; an
answer with live state (`sources` health) is never kept. `extensions.responseCache.hit`
tells which; a hit's `Cache-Control` gives what remains of its freshness.
"""

from __future__ import annotations

import functools
import hashlib
import json
import time
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any

from gateway.access.gate import CLIENT_SCOPE_KEY
from gateway.api.persisted import PersistedQueryError, requested_hash
from gateway.api.usage import (
    LIVE_SCOPE_KEY,
    OPERATION_SCOPE_KEY,
    USAGE_SCOPE_KEY,
    Operation,
    operation_name,
    usage_extension,
)
from gateway.cache.backends import ByteStore
from gateway.cache.entries import KEY_PREFIX, fingerprint
from gateway.config import Settings
from gateway.graphql_http import (
    cache_headers,
    fresh_for,
    freshness_without_upstream,
    is_credentialed,
)
from gateway.model import Source
from gateway.usage import Usage

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MAX_CACHEABLE_REQUEST = 64 * 1024  # bigger operations are executed, never cached
# Request bodies whose parsing is remembered (the same few operations come again and again):
# at most 256 of up to 16 KiB each, with their operation's canonical text: 12 MiB at worst.
REMEMBERED_BODIES = 256
REMEMBERED_BODY_BYTES = 16 * 1024
# What a hit adds to its stored answer, whose closing brace it replaces.
_HIT_TAIL = (
    b',"extensions":'
    + json.dumps(
        {"upstream": usage_extension(Usage()), "responseCache": {"hit": True}},
        separators=(",", ":"),
    ).encode()
    + b"}"
)


class WholeResponseCache:
    def __init__(
        self, app: ASGIApp, *, path: str, settings: Settings, allow_list: str = ""
    ) -> None:
        self.app = app
        self.path = path
        self.settings = settings
        enabled = [s for s in Source if settings.source(s).enabled]
        # The deployment's own credentials are part of every key: replicas configured for
        # another tenant, sharing the same Redis, never see these answers. So is the
        # allow-list of persisted documents in force: one never answers for another.
        deployment = fingerprint(*(_credential(settings, s) for s in enabled), allow_list)
        self._key_prefix = f"{deployment}\x00".encode()
        self._default_ttl = freshness_without_upstream(settings)
        # A client's new token finds the answers its old one got (same identity).
        self._by_identity = settings.auth.enabled

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not (scope["type"] == "http" and scope["path"] == self.path and _is_json_post(scope)):
            await self.app(scope, receive, send)  # GraphQL answers (or refuses) the rest
            return
        body, complete = await _read_body(receive)
        store: ByteStore | None = getattr(scope["app"].state, "store", None)
        found = self._key(scope, body) if complete and store is not None else None
        if store is None or found is None:
            await self.app(scope, _replaying(body, complete, receive), send)
            return
        key, operation = found
        now = time.time()
        stored = _Stored.decode(await store.read(key))
        if stored is not None and stored.fresh_until > now:
            scope[OPERATION_SCOPE_KEY] = operation
            credentialed = is_credentialed(scope["headers"])
            headers = cache_headers(stored.fresh_until - now, credentialed=credentialed)
            await _send_json(send, b"".join((stored.body[:-1], _HIT_TAIL)), headers)
            return
        response = _Recorder(send)
        await self.app(scope, _replaying(body, complete, receive), response.send)
        ttl = fresh_for(
            scope.get(USAGE_SCOPE_KEY),
            live=scope.get(LIVE_SCOPE_KEY, False),
            default_s=self._default_ttl,
            now=now,
        )
        keep = response.cacheable_body() if ttl > 0 else None
        if keep is not None:
            await store.write(key, _Stored(now + ttl, keep).encode(), ttl)

    def _key(self, scope: Scope, body: bytes) -> tuple[str, Operation] | None:
        """The operation's key, and the operation a hit tells the metrics and logs."""
        parsed = _parsed(body)
        if parsed is None:
            return None
        if self._by_identity:
            caller = scope[CLIENT_SCOPE_KEY].encode()
        else:
            caller = next((v for k, v in scope["headers"] if k == b"authorization"), b"")
        digest = hashlib.sha256(self._key_prefix + caller + b"\x00" + parsed.operation)
        return f"{KEY_PREFIX}response:{digest.hexdigest()}", parsed.hit


@dataclass(frozen=True, slots=True)
class _Parsed:
    """What the key needs of a request body: its operation (document or persisted hash,
    variables, operation name) as canonical JSON, and the operation a hit reports."""

    operation: bytes
    hit: Operation


def _parsed(body: bytes) -> _Parsed | None:
    """The body's operation; None when it is not for the cache (GraphQL answers it)."""
    if len(body) > REMEMBERED_BODY_BYTES:
        return _parse(body)
    return _remembered_parse(body)


def _parse(body: bytes) -> _Parsed | None:
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):
        return None  # not for us to judge: GraphQL answers it
    if not isinstance(payload, dict):
        return None
    document = payload.get("query")
    persisted = _persisted_hash(payload.get("extensions"))
    if isinstance(document, str) and persisted is not None:
        return None  # registers a document (rare): GraphQL checks its hash and keeps it
    if not isinstance(document, str):
        if persisted is None:
            return None
        document = persisted
    name = payload.get("operationName")
    operation = json.dumps(
        [document, payload.get("variables"), name], sort_keys=True, separators=(",", ":")
    )
    # Not parsed as GraphQL: a hit's operation is known by the name the request gives.
    return _Parsed(operation.encode(), Operation(operation_name(name), "ok"))


# A pure function of the body's bytes (its results are immutable): parsing the JSON and
# writing it again in canonical form was most of a hit's own work.
_remembered_parse = functools.lru_cache(maxsize=REMEMBERED_BODIES)(_parse)


def _persisted_hash(extensions: Any) -> str | None:
    """What a persisted query names its document by (never the text itself, so never the
    key of an answer to the text)."""
    try:
        digest = requested_hash(extensions) if isinstance(extensions, dict) else None
    except PersistedQueryError:
        return None  # not for us to judge: GraphQL refuses it
    return None if digest is None else f"sha256:{digest}"


def _is_json_post(scope: Scope) -> bool:
    if scope["type"] != "http" or scope["method"] != "POST":
        return False
    content_type = next((v for k, v in scope["headers"] if k == b"content-type"), b"")
    return content_type.split(b";")[0].strip().lower() == b"application/json"


def _credential(settings: Settings, source: Source) -> str:
    config = settings.source(source)
    secret = config.api_key.get_secret_value() if config.api_key else ""
    return f"{source.value}={config.base_url}={secret}"


class _Recorder:
    """Passes the response through and keeps a copy of it."""

    def __init__(self, send: Send) -> None:
        self._send = send
        self.status = 0
        self.json = False
        self.chunks: list[bytes] = []

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.json = any(
                k == b"content-type" and v.startswith(b"application/json")
                for k, v in message.get("headers", ())
            )
        elif message["type"] == "http.response.body":
            self.chunks.append(message.get("body", b""))
        await self._send(message)

    def cacheable_body(self) -> bytes | None:
        """The answer without its `extensions`, if it is a 200 with data and no errors."""
        if self.status != 200 or not self.json:
            return None
        try:
            answer = json.loads(b"".join(self.chunks))
        except ValueError:
            return None
        if not isinstance(answer, dict) or "errors" in answer or answer.get("data") is None:
            return None
        return json.dumps({"data": answer["data"]}, separators=(",", ":")).encode()


async def _read_body(receive: Receive) -> tuple[bytes, bool]:
    """Up to MAX_CACHEABLE_REQUEST bytes of the body; True when that is all of it."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), False  # disconnected: let the app see it
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), True
        if size > MAX_CACHEABLE_REQUEST:
            return b"".join(chunks), False


def _replaying(body: bytes, complete: bool, receive: Receive) -> Receive:
    """A `receive` that hands the app what was read, then whatever follows."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": not complete}

    return replay


@dataclass(frozen=True, slots=True)
class _Stored:
    """A kept answer and until when it is fresh (wall clock: replicas share Redis)."""

    fresh_until: float
    body: bytes | memoryview  # decoded: a view into the stored bytes, not a copy

    def encode(self) -> bytes:
        return b"%.3f\n" % self.fresh_until + self.body

    @classmethod
    def decode(cls, data: bytes | None) -> _Stored | None:
        newline = data.find(b"\n") if data else -1
        if data is None or newline < 0 or newline == len(data) - 1:
            return None  # absent, or not an entry of ours
        try:
            return cls(float(data[:newline]), memoryview(data)[newline + 1 :])
        except ValueError:
            return None


async def _send_json(send: Send, body: bytes, extra: Sequence[tuple[bytes, bytes]]) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    headers += extra
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})
