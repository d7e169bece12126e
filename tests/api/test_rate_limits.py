"""The vendors' rate limits are kept before they answer 429, across replicas too.

A source's documented budget is spent by the gateway itself (the settings may override
it); what Salesloft says is left (other tools of the team spend the same budget) is
believed; with Redis, replicas spend one budget and make each cold request once.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import aiohttp

from gateway.config import Settings
from gateway.model import Source
from gateway.simulators.cluster import Simulators
from gateway.simulators.faults import Fault, FaultKind
from tests.api.serving import running_gateway, with_source
from tests.api.test_cache import gateway, with_cache

DAILY = "{ meetings(first: 5, filter: {sources: [DAILY]}) { sources { source state } } }"
SALESLOFT = "{ meetings(first: 5, filter: {sources: [SALESLOFT]}) { sources { source state } } }"


def state(body: dict[str, Any], source: str) -> str:
    found = next(s for s in body["data"]["meetings"]["sources"] if s["source"] == source)
    return str(found["state"])


def uncached(settings: Settings, source: Source, **changes: Any) -> Settings:
    return with_source(settings, source, cache_ttl=0.0, stale_ttl=0.0, **changes)


async def test_a_spent_budget_is_kept_by_the_gateway(
    settings: Settings, simulators: Simulators, http: aiohttp.ClientSession
) -> None:
    three = uncached(settings, Source.DAILY, rate_limits=[(3, 5.0)])
    async with running_gateway(three, http) as gql:
        bodies = [await gql(DAILY) for _ in range(4)]
    assert [state(b, "DAILY") for b in bodies] == ["OK", "OK", "OK", "RATE_LIMITED"]
    assert len(simulators.daily.requests) == 3  # the fourth was not sent
    error = bodies[3]["errors"][0]["extensions"]
    assert error["code"] == "UPSTREAM_RATE_LIMITED"
    assert 0 < error["retryAfterSeconds"] <= 5


async def test_what_salesloft_says_is_left_is_believed(
    settings: Settings, simulators: Simulators, http: aiohttp.ClientSession
) -> None:
    simulators.salesloft.set_rate_limits(True)
    sim = simulators.salesloft
    headers = {"Authorization": f"Bearer {sim.api_key}"}
    for page in ["501"] * 19 + ["1"] * 20:  # the team's other tools: 19 x 30 + 20 units
        async with http.get(f"{sim.base_url}/meetings", params={"page": page}, headers=headers):
            pass
    before = len(sim.requests)
    async with running_gateway(uncached(settings, Source.SALESLOFT), http) as gql:
        bodies = [await gql(SALESLOFT) for _ in range(6)]
    # 10 units were left: 2 a query (active and canceled listings), then the gateway stops.
    assert [state(b, "SALESLOFT") for b in bodies] == ["OK"] * 5 + ["RATE_LIMITED"]
    made = sim.requests[before:]
    assert len(made) == 10
    assert all(r.status == 200 for r in made)  # never a 429


async def test_replicas_sharing_redis_spend_one_budget(
    settings: Settings, simulators: Simulators, redis_url: str
) -> None:
    shared = with_cache(uncached(settings, Source.DAILY, rate_limits=[(3, 5.0)]), url=redis_url)
    async with gateway(shared) as (one, _), gateway(shared) as (other, _):
        bodies = [await (one if n % 2 else other)(DAILY) for n in range(4)]
    assert [state(b, "DAILY") for b in bodies] == ["OK", "OK", "OK", "RATE_LIMITED"]
    assert len(simulators.daily.requests) == 3


async def test_replicas_sharing_redis_make_each_cold_request_once(
    settings: Settings, simulators: Simulators, redis_url: str
) -> None:
    for simulator in simulators:
        simulator.inject(Fault(kind=FaultKind.LATENCY, latency_ms=150))
    shared = with_cache(settings, url=redis_url, responses=False)
    query = (
        "{ meetings(first: 20) { edges { node { id } } } scheduledBots(first: 5) { totalCount } }"
    )
    async with gateway(shared) as (one, _), gateway(shared) as (other, _):
        bodies = await asyncio.gather(*(client(query) for client in [one, other] * 5))
    assert all("errors" not in body for body in bodies)
    assert len({str(body["data"]) for body in bodies}) == 1
    asked = Counter(
        (simulator.name, r.path, tuple(sorted(r.query)))
        for simulator in simulators
        for r in simulator.requests
    )
    assert asked
    assert set(asked.values()) == {1}, asked
