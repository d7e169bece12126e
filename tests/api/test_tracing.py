"""OpenTelemetry spans, read from the SDK's in-memory exporter: the HTTP request, the GraphQL
operation, one span per upstream request with its source and cache outcome, and the aiohttp
client span of each request sent; no credential in any attribute. Off, nothing is traced."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import aiohttp
import pytest
from aiohttp import web
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from gateway.api.schema import build_schema
from gateway.api.tracing import OperationSpans, ResolverSpans
from gateway.app import create_app
from gateway.config import Settings, TracingSettings
from gateway.simulators.cluster import Simulators
from gateway.tracing import tracing_wanted
from tests.conftest import REFERENCE_NOW
from tests.serving import serving

UPCOMING = "query Upcoming { meetings(first: 5) { edges { node { title bots { botId } } } } }"
ASKED = {"leezy", "salesloft", "daily", "meetstream"}  # what UPCOMING reads
CLIENT_TOKEN = "client-token-0123456789abcdef"


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    yield exporter
    exporter.shutdown()


@asynccontextmanager
async def traced_gateway(settings: Settings, exporter: InMemorySpanExporter) -> AsyncIterator[str]:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    app = create_app(settings, clock=lambda: REFERENCE_NOW, tracer_provider=provider)
    async with serving(app) as url:
        yield url + "/graphql"


CLIENT_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"  # a trace the client started


async def post(http: aiohttp.ClientSession, url: str, query: str) -> None:
    headers = {
        "Authorization": f"Bearer {CLIENT_TOKEN}",
        "traceparent": f"00-{CLIENT_TRACE}-00f067aa0ba902b7-01",
    }
    async with http.post(url, json={"query": query}, headers=headers) as response:
        assert response.status == 200
        assert "errors" not in await response.json()


def ancestors(span: ReadableSpan, spans: list[ReadableSpan]) -> list[str]:
    by_id = {s.context.span_id: s for s in spans}
    names = []
    while span.parent is not None and span.parent.span_id in by_id:
        span = by_id[span.parent.span_id]
        names.append(span.name)
    return names


async def test_a_query_traces_its_operation_and_each_upstream_request(
    settings: Settings,
    simulators: Simulators,
    exporter: InMemorySpanExporter,
    http: aiohttp.ClientSession,
) -> None:
    async with traced_gateway(settings, exporter) as url:
        await post(http, url, UPCOMING)
        first = list(exporter.get_finished_spans())
        exporter.clear()
        # Another page of the same listings: every upstream answer is a cache hit.
        await post(http, url, UPCOMING.replace("first: 5", "first: 4"))
        second = list(exporter.get_finished_spans())

    (operation,) = [s for s in first if s.name == "GraphQL Query: Upcoming"]
    (server,) = [s for s in first if s.kind is SpanKind.SERVER and s.name.startswith("POST")]
    assert operation.parent is not None
    assert operation.parent.span_id == server.context.span_id
    # Every span is in the client's trace.
    assert {span.context.trace_id for span in first} == {int(CLIENT_TRACE, 16)}
    upstream = [s for s in first if s.name.startswith("upstream ")]
    sent = sum(len(simulator.requests) for simulator in simulators)
    assert len(upstream) == sent  # the cache was cold: one span per request sent
    for span in upstream:
        attributes = dict(span.attributes or {})
        assert span.name == f"upstream {attributes['source']}"
        assert attributes["cache.outcome"] == "miss"
        assert ancestors(span, first)[:1] == ["GraphQL Query: Upcoming"]
    assert {dict(s.attributes or {})["source"] for s in upstream} == ASKED
    # aiohttp's client span of each request sent, inside its upstream span.
    clients = [s for s in first if s.kind is SpanKind.CLIENT]
    assert len(clients) == sent
    assert all(ancestors(s, first)[0].startswith("upstream ") for s in clients)
    # No span per field resolver (tracing stays cheap).
    assert not [s for s in first if s.name.startswith("GraphQL Resolving")]

    outcomes = {
        dict(s.attributes or {})["cache.outcome"] for s in second if s.name.startswith("upstream ")
    }
    assert outcomes == {"hit"}
    assert not [s for s in second if s.kind is SpanKind.CLIENT]  # nothing was sent

    secrets = [*(simulator.api_key for simulator in simulators), CLIENT_TOKEN, "Bearer"]
    for span in first + second:
        events = [dict(event.attributes or {}) for event in span.events]
        text = repr((span.name, dict(span.attributes or {}), events))
        assert not [secret for secret in secrets if secret in text], span.name


async def test_resolver_spans_only_when_asked(
    settings: Settings, exporter: InMemorySpanExporter, http: aiohttp.ClientSession
) -> None:
    asked = settings.model_copy(update={"tracing": TracingSettings(resolver_spans=True)})
    async with traced_gateway(asked, exporter) as url:
        await post(http, url, UPCOMING)
    resolving = {s.name for s in exporter.get_finished_spans() if "Resolving" in s.name}
    assert "GraphQL Resolving: meetings" in resolving


async def test_with_an_otlp_endpoint_the_spans_are_exported_to_it(
    settings: Settings, http: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    received: list[ExportTraceServiceRequest] = []

    async def collect(request: web.Request) -> web.Response:
        received.append(ExportTraceServiceRequest.FromString(await request.read()))
        return web.Response(status=200)

    collector = web.Application()
    collector.router.add_post("/v1/traces", collect)
    runner = web.AppRunner(collector, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{port}")
    monkeypatch.delenv("OTEL_SERVICE_NAME", raising=False)
    try:
        async with serving(create_app(settings, clock=lambda: REFERENCE_NOW)) as url:
            await post(http, url + "/graphql", UPCOMING)
        # The app stopped: what its exporter still held was sent.
    finally:
        await runner.cleanup()
    spans = {
        span.name: {a.key: a.value.string_value for a in span.attributes}
        for batch in received
        for resource_spans in batch.resource_spans
        for scope_spans in resource_spans.scope_spans
        for span in scope_spans.spans
    }
    assert "GraphQL Query: Upcoming" in spans
    assert spans["upstream daily"]["source"] == "daily"
    services = {
        a.value.string_value
        for batch in received
        for resource_spans in batch.resource_spans
        for a in resource_spans.resource.attributes
        if a.key == "service.name"
    }
    assert services == {"meetings-gateway"}


def test_off_nothing_of_tracing_is_installed(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    instrumented = "_is_instrumented_by_opentelemetry"  # what FastAPIInstrumentor marks
    assert not getattr(create_app(settings), instrumented, False)
    assert getattr(create_app(settings, tracer_provider=TracerProvider()), instrumented, False)


def test_the_schema_has_no_tracing_extension_unless_tracing_is_on() -> None:
    def kinds(extensions: object) -> set[type]:
        assert isinstance(extensions, list | tuple)
        return {type(factory()) for factory in extensions}  # factories, as strawberry takes them

    assert not kinds(build_schema().extensions) & {OperationSpans, ResolverSpans}
    traced = build_schema(tracer_provider=TracerProvider())
    assert OperationSpans in kinds(traced.extensions)
    # What makes it cheap: strawberry calls an extension on every field only when it resolves.
    assert not OperationSpans._implements_resolve()
    assert ResolverSpans._implements_resolve()


@pytest.mark.parametrize(
    ("enabled", "environ", "wanted"),
    [
        (None, {}, False),
        (None, {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, True),
        (None, {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, True),
        (False, {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, False),
        (True, {}, True),
        (True, {"OTEL_SDK_DISABLED": "true"}, False),
    ],
)
def test_tracing_is_on_with_an_otlp_endpoint_or_when_enabled(
    enabled: bool | None, environ: dict[str, str], wanted: bool
) -> None:
    assert tracing_wanted(TracingSettings(enabled=enabled), environ) is wanted
