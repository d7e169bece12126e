"""LeezySource against the Leezy simulator: mapping, paging, push-down, order, errors."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
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
from gateway.model import Attendee, LocationType, Meeting, MeetingStatus, Platform, Source
from gateway.query import Direction, MeetingFilter, OrderField, Ordering, Position
from gateway.simulators.cluster import Simulators
from gateway.simulators.dataset import Dataset
from gateway.simulators.faults import Fault, FaultKind
from gateway.sources.leezy import LeezySource
from tests.conftest import REFERENCE_NOW
from tests.sources.helpers import Record, request, time

STATUS = {
    "scheduled": MeetingStatus.SCHEDULED,
    "confirmed": MeetingStatus.CONFIRMED,
    "completed": MeetingStatus.COMPLETED,
    "cancelled": MeetingStatus.CANCELLED,
    "no_show": MeetingStatus.NO_SHOW,
}
PROVIDER = {"google_meet": Platform.GOOGLE_MEET, "zoom": Platform.ZOOM, "teams": Platform.TEAMS}
HOSTS = {
    "daily.co": Platform.DAILY,
    "zoom.us": Platform.ZOOM,
    "meet.google.com": Platform.GOOGLE_MEET,
}


def expected_platform(attributes: Record) -> Platform:
    """The provider, else (`custom`, one Leezy adds later, none) the link's host or a domain
    above it."""
    provider, url = attributes.get("meeting_provider"), attributes.get("meeting_url")
    if provider in PROVIDER:
        return PROVIDER[provider]
    host = (urlsplit(url).hostname or "") if url else ""
    for domain, platform in HOSTS.items():
        if host == domain or host.endswith("." + domain):
            return platform
    return Platform.OTHER


def stored(dataset: Dataset, record_id: str, **attributes: Any) -> Record:
    """A data set record under a new id with these attributes changed (or added)."""
    record = copy.deepcopy(dataset.leezy[3])
    record["id"] = record_id
    record["attributes"].update(attributes)
    return record


async def found(leezy: LeezySource, record_id: str) -> Meeting:
    """The meeting as the listing maps it (the listing must not fail)."""
    meeting = await leezy.meeting(record_id, REFERENCE_NOW)
    assert meeting is not None
    return meeting


def pushed(simulators: Simulators) -> list[dict[str, str]]:
    """The filter parameters of each request made, paging parameters left out."""
    return [
        {k: v for k, v in r.params.items() if k not in ("limit", "offset")}
        for r in simulators.leezy.requests
    ]


async def test_maps_every_record_field_by_field(
    leezy: LeezySource, simulators: Simulators, dataset: Dataset
) -> None:
    answer = await leezy.meetings(request())

    by_id = {m.source_id: m for m in answer.meetings}
    assert answer.total == len(by_id) == len(dataset.leezy) == 120
    for raw in dataset.leezy:
        attributes = raw["attributes"]
        meeting = by_id[raw["id"]]
        assert meeting.source is Source.LEEZY
        assert meeting.node_id == f"leezy:{raw['id']}"
        assert meeting.status is STATUS[attributes["status"]]
        assert meeting.source_status == attributes["status"]
        assert meeting.start_time == time(attributes["start_time"])
        assert meeting.end_time == time(attributes["end_time"])
        assert meeting.created_at == time(attributes["created_at"])
        assert meeting.updated_at == time(attributes["updated_at"])
        for moment in (meeting.start_time, meeting.end_time, meeting.updated_at):
            assert moment is not None
            assert moment.tzinfo is UTC
        assert (meeting.title, meeting.description, meeting.timezone) == (
            attributes["title"],
            attributes["description"],
            attributes["timezone"],
        )
        assert meeting.meeting_url == attributes["meeting_url"]
        assert meeting.platform is expected_platform(attributes)
        assert meeting.location_type is LocationType.VIDEO
        assert meeting.chatbot_id == attributes["chatbot_id"]
        person = attributes["attendee"]
        assert [(a.name, a.email, a.phone, a.is_organizer) for a in meeting.attendees] == [
            (person["name"], person["email"], person["phone"], False)
        ]
        assert meeting.organizer is None
        assert meeting.lead is None
        cancelled = attributes["cancelled_at"]
        assert meeting.cancelled_at == (time(cancelled) if cancelled else None)
        assert meeting.cancellation_reason == attributes["cancelled_reason"]
        assert meeting.raw == raw
    assert {m.status for m in answer.meetings} == set(STATUS.values())
    assert {m.platform for m in answer.meetings} == set(Platform)
    # 120 records: the first page, then the one remaining page.
    assert [(r.params["limit"], r.params["offset"]) for r in simulators.leezy.requests] == [
        ("100", "0"),
        ("100", "100"),
    ]


async def test_reads_the_remaining_pages_concurrently(
    leezy: LeezySource, simulators: Simulators, dataset: Dataset
) -> None:
    template = dataset.leezy[0]
    for index in range(230):
        simulators.leezy.upsert({**copy.deepcopy(template), "id": f"meeting_extra{index:04d}"})
    simulators.leezy.inject(Fault(kind=FaultKind.LATENCY, latency_ms=100))

    answer = await leezy.meetings(request())

    assert answer.total == 350
    assert [r.params["offset"] for r in simulators.leezy.requests] == ["0", "100", "200", "300"]
    assert simulators.leezy.peak_in_flight == 3  # everything after the first page at once


def _since_case(dataset: Dataset) -> tuple[datetime, str]:
    updated = time(dataset.leezy[40]["attributes"]["updated_at"])
    return updated, (updated - timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")


Case = tuple[dict[str, Any], Callable[[Record], bool], list[dict[str, str]]]


def pushdown_cases(dataset: Dataset) -> dict[str, Case]:
    chatbot = dataset.leezy[0]["attributes"]["chatbot_id"]
    since, since_param = _since_case(dataset)
    now = REFERENCE_NOW
    return {
        "one status": (
            {"statuses": frozenset({MeetingStatus.CONFIRMED})},
            lambda a: a["status"] == "confirmed",
            [{"status": "confirmed"}],
        ),
        "several statuses": (
            {
                "statuses": frozenset(
                    {MeetingStatus.NO_SHOW, MeetingStatus.SCHEDULED, MeetingStatus.PENDING}
                )
            },
            lambda a: a["status"] in ("scheduled", "no_show"),
            [{"status": "scheduled"}, {"status": "no_show"}],
        ),
        "no Leezy status": (
            {"statuses": frozenset({MeetingStatus.PENDING, MeetingStatus.FAILED})},
            lambda a: False,
            [],
        ),
        "every Leezy status": (
            {"statuses": frozenset(MeetingStatus)},
            lambda a: True,
            [{}, {}],  # one unfiltered listing of two pages, not five listings
        ),
        "chatbot": (
            {"chatbot_id": chatbot},
            lambda a: a["chatbot_id"] == chatbot,
            [{"chatbot_id": chatbot}],
        ),
        "since, inclusive": (
            {"updated_since": since},
            lambda a: time(a["updated_at"]) >= since,
            [{"since": since_param}],
        ),
        "upcoming": (
            {"upcoming": True},
            lambda a: time(a["start_time"]) > now,
            [{"upcoming": "true"}],
        ),
        "past (not pushed)": (
            {"upcoming": False},
            lambda a: time(a["start_time"]) <= now,
            [{}, {}],  # all 120 records: two pages
        ),
        "combined": (
            {"statuses": frozenset({MeetingStatus.CONFIRMED}), "chatbot_id": chatbot},
            lambda a: a["status"] == "confirmed" and a["chatbot_id"] == chatbot,
            [{"status": "confirmed", "chatbot_id": chatbot}],
        ),
    }


@pytest.mark.parametrize(
    "case",
    [
        "one status",
        "several statuses",
        "no Leezy status",
        "every Leezy status",
        "chatbot",
        "since, inclusive",
        "upcoming",
        "past (not pushed)",
        "combined",
    ],
)
async def test_pushdown_keeps_exactly_the_matches(
    case: str, leezy: LeezySource, simulators: Simulators, dataset: Dataset
) -> None:
    conditions, keep, params = pushdown_cases(dataset)[case]

    answer = await leezy.meetings(request(MeetingFilter(**conditions)))

    expected = {r["id"] for r in dataset.leezy if keep(r["attributes"])}
    assert {m.source_id for m in answer.meetings} == expected
    assert answer.total == len(expected)
    # One request per page of each pushed-down listing.
    assert sorted(pushed(simulators), key=str) == sorted(params, key=str)


async def test_since_keeps_a_meeting_updated_exactly_then(
    leezy: LeezySource, dataset: Dataset
) -> None:
    since, _ = _since_case(dataset)
    answer = await leezy.meetings(request(MeetingFilter(updated_since=since)))
    assert dataset.leezy[40]["id"] in {m.source_id for m in answer.meetings}


@pytest.mark.parametrize(
    ("field", "direction", "attribute"),
    [
        (OrderField.START_TIME, Direction.DESC, "start_time"),
        (OrderField.UPDATED_AT, Direction.ASC, "updated_at"),
        (OrderField.CREATED_AT, Direction.DESC, "created_at"),
    ],
)
async def test_orders_and_resumes_after_a_position(
    field: OrderField,
    direction: Direction,
    attribute: str,
    leezy: LeezySource,
    dataset: Dataset,
) -> None:
    ordering = Ordering(field, direction)
    expected = [
        r["id"]
        for r in sorted(
            dataset.leezy,
            key=lambda r: (time(r["attributes"][attribute]), r["id"]),
            reverse=direction is Direction.DESC,
        )
    ]
    everything = await leezy.meetings(request(ordering=ordering))
    assert [m.source_id for m in everything.meetings] == expected

    tenth = next(r for r in dataset.leezy if r["id"] == expected[9])
    position = Position(time(tenth["attributes"][attribute]), Source.LEEZY, tenth["id"])
    rest = await leezy.meetings(request(ordering=ordering, after=position))
    assert [m.source_id for m in rest.meetings] == expected[10:]
    assert (rest.total, rest.has_before) == (120, True)


async def test_meeting_by_id(leezy: LeezySource, simulators: Simulators, dataset: Dataset) -> None:
    wanted = dataset.leezy[7]
    found = await leezy.meeting(wanted["id"], REFERENCE_NOW)
    assert found is not None
    assert (found.node_id, found.raw) == (f"leezy:{wanted['id']}", wanted)
    assert len(simulators.leezy.requests) == 2  # no get-by-id: the whole listing
    assert await leezy.meeting("meeting_000000000000", REFERENCE_NOW) is None


@pytest.mark.parametrize("node_id", ["", "meeting abc", "a:b", "x" * 200])
async def test_meeting_with_a_malformed_id(
    node_id: str, leezy: LeezySource, simulators: Simulators
) -> None:
    with pytest.raises(BadUserInput, match="not a Leezy meeting id"):
        await leezy.meeting(node_id, REFERENCE_NOW)
    assert simulators.leezy.requests == []


async def test_nulls_and_omitted_fields(
    leezy: LeezySource, simulators: Simulators, dataset: Dataset
) -> None:
    """The example's nulls (`cancelled_at`, `cancelled_reason`) and what a booking may lack."""
    nulls = stored(
        dataset,
        "meeting_nulls000001",
        **dict.fromkeys(
            (
                "conversation_id",
                "title",
                "description",
                "end_time",
                "timezone",
                "meeting_url",
                "meeting_provider",
                "cancelled_at",
                "cancelled_reason",
            )
        ),
        attendee={"name": None, "email": "lisa@acme.example", "phone": None},
    )
    bare = stored(dataset, "meeting_bare00000001")
    for name in ("conversation_id", "description", "end_time", "attendee", "meeting_provider"):
        del bare["attributes"][name]
    simulators.leezy.upsert(nulls)
    simulators.leezy.upsert(bare)

    meeting = await found(leezy, nulls["id"])
    assert (meeting.title, meeting.description, meeting.end_time, meeting.timezone) == (
        None,
        None,
        None,
        None,
    )
    assert (meeting.cancelled_at, meeting.cancellation_reason) == (None, None)
    assert (meeting.meeting_url, meeting.platform) == (None, Platform.OTHER)
    assert meeting.attendees == (Attendee(None, "lisa@acme.example", None),)
    meeting = await found(leezy, bare["id"])
    assert (meeting.description, meeting.end_time, meeting.attendees) == (None, None, ())
    assert meeting.platform is expected_platform(bare["attributes"])


