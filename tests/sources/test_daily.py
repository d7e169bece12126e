"""DailySource against the Daily simulator over real HTTP: mapping, push-down, paging, errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

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
from gateway.model import LocationType, MeetingStatus, Platform, Source
from gateway.query import Direction, MeetingFilter, OrderField, Ordering, Position
from gateway.simulators.cluster import Simulators
from gateway.simulators.daily import FORBIDDEN_KEY
from gateway.simulators.dataset import Dataset
from gateway.simulators.faults import Fault, FaultKind
from gateway.sources.daily import DailySource
from tests.conftest import REFERENCE_NOW
from tests.sources.helpers import Record, ids, request


def _utc(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _newest_first(sessions: list[Record]) -> list[Record]:
    """The merged order for one source: start time, then id as a string, descending."""
    return sorted(sessions, key=lambda s: (s["start_time"], s["id"]), reverse=True)


async def test_maps_every_session_field_by_field(
    daily: DailySource, dataset: Dataset, simulators: Simulators
) -> None:
    answer = await daily.meetings(request())
    expected = _newest_first(dataset.daily)
    assert answer.total == len(expected) == 103
    assert ids(answer.meetings) == [s["id"] for s in expected]
    for meeting, wire in zip(answer.meetings, expected, strict=True):
        start = _utc(wire["start_time"])
        assert meeting.source is Source.DAILY
        assert meeting.node_id == f"daily:{wire['id']}"
        assert meeting.status is (
            MeetingStatus.IN_PROGRESS if wire["ongoing"] else MeetingStatus.COMPLETED
        )
        assert meeting.source_status == ("ongoing" if wire["ongoing"] else "finished")
        assert meeting.start_time == start
        assert meeting.start_time.utcoffset() == timedelta(0)
        assert meeting.end_time == start + timedelta(seconds=wire["duration"])
        assert (meeting.title, meeting.meeting_url, meeting.timezone) == (None, None, None)
        assert meeting.platform is Platform.DAILY
        assert meeting.location_type is LocationType.VIDEO
        assert (meeting.created_at, meeting.updated_at, meeting.lead) == (None, None, None)
        assert meeting.raw == wire
        people = [
            (a.name, a.email, a.joined_at, a.duration_seconds, a.is_organizer)
            for a in meeting.attendees
        ]
        assert people == [
            (p["user_name"], None, _utc(p["join_time"]), p["duration"], False)
            for p in wire["participants"]
        ]
    statuses = {m.status for m in answer.meetings}
    assert statuses == {MeetingStatus.IN_PROGRESS, MeetingStatus.COMPLETED}
    # 103 sessions: a full page of 100, then the rest after the 100th id.
    calls = simulators.daily.requests
    assert [c.params for c in calls] == [
        {"limit": "100"},
        {"limit": "100", "starting_after": expected[99]["id"]},
    ]


async def test_time_range_is_pushed_down_exactly_in_whole_seconds(
    daily: DailySource, dataset: Dataset, simulators: Simulators
) -> None:
    ordered = _newest_first(dataset.daily)
    # Bounds half a second past two session starts: sessions start on whole seconds, so the
    # upstream sees both rounded up and drops the session at the lower bound itself, keeping
    # the one at the upper (its `total_count` is then the exact count).
    after = _utc(ordered[60]["start_time"]) + timedelta(milliseconds=500)
    before = _utc(ordered[10]["start_time"]) + timedelta(milliseconds=500)
    answer = await daily.meetings(request(MeetingFilter(start_after=after, start_before=before)))
    expected = [s["id"] for s in ordered if after <= _utc(s["start_time"]) < before]
    assert ids(answer.meetings) == expected
    assert ordered[10]["id"] in expected
    assert ordered[60]["id"] not in expected
    assert [c.params for c in simulators.daily.requests] == [
        {
            "timeframe_start": str(ordered[60]["start_time"] + 1),
            "timeframe_end": str(ordered[10]["start_time"] + 1),
            "limit": "100",
        }
    ]


@pytest.mark.parametrize(
    ("statuses", "ongoing"),
    [
        ({MeetingStatus.IN_PROGRESS}, "true"),
        ({MeetingStatus.COMPLETED}, "false"),
        ({MeetingStatus.COMPLETED, MeetingStatus.IN_PROGRESS}, None),
        ({MeetingStatus.IN_PROGRESS, MeetingStatus.CANCELLED}, "true"),
    ],
)
async def test_status_pushes_down_ongoing(
    daily: DailySource,
    dataset: Dataset,
    simulators: Simulators,
    statuses: set[MeetingStatus],
    ongoing: str | None,
) -> None:
    answer = await daily.meetings(request(MeetingFilter(statuses=frozenset(statuses))))
    wanted = {"true" if MeetingStatus.IN_PROGRESS in statuses else None}
    wanted |= {"false" if MeetingStatus.COMPLETED in statuses else None}
    expected = [
        s["id"]
        for s in _newest_first(dataset.daily)
        if ("true" if s["ongoing"] else "false") in wanted
    ]
    assert ids(answer.meetings) == expected
    assert answer.total == len(expected)
    first = simulators.daily.requests[0].params
    assert first.get("ongoing") == ongoing


async def test_a_filter_no_session_can_match_makes_no_call(
    daily: DailySource, simulators: Simulators
) -> None:
    moment = datetime(2026, 3, 1, tzinfo=UTC)
    for meeting_filter in (
        MeetingFilter(statuses=frozenset({MeetingStatus.CANCELLED, MeetingStatus.PENDING})),
        MeetingFilter(start_after=moment, start_before=moment - timedelta(seconds=1)),
        MeetingFilter(start_before=datetime(1970, 1, 1, tzinfo=UTC)),
    ):
        answer = await daily.meetings(request(meeting_filter))
        assert (answer.meetings, answer.total) == ([], 0)
    assert simulators.daily.requests == []


async def test_ascending_order_and_after_position(daily: DailySource, dataset: Dataset) -> None:
    ascending = list(reversed(_newest_first(dataset.daily)))
    cut = ascending[41]
    position = Position(_utc(cut["start_time"]), Source.DAILY, cut["id"])
    ordering = Ordering(OrderField.START_TIME, Direction.ASC)
    answer = await daily.meetings(request(ordering=ordering, after=position))
    assert ids(answer.meetings) == [s["id"] for s in ascending[42:]]
    assert (answer.total, answer.has_before) == (len(ascending), True)


async def test_meeting_by_id(daily: DailySource, dataset: Dataset, simulators: Simulators) -> None:
    wire = dataset.daily[5]
    found = await daily.meeting(wire["id"], REFERENCE_NOW)
    assert found is not None
    assert (found.node_id, found.raw) == (f"daily:{wire['id']}", wire)
    assert found.start_time == _utc(wire["start_time"])
    assert len(found.attendees) == len(wire["participants"])
    assert await daily.meeting("00000000-0000-4000-8000-000000000000", REFERENCE_NOW) is None
    assert [c.path for c in simulators.daily.requests] == [
        f"/v1/meetings/{wire['id']}",
        "/v1/meetings/00000000-0000-4000-8000-000000000000",
    ]
    for malformed in ("../meetings", "a b", ""):
        with pytest.raises(BadUserInput):
            await daily.meeting(malformed, REFERENCE_NOW)
    assert len(simulators.daily.requests) == 2


GUEST: Record = {
    "user_id": None,
    "participant_id": "p-guest",
    "user_name": None,
    "join_time": 1,
    "duration": 2,
}
NAMED: Record = {
    "user_id": "u-1",
    "participant_id": "p-named",
    "user_name": "Ana",
    "join_time": 3,
    "duration": 4,
}


@pytest.mark.parametrize(
    "participants",
    [
        [GUEST, NAMED],  # what Daily answers: an array
        {"p-guest": GUEST, "p-named": NAMED},  # what its prose says: "a participants object"
    ],
)
async def test_participants_with_null_user_ids_and_names(
    daily: DailySource, dataset: Dataset, simulators: Simulators, participants: object
) -> None:
    """A guest without user id and name is an attendee without a name, the listing is fine."""
    session = {**dataset.daily[3], "participants": participants}
    simulators.daily.upsert(session)

    answer = await daily.meetings(request())
    meeting = await daily.meeting(session["id"], REFERENCE_NOW)

    assert answer.total == len(dataset.daily)
    assert meeting is not None
    assert meeting in answer.meetings
    people = [(a.name, a.email, a.joined_at, a.duration_seconds) for a in meeting.attendees]
    assert people == [(None, None, _utc(1), 2), ("Ana", None, _utc(3), 4)]


@pytest.mark.parametrize(
    "change",
    [
        {"start_time": "2026-03-01T10:00:00Z"},
        {"participants": [{**GUEST, "user_name": 7}]},
        {"participants": {"p-guest": "Ana"}},
        {"participants": None},
        {"ongoing": "yes"},
        {"participants": [{"participant_id": "p1", "join_time": 1, "duration": 2}]},
        {"duration": None},
    ],
)
async def test_malformed_record_is_a_bad_response(
    daily: DailySource, dataset: Dataset, simulators: Simulators, change: Record
) -> None:
    simulators.daily.upsert({**dataset.daily[3], **change})
    with pytest.raises(UpstreamBadResponse):
        await daily.meetings(request())
    with pytest.raises(UpstreamBadResponse):
        await daily.meeting(dataset.daily[3]["id"], REFERENCE_NOW)


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (Fault(kind=FaultKind.ERROR, status=503), UpstreamUnavailable),
        (Fault(kind=FaultKind.ERROR, status=400), UpstreamBadResponse),
        (Fault(kind=FaultKind.WRONG_SHAPE), UpstreamBadResponse),
        (Fault(kind=FaultKind.MALFORMED_JSON), UpstreamBadResponse),
        (Fault(kind=FaultKind.RATE_LIMIT), UpstreamRateLimited),
    ],
)
async def test_injected_faults(
    daily: DailySource, simulators: Simulators, fault: Fault, error: type[UpstreamError]
) -> None:
    simulators.daily.inject(fault)
    with pytest.raises(error) as raised:
        await daily.meetings(request())
    assert type(raised.value) is error
    assert raised.value.source is Source.DAILY
    assert simulators.daily.api_key not in raised.value.message


@pytest.mark.parametrize("key", ["wrong-key-123", "", FORBIDDEN_KEY])
async def test_refused_credentials_are_unauthorized(
    settings: Settings,
    upstream_session: aiohttp.ClientSession,
    upstream_cache: UpstreamCache,
    simulators: Simulators,
    key: str,
) -> None:
    """401 for a wrong key, 403 for a forbidden one, Daily's 400 for an empty one."""
    config = settings.daily.model_copy(update={"api_key": SecretStr(key)})
    source = DailySource.create(config, upstream_session, upstream_cache)
    with pytest.raises(UpstreamUnauthorized) as raised:
        await source.meetings(request())
    if key:
        assert key not in raised.value.message
    with pytest.raises(UpstreamUnauthorized) as again:
        await source.meeting(simulators.dataset.daily[0]["id"], REFERENCE_NOW)
    assert again.value.retry_after_seconds == round(config.auth_cooldown)
    expected = {"wrong-key-123": 401, "": 400, FORBIDDEN_KEY: 403}[key]
    # Refused credentials are not offered again within the cool-down: one request.
    assert [c.status for c in simulators.daily.requests] == [expected]


