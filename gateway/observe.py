"""What the upstream client tells operators, without knowing who listens.

Defined here, below the sources, so that they report and the app decides where it goes:
Prometheus counters (`gateway.metrics`) and OpenTelemetry spans (`gateway.tracing`). The
base class reports nothing, so a source built without an observer (tests, tools) pays one
empty method call per event; `tracer` is None unless tracing is on, and then the client
opens one span per upstream request.
"""

from __future__ import annotations

from opentelemetry.trace import Tracer

from gateway.cache.entries import Served
from gateway.model import Source

# How the cache answered one upstream request, as metrics and spans name it.
CACHE_OUTCOMES = {
    Served.FRESH: "hit",
    Served.STALE: "stale",  # served at once, refreshed in the background
    Served.UPSTREAM: "miss",  # asked the upstream
    Served.SHARED: "coalesced",  # joined an identical request in flight
}
CACHE_MISS = CACHE_OUTCOMES[Served.UPSTREAM]


class UpstreamObserver:
    """Receives what happens upstream; every method is called on the request's path, so an
    implementation must be cheap (a counter, never I/O)."""

    tracer: Tracer | None = None

    def sent(self, source: Source, status_class: str, seconds: float) -> None:
        """One HTTP request to `source` ended: "2xx" (3xx, 4xx, 5xx), "timeout" or
        "connection" (no answer), after `seconds`. Each retry is a request of its own."""

    def served(self, source: Source, served: Served | None) -> None:
        """How one upstream request was answered (None: it failed without a cached answer)."""

    def waited(self, source: Source, seconds: float) -> None:
        """A request waited `seconds` for the vendor's rate limit before it was sent."""
