"""The FastAPI application: `/graphql` (with a self-hosted GraphiQL), `/healthz`, `/metrics`.

I/O objects (the one aiohttp session, the sources) are built in the lifespan, never at
import time, so importing the app is free and every app instance owns its connections.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import aiohttp
import orjson
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from opentelemetry.trace import TracerProvider
from strawberry.fastapi import GraphQLRouter
from strawberry.http import GraphQLHTTPResponse
from strawberry.types import ExecutionResult

from gateway.api.context import Context
from gateway.api.errors import add_codes
from gateway.api.graphiql import GRAPHIQL_CSP, graphiql_html, mount_graphiql_assets
from gateway.api.schema import build_schema
from gateway.cache.backends import ByteStore, create_backend, redis_client
from gateway.cache.flights import RedisLeases
from gateway.cache.upstream import UpstreamCache
from gateway.config import Settings
from gateway.core.gateway import Gateway
from gateway.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from gateway.metrics import Metrics
from gateway.model import Source
from gateway.ratelimit import MemoryRateLimiter, RedisRateLimiter
from gateway.request_observer import RequestObserver
from gateway.sources.registry import build_sources
from gateway.tracing import Tracing
from gateway.whole_response_cache import WholeResponseCache

GRAPHQL_PATH = "/graphql"
ASSETS_PATH = "/graphiql-assets"
MAX_UPSTREAM_CONNECTIONS = 100

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
    """Strawberry's router, with our GraphiQL page and a stricter request body parser."""

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
        traced = tracing.client_trace_configs()
        tracing.start()
        try:
            async with aiohttp.ClientSession(connector=connector, trace_configs=traced) as session:
                sources = build_sources(
                    settings, session, upstream_cache, limiter=limiter, observer=metrics.upstream
                )
                metrics.watch_circuits({s: c.guard.breaker for s, c in sources.clients().items()})
                app.state.store = store
                app.state.upstream_cache = upstream_cache
                app.state.gateway = Gateway(sources)
                yield
        finally:
            await upstream_cache.close()
            await limiter.close()
            await tracing.stop()

    async def context(request: Request) -> Context:
        gateway: Gateway = request.app.state.gateway
        return Context(gateway, now=clock() if clock else None)

    app = FastAPI(title="meetings-gateway", lifespan=lifespan, docs_url=None, redoc_url=None)
    schema = build_schema(
        settings.limits,
        tracer_provider=tracing.provider,
        resolver_spans=settings.tracing.resolver_spans,
    )
    router = GatewayGraphQLRouter(
        schema,
        context_getter=context,
        graphql_ide="graphiql" if settings.graphiql else None,
        allow_queries_via_get=False,
    )
    app.include_router(router, prefix=GRAPHQL_PATH)
    mount_graphiql_assets(app, ASSETS_PATH)
    if settings.cache.responses:
        app.add_middleware(WholeResponseCache, path=GRAPHQL_PATH, settings=settings)

    @app.get("/healthz")
    async def healthz() -> dict[str, Any]:
        return {"status": "ok"}

    @app.get("/metrics")
    async def prometheus_metrics() -> Response:
        return Response(metrics.render(), media_type=METRICS_CONTENT_TYPE)

    # Outermost: it sees every answer, and its request id is in every line logged.
    app.add_middleware(
        RequestObserver,
        metrics=metrics,
        graphql_path=GRAPHQL_PATH,
        tracing=tracing.provider is not None,
    )
    tracing.instrument(app)
    return app