def test_daily_has_no_update_time(daily: DailySource) -> None:
    reason = daily.skip_reason(MeetingFilter(updated_since=REFERENCE_NOW))
    assert reason == "DAILY has no update time, so updatedSince excludes it"


@pytest.mark.parametrize(
    ("meeting_filter", "word"),
    [
        (MeetingFilter(upcoming=True), "upcoming"),
        (MeetingFilter(search="demo"), "search"),
        (MeetingFilter(attendee_email="ana@example.com"), "attendeeEmail"),
    ],
)
async def test_what_a_session_never_has_skips_daily(
    daily: DailySource, simulators: Simulators, meeting_filter: MeetingFilter, word: str
) -> None:
    """Sessions start when someone joins (never in the future), have no title and no email."""
    reason = daily.skip_reason(meeting_filter)
    assert reason is not None
    assert word in reason
    answer = await daily.meetings(request(meeting_filter, need=21, count=True))
    assert (answer.meetings, answer.total, answer.total_exact) == ([], 0, True)
    assert simulators.daily.requests == []


async def test_upcoming_false_is_no_condition(
    daily: DailySource, dataset: Dataset, simulators: Simulators
) -> None:
    assert daily.skip_reason(MeetingFilter(upcoming=False)) is None
    answer = await daily.meetings(request(MeetingFilter(upcoming=False), need=21, count=True))
    newest = [s["id"] for s in _newest_first(dataset.daily)]
    assert len(answer.meetings) >= 21
    assert ids(answer.meetings) == newest[: len(answer.meetings)]
    assert (answer.total, answer.total_exact) == (len(dataset.daily), True)
    assert [c.params for c in simulators.daily.requests] == [{"limit": "100"}]


@pytest.mark.parametrize("direction", [Direction.DESC, Direction.ASC])
async def test_the_count_is_total_count_of_the_first_page(
    daily: DailySource, dataset: Dataset, simulators: Simulators, direction: Direction
) -> None:
    """The filter is pushed down exactly, so `total_count` is the count: the newest-first
    walk's own first page (oldest first, the walk reads every page from it anyway)."""
    ordered = _newest_first(dataset.daily)
    after = _utc(ordered[90]["start_time"]) + timedelta(milliseconds=500)  # drops ordered[90]
    meeting_filter = MeetingFilter(start_after=after)
    ordering = Ordering(OrderField.START_TIME, direction)
    answer = await daily.meetings(request(meeting_filter, ordering=ordering, need=21, count=True))
    assert (answer.total, answer.total_exact) == (90, True)
    assert len(answer.meetings) >= 21
    start = str(ordered[90]["start_time"] + 1)
    assert [c.params for c in simulators.daily.requests] == [
        {"timeframe_start": start, "limit": "100"}
    ]
