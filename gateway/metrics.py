"""Prometheus metrics of one app, in a registry of its own (several apps in one process, as
in the tests, never share counts), served as text on `GET /metrics`.

Label values are ours, never the client's free text nor a credential: `source` is an
upstream's name, `status_class`, `result`, `outcome` and `state` are fixed words, and
`operation` is a GraphQL name (`SAFE_OPERATION_NAME`), at most `max_operations` distinct
ones per process, "other" past that, "anonymous" without one ("unknown" and "invalid": see
`api.usage`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest

from gateway.api.usage import SAFE_OPERATION_NAME, Operation, Outcome
from gateway.cache.entries import Served
from gateway.model import Source
from gateway.observe import CACHE_OUTCOMES, UpstreamObserver
from gateway.sources.guard import CircuitBreaker

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
MAX_OPERATIONS = 100  # distinct operation names in labels; the rest count as "other"
ANONYMOUS, OTHER = "anonymous", "other"
OUTCOMES: tuple[Outcome, ...] = ("ok", "partial", "error", "refused")
STATUS_CLASSES = ("2xx", "3xx", "4xx", "5xx", "timeout", "connection")
CIRCUIT_STATES = ("closed", "half_open", "open")
# Seconds; a query answered from the cache takes milliseconds, one waiting on a slow
# upstream up to its timeout (5 s by default).
GRAPHQL_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
UPSTREAM_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Metrics:
    def __init__(self, sources: Iterable[Source], *, max_operations: int = MAX_OPERATIONS) -> None:
        # No `_created` twin of every series (a process-wide switch of prometheus-client).
        disable_created_metrics()  # type: ignore[no-untyped-call]
        self.registry = CollectorRegistry()
        self._max_operations = max_operations
        self._operations: set[str] = set()
        # The series of each (operation, outcome), looked up once.
        self._children: dict[tuple[str, Outcome], tuple[Counter, Histogram]] = {}
        self._requests = Counter(
            "gateway_graphql_requests",
            "GraphQL requests by operation name and outcome.",
            ["operation", "outcome"],
            registry=self.registry,
        )
        self._duration = Histogram(
            "gateway_graphql_request_duration_seconds",
            "Time from a GraphQL request's arrival to the end of its answer, by operation.",
            ["operation"],
            buckets=GRAPHQL_BUCKETS,
            registry=self.registry,
        )
        self.upstream = PrometheusObserver(self.registry, sources)
        self.registry.register(self.upstream)
        self._circuits = CircuitCollector()
        self.registry.register(self._circuits)

    def graphql_request(self, operation: Operation, seconds: float) -> None:
        label, outcome = self._operation_label(operation.name), operation.outcome
        children = self._children.get((label, outcome))
        if children is None:
            children = self._requests.labels(label, outcome), self._duration.labels(label)
            self._children[label, outcome] = children
        count, duration = children
        count.inc()
        duration.observe(seconds)

    def watch_circuits(self, breakers: Mapping[Source, CircuitBreaker]) -> None:
        """The circuit breakers whose state a scrape reads (the lifespan builds them)."""
        self._circuits.breakers = dict(breakers)

    def render(self) -> bytes:
        return generate_latest(self.registry)

    def _operation_label(self, name: str | None) -> str:
        if name is None:
            return ANONYMOUS
        if name in self._operations:
            return name
        full = len(self._operations) >= self._max_operations
        if full or not SAFE_OPERATION_NAME.fullmatch(name):
            return OTHER
        self._operations.add(name)
        return name


class PrometheusObserver(UpstreamObserver):
    """Counts what the upstream clients report. The children of every label set are looked
    up once here: on a request's path, a count is a dictionary read and an increment."""

    def __init__(self, registry: CollectorRegistry, sources: Iterable[Source]) -> None:
        requests = Counter(
            "gateway_upstream_requests",
            "HTTP requests sent upstream (each retry too), by source and status class.",
            ["source", "status_class"],
            registry=registry,
        )
        duration = Histogram(
            "gateway_upstream_request_duration_seconds",
            "Time of one upstream HTTP request, body included, by source.",
            ["source"],
            buckets=UPSTREAM_BUCKETS,
            registry=registry,
        )
        waits = Counter(
            "gateway_upstream_rate_limit_waits",
            "Upstream requests that waited for the vendor's rate limit, by source.",
            ["source"],
            registry=registry,
        )
        waited = Counter(
            "gateway_upstream_rate_limit_wait_seconds",
            "Seconds upstream requests waited for the vendor's rate limit, by source.",
            ["source"],
            registry=registry,
        )
        listed = tuple(sources)
        # Every series of an enabled source exists from the start (at 0), so rates work
        # from the first scrape.
        self._requests = {
            (s, status): requests.labels(s.value, status)
            for s in listed
            for status in STATUS_CLASSES
        }
        self._duration = {s: duration.labels(s.value) for s in listed}
        # Counted on every upstream request, a dozen times a query: plain integers (one
        # event loop, no lock), read when scraped.
        self._served = {(s, served): 0 for s in listed for served in Served}
        self._waits = {s: (waits.labels(s.value), waited.labels(s.value)) for s in listed}

    def sent(self, source: Source, status_class: str, seconds: float) -> None:
        self._requests[source, status_class].inc()
        self._duration[source].observe(seconds)

    def served(self, source: Source, served: Served | None) -> None:
        self._served[source, served or Served.UPSTREAM] += 1  # a failure is a miss

    def waited(self, source: Source, seconds: float) -> None:
        count, total = self._waits[source]
        count.inc()
        total.inc(seconds)

    def describe(self) -> Iterator[Metric]:
        yield self._cache_family()

    def collect(self) -> Iterator[Metric]:
        family = self._cache_family()
        for (source, served), count in self._served.items():
            family.add_metric([source.value, CACHE_OUTCOMES[served]], count)
        yield family

    @staticmethod
    def _cache_family() -> CounterMetricFamily:
        return CounterMetricFamily(
            "gateway_upstream_cache",
            "Upstream requests by how the cache answered: hit, stale (served, refreshed in "
            "the background), miss (asked the upstream, or failed), coalesced (joined an "
            "identical request in flight).",
            labels=["source", "result"],
        )


class CircuitCollector:
    """Each source's circuit state, read when scraped (nothing to count on the request path)."""

    def __init__(self) -> None:
        self.breakers: dict[Source, CircuitBreaker] = {}

    def describe(self) -> Iterator[Metric]:
        yield self._family()

    def collect(self) -> Iterator[Metric]:
        family = self._family()
        for source, breaker in self.breakers.items():
            state = breaker.state
            for candidate in CIRCUIT_STATES:
                family.add_metric([source.value, candidate], 1.0 if candidate == state else 0.0)
        yield family

    @staticmethod
    def _family() -> GaugeMetricFamily:
        return GaugeMetricFamily(
            "gateway_upstream_circuit_state",
            "1 for the state each source's circuit breaker is in (closed, half_open: the next "
            "request is a trial, open: not called), 0 for the others.",
            labels=["source", "state"],
        )
