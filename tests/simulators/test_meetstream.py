"""The MeetStream simulator over real HTTP: Token auth, future bots only, limit, errors, data."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import aiohttp
import pytest

from gateway.simulators import meetstream
from gateway.simulators.cluster import Simulators
from gateway.simulators.core import Record
from gateway.simulators.dataset import Dataset
from gateway.simulators.faults import Fault, FaultKind
from gateway.simulators.seed import build_pools
from tests.conftest import REFERENCE_NOW

PATHS = ("/calendar/scheduled", "/calendar/schedule")
NO_CREDENTIALS = {"error": "Authentication credentials were not provided.", "status_code": 401}
INVALID_TOKEN = {"error": "Invalid token.", "status_code": 401}
BAD_LIMIT = {"error": "limit must be an integer between 1 and 100.", "status_code": 400}


async def get(
    http: aiohttp.ClientSession,
    simulators: Simulators,
    params: dict[str, str] | None = None,
    *,
    path: str = PATHS[0],
    authorization: str | None = f"Token {meetstream.PRIMARY_KEY}",
) -> tuple[int, Any]:
    headers = {} if authorization is None else {"Authorization": authorization}
    url = simulators.meetstream.base_url + path
    async with http.get(url, params=params, headers=headers) as answer:
        return answer.status, await answer.json()


def future_bots(records: list[Record]) -> list[Record]:
    """What the listing must hold: join time after now, earliest first, ties by bot_id."""
    upcoming = [
        bot for bot in records if datetime.fromisoformat(bot["scheduled_join_time"]) > REFERENCE_NOW
    ]
    by_id = sorted(upcoming, key=lambda bot: bot["bot_id"])
    return sorted(by_id, key=lambda bot: datetime.fromisoformat(bot["scheduled_join_time"]))


@pytest.mark.parametrize(
    ("authorization", "body"),
    [
        (None, NO_CREDENTIALS),
        ("", NO_CREDENTIALS),
        (f"Bearer {meetstream.PRIMARY_KEY}", NO_CREDENTIALS),
        (f"token {meetstream.PRIMARY_KEY}", NO_CREDENTIALS),
        (meetstream.PRIMARY_KEY, NO_CREDENTIALS),
        (
            "Token",
            {"error": "Invalid token header. No credentials provided.", "status_code": 401},
        ),
        (
            f"Token {meetstream.PRIMARY_KEY} extra",
            {
                "error": "Invalid token header. Token string should not contain spaces.",
                "status_code": 401,
            },
        ),
        ("Token ms_sim_unknown", INVALID_TOKEN),
        (f"Token {meetstream.PRIMARY_KEY.upper()}", INVALID_TOKEN),
        (f"Token {meetstream.ORPHAN_KEY}", {"error": "User not found", "status_code": 404}),
    ],
)
async def test_auth_failures(
    simulators: Simulators,
    http: aiohttp.ClientSession,
    authorization: str | None,
    body: dict[str, Any],
) -> None:
    for path in PATHS:
        answer = await get(http, simulators, path=path, authorization=authorization)
        assert answer == (body["status_code"], body)


async def test_second_key_sees_same_bots(
    simulators: Simulators, http: aiohttp.ClientSession
) -> None:
    first = await get(http, simulators)
    second = await get(http, simulators, authorization=f"Token {meetstream.SECOND_KEY}")
    assert first == second
    assert first[0] == 200
    assert len({r.credential for r in simulators.meetstream.requests}) == 2


@pytest.mark.parametrize("path", PATHS)
async def test_lists_every_future_bot_earliest_first(
    simulators: Simulators, http: aiohttp.ClientSession, dataset: Dataset, path: str
) -> None:
    expected = future_bots(dataset.meetstream)
    assert 0 < len(expected) < len(dataset.meetstream)
    assert await get(http, simulators, path=path) == (200, {"scheduled_bots": expected})


@pytest.mark.parametrize("limit", [1, 2, 7, 29, 100])
async def test_limit_keeps_the_earliest(
    simulators: Simulators, http: aiohttp.ClientSession, dataset: Dataset, limit: int
) -> None:
    expected = future_bots(dataset.meetstream)[:limit]
    status, body = await get(http, simulators, {"limit": str(limit)})
    assert (status, body) == (200, {"scheduled_bots": expected})


async def test_more_than_a_hundred_future_bots_are_capped(
    simulators: Simulators, http: aiohttp.ClientSession, dataset: Dataset
) -> None:
    template = dataset.meetstream[0]
    start = datetime.fromisoformat("2031-01-01T09:00:00+00:00")
    for index in range(120):
        moment = (start + timedelta(minutes=index)).isoformat()
        simulators.meetstream.upsert(
            {**template, "bot_id": f"bulk-{index:03d}", "scheduled_join_time": moment}
        )
    _, default = await get(http, simulators)
    assert len(default["scheduled_bots"]) == 100
    expected = future_bots(simulators.meetstream.api.records())[:100]
    assert default["scheduled_bots"] == expected


@pytest.mark.parametrize("limit", ["0", "101", "-1", "abc", "", "1.5", "+5", " 5", "1e2", "٣"])
async def test_bad_limit_is_400(
    simulators: Simulators, http: aiohttp.ClientSession, limit: str
) -> None:
    for path in PATHS:
        assert await get(http, simulators, {"limit": limit}, path=path) == (400, BAD_LIMIT)


async def test_auth_is_checked_before_limit(
    simulators: Simulators, http: aiohttp.ClientSession
) -> None:
    assert await get(http, simulators, {"limit": "0"}, authorization=None) == (
        401,
        NO_CREDENTIALS,
    )


async def test_unknown_parameters_are_ignored(
    simulators: Simulators, http: aiohttp.ClientSession, dataset: Dataset
) -> None:
    status, body = await get(http, simulators, {"offset": "5", "cursor": "x", "status": "Done"})
    assert (status, body) == (200, {"scheduled_bots": future_bots(dataset.meetstream)})


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (500, {"error": "Internal server error.", "status_code": 500}),
        (502, {"error": "Bad Gateway.", "status_code": 502}),
        (404, {"error": "Not found.", "status_code": 404}),
    ],
)
async def test_injected_error_uses_meetstream_body(
    simulators: Simulators, http: aiohttp.ClientSession, status: int, body: dict[str, Any]
) -> None:
    simulators.meetstream.inject(Fault(kind=FaultKind.ERROR, status=status, times=1))
    assert await get(http, simulators) == (status, body)
    assert (await get(http, simulators))[0] == 200


async def test_injected_rate_limit_uses_meetstream_body(
    simulators: Simulators, http: aiohttp.ClientSession
) -> None:
    simulators.meetstream.inject(Fault(kind=FaultKind.RATE_LIMIT, times=1))
    assert await get(http, simulators) == (
        429,
        {"error": "Request was throttled.", "status_code": 429},
    )


async def test_unknown_path_answers_in_meetstream_shape(
    simulators: Simulators, http: aiohttp.ClientSession
) -> None:
    assert await get(http, simulators, path="/bots") == (
        404,
        {"error": "Not found.", "status_code": 404},
    )


async def test_no_rate_limit_is_enforced(
    simulators: Simulators, http: aiohttp.ClientSession
) -> None:
    simulators.meetstream.set_rate_limits(True)
    answers = await asyncio.gather(*(get(http, simulators) for _ in range(150)))
    assert {status for status, _ in answers} == {200}


async def test_upsert_new_changed_and_malformed_bots(
    simulators: Simulators, http: aiohttp.ClientSession, dataset: Dataset
) -> None:
    listed = future_bots(dataset.meetstream)
    first = listed[0]
    soonest = datetime.fromisoformat(first["scheduled_join_time"]) - timedelta(minutes=1)
    new = {**first, "bot_id": "00000000-aaaa-4bbb-8ccc-000000000001"}
    new["scheduled_join_time"] = soonest.isoformat()
    assert simulators.meetstream.upsert(new) == new
    # The first listed bot moves into the past: it is no longer listed.
    simulators.meetstream.upsert({**first, "scheduled_join_time": "2026-03-01T10:00:00+00:00"})
    simulators.meetstream.upsert({"bot_id": "broken", "scheduled_join_time": 12})
    simulators.meetstream.upsert({"bot_id": "no-time"})
    status, body = await get(http, simulators)
    assert status == 200
    assert body["scheduled_bots"] == [new, *listed[1:]]
    assert len(simulators.meetstream.api.records()) == len(dataset.meetstream) + 3


async def test_upsert_needs_a_bot_id(simulators: Simulators) -> None:
    with pytest.raises(KeyError):
        simulators.meetstream.upsert({"status": "Scheduled"})
    with pytest.raises(TypeError):
        simulators.meetstream.upsert({"bot_id": 7})


def test_data_set_is_realistic(dataset: Dataset) -> None:
    bots = dataset.meetstream
    upcoming = future_bots(bots)
    assert len(bots) == 40
    assert len({bot["bot_id"] for bot in bots}) == len(bots)
    assert {bot["status"] for bot in upcoming} == set(meetstream.STATUSES)
    scheduled = [bot for bot in upcoming if bot["status"] == "Scheduled"]
    assert len(scheduled) > len(upcoming) / 2
    assert len(upcoming) < len(bots)  # past bots exist but are never listed
    assert {bot["platform"] for bot in bots} == set(meetstream.PLATFORMS)
    assert any(not bot["bot_username"].isascii() for bot in bots)
    for bot in bots:
        assert set(bot) == {
            "bot_id", "platform", "status", "scheduled_join_time", "custom_attributes",
            "bot_username", "is_scheduled",
        }  # fmt: skip
        assert bot["is_scheduled"] is True
        assert bot["scheduled_join_time"].endswith("+00:00")
        attributes = bot["custom_attributes"]
        assert set(attributes) == {"source", "event_id", "deduplication_key"}
        assert attributes["source"] == "calendar_schedule_api"
        assert attributes["deduplication_key"].startswith(attributes["event_id"])


def test_bots_join_calendar_events_three_minutes_early(dataset: Dataset) -> None:
    pools = build_pools(dataset.seed, dataset.now)
    events = {event.event_id: event for event in pools.calendar_events}
    linked = [bot for bot in dataset.meetstream if bot["custom_attributes"]["event_id"] in events]
    strangers = [b for b in dataset.meetstream if b["custom_attributes"]["event_id"] not in events]
    assert len(linked) == 36
    assert len(strangers) == 4
    assert len({bot["custom_attributes"]["event_id"] for bot in dataset.meetstream}) == 40
    for bot in linked:
        event = events[bot["custom_attributes"]["event_id"]]
        joins = datetime.fromisoformat(bot["scheduled_join_time"])
        assert joins == event.start - timedelta(minutes=3)
    listed_linked = [bot for bot in future_bots(dataset.meetstream) if bot in linked]
    assert len(listed_linked) >= 20
    assert any(datetime.fromisoformat(b["scheduled_join_time"]) < dataset.now for b in linked)