async def test_times_with_any_offset_and_precision(
    leezy: LeezySource, simulators: Simulators, dataset: Dataset
) -> None:
    record = stored(
        dataset,
        "meeting_offsets00001",
        start_time="2026-03-12T07:00:00-03:00",
        end_time="2026-03-12T10:30:00.250+00:00",
        cancelled_at="2026-03-05T12:00:00.5-05:00",
        created_at="2026-03-01T09:15:00Z",
        updated_at="2026-03-02T11:00:00+01:00",
    )
    simulators.leezy.upsert(record)

    meeting = await found(leezy, record["id"])

    assert meeting.start_time == datetime(2026, 3, 12, 10, 0, tzinfo=UTC)
    assert meeting.end_time == datetime(2026, 3, 12, 10, 30, 0, 250_000, tzinfo=UTC)
    assert meeting.cancelled_at == datetime(2026, 3, 5, 17, 0, 0, 500_000, tzinfo=UTC)
    assert meeting.created_at == datetime(2026, 3, 1, 9, 15, tzinfo=UTC)
    assert meeting.updated_at == datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    for moment in (meeting.start_time, meeting.end_time, meeting.updated_at):
        assert moment is not None
        assert moment.tzinfo is UTC


async def test_an_unknown_status_is_unknown_and_a_filter_finds_it(
    leezy: LeezySource, simulators: Simulators, dataset: Dataset
) -> None:
    record = stored(dataset, "meeting_unknown00001", status="rescheduled")
    simulators.leezy.upsert(record)

    unknown = MeetingFilter(statuses=frozenset({MeetingStatus.UNKNOWN}))
    answer = await leezy.meetings(request(unknown))

    assert [(m.source_id, m.status, m.source_status) for m in answer.meetings] == [
        (record["id"], MeetingStatus.UNKNOWN, "rescheduled")
    ]
    # Leezy's `status` takes only the statuses it documents: one unfiltered listing.
    assert pushed(simulators) == [{}, {}]
    either = MeetingFilter(statuses=frozenset({MeetingStatus.UNKNOWN, MeetingStatus.CONFIRMED}))
    answer = await leezy.meetings(request(either))
    confirmed = {r["id"] for r in dataset.leezy if r["attributes"]["status"] == "confirmed"}
    assert {m.source_id for m in answer.meetings} == {record["id"], *confirmed}
    assert pushed(simulators) == [{}, {}]  # the same listing, from the cache


