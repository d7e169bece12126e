"""Look-ups by id and the fields that link types: node, meeting, lead, leads, Lead.meetings,
scheduledBots, Meeting.bots, ScheduledBot.meeting, sources; and how ids are checked.

Expected values come from the wire records (`tests/api/expected*.py`); upstream request
counts come from the simulators' request logs.
"""

from __future__ import annotations

import copy
import json
import uuid
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from pydantic import SecretStr

from gateway.config import Settings
from gateway.model import Source
from gateway.simulators.cluster import Simulators
from gateway.simulators.dataset import Dataset
from gateway.simulators.faults import Fault, FaultKind
from tests.api.expected import (
    MEETING_FIELDS,
    ExpectedMeeting,
    daily_meeting,
    expected_meetings,
    global_id,
    iso_z,
    lead_id,
    leezy_meeting,
    meeting_row,
    nexor_meeting,
    salesloft_meeting,
)
from tests.api.expected_bots import bots_by_event, future_bots, salesloft_event_ids
from tests.api.serving import running_gateway, with_source
from tests.conftest import REFERENCE_NOW, GraphQLClient

NOW = REFERENCE_NOW
UNKNOWN_UUID = "00000000-0000-4000-8000-000000000000"


def nexor_lead_with_meetings(dataset: Dataset, index: int = 0) -> str:
    return [lead for lead, meetings in dataset.nexor_meetings.items() if meetings][index]


def salesloft_person(dataset: Dataset) -> str:
    return next(str(r["person"]["id"]) for r in dataset.salesloft if r["person"] is not None)


def one_meeting_per_source(dataset: Dataset) -> list[ExpectedMeeting]:
    """The first record of each source, and a canceled Salesloft one (another listing)."""
    lead = nexor_lead_with_meetings(dataset)
    canceled = next(r for r in dataset.salesloft if r["canceled_at"] is not None)
    return [
        leezy_meeting(dataset.leezy[0]),
        nexor_meeting(lead, dataset.nexor_meetings[lead][0]),
        salesloft_meeting(dataset.salesloft[0], NOW),
        salesloft_meeting(canceled, NOW),
        daily_meeting(dataset.daily[0]),
    ]


def request_counts(simulators: Simulators) -> dict[str, int]:
    return {simulator.name: len(simulator.requests) for simulator in simulators}


def reset_requests(simulators: Simulators) -> None:
    for simulator in simulators:
        simulator.reset_requests()


# --- node and meeting ---------------------------------------------------------------------------

MEETING_BY_ID = f"""
query MeetingById($id: ID!) {{
  meeting(id: $id) {{ {MEETING_FIELDS} lead {{ id }} }}
  node(id: $id) {{ __typename ... on Meeting {{ {MEETING_FIELDS} lead {{ id }} }} }}
}}
"""


@pytest.mark.parametrize(
    "index", range(5), ids=["leezy", "nexor", "salesloft", "canceled", "daily"]
)
async def test_meeting_and_node_by_id(
    index: int, gql: GraphQLClient, simulators: Simulators, dataset: Dataset
) -> None:
    expected = one_meeting_per_source(dataset)[index]
    body = await gql(MEETING_BY_ID, {"id": expected.id})
    assert "errors" not in body
    meeting, node = body["data"]["meeting"], body["data"]["node"]
    assert meeting_row(meeting) == expected.row()
    assert node == {"__typename": "Meeting", **meeting}
    assert (meeting["lead"] or {}).get("id") == expected.lead

    # What the id carries is enough to fetch the record again, once for both fields (one
    # DataLoader key per request).
    source = expected.source.lower()
    made = simulators.by_name(source).requests
    if expected.source == "NEXOR":
        lead = nexor_lead_with_meetings(dataset)
        assert [r.path for r in made] == [f"/api/public/leads/{lead}/meetings"]
    if expected.source == "DAILY":
        assert [r.path for r in made] == [f"/v1/meetings/{expected.source_id}"]
    if expected.source == "SALESLOFT":
        assert len(made) == 2  # active and canceled listings, by `ids[]`
        assert {r.params["ids[]"] for r in made} == {expected.source_id}
    usage = body["extensions"]["upstream"]
    assert (usage["requests"], usage["sharedRequests"], usage["cacheHits"]) == (len(made), 0, 0)
    others = {name: n for name, n in request_counts(simulators).items() if name != source}
    assert others == dict.fromkeys(others, 0)


