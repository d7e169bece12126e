"""Strawberry's OpenTelemetry spans, in the schema only while tracing is on.

`OperationSpans` keeps the spans of the operation, its parsing and its validation, but not
one span per field resolver: an extension with a `resolve` hook is called on every field of
every answer (hundreds on a page of meetings), while these hooks run a few times a request.
Its operation span is made current for the execution, so each upstream request's span
(`sources.http`) is a child of the operation that asked for it.
"""

from __future__ import annotations

from collections.abc import Callable, Generator

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import TracerProvider
from strawberry.extensions import LifecycleStep, SchemaExtension
from strawberry.extensions.tracing import OpenTelemetryExtension


class ResolverSpans(OpenTelemetryExtension):
    """Strawberry's extension (a span per resolver, default resolvers excepted), with the
    operation span current while it executes."""

    def on_operation(self) -> Generator[None, None, None]:
        spans = super().on_operation()
        next(spans)  # the operation span starts
        span = self._span_holder[LifecycleStep.OPERATION]
        token = otel_context.attach(trace.set_span_in_context(span))
        try:
            yield
        except BaseException:
            # Raised through the hook (a document that does not parse): strawberry's hooks
            # would leave their spans open.
            for held in self._span_holder.values():
                if held.is_recording():
                    held.end()
            raise
        finally:
            otel_context.detach(token)
        next(spans, None)  # it is named after the operation and ends


class OperationSpans(ResolverSpans):
    """The same without the per-resolver spans: strawberry calls an extension on every field
    only when it overrides `resolve`."""

    resolve = SchemaExtension.resolve  # type: ignore[assignment]


def tracing_extension(
    tracer_provider: TracerProvider, *, resolver_spans: bool = False
) -> Callable[[], SchemaExtension]:
    """A factory of the extension (strawberry makes one per request)."""
    kind = ResolverSpans if resolver_spans else OperationSpans
    return lambda: kind(tracer_provider=tracer_provider)
