"""The whole-response cache: an identical operation is answered before GraphQL runs.

An ASGI middleware in front of `/graphql`. The key is the operation (document, variables,
operation name) *and* the credential scope: the upstream credentials this deployment uses
plus the caller's own `Authorization` header, so two tenants never share an answer. Only
answers without errors, built from fresh upstream data, are kept, and never longer than the
shortest fresh TTL of the sources they used; an answer with live state (`sources` health)
is never kept. `extensions.responseCache.hit` tells which.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

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
from gateway.model import Source
from gateway.usage import Usage

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MAX_CACHEABLE_REQUEST = 64 * 1024  # bigger operations are executed, never cached
_HIT_EXTENSIONS = json.dumps(
    {"upstream": usage_extension(Usage()), "responseCache": {"hit": True}}, separators=(",", ":")
).encode()


class WholeResponseCache:
    def __init__(self, app: ASGIApp, *, path: str, settings: Settings) -> None:
        self.app = app
        self.path = path
        self.settings = settings
        enabled = [s for s in Source if settings.source(s).enabled]
        # The deployment's own credentials are part of every key: replicas configured for
        # another tenant, sharing the same Redis, never see these answers.
        self._deployment = fingerprint(*(_credential(settings, s) for s in enabled))
        self._default_ttl = min((settings.source(s).cache_ttl for s in enabled), default=0.0)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not (_is_json_post(scope) and scope["path"] == self.path):
            await self.app(scope, receive, send)  # GraphQL answers (or refuses) the rest
            return
        body, complete = await _read_body(receive)
        replay = _replaying(body, complete, receive)
        store: ByteStore | None = getattr(scope["app"].state, "store", None)
        found = self._key(scope, body) if complete and store is not None else None
        if store is None or found is None:
            await self.app(scope, replay, send)
            return
        key, name = found
        stored = await store.read(key)
        if stored is not None:
            # Not parsed here: the operation is known by the name the request gives.
            scope[OPERATION_SCOPE_KEY] = Operation(operation_name(name), "ok")
            await _send_json(send, stored[:-1] + b',"extensions":' + _HIT_EXTENSIONS + b"}")
            return
        response = _Recorder(send)
        await self.app(scope, replay, response.send)
        ttl = 0.0 if scope.get(LIVE_SCOPE_KEY) else self._ttl(scope.get(USAGE_SCOPE_KEY))
        keep = response.cacheable_body() if ttl > 0 else None
        if keep is not None:
            await store.write(key, keep, ttl)

    def _key(self, scope: Scope, body: bytes) -> tuple[str, object] | None:
        """The operation's key, and the operation name the request gives."""
        try:
            payload = json.loads(body)
        except (ValueError, RecursionError):
            return None  # not for us to judge: GraphQL answers it
        if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
            return None
        operation = json.dumps(
            [payload["query"], payload.get("variables"), payload.get("operationName")],
            sort_keys=True,
            separators=(",", ":"),
        )
        caller = next((v for k, v in scope["headers"] if k == b"authorization"), b"")
        digest = hashlib.sha256(f"{self._deployment}\x00".encode() + caller + b"\x00")
        digest.update(operation.encode())
        return f"{KEY_PREFIX}response:{digest.hexdigest()}", payload.get("operationName")

    def _ttl(self, usage: Usage | None) -> float:
        """The shortest fresh TTL of the sources used; 0 (do not keep) for stale answers."""
        if usage is None or usage.stale_hits:
            return 0.0
        if not usage.sources:
            return self._default_ttl
        return min(self.settings.source(s).cache_ttl for s in usage.sources)


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


async def _send_json(send: Send, body: bytes) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})
