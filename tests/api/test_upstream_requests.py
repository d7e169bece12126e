"""What a query costs upstream on a real-sized account (scale 20: 3,000 Salesloft meetings,
2,400 Leezy, 1,179 Daily sessions), counted in the simulators' logs over real HTTP.

Filters a source cannot match skip it; `upcoming` is pushed down; `totalCount` comes from
the upstreams' own counts beside a lean page, and where it would need more Salesloft pages
than `COUNT_REQUESTS`, it is a lower bound that says so.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import aiohttp
import pytest

from gateway.app import EXAMPLE_QUERY
from gateway.config import Settings
from gateway.simulators.cluster import Simulators
from gateway.sources.salesloft import COUNT_REQUESTS
from tests.api.expected import expected_meetings, iso_z
from tests.api.serving import running_gateway
from tests.conftest import REFERENCE_NOW, GraphQLClient

COUNTED = """
query($filter: MeetingFilter, $orderBy: MeetingOrder) {
  meetings(first: 20, filter: $filter, orderBy: $orderBy) {
    totalCount totalCountExact
    edges { node { sourceId } }
    sources { source state message }
  }
}
"""
LOWER_BOUND = re.compile(
    r"counted at least (\d+): an exact count would read about (\d+) more pages"
)


@pytest.fixture
async def gql(scaled: Simulators, http: aiohttp.ClientSession) -> AsyncIterator[GraphQLClient]:
    values = {s.name: {"base_url": s.base_url, "api_key": s.api_key} for s in scaled}
    settings = Settings.model_validate({**values, "cache": {"url": "memory://"}})
    async with running_gateway(settings, http) as client:
        yield client


def requests(simulators: Simulators) -> dict[str, int]:
    return {s.name: len(s.requests) for s in simulators}


def meetings(body: dict[str, Any]) -> dict[str, Any]:
    assert "errors" not in body, body["errors"]
    connection: dict[str, Any] = body["data"]["meetings"]
    return connection


def messages(connection: dict[str, Any]) -> dict[str, tuple[str, str | None]]:
    return {s["source"]: (s["state"], s["message"]) for s in connection["sources"]}


async def test_the_first_query_of_the_readme(gql: GraphQLClient, scaled: Simulators) -> None:
    """Before: Salesloft 31 requests (every page, for totalCount), Daily 12."""
    connection = meetings(await gql(EXAMPLE_QUERY))
    expected = expected_meetings(
        scaled.dataset, REFERENCE_NOW, {"upcoming": True}, {"direction": "ASC"}
    )
    assert [e["node"]["id"] for e in connection["edges"]] == [m.id for m in expected[:10]]
    assert connection["totalCount"] == len(expected) == 2660
    assert requests(scaled) == {
        "leezy": 13,
        "nexor": 0,
        "meetstream": 1,
        "salesloft": 2,
        "daily": 0,
    }
    state, message = messages(connection)["DAILY"]
    assert state == "SKIPPED"
    assert "upcoming" in (message or "")
    for call in scaled.salesloft.requests:  # now rounded down to the minute, exact from page 1
        assert call.params["start_time[gt]"] == "2026-03-10T14:07:00.000000Z"
        assert call.params["include_paging_counts"] == "true"


async def test_total_count_of_the_whole_account(gql: GraphQLClient, scaled: Simulators) -> None:
    """Before: 31 Salesloft requests and 12 Daily ones; now each listing's first page."""
    connection = meetings(await gql(COUNTED))
    assert (connection["totalCount"], connection["totalCountExact"]) == (6579, True)
    assert connection["totalCount"] == len(expected_meetings(scaled.dataset, REFERENCE_NOW, {}))
    assert requests(scaled) == {
        "leezy": 24,
        "nexor": 0,
        "meetstream": 0,
        "salesloft": 2,
        "daily": 1,
    }


async def test_total_count_of_upcoming_newest_first(gql: GraphQLClient, scaled: Simulators) -> None:
    """The listings end at the rounded minute: its meetings are read apart, one request a
    listing, whose bounds are whole minutes too."""
    connection = meetings(await gql(COUNTED, {"filter": {"upcoming": True}}))
    expected = expected_meetings(scaled.dataset, REFERENCE_NOW, {"upcoming": True})
    assert (connection["totalCount"], connection["totalCountExact"]) == (len(expected), True)
    assert requests(scaled)["salesloft"] == 4
    minutes = [c.params for c in scaled.salesloft.requests if "start_time[lte]" in c.params]
    assert sorted(p["show_deleted"] for p in minutes) == ["false", "true"]
    for params in minutes:
        assert params["start_time[gt]"] == "2026-03-10T14:07:00.000000Z"
        assert params["start_time[lte]"] == "2026-03-10T14:08:00.000000Z"


async def test_a_search_past_the_count_budget_is_a_lower_bound(
    gql: GraphQLClient, scaled: Simulators
) -> None:
    meeting_filter = {"search": "demo"}
    connection = meetings(await gql(COUNTED, {"filter": meeting_filter}))
    expected = expected_meetings(scaled.dataset, REFERENCE_NOW, meeting_filter)
    assert connection["totalCountExact"] is False
    state, message = messages(connection)["SALESLOFT"]
    found = LOWER_BOUND.fullmatch(message or "")
    assert state == "OK"
    assert found is not None, message
    at_least, more_pages = int(found.group(1)), int(found.group(2))
    leezy = sum(m.source == "LEEZY" for m in expected)
    salesloft = sum(m.source == "SALESLOFT" for m in expected)
    assert (at_least, more_pages, salesloft) == (58, 29, 442)
    assert connection["totalCount"] == leezy + at_least < len(expected)
    assert messages(connection)["LEEZY"] == ("OK", None)  # exact: it reads its whole listing
    # Both first pages (shared by the walk and the count), and the walk's second pages.
    assert requests(scaled)["salesloft"] == 4 <= COUNT_REQUESTS
    assert requests(scaled)["daily"] == 0


async def test_a_search_within_the_count_budget_is_exact(
    gql: GraphQLClient, scaled: Simulators
) -> None:
    meeting_filter = {
        "search": "demo",
        "startAfter": iso_z(REFERENCE_NOW - timedelta(days=1)),
        "startBefore": iso_z(REFERENCE_NOW + timedelta(days=2)),
    }
    connection = meetings(await gql(COUNTED, {"filter": meeting_filter}))
    expected = expected_meetings(scaled.dataset, REFERENCE_NOW, meeting_filter)
    assert (connection["totalCount"], connection["totalCountExact"]) == (len(expected), True)
    assert messages(connection)["SALESLOFT"] == ("OK", None)
    assert len(expected) == 50
    # Both first pages, the walk's next window, and the active listing's second page.
    assert requests(scaled)["salesloft"] == 4 <= COUNT_REQUESTS
