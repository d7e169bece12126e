"""NexorSource against the Nexor simulator: per-lead calls, mapping, push-down, leads, errors."""

from __future__ import annotations

import copy
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pytest
from pydantic import SecretStr

from gateway.cache.upstream import UpstreamCache
from gateway.config import Settings
from gateway.errors import (
    BadUserInput,
    UpstreamBadResponse,
    UpstreamError,
    UpstreamRateLimited,
    UpstreamUnauthorized,
    UpstreamUnavailable,
)
from gateway.model import (
    Attendee,
    Lead,
    LeadKey,
    LocationType,
    Meeting,
    MeetingStatus,
    Platform,
    Source,
)
from gateway.query import Direction, MeetingFilter, OrderField, Ordering, Position
from gateway.simulators.cluster import Simulators
from gateway.simulators.dataset import Dataset
from gateway.simulators.faults import Fault, FaultKind
from gateway.sources.base import MeetingRequest
from gateway.sources.nexor import NexorSource, is_lead_id
from tests.conftest import REFERENCE_NOW
from tests.sources.helpers import Record, time
from tests.sources.helpers import request as base_request

UNKNOWN_LEAD = "00000000-0000-4000-8000-000000000000"
STATUS = {
    "scheduled": MeetingStatus.SCHEDULED,
    "confirmed": MeetingStatus.CONFIRMED,
    "completed": MeetingStatus.COMPLETED,
    "cancelled": MeetingStatus.CANCELLED,
    "no_show": MeetingStatus.NO_SHOW,
}
LOCATION = {
    "video": LocationType.VIDEO,
    "phone": LocationType.PHONE,
    "in_person": LocationType.IN_PERSON,
}
HOSTS = {
    "meet.google.com": Platform.GOOGLE_MEET,
    "zoom.us": Platform.ZOOM,
    "teams.microsoft.com": Platform.TEAMS,
}


def key(lead_id: str) -> LeadKey:
    return LeadKey(Source.NEXOR, lead_id)


def request(
    lead_ids: list[str] | None,
    ordering: Ordering | None = None,
    after: Position | None = None,
    **conditions: Any,
) -> MeetingRequest:
    """Nexor is read per lead, so every request names its leads (None: no lead filter)."""
    keys = None if lead_ids is None else frozenset(key(lead) for lead in lead_ids)
    meeting_filter = MeetingFilter(lead_ids=keys, **conditions)
    return base_request(meeting_filter, ordering=ordering, after=after)


def expected_platform(record: Record) -> Platform | None:
    url = record["meeting_url"]
    host = urlsplit(url).hostname if url else None
    if host in HOSTS:
        return HOSTS[host]
    if host is not None and host.endswith(".daily.co"):
        return Platform.DAILY
    if host is not None and host.endswith(".zoom.us"):
        return Platform.ZOOM
    return Platform.OTHER if record["location_type"] == "video" else None


def busiest(dataset: Dataset) -> str:
    return max(dataset.nexor_meetings, key=lambda lead: len(dataset.nexor_meetings[lead]))


def idle(dataset: Dataset) -> str:
    return next(lead for lead, items in dataset.nexor_meetings.items() if not items)


def stored(dataset: Dataset, lead_id: str, **change: Any) -> Record:
    """The lead's first meeting changed as given, as the simulator's `upsert` takes it."""
    return {**copy.deepcopy(dataset.nexor_meetings[lead_id][0]), **change, "lead_id": lead_id}


async def listed(nexor: NexorSource, lead_id: str, meeting_id: str) -> Meeting:
    """The meeting as the lead's listing maps it (the listing must not fail)."""
    answer = await nexor.meetings(request([lead_id]))
    return next(m for m in answer.meetings if m.source_id == meeting_id)


def paths(simulators: Simulators) -> list[str]:
    prefix = "/api/public"
    return sorted(r.path.removeprefix(prefix) for r in simulators.nexor.requests)


