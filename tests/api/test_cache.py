"""The caches end to end: upstream requests counted by the simulators, over real HTTP.

Coalescing, `sources[].cached`/`stale`, the whole-response cache, the memory bound, Redis
shared by two app instances (and never across credentials), and DataLoader call counts.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
from fastapi import FastAPI
from pydantic import SecretStr

from gateway.app import create_app
from gateway.config import Settings
from gateway.model import Source
from gateway.simulators import daily, leezy, meetstream, nexor, salesloft
from gateway.simulators.cluster import Simulators
from gateway.simulators.dataset import Dataset
from gateway.simulators.faults import Fault, FaultKind
from gateway.whole_response_cache import REMEMBERED_BODY_BYTES
from tests.api.expected import global_id, lead_id
from tests.api.serving import with_source
from tests.conftest import REFERENCE_NOW, GraphQLClient
from tests.serving import serving

PAGE = """
query Page($first: Int!, $filter: MeetingFilter) {
  meetings(first: $first, filter: $filter, orderBy: {direction: ASC}) {
    edges { node { id title status bots { botId } } }
    sources { source state cached stale }
  }
}
"""
NO_TRAFFIC = {"requests": 0, "cacheHits": 0, "staleHits": 0, "sharedRequests": 0}
SECOND_TENANT = {
    "leezy": leezy.SECOND_TOKEN,
    "nexor": nexor.SECOND_KEY,
    "meetstream": meetstream.SECOND_KEY,
    "salesloft": salesloft.SECOND_TOKEN,
    "daily": daily.SECOND_KEY,
}


@asynccontextmanager
async def gateway(settings: Settings) -> AsyncIterator[tuple[GraphQLClient, FastAPI]]:
    app = create_app(settings, clock=lambda: REFERENCE_NOW)
    async with serving(app) as url, aiohttp.ClientSession() as http:
        yield GraphQLClient(http, url), app


def with_cache(settings: Settings, **changes: Any) -> Settings:
    return settings.model_copy(update={"cache": settings.cache.model_copy(update=changes)})


def made(simulators: Simulators) -> int:
    return sum(len(simulator.requests) for simulator in simulators)


def edges(body: dict[str, Any]) -> Any:
    return body["data"]["meetings"]["edges"]


def asked(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for s in body["data"]["meetings"]["sources"] if s["state"] == "OK"]


# --- the upstream cache ---------------------------------------------------------------------


async def test_fifty_identical_cold_queries_make_each_upstream_request_once(
    settings: Settings, simulators: Simulators
) -> None:
    for simulator in simulators:
        simulator.inject(Fault(kind=FaultKind.LATENCY, latency_ms=200))
    async with gateway(settings) as (gql, _):
        bodies = await asyncio.gather(*(gql(PAGE, {"first": 20}) for _ in range(50)))

    for simulator in simulators:
        calls = Counter((r.path, tuple(sorted(r.query))) for r in simulator.requests)
        assert set(calls.values()) <= {1}, (simulator.name, calls)
    assert {"leezy", "salesloft", "daily", "meetstream"} <= {
        s.name for s in simulators if s.requests
    }
    assert sum(b["extensions"]["upstream"]["requests"] for b in bodies) == made(simulators)
    assert all(edges(b) == edges(bodies[0]) and "errors" not in b for b in bodies)


async def test_a_repeated_query_comes_from_the_upstream_cache(
    settings: Settings, simulators: Simulators
) -> None:
    async with gateway(with_cache(settings, responses=False)) as (gql, _):
        first = await gql(PAGE, {"first": 20})
        upstream = made(simulators)
        second = await gql(PAGE, {"first": 20})

    assert made(simulators) == upstream
    assert first["extensions"]["upstream"] == {**NO_TRAFFIC, "requests": upstream}
    assert second["extensions"] == {
        "upstream": {**NO_TRAFFIC, "cacheHits": upstream},
        "responseCache": {"hit": False},
    }
    assert edges(second) == edges(first)
    assert [s["cached"] for s in asked(first)] == [False] * 3  # Leezy, Salesloft, Daily
    assert [(s["cached"], s["stale"]) for s in asked(second)] == [(True, False)] * 3


async def test_a_stale_answer_is_flagged_and_outlives_an_upstream_failure(
    settings: Settings, simulators: Simulators
) -> None:
    settings = with_source(settings, Source.LEEZY, cache_ttl=0.0, stale_ttl=60.0)
    only_leezy = {"first": 20, "filter": {"sources": ["LEEZY"]}}
    async with gateway(settings) as (gql, app):
        first = await gql(PAGE, only_leezy)
        upstream = len(simulators.leezy.requests)
        simulators.leezy.inject(Fault(kind=FaultKind.ERROR, status=500))
        second = await gql(PAGE, only_leezy)
        await app.state.upstream_cache.settle()

    assert "errors" not in second
    assert edges(second) == edges(first)
    assert asked(second) == [{"source": "LEEZY", "state": "OK", "cached": True, "stale": True}]
    assert second["extensions"]["upstream"]["staleHits"] == upstream
    assert second["extensions"]["responseCache"] == {"hit": False}  # stale: never kept whole
    refreshes = simulators.leezy.requests[upstream:]
    assert [r.status for r in refreshes] == [500] * upstream  # tried once, in the background


async def test_the_memory_cache_never_holds_more_than_its_bound(
    settings: Settings, simulators: Simulators
) -> None:
    async with gateway(with_cache(settings, max_entries=5)) as (gql, app):
        for first in range(1, 9):
            await gql(PAGE, {"first": first})
            assert len(app.state.store.backend) <= 5
        assert len(app.state.store.backend) == 5


# --- the whole-response cache ---------------------------------------------------------------


async def test_an_identical_operation_is_answered_whole(
    settings: Settings, simulators: Simulators
) -> None:
    async with gateway(settings) as (gql, _):
        first = await gql(PAGE, {"first": 20})
        upstream = made(simulators)
        second = await gql(PAGE, {"first": 20})
        other_variables = await gql(PAGE, {"first": 19})
        payload = {"query": PAGE, "variables": {"first": 20}}
        headers = {"Authorization": "Bearer another-caller"}
        async with gql.http.post(gql.url, json=payload, headers=headers) as response:
            other_caller = await response.json()

    assert first["extensions"]["responseCache"] == {"hit": False}
    assert second == {
        "data": first["data"],
        "extensions": {"upstream": NO_TRAFFIC, "responseCache": {"hit": True}},
    }
    assert other_variables["extensions"]["responseCache"] == {"hit": False}
    assert other_caller["extensions"]["responseCache"] == {"hit": False}
    assert edges(other_caller) == edges(first)
    assert made(simulators) == upstream  # the others came from the upstream cache


async def test_answers_with_errors_or_no_fresh_ttl_are_not_kept_whole(
    settings: Settings, simulators: Simulators
) -> None:
    settings = with_source(settings, Source.DAILY, cache_ttl=0.0, stale_ttl=0.0)
    simulators.leezy.inject(Fault(kind=FaultKind.ERROR, status=500))
    cases: dict[str, tuple[dict[str, Any], bool]] = {
        "an error": ({"first": 5}, False),
        "Daily, never fresh": ({"first": 5, "filter": {"sources": ["DAILY"]}}, False),
        "Salesloft, 30 s fresh": ({"first": 5, "filter": {"sources": ["SALESLOFT"]}}, True),
    }
    async with gateway(settings) as (gql, _):
        for name, (variables, kept) in cases.items():
            first = await gql(PAGE, variables)
            assert ("errors" in first) is (name == "an error")
            again = await gql(PAGE, variables)
            assert again["extensions"]["responseCache"] == {"hit": kept}, name


async def test_only_json_posts_and_answers_without_live_state_are_kept_whole(
    settings: Settings, simulators: Simulators
) -> None:
    async with gateway(settings) as (gql, _):
        await gql(PAGE, {"first": 5})  # kept whole: the same operation as text/plain next
        payload = json.dumps({"query": PAGE, "variables": {"first": 5}})
        headers = {"Content-Type": "text/plain"}
        async with gql.http.post(gql.url, data=payload, headers=headers) as response:
            assert response.status == 400  # what the GraphQL view says, not a cached answer
        health = "{ sources { source lastSuccessAt lastError } }"
        bodies = [await gql(health) for _ in range(2)]
    assert [b["extensions"]["responseCache"] for b in bodies] == [{"hit": False}] * 2


async def test_the_whole_response_cache_can_be_switched_off(
    settings: Settings, simulators: Simulators
) -> None:
    async with gateway(with_cache(settings, responses=False)) as (gql, _):
        bodies = [await gql(PAGE, {"first": 3}) for _ in range(3)]
    assert [b["extensions"]["responseCache"] for b in bodies] == [{"hit": False}] * 3


# --- Redis ----------------------------------------------------------------------------------


async def test_two_replicas_share_one_redis(
    settings: Settings, simulators: Simulators, redis_url: str
) -> None:
    shared = with_cache(settings, url=redis_url, responses=False)
    async with gateway(shared) as (one, _), gateway(shared) as (other, _):
        first = await one(PAGE, {"first": 20})
        upstream = made(simulators)
        second = await other(PAGE, {"first": 20})

    assert upstream > 0
    assert made(simulators) == upstream
    assert second["extensions"]["upstream"] == {**NO_TRAFFIC, "cacheHits": upstream}
    assert edges(second) == edges(first)


async def test_tenants_sharing_redis_never_share_an_entry(
    settings: Settings, simulators: Simulators, redis_url: str
) -> None:
    primary = with_cache(settings, url=redis_url)
    second = primary
    for name, key in SECOND_TENANT.items():
        second = with_source(second, Source(name), api_key=SecretStr(key))
    async with gateway(primary) as (one, _), gateway(second) as (other, _):
        first = await one(PAGE, {"first": 20})
        upstream = made(simulators)
        theirs = await other(PAGE, {"first": 20})
        again = await one(PAGE, {"first": 20})

    assert theirs["extensions"]["responseCache"] == {"hit": False}
    assert theirs["extensions"]["upstream"]["requests"] == upstream
    assert theirs["extensions"]["upstream"]["cacheHits"] == 0
    assert again["extensions"]["responseCache"] == {"hit": True}
    assert edges(theirs) == edges(first)  # same data, fetched with their own credentials
    for simulator in simulators:
        if simulator.requests:
            assert len({r.credential for r in simulator.requests}) == 2, simulator.name


# --- DataLoaders ----------------------------------------------------------------------------


async def test_dataloaders_batch_what_a_query_asks_for(
    settings: Settings, simulators: Simulators, dataset: Dataset
) -> None:
    nexor_leads = [lead["id"] for lead in dataset.nexor_leads[:3]]
    persons = sorted({str(m["person"]["id"]) for m in dataset.salesloft if m.get("person")})[:2]
    lead_ids = [lead_id("nexor", i) for i in nexor_leads] + [
        lead_id("salesloft", i) for i in persons
    ]
    salesloft_meetings = [global_id("Meeting", f"salesloft:{m['id']}") for m in dataset.salesloft]
    representations = [{"__typename": "Meeting", "id": i} for i in salesloft_meetings[:5]]
    async with gateway(with_cache(settings, responses=False)) as (gql, _):
        leads = await gql("query($ids: [ID!]!) { leads(ids: $ids) { id } }", {"ids": lead_ids})
        assert [lead["id"] for lead in leads["data"]["leads"]] == lead_ids
        assert len(simulators.nexor.requests) == 3  # one call per lead
        assert len(simulators.salesloft.requests) == 2  # both persons: one listing of each kind

        for simulator in simulators:
            simulator.reset_requests()
        page = await gql(PAGE, {"first": 20})
        assert len(edges(page)) == 20
        assert len(simulators.meetstream.requests) == 1  # `bots` of 20 meetings: one call

        for simulator in simulators:
            simulator.reset_requests()
        entities = await gql(
            "query($r: [_Any!]!) { _entities(representations: $r) { ... on Meeting { id } } }",
            {"r": representations},
        )
        assert [e["id"] for e in entities["data"]["_entities"]] == salesloft_meetings[:5]
        assert len(simulators.salesloft.requests) == 2  # five ids in one listing of each kind
        for request in simulators.salesloft.requests:
            assert sum(name == "ids[]" for name, _ in request.query) == 5


async def test_an_operation_finds_its_answer_whatever_its_body_looks_like(
    settings: Settings, simulators: Simulators
) -> None:
    """Kept by the operation, not the body's bytes: another key order or spacing finds the
    answer, and so does a body too big to have its parsing remembered (past 16 KiB)."""
    small = {"query": PAGE, "variables": {"first": 4}}
    big = {"query": PAGE, "variables": {"first": 4, "unused": "x" * 20_000}}
    bodies = [
        json.dumps(small),
        json.dumps({"variables": {"first": 4}, "query": PAGE}, indent=2),
        json.dumps(big),
        json.dumps(big),
    ]
    hits = []
    async with gateway(settings) as (gql, _):
        for body in bodies:
            headers = {"Content-Type": "application/json"}
            async with gql.http.post(gql.url, data=body, headers=headers) as response:
                answer = await response.json()
            assert answer["data"]["meetings"]["edges"], answer
            hits.append(answer["extensions"]["responseCache"]["hit"])
    assert len(bodies[2]) > REMEMBERED_BODY_BYTES
    assert hits == [False, True, False, True]