async def test_node_of_each_type(gql: GraphQLClient, dataset: Dataset) -> None:
    lead = nexor_lead_with_meetings(dataset)
    lead_record = next(r for r in dataset.nexor_leads if r["id"] == lead)
    bot = future_bots(dataset, NOW)[0]
    meeting = one_meeting_per_source(dataset)[0]
    query = """
    query Nodes($meeting: ID!, $lead: ID!, $bot: ID!) {
      meeting: node(id: $meeting) { __typename id ... on Meeting { sourceId title } }
      lead: node(id: $lead) { __typename id ... on Lead { source sourceId name email } }
      bot: node(id: $bot) { __typename id ... on ScheduledBot { botId status sourceStatus } }
    }
    """
    variables = {"meeting": meeting.id, "lead": lead_id("nexor", lead), "bot": bot.id}
    body = await gql(query, variables)
    assert body.pop("extensions")["upstream"]["requests"] > 0
    assert body == {
        "data": {
            "meeting": {
                "__typename": "Meeting",
                "id": meeting.id,
                "sourceId": meeting.source_id,
                "title": meeting.title,
            },
            "lead": {
                "__typename": "Lead",
                "id": lead_id("nexor", lead),
                "source": "NEXOR",
                "sourceId": lead,
                "name": f"{lead_record['first_name']} {lead_record['last_name']}",
                "email": lead_record["email"],
            },
            "bot": {
                "__typename": "ScheduledBot",
                "id": bot.id,
                "botId": bot.bot_id,
                "status": bot.status,
                "sourceStatus": bot.source_status,
            },
        }
    }


# --- leads ----------------------------------------------------------------------------------------

LEAD_FIELDS = "id source sourceId name email"


def salesloft_person_contact(dataset: Dataset, person: str) -> tuple[str, str]:
    """The person's name and email: the recipient of their meetings (the latest update)."""
    records = [r for r in dataset.salesloft if r["person"] and str(r["person"]["id"]) == person]
    latest = max(records, key=lambda r: r["updated_at"])
    return latest["recipient_name"], latest["recipient_email"]


def expected_lead(dataset: Dataset, source: str, source_id: str) -> dict[str, Any]:
    if source == "NEXOR":
        record = next(r for r in dataset.nexor_leads if r["id"] == source_id)
        name, email = f"{record['first_name']} {record['last_name']}", record["email"]
    else:
        name, email = salesloft_person_contact(dataset, source_id)
    return {
        "id": lead_id(source, source_id),
        "source": source,
        "sourceId": source_id,
        "name": name,
        "email": email,
    }


async def test_lead_of_each_source(
    gql: GraphQLClient, simulators: Simulators, dataset: Dataset
) -> None:
    nexor, person = nexor_lead_with_meetings(dataset), salesloft_person(dataset)
    query = f"""
    query Leads($nexor: ID!, $person: ID!) {{
      nexor: lead(id: $nexor) {{ {LEAD_FIELDS} }}
      person: lead(id: $person) {{ {LEAD_FIELDS} }}
    }}
    """
    body = await gql(
        query, {"nexor": lead_id("nexor", nexor), "person": lead_id("salesloft", person)}
    )
    assert body.pop("extensions")["upstream"]["requests"] > 0
    assert body == {
        "data": {
            "nexor": expected_lead(dataset, "NEXOR", nexor),
            "person": expected_lead(dataset, "SALESLOFT", person),
        }
    }
    assert [r.path for r in simulators.nexor.requests] == [f"/api/public/leads/{nexor}/meetings"]
    # A person's meetings are in two listings (active, canceled): one look-up, two requests.
    assert sorted(r.params["show_deleted"] for r in simulators.salesloft.requests) == [
        "false",
        "true",
    ]
    assert {r.params["person_id"] for r in simulators.salesloft.requests} == {person}


