"""MeetStreamSource against the MeetStream simulator: the bot listing, lookups and errors."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
from pydantic import SecretStr

from gateway.cache.upstream import UpstreamCache
from gateway.config import Settings
from gateway.errors import (
    UpstreamBadResponse,
    UpstreamError,
    UpstreamRateLimited,
    UpstreamUnauthorized,
    UpstreamUnavailable,
)
from gateway.model import BotStatus, Platform, Source
from gateway.simulators.cluster import Simulators
from gateway.simulators.dataset import Dataset
from gateway.simulators.faults import Fault, FaultKind
from gateway.simulators.meetstream import ORPHAN_KEY
from gateway.sources.meetstream import MeetStreamSource
from tests.conftest import REFERENCE_NOW
from tests.sources.helpers import Record, time

STATUS = {
    "Scheduled": BotStatus.SCHEDULED,
    "Joining": BotStatus.JOINING,
    "InWaitingRoom": BotStatus.JOINING,
    "InMeeting": BotStatus.IN_MEETING,
    "Recording": BotStatus.IN_MEETING,
    "Leaving": BotStatus.STOPPED,
    "Stopped": BotStatus.STOPPED,
    "Done": BotStatus.STOPPED,
    "NotAllowed": BotStatus.FAILED,
    "Denied": BotStatus.FAILED,
    "Error": BotStatus.FAILED,
}
PLATFORM = {
    "google_meet": Platform.GOOGLE_MEET,
    "zoom": Platform.ZOOM,
    "microsoft_teams": Platform.TEAMS,
    "webex": Platform.OTHER,
}


def future_bots(dataset: Dataset) -> list[Record]:
    """What MeetStream lists: bots joining after now, earliest first, ties by id."""
    future = [b for b in dataset.meetstream if time(b["scheduled_join_time"]) > REFERENCE_NOW]
    return sorted(future, key=lambda b: (time(b["scheduled_join_time"]), b["bot_id"]))


async def test_maps_every_listed_bot(
    meetstream: MeetStreamSource, simulators: Simulators, dataset: Dataset
) -> None:
    bots = await meetstream.scheduled_bots()

    expected = future_bots(dataset)
    assert [b.bot_id for b in bots] == [r["bot_id"] for r in expected]
    for bot, raw in zip(bots, expected, strict=True):
        attributes = raw["custom_attributes"]
        assert bot.node_id == f"meetstream:{raw['bot_id']}"
        assert bot.platform is PLATFORM[raw["platform"]]
        assert bot.status is STATUS[raw["status"]]
        assert bot.source_status == raw["status"]
        assert bot.scheduled_join_time == time(raw["scheduled_join_time"])
        assert bot.scheduled_join_time.tzinfo is UTC
        assert bot.username == raw["bot_username"]
        assert bot.calendar_event_id == attributes["event_id"]
        assert bot.deduplication_key == attributes["deduplication_key"]
        assert bot.raw == raw
    assert {b.source_status for b in bots} == set(STATUS)
    assert {b.platform for b in bots} == set(PLATFORM.values())
    assert [(r.path, r.params) for r in simulators.meetstream.requests] == [
        ("/api/v1/calendar/scheduled", {"limit": "100"})
    ]


async def test_unknown_status_and_platform_and_bare_bot(
    meetstream: MeetStreamSource, simulators: Simulators
) -> None:
    simulators.meetstream.upsert(
        {
            "bot_id": "bot-new",
            "platform": "gotomeeting",
            "status": "Paused",
            "scheduled_join_time": "2026-03-11T09:00:00+01:00",
        }
    )
    bot = await meetstream.bot("bot-new")
    assert bot is not None
    assert (bot.platform, bot.status, bot.source_status) == (
        Platform.OTHER,
        BotStatus.UNKNOWN,
        "Paused",
    )
    assert bot.scheduled_join_time == datetime(2026, 3, 11, 8, 0, tzinfo=UTC)
    assert (bot.username, bot.calendar_event_id, bot.deduplication_key) == (None, None, None)


@pytest.mark.parametrize(
    ("attributes", "event_id", "deduplication_key"),
    [
        ({}, None, None),  # scheduled by hand
        (None, None, None),
        ({"source": "calendar_schedule_api", "event_id": "evt-1"}, "evt-1", None),
        ({"event_id": 42, "deduplication_key": None, "source": 7}, None, None),
        (
            {"event_id": {"id": "evt-1"}, "deduplication_key": ["k"], "tags": [1, {"a": None}]},
            None,
            None,
        ),
        ({"event_id": "evt-2", "deduplication_key": 12.5, "team": {"id": 3}}, "evt-2", None),
        ({"event_id": True, "deduplication_key": "evt-3:1773309600"}, None, "evt-3:1773309600"),
    ],
)
async def test_custom_attributes_are_free_form(
    attributes: dict[str, Any] | None,
    event_id: str | None,
    deduplication_key: str | None,
    meetstream: MeetStreamSource,
    simulators: Simulators,
    dataset: Dataset,
) -> None:
    """Any keys and JSON values: the event and deduplication key are read only as text."""
    record = {**copy.deepcopy(future_bots(dataset)[0]), "bot_id": "bot-custom"}
    record["custom_attributes"] = attributes
    simulators.meetstream.upsert(record)

    bots = await meetstream.scheduled_bots()

    assert len(bots) == len(future_bots(dataset)) + 1
    bot = next(b for b in bots if b.bot_id == "bot-custom")
    assert (bot.calendar_event_id, bot.deduplication_key) == (event_id, deduplication_key)
    assert bot.raw == record


async def test_join_times_with_any_offset_and_precision(
    meetstream: MeetStreamSource, simulators: Simulators, dataset: Dataset
) -> None:
    template = future_bots(dataset)[0]
    joins = {
        "bot-minus-three": ("2026-03-11T06:00:00-03:00", datetime(2026, 3, 11, 9, tzinfo=UTC)),
        "bot-fraction": (
            "2026-03-11T09:00:00.250+05:30",
            datetime(2026, 3, 11, 3, 30, 0, 250_000, tzinfo=UTC),
        ),
        "bot-z": ("2026-03-11T09:00:00Z", datetime(2026, 3, 11, 9, tzinfo=UTC)),
    }
    for bot_id, (text, _) in joins.items():
        record = {**copy.deepcopy(template), "bot_id": bot_id, "scheduled_join_time": text}
        simulators.meetstream.upsert(record)

    bots = {b.bot_id: b for b in await meetstream.scheduled_bots()}

    for bot_id, (_, moment) in joins.items():
        assert bots[bot_id].scheduled_join_time == moment
        assert bots[bot_id].scheduled_join_time.tzinfo is UTC


async def test_bot_by_id(
    meetstream: MeetStreamSource, simulators: Simulators, dataset: Dataset
) -> None:
    wanted = future_bots(dataset)[5]
    found = await meetstream.bot(wanted["bot_id"])
    assert found is not None
    assert found.raw == wanted
    past = next(b for b in dataset.meetstream if time(b["scheduled_join_time"]) <= REFERENCE_NOW)
    assert await meetstream.bot(past["bot_id"]) is None  # no longer listed
    assert await meetstream.bot("not-a-bot") is None
    assert len(simulators.meetstream.requests) == 1  # the listing, then the cache


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"scheduled_join_time": "2026-03-12T10:00:00"}, "scheduled_join_time"),
        ({"status": None}, "status"),
        ({"custom_attributes": ["evt1"]}, "custom_attributes"),  # an object, if anything
        ({"custom_attributes": "evt1"}, "custom_attributes"),
        ({"bot_username": 7}, "bot_username"),
    ],
)
async def test_a_malformed_bot_is_a_bad_response(
    change: Record,
    where: str,
    meetstream: MeetStreamSource,
    simulators: Simulators,
    dataset: Dataset,
) -> None:
    broken = {**copy.deepcopy(future_bots(dataset)[0]), "bot_id": "bot-broken", **change}
    simulators.meetstream.upsert(broken)
    with pytest.raises(UpstreamBadResponse, match=where):
        await meetstream.scheduled_bots()


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (Fault(kind=FaultKind.ERROR, status=503), UpstreamUnavailable),
        (Fault(kind=FaultKind.ERROR, status=500), UpstreamUnavailable),
        (Fault(kind=FaultKind.WRONG_SHAPE), UpstreamBadResponse),
        (Fault(kind=FaultKind.MALFORMED_JSON), UpstreamBadResponse),
        (Fault(kind=FaultKind.RATE_LIMIT), UpstreamRateLimited),
        (Fault(kind=FaultKind.ERROR, status=404), UpstreamUnauthorized),  # user gone
    ],
)
async def test_faults_map_to_upstream_errors(
    fault: Fault, error: type[UpstreamError], meetstream: MeetStreamSource, simulators: Simulators
) -> None:
    simulators.meetstream.inject(fault)
    with pytest.raises(error) as caught:
        await meetstream.scheduled_bots()
    assert type(caught.value) is error
    assert caught.value.source is Source.MEETSTREAM
    assert simulators.meetstream.api_key not in str(caught.value)


@pytest.mark.parametrize(
    "secret",
    [
        "ms_sim_not_a_real_key_0000000000000",
        ORPHAN_KEY,  # a valid token whose user is gone: MeetStream answers 404
    ],
)
async def test_a_bad_key_is_unauthorized_and_not_echoed(
    secret: str,
    settings: Settings,
    upstream_session: aiohttp.ClientSession,
    upstream_cache: UpstreamCache,
) -> None:
    bad = settings.meetstream.model_copy(update={"api_key": SecretStr(secret)})
    source = MeetStreamSource.create(bad, upstream_session, upstream_cache)
    with pytest.raises(UpstreamUnauthorized) as caught:
        await source.scheduled_bots()
    assert secret not in str(caught.value)