async def test_maps_every_meeting_of_every_lead(
    nexor: NexorSource, simulators: Simulators, dataset: Dataset
) -> None:
    leads = list(dataset.nexor_meetings)
    simulators.nexor.inject(Fault(kind=FaultKind.LATENCY, latency_ms=50))

    answer = await nexor.meetings(request(leads))

    owners = {m["id"]: lead for lead, items in dataset.nexor_meetings.items() for m in items}
    by_id = {m.source_id: m for m in answer.meetings}
    assert answer.total == len(by_id) == len(owners) > 0
    for meeting_id, lead_id in owners.items():
        raw = next(m for m in dataset.nexor_meetings[lead_id] if m["id"] == meeting_id)
        meeting = by_id[meeting_id]
        lead = Lead(key(lead_id), raw["attendee_name"], raw["attendee_email"])
        assert meeting.source is Source.NEXOR
        assert meeting.node_id == f"nexor:{lead_id}:{meeting_id}"
        assert meeting.status is STATUS[raw["status"]]
        assert meeting.source_status == raw["status"]
        assert meeting.start_time == time(raw["starts_at"])
        assert meeting.end_time == time(raw["ends_at"])
        assert meeting.start_time.tzinfo is UTC
        assert meeting.duration_minutes == raw["duration_minutes"]
        assert (meeting.title, meeting.timezone) == (raw["title"], raw["timezone"])
        assert meeting.meeting_url == raw["meeting_url"]
        assert meeting.location_type is LOCATION[raw["location_type"]]
        assert meeting.platform is expected_platform(raw)
        assert meeting.lead == lead
        assert [(a.name, a.email, a.is_organizer, a.lead) for a in meeting.attendees] == [
            (raw["attendee_name"], raw["attendee_email"], False, lead),
            (raw["host_name"], None, True, None),
        ]
        assert meeting.organizer is not None
        assert meeting.organizer.name == raw["host_name"]
        cancelled = raw["cancelled_at"]
        assert meeting.cancelled_at == (time(cancelled) if cancelled else None)
        assert meeting.cancellation_reason == raw["cancellation_reason"]
        assert meeting.created_at == time(raw["created_at"])
        assert meeting.updated_at is None
        assert meeting.raw == raw
    assert {m.status for m in answer.meetings} == set(STATUS.values())
    assert {m.location_type for m in answer.meetings} == set(LocationType)
    assert Platform.DAILY in {m.platform for m in answer.meetings}
    # One request per lead, all at once.
    assert paths(simulators) == sorted(f"/leads/{lead}/meetings" for lead in leads)
    assert simulators.nexor.peak_in_flight == len(leads)


async def test_an_unknown_lead_has_no_meetings(
    nexor: NexorSource, simulators: Simulators, dataset: Dataset
) -> None:
    lead = busiest(dataset)
    answer = await nexor.meetings(request([lead, UNKNOWN_LEAD]))

    assert {m.source_id for m in answer.meetings} == {m["id"] for m in dataset.nexor_meetings[lead]}
    assert [r.status for r in simulators.nexor.requests].count(404) == 1
    assert len(simulators.nexor.requests) == 2


@pytest.mark.parametrize(
    ("statuses", "param"),
    [
        ({MeetingStatus.CONFIRMED}, "confirmed"),
        (
            {MeetingStatus.NO_SHOW, MeetingStatus.SCHEDULED, MeetingStatus.PENDING},
            "scheduled,no_show",
        ),
        (set(STATUS.values()) | {MeetingStatus.IN_PROGRESS}, None),  # all five: no parameter
    ],
)
async def test_status_is_pushed_down(
    statuses: set[MeetingStatus],
    param: str | None,
    nexor: NexorSource,
    simulators: Simulators,
    dataset: Dataset,
) -> None:
    leads = list(dataset.nexor_meetings)[:6]
    answer = await nexor.meetings(request(leads, statuses=frozenset(statuses)))

    expected = {
        m["id"]
        for lead in leads
        for m in dataset.nexor_meetings[lead]
        if STATUS[m["status"]] in statuses
    }
    assert {m.source_id for m in answer.meetings} == expected
    assert answer.total == len(expected)
    assert [r.params.get("status") for r in simulators.nexor.requests] == [param] * len(leads)