async def test_leads_keep_order_with_null_for_the_unknown(
    gql: GraphQLClient, simulators: Simulators, dataset: Dataset
) -> None:
    first, second = nexor_lead_with_meetings(dataset, 0), nexor_lead_with_meetings(dataset, 1)
    person = salesloft_person(dataset)
    ids = [
        lead_id("nexor", second),
        lead_id("salesloft", person),
        lead_id("nexor", UNKNOWN_UUID),
        lead_id("nexor", first),
    ]
    body = await gql(
        f"query Leads($ids: [ID!]!) {{ leads(ids: $ids) {{ {LEAD_FIELDS} }} }}", {"ids": ids}
    )
    assert body.pop("extensions")["upstream"]["requests"] > 0
    assert body == {
        "data": {
            "leads": [
                expected_lead(dataset, "NEXOR", second),
                expected_lead(dataset, "SALESLOFT", person),
                None,
                expected_lead(dataset, "NEXOR", first),
            ]
        }
    }
    # One upstream look-up per lead: a Nexor request each, the person's two listings.
    nexor_paths = sorted(r.path for r in simulators.nexor.requests)
    assert nexor_paths == sorted(
        f"/api/public/leads/{lead}/meetings" for lead in (second, UNKNOWN_UUID, first)
    )
    assert len(simulators.salesloft.requests) == 2
    assert request_counts(simulators) == {
        "leezy": 0,
        "nexor": 3,
        "meetstream": 0,
        "salesloft": 2,
        "daily": 0,
    }


async def test_salesloft_persons_are_looked_up_together(
    gql: GraphQLClient, simulators: Simulators, dataset: Dataset
) -> None:
    persons = sorted({str(r["person"]["id"]) for r in dataset.salesloft if r["person"]})[:12]
    unknown = "99999999"
    ids = [lead_id("salesloft", p) for p in [*persons, unknown]]
    body = await gql(
        f"query Leads($ids: [ID!]!) {{ leads(ids: $ids) {{ {LEAD_FIELDS} }} }}", {"ids": ids}
    )
    assert body["data"]["leads"] == [
        *(expected_lead(dataset, "SALESLOFT", p) for p in persons),
        None,
    ]
    # Both listings once, filtered by every person: 2 requests, not 2 per person.
    made = simulators.salesloft.requests
    assert sorted(r.params["show_deleted"] for r in made) == ["false", "true"]
    for request in made:
        asked = [v for k, v in request.query if k == "person_ids[]"]
        assert asked == sorted([*persons, unknown], key=int)


LEAD_MEETINGS = """
query LeadMeetings($id: ID!) {
  lead(id: $id) {
    meetings(first: 100) { totalCount edges { node { id } } }
  }
  meetings(first: 100, filter: {leadIds: [$id]}) { totalCount edges { node { id } } }
}
"""


@pytest.mark.parametrize("source", ["NEXOR", "SALESLOFT"])
async def test_lead_meetings_are_the_meetings_filtered_by_that_lead(
    source: str, gql: GraphQLClient, dataset: Dataset
) -> None:
    source_id = (
        nexor_lead_with_meetings(dataset) if source == "NEXOR" else salesloft_person(dataset)
    )
    the_lead = lead_id(source, source_id)
    body = await gql(LEAD_MEETINGS, {"id": the_lead})
    assert "errors" not in body
    expected = expected_meetings(dataset, NOW, {"leadIds": [the_lead]})
    assert expected
    assert all(m.lead == the_lead for m in expected)
    assert body["data"]["lead"]["meetings"] == body["data"]["meetings"]
    connection = body["data"]["meetings"]
    assert [e["node"]["id"] for e in connection["edges"]] == [m.id for m in expected]
    assert connection["totalCount"] == len(expected)


# --- bots -----------------------------------------------------------------------------------------

BOTS = """
query Bots($first: Int, $after: String, $filter: ScheduledBotFilter) {
  scheduledBots(first: $first, after: $after, filter: $filter) {
    totalCount
    edges { cursor node { id botId status scheduledJoinTime } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}
"""


def bot_node(bot: Any) -> dict[str, Any]:
    return {
        "id": bot.id,
        "botId": bot.bot_id,
        "status": bot.status,
        "scheduledJoinTime": bot.join.isoformat().replace("+00:00", "Z"),
    }


