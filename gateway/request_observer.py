"""Each HTTP request seen from outside: its `X-Request-ID`, one log line, and the GraphQL
request metrics.

The outermost middleware, so it sees every answer (a whole-response cache hit, a request
refused before GraphQL). The request id is the client's `X-Request-ID` when it is a safe
token (at most 128 letters, digits and `._:-`), else a new one; it is answered in the same
header and set in `logs.REQUEST_ID` for every line logged while the request is served. The
client is `scope["gateway.client"]` (the identity the authentication gives), else its IP.
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from typing import Any

from opentelemetry import trace
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.access.gate import CLIENT_SCOPE_KEY
from gateway.api.usage import (
    OPERATION_SCOPE_KEY,
    UNKNOWN_OPERATION,
    USAGE_SCOPE_KEY,
    Operation,
    usage_extension,
)
from gateway.logs import REQUEST_ID
from gateway.metrics import Metrics
from gateway.usage import Usage

log = logging.getLogger("gateway.requests")

HEADER = b"x-request-id"
SAFE_REQUEST_ID = re.compile(rb"[A-Za-z0-9._:-]{1,128}")
UNLOGGED_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})  # probes and scrapes
NO_UPSTREAM = usage_extension(Usage())  # not executed (a cache hit, a refusal): all zeros


class RequestObserver:
    def __init__(
        self, app: ASGIApp, *, metrics: Metrics, graphql_path: str, tracing: bool = False
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.graphql_path = graphql_path
        self.tracing = tracing  # log lines then carry the trace id

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = _request_id(scope)
        header = (HEADER, request_id.encode())
        status = 500  # unless an answer starts

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message = {**message, "headers": [*message.get("headers", ()), header]}
            await send(message)

        token = REQUEST_ID.set(request_id)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            self._observed(scope, status, time.perf_counter() - started)
        # Reset only after a normal end: the server's line about an unexpected exception
        # (logged in this request's task, which ends with it) then names the request too.
        REQUEST_ID.reset(token)

    def _observed(self, scope: Scope, status: int, seconds: float) -> None:
        operation: Operation | None = scope.get(OPERATION_SCOPE_KEY)
        is_graphql = scope["path"] == self.graphql_path and scope["method"] == "POST"
        if is_graphql:
            if operation is None:  # turned away before GraphQL, or the document did not parse
                operation = Operation(UNKNOWN_OPERATION, "error" if status >= 500 else "refused")
            self.metrics.graphql_request(operation, seconds)
        if scope["path"] in UNLOGGED_PATHS or not log.isEnabledFor(logging.INFO):
            return
        fields: dict[str, Any] = {
            "client": _client(scope),
            "method": scope["method"],
            "path": scope["path"],
            "status": status,
            "duration_ms": round(seconds * 1000, 2),
        }
        if operation is not None:
            fields["operation"] = operation.name
            fields["outcome"] = operation.outcome
        if is_graphql:
            usage: Usage | None = scope.get(USAGE_SCOPE_KEY)
            fields["upstream"] = dict(NO_UPSTREAM) if usage is None else usage_extension(usage)
        if self.tracing:
            context = trace.get_current_span().get_span_context()
            if context.is_valid:
                fields["trace_id"] = format(context.trace_id, "032x")
        log.info("request", extra=fields)


def _request_id(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == HEADER and SAFE_REQUEST_ID.fullmatch(value):
            return str(value.decode("ascii"))
    return secrets.token_hex(16)


def _client(scope: Scope) -> str | None:
    identity = scope.get(CLIENT_SCOPE_KEY)
    if isinstance(identity, str):
        return identity
    client = scope.get("client")
    return None if client is None else str(client[0])