@pytest.mark.parametrize(
    "conditions",
    [
        {"statuses": frozenset({MeetingStatus.PENDING, MeetingStatus.IN_PROGRESS})},
        {"updated_since": REFERENCE_NOW},  # Nexor has no update time
        {"chatbot_id": "cb_1"},
    ],
)
async def test_filters_no_nexor_meeting_can_match_make_no_call(
    conditions: dict[str, Any], nexor: NexorSource, simulators: Simulators, dataset: Dataset
) -> None:
    answer = await nexor.meetings(request([busiest(dataset)], **conditions))
    assert (answer.meetings, answer.total) == ([], 0)
    assert simulators.nexor.requests == []


async def test_without_nexor_leads_there_is_no_call(
    nexor: NexorSource, simulators: Simulators
) -> None:
    assert (await nexor.meetings(request(None))).meetings == []
    salesloft_only = MeetingRequest(
        filter=MeetingFilter(lead_ids=frozenset({LeadKey(Source.SALESLOFT, "42")})),
        ordering=Ordering(),
        now=REFERENCE_NOW,
    )
    assert (await nexor.meetings(salesloft_only)).meetings == []
    assert simulators.nexor.requests == []


async def test_residual_filters_apply(nexor: NexorSource, dataset: Dataset) -> None:
    leads = list(dataset.nexor_meetings)
    answer = await nexor.meetings(request(leads, upcoming=True, search="google"))
    expected = {
        m["id"]
        for items in dataset.nexor_meetings.values()
        for m in items
        if time(m["starts_at"]) > REFERENCE_NOW and "google" in m["title"].casefold()
    }
    assert {m.source_id for m in answer.meetings} == expected
    assert expected


@pytest.mark.parametrize(
    ("field", "direction", "attribute"),
    [
        (OrderField.START_TIME, Direction.DESC, "starts_at"),
        (OrderField.CREATED_AT, Direction.ASC, "created_at"),
    ],
)
async def test_orders_and_resumes_after_a_position(
    field: OrderField,
    direction: Direction,
    attribute: str,
    nexor: NexorSource,
    dataset: Dataset,
) -> None:
    records = [m for items in dataset.nexor_meetings.values() for m in items]
    expected = [
        m["id"]
        for m in sorted(
            records,
            key=lambda m: (time(m[attribute]), m["id"]),
            reverse=direction is Direction.DESC,
        )
    ]
    ordering = Ordering(field, direction)
    leads = list(dataset.nexor_meetings)
    everything = await nexor.meetings(request(leads, ordering))
    assert [m.source_id for m in everything.meetings] == expected

    fifth = next(m for m in records if m["id"] == expected[4])
    position = Position(time(fifth[attribute]), Source.NEXOR, fifth["id"])
    rest = await nexor.meetings(request(leads, ordering, after=position))
    assert [m.source_id for m in rest.meetings] == expected[5:]
    assert (rest.total, rest.has_before) == (len(records), True)


@pytest.mark.parametrize(
    ("text", "valid"),
    [
        ("6f1d2c3b-4a5e-4f60-8a9b-0c1d2e3f4a5b", True),
        ("6F1D2C3B-4A5E-4F60-8A9B-0C1D2E3F4A5B", False),
        ("{6f1d2c3b-4a5e-4f60-8a9b-0c1d2e3f4a5b}", False),
        ("6f1d2c3b4a5e4f608a9b0c1d2e3f4a5b", False),
        ("lead-42", False),
        ("", False),
    ],
)
def test_lead_key(text: str, valid: bool, nexor: NexorSource) -> None:
    assert nexor.lead_key(text) == (key(text) if valid else None)


