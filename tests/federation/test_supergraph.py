"""The gateway in a supergraph: composed beside a Relay-style subgraph, served by Apollo's router.

The second subgraph (`crm-subgraph.mjs`) is what another team would run: its own shareable
`PageInfo`, a `Node` interface with `Query.node`, a connection, everyday enum names
(`Source`, `Platform`, `Direction`), and deals that reference our meetings, leads and bots.
`@apollo/composition` composes it with the subgraph SDL our gateway serves
(`_service { sdl }`), and `@apollo/gateway` serves the supergraph: one operation reads both
subgraphs' connections, and our entities referenced by the other subgraph are fetched from
our `_entities`. Every answer must equal what the gateway answers directly.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from gateway.simulators.dataset import Dataset
from tests.api.entity_ids import some_ids
from tests.conftest import GraphQLClient
from tests.federation import node

ROOT = Path(__file__).parents[2]
# Composition hints we accept, each justified in the README's Federation section.
ACCEPTED_HINTS = [("INCONSISTENT_DESCRIPTION", 'Element "Node" has inconsistent descriptions')]

PAGE = "hasNextPage hasPreviousPage startCursor endCursor"
MEETING = """__typename id source sourceId title status sourceStatus startTime endTime
  platform locationType createdAt
  attendees { name email isOrganizer responseStatus lead { id name } }
  organizer { name } lead { __typename id source sourceId name email }
  bots { __typename id botId status }"""
LEAD = """__typename id source sourceId name email
  meetings(first: 2, orderBy: {direction: ASC}) { totalCount edges { node { id title } } }"""
BOT = """__typename id botId status platform scheduledJoinTime calendarEventId
  meeting { id title source }"""
OURS = f"""
  meetings(first: 5, filter: {{sources: $sources}}, orderBy: $order) {{
    totalCount totalCountExact
    edges {{ cursor node {{ {MEETING} }} }}
    pageInfo {{ {PAGE} }}
    sources {{ source state message }}
  }}
  scheduledBots(first: 3) {{ totalCount edges {{ cursor node {{ {BOT} }} }} pageInfo {{ {PAGE} }} }}
"""
SUPERGRAPH = f"""
query Supergraph(
  $sources: [MeetingSource!], $order: MeetingOrder, $dealSources: [Source!],
  $meeting: ID!, $lead: ID!, $bot: ID!
) {{
  {OURS}
  deals(first: 10, filter: {{sources: $dealSources}}) {{
    totalCount
    edges {{ cursor node {{
      id name source platform direction
      meeting {{ {MEETING} }} contact {{ {LEAD} }} recordingBot {{ {BOT} }}
    }} }}
    pageInfo {{ {PAGE} }}
  }}
  meetingNode: node(id: $meeting) {{ ... on Meeting {{ {MEETING} }} }}
  leadNode: node(id: $lead) {{ ... on Lead {{ {LEAD} }} }}
  botNode: node(id: $bot) {{ ... on ScheduledBot {{ {BOT} }} }}
}}
"""
BOT_WITH_MEETING = "{ scheduledBots(first: 1) { edges { node { id meeting { id } } } } }"
VARIABLES = {
    "sources": ["LEEZY", "SALESLOFT", "DAILY"],
    "order": {"field": "START_TIME", "direction": "ASC"},
    "dealSources": ["WEBSITE", "REFERRAL", "EVENT"],
}


@pytest.fixture(scope="session")
def node_project() -> None:
    node.require()


def direct_query(references: dict[str, list[str]]) -> str:
    """Our part of the supergraph operation, and each referenced entity by `node`."""
    kinds = {"meetings": ("m", "Meeting", MEETING), "leads": ("l", "Lead", LEAD)}
    kinds["bots"] = ("b", "ScheduledBot", BOT)
    lookups = [
        f'{alias}{i}: node(id: "{node_id}") {{ ... on {type_name} {{ {selection} }} }}'
        for kind, (alias, type_name, selection) in kinds.items()
        for i, node_id in enumerate(references[kind])
    ]
    lines = "\n  ".join(lookups)
    return f"""