@pytest.mark.parametrize(
    ("provider", "url", "platform"),
    [
        ("custom", "https://us02web.zoom.us/j/123456789", Platform.ZOOM),
        ("custom", "https://zoom.us/j/123456789", Platform.ZOOM),
        ("custom", "https://acme.daily.co/standup", Platform.DAILY),
        ("custom", "https://meet.google.com/abc-defg-hij", Platform.GOOGLE_MEET),
        ("custom", "https://calendly.example.com/lisa", Platform.OTHER),
        ("custom", None, Platform.OTHER),
        ("webex", "https://us02web.zoom.us/j/1", Platform.ZOOM),  # a provider added later
        ("webex", "https://acme.webex.com/meet/lisa", Platform.OTHER),
        ("zoom", "https://us02web.zoom.us/j/1", Platform.ZOOM),
        ("google_meet", None, Platform.GOOGLE_MEET),
    ],
)
async def test_platform_from_provider_or_link(
    provider: str,
    url: str | None,
    platform: Platform,
    leezy: LeezySource,
    simulators: Simulators,
    dataset: Dataset,
) -> None:
    record = stored(dataset, "meeting_platform0001", meeting_provider=provider, meeting_url=url)
    simulators.leezy.upsert(record)
    assert (await found(leezy, record["id"])).platform is platform


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"start_time": 1767225600}, "attributes.start_time"),
        ({"start_time": "1767225600"}, "attributes.start_time"),  # digits are no ISO 8601
        ({"start_time": "2026-03-12T10:00:00"}, "attributes.start_time"),  # no offset
        ({"start_time": "0001-01-01T00:00:00+01:00"}, "attributes.start_time"),  # before UTC 1
        ({"status": 3}, "attributes.status"),
        ({"status": None}, "attributes.status"),
        ({"chatbot_id": None}, "attributes.chatbot_id"),
    ],
)
async def test_a_malformed_record_is_a_bad_response(
    change: Record, where: str, leezy: LeezySource, simulators: Simulators, dataset: Dataset
) -> None:
    broken = copy.deepcopy(dataset.leezy[3])
    broken["id"] = "meeting_broken000001"
    broken["attributes"].update(change)
    simulators.leezy.upsert(broken)

    with pytest.raises(UpstreamBadResponse, match=where):
        await leezy.meetings(request())


