"""SalesloftSource against the Salesloft simulator over real HTTP: mapping, push-down, paging,
leads, calendar events and errors."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

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
from gateway.model import LeadKey, LocationType, MeetingStatus, Platform, Source
from gateway.query import Direction, MeetingFilter, OrderField, Ordering, Position
from gateway.simulators.cluster import Simulators
from gateway.simulators.dataset import Dataset
from gateway.simulators.faults import Fault, FaultKind
from gateway.simulators.salesloft import EXPIRED_TOKEN, FORBIDDEN_TOKEN
from gateway.sources.http import JsonAnswer
from gateway.sources.salesloft import (
    COUNT_REQUESTS,
    SalesloftSource,
    listing_page,
    micro_z,
    to_meeting,
)
from tests.conftest import REFERENCE_NOW
from tests.sources.helpers import Record, ids, request, time

S = MeetingStatus
RESPONSES = {
    "needsAction": "NEEDS_ACTION",
    "accepted": "ACCEPTED",
    "tentative": "TENTATIVE",
    "declined": "DECLINED",
}


# --- expectations in plain Python over the wire dicts ---------------------------------------


def _maybe_time(text: str | None) -> datetime | None:
    return None if text is None else time(text)


def _status(record: Record) -> MeetingStatus:
    if record["canceled_at"] is not None:
        return S.CANCELLED
    if record["no_show"]:
        return S.NO_SHOW
    if record["status"] == "booked":
        ended = time(record["end_time"]) < REFERENCE_NOW
        return S.COMPLETED if ended else S.CONFIRMED
    known = {"pending": S.PENDING, "retry": S.PENDING, "failed": S.FAILED}
    return known.get(record["status"], S.UNKNOWN)


def _person(record: Record) -> int | None:
    return None if record["person"] is None else int(record["person"]["id"])


def _attendees(record: Record) -> list[tuple[Any, ...]]:
    """(name, email, organizer, response, person id) per §3b: attendees, recipient, guests."""
    people = [
        (a["name"], a["email"], a["organizer"], RESPONSES[a["status"]], _person(a))
        for a in record["attendees"]
    ]
    emails = {p[1].lower() for p in people}
    if record["recipient_email"].lower() not in emails:
        people.append(
            (record["recipient_name"], record["recipient_email"], False, "UNKNOWN", _person(record))
        )
        emails.add(record["recipient_email"].lower())
    for guest in record["guests"]:
        if guest.lower() not in emails:
            people.append((None, guest, False, "UNKNOWN", None))
            emails.add(guest.lower())
    return people


def _location(text: str | None) -> tuple[str | None, Platform | None, LocationType | None]:
    if text is None:
        return None, None, None
    if text.startswith("https://zoom.us/"):
        return text, Platform.ZOOM, LocationType.VIDEO
    if text.startswith("https://meet.google.com/"):
        return text, Platform.GOOGLE_MEET, LocationType.VIDEO
    if text == "Microsoft Teams Meeting":
        return None, Platform.TEAMS, LocationType.VIDEO
    if text.startswith("Phone: "):
        return None, None, LocationType.PHONE
    return None, None, LocationType.IN_PERSON


def _ordered(records: list[Record], field: str = "start_time", *, desc: bool = True) -> list[str]:
    """Ids in the merged order of one source: sort value, then id as a string."""
    ordered = sorted(records, key=lambda r: (time(r[field]), str(r["id"])), reverse=desc)
    return [str(r["id"]) for r in ordered]


def _listing_params(simulators: Simulators) -> list[dict[str, str]]:
    return sorted(
        (c.params for c in simulators.salesloft.requests),
        key=lambda p: (p["show_deleted"], int(p["page"])),
    )


# --- mapping --------------------------------------------------------------------------------


async def test_maps_every_meeting_field_by_field(
    salesloft: SalesloftSource, dataset: Dataset, simulators: Simulators
) -> None:
    answer = await salesloft.meetings(request())
    assert answer.total == len(dataset.salesloft) == 200
    assert ids(answer.meetings) == _ordered(dataset.salesloft)
    by_id = {str(r["id"]): r for r in dataset.salesloft}
    for meeting in answer.meetings:
        wire = by_id[meeting.source_id]
        assert meeting.node_id == f"salesloft:{wire['id']}"
        assert (meeting.status, meeting.source_status) == (_status(wire), wire["status"])
        assert meeting.start_time == time(wire["start_time"])
        assert meeting.end_time == time(wire["end_time"])
        assert meeting.cancelled_at == _maybe_time(wire["canceled_at"])
        assert meeting.created_at == time(wire["created_at"])
        assert meeting.updated_at == time(wire["updated_at"])
        for moment in (meeting.start_time, meeting.created_at, meeting.updated_at):
            assert moment is not None
            assert moment.tzinfo is UTC
        assert (meeting.title, meeting.description) == (wire["title"], wire["description"])
        calendar = (wire["event_id"], wire.get("i_cal_uid"))
        assert meeting.calendar_ids == tuple(i for i in calendar if i is not None)
        assert meeting.timezone is None
        location = (meeting.meeting_url, meeting.platform, meeting.location_type)
        assert location == _location(wire["location"])
        if wire["person"] is None:
            assert meeting.lead is None
        else:
            assert meeting.lead is not None
            assert meeting.lead.key == LeadKey(Source.SALESLOFT, str(wire["person"]["id"]))
            assert (meeting.lead.name, meeting.lead.email) == (
                wire["recipient_name"],
                wire["recipient_email"],
            )
        people = [
            (
                a.name,
                a.email,
                a.is_organizer,
                a.response_status.value,
                None if a.lead is None else int(a.lead.key.source_id),
            )
            for a in meeting.attendees
        ]
        assert people == _attendees(wire)
        assert meeting.raw == wire
    statuses = {m.status for m in answer.meetings}
    assert statuses == {S.CANCELLED, S.NO_SHOW, S.CONFIRMED, S.COMPLETED, S.PENDING, S.FAILED}
    assert {m.source_status for m in answer.meetings} == {"pending", "booked", "failed", "retry"}
    platforms = {m.platform for m in answer.meetings}
    assert platforms == {Platform.ZOOM, Platform.GOOGLE_MEET, Platform.TEAMS, None}
    assert any(len(m.attendees) > len(m.raw["attendees"]) for m in answer.meetings)


async def test_all_meetings_take_both_listings_with_pages(
    salesloft: SalesloftSource, dataset: Dataset, simulators: Simulators
) -> None:
    await salesloft.meetings(request())
    canceled = sum(r["canceled_at"] is not None for r in dataset.salesloft)
    active_pages = -(-(len(dataset.salesloft) - canceled) // 100)
    assert (canceled, active_pages) == (31, 2)
    sort = {"sort_by": "start_time", "sort_direction": "DESC", "per_page": "100"}
    counts = {"include_paging_counts": "true"}
    assert _listing_params(simulators) == [
        {"show_deleted": "false", **sort, "page": "1", **counts},
        {"show_deleted": "false", **sort, "page": "2"},
        {"show_deleted": "true", **sort, "page": "1", **counts},
    ]


async def test_remaining_pages_are_fetched_concurrently(
    salesloft: SalesloftSource, dataset: Dataset, simulators: Simulators
) -> None:
    template = next(r for r in dataset.salesloft if r["canceled_at"] is None)
    for number in range(1, 181):
        simulators.salesloft.upsert({**copy.deepcopy(template), "id": 90_000_000 + number})
    simulators.salesloft.inject(Fault(kind=FaultKind.LATENCY, latency_ms=60))
    answer = await salesloft.meetings(request())
    assert answer.total == 380
    pages = [(p["show_deleted"], p["page"]) for p in _listing_params(simulators)]
    assert pages == [("false", "1"), ("false", "2"), ("false", "3"), ("false", "4"), ("true", "1")]
    # Both first pages together, then pages 2-4 together.
    assert simulators.salesloft.peak_in_flight >= 3


# --- push-down ------------------------------------------------------------------------------


async def test_time_range_is_pushed_down_in_microseconds(
    salesloft: SalesloftSource, dataset: Dataset, simulators: Simulators
) -> None:
    after = datetime(2026, 3, 14, 9, 0, tzinfo=UTC)  # a meeting starts exactly here: kept
    before = datetime(2026, 3, 20, 10, 30, 0, 250, tzinfo=UTC)
    answer = await salesloft.meetings(
        request(MeetingFilter(start_after=after, start_before=before))
    )
    kept = [r for r in dataset.salesloft if after <= time(r["start_time"]) < before]
    assert ids(answer.meetings) == _ordered(kept)
    assert any(time(r["start_time"]) == after for r in kept)
    for params in _listing_params(simulators):
        assert params["start_time[gte]"] == "2026-03-14T09:00:00.000000Z"
        assert params["start_time[lt]"] == "2026-03-20T10:30:00.000250Z"
    assert len(simulators.salesloft.requests) == 2


@pytest.mark.parametrize(
    ("statuses", "listings"),
    [
        ({S.CANCELLED}, [{"show_deleted": "true"}]),
        ({S.NO_SHOW}, [{"show_deleted": "false", "no_show": "true"}]),
        ({S.CONFIRMED}, [{"show_deleted": "false", "no_show": "false", "status": "booked"}]),
        (
            {S.CONFIRMED, S.COMPLETED},
            [{"show_deleted": "false", "no_show": "false", "status": "booked"}],
        ),
        ({S.FAILED}, [{"show_deleted": "false", "no_show": "false", "status": "failed"}]),
        ({S.PENDING}, [{"show_deleted": "false", "no_show": "false"}]),
        ({S.NO_SHOW, S.FAILED}, [{"show_deleted": "false"}]),
        (
            {S.PENDING, S.CANCELLED},
            [{"show_deleted": "false", "no_show": "false"}, {"show_deleted": "true"}],
        ),
        (
            {S.FAILED, S.SCHEDULED},
            [{"show_deleted": "false", "no_show": "false", "status": "failed"}],
        ),
        ({S.SCHEDULED, S.IN_PROGRESS}, []),
        ({S.NO_SHOW, S.SCHEDULED}, [{"show_deleted": "false", "no_show": "true"}]),
        ({S.CANCELLED, S.IN_PROGRESS}, [{"show_deleted": "true"}]),
        # UNKNOWN is any status Salesloft adds later: no `status` can name it.
        ({S.UNKNOWN}, [{"show_deleted": "false", "no_show": "false"}]),
        ({S.UNKNOWN, S.FAILED}, [{"show_deleted": "false", "no_show": "false"}]),
        ({S.UNKNOWN, S.NO_SHOW}, [{"show_deleted": "false"}]),
    ],
)
async def test_status_push_down_keeps_every_match(
    salesloft: SalesloftSource,
    dataset: Dataset,
    simulators: Simulators,
    statuses: set[MeetingStatus],
    listings: list[dict[str, str]],
) -> None:
    answer = await salesloft.meetings(request(MeetingFilter(statuses=frozenset(statuses))))
    kept = [r for r in dataset.salesloft if _status(r) in statuses]
    assert ids(answer.meetings) == _ordered(kept)
    assert answer.total == len(kept)
    if statuses & {S.CANCELLED, S.NO_SHOW, S.FAILED, S.CONFIRMED}:
        assert kept
    pushed = [
        {k: v for k, v in p.items() if k in ("show_deleted", "no_show", "status")}
        for p in _listing_params(simulators)
        if p["page"] == "1"
    ]
    assert pushed == listings


async def test_lead_ids_become_person_ids(
    salesloft: SalesloftSource, dataset: Dataset, simulators: Simulators
) -> None:
    persons = sorted({r["person"]["id"] for r in dataset.salesloft if r["person"]})[:3]
    keys = {LeadKey(Source.SALESLOFT, str(p)) for p in persons}
    keys |= {LeadKey(Source.NEXOR, "5f0c6a8e-0000-4000-8000-000000000001")}
    keys |= {LeadKey(Source.SALESLOFT, "not-a-number")}
    answer = await salesloft.meetings(request(MeetingFilter(lead_ids=frozenset(keys))))
    kept = [r for r in dataset.salesloft if _person(r) in persons]
    assert kept
    assert ids(answer.meetings) == _ordered(kept)
    for call in simulators.salesloft.requests:
        assert [v for k, v in call.query if k == "person_ids[]"] == [str(p) for p in persons]
    assert len(simulators.salesloft.requests) == 2


async def test_no_possible_match_makes_no_call(
    salesloft: SalesloftSource, simulators: Simulators
) -> None:
    moment = datetime(2026, 3, 1, tzinfo=UTC)
    for meeting_filter in (
        MeetingFilter(start_after=moment, start_before=moment),
        MeetingFilter(lead_ids=frozenset({LeadKey(Source.SALESLOFT, "007")})),
    ):
        answer = await salesloft.meetings(request(meeting_filter))
        assert (answer.meetings, answer.total) == ([], 0)
    assert simulators.salesloft.requests == []


@pytest.mark.parametrize(
    ("ordering", "sort"),
    [
        (Ordering(OrderField.CREATED_AT, Direction.ASC), ("created_at", "ASC")),
        (Ordering(OrderField.UPDATED_AT, Direction.DESC), ("updated_at", "DESC")),
        (Ordering(OrderField.START_TIME, Direction.DESC, backwards=True), ("start_time", "ASC")),
    ],
)
async def test_order_is_pushed_down_and_after_cuts(
    salesloft: SalesloftSource,
    dataset: Dataset,
    simulators: Simulators,
    ordering: Ordering,
    sort: tuple[str, str],
) -> None:
    wire_field = sort[0]
    forward = _ordered(dataset.salesloft, wire_field, desc=ordering.direction is Direction.DESC)
    walk = forward[::-1] if ordering.backwards else forward
    by_id = {str(r["id"]): r for r in dataset.salesloft}
    cut = by_id[walk[57]]
    position = Position(time(cut[wire_field]), Source.SALESLOFT, str(cut["id"]))
    answer = await salesloft.meetings(request(ordering=ordering, after=position))
    assert ids(answer.meetings) == walk[58:]
    assert (answer.total, answer.has_before) == (200, True)
    for params in _listing_params(simulators):
        assert (params["sort_by"], params["sort_direction"]) == sort


# --- one meeting, calendar events, leads ----------------------------------------------------


async def test_meeting_by_id(
    salesloft: SalesloftSource, dataset: Dataset, simulators: Simulators
) -> None:
    active = next(r for r in dataset.salesloft if r["canceled_at"] is None)
    canceled = next(r for r in dataset.salesloft if r["canceled_at"] is not None)
    for wire in (active, canceled):
        found = await salesloft.meeting(str(wire["id"]), REFERENCE_NOW)
        assert found is not None
        assert (found.source_id, found.status, found.raw) == (str(wire["id"]), _status(wire), wire)
    assert await salesloft.meeting("999999999", REFERENCE_NOW) is None
    calls = simulators.salesloft.requests
    assert len(calls) == 6
    assert {c.params["show_deleted"] for c in calls} == {"true", "false"}
    assert [c.params["ids[]"] for c in calls[::2]] == [
        str(active["id"]),
        str(canceled["id"]),
        "999999999",
    ]
    for malformed in ("abc", "-5", "0", "012", "1.5", "", "salesloft:1"):
        with pytest.raises(BadUserInput):
            await salesloft.meeting(malformed, REFERENCE_NOW)
    assert len(simulators.salesloft.requests) == 6


async def test_meetings_by_event(
    salesloft: SalesloftSource, dataset: Dataset, simulators: Simulators
) -> None:
    canceled = next(r for r in dataset.salesloft if r["canceled_at"] is not None)
    active = [r for r in dataset.salesloft if r["canceled_at"] is None][:3]
    events = [r["event_id"] for r in (*active, canceled)] + ["evt-unknown"]
    found = await salesloft.meetings_by_event([*events, events[0]], REFERENCE_NOW)
    expected = [r for r in dataset.salesloft if r["event_id"] in events]
    expected.sort(key=lambda r: (time(r["start_time"]), r["id"]))
    assert [m.source_id for m in found] == [str(r["id"]) for r in expected]
    assert all(m.calendar_ids[0] in events for m in found)
    assert S.CANCELLED in {m.status for m in found}
    calls = simulators.salesloft.requests
    assert len(calls) == 2
    for call in calls:
        assert [v for k, v in call.query if k == "event_ids[]"] == sorted(set(events))
    assert await salesloft.meetings_by_event([], REFERENCE_NOW) == []
    assert len(simulators.salesloft.requests) == 2


async def test_a_repeated_look_up_maps_nothing_again(
    salesloft: SalesloftSource, dataset: Dataset, simulators: Simulators
) -> None:
    # The pages of a cached answer keep their mapping: the same meetings come back.
    events = [r["event_id"] for r in dataset.salesloft[:3]]
    ids_ = [str(r["id"]) for r in dataset.salesloft[3:6]]
    by_event = await salesloft.meetings_by_event(events, REFERENCE_NOW)
    by_id = await salesloft.meetings_by_ids(ids_, REFERENCE_NOW)
    assert (len(by_event), len(by_id)) == (3, 3)
    again = await salesloft.meetings_by_event(events, REFERENCE_NOW + timedelta(seconds=1))
    assert all(a is b for a, b in zip(again, by_event, strict=True))
    again = await salesloft.meetings_by_ids(ids_, REFERENCE_NOW)
    assert all(a is b for a, b in zip(again, by_id, strict=True))
    assert len(simulators.salesloft.requests) == 4  # each listing asked once, then cached


async def test_lead_key_and_lead(
    salesloft: SalesloftSource, dataset: Dataset, simulators: Simulators
) -> None:
    assert salesloft.lead_key("40001211") == LeadKey(Source.SALESLOFT, "40001211")
    for bad in ("abc", "0", "-3", "0040001211", "4e7", ""):
        assert salesloft.lead_key(bad) is None
    person = _person(dataset.salesloft[0])
    assert person is not None
    theirs = [r for r in dataset.salesloft if _person(r) == person]
    latest = max(theirs, key=lambda r: time(r["updated_at"]))
    lead = await salesloft.lead(LeadKey(Source.SALESLOFT, str(person)))
    assert lead is not None
    assert (lead.key.source_id, lead.name, lead.email) == (
        str(person),
        latest["recipient_name"],
        latest["recipient_email"],
    )
    calls = simulators.salesloft.requests
    assert len(calls) == 2
    assert {(c.params["person_id"], c.params["show_deleted"]) for c in calls} == {
        (str(person), "false"),
        (str(person), "true"),
    }
    assert await salesloft.lead(LeadKey(Source.SALESLOFT, "1")) is None
    assert await salesloft.lead(LeadKey(Source.SALESLOFT, "x1")) is None
    assert len(simulators.salesloft.requests) == 4


# --- what the vendor documents, read as it allows -------------------------------------------


def _stored(dataset: Dataset, record_id: int, **change: Any) -> Record:
    """An active, shown meeting of the data set under a new id, changed as given."""
    template = next(r for r in dataset.salesloft if r["canceled_at"] is None and not r["no_show"])
    return {**copy.deepcopy(template), "id": record_id, **change}


async def test_an_unknown_status_is_unknown_and_a_filter_finds_it(
    salesloft: SalesloftSource, dataset: Dataset, simulators: Simulators
) -> None:
    """§3b precedence stays: canceled, then no-show, then the status, UNKNOWN if unknown."""
    cases: dict[int, tuple[Record, MeetingStatus]] = {
        91_000_001: ({}, S.UNKNOWN),
        91_000_002: ({"no_show": True}, S.NO_SHOW),
        91_000_003: ({"canceled_at": "2026-03-01T10:00:00.000000Z"}, S.CANCELLED),
    }
    for record_id, (change, _) in cases.items():
        simulators.salesloft.upsert(_stored(dataset, record_id, status="rescheduled", **change))

    for record_id, (_, status) in cases.items():
        meeting = await salesloft.meeting(str(record_id), REFERENCE_NOW)
        assert meeting is not None
        assert (meeting.status, meeting.source_status) == (status, "rescheduled")
    simulators.salesloft.reset_requests()

    unknown = await salesloft.meetings(request(MeetingFilter(statuses=frozenset({S.UNKNOWN}))))

    assert (ids(unknown.meetings), unknown.total) == (["91000001"], 1)
    pushed = [
        {k: v for k, v in p.items() if k in ("show_deleted", "no_show", "status")}
        for p in _listing_params(simulators)
    ]
    assert pushed == [{"show_deleted": "false", "no_show": "false"}] * 2  # two pages, no status


async def test_times_with_any_offset_and_precision(
    salesloft: SalesloftSource, dataset: Dataset, simulators: Simulators
) -> None:
    wire = _stored(
        dataset,
        91_000_010,
        start_time="2026-03-14T06:00:00-03:00",
        end_time="2026-03-14T09:30:00Z",
        created_at="2026-03-01T10:00:00+00:00",
        updated_at="2026-03-02T11:00:00.5+01:00",
        canceled_at="20260303T120000Z",  # ISO 8601's basic format
    )
    simulators.salesloft.upsert(wire)

    meeting = await salesloft.meeting(str(wire["id"]), REFERENCE_NOW)

    assert meeting is not None
    assert meeting.start_time == datetime(2026, 3, 14, 9, 0, tzinfo=UTC)
    assert meeting.end_time == datetime(2026, 3, 14, 9, 30, tzinfo=UTC)
    assert meeting.created_at == datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
    assert meeting.updated_at == datetime(2026, 3, 2, 10, 0, 0, 500_000, tzinfo=UTC)
    assert meeting.cancelled_at == datetime(2026, 3, 3, 12, 0, tzinfo=UTC)
    for moment in (meeting.start_time, meeting.end_time, meeting.updated_at):
        assert moment is not None
        assert moment.tzinfo is UTC


async def test_omitted_and_unread_fields_never_fail_a_meeting(
    salesloft: SalesloftSource, dataset: Dataset, simulators: Simulators
) -> None:
    """`recurrence`/`recurring_interval` are omitted for single events; ids documented as
    strings come as numbers; fields beyond the mapping's are ignored, whatever their type."""
    single = _stored(dataset, 91_000_020)
    for name in ("recurrence", "recurring_interval", "event_id", "location", "description"):
        single.pop(name, None)
    for name in ("guests", "attendees", "person", "recipient_name", "recipient_email"):
        single.pop(name, None)
    recurring = _stored(
        dataset,
        91_000_021,
        recurring=True,
        recurrence=["RRULE:FREQ=WEEKLY;BYDAY=MO"],
        recurring_interval="Weekly",
        last_occurrence_at="2026-06-29T09:00:00.000000Z",
        account_id=2000001,
        task_id="81234",
        calendar_id=None,
        calendar_type="a_calendar_added_later",
        owned_by_user={"id": 1234, "_href": "https://api.salesloft.com/v2/users/1234"},
        booked_by_user={"id": "8c3e-uuid", "_href": None},
        crm={},
        crm_references={"opportunity": [1, 2]},
        reschedule_guid="2f4c9c1e-0000-4000-8000-000000000001",
        undo_completion_count=0,
        owned_by_meetings_settings={"email_address": "owner@example.com"},
        booked_by_meetings_settings=None,
    )
    simulators.salesloft.upsert(single)
    simulators.salesloft.upsert(recurring)

    answer = await salesloft.meetings(request())

    assert answer.total == len(dataset.salesloft) + 2
    by_id = {m.source_id: m for m in answer.meetings}
    bare = by_id["91000020"]
    assert (bare.calendar_ids, bare.description, bare.meeting_url, bare.lead) == (
        (single["i_cal_uid"],),
        None,
        None,
        None,
    )
    assert (bare.attendees, bare.location_type) == ((), None)
    assert by_id["91000021"].raw == recurring


