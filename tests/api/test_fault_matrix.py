"""Every field that touches an upstream survives every fault of every source (DESIGN §4).

One query selects them all: merged meetings with their bots and leads, meetings by lead,
scheduled bots with their meetings, a lead with its meetings, leads, look-ups by id of
every kind, `_entities` and `sources`. Each of the five sources in turn fails in each of
eight ways; `data` and every root field are still there, the healthy sources' meetings are
exactly those expected, every healthy look-up answers, and the failure is named by an
error's `extensions.source` (and its state in `sources` where the field has one).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest

from gateway.config import Settings
from gateway.model import Source
from gateway.simulators.cluster import Simulators
from gateway.simulators.dataset import Dataset
from gateway.simulators.faults import Fault, FaultKind
from tests.api.expected import expected_meetings, global_id, lead_id
from tests.api.expected_bots import future_bots
from tests.api.serving import running_gateway, with_source
from tests.conftest import REFERENCE_NOW

SHORT_TIMEOUT = 0.5  # seconds: the hung source's whole answer


@dataclass(frozen=True)
class FaultCase:
    name: str
    fault: Fault
    code: str  # the failed source's error code


FAULT_CASES = (
    FaultCase("500", Fault(kind=FaultKind.ERROR, status=500), "UPSTREAM_UNAVAILABLE"),
    FaultCase("503", Fault(kind=FaultKind.ERROR, status=503), "UPSTREAM_UNAVAILABLE"),
    FaultCase("429", Fault(kind=FaultKind.RATE_LIMIT), "UPSTREAM_RATE_LIMITED"),
    FaultCase("401", Fault(kind=FaultKind.ERROR, status=401), "UPSTREAM_UNAUTHORIZED"),
    FaultCase("hang", Fault(kind=FaultKind.HANG), "UPSTREAM_TIMEOUT"),
    FaultCase("malformed-json", Fault(kind=FaultKind.MALFORMED_JSON), "UPSTREAM_BAD_RESPONSE"),
    FaultCase("wrong-shape", Fault(kind=FaultKind.WRONG_SHAPE), "UPSTREAM_BAD_RESPONSE"),
    FaultCase("reset", Fault(kind=FaultKind.RESET), "UPSTREAM_UNAVAILABLE"),
)

EVERYTHING = """
query Everything($leads: [ID!]!, $nexorLead: ID!, $salesloftMeeting: ID!, $leezyMeeting: ID!,
                 $dailyMeeting: ID!, $nexorMeeting: ID!, $bot: ID!, $representations: [_Any!]!) {
  merged: meetings(first: 20) {
    edges { node { id source bots { botId } lead { id } } }
    sources { source state }
  }
  byLead: meetings(first: 20, filter: {leadIds: $leads}) {
    edges { node { id source } }
    sources { source state }
  }
  scheduledBots(first: 100) {
    totalCount
    edges { node { botId meeting { id } } }
    sources { source state }
  }
  lead(id: $nexorLead) { id meetings(first: 5) { edges { node { id } } sources { source state } } }
  leads(ids: $leads) { id }
  salesloftMeeting: meeting(id: $salesloftMeeting) { id }
  leezyMeeting: node(id: $leezyMeeting) { id }
  dailyMeeting: node(id: $dailyMeeting) { id }
  nexorMeeting: meeting(id: $nexorMeeting) { id }
  bot: node(id: $bot) { id }
  _entities(representations: $representations) {
    ... on Meeting { id }
    ... on Lead { id }
    ... on ScheduledBot { id }
  }
  sources { source enabled }
}
"""
ROOT_FIELDS = (
    "merged", "byLead", "scheduledBots", "lead", "leads", "salesloftMeeting", "leezyMeeting",
    "dailyMeeting", "nexorMeeting", "bot", "_entities", "sources",
)  # fmt: skip
NON_NULL_ROOTS = ("merged", "byLead", "scheduledBots", "leads", "_entities", "sources")


@dataclass(frozen=True)
class World:
    """The ids the query asks for, each with the source that answers it."""

    nexor_lead: str
    salesloft_person: str
    lookups: dict[str, tuple[Source, str]]  # variable -> (source, global id)

    def variables(self) -> dict[str, Any]:
        values: dict[str, Any] = {name: gid for name, (_, gid) in self.lookups.items()}
        values["leads"] = [self.nexor_lead, self.salesloft_person]
        values["nexorLead"] = self.nexor_lead
        values["representations"] = [
            {"__typename": "Meeting", "id": self.lookups["salesloftMeeting"][1]},
            {"__typename": "Lead", "id": self.nexor_lead},
            {"__typename": "ScheduledBot", "id": self.lookups["bot"][1]},
        ]
        return values


def world(dataset: Dataset) -> World:
    lead = max(dataset.nexor_meetings, key=lambda lead: len(dataset.nexor_meetings[lead]))
    nexor_meeting = dataset.nexor_meetings[lead][0]["id"]
    bot = future_bots(dataset, REFERENCE_NOW)[0]
    joined = next(r for r in dataset.salesloft if r["event_id"] == bot.event_id)
    person = next(r["person"]["id"] for r in dataset.salesloft if r["person"])
    return World(
        nexor_lead=lead_id("nexor", lead),
        salesloft_person=lead_id("salesloft", str(person)),
        lookups={
            "salesloftMeeting": (
                Source.SALESLOFT,
                global_id("Meeting", f"salesloft:{joined['id']}"),
            ),
            "leezyMeeting": (Source.LEEZY, global_id("Meeting", f"leezy:{dataset.leezy[0]['id']}")),
            "dailyMeeting": (Source.DAILY, global_id("Meeting", f"daily:{dataset.daily[0]['id']}")),
            "nexorMeeting": (
                Source.NEXOR,
                global_id("Meeting", f"nexor:{lead}:{nexor_meeting}"),
            ),
            "bot": (Source.MEETSTREAM, bot.id),
        },
    )


def healthy_page(dataset: Dataset, meeting_filter: dict[str, Any], failed: Source) -> list[str]:
    """The first page of 20 the healthy sources make together."""
    found = expected_meetings(dataset, REFERENCE_NOW, meeting_filter)
    return [global_id("Meeting", m.node_id) for m in found if m.source != failed.name][:20]


@pytest.mark.parametrize("case", FAULT_CASES, ids=lambda c: c.name)
@pytest.mark.parametrize("failed", list(Source), ids=lambda s: s.name)
async def test_no_fault_of_one_source_fails_the_answer(
    failed: Source,
    case: FaultCase,
    simulators: Simulators,
    settings: Settings,
    dataset: Dataset,
    http: aiohttp.ClientSession,
) -> None:
    ids = world(dataset)
    simulators.by_name(failed.value).inject(case.fault)
    if case.name == "hang":
        settings = with_source(settings, failed, timeout=SHORT_TIMEOUT)
    async with running_gateway(settings, http) as gql:
        body = await gql(EVERYTHING, ids.variables())

    data = body["data"]
    assert data is not None, body
    assert set(data) == set(ROOT_FIELDS)
    assert all(data[name] is not None for name in NON_NULL_ROOTS), data

    # The healthy sources' meetings, exactly; the failed one's state where a field has one.
    merged = [edge["node"]["id"] for edge in data["merged"]["edges"]]
    assert merged == healthy_page(dataset, {}, failed)
    by_lead = [edge["node"]["id"] for edge in data["byLead"]["edges"]]
    assert by_lead == healthy_page(
        dataset, {"leadIds": [ids.nexor_lead, ids.salesloft_person]}, failed
    )
    for connection in (data["merged"], data["byLead"]):
        states = {r["source"]: r["state"] for r in connection["sources"]}
        assert states.get(failed.name, "not asked") != "OK", states
        assert all(state in ("OK", "SKIPPED") for s, state in states.items() if s != failed.name)

    # Every look-up of a healthy source answers.
    for name, (source, _) in ids.lookups.items():
        assert (data[name] is None) is (source is failed), (name, data[name])
    bots_ok = failed is not Source.MEETSTREAM
    assert data["scheduledBots"]["sources"][0]["state"] == ("OK" if bots_ok else case_state(body))
    expected_bots = len(future_bots(dataset, REFERENCE_NOW)) if bots_ok else 0
    assert data["scheduledBots"]["totalCount"] == expected_bots
    if bots_ok and failed is not Source.SALESLOFT:
        assert any(e["node"]["meeting"] for e in data["scheduledBots"]["edges"])
    leads = [lead and lead["id"] for lead in data["leads"]]
    assert leads == [
        None if failed is Source.NEXOR else ids.nexor_lead,
        None if failed is Source.SALESLOFT else ids.salesloft_person,
    ]
    entities = [entity and entity["id"] for entity in data["_entities"]]
    assert entities == [
        None if failed is Source.SALESLOFT else ids.lookups["salesloftMeeting"][1],
        None if failed is Source.NEXOR else ids.nexor_lead,
        None if failed is Source.MEETSTREAM else ids.lookups["bot"][1],
    ]

    # The failure is named, with its code; nothing else failed; no credential leaks.
    errors = body.get("errors", [])
    named = [e for e in errors if e["extensions"].get("source") == failed.name]
    assert named, errors
    assert case.code in {e["extensions"]["code"] for e in named}, named
    assert all(e["extensions"].get("source") == failed.name for e in errors), errors
    text = str(body)
    assert all(sim.api_key not in text for sim in simulators)


def case_state(body: dict[str, Any]) -> str:
    """The state the failed bot listing reports (its error's kind)."""
    state: str = body["data"]["scheduledBots"]["sources"][0]["state"]
    assert state not in ("OK", "SKIPPED")
    return state
