"""OpenTelemetry for one app: a server span per HTTP request (FastAPI instrumentation), the
GraphQL operation's spans (`api.tracing`), one span per upstream request with its `source`
and cache outcome (`sources.http`), and a client span per HTTP request sent upstream (aiohttp
instrumentation), exported over OTLP/HTTP.

On when `GATEWAY_TRACING__ENABLED` says so or, unset, when an OTLP endpoint is configured
(`OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`); the SDK reads the
other standard variables itself (`OTEL_SERVICE_NAME`, `OTEL_TRACES_SAMPLER`, headers...).
Off, nothing of it is installed (no span, no extension, no middleware) nor even imported:
the SDK, the exporter and the instrumentations are imported here only when tracing is on.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gateway.config import TracingSettings

if TYPE_CHECKING:
    import aiohttp
    from fastapi import FastAPI
    from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider
    from opentelemetry.trace import Tracer, TracerProvider

ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
DEFAULT_SERVICE_NAME = "meetings-gateway"


def tracing_wanted(settings: TracingSettings, environ: Mapping[str, str] = os.environ) -> bool:
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    if settings.enabled is not None:
        return settings.enabled
    return any(environ.get(name) for name in ENDPOINT_VARIABLES)


@dataclass(frozen=True)
class Tracing:
    """The tracing of one app: off (no provider), a provider of the caller's (tests bring
    one with an in-memory exporter), or one of its own that exports over OTLP."""

    provider: TracerProvider | None
    exporting: SdkTracerProvider | None = None  # its own: started and stopped in the lifespan

    @classmethod
    def configure(cls, settings: TracingSettings, provider: TracerProvider | None) -> Tracing:
        if provider is not None:
            return cls(provider)
        if tracing_wanted(settings):
            exporting = _exporting_provider()
            return cls(exporting, exporting)
        return cls(None)

    def tracer(self, name: str) -> Tracer | None:
        return None if self.provider is None else self.provider.get_tracer(name)

    def instrument(self, app: FastAPI) -> None:
        """A server span per request, around every middleware (the request log reads its
        trace id); without the per-message `http send`/`http receive` spans."""
        if self.provider is None:
            return
        from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

        FastAPIInstrumentor.instrument_app(
            app, tracer_provider=self.provider, exclude_spans=["receive", "send"]
        )

    def client_trace_configs(self) -> list[aiohttp.TraceConfig]:
        """A client span per upstream HTTP request (the `traceparent` header goes with it)."""
        if self.provider is None:
            return []
        from opentelemetry.instrumentation.aiohttp_client import create_trace_config

        return [create_trace_config(tracer_provider=self.provider)]

    def start(self) -> None:
        """The exporter runs a thread: started with the app, not when it is made."""
        if self.exporting is None:
            return
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        self.exporting.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))

    async def stop(self) -> None:
        if self.exporting is not None:
            await asyncio.to_thread(self.exporting.shutdown)  # sends what is still buffered


def _exporting_provider() -> SdkTracerProvider:
    """A provider named after the service (`OTEL_SERVICE_NAME`, else meetings-gateway)."""
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider

    resource = Resource.create()
    if str(resource.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        resource = resource.merge(Resource({SERVICE_NAME: DEFAULT_SERVICE_NAME}))
    return TracerProvider(resource=resource)