# --- errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        {"start_time": 1773150902},
        {"start_time": "1773150902"},  # digits in text are no ISO 8601 date-time
        {"start_time": "0001-01-01T00:00:00+01:00"},  # before year 1 in UTC
        {"status": 7},
        {"status": None},
        {"no_show": None},
        {"start_time": "2026-03-14T09:00:00"},
        {"attendees": [{"email": "a@example.com", "name": "A"}]},
        {"person": {"id": "40001211"}},
    ],
)
async def test_malformed_record_is_a_bad_response(
    salesloft: SalesloftSource, dataset: Dataset, simulators: Simulators, change: Record
) -> None:
    broken = {**copy.deepcopy(dataset.salesloft[0]), **change}
    broken["id"] = dataset.salesloft[0]["id"]
    simulators.salesloft.upsert(broken)
    with pytest.raises(UpstreamBadResponse) as raised:
        await salesloft.meetings(request())
    assert "unexpected shape" in raised.value.message
    with pytest.raises(UpstreamBadResponse):
        await salesloft.meeting(str(broken["id"]), REFERENCE_NOW)


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (Fault(kind=FaultKind.ERROR, status=503), UpstreamUnavailable),
        (Fault(kind=FaultKind.ERROR, status=422), UpstreamBadResponse),
        (Fault(kind=FaultKind.WRONG_SHAPE), UpstreamBadResponse),
        (Fault(kind=FaultKind.MALFORMED_JSON), UpstreamBadResponse),
        (Fault(kind=FaultKind.RATE_LIMIT), UpstreamRateLimited),
    ],
)
async def test_injected_faults(
    salesloft: SalesloftSource, simulators: Simulators, fault: Fault, error: type[UpstreamError]
) -> None:
    simulators.salesloft.inject(fault)
    with pytest.raises(error) as raised:
        await salesloft.meetings(request())
    assert type(raised.value) is error
    assert raised.value.source is Source.SALESLOFT
    assert simulators.salesloft.api_key not in raised.value.message
    if error is UpstreamRateLimited:
        assert raised.value.retry_after_seconds == 60


