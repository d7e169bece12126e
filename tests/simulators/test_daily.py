"""The Daily simulator over real HTTP: auth, parameters, cursor pagination, limits, data."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from itertools import pairwise
from typing import Any

import aiohttp
import pytest

from gateway.simulators.cluster import Simulators
from gateway.simulators.core import Record, Simulator
from gateway.simulators.daily import FORBIDDEN_KEY, PRIMARY_KEY, SECOND_KEY, DailyApi
from gateway.simulators.dataset import Dataset
from gateway.simulators.faults import Fault, FaultKind
from gateway.simulators.params import parse_datetime
from gateway.simulators.seed import build_pools

Params = dict[str, str]


def _expected(sessions: list[Record]) -> list[Record]:
    """Newest start first, ties by id descending: computed here, independently."""
    return sorted(sessions, key=lambda s: (s["start_time"], s["id"]), reverse=True)


def _ids(sessions: list[Record]) -> list[str]:
    return [s["id"] for s in sessions]


async def _get(
    http: aiohttp.ClientSession,
    sim: Simulator,
    params: Params | None = None,
    *,
    path: str = "/meetings",
    headers: dict[str, str] | None = None,
) -> tuple[int, Any, Mapping[str, str]]:
    sent = {"Authorization": f"Bearer {sim.api_key}"} if headers is None else headers
    async with http.get(sim.base_url + path, params=params or {}, headers=sent) as response:
        return response.status, await response.json(), response.headers


async def test_default_list_is_newest_first_with_total(
    simulators: Simulators, http: aiohttp.ClientSession, dataset: Dataset
) -> None:
    status, body, _ = await _get(http, simulators.daily)
    assert status == 200
    expected = _expected(dataset.daily)
    assert len(expected) > 100
    assert body["total_count"] == len(expected)
    assert body["data"] == expected[:100]
    assert simulators.daily.base_url.endswith("/v1")


@pytest.mark.parametrize(
    ("headers", "status", "error"),
    [
        ({}, 400, "authorization-header-error"),
        ({"Authorization": PRIMARY_KEY}, 400, "authorization-header-error"),
        ({"Authorization": f"Basic {PRIMARY_KEY}"}, 400, "authorization-header-error"),
        ({"Authorization": f"bearer {PRIMARY_KEY}"}, 400, "authorization-header-error"),
        ({"Authorization": "Bearer "}, 400, "authorization-header-error"),
        ({"Authorization": "Bearer not-a-daily-key"}, 401, "authentication-error"),
        ({"Authorization": f"Bearer {PRIMARY_KEY[:-1]}"}, 401, "authentication-error"),
        ({"Authorization": f"Bearer {FORBIDDEN_KEY}"}, 403, "forbidden-error"),
    ],
)
async def test_auth_failures(
    simulators: Simulators,
    http: aiohttp.ClientSession,
    headers: dict[str, str],
    status: int,
    error: str,
) -> None:
    for path in ("/meetings", "/meetings/anything"):
        got, body, _ = await _get(http, simulators.daily, path=path, headers=headers)
        assert (got, body["error"]) == (status, error)
        assert set(body) == {"error", "info"}
        assert isinstance(body["info"], str)
        assert body["info"]


async def test_second_key_sees_the_same_data(
    simulators: Simulators, http: aiohttp.ClientSession
) -> None:
    _, primary, _ = await _get(http, simulators.daily, {"limit": "30"})
    status, second, _ = await _get(
        http, simulators.daily, {"limit": "30"}, headers={"Authorization": f"Bearer {SECOND_KEY}"}
    )
    assert status == 200
    assert second == primary


@pytest.mark.parametrize(
    "params",
    [
        {"limit": "0"},
        {"limit": "101"},
        {"limit": "-1"},
        {"limit": "ten"},
        {"limit": ""},
        {"limit": "1.5"},
        {"timeframe_start": "2026-03-01T00:00:00Z"},
        {"timeframe_start": "1772337600.5"},
        {"timeframe_start": "-1"},
        {"timeframe_end": "soon"},
        {"timeframe_start": "1772337601", "timeframe_end": "1772337600"},
        {"ongoing": "yes"},
        {"ongoing": "1"},
        {"ongoing": "True"},
        {"no_participants": "0"},
        {"no_participants": ""},
        {"starting_after": "00000000-0000-4000-8000-000000000000"},
        {"ending_before": ""},
    ],
)
async def test_bad_parameters(
    simulators: Simulators, http: aiohttp.ClientSession, params: Params
) -> None:
    status, body, _ = await _get(http, simulators.daily, params)
    assert status == 400
    assert body["error"] == "invalid-request-error"
    assert set(body) == {"error", "info"}


async def test_both_cursors_at_once_are_refused(
    simulators: Simulators, http: aiohttp.ClientSession, dataset: Dataset
) -> None:
    first, second = _ids(_expected(dataset.daily)[:2])
    status, body, _ = await _get(
        http, simulators.daily, {"starting_after": first, "ending_before": second}
    )
    assert (status, body["error"]) == (400, "invalid-request-error")


async def test_limit_bounds_and_unknown_parameters(
    simulators: Simulators, http: aiohttp.ClientSession, dataset: Dataset
) -> None:
    expected = _expected(dataset.daily)
    for limit in (1, 100):
        status, body, _ = await _get(
            http, simulators.daily, {"limit": str(limit), "page": "3", "sort": "asc"}
        )
        assert status == 200
        assert body["data"] == expected[:limit]


async def test_full_walk_forward_and_back(
    simulators: Simulators, http: aiohttp.ClientSession, dataset: Dataset
) -> None:
    expected = _ids(_expected(dataset.daily))
    forward: list[str] = []
    params: Params = {"limit": "7", "no_participants": "true"}
    while True:
        _, body, _ = await _get(http, simulators.daily, params)
        assert body["total_count"] == len(expected)
        page = _ids(body["data"])
        if not page:
            break
        assert len(page) <= 7
        forward += page
        params = {"limit": "7", "no_participants": "true", "starting_after": page[-1]}
    assert forward == expected

    backward: list[str] = []
    cursor = expected[-1]
    while True:
        _, body, _ = await _get(http, simulators.daily, {"limit": "7", "ending_before": cursor})
        page = _ids(body["data"])
        if not page:
            break
        assert len(page) == min(7, expected.index(cursor))
        assert page == expected[expected.index(cursor) - len(page) : expected.index(cursor)]
        backward = page + backward
        cursor = page[0]
    assert [*backward, expected[-1]] == expected
    forward_calls = -(-len(expected) // 7) + 1  # full pages, then one empty page
    backward_calls = -(-(len(expected) - 1) // 7) + 1
    assert len(simulators.daily.requests) == forward_calls + backward_calls


async def test_walk_with_a_filter_uses_cursor_position(
    simulators: Simulators, http: aiohttp.ClientSession, dataset: Dataset
) -> None:
    ordered = _expected(dataset.daily)
    finished = [s for s in ordered if not s["ongoing"]]
    # A cursor that the filter excludes still marks a position in the newest-first order.
    live_cursor = next(s for s in ordered if s["ongoing"])
    older = [
        s
        for s in finished
        if (s["start_time"], s["id"]) < (live_cursor["start_time"], live_cursor["id"])
    ]
    _, body, _ = await _get(
        http,
        simulators.daily,
        {"ongoing": "false", "starting_after": live_cursor["id"], "limit": "5"},
    )
    assert body["total_count"] == len(finished)
    assert body["data"] == older[:5]
    middle = finished[40]
    _, body, _ = await _get(
        http, simulators.daily, {"ongoing": "false", "ending_before": middle["id"], "limit": "5"}
    )
    assert body["data"] == finished[35:40]


async def test_timeframe_boundaries(
    simulators: Simulators, http: aiohttp.ClientSession, dataset: Dataset
) -> None:
    ordered = _expected(dataset.daily)
    tied, ties = Counter(s["start_time"] for s in ordered).most_common(1)[0]
    assert ties >= 2
    at_t = [s for s in ordered if s["start_time"] == tied]

    async def ids(params: Params) -> tuple[int, list[str]]:
        status, body, _ = await _get(http, simulators.daily, params)
        assert status == 200
        return body["total_count"], _ids(body["data"])

    start = str(tied)
    assert await ids({"timeframe_start": start, "timeframe_end": str(tied + 1)}) == (
        ties,
        _ids(at_t),
    )
    assert await ids({"timeframe_start": start, "timeframe_end": start}) == (0, [])
    newer_or_equal = [s for s in ordered if s["start_time"] >= tied]
    assert await ids({"timeframe_start": start}) == (
        len(newer_or_equal),
        _ids(newer_or_equal[:100]),
    )
    older = [s for s in ordered if s["start_time"] < tied]
    assert await ids({"timeframe_end": start}) == (len(older), _ids(older[:100]))
    assert await ids({"timeframe_start": str(tied + 1), "timeframe_end": str(tied + 1)}) == (0, [])


async def test_room_ongoing_and_no_participants_filters(
    simulators: Simulators, http: aiohttp.ClientSession, dataset: Dataset
) -> None:
    ordered = _expected(dataset.daily)
    room = Counter(s["room"] for s in ordered).most_common(1)[0][0]
    _, body, _ = await _get(http, simulators.daily, {"room": room})
    assert body["data"] == [s for s in ordered if s["room"] == room]
    assert body["total_count"] >= 3

    _, body, _ = await _get(http, simulators.daily, {"room": "no-such-room"})
    assert body == {"total_count": 0, "data": []}

    _, body, _ = await _get(http, simulators.daily, {"ongoing": "true"})
    live = [s for s in ordered if s["ongoing"]]
    assert body == {"total_count": len(live), "data": live}
    _, body, _ = await _get(http, simulators.daily, {"ongoing": "false", "limit": "100"})
    assert body["total_count"] == len(ordered) - len(live)
    assert all(not s["ongoing"] for s in body["data"])

    _, body, _ = await _get(http, simulators.daily, {"no_participants": "true", "limit": "20"})
    stripped = [{k: v for k, v in s.items() if k != "participants"} for s in ordered[:20]]
    assert body["data"] == stripped
    _, body, _ = await _get(http, simulators.daily, {"no_participants": "false", "limit": "20"})
    assert body["data"] == ordered[:20]


async def test_get_one_session_and_not_found(
    simulators: Simulators, http: aiohttp.ClientSession, dataset: Dataset
) -> None:
    session = dataset.daily[5]
    status, body, _ = await _get(http, simulators.daily, path=f"/meetings/{session['id']}")
    assert (status, body) == (200, session)
    status, body, _ = await _get(http, simulators.daily, path="/meetings/nope")
    assert status == 404
    assert body["error"] == "not-found"
    assert "nope" in body["info"]
    status, body, _ = await _get(http, simulators.daily, path="/rooms")
    assert (status, body["error"]) == (404, "not-found")


async def test_rate_limit_per_key_and_refusals_spend_nothing(
    simulators: Simulators, http: aiohttp.ClientSession
) -> None:
    api = simulators.daily.api
    assert isinstance(api, DailyApi)
    now = [1000.0]
    api.monotonic = lambda: now[0]
    simulators.daily.set_rate_limits(True)
    params = {"limit": "1", "no_participants": "true"}
    statuses = [(await _get(http, simulators.daily, params))[0] for _ in range(20)]
    assert statuses == [200] * 20
    status, body, headers = await _get(http, simulators.daily, params)
    assert status == 429
    assert body == {"error": "rate-limit-error", "info": body["info"]}
    assert "Retry-After" not in headers
    assert not any(name.lower().startswith("x-ratelimit") for name in headers)
    # The other key has its own windows; the single-session route is limited too.
    second = {"Authorization": f"Bearer {SECOND_KEY}"}
    assert (await _get(http, simulators.daily, params, headers=second))[0] == 200
    assert (await _get(http, simulators.daily, path="/meetings/x"))[0] == 429
    # Refused requests spend nothing: a second later the whole budget is back.
    now[0] += 0.5
    assert (await _get(http, simulators.daily, params))[0] == 429
    now[0] += 0.5
    statuses = [(await _get(http, simulators.daily, params))[0] for _ in range(21)]
    assert statuses == [200] * 20 + [429]
    # Five full seconds at 20/s use the whole 100 per 5 s, and all of it was allowed.
    for _ in range(3):
        now[0] += 1.0
        statuses = [(await _get(http, simulators.daily, params))[0] for _ in range(20)]
        assert statuses == [200] * 20


async def test_rate_limit_real_clock_21st_request(
    simulators: Simulators, http: aiohttp.ClientSession
) -> None:
    simulators.daily.set_rate_limits(True)
    params = {"limit": "1", "no_participants": "true"}
    statuses = [(await _get(http, simulators.daily, params))[0] for _ in range(21)]
    assert statuses == [200] * 20 + [429]


async def test_injected_faults_use_daily_error_bodies(
    simulators: Simulators, http: aiohttp.ClientSession
) -> None:
    simulators.daily.inject(Fault(kind=FaultKind.ERROR, status=500, times=1))
    status, body, _ = await _get(http, simulators.daily)
    assert (status, body["error"]) == (500, "server-error")
    assert set(body) == {"error", "info"}
    simulators.daily.inject(Fault(kind=FaultKind.ERROR, status=503, times=1))
    status, body, _ = await _get(http, simulators.daily)
    assert (status, body["error"]) == (503, "server-error")
    simulators.daily.inject(Fault(kind=FaultKind.RATE_LIMIT, times=1))
    status, body, headers = await _get(http, simulators.daily)
    assert (status, body["error"]) == (429, "rate-limit-error")
    assert "Retry-After" not in headers
    status, _, _ = await _get(http, simulators.daily, {"limit": "1"})
    assert status == 200


async def test_upsert_new_changed_and_malformed_records(
    simulators: Simulators, http: aiohttp.ClientSession, dataset: Dataset
) -> None:
    newest = _expected(dataset.daily)[0]
    fresh: Record = {
        "id": "ffffffff-0000-4000-8000-000000000001",
        "room": "late-room",
        "start_time": newest["start_time"] + 30,
        "duration": 15,
        "ongoing": True,
        "max_participants": 1,
        "participants": [],
    }
    simulators.daily.upsert(fresh)
    _, body, _ = await _get(http, simulators.daily, {"limit": "2"})
    assert body["total_count"] == len(dataset.daily) + 1
    assert body["data"] == [fresh, newest]

    changed = {**newest, "room": "renamed-room"}
    simulators.daily.upsert(changed)
    _, body, _ = await _get(http, simulators.daily, {"room": "renamed-room"})
    assert body == {"total_count": 1, "data": [changed]}

    broken: Record = {"id": "broken", "start_time": "yesterday", "ongoing": None}
    simulators.daily.upsert(broken)
    _, body, _ = await _get(http, simulators.daily, {"limit": "100"})
    assert body["total_count"] == len(dataset.daily) + 2
    _, body, _ = await _get(
        http, simulators.daily, {"starting_after": _expected(dataset.daily)[-1]["id"]}
    )
    assert body["data"] == [broken]  # no valid start: sorts oldest, served as stored
    _, body, _ = await _get(http, simulators.daily, {"timeframe_start": "0"})
    assert "broken" not in _ids(body["data"])


def test_dataset_shape_and_overlaps(dataset: Dataset) -> None:
    sessions = dataset.daily
    pools = build_pools(dataset.seed, dataset.now)
    now = int(dataset.now.timestamp())
    assert len({s["id"] for s in sessions}) == len(sessions)
    keys = {"id", "room", "start_time", "duration", "ongoing", "max_participants", "participants"}
    for s in sessions:
        assert set(s) == keys
        assert isinstance(s["start_time"], int)
        assert isinstance(s["duration"], int)
        assert s["duration"] > 0
        assert s["start_time"] + s["duration"] <= now
        assert s["max_participants"] >= len(s["participants"])
        assert 0 <= len(s["participants"]) <= 6
        for p in s["participants"]:
            assert set(p) == {"user_id", "participant_id", "user_name", "join_time", "duration"}
            assert s["start_time"] <= p["join_time"]
            assert p["join_time"] + p["duration"] <= s["start_time"] + s["duration"]
    assert "@" not in repr(sessions)  # Daily has no emails

    live = [s for s in sessions if s["ongoing"]]
    assert len(live) >= 3
    assert all(
        now - 3600 <= s["start_time"] and s["start_time"] + s["duration"] == now for s in live
    )
    participants = [p for s in sessions for p in s["participants"]]
    assert any(p["user_id"] is None for p in participants)
    assert any(p["user_name"] is None for p in participants)
    assert any(p["user_name"] and not p["user_name"].isascii() for p in participants)
    assert {len(s["participants"]) for s in sessions} == set(range(7))

    # Every past room booking has its session, within Daily's ~15 s accuracy.
    for booking in pools.room_bookings:
        in_room = [s for s in sessions if s["room"] == booking.room]
        if booking.start >= dataset.now:
            assert in_room == []
            continue
        assert len(in_room) == 1
        assert 0 <= in_room[0]["start_time"] - int(booking.start.timestamp()) <= 14
    # Leezy meetings that link to a Daily room find its session there.
    linked = [
        m["attributes"]
        for m in dataset.leezy
        if (m["attributes"]["meeting_url"] or "").startswith("https://meetings.daily.co/")
    ]
    assert linked
    for meeting in linked:
        room = meeting["meeting_url"].rsplit("/", 1)[1]
        start = int(parse_datetime("start", meeting["start_time"]).timestamp())
        if start < now:
            assert any(s["room"] == room and 0 <= s["start_time"] - start <= 14 for s in sessions)
    # Some sessions start exactly when other APIs' meetings do; rooms host several sessions.
    shared = {int(moment.timestamp()) for moment in pools.shared_starts}
    assert sum(s["start_time"] in shared for s in sessions) >= 3
    demo_rooms = Counter(s["room"] for s in sessions if s["room"].startswith("demo-room-"))
    assert sum(n >= 2 for n in demo_rooms.values()) >= 10
    # A room never hosts two sessions at once.
    for room in demo_rooms:
        spans = sorted(
            (s["start_time"], s["start_time"] + s["duration"])
            for s in sessions
            if s["room"] == room
        )
        assert all(a[1] <= b[0] for a, b in pairwise(spans))
