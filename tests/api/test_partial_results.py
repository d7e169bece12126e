"""DESIGN §4: one failing upstream never fails the query, and the fan-out is concurrent.

Every meeting source is broken in every way an upstream can break (5xx, 429, malformed
JSON, a body of the wrong shape, a connection reset, no answer at all, refused credentials,
one malformed record); the query still answers 200 with every meeting of the other sources,
one error for the failed source and its state in `sources`, and never an API key.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from pydantic import SecretStr

from gateway.config import Settings
from gateway.model import Source
from gateway.simulators.cluster import Simulators
from gateway.simulators.core import Simulator
from gateway.simulators.dataset import Dataset
from gateway.simulators.faults import Fault, FaultKind
from tests.api.expected import ExpectedMeeting, expected_meetings, lead_id
from tests.api.expected_bots import bots_by_event, future_bots, salesloft_event_ids
from tests.api.serving import running_gateway, with_source
from tests.conftest import REFERENCE_NOW

# A window around "now" small enough that every match fits on one page of 100.
WINDOW_AFTER = REFERENCE_NOW - timedelta(days=3)
WINDOW_BEFORE = REFERENCE_NOW + timedelta(days=3)
SHORT_TIMEOUT = 0.5  # seconds, for the source that never answers
WRONG_KEY = "wrong-key-7f3a9c"  # sent instead of the real key: refused by the upstream
# Without a Retry-After header: Leezy says "retry after 60 seconds", Salesloft's budget is
# per minute, Daily's longest window is 5 s, Nexor documents nothing (a minute, to be safe).
RETRY_AFTER = {"LEEZY": 60, "NEXOR": 60, "SALESLOFT": 60, "DAILY": 5}
MEETING_SOURCES = ("LEEZY", "NEXOR", "SALESLOFT", "DAILY")

MEETINGS = """
query Meetings($filter: MeetingFilter) {
  meetings(first: 100, filter: $filter) {
    totalCount
    edges { node { id source sourceId } }
    sources { source state message retryAfterSeconds }
  }
}
"""


@dataclass(frozen=True)
class Failure:
    name: str
    state: str  # in `sources`
    code: str  # in `errors[].extensions.code`


FAILURES = (
    Failure("server_error", "UNAVAILABLE", "UPSTREAM_UNAVAILABLE"),
    Failure("rate_limited", "RATE_LIMITED", "UPSTREAM_RATE_LIMITED"),
    Failure("malformed_json", "BAD_RESPONSE", "UPSTREAM_BAD_RESPONSE"),
    Failure("wrong_shape", "BAD_RESPONSE", "UPSTREAM_BAD_RESPONSE"),
    Failure("connection_reset", "UNAVAILABLE", "UPSTREAM_UNAVAILABLE"),
    Failure("hang", "TIMEOUT", "UPSTREAM_TIMEOUT"),
    Failure("wrong_api_key", "UNAUTHORIZED", "UPSTREAM_UNAUTHORIZED"),
    Failure("malformed_record", "BAD_RESPONSE", "UPSTREAM_BAD_RESPONSE"),
)
FAULTS = {
    "server_error": Fault(kind=FaultKind.ERROR, status=503),
    "rate_limited": Fault(kind=FaultKind.RATE_LIMIT),
    "malformed_json": Fault(kind=FaultKind.MALFORMED_JSON),
    "wrong_shape": Fault(kind=FaultKind.WRONG_SHAPE),
    "connection_reset": Fault(kind=FaultKind.RESET),
    "hang": Fault(kind=FaultKind.HANG),
}


# --- the two query shapes: all sources but Nexor, or Nexor and Salesloft by lead ------------


def busiest_nexor_lead(dataset: Dataset) -> str:
    """The Nexor lead with the most meetings (the first such in the data set)."""
    return max(dataset.nexor_meetings, key=lambda lead: len(dataset.nexor_meetings[lead]))


def busiest_salesloft_person(dataset: Dataset) -> int:
    counts: dict[int, int] = {}
    for record in dataset.salesloft:
        if record["person"] is not None:
            person = record["person"]["id"]
            counts[person] = counts.get(person, 0) + 1
    return max(counts, key=lambda person: counts[person])


def leads_filter(dataset: Dataset) -> dict[str, Any]:
    """A Nexor lead and a Salesloft person: reaches Nexor and Salesloft only."""
    return {
        "leadIds": [
            lead_id("nexor", busiest_nexor_lead(dataset)),
            lead_id("salesloft", str(busiest_salesloft_person(dataset))),
        ]
    }


WINDOW_FILTER = {"startAfter": WINDOW_AFTER.isoformat(), "startBefore": WINDOW_BEFORE.isoformat()}


def query_for(failed: str, dataset: Dataset) -> tuple[dict[str, Any], list[ExpectedMeeting]]:
    """The filter that reaches `failed`, and every meeting it matches, in the merged order."""
    # Nexor answers per lead only; without leadIds the others answer and Nexor is SKIPPED.
    meeting_filter = leads_filter(dataset) if failed == "NEXOR" else WINDOW_FILTER
    return meeting_filter, expected_meetings(dataset, REFERENCE_NOW, meeting_filter)


def asked_sources(failed: str) -> tuple[str, ...]:
    return ("NEXOR", "SALESLOFT") if failed == "NEXOR" else ("LEEZY", "SALESLOFT", "DAILY")


# --- breaking one source --------------------------------------------------------------------


def wire_record(dataset: Dataset, meeting: ExpectedMeeting) -> dict[str, Any]:
    """A deep copy of the wire record behind an expected meeting."""
    records: list[dict[str, Any]] = {
        "LEEZY": dataset.leezy,
        "NEXOR": [r for rs in dataset.nexor_meetings.values() for r in rs],
        "SALESLOFT": dataset.salesloft,
        "DAILY": dataset.daily,
    }[meeting.source]
    found = next(r for r in records if str(r["id"]) == meeting.source_id)
    copied: dict[str, Any] = json.loads(json.dumps(found))
    return copied


def malformed_record(
    source: str, dataset: Dataset, matches: list[ExpectedMeeting]
) -> dict[str, Any]:
    """One record the query reads, with a field of the wrong type (the rest stays valid)."""
    record = wire_record(dataset, next(m for m in matches if m.source == source))
    match source:
        case "LEEZY":
            record["attributes"]["attendee"] = "Chloé, by phone"  # an object belongs here
        case "NEXOR":
            record["duration_minutes"] = "sixty"
            record["lead_id"] = busiest_nexor_lead(dataset)  # where the simulator stores it
        case "SALESLOFT":
            record["title"] = 4711
        case "DAILY":
            record["duration"] = "about an hour"
    return record


def break_source(
    failure: Failure,
    simulator: Simulator,
    settings: Settings,
    dataset: Dataset,
    matches: list[ExpectedMeeting],
) -> Settings:
    """Breaks the simulator of one source; returns the settings the gateway runs with."""
    source = Source(simulator.name)
    if failure.name in FAULTS:
        simulator.inject(FAULTS[failure.name])
    if failure.name == "hang":
        return with_source(settings, source, timeout=SHORT_TIMEOUT)
    if failure.name == "wrong_api_key":
        return with_source(settings, source, api_key=SecretStr(WRONG_KEY))
    if failure.name == "malformed_record":
        simulator.upsert(malformed_record(source.name, dataset, matches))
    return settings


def secrets(simulators: Simulators) -> list[str]:
    return [WRONG_KEY, *(simulator.api_key for simulator in simulators)]


@pytest.mark.parametrize("failure", FAILURES, ids=lambda f: f.name)
@pytest.mark.parametrize("failed", MEETING_SOURCES)
async def test_one_failing_source_leaves_the_others_whole(
    failed: str,
    failure: Failure,
    simulators: Simulators,
    settings: Settings,
    dataset: Dataset,
    http: aiohttp.ClientSession,
) -> None:
    meeting_filter, matches = query_for(failed, dataset)
    simulator = simulators.by_name(failed.lower())
    gateway_settings = break_source(failure, simulator, settings, dataset, matches)

    async with running_gateway(gateway_settings, http) as gql:
        body = await gql(MEETINGS, {"filter": meeting_filter})

    survivors = [m for m in matches if m.source != failed]
    assert survivors, "the other sources must have meetings in this query"
    connection = body["data"]["meetings"]
    assert [e["node"]["id"] for e in connection["edges"]] == [m.id for m in survivors]
    assert connection["totalCount"] == len(survivors)

    retry_after = RETRY_AFTER[failed] if failure.state == "RATE_LIMITED" else None
    assert body["errors"] == [
        {
            "message": body["errors"][0]["message"],
            "path": ["meetings"],
            "extensions": {
                "code": failure.code,
                "source": failed,
                "retryAfterSeconds": retry_after,
            },
        }
    ]
    assert body["errors"][0]["message"].startswith(f"{failed}: ")

    states = {s["source"]: s for s in connection["sources"]}
    assert list(states) == list(MEETING_SOURCES)
    for source in MEETING_SOURCES:
        expected = (
            failure.state
            if source == failed
            else "OK"
            if source in asked_sources(failed)
            else "SKIPPED"
        )
        assert states[source]["state"] == expected, source
    failed_state = states[failed]
    assert failed_state["message"]
    assert failed_state["retryAfterSeconds"] == retry_after
    assert failed_state["message"] in body["errors"][0]["message"]

    text = json.dumps(body)
    for secret in secrets(simulators):
        assert secret not in text
    assert simulator.requests, "the failed source was asked"
    simulator.clear_faults()  # lets a hanging request finish


async def test_a_hanging_source_is_cut_off_at_its_timeout(
    simulators: Simulators, settings: Settings, dataset: Dataset, http: aiohttp.ClientSession
) -> None:
    """The TIMEOUT message names the configured timeout; the answer comes without it."""
    simulators.daily.inject(Fault(kind=FaultKind.HANG))
    meeting_filter, _ = query_for("DAILY", dataset)
    gateway_settings = with_source(settings, Source.DAILY, timeout=SHORT_TIMEOUT)
    async with running_gateway(gateway_settings, http) as gql:
        body = await gql(MEETINGS, {"filter": meeting_filter})
    daily = next(s for s in body["data"]["meetings"]["sources"] if s["source"] == "DAILY")
    assert daily["state"] == "TIMEOUT"
    assert daily["message"] == "no answer within 0.5 s"
    # The request is still open at the simulator: the gateway gave up, it did not wait.
    assert [r.ended_at for r in simulators.daily.requests] == [None]
    simulators.daily.clear_faults()


# --- concurrency ----------------------------------------------------------------------------

FAN_OUT = """
query FanOut($window: MeetingFilter!, $leads: MeetingFilter!) {
  everyone: meetings(first: 100, filter: $window) {
    edges { node { id bots { botId } } }
  }
  ofLeads: meetings(first: 100, filter: $leads) {
    edges { node { id bots { botId } } }
  }
  scheduledBots(first: 100) { totalCount }
}
"""
LATENCY = Fault(kind=FaultKind.LATENCY, latency_ms=300)


def pages(count: int, per_page: int = 100) -> int:
    """Requests to read `count` records at 100 a page (an empty listing is one request)."""
    return max(1, math.ceil(count / per_page))


def expected_requests(dataset: Dataset) -> dict[str, int]:
    """Upstream requests of FAN_OUT: every page each source needs, each listing once."""
    window = expected_meetings(dataset, REFERENCE_NOW, WINDOW_FILTER)
    by_person = expected_meetings(dataset, REFERENCE_NOW, leads_filter(dataset))
    salesloft_window = [m for m in window if m.source == "SALESLOFT"]

    def listings(meetings: list[ExpectedMeeting]) -> int:
        # Salesloft lists active and canceled meetings separately (`show_deleted`).
        salesloft = [m for m in meetings if m.source == "SALESLOFT"]
        canceled = [m for m in salesloft if m.status == "CANCELLED"]
        return pages(len(salesloft) - len(canceled)) + pages(len(canceled))

    return {
        "leezy": pages(len(dataset.leezy)),  # Leezy cannot filter by time: every page
        "nexor": 1,  # one lead, no pagination
        "meetstream": 1,  # one listing for scheduledBots and every Meeting.bots
        "salesloft": listings(salesloft_window) + listings(by_person),
        "daily": pages(len([m for m in window if m.source == "DAILY"])),
    }


async def test_the_fan_out_is_concurrent(
    simulators: Simulators, settings: Settings, dataset: Dataset, http: aiohttp.ClientSession
) -> None:
    for simulator in simulators:
        simulator.inject(LATENCY)
    variables = {"window": WINDOW_FILTER, "leads": leads_filter(dataset)}
    async with running_gateway(settings, http) as gql:
        body = await gql(FAN_OUT, variables)
    assert "errors" not in body

    # Right answers first: every meeting of each field, with the bots joining it.
    joining = bots_by_event(dataset, REFERENCE_NOW)
    events = salesloft_event_ids(dataset)

    def expected_edges(meeting_filter: dict[str, Any]) -> list[dict[str, Any]]:
        edges = []
        for m in expected_meetings(dataset, REFERENCE_NOW, meeting_filter):
            event = events.get(m.source_id) if m.source == "SALESLOFT" else None
            bots = [{"botId": b.bot_id} for b in joining.get(event or "", [])]
            edges.append({"node": {"id": m.id, "bots": bots}})
        return edges

    assert body["data"]["everyone"]["edges"] == expected_edges(WINDOW_FILTER)
    assert body["data"]["ofLeads"]["edges"] == expected_edges(leads_filter(dataset))
    assert body["data"]["scheduledBots"]["totalCount"] == len(future_bots(dataset, REFERENCE_NOW))
    assert any(e["node"]["bots"] for e in body["data"]["everyone"]["edges"])

    # Exactly the requests needed, and all five upstreams in flight at one moment.
    requests = {simulator.name: simulator.requests for simulator in simulators}
    assert {name: len(made) for name, made in requests.items()} == expected_requests(dataset)
    firsts = [made[0] for made in requests.values()]
    latest_start = max(r.started_at for r in firsts)
    earliest_end = min(r.ended_at or math.inf for r in firsts)
    assert latest_start < earliest_end
    # Salesloft's four listings (active and canceled, for each field) overlap too.
    assert simulators.salesloft.peak_in_flight == expected_requests(dataset)["salesloft"]
