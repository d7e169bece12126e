"""Retries absorb a passing upstream failure; a circuit breaker stops calling a failing one."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest

from gateway.config import Settings
from gateway.model import Source
from gateway.simulators.cluster import Simulators
from gateway.simulators.dataset import Dataset
from gateway.simulators.faults import Fault, FaultKind
from tests.api.serving import running_gateway, with_source

QUERY = "{ meetings(filter: {sources: [DAILY]}) { totalCount sources { source state } } }"


def _daily_state(body: dict[str, Any]) -> str:
    states = {s["source"]: s["state"] for s in body["data"]["meetings"]["sources"]}
    return str(states["DAILY"])


async def test_retries_absorb_a_passing_failure(
    settings: Settings, simulators: Simulators, dataset: Dataset, http: aiohttp.ClientSession
) -> None:
    simulators.daily.inject(Fault(kind=FaultKind.ERROR, status=503, times=2))
    async with running_gateway(with_source(settings, Source.DAILY, retries=2), http) as gql:
        body = await gql(QUERY)
    assert "errors" not in body
    assert body["data"]["meetings"]["totalCount"] == len(dataset.daily)
    # Two refused attempts of the first page, then the first page: its `total_count` counts
    # the 103 sessions, so totalCount reads no other page.
    assert [r.status for r in simulators.daily.requests] == [503, 503, 200]


async def test_circuit_opens_after_repeated_failures_and_stops_calling(
    settings: Settings, simulators: Simulators, http: aiohttp.ClientSession
) -> None:
    simulators.daily.inject(Fault(kind=FaultKind.ERROR, status=500))
    daily = with_source(settings, Source.DAILY, circuit_failures=2, circuit_cooldown=60)
    async with running_gateway(daily, http) as gql:
        states = [_daily_state(await gql(QUERY)) for _ in range(4)]
        assert states == ["UNAVAILABLE", "UNAVAILABLE", "CIRCUIT_OPEN", "CIRCUIT_OPEN"]
        assert len(simulators.daily.requests) == 2  # the open circuit made no call
        body = await gql(QUERY)
    error = body["errors"][0]
    assert error["extensions"]["code"] == "UPSTREAM_UNAVAILABLE"
    assert error["extensions"]["source"] == "DAILY"
    assert 0 < error["extensions"]["retryAfterSeconds"] <= 60


def _daily_error(body: dict[str, Any]) -> dict[str, Any]:
    error: dict[str, Any] = next(e for e in body["errors"] if e["extensions"]["source"] == "DAILY")
    return error


@pytest.mark.parametrize("kind", [FaultKind.WRONG_SHAPE, FaultKind.MALFORMED_JSON])
async def test_bad_bodies_open_the_circuit_too(
    kind: FaultKind, settings: Settings, simulators: Simulators, http: aiohttp.ClientSession
) -> None:
    simulators.daily.inject(Fault(kind=kind))
    daily = with_source(settings, Source.DAILY, circuit_failures=2, circuit_cooldown=60)
    async with running_gateway(daily, http) as gql:
        states = [_daily_state(await gql(QUERY)) for _ in range(3)]
    assert states == ["BAD_RESPONSE", "BAD_RESPONSE", "CIRCUIT_OPEN"]
    assert len(simulators.daily.requests) == 2


async def test_refused_credentials_are_not_offered_again_at_once(
    settings: Settings, simulators: Simulators, http: aiohttp.ClientSession
) -> None:
    simulators.daily.inject(Fault(kind=FaultKind.ERROR, status=401, times=1))
    daily = with_source(settings, Source.DAILY, auth_cooldown=60, circuit_failures=1)
    async with running_gateway(daily, http) as gql:
        first, second = await gql(QUERY), await gql(QUERY)
    assert _daily_state(first) == _daily_state(second) == "UNAUTHORIZED"  # not CIRCUIT_OPEN
    assert len(simulators.daily.requests) == 1  # the second query did not offer them again
    assert 0 < _daily_error(second)["extensions"]["retryAfterSeconds"] <= 60


async def test_a_rate_limited_upstream_is_not_called_before_it_said(
    settings: Settings, simulators: Simulators, http: aiohttp.ClientSession
) -> None:
    # Daily's 429 carries no Retry-After: its documented 5-second window applies.
    simulators.daily.inject(Fault(kind=FaultKind.RATE_LIMIT, times=1))
    async with running_gateway(settings, http) as gql:
        first, second = await gql(QUERY), await gql(QUERY)
    assert _daily_state(first) == _daily_state(second) == "RATE_LIMITED"
    assert len(simulators.daily.requests) == 1
    assert 0 < _daily_error(second)["extensions"]["retryAfterSeconds"] <= 5


async def test_a_slow_answer_is_cached_for_the_next_query(
    settings: Settings, simulators: Simulators, dataset: Dataset, http: aiohttp.ClientSession
) -> None:
    simulators.daily.inject(Fault(kind=FaultKind.LATENCY, latency_ms=600, times=1))
    daily = with_source(settings, Source.DAILY, timeout=0.2)
    async with running_gateway(daily, http) as gql:
        assert _daily_state(await gql(QUERY)) == "TIMEOUT"
        await asyncio.sleep(0.8)  # the first page lands meanwhile, with nobody waiting
        body = await gql(QUERY)
    assert _daily_state(body) == "OK"
    assert body["data"]["meetings"]["totalCount"] == len(dataset.daily)
    # The slow first page was asked once and kept; it serves the page and the count.
    assert len(simulators.daily.requests) == 1
