"""`GET /metrics`: Prometheus text with the GraphQL requests and what each upstream did,
counted from real queries against the simulators, with no credential and no client text."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from gateway.api.usage import Operation
from gateway.config import Settings
from gateway.metrics import Metrics
from gateway.model import Source
from gateway.simulators.cluster import Simulators
from gateway.simulators.faults import Fault, FaultKind
from tests.api.serving import running_gateway, with_source
from tests.conftest import GraphQLClient

UPCOMING = "query Upcoming { meetings(first: 5) { edges { node { title bots { botId } } } } }"
DAILY = "query Daily { meetings(first: 5, filter: {sources: [DAILY]}) { totalCount } }"
ASKED = ("leezy", "salesloft", "daily", "meetstream")  # what UPCOMING reads (Nexor needs leads)
CLIENT_TOKEN = "client-token-0123456789abcdef"
SOURCE_FAMILIES = (
    "gateway_upstream_requests",
    "gateway_upstream_request_duration_seconds",
    "gateway_upstream_cache",
    "gateway_upstream_circuit_state",
    "gateway_upstream_rate_limit_waits",
    "gateway_upstream_rate_limit_wait_seconds",
)

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


class Scraper:
    def __init__(self, http: aiohttp.ClientSession, gql: GraphQLClient) -> None:
        self.http = http
        self.gql = gql
        self.base_url = gql.url.removesuffix("/graphql")
        self.text = ""

    async def scrape(self) -> Samples:
        async with self.http.get(self.base_url + "/metrics") as response:
            assert response.status == 200
            assert response.headers["Content-Type"].startswith("text/plain")
            self.text = await response.text()
        return {
            (sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(self.text)
            for sample in family.samples
        }

    async def post(self, payload: dict[str, Any] | bytes) -> int:
        headers = {"Authorization": f"Bearer {CLIENT_TOKEN}"}
        if isinstance(payload, bytes):
            headers["Content-Type"] = "application/json"
            request = self.http.post(self.gql.url, data=payload, headers=headers)
        else:
            request = self.http.post(self.gql.url, json=payload, headers=headers)
        async with request as response:
            await response.read()
            return response.status


@asynccontextmanager
async def scraper(settings: Settings, http: aiohttp.ClientSession) -> AsyncIterator[Scraper]:
    async with running_gateway(settings, http) as gql:
        yield Scraper(http, gql)


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def label_values(samples: Samples, prefix: str, label: str) -> set[str]:
    return {
        dict(labels)[label]
        for name, labels in samples
        if name.startswith(prefix) and label in dict(labels)
    }


async def test_upstream_families_by_source_grow_after_a_query_and_hold_no_credential(
    settings: Settings, simulators: Simulators, http: aiohttp.ClientSession
) -> None:
    async with scraper(settings, http) as metrics:
        before = await metrics.scrape()
        assert await metrics.post({"query": UPCOMING}) == 200
        after = await metrics.scrape()
        # Another page of the same listings: the upstream answers come from the cache.
        assert await metrics.post({"query": UPCOMING.replace("first: 5", "first: 4")}) == 200
        cached = await metrics.scrape()
    every_source = {source.value for source in Source}
    for family in SOURCE_FAMILIES:  # every family, every configured source, from the start
        assert label_values(before, family, "source") == every_source, family
    requests, cache = "gateway_upstream_requests_total", "gateway_upstream_cache_total"
    for source in ASKED:
        assert value(before, requests, source=source, status_class="2xx") == 0
        sent = value(after, requests, source=source, status_class="2xx")
        assert sent == len(getattr(simulators, source).requests) > 0, source
        duration = "gateway_upstream_request_duration_seconds_count"
        assert value(after, duration, source=source) == sent
        assert value(after, cache, source=source, result="miss") >= 1
        assert value(after, cache, source=source, result="hit") == 0
        assert value(cached, cache, source=source, result="hit") >= 1
        assert value(cached, requests, source=source, status_class="2xx") == sent
        closed = value(after, "gateway_upstream_circuit_state", source=source, state="closed")
        assert closed == 1
    assert value(after, "gateway_upstream_requests_total", source="nexor", status_class="2xx") == 0
    assert value(after, "gateway_graphql_requests_total", operation="Upcoming", outcome="ok") == 1
    assert value(after, "gateway_graphql_request_duration_seconds_count", operation="Upcoming") == 1
    for secret in [*(simulator.api_key for simulator in simulators), CLIENT_TOKEN, "Bearer"]:
        assert secret not in metrics.text


async def test_outcomes_status_classes_and_whole_response_cache_hits(
    settings: Settings, simulators: Simulators, http: aiohttp.ClientSession
) -> None:
    async with scraper(settings, http) as metrics:
        simulators.daily.inject(Fault(kind=FaultKind.ERROR, status=503, times=1))
        assert await metrics.post({"query": DAILY}) == 200  # Daily fails: a partial answer
        query = {"query": UPCOMING, "operationName": "Upcoming"}
        assert await metrics.post(query) == 200
        served_before = await metrics.scrape()
        assert await metrics.post(query) == 200  # the whole-response cache answers it
        assert await metrics.post({"query": "{ meetings(first: 0) { totalCount } }"}) == 200
        assert await metrics.post({"query": "query Broken { meetings( "}) == 200
        assert await metrics.post(b"{not json") == 400
        after = await metrics.scrape()
    requests = "gateway_graphql_requests_total"
    assert value(after, requests, operation="Upcoming", outcome="ok") == 2
    assert value(after, requests, operation="Daily", outcome="partial") == 1
    assert value(after, requests, operation="anonymous", outcome="error") == 1  # no data
    # Not executed: a document that does not parse, a body that is not JSON.
    assert value(after, requests, operation="unknown", outcome="refused") == 2
    sent = "gateway_upstream_requests_total"
    for source in ASKED:  # the cached answer asked no upstream
        asked = value(after, sent, source=source, status_class="2xx")
        assert asked == value(served_before, sent, source=source, status_class="2xx")
    assert value(after, sent, source="daily", status_class="5xx") == 1


async def test_an_open_circuit_shows_in_its_gauge(
    settings: Settings, simulators: Simulators, http: aiohttp.ClientSession
) -> None:
    simulators.daily.inject(Fault(kind=FaultKind.ERROR, status=500))
    daily = with_source(settings, Source.DAILY, circuit_failures=1, circuit_cooldown=60)
    async with scraper(daily, http) as metrics:
        assert await metrics.post({"query": DAILY}) == 200
        samples = await metrics.scrape()
    states = {
        state: value(samples, "gateway_upstream_circuit_state", source="daily", state=state)
        for state in ("closed", "half_open", "open")
    }
    assert states == {"closed": 0, "half_open": 0, "open": 1}
    assert value(samples, "gateway_upstream_circuit_state", source="leezy", state="closed") == 1


async def test_waits_for_a_vendor_rate_limit_are_counted_with_their_seconds(
    settings: Settings, simulators: Simulators, http: aiohttp.ClientSession
) -> None:
    # One request per 0.4 s, uncached: the second query waits for the window to free.
    daily = with_source(
        settings, Source.DAILY, rate_limits=[(1, 0.4)], cache_ttl=0.0, stale_ttl=0.0
    )
    async with scraper(daily, http) as metrics:
        for _ in range(2):
            assert await metrics.post({"query": DAILY}) == 200
        samples = await metrics.scrape()
    assert len(simulators.daily.requests) == 2
    assert value(samples, "gateway_upstream_rate_limit_waits_total", source="daily") == 1
    waited = value(samples, "gateway_upstream_rate_limit_wait_seconds_total", source="daily")
    assert 0 < waited <= 0.4
    assert value(samples, "gateway_upstream_rate_limit_waits_total", source="leezy") == 0


@pytest.mark.parametrize("name", ["a" * 101, "drop table", "Ünïcode", "x\ny", "Missing"])
async def test_an_operation_name_the_document_does_not_hold_is_never_a_label(
    name: str, settings: Settings, http: aiohttp.ClientSession
) -> None:
    async with scraper(settings, http) as metrics:
        payload = {"query": "query Real { sources { source } }", "operationName": name}
        assert await metrics.post(payload) == 400  # strawberry: no such operation
        samples = await metrics.scrape()
    requests = "gateway_graphql_requests_total"
    assert value(samples, requests, operation="unknown", outcome="refused") == 1
    assert name not in metrics.text


async def test_an_over_long_operation_name_is_labelled_invalid(
    settings: Settings, http: aiohttp.ClientSession
) -> None:
    name = "Long" * 30
    async with scraper(settings, http) as metrics:
        assert await metrics.post({"query": f"query {name} {{ sources {{ source }} }}"}) == 200
        samples = await metrics.scrape()
    assert value(samples, "gateway_graphql_requests_total", operation="invalid", outcome="ok") == 1
    assert name not in metrics.text


def test_operation_labels_are_bounded_and_safe() -> None:
    metrics = Metrics([Source.LEEZY], max_operations=2)
    for name in ("First", "Second", "Third", "First", None, "not safe!"):
        metrics.graphql_request(Operation(name, "ok"), 0.01)
    samples = {
        sample.labels["operation"]: sample.value
        for family in text_string_to_metric_families(metrics.render().decode())
        for sample in family.samples
        if sample.name == "gateway_graphql_requests_total"
    }
    # Past two names, the rest is "other"; a label is never text a client chose freely.
    assert samples == {"First": 2, "Second": 1, "other": 2, "anonymous": 1}


def test_apps_in_one_process_count_apart() -> None:
    first, second = Metrics([Source.DAILY]), Metrics([Source.DAILY])
    first.upstream.sent(Source.DAILY, "2xx", 0.1)
    assert b'gateway_upstream_requests_total{source="daily",status_class="2xx"} 1.0' in (
        first.render()
    )
    assert b'gateway_upstream_requests_total{source="daily",status_class="2xx"} 0.0' in (
        second.render()
    )
