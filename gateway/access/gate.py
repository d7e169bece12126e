"""The door: who is asking (HTTP 401 when it cannot say) and whether it asked too often (429).

An ASGI middleware outside the whole-response cache, so a cached answer is never served to a
client that is not let in, and never counted against no one. It leaves the client's
identity in `scope["gateway.client"]` for what runs after it (the whole-response cache's
scope, the logs): `key:…` or `jwt:…` (see `access.auth`), or `ip:<address>` when
authentication is off or the request is one that is open to all. Open to all: health,
readiness and metrics, and the GraphiQL page with its assets (its Headers tab carries the
token for the queries it sends).

The I/O objects it calls (`authenticator`, `client_limiter` on `app.state`) are built in the
app's lifespan.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qs

import orjson

from gateway.access.auth import Authenticator
from gateway.access.limit import ClientLimiter
from gateway.errors import ClientRateLimited, Unauthenticated

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

CLIENT_SCOPE_KEY = "gateway.client"
REALM = "meetings-gateway"
# RFC 6750's b64token, one credential: anything else in the header is malformed.
_TOKEN_CHARS = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/=")
MAX_CREDENTIAL_BYTES = 8192
NO_CREDENTIAL = "Authentication required: send the header 'Authorization: Bearer <API key or JWT>'."
MALFORMED = "The Authorization header is malformed: expected 'Bearer <API key or JWT>'."


class ClientGate:
    def __init__(
        self,
        app: ASGIApp,
        *,
        authenticate: bool,
        per_minute: int | None,
        open_paths: frozenset[str],
        open_prefixes: tuple[str, ...],
        graphiql_path: str | None,
    ) -> None:
        self.app = app
        self.authenticate = authenticate
        self.per_minute = per_minute
        self.open_paths = open_paths
        self.open_prefixes = open_prefixes
        self.graphiql_path = graphiql_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        scope[CLIENT_SCOPE_KEY] = f"ip:{client[0]}" if client else "ip:unknown"
        if not (self.authenticate or self.per_minute) or self._is_open(scope):
            await self.app(scope, receive, send)
            return
        state = scope["app"].state
        try:
            if self.authenticate:
                authenticator: Authenticator = state.authenticator
                scope[CLIENT_SCOPE_KEY] = await authenticator.identify(_credential(scope))
            if self.per_minute:
                limiter: ClientLimiter = state.client_limiter
                wait = await limiter.hit(scope[CLIENT_SCOPE_KEY])
                if wait:
                    raise ClientRateLimited(
                        f"Too many requests: at most {self.per_minute} a minute per client; "
                        f"try again in {wait} s.",
                        retry_after_seconds=wait,
                    )
        except (Unauthenticated, ClientRateLimited) as refused:
            await _refuse(scope, send, refused)
            return
        await self.app(scope, receive, send)

    def _is_open(self, scope: Scope) -> bool:
        path: str = scope["path"]
        if path in self.open_paths or path.startswith(self.open_prefixes):
            return True
        # The GraphiQL page: what strawberry answers with it (a GET without `query` that
        # accepts HTML); a GET with a query, or naming a persisted one, is not it, whether
        # it is served or refused.
        if path != self.graphiql_path or scope.get("method") != "GET":
            return False
        params = parse_qs(scope["query_string"].decode("latin-1"))
        if "query" in params or "extensions" in params:
            return False
        accept = b",".join(v for k, v in scope["headers"] if k == b"accept")
        return b"text/html" in accept or b"*/*" in accept


def _credential(scope: Scope) -> str:
    """The bearer credential of the one Authorization header."""
    values: list[bytes] = [v for k, v in scope["headers"] if k == b"authorization"]
    if not values:
        raise Unauthenticated(NO_CREDENTIAL, error=None)
    if len(values) > 1 or len(values[0]) > MAX_CREDENTIAL_BYTES:
        raise Unauthenticated(MALFORMED, error="invalid_request")
    scheme, _, credential = values[0].strip().partition(b" ")
    credential = credential.strip()
    if scheme.lower() != b"bearer" or not credential or not _TOKEN_CHARS.issuperset(credential):
        raise Unauthenticated(MALFORMED, error="invalid_request")
    return credential.decode("ascii")


async def _refuse(scope: Scope, send: Send, refused: Unauthenticated | ClientRateLimited) -> None:
    if scope["type"] == "websocket":  # before the handshake: the server answers it 403
        await send({"type": "websocket.close", "code": 1008})
        return
    headers = [(b"content-type", b"application/json"), (b"cache-control", b"no-store")]
    if isinstance(refused, Unauthenticated):
        status = 401
        challenge = f'Bearer realm="{REALM}"'
        if refused.error is not None:
            challenge += f', error="{refused.error}", error_description="{refused.message}"'
        headers.append((b"www-authenticate", challenge.encode()))
    else:
        status = 429
        headers.append((b"retry-after", str(refused.retry_after_seconds).encode()))
    body = orjson.dumps(
        {"errors": [{"message": refused.message, "extensions": refused.extensions}]}
    )
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
