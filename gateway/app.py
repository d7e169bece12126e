"""The FastAPI application: `/graphql` (with a self-hosted GraphiQL), `/healthz`, `/readyz`,
`/metrics`.

I/O objects (the one aiohttp session, the sources) are built in the lifespan, never at
import time, so importing the app is free and every app instance owns its connections.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping, MutableMapping, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import aiohttp
import orjson
from cross_web import AsyncHTTPRequestAdapter
from cross_web import HTTPException as RequestRefused
from fastapi import FastAPI, HTTPException, Request, Response, WebSocket
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse
from fastapi.telemetry import TelemetryConfig
from graphql import GraphQLError
from opentelemetry.trace import TracerProvider
from strawberry.fastapi import GraphQLRouter
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.types import ExecutionResult
from strawberry.types.unset import UNSET

from gateway.access.auth import Authenticator
from gateway.access.gate import ClientGate
from gateway.access.limit import client_limiter
from gateway.api.context import Context
from gateway.api.errors import add_codes
from gateway.api.graphiql import GRAPHIQL_CSP, graphiql_html, mount_graphiql_assets
from gateway.api.persisted import (
    PersistedQueries,
    PersistedQueryError,
    allow_list_fingerprint,
    load_manifest,
)
from gateway.api.schema import build_schema
from gateway.api.usage import LIVE_SCOPE_KEY, USAGE_SCOPE_KEY
from gateway.cache.backends import ByteStore, create_backend, redis_client
from gateway.cache.flights import RedisLeases
from gateway.cache.upstream import UpstreamCache
from gateway.collector import tuned_collector
from gateway.config import Settings
from gateway.core.gateway import Gateway
from gateway.graphql_http import (
    CORS_HEADERS,
    CORS_METHODS,
    NO_STORE,
    cache_headers,
    fresh_for,
    freshness_without_upstream,
    get_refusal,
    is_credentialed,
)
from gateway.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from gateway.metrics import Metrics
from gateway.model import Source
from gateway.ratelimit import MemoryRateLimiter, RedisRateLimiter
from gateway.readiness import readiness
from gateway.request_observer import RequestObserver
from gateway.sources.registry import build_sources
from gateway.tracing import Tracing
from gateway.whole_response_cache import WholeResponseCache

log = logging.getLogger(__name__)

GRAPHQL_PATH = "/graphql"
ASSETS_PATH = "/graphiql-assets"
OPEN_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})  # never behind authentication
MAX_UPSTREAM_CONNECTIONS = 100
# The gateway reports for itself (`gateway.tracing`, `gateway.metrics`, the request log):
# FastAPI's own OpenTelemetry would only ask the global providers, on every request, whether
# anyone listens (2 µs, a fifth of a whole-response cache hit's time in process).
NO_NATIVE_TELEMETRY: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}

EXAMPLE_QUERY = """\
# Upcoming meetings of every source, merged and ordered by start time.
# Try: orderBy: {field: START_TIME, direction: ASC}, filter: {status: [CONFIRMED]},
# paging with `after: <endCursor>`, or `sources { source state message }` below.
query UpcomingMeetings {
  meetings(first: 10, filter: {upcoming: true}, orderBy: {direction: ASC}) {
    totalCount
    edges {
      node {
        id
        source
        title
        status
        startTime
        platform
        attendees { name email isOrganizer }
        bots { botId status scheduledJoinTime }
      }
    }
    pageInfo { hasNextPage endCursor }
    sources { source state latencyMs message }
  }
}
"""


class GatewayGraphQLRouter(GraphQLRouter[Context, None]):
    """Strawberry's router, with our GraphiQL page, a stricter request body parser,
    persisted queries (also over GET) and a `Cache-Control` on every answer."""

    def __init__(self, *args: Any, fresh_without_upstream: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fresh_without_upstream = fresh_without_upstream

    async def run(  # type: ignore[override]  # strawberry overloads it per request kind
        self, request: Request | WebSocket, context: Any = UNSET, root_value: Any = UNSET
    ) -> Response | WebSocket:
        """Requests refused before or instead of running are answered `no-store`."""
        try:
            return await super().run(request, context=context, root_value=root_value)
        except RequestRefused as refused:
            headers = {"cache-control": NO_STORE}
            return PlainTextResponse(refused.reason, refused.status_code, headers=headers)
        except HTTPException as refused:
            refused.headers = {**(refused.headers or {}), "cache-control": NO_STORE}
            raise

    def should_render_graphql_ide(self, request: Any) -> bool:
        # A GET naming a persisted query is an operation, whatever it accepts.
        return "extensions" not in request.query_params and super().should_render_graphql_ide(
            request
        )

    async def execute_single(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response,
        context: Context,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        if request_adapter.method == "GET":
            refusal = get_refusal(request.headers, request_data.extensions)
            if refusal is not None:
                raise RequestRefused(400, refusal)
        persisted: PersistedQueries = request.app.state.persisted
        try:
            query = await persisted.document(request_data.query, request_data.extensions)
        except PersistedQueryError as error:
            sub_response.status_code = error.status
            sub_response.headers["cache-control"] = NO_STORE
            return ExecutionResult(None, [GraphQLError(error.message, original_error=error)])
        if query is not request_data.query:
            request_data = dataclasses.replace(request_data, query=query)
        result = await super().execute_single(
            request, request_adapter, sub_response, context, root_value, request_data
        )
        if result.data is not None:
            await persisted.register(request_data.query, request_data.extensions)
        sub_response.raw_headers.extend(self._cache_headers(request.scope, result))
        return result

    def _cache_headers(
        self, scope: MutableMapping[str, Any], result: ExecutionResult
    ) -> Sequence[tuple[bytes, bytes]]:
        seconds = 0.0  # partial, refused or failed: never kept
        if not result.errors:
            seconds = fresh_for(
                scope.get(USAGE_SCOPE_KEY),
                live=scope.get(LIVE_SCOPE_KEY, False),
                default_s=self.fresh_without_upstream,
                now=time.time(),
            )
        return cache_headers(seconds, credentialed=is_credentialed(scope["headers"]))

    async def render_graphql_ide(self, request: Request) -> HTMLResponse:
        page = graphiql_html(
            endpoint=GRAPHQL_PATH, assets_url=ASSETS_PATH, default_query=EXAMPLE_QUERY
        )
        return HTMLResponse(page, headers={"Content-Security-Policy": GRAPHIQL_CSP})

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        if result.errors:
            add_codes(result.errors)
        return await super().process_result(request, result)

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)  # several times faster than json.dumps on large pages

    def decode_json(self, data: str | bytes) -> object:
        # Strawberry answers 500 to invalid UTF-8, a JSON body that is not an object, or
        # one nested deeper than the parser's recursion limit.
        try:
            decoded = json.loads(data)
        except UnicodeDecodeError:
            raise HTTPException(400, "The request body is not UTF-8.") from None
        except RecursionError:
            raise HTTPException(400, "The request body is nested too deeply.") from None
        if not isinstance(decoded, dict):
            raise HTTPException(400, "The request body must be a JSON object.")
        return decoded


def create_app(
    settings: Settings | None = None,
    *,
    clock: Callable[[], datetime] | None = None,
    tracer_provider: TracerProvider | None = None,
) -> FastAPI:
    """The app; `clock` fixes "now" (upcoming meetings, Salesloft's COMPLETED) in tests, a
    `tracer_provider` of the caller's switches tracing on with it (else the settings say)."""
    settings = settings or Settings()
    documents = settings.persisted.documents
    manifest = load_manifest(documents) if documents is not None else {}
    metrics = Metrics(s for s in Source if settings.source(s).enabled)
    tracing = Tracing.configure(settings.tracing, tracer_provider)
    metrics.upstream.tracer = tracing.tracer("gateway.sources")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        limits = settings.cache
        # One store for both caches: upstream answers and whole GraphQL responses.
        store = ByteStore(create_backend(limits.url, limits.max_entries, limits.max_bytes))
        # With Redis, replicas also share single-flight and the vendors' rate limits.
        redis = redis_client(limits.url)
        leases = None if redis is None else RedisLeases(redis)
        limiter = MemoryRateLimiter() if redis is None else RedisRateLimiter(redis)
        upstream_cache = UpstreamCache(
            store, leases=leases, decoded_max_bytes=limits.decoded_max_bytes
        )
        connector = aiohttp.TCPConnector(limit=MAX_UPSTREAM_CONNECTIONS)
        per_minute = settings.limits.client_requests_per_minute
        clients = None if per_minute is None else client_limiter(per_minute, redis, limits.url)
        warn_if_open(settings)
        traced = tracing.client_trace_configs()
        tracing.start()
        try:
            async with (
                aiohttp.ClientSession(connector=connector, trace_configs=traced) as session,
                Authenticator(settings.auth, session) as authenticator,
            ):
                sources = build_sources(
                    settings, session, upstream_cache, limiter=limiter, observer=metrics.upstream
                )
                metrics.watch_circuits({s: c.guard.breaker for s, c in sources.clients().items()})
                app.state.authenticator = authenticator
                app.state.client_limiter = clients
                app.state.redis = redis
                app.state.store = store
                app.state.persisted = PersistedQueries(store, settings.persisted, manifest)
                app.state.upstream_cache = upstream_cache
                app.state.gateway = Gateway(sources)
                with tuned_collector():
                    yield
        finally:
            if clients is not None:
                await clients.close()
            await upstream_cache.close()
            await limiter.close()
            await tracing.stop()

    async def context(request: Request) -> Context:
        gateway: Gateway = request.app.state.gateway
        return Context(gateway, now=clock() if clock else None)

    app = FastAPI(
        title="meetings-gateway",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        telemetry=NO_NATIVE_TELEMETRY,
    )
    schema = build_schema(
        settings.limits,
        tracer_provider=tracing.provider,
        resolver_spans=settings.tracing.resolver_spans,
    )
    router = GatewayGraphQLRouter(
        schema,
        context_getter=context,
        graphql_ide="graphiql" if settings.graphiql else None,
        allow_queries_via_get=True,  # persisted queries only, preflighted (`get_refusal`)
        fresh_without_upstream=freshness_without_upstream(settings),
    )
    app.include_router(router, prefix=GRAPHQL_PATH)
    mount_graphiql_assets(app, ASSETS_PATH)

    add_probes(app, metrics)
    add_middleware(app, settings, manifest, metrics, tracing)
    tracing.instrument(app)
    return app


def add_middleware(
    app: FastAPI,
    settings: Settings,
    manifest: Mapping[str, str],
    metrics: Metrics,
    tracing: Tracing,
) -> None:
    """The ASGI layers around the routes, innermost first (each added runs before the last)."""
    if settings.cache.responses:
        allow_list = allow_list_fingerprint(settings.persisted, manifest)
        app.add_middleware(
            WholeResponseCache, path=GRAPHQL_PATH, settings=settings, allow_list=allow_list
        )
    # Added after the caches, so it runs before them: nothing, not even a cached answer,
    # before the gate (only CORS is outside it: a preflight carries no credential).
    app.add_middleware(
        ClientGate,
        authenticate=settings.auth.enabled,
        per_minute=settings.limits.client_requests_per_minute,
        open_paths=OPEN_PATHS,
        open_prefixes=(ASSETS_PATH + "/",),
        graphiql_path=GRAPHQL_PATH if settings.graphiql else None,
    )
    if settings.cors.allow_origins:  # outside the gate: its refusals carry CORS headers too
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors.allow_origins,
            allow_methods=CORS_METHODS,
            allow_headers=CORS_HEADERS,
            allow_credentials=True,
        )

    # Outermost: it sees every answer, and its request id is in every line logged.
    app.add_middleware(
        RequestObserver,
        metrics=metrics,
        graphql_path=GRAPHQL_PATH,
        tracing=tracing.provider is not None,
    )


def add_probes(app: FastAPI, metrics: Metrics) -> None:
    """`/healthz` (liveness), `/readyz` (readiness) and `/metrics`, open to all."""

    @app.get("/healthz")
    async def healthz() -> dict[str, Any]:
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz(request: Request) -> JSONResponse:
        state = request.app.state
        ready, body = await readiness(state.gateway, state.redis)
        return JSONResponse(body, status_code=200 if ready else 503)

    @app.get("/metrics")
    async def prometheus_metrics() -> Response:
        return Response(metrics.render(), media_type=METRICS_CONTENT_TYPE)


def warn_if_open(settings: Settings) -> None:
    if not settings.auth.enabled:
        log.warning(
            "client authentication is off: anyone who reaches this gateway reads with its "
            "upstream credentials (set GATEWAY_AUTH__API_KEYS or GATEWAY_AUTH__JWKS_URL)"
        )