async def test_lead(nexor: NexorSource, simulators: Simulators, dataset: Dataset) -> None:
    lead_id = busiest(dataset)
    latest = max(dataset.nexor_meetings[lead_id], key=lambda m: time(m["starts_at"]))
    assert await nexor.lead(key(lead_id)) == Lead(
        key(lead_id), latest["attendee_name"], latest["attendee_email"]
    )
    assert await nexor.lead(key(idle(dataset))) == Lead(key(idle(dataset)), None, None)
    assert await nexor.lead(key(UNKNOWN_LEAD)) is None
    assert len(simulators.nexor.requests) == 3
    assert all(
        "/leads/" in r.path and r.path.endswith("/meetings") for r in simulators.nexor.requests
    )


async def test_meeting_by_id(nexor: NexorSource, simulators: Simulators, dataset: Dataset) -> None:
    lead_id = busiest(dataset)
    wanted = dataset.nexor_meetings[lead_id][3]
    found = await nexor.meeting(f"{lead_id}:{wanted['id']}", REFERENCE_NOW)
    assert found is not None
    assert (found.node_id, found.raw) == (f"nexor:{lead_id}:{wanted['id']}", wanted)
    other_lead = next(lead for lead in dataset.nexor_meetings if lead != lead_id)
    assert await nexor.meeting(f"{other_lead}:{wanted['id']}", REFERENCE_NOW) is None
    assert await nexor.meeting(f"{UNKNOWN_LEAD}:{wanted['id']}", REFERENCE_NOW) is None
    assert paths(simulators) == sorted(
        f"/leads/{lead}/meetings" for lead in (lead_id, other_lead, UNKNOWN_LEAD)
    )


@pytest.mark.parametrize(
    "node_id",
    [
        "",
        "6f1d2c3b-4a5e-4f60-8a9b-0c1d2e3f4a5b",
        "6f1d2c3b-4a5e-4f60-8a9b-0c1d2e3f4a5b:",
        "6F1D2C3B-4A5E-4F60-8A9B-0C1D2E3F4A5B:6f1d2c3b-4a5e-4f60-8a9b-0c1d2e3f4a5b",
        "lead:6f1d2c3b-4a5e-4f60-8a9b-0c1d2e3f4a5b",
        "6f1d2c3b-4a5e-4f60-8a9b-0c1d2e3f4a5b:a:b",
    ],
)
async def test_meeting_with_a_malformed_id(
    node_id: str, nexor: NexorSource, simulators: Simulators
) -> None:
    with pytest.raises(BadUserInput, match="not a Nexor meeting id"):
        await nexor.meeting(node_id, REFERENCE_NOW)
    assert simulators.nexor.requests == []


async def test_documented_nulls_keep_the_listing(
    nexor: NexorSource, simulators: Simulators, dataset: Dataset
) -> None:
    """Every field Nexor types `string | null` null at once: no host yet is an organizer
    without a name, and the lead's other meetings are still listed."""
    lead_id = busiest(dataset)
    nullable = (
        "meeting_url",
        "location_details",
        "host_name",
        "meeting_type",
        "cancelled_at",
        "cancellation_reason",
        "no_show_reason",
        "outcome_notes",
    )
    record = stored(dataset, lead_id, **dict.fromkeys(nullable))
    simulators.nexor.upsert(record)

    answer = await nexor.meetings(request([lead_id]))

    assert len(answer.meetings) == len(dataset.nexor_meetings[lead_id])
    meeting = next(m for m in answer.meetings if m.source_id == record["id"])
    assert meeting.organizer == Attendee(None, None, is_organizer=True)
    assert [a.email for a in meeting.attendees] == [record["attendee_email"], None]
    assert (meeting.meeting_url, meeting.cancelled_at, meeting.cancellation_reason) == (
        None,
        None,
        None,
    )
    assert meeting.platform is expected_platform(record)


