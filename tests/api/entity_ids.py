"""One global id of each entity kind, as a supergraph's other subgraphs would hold them."""

from __future__ import annotations

from gateway.simulators.dataset import Dataset
from tests.api.expected import lead_id
from tests.conftest import GraphQLClient

IDS = """
query Ids($leads: MeetingFilter!) {
  everyone: meetings(first: 100, filter: {upcoming: false}) { edges { node { id source } } }
  ofLeads: meetings(first: 100, filter: $leads) {
    edges { node { id source lead { id source } } }
  }
  scheduledBots(first: 2) { edges { node { id } } }
}
"""


def first_lead_with_meetings(dataset: Dataset) -> str:
    return next(lead for lead, meetings in dataset.nexor_meetings.items() if meetings)


def salesloft_person(dataset: Dataset) -> str:
    return next(str(r["person"]["id"]) for r in dataset.salesloft if r["person"] is not None)


async def some_ids(gql: GraphQLClient, dataset: Dataset) -> dict[str, str]:
    """One id of each kind: a meeting of every source, both kinds of lead, a bot."""
    leads = [
        lead_id("nexor", first_lead_with_meetings(dataset)),
        lead_id("salesloft", salesloft_person(dataset)),
    ]
    body = await gql(IDS, {"leads": {"leadIds": leads}})
    assert "errors" not in body
    data = body["data"]
    ids: dict[str, str] = {}
    for edge in data["everyone"]["edges"] + data["ofLeads"]["edges"]:
        node = edge["node"]
        ids.setdefault(f"Meeting/{node['source']}", node["id"])
        if node.get("lead") is not None:
            ids.setdefault(f"Lead/{node['lead']['source']}", node["lead"]["id"])
    ids["ScheduledBot"] = data["scheduledBots"]["edges"][0]["node"]["id"]
    assert sorted(ids) == [
        "Lead/NEXOR",
        "Lead/SALESLOFT",
        "Meeting/DAILY",
        "Meeting/LEEZY",
        "Meeting/NEXOR",
        "Meeting/SALESLOFT",
        "ScheduledBot",
    ]
    assert ids["Lead/NEXOR"] == leads[0]
    assert ids["Lead/SALESLOFT"] == leads[1]
    return ids
