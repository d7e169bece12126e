"""Federation: `_entities` for good and bad representations (composed beside another
subgraph and served by a real router: tests/federation).

`_entities` must resolve a representation to exactly what `node` answers for the same id,
and answer a bad representation with BAD_USER_INPUT for that item alone, never with the
raw Python error strawberry would pass on (DESIGN §8).
"""

from __future__ import annotations

from typing import Any

from gateway.simulators.dataset import Dataset
from tests.api.entity_ids import first_lead_with_meetings, some_ids
from tests.api.expected import global_id, lead_id
from tests.conftest import GraphQLClient

FRAGMENTS = """
fragment MeetingFields on Meeting {
  id source sourceId title status startTime
  attendees { name email isOrganizer }
  lead { id name email }
}
fragment LeadFields on Lead { id source sourceId name email }
fragment BotFields on ScheduledBot {
  id botId botStatus: status sourceStatus scheduledJoinTime calendarEventId meeting { id }
}
"""
SELECTION = "__typename ...MeetingFields ...LeadFields ...BotFields"

ENTITIES = f"""
query Entities($representations: [_Any!]!) {{
  _entities(representations: $representations) {{ {SELECTION} }}
}}
{FRAGMENTS}
"""


def nodes_query(ids: list[str]) -> str:
    fields = "\n".join(
        f'  n{i}: node(id: "{node_id}") {{ {SELECTION} }}' for i, node_id in enumerate(ids)
    )
    return f"query Nodes {{\n{fields}\n}}\n{FRAGMENTS}"


async def test_entities_resolve_like_node(gql: GraphQLClient, dataset: Dataset) -> None:
    ids = await some_ids(gql, dataset)
    kinds = sorted(ids)
    representations = [{"__typename": kind.split("/")[0], "id": ids[kind]} for kind in kinds]

    entities = await gql(ENTITIES, {"representations": representations})
    nodes = await gql(nodes_query([ids[kind] for kind in kinds]))

    assert "errors" not in entities
    assert "errors" not in nodes
    resolved = entities["data"]["_entities"]
    assert resolved == [nodes["data"][f"n{i}"] for i in range(len(kinds))]
    assert [(e["__typename"], e["id"]) for e in resolved] == [
        (r["__typename"], r["id"]) for r in representations
    ]
    by_kind = dict(zip(kinds, resolved, strict=True))
    lead_uuid = first_lead_with_meetings(dataset)
    nexor_lead = next(r for r in dataset.nexor_leads if r["id"] == lead_uuid)
    assert by_kind["Lead/NEXOR"] == {
        "__typename": "Lead",
        "id": lead_id("nexor", lead_uuid),
        "source": "NEXOR",
        "sourceId": lead_uuid,
        "name": f"{nexor_lead['first_name']} {nexor_lead['last_name']}",
        "email": nexor_lead["email"],
    }
    assert by_kind["Meeting/NEXOR"]["lead"]["id"] == lead_id("nexor", lead_uuid)
    assert by_kind["ScheduledBot"]["botId"] in {r["bot_id"] for r in dataset.meetstream}


async def test_bad_representations_are_bad_user_input_and_the_good_still_resolve(
    gql: GraphQLClient, dataset: Dataset
) -> None:
    ids = await some_ids(gql, dataset)
    meeting, lead, bot = ids["Meeting/LEEZY"], ids["Lead/SALESLOFT"], ids["ScheduledBot"]
    representations: list[Any] = [
        {"__typename": "Meeting", "id": meeting},  # 0: good
        {"id": meeting},  # 1: no __typename
        {"__typename": "Invoice", "id": meeting},  # 2: not an entity of this service
        {"__typename": "Lead"},  # 3: no id
        {"__typename": "Lead", "id": 40001211},  # 4: id not a string
        {"__typename": "Lead", "id": meeting},  # 5: a Meeting id given as a Lead
        {"__typename": "Lead", "id": lead},  # 6: good
        {"__typename": "ScheduledBot", "id": "not base64 at all!"},  # 7: not an id
        "Meeting",  # 8: not an object
        {"__typename": "ScheduledBot", "id": bot},  # 9: good
        {"__typename": "Meeting", "id": global_id("Meeting", "salesloft:99999999")},  # 10
    ]
    body = await gql(ENTITIES, {"representations": representations})
    nodes = await gql(nodes_query([meeting, lead, bot]))

    resolved = body["data"]["_entities"]
    assert resolved == [
        nodes["data"]["n0"],
        None,
        None,
        None,
        None,
        None,
        nodes["data"]["n1"],
        None,
        None,
        nodes["data"]["n2"],
        None,  # unknown but well-formed: null without an error, as `node` answers
    ]
    errors = sorted(body["errors"], key=lambda error: error["path"][1])
    assert [error["path"] for error in errors] == [["_entities", i] for i in (1, 2, 3, 4, 5, 7, 8)]
    for error in errors:
        assert error["extensions"]["code"] == "BAD_USER_INPUT", error
        message = error["message"]
        assert message != "Unexpected error."
        for leak in ("KeyError", "TypeError", "Traceback", "'__typename'", "'id'"):
            assert leak not in message, error
    by_index = {error["path"][1]: error["message"] for error in errors}
    assert "__typename" in by_index[1]
    assert "__typename" in by_index[2]
    assert "id" in by_index[3]
    assert "id" in by_index[4]
    assert "Meeting" in by_index[5]