async def test_scheduled_bots_are_the_future_ones_earliest_first(
    gql: GraphQLClient, simulators: Simulators, dataset: Dataset
) -> None:
    expected = future_bots(dataset, NOW)
    assert len(expected) < len(dataset.meetstream)  # past bots exist and are left out
    body = await gql(BOTS, {"first": 100})
    connection = body["data"]["scheduledBots"]
    assert [e["node"] for e in connection["edges"]] == [bot_node(b) for b in expected]
    assert connection["totalCount"] == len(expected)
    assert connection["pageInfo"]["hasNextPage"] is False
    assert connection["pageInfo"]["hasPreviousPage"] is False
    assert len(simulators.meetstream.requests) == 1


async def test_scheduled_bots_page_with_first_and_after(
    gql: GraphQLClient, dataset: Dataset
) -> None:
    expected = [bot_node(b) for b in future_bots(dataset, NOW)]
    size = 7
    seen: list[dict[str, Any]] = []
    after: str | None = None
    for page_number in range(len(expected) // size + 1):
        body = await gql(BOTS, {"first": size, "after": after})
        connection = body["data"]["scheduledBots"]
        nodes = [e["node"] for e in connection["edges"]]
        assert nodes == expected[page_number * size : (page_number + 1) * size]
        info = connection["pageInfo"]
        assert info["hasNextPage"] is (len(seen) + len(nodes) < len(expected))
        assert info["hasPreviousPage"] is (page_number > 0)
        assert info["startCursor"] == connection["edges"][0]["cursor"]
        assert info["endCursor"] == connection["edges"][-1]["cursor"]
        seen += nodes
        after = info["endCursor"]
    assert seen == expected


async def test_scheduled_bots_filtered_by_status(gql: GraphQLClient, dataset: Dataset) -> None:
    wanted = ["SCHEDULED", "IN_MEETING"]
    expected = [b for b in future_bots(dataset, NOW) if b.status in wanted]
    assert 0 < len(expected) < len(future_bots(dataset, NOW))
    body = await gql(BOTS, {"first": 100, "filter": {"status": wanted}})
    connection = body["data"]["scheduledBots"]
    assert [e["node"] for e in connection["edges"]] == [bot_node(b) for b in expected]
    assert connection["totalCount"] == len(expected)


async def test_meeting_bots_take_one_meetstream_call_per_page(
    gql: GraphQLClient, simulators: Simulators, dataset: Dataset
) -> None:
    query = """
    {
      meetings(first: 100, filter: {sources: [SALESLOFT], upcoming: true},
               orderBy: {direction: ASC}) {
        edges { node { id sourceId bots { id botId calendarEventId } } }
      }
    }
    """
    body = await gql(query)
    meeting_filter = {"sources": ["SALESLOFT"], "upcoming": True}
    expected = expected_meetings(dataset, NOW, meeting_filter, {"direction": "ASC"})
    events, joining = salesloft_event_ids(dataset), bots_by_event(dataset, NOW)
    edges = body["data"]["meetings"]["edges"]
    assert [e["node"]["id"] for e in edges] == [m.id for m in expected]
    for edge in edges:
        event = events[edge["node"]["sourceId"]]
        assert edge["node"]["bots"] == [
            {"id": b.id, "botId": b.bot_id, "calendarEventId": event}
            for b in joining.get(event or "", [])
        ]
    assert sum(bool(e["node"]["bots"]) for e in edges) > 1
    assert len(simulators.meetstream.requests) == 1


async def test_a_bot_leads_to_the_salesloft_meeting_of_its_event(
    gql: GraphQLClient, simulators: Simulators, dataset: Dataset
) -> None:
    query = """
    {
      scheduledBots(first: 100) {
        edges { node { botId calendarEventId meeting { id source sourceId } } }
      }
    }
    """
    body = await gql(query)
    by_event = {r["event_id"]: r for r in dataset.salesloft if r["event_id"] is not None}
    bots = future_bots(dataset, NOW)
    expected = []
    for bot in bots:
        record = by_event.get(bot.event_id or "")
        meeting = None
        if record is not None:
            meeting = {
                "id": global_id("Meeting", f"salesloft:{record['id']}"),
                "source": "SALESLOFT",
                "sourceId": str(record["id"]),
            }
        expected.append({"botId": bot.bot_id, "calendarEventId": bot.event_id, "meeting": meeting})
    assert [e["node"] for e in body["data"]["scheduledBots"]["edges"]] == expected
    assert any(e["meeting"] is None for e in expected)  # some events are not Salesloft's
    assert sum(e["meeting"] is not None for e in expected) > 1
    # Every bot's meeting in one batched look-up: active and canceled listings by event id.
    made = simulators.salesloft.requests
    assert sorted(r.params["show_deleted"] for r in made) == ["false", "true"]
    for request in made:
        asked = sorted(value for name, value in request.query if name == "event_ids[]")
        assert asked == sorted({b.event_id for b in bots if b.event_id is not None})
    assert len(simulators.meetstream.requests) == 1


async def test_bots_found_by_id_or_by_their_meeting_lead_to_it_in_one_look_up(
    gql: GraphQLClient, simulators: Simulators, dataset: Dataset
) -> None:
    # Not a page of bots: nothing looked their meetings up beforehand, so the loader does,
    # for every bot that asks, in one batch.
    by_event = {r["event_id"]: r for r in dataset.salesloft if r["event_id"] is not None}
    bot = next(b for b in future_bots(dataset, NOW) if b.event_id in by_event)
    meeting_id = global_id("Meeting", f"salesloft:{by_event[bot.event_id]['id']}")
    query = """
    query ($bot: ID!, $meeting: ID!) {
      node(id: $bot) { ... on ScheduledBot { botId meeting { id } } }
      meeting(id: $meeting) { bots { botId meeting { id } } }
    }
    """
    bot_id = global_id("ScheduledBot", f"meetstream:{bot.bot_id}")
    body = await gql(query, {"bot": bot_id, "meeting": meeting_id})
    assert "errors" not in body
    assert body["data"]["node"] == {"botId": bot.bot_id, "meeting": {"id": meeting_id}}
    bots = body["data"]["meeting"]["bots"]
    assert {"botId": bot.bot_id, "meeting": {"id": meeting_id}} in bots
    assert all(b["meeting"] == {"id": meeting_id} for b in bots)
    by_event_requests = [r for r in simulators.salesloft.requests if "event_ids[]" in r.params]
    assert len(by_event_requests) == 2  # the active and the canceled listing, once


# --- sources --------------------------------------------------------------------------------------

SOURCES = "{ sources { source enabled baseUrl lastSuccessAt lastError } }"
ENUM_ORDER = ["LEEZY", "NEXOR", "MEETSTREAM", "SALESLOFT", "DAILY"]


async def test_sources_report_configuration_without_keys(
    gql: GraphQLClient, simulators: Simulators
) -> None:
    body = await gql(SOURCES)
    assert body.pop("extensions")["upstream"]["requests"] == 0  # configuration only
    assert body == {
        "data": {
            "sources": [
                {
                    "source": name,
                    "enabled": True,
                    "baseUrl": simulators.by_name(name.lower()).base_url,
                    "lastSuccessAt": None,
                    "lastError": None,
                }
                for name in ENUM_ORDER
            ]
        }
    }
    assert request_counts(simulators) == dict.fromkeys(request_counts(simulators), 0)


async def test_sources_report_a_disabled_source_and_the_last_error(
    simulators: Simulators, settings: Settings, http: aiohttp.ClientSession
) -> None:
    wrong_key = "lzy_at_wrong_4c1d9e"
    changed = with_source(settings, Source.DAILY, api_key=None)
    changed = with_source(changed, Source.LEEZY, api_key=SecretStr(wrong_key))
    async with running_gateway(changed, http) as gql:
        await gql("{ meetings(first: 1) { totalCount } }")
        body = await gql(SOURCES)
    health = {s["source"]: s for s in body["data"]["sources"]}
    assert list(health) == ENUM_ORDER
    assert health["DAILY"] == {
        "source": "DAILY",
        "enabled": False,
        "baseUrl": simulators.daily.base_url,
        "lastSuccessAt": None,
        "lastError": None,
    }
    assert health["LEEZY"]["enabled"] is True
    assert health["LEEZY"]["lastSuccessAt"] is None
    assert health["LEEZY"]["lastError"] == "LEEZY: refused the credentials (401)"
    assert health["SALESLOFT"]["lastSuccessAt"] is not None
    assert health["SALESLOFT"]["lastError"] is None
    assert health["NEXOR"]["lastSuccessAt"] is None  # not asked: no leadIds
    assert simulators.daily.requests == []
    text = json.dumps(body)
    for secret in (wrong_key, *(simulator.api_key for simulator in simulators)):
        assert secret not in text


# --- ids ------------------------------------------------------------------------------------------

BAD_IDS = {
    "not base64": "not base64 at all!",
    "base64 without a type": "bm90IGFuIGlk",  # "not an id"
    "unknown type": global_id("Invoice", "leezy:meeting_5b7ebdb63fa4"),
    "unknown source": global_id("Meeting", "zoom:123"),
    "no source": global_id("Meeting", "123"),
    "lead of a source without leads": global_id("Lead", "leezy:abc"),
    "nexor lead not a uuid": global_id("Lead", "nexor:not-a-uuid"),
    "nexor meeting lead not a uuid": global_id("Meeting", "nexor:not-a-uuid:abc"),
    "nexor meeting without its lead": global_id("Meeting", f"nexor:{UNKNOWN_UUID}"),
    "salesloft meeting not a number": global_id("Meeting", "salesloft:abc"),
    "salesloft person not a number": global_id("Lead", "salesloft:abc"),
    "bot of another source": global_id("ScheduledBot", "leezy:abc"),
}


async def test_a_bad_id_is_bad_user_input(gql: GraphQLClient, simulators: Simulators) -> None:
    """Every kind of bad id in one query: one BAD_USER_INPUT per field, no upstream call."""
    names = list(BAD_IDS)
    fields = " ".join(f"b{i}: node(id: $b{i}) {{ id }}" for i in range(len(names)))
    arguments = ", ".join(f"$b{i}: ID!" for i in range(len(names)))
    variables = {f"b{i}": BAD_IDS[name] for i, name in enumerate(names)}
    body = await gql(f"query BadIds({arguments}) {{ {fields} }}", variables)

    assert body["data"] == dict.fromkeys(variables)
    errors = {error["path"][0]: error for error in body["errors"]}
    assert sorted(errors) == sorted(variables)
    for alias, name in zip(variables, names, strict=True):
        assert errors[alias]["path"] == [alias]
        assert errors[alias]["extensions"]["code"] == "BAD_USER_INPUT", (name, errors[alias])
    assert request_counts(simulators) == dict.fromkeys(request_counts(simulators), 0)


WRONG_TYPE = """
query WrongType($meetingId: ID!, $leadId: ID!) {
  lead(id: $meetingId) { id }
  meeting(id: $leadId) { id }
}
"""


async def test_an_id_of_another_type_is_bad_user_input(
    gql: GraphQLClient, simulators: Simulators, dataset: Dataset
) -> None:
    meeting = one_meeting_per_source(dataset)[0]
    variables = {"meetingId": meeting.id, "leadId": lead_id("salesloft", salesloft_person(dataset))}
    body = await gql(WRONG_TYPE, variables)
    assert body["data"] == {"lead": None, "meeting": None}
    errors = sorted(body["errors"], key=lambda error: error["path"][0])
    assert [error["path"] for error in errors] == [["lead"], ["meeting"]]
    assert {error["extensions"]["code"] for error in errors} == {"BAD_USER_INPUT"}
    assert "is a Meeting id, not a Lead id" in errors[0]["message"]
    assert "is a Lead id, not a Meeting id" in errors[1]["message"]

    # In `leads` the whole list fails (it is non-null), before any upstream call.
    leads = "query Leads($ids: [ID!]!) { leads(ids: $ids) { id } }"
    body = await gql(leads, {"ids": [variables["leadId"], meeting.id]})
    assert body["data"] is None
    [error] = body["errors"]
    assert error["path"] == ["leads"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert request_counts(simulators) == dict.fromkeys(request_counts(simulators), 0)


UNKNOWN_IDS = {  # name -> (id, the typed root field that takes it, if any)
    "leezy meeting": (global_id("Meeting", "leezy:meeting_000000000000"), "meeting"),
    "nexor meeting of a known lead": ("", "meeting"),  # built from the data set below
    "nexor meeting of an unknown lead": (
        global_id("Meeting", f"nexor:{UNKNOWN_UUID}:{UNKNOWN_UUID}"),
        "meeting",
    ),
    "salesloft meeting": (global_id("Meeting", "salesloft:99999999"), "meeting"),
    "daily meeting": (global_id("Meeting", f"daily:{UNKNOWN_UUID}"), "meeting"),
    "nexor lead": (global_id("Lead", f"nexor:{UNKNOWN_UUID}"), "lead"),
    "salesloft person": (global_id("Lead", "salesloft:1"), "lead"),
    "bot": (global_id("ScheduledBot", f"meetstream:{UNKNOWN_UUID}"), None),
}


async def test_an_unknown_well_formed_id_is_null(gql: GraphQLClient, dataset: Dataset) -> None:
    """Each as `node` and as its typed field (`meeting`, `lead`): null, without an error."""
    lead = nexor_lead_with_meetings(dataset)
    ids = {name: unknown for name, (unknown, _) in UNKNOWN_IDS.items()}
    ids["nexor meeting of a known lead"] = global_id("Meeting", f"nexor:{lead}:{uuid.UUID(int=1)}")
    selections, arguments, variables = [], [], {}
    for i, (name, (_, field)) in enumerate(UNKNOWN_IDS.items()):
        arguments.append(f"$u{i}: ID!")
        variables[f"u{i}"] = ids[name]
        selections.append(f"node{i}: node(id: $u{i}) {{ id }}")
        if field is not None:
            selections.append(f"typed{i}: {field}(id: $u{i}) {{ id }}")
    query = f"query Unknown({', '.join(arguments)}) {{ {' '.join(selections)} }}"
    body = await gql(query, variables)
    aliases = [selection.split(":")[0] for selection in selections]
    assert body.pop("extensions")["upstream"]["requests"] > 0
    assert body == {"data": dict.fromkeys(aliases)}


async def test_a_bot_may_name_its_meeting_by_the_events_ical_uid(
    gql: GraphQLClient, simulators: Simulators, dataset: Dataset
) -> None:
    meeting = copy.deepcopy(next(r for r in dataset.salesloft if r["i_cal_uid"] is not None))
    meeting["event_id"] = None  # known to the bot's calendar by its iCal UID only
    simulators.salesloft.upsert(meeting)
    bot = copy.deepcopy(dataset.meetstream[0])
    bot.update(
        bot_id="bot-by-ical-uid",
        scheduled_join_time=iso_z(NOW + timedelta(hours=1)),
        custom_attributes={"event_id": meeting["i_cal_uid"]},
    )
    simulators.meetstream.upsert(bot)
    meeting_id = global_id("Meeting", f"salesloft:{meeting['id']}")
    query = """
    query ($id: ID!) {
      meeting(id: $id) { bots { botId } }
      scheduledBots(first: 100) { edges { node { botId meeting { id } } } }
    }
    """
    body = await gql(query, {"id": meeting_id})
    assert body["data"]["meeting"]["bots"] == [{"botId": "bot-by-ical-uid"}]
    nodes = [e["node"] for e in body["data"]["scheduledBots"]["edges"]]
    assert {"botId": "bot-by-ical-uid", "meeting": {"id": meeting_id}} in nodes


async def test_the_bots_of_a_page_are_asked_beside_its_meetings(
    gql: GraphQLClient, simulators: Simulators
) -> None:
    for simulator in simulators:
        simulator.inject(Fault(kind=FaultKind.LATENCY, latency_ms=200))
    query = (
        "{ meetings(first: 10, filter: {upcoming: true}) { edges { node { bots { botId } } } } }"
    )
    body = await gql(query)
    assert "errors" not in body
    (bots,) = simulators.meetstream.requests
    meetings = [r for name in ("leezy", "salesloft") for r in simulators.by_name(name).requests]
    assert meetings
    # One round: the bot listing went out while the meetings were still on their way.
    assert all(bots.started_at < request.ended_at for request in meetings if request.ended_at)