async def test_a_record_without_attributes_is_a_bad_response(
    leezy: LeezySource, simulators: Simulators
) -> None:
    simulators.leezy.upsert({"id": "meeting_bare", "type": "meeting"})
    with pytest.raises(UpstreamBadResponse, match="attributes"):
        await leezy.meetings(request())


@pytest.mark.parametrize(
    ("fault", "error", "retry_after"),
    [
        (Fault(kind=FaultKind.ERROR, status=503), UpstreamUnavailable, None),
        (Fault(kind=FaultKind.ERROR, status=500), UpstreamUnavailable, None),
        (Fault(kind=FaultKind.WRONG_SHAPE), UpstreamBadResponse, None),
        (Fault(kind=FaultKind.MALFORMED_JSON), UpstreamBadResponse, None),
        (Fault(kind=FaultKind.RATE_LIMIT), UpstreamRateLimited, 60),
        (Fault(kind=FaultKind.ERROR, status=403), UpstreamUnauthorized, None),
    ],
)
async def test_faults_map_to_upstream_errors(
    fault: Fault,
    error: type[UpstreamError],
    retry_after: int | None,
    leezy: LeezySource,
    simulators: Simulators,
) -> None:
    simulators.leezy.inject(fault)
    with pytest.raises(error) as caught:
        await leezy.meetings(request())
    assert type(caught.value) is error
    assert caught.value.source is Source.LEEZY
    assert caught.value.retry_after_seconds == retry_after
    assert simulators.leezy.api_key not in str(caught.value)


async def test_a_bad_key_is_unauthorized_and_not_echoed(
    settings: Settings, upstream_session: aiohttp.ClientSession, upstream_cache: UpstreamCache
) -> None:
    secret = "lzy_at_not_a_real_token_123"
    bad = settings.leezy.model_copy(update={"api_key": SecretStr(secret)})
    source = LeezySource.create(bad, upstream_session, upstream_cache)
    with pytest.raises(UpstreamUnauthorized) as caught:
        await source.meetings(request())
    assert secret not in str(caught.value)
    assert secret not in caught.value.message