@pytest.mark.parametrize("key", ["v2_ak_wrong_secret_42", EXPIRED_TOKEN, FORBIDDEN_TOKEN])
async def test_refused_credentials_are_unauthorized(
    settings: Settings,
    upstream_session: aiohttp.ClientSession,
    upstream_cache: UpstreamCache,
    simulators: Simulators,
    key: str,
) -> None:
    config = settings.salesloft.model_copy(update={"api_key": SecretStr(key)})
    source = SalesloftSource.create(config, upstream_session, upstream_cache)
    with pytest.raises(UpstreamUnauthorized) as raised:
        await source.meetings(request())
    assert key not in raised.value.message
    assert key not in str(raised.value)
    status = 403 if key == FORBIDDEN_TOKEN else 401
    assert [c.status for c in simulators.salesloft.requests] == [status, status]


async def test_deleted_attendees_are_left_out(
    salesloft: SalesloftSource, dataset: Dataset, simulators: Simulators
) -> None:
    wire = copy.deepcopy(dataset.salesloft[0])
    organizer = wire["attendees"][0]
    organizer["deleted_at"] = (REFERENCE_NOW - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    simulators.salesloft.upsert(wire)
    found = await salesloft.meeting(str(wire["id"]), REFERENCE_NOW)
    assert found is not None
    assert organizer["email"] not in {a.email for a in found.attendees}
    assert found.organizer is None


# --- counting (totalCount) ------------------------------------------------------------------

MINUTE_FLOOR = "2026-03-10T14:07:00.000000Z"  # REFERENCE_NOW is 14:07:30
MINUTE_CEIL = "2026-03-10T14:08:00.000000Z"


def _expected_total(simulators: Simulators, meeting_filter: MeetingFilter) -> int:
    meetings = [to_meeting(r, REFERENCE_NOW) for r in simulators.salesloft.api.records()]
    return sum(meeting_filter.matches(m, REFERENCE_NOW) for m in meetings)


def _upcoming_listing(dataset: Dataset, simulators: Simulators) -> None:
    """Over a page of active upcoming meetings, four of them in the minute of now: two on
    each side of it (14:07:30 itself is not upcoming)."""
    for n in range(120):
        start = REFERENCE_NOW + timedelta(hours=n + 1)
        simulators.salesloft.upsert(_stored(dataset, 92_000_000 + n, start_time=micro_z(start)))
    for n, second in enumerate((10, 30, 50, 59)):
        start = REFERENCE_NOW.replace(second=second)
        simulators.salesloft.upsert(_stored(dataset, 92_001_000 + n, start_time=micro_z(start)))
    simulators.salesloft.reset_requests()


@pytest.mark.parametrize("upcoming", [True, False])
async def test_upcoming_is_pushed_down_as_now_rounded_to_the_minute(
    salesloft: SalesloftSource, dataset: Dataset, simulators: Simulators, upcoming: bool
) -> None:
    """Outwards, so no match is dropped; the cache key changes once a minute."""
    _upcoming_listing(dataset, simulators)
    meeting_filter = MeetingFilter(upcoming=upcoming)
    answer = await salesloft.meetings(request(meeting_filter))
    kept = [
        r
        for r in simulators.salesloft.api.records()
        if (time(r["start_time"]) > REFERENCE_NOW) == upcoming
    ]
    assert ids(answer.meetings) == _ordered(kept)
    bound = ("start_time[gt]", MINUTE_FLOOR) if upcoming else ("start_time[lte]", MINUTE_CEIL)
    for call in simulators.salesloft.requests:
        assert [(k, v) for k, v in call.query if k.startswith("start_time")] == [bound]


@pytest.mark.parametrize(
    ("meeting_filter", "bounds"),
    [
        # A later start is upcoming anyway: the rounded bound would only widen it.
        (
            MeetingFilter(upcoming=True, start_after=datetime(2026, 3, 11, tzinfo=UTC)),
            [("start_time[gte]", "2026-03-11T00:00:00.000000Z")],
        ),
        (
            MeetingFilter(upcoming=True, start_after=datetime(2026, 3, 1, tzinfo=UTC)),
            [("start_time[gt]", MINUTE_FLOOR)],
        ),
        (
            MeetingFilter(upcoming=False, start_before=datetime(2026, 3, 1, tzinfo=UTC)),
            [("start_time[lt]", "2026-03-01T00:00:00.000000Z")],
        ),
        (
            MeetingFilter(upcoming=False, start_before=REFERENCE_NOW.replace(second=40)),
            [("start_time[lt]", "2026-03-10T14:07:40.000000Z")],
        ),
    ],
)
async def test_upcoming_and_the_time_range_keep_the_tighter_bound(
    salesloft: SalesloftSource,
    dataset: Dataset,
    simulators: Simulators,
    meeting_filter: MeetingFilter,
    bounds: list[tuple[str, str]],
) -> None:
    _upcoming_listing(dataset, simulators)
    answer = await salesloft.meetings(request(meeting_filter))
    assert answer.total == _expected_total(simulators, meeting_filter)
    for call in simulators.salesloft.requests:
        assert [(k, v) for k, v in call.query if k.startswith("start_time")] == bounds


async def test_no_start_can_be_both_upcoming_and_before_now(
    salesloft: SalesloftSource, simulators: Simulators
) -> None:
    for meeting_filter in (
        MeetingFilter(upcoming=True, start_before=REFERENCE_NOW),
        MeetingFilter(upcoming=False, start_after=REFERENCE_NOW + timedelta(microseconds=1)),
    ):
        answer = await salesloft.meetings(request(meeting_filter, need=21, count=True))
        assert (answer.meetings, answer.total, answer.total_exact) == ([], 0, True)
    assert simulators.salesloft.requests == []


async def test_the_count_is_salesloft_s_own_where_all_is_pushed_down(
    salesloft: SalesloftSource, dataset: Dataset, simulators: Simulators
) -> None:
    """`total_count` of each listing's first page, the page the walk reads anyway: one
    request per listing for the page and its count."""
    answer = await salesloft.meetings(request(need=21, count=True))
    assert (answer.total, answer.total_exact, answer.note) == (200, True, None)
    assert ids(answer.meetings)[:21] == _ordered(dataset.salesloft)[:21]
    assert sorted(p["show_deleted"] for p in _listing_params(simulators)) == ["false", "true"]
    assert all(p["include_paging_counts"] == "true" for p in _listing_params(simulators))


@pytest.mark.parametrize(
    ("upcoming", "direction", "requests"),
    [
        # The listing starts at the rounded bound: its first page holds the minute.
        (True, Direction.ASC, 2),
        (False, Direction.DESC, 2),
        # It ends there: the minute's meetings are read apart (in the active listing only:
        # the canceled one fits on its first page).
        (True, Direction.DESC, 3),
        (False, Direction.ASC, 3),
    ],
)
async def test_the_count_of_upcoming_takes_the_minute_of_now_apart(
    salesloft: SalesloftSource,
    dataset: Dataset,
    simulators: Simulators,
    upcoming: bool,
    direction: Direction,
    requests: int,
) -> None:
    _upcoming_listing(dataset, simulators)
    meeting_filter = MeetingFilter(upcoming=upcoming)
    ordering = Ordering(OrderField.START_TIME, direction)
    answer = await salesloft.meetings(
        request(meeting_filter, ordering=ordering, need=21, count=True)
    )
    assert answer.total == _expected_total(simulators, meeting_filter)
    assert answer.total_exact
    calls = simulators.salesloft.requests
    assert len(calls) == requests
    for call in calls:  # every bound a whole minute: a cache key that does not grow
        assert all(v.endswith(":00.000000Z") for k, v in call.query if k.startswith("start_time"))
    minute = [
        c.params for c in calls if "start_time[gt]" in c.params and "start_time[lte]" in c.params
    ]
    if requests == 3:
        assert minute == [
            {
                "show_deleted": "false",
                "start_time[gt]": MINUTE_FLOOR,
                "start_time[lte]": MINUTE_CEIL,
                "sort_by": "start_time",
                "sort_direction": "ASC" if upcoming else "DESC",
                "per_page": "100",
                "page": "1",
            }
        ]


async def test_a_residual_filter_is_counted_from_every_page_within_the_budget(
    salesloft: SalesloftSource, dataset: Dataset, simulators: Simulators
) -> None:
    meeting_filter = MeetingFilter(search="call")
    answer = await salesloft.meetings(request(meeting_filter, need=21, count=True))
    assert answer.total == _expected_total(simulators, meeting_filter) > 0
    assert (answer.total_exact, answer.note) == (True, None)
    pages = sorted((p["show_deleted"], p["page"]) for p in _listing_params(simulators))
    assert ("false", "2") in pages  # the active listing's second page, for the count
    assert len(simulators.salesloft.requests) <= COUNT_REQUESTS


async def test_a_count_past_the_budget_is_a_lower_bound(
    salesloft: SalesloftSource, dataset: Dataset, simulators: Simulators
) -> None:
    """Eleven pages of active meetings: an exact count of a title search would read ten
    more, past the ten requests a count may make. It reports the matches it read instead."""
    for n in range(900):
        start = REFERENCE_NOW - timedelta(days=40, minutes=n)
        title = "Call" if n % 3 == 0 else "Sync"
        record = _stored(dataset, 93_000_000 + n, start_time=micro_z(start), title=title)
        simulators.salesloft.upsert(record)
    simulators.salesloft.reset_requests()
    meeting_filter = MeetingFilter(search="call")
    answer = await salesloft.meetings(request(meeting_filter, need=21, count=True))
    assert not answer.total_exact
    assert answer.total is not None
    assert 0 < answer.total < _expected_total(simulators, meeting_filter)
    assert (
        answer.note
        == f"counted at least {answer.total}: an exact count would read about 10 more pages"
    )
    assert len(simulators.salesloft.requests) <= COUNT_REQUESTS


def test_a_listing_maps_once_while_no_booked_meeting_ends(dataset: Dataset) -> None:
    booked = next(
        r for r in dataset.salesloft
        if r["status"] == "booked" and r["canceled_at"] is None and not r["no_show"]
    )  # fmt: skip
    body = {"metadata": {"paging": {"per_page": 100, "current_page": 1, "next_page": None}},
            "data": [booked]}  # fmt: skip
    listing = listing_page(JsonAnswer(200, body))
    end = time(booked["end_time"])
    before = listing.meetings(end - timedelta(hours=1))
    assert before[0].status is S.CONFIRMED
    assert listing.meetings(end) is before  # still not ended: the same records
    after = listing.meetings(end + timedelta(seconds=1))
    assert after[0].status is S.COMPLETED
    assert listing.meetings(end + timedelta(days=30)) is after