query Direct($sources: [MeetingSource!], $order: MeetingOrder) {{
  {OURS}
  {lines}
}}
"""


async def post(http: aiohttp.ClientSession, url: str, query: str, variables: Any) -> Any:
    async with http.post(url, json={"query": query, "variables": variables}) as response:
        body = await response.json()
        assert response.status == 200, body
        assert "errors" not in body, body["errors"]
        return body["data"]


@pytest.mark.usefixtures("node_project")
@pytest.mark.timeout(300)  # starting three Node.js processes on a busy machine
async def test_a_supergraph_beside_a_relay_subgraph_answers_as_the_gateway_does(
    gql: GraphQLClient,
    gateway_url: str,
    http: aiohttp.ClientSession,
    dataset: Dataset,
    tmp_path: Path,
) -> None:
    ids = await some_ids(gql, dataset)
    bot = (await gql(BOT_WITH_MEETING))["data"]["scheduledBots"]["edges"][0]["node"]
    references = {  # what the crm subgraph holds: a meeting of each source, leads, a bot
        "meetings": [
            ids["Meeting/LEEZY"],
            ids["Meeting/NEXOR"],
            bot["meeting"]["id"],
            ids["Meeting/DAILY"],
        ],
        "leads": [ids["Lead/NEXOR"], ids["Lead/SALESLOFT"]],
        "bots": [bot["id"]],
    }
    ours = (await gql("{ _service { sdl } }"))["data"]["_service"]["sdl"]
    assert ours + "\n" == (ROOT / "subgraph.graphql").read_text()

    async with node.serving("crm-subgraph.mjs", json.dumps(references)) as crm_url:
        crm = await post(http, crm_url + "/", "{ _service { sdl } }", {})
        composed = await node.run_script(
            "compose.mjs",
            [
                {"name": "meetings", "url": gateway_url + "/graphql", "sdl": ours},
                {"name": "crm", "url": crm_url + "/", "sdl": crm["_service"]["sdl"]},
            ],
        )
        assert composed["errors"] == []
        hints = [(hint["code"], hint["message"]) for hint in composed["hints"]]
        assert len(hints) == len(ACCEPTED_HINTS), hints
        for (code, message), (accepted, opening) in zip(hints, ACCEPTED_HINTS, strict=True):
            assert code == accepted
            assert message.startswith(opening), message
        supergraph_file = tmp_path / "supergraph.graphql"
        supergraph_file.write_text(composed["supergraphSdl"])

        async with node.serving("supergraph.mjs", str(supergraph_file)) as supergraph_url:
            variables = {
                **VARIABLES,
                "meeting": references["meetings"][2],
                "lead": references["leads"][0],
                "bot": references["bots"][0],
            }
            answer = await post(http, supergraph_url + "/", SUPERGRAPH, variables)

    direct = await post(http, gql.url, direct_query(references), VARIABLES)
    assert answer["meetings"] == direct["meetings"]
    assert answer["meetings"]["edges"]
    assert answer["scheduledBots"] == direct["scheduledBots"]
    deals = [edge["node"] for edge in answer["deals"]["edges"]]
    assert [deal["name"] for deal in deals] == ["Deal 1", "Deal 2", "Deal 3", "Deal 4"]
    assert answer["deals"]["totalCount"] == 4
    for i, deal in enumerate(deals):  # references the crm subgraph holds, completed by us
        assert deal["meeting"] == direct[f"m{i}"]
        assert deal["contact"] == direct.get(f"l{i}")
        assert deal["recordingBot"] == direct.get(f"b{i}")
    assert [deal["meeting"]["source"] for deal in deals] == ["LEEZY", "NEXOR", "SALESLOFT", "DAILY"]
    assert [deal["contact"] is not None for deal in deals] == [True, True, False, False]
    assert bot["id"] in [b["id"] for b in deals[2]["meeting"]["bots"]]
    # The supergraph's `node` is the crm subgraph's; our types come back complete from us.
    assert answer["meetingNode"] == direct["m2"]
    assert answer["leadNode"] == direct["l0"]
    assert answer["botNode"] == direct["b0"]
