"""Retries absorb a passing upstream failure; a circuit breaker stops calling a failing one."""

from __future__ import annotations

from typing import Any

import aiohttp

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
    # Two refused attempts of the first page, then both pages of the 103 sessions.
    assert [r.status for r in simulators.daily.requests] == [503, 503, 200, 200]


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
