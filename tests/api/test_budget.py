"""One operation may send at most GATEWAY_LIMITS__MAX_UPSTREAM_REQUESTS upstream requests.

Past the budget, further upstream calls fail as partial results (UPSTREAM_BUDGET_EXCEEDED,
naming the source); cache hits are free, and what was fetched still answers.
"""

from __future__ import annotations

import aiohttp
import pytest

from gateway.app import EXAMPLE_QUERY
from gateway.config import LimitSettings, Settings
from gateway.simulators.cluster import Simulators
from gateway.simulators.dataset import Dataset
from tests.api.expected import lead_id
from tests.api.serving import running_gateway

LEADS = """
query Leads($ids: [ID!]!) {
  leads(ids: $ids) {
    id
    meetings(first: 5) { edges { node { id } } sources { source state } }
  }
}
"""


def budgeted(settings: Settings, requests: int) -> Settings:
    return settings.model_copy(update={"limits": LimitSettings(max_upstream_requests=requests)})


async def test_an_operation_stops_asking_upstream_at_its_budget(
    settings: Settings, simulators: Simulators, dataset: Dataset, http: aiohttp.ClientSession
) -> None:
    leads = sorted(dataset.nexor_meetings)[:20]
    async with running_gateway(budgeted(settings, 10), http) as gql:
        body = await gql(LEADS, {"ids": [lead_id("nexor", lead) for lead in leads]})

    # Ten leads were looked up (their meetings came from the same cached listings), the
    # other ten are null with an error each; nothing else failed.
    found = [lead for lead in body["data"]["leads"] if lead is not None]
    assert len(found) == 10
    states = [r["state"] for lead in found for r in lead["meetings"]["sources"]]
    assert states.count("OK") == 10  # Nexor, from the lookups' cached listings
    errors = body["errors"]
    assert len(errors) == 10
    assert {e["extensions"]["code"] for e in errors} == {"UPSTREAM_BUDGET_EXCEEDED"}
    assert {e["extensions"]["source"] for e in errors} == {"NEXOR"}
    nulls = {i for i, lead in enumerate(body["data"]["leads"]) if lead is None}
    assert {e["path"][1] for e in errors} == nulls
    assert body["extensions"]["upstream"]["requests"] == 10
    assert len(simulators.nexor.requests) == 10
    assert sum(len(s.requests) for s in simulators) == 10


async def test_the_budget_is_exact_at_its_edge(
    settings: Settings, simulators: Simulators, http: aiohttp.ClientSession
) -> None:
    async with running_gateway(settings, http) as gql:
        needed = (await gql(EXAMPLE_QUERY))["extensions"]["upstream"]["requests"]
    assert 0 < needed <= LimitSettings().max_upstream_requests  # the default fits it
    async with running_gateway(budgeted(settings, needed), http) as gql:
        enough = await gql(EXAMPLE_QUERY)
    async with running_gateway(budgeted(settings, needed - 1), http) as gql:
        short = await gql(EXAMPLE_QUERY)
    assert "errors" not in enough
    assert short["data"]["meetings"] is not None
    codes = [e["extensions"]["code"] for e in short["errors"]]
    assert codes == ["UPSTREAM_BUDGET_EXCEEDED"]
    assert short["extensions"]["upstream"]["requests"] == needed - 1


async def test_concurrent_requests_of_one_operation_never_overrun_the_budget(
    settings: Settings, simulators: Simulators, redis_url: str, http: aiohttp.ClientSession
) -> None:
    # Five Daily listings at once; the shared rate limit in Redis makes each request wait
    # for Redis before it is sent, so all five are in flight together.
    shared = budgeted(settings, 2).model_copy(
        update={"cache": settings.cache.model_copy(update={"url": redis_url})}
    )
    page = 'meetings(first: 1, filter: {sources: [DAILY], startAfter: "2026-0MONTH-01T00:00:00Z"})'
    aliases = " ".join(
        f"d{n}: " + page.replace("MONTH", str(n + 1)) + " { sources { state } }" for n in range(5)
    )
    async with running_gateway(shared, http) as gql:
        body = await gql("{ " + aliases + " }")
    assert body["extensions"]["upstream"]["requests"] == 2
    assert len(simulators.daily.requests) == 2
    codes = [e["extensions"]["code"] for e in body["errors"]]
    assert codes == ["UPSTREAM_BUDGET_EXCEEDED"] * 3


ALIASED_LEADS = """
fragment L on Lead { id meetings(first: 3) { edges { node { id } } sources { source state } } }
query Aliased(VARIABLES) {
  ALIASES
  meetings(first: 10) { edges { node { id } } sources { source state } }
}
"""


@pytest.mark.parametrize("budget", [20, LimitSettings().max_upstream_requests])
async def test_thirty_aliases_of_leads_and_meetings_never_exceed_the_budget(
    budget: int,
    settings: Settings,
    simulators: Simulators,
    dataset: Dataset,
    http: aiohttp.ClientSession,
) -> None:
    nexor = sorted(dataset.nexor_meetings)
    people = sorted({str(r["person"]["id"]) for r in dataset.salesloft if r["person"]})
    ids = {
        f"l{n}": [
            lead_id("nexor", nexor[n % len(nexor)]),
            lead_id("salesloft", people[(2 * n) % len(people)]),
            lead_id("salesloft", people[(2 * n + 1) % len(people)]),
        ]
        for n in range(30)
    }
    query = ALIASED_LEADS.replace(
        "VARIABLES", ", ".join(f"${name}: [ID!]!" for name in ids)
    ).replace("ALIASES", " ".join(f"{name}: leads(ids: ${name}) {{ ...L }}" for name in ids))
    async with running_gateway(budgeted(settings, budget), http) as gql:
        body = await gql(query, ids)

    sent = sum(len(s.requests) for s in simulators)  # what the upstreams saw
    assert sent == body["extensions"]["upstream"]["requests"] == budget
    data = body["data"]
    assert data["meetings"] is not None  # the page answers with what it could fetch
    found = [lead for name in ids for lead in data[name] if lead is not None]
    assert found  # what fitted the budget was answered...
    codes = {e["extensions"]["code"] for e in body["errors"]}
    assert codes == {"UPSTREAM_BUDGET_EXCEEDED"}  # ...the rest cut off, saying so
    cut_leads = [e for e in body["errors"] if e["path"][0] in ids]
    assert cut_leads
    for error in cut_leads:  # a lead not looked up is null; a lead's listing, partial
        lead = data[error["path"][0]][error["path"][1]]
        if len(error["path"]) == 2:
            assert lead is None
        else:
            assert error["path"][2] == "meetings"
            states = {s["state"] for s in lead["meetings"]["sources"]}
            assert "BUDGET_EXCEEDED" in states