async def test_times_with_any_offset_and_precision(
    nexor: NexorSource, simulators: Simulators, dataset: Dataset
) -> None:
    lead_id = busiest(dataset)
    record = stored(
        dataset,
        lead_id,
        starts_at="2026-03-12T07:00:00-03:00",
        ends_at="2026-03-12T10:30:00.5+00:00",
        cancelled_at="2026-03-02T16:30:00.123456+05:30",
        created_at="2026-03-01T09:15:00Z",
    )
    simulators.nexor.upsert(record)

    meeting = await listed(nexor, lead_id, record["id"])

    assert meeting.start_time == datetime(2026, 3, 12, 10, 0, tzinfo=UTC)
    assert meeting.end_time == datetime(2026, 3, 12, 10, 30, 0, 500_000, tzinfo=UTC)
    assert meeting.cancelled_at == datetime(2026, 3, 2, 11, 0, 0, 123_456, tzinfo=UTC)
    assert meeting.created_at == datetime(2026, 3, 1, 9, 15, tzinfo=UTC)
    for moment in (meeting.start_time, meeting.end_time, meeting.cancelled_at):
        assert moment is not None
        assert moment.tzinfo is UTC


async def test_an_unknown_status_is_unknown_and_a_filter_finds_it(
    nexor: NexorSource, simulators: Simulators, dataset: Dataset
) -> None:
    lead_id = busiest(dataset)
    record = stored(dataset, lead_id, status="rescheduled")
    simulators.nexor.upsert(record)

    meeting = await listed(nexor, lead_id, record["id"])
    assert (meeting.status, meeting.source_status) == (MeetingStatus.UNKNOWN, "rescheduled")

    unknown = await nexor.meetings(request([lead_id], statuses=frozenset({MeetingStatus.UNKNOWN})))
    assert [m.source_id for m in unknown.meetings] == [record["id"]]
    wanted = frozenset({MeetingStatus.UNKNOWN, MeetingStatus.CONFIRMED})
    either = await nexor.meetings(request([lead_id], statuses=wanted))
    confirmed = {
        m["id"]
        for m in dataset.nexor_meetings[lead_id]
        if m["status"] == "confirmed" and m["id"] != record["id"]
    }
    assert {m.source_id for m in either.meetings} == {record["id"], *confirmed}
    # No `status` parameter could name it: none is sent.
    assert [r.params.get("status") for r in simulators.nexor.requests] == [None]


@pytest.mark.parametrize(
    ("location_type", "url", "location", "platform"),
    [
        ("video", "https://us02web.zoom.us/j/123456789", LocationType.VIDEO, Platform.ZOOM),
        ("video", "https://zoom.us/j/123456789", LocationType.VIDEO, Platform.ZOOM),
        ("video", "https://acme.daily.co/standup", LocationType.VIDEO, Platform.DAILY),
        ("video", "https://whereby.com/acme", LocationType.VIDEO, Platform.OTHER),
        ("phone", "https://us02web.zoom.us/j/1", LocationType.PHONE, Platform.ZOOM),
        # A location type Nexor adds later: no location type, the link's host still read.
        ("hybrid", "https://us02web.zoom.us/j/1", None, Platform.ZOOM),
        ("hybrid", "https://whereby.com/acme", None, None),
        ("hybrid", None, None, None),
    ],
)
async def test_location_type_and_platform(
    location_type: str,
    url: str | None,
    location: LocationType | None,
    platform: Platform | None,
    nexor: NexorSource,
    simulators: Simulators,
    dataset: Dataset,
) -> None:
    lead_id = busiest(dataset)
    record = stored(dataset, lead_id, location_type=location_type, meeting_url=url)
    simulators.nexor.upsert(record)

    meeting = await listed(nexor, lead_id, record["id"])

    assert (meeting.location_type, meeting.platform, meeting.meeting_url) == (
        location,
        platform,
        url,
    )


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"starts_at": "2026-03-12 10:00"}, "starts_at"),  # no offset: which zone?
        ({"starts_at": 1773309600}, "starts_at"),
        ({"confirmed_by_lead": "yes"}, "confirmed_by_lead"),
        ({"location_type": 3}, "location_type"),
        ({"location_type": None}, "location_type"),  # typed `string`, not `string | null`
        ({"status": None}, "status"),
        ({"host_name": 42}, "host_name"),
        ({"duration_minutes": "30"}, "duration_minutes"),
    ],
)
async def test_a_malformed_record_is_a_bad_response(
    change: Record, where: str, nexor: NexorSource, simulators: Simulators, dataset: Dataset
) -> None:
    lead_id = busiest(dataset)
    broken = {**copy.deepcopy(dataset.nexor_meetings[lead_id][0]), **change, "lead_id": lead_id}
    simulators.nexor.upsert(broken)
    with pytest.raises(UpstreamBadResponse, match=where):
        await nexor.meetings(request([lead_id]))


