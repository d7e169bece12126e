"""`Cache-Control` of /graphql answers tells the truth: `no-store` for errors, refusals, stale
data and live state; `private` for a caller with credentials; else `public`; `max-age` what
remains fresh of the upstream answers used, whole-response cache hits included."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp

from gateway.app import create_app
from gateway.config import CacheSettings, Settings
from gateway.model import Source
from gateway.simulators.cluster import Simulators
from gateway.simulators.faults import Fault, FaultKind
from tests.api.serving import with_source
from tests.conftest import REFERENCE_NOW
from tests.serving import serving

PAGE = """query Page($first: Int!, $filter: MeetingFilter) {
  meetings(first: $first, filter: $filter) { edges { node { id } } sources { source state } }
}"""
SALESLOFT_ONLY = {"first": 3, "filter": {"sources": ["SALESLOFT"]}}


class Answer:
    def __init__(self, status: int, headers: Any, body: dict[str, Any]) -> None:
        self.status = status
        self.cache_control = headers.get("Cache-Control")
        self.vary = headers.get("Vary")
        self.body = body

    @property
    def max_age(self) -> int:
        found = re.fullmatch(r"(public|private), max-age=(\d+)", self.cache_control or "")
        assert found, self.cache_control
        return int(found[2])


class Client:
    def __init__(self, http: aiohttp.ClientSession, url: str) -> None:
        self.http = http
        self.url = url + "/graphql"

    async def __call__(
        self, query: str, variables: dict[str, Any] | None = None, **headers: str
    ) -> Answer:
        payload = {"query": query, "variables": variables or {}}
        async with self.http.post(self.url, json=payload, headers=headers) as response:
            return Answer(response.status, response.headers, await response.json())


@asynccontextmanager
async def gateway(settings: Settings, *, responses: bool = False) -> AsyncIterator[Client]:
    """The gateway; the whole-response cache off unless asked (hits are tested apart)."""
    cache = CacheSettings(url="memory://", responses=responses)
    app = create_app(settings.model_copy(update={"cache": cache}), clock=lambda: REFERENCE_NOW)
    async with serving(app) as url, aiohttp.ClientSession() as http:
        yield Client(http, url)


async def test_an_answer_is_public_for_its_sources_fresh_ttl(
    settings: Settings, simulators: Simulators
) -> None:
    async with gateway(settings) as gql:
        answer = await gql(PAGE, SALESLOFT_ONLY)
    assert "errors" not in answer.body
    assert answer.cache_control is not None
    assert answer.cache_control.startswith("public, ")
    assert 29 <= answer.max_age <= 30  # Salesloft's CACHE_TTL, just fetched
    assert answer.vary == "Authorization, Cookie"


async def test_a_caller_with_credentials_gets_a_private_answer(
    settings: Settings, simulators: Simulators
) -> None:
    async with gateway(settings) as gql:
        bearer = await gql(PAGE, SALESLOFT_ONLY, Authorization="Bearer someone")
        cookie = await gql(PAGE, SALESLOFT_ONLY, Cookie="session=abc")
    for answer in (bearer, cookie):
        assert answer.cache_control is not None
        assert answer.cache_control.startswith("private, ")
        assert 0 < answer.max_age <= 30


async def test_max_age_is_the_shortest_remaining_freshness_of_what_was_used(
    settings: Settings, simulators: Simulators
) -> None:
    settings = with_source(settings, Source.DAILY, cache_ttl=10.0)
    async with gateway(settings) as gql:
        both = await gql(PAGE, {"first": 3, "filter": {"sources": ["SALESLOFT", "DAILY"]}})
        await asyncio.sleep(1.1)  # the cached Salesloft answer ages by more than a second
        again = await gql(PAGE, SALESLOFT_ONLY)
    assert both.max_age <= 10  # Daily's TTL, shorter than Salesloft's
    assert again.body["extensions"]["upstream"]["requests"] == 0  # from the upstream cache
    assert again.max_age <= 29  # what remains of the cached answer, not a fresh 30


async def test_answers_with_errors_stale_data_or_live_state_are_not_stored(
    settings: Settings, simulators: Simulators
) -> None:
    settings = with_source(settings, Source.SALESLOFT, cache_ttl=0.0, stale_ttl=300.0)
    async with gateway(settings) as gql:
        simulators.leezy.inject(Fault(kind=FaultKind.ERROR, status=500))
        failed = await gql(PAGE, {"first": 3, "filter": {"sources": ["LEEZY"]}})
        await gql(PAGE, SALESLOFT_ONLY)  # cached, never fresh: served stale next time
        stale = await gql(PAGE, SALESLOFT_ONLY)
        live = await gql("{ sources { source lastSuccessAt } }")
        invalid = await gql("{ nothingHere }")
    assert failed.body["errors"][0]["extensions"]["code"] == "UPSTREAM_UNAVAILABLE"
    assert stale.body["extensions"]["upstream"]["staleHits"] > 0
    assert "errors" not in live.body
    assert invalid.status == 200
    assert invalid.body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert [a.cache_control for a in (failed, stale, live, invalid)] == ["no-store"] * 4


async def test_an_answer_without_upstream_is_kept_as_long_as_the_shortest_ttl(
    settings: Settings, simulators: Simulators
) -> None:
    settings = with_source(settings, Source.NEXOR, cache_ttl=20.0)
    async with gateway(settings) as gql:
        answer = await gql("{ __typename }")
    assert answer.cache_control == "public, max-age=20"


async def test_refused_requests_are_not_stored(
    settings: Settings, simulators: Simulators, http: aiohttp.ClientSession
) -> None:
    async with gateway(settings) as gql:
        requests = [
            http.post(gql.url, data=b"{not json", headers={"Content-Type": "application/json"}),
            http.post(gql.url, data=b"null", headers={"Content-Type": "application/json"}),
            http.post(gql.url, data=b"{}", headers={"Content-Type": "text/plain"}),
            http.get(gql.url, params={"query": "{ __typename }"}),
        ]
        for request in requests:
            async with request as response:
                assert response.status == 400
                assert response.headers["Cache-Control"] == "no-store"


async def test_a_whole_response_cache_hit_says_what_remains_fresh(
    settings: Settings, simulators: Simulators
) -> None:
    async with gateway(settings, responses=True) as gql:
        first = await gql(PAGE, SALESLOFT_ONLY)
        await asyncio.sleep(1.1)
        hit = await gql(PAGE, SALESLOFT_ONLY)
        private_hit = [await gql(PAGE, SALESLOFT_ONLY, Authorization="Bearer a") for _ in "12"]
    assert hit.body["extensions"]["responseCache"] == {"hit": True}
    assert hit.cache_control is not None
    assert hit.cache_control.startswith("public, ")
    assert hit.max_age <= first.max_age - 1
    assert hit.vary == "Authorization, Cookie"
    assert private_hit[1].body["extensions"]["responseCache"] == {"hit": True}
    assert private_hit[1].cache_control is not None
    assert private_hit[1].cache_control.startswith("private, ")