async def test_a_record_missing_a_field_is_a_bad_response(
    nexor: NexorSource, simulators: Simulators, dataset: Dataset
) -> None:
    lead_id = busiest(dataset)
    broken = {**copy.deepcopy(dataset.nexor_meetings[lead_id][0]), "lead_id": lead_id}
    del broken["host_name"]
    simulators.nexor.upsert(broken)
    with pytest.raises(UpstreamBadResponse, match="host_name"):
        await nexor.meetings(request([lead_id]))


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (Fault(kind=FaultKind.ERROR, status=503), UpstreamUnavailable),
        (Fault(kind=FaultKind.ERROR, status=500), UpstreamUnavailable),
        (Fault(kind=FaultKind.WRONG_SHAPE), UpstreamBadResponse),
        (Fault(kind=FaultKind.MALFORMED_JSON), UpstreamBadResponse),
        (Fault(kind=FaultKind.RATE_LIMIT), UpstreamRateLimited),
    ],
)
async def test_faults_map_to_upstream_errors(
    fault: Fault,
    error: type[UpstreamError],
    nexor: NexorSource,
    simulators: Simulators,
    dataset: Dataset,
) -> None:
    simulators.nexor.inject(fault)
    with pytest.raises(error) as caught:
        await nexor.meetings(request([busiest(dataset)]))
    assert type(caught.value) is error
    assert caught.value.source is Source.NEXOR
    assert simulators.nexor.api_key not in str(caught.value)


@pytest.mark.parametrize("secret", ["nxr_live_not_a_real_key_42", ""])
async def test_a_bad_key_is_unauthorized_and_not_echoed(
    secret: str,
    settings: Settings,
    upstream_session: aiohttp.ClientSession,
    upstream_cache: UpstreamCache,
    dataset: Dataset,
) -> None:
    bad = settings.nexor.model_copy(update={"api_key": SecretStr(secret)})
    source = NexorSource.create(bad, upstream_session, upstream_cache)
    with pytest.raises(UpstreamUnauthorized) as caught:
        await source.meetings(request([busiest(dataset)]))
    assert not secret or secret not in str(caught.value)


@pytest.mark.parametrize(
    "text",
    [
        "0f8fad5b-d9cb-469f-a165-70867728950e",
        "0F8FAD5B-D9CB-469F-A165-70867728950E",  # Nexor stores lower case
        "{0f8fad5b-d9cb-469f-a165-70867728950e}",
        "urn:uuid:0f8fad5b-d9cb-469f-a165-70867728950e",
        "0f8fad5bd9cb469fa16570867728950e",
        "0f8fad5b-d9cb-469f-a165-70867728950e\n",
        "0f8fad5b-d9cb-469f-a165-70867728950",
        "0f8fad5b-d9cb-469f-a165-70867728950g",
        "",
    ],
)
def test_a_lead_id_is_a_canonical_uuid(text: str) -> None:
    try:
        canonical = str(uuid.UUID(text)) == text
    except ValueError:
        canonical = False
    assert is_lead_id(text) is canonical
