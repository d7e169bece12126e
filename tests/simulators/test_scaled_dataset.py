"""A real-sized account (`build_dataset(scale=N)`): sizes, ties, nulls, overlaps, determinism,
and every record served through the simulators' own APIs."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Callable, Hashable, Sequence
from datetime import UTC, datetime, timedelta
from functools import cache
from itertools import pairwise
from typing import Any

import aiohttp
import pytest

from gateway.simulators import daily, leezy, meetstream, nexor, salesloft
from gateway.simulators.cluster import Simulators, running_simulators
from gateway.simulators.core import Record
from gateway.simulators.dataset import Dataset, DatasetSizes, build_dataset
from tests.conftest import REFERENCE_NOW

SCALE = 20
TARGETS = {"leezy": 2400, "nexor_leads": 500, "meetstream": 800, "salesloft": 3000, "daily": 1200}
NEXOR_NULLABLE = (
    "meeting_url", "location_details", "host_name", "meeting_type", "cancelled_at",
    "cancellation_reason", "no_show_reason", "outcome_notes",
)  # fmt: skip


@cache
def _scaled(scale: int = SCALE, seed: int = 7) -> Dataset:
    return build_dataset(seed=seed, now=REFERENCE_NOW, scale=scale)


@pytest.fixture
def scaled() -> Dataset:
    return _scaled()


def _nexor_meetings(dataset: Dataset) -> list[Record]:
    return [m for meetings in dataset.nexor_meetings.values() for m in meetings]


STARTS: dict[str, Callable[[Dataset], list[Any]]] = {
    "leezy": lambda d: [m["attributes"]["start_time"] for m in d.leezy],
    "nexor": lambda d: [m["starts_at"] for m in _nexor_meetings(d)],
    "meetstream": lambda d: [b["scheduled_join_time"] for b in d.meetstream],
    "salesloft": lambda d: [m["start_time"] for m in d.salesloft],
    "daily": lambda d: [s["start_time"] for s in d.daily],
}
CHANGES: dict[str, Callable[[Dataset], list[Any]]] = {
    "salesloft created_at": lambda d: [m["created_at"] for m in d.salesloft],
    "salesloft updated_at": lambda d: [m["updated_at"] for m in d.salesloft],
    "leezy created_at": lambda d: [m["attributes"]["created_at"] for m in d.leezy],
    "leezy updated_at": lambda d: [m["attributes"]["updated_at"] for m in d.leezy],
    "nexor created_at": lambda d: [m["created_at"] for m in _nexor_meetings(d)],
}


def _ties(values: Sequence[Hashable]) -> tuple[float, set[int]]:
    """The share of values equal to another, and the sizes of those groups."""
    sizes = [count for count in Counter(values).values() if count > 1]
    return sum(sizes) / len(values), set(sizes)


def _at(value: str | int) -> datetime:
    if isinstance(value, int):
        return datetime.fromtimestamp(value, UTC)
    return datetime.fromisoformat(value)


# --- sizes and determinism ------------------------------------------------------------------


def test_counts_at_scale_20_are_those_of_a_real_sized_account(scaled: Dataset) -> None:
    counts = {
        "leezy": len(scaled.leezy),
        "nexor_leads": len(scaled.nexor_leads),
        "meetstream": len(scaled.meetstream),
        "salesloft": len(scaled.salesloft),
        "daily": len(scaled.daily),
    }
    for name, target in TARGETS.items():
        assert 0.9 * target <= counts[name] <= 1.1 * target, (name, counts[name])
    assert len(_nexor_meetings(scaled)) >= 3 * len(scaled.nexor_leads)


def test_sizes_grow_linearly() -> None:
    assert DatasetSizes.scaled(1) == DatasetSizes(
        leezy=120, nexor_leads=25, meetstream=40, salesloft=150, daily=40
    )
    assert DatasetSizes.scaled(20).salesloft == 20 * DatasetSizes.scaled(1).salesloft


@pytest.mark.parametrize("scale", [0, -1, 201])
def test_a_scale_out_of_range_is_refused(scale: int) -> None:
    with pytest.raises(ValueError, match="between 1 and 200"):
        build_dataset(now=REFERENCE_NOW, scale=scale)


def test_same_seed_now_and_scale_give_the_same_records(scaled: Dataset) -> None:
    assert build_dataset(seed=7, now=REFERENCE_NOW, scale=SCALE) == scaled
    assert _scaled(scale=3) != _scaled(scale=3, seed=8)
    assert _scaled(scale=3) != build_dataset(now=REFERENCE_NOW + timedelta(hours=1), scale=3)


def test_explicit_sizes_win_over_the_scale() -> None:
    sizes = DatasetSizes(leezy=7, nexor_leads=3, meetstream=4, salesloft=9, daily=2)
    dataset = build_dataset(now=REFERENCE_NOW, sizes=sizes, scale=2)
    assert (len(dataset.leezy), len(dataset.salesloft), len(dataset.meetstream)) == (7, 9, 4)


# --- ties ------------------------------------------------------------------------------------


@pytest.mark.parametrize("source", STARTS)
def test_a_third_of_each_source_starts_on_shared_instants(scaled: Dataset, source: str) -> None:
    share, sizes = _ties(STARTS[source](scaled))
    assert 0.25 <= share <= 0.45, share
    assert sizes <= set(range(2, 7)), sizes


@pytest.mark.parametrize("field", CHANGES)
def test_creation_and_update_times_tie_too(scaled: Dataset, field: str) -> None:
    share, sizes = _ties(CHANGES[field](scaled))
    assert 0.25 <= share <= 0.45, share
    assert sizes <= set(range(2, 7)), sizes


def test_popular_instants_are_shared_across_sources(scaled: Dataset) -> None:
    starts = {name: {_at(value) for value in values(scaled)} for name, values in STARTS.items()}
    del starts["meetstream"]  # bots join three minutes early
    pairs = [(a, b) for a in starts for b in starts if a < b and starts[a] & starts[b]]
    assert len(pairs) >= 5, pairs


def test_creation_and_update_times_stay_in_order(scaled: Dataset) -> None:
    for meeting in scaled.salesloft:
        assert meeting["created_at"] <= meeting["updated_at"]
        assert _at(meeting["created_at"]) <= _at(meeting["start_time"])
    for item in scaled.leezy:
        attributes = item["attributes"]
        assert attributes["created_at"] <= attributes["updated_at"]
        assert _at(attributes["created_at"]) <= _at(attributes["start_time"])
    for meeting in _nexor_meetings(scaled):
        assert _at(meeting["created_at"]) <= min(_at(meeting["starts_at"]), REFERENCE_NOW)


# --- nulls and omitted fields ------------------------------------------------------------


def test_every_nullable_nexor_field_is_null_somewhere(scaled: Dataset) -> None:
    meetings = _nexor_meetings(scaled)
    for name in NEXOR_NULLABLE:
        assert any(m[name] is None for m in meetings), name
        assert any(m[name] is not None for m in meetings), name
    assert any(m["host_name"] is None and m["location_type"] == "video" for m in meetings)
    assert any(m["meeting_type"] is None for m in meetings)


def test_meetstream_bots_scheduled_by_hand_have_no_custom_attributes(scaled: Dataset) -> None:
    empty = [b for b in scaled.meetstream if b["custom_attributes"] == {}]
    assert empty
    future = [b for b in empty if _at(b["scheduled_join_time"]) > REFERENCE_NOW]
    assert future  # some of them are listed


def test_salesloft_omits_recurrence_for_single_events(scaled: Dataset) -> None:
    series = [m for m in scaled.salesloft if "recurrence" in m]
    single = [m for m in scaled.salesloft if not m["recurring"]]
    assert series
    assert all(m["recurring"] and m["recurring_interval"] for m in series)
    assert single
    assert all("recurrence" not in m and "recurring_interval" not in m for m in single)
    assert any(m["recurring"] and "recurrence" not in m for m in scaled.salesloft)  # instances


def test_nulls_the_default_data_set_already_had_are_kept(scaled: Dataset) -> None:
    participants = [p for s in scaled.daily for p in s["participants"]]
    assert any(p["user_id"] is None for p in participants)
    assert any(p["user_name"] is None for p in participants)
    attributes = [m["attributes"] for m in scaled.leezy]
    assert any(a["cancelled_reason"] is None and a["status"] == "cancelled" for a in attributes)
    assert any(a["attendee"]["phone"] is None for a in attributes)
    assert any(m["person"] is None for m in scaled.salesloft)


def test_the_default_data_set_has_none_of_the_scaled_gaps(dataset: Dataset) -> None:
    meetings = _nexor_meetings(dataset)
    assert all(m["host_name"] is not None and m["meeting_type"] is not None for m in meetings)
    assert all(b["custom_attributes"] for b in dataset.meetstream)
    assert all("recurrence" in m and "reschedule_guid" not in m for m in dataset.salesloft)


# --- overlaps, in proportion -------------------------------------------------------------


def test_people_appear_in_several_apis(scaled: Dataset) -> None:
    leezy_emails = {m["attributes"]["attendee"]["email"] for m in scaled.leezy}
    nexor_emails = {m["attendee_email"] for m in _nexor_meetings(scaled)}
    salesloft_emails = {m["recipient_email"] for m in scaled.salesloft}
    assert len(leezy_emails & nexor_emails & salesloft_emails) >= 10 * SCALE


def test_bots_join_salesloft_events_three_minutes_early(scaled: Dataset) -> None:
    starts = {m["event_id"]: _at(m["start_time"]) for m in scaled.salesloft}
    joined = [b for b in scaled.meetstream if b["custom_attributes"].get("event_id") in starts]
    assert len(joined) >= 0.8 * len(scaled.meetstream)
    for bot in joined:
        event_start = starts[bot["custom_attributes"]["event_id"]]
        assert _at(bot["scheduled_join_time"]) == event_start - meetstream.JOIN_LEAD


def test_leezy_and_nexor_link_daily_rooms_that_have_sessions(scaled: Dataset) -> None:
    sessions = Counter(s["room"] for s in scaled.daily)
    leezy_links = [
        (m["attributes"]["meeting_url"], m["attributes"]["start_time"]) for m in scaled.leezy
    ]
    nexor_links = [(m["meeting_url"], m["starts_at"]) for m in _nexor_meetings(scaled)]
    for links in (leezy_links, nexor_links):
        rooms = [(_daily_room(url), start) for url, start in links if _daily_room(url)]
        assert len(rooms) >= 5 * SCALE
        assert len({room for room, _ in rooms}) == len(rooms)  # each booked room used once
        assert all(sessions[room] == 1 for room, start in rooms if _at(start) < REFERENCE_NOW)


def _daily_room(url: str | None) -> str | None:
    prefix = "https://meetings.daily.co/"
    return url.removeprefix(prefix) if url and url.startswith(prefix) else None


def test_daily_rooms_never_host_two_sessions_at_once(scaled: Dataset) -> None:
    by_room: dict[str, list[tuple[int, int]]] = {}
    for session in scaled.daily:
        start = session["start_time"]
        by_room.setdefault(session["room"], []).append((start, start + session["duration"]))
    for spans in by_room.values():
        spans.sort()
        assert all(end <= start for (_, end), (start, _) in pairwise(spans))
    assert 1 <= sum(s["ongoing"] for s in scaled.daily) <= 10


# --- served through the APIs ---------------------------------------------------------------


@pytest.fixture
async def scaled_simulators() -> AsyncIterator[Simulators]:
    async with running_simulators(
        _scaled(scale=SCALE), clock=lambda: REFERENCE_NOW, rate_limits=False
    ) as running:
        yield running


async def _json(
    http: aiohttp.ClientSession, url: str, headers: dict[str, str], params: dict[str, str]
) -> Any:
    async with http.get(url, headers=headers, params=params) as response:
        assert response.status == 200, await response.text()
        return await response.json()


async def test_every_record_is_served_through_the_apis(
    scaled_simulators: Simulators, http: aiohttp.ClientSession
) -> None:
    dataset = scaled_simulators.dataset
    assert await _all_leezy(scaled_simulators, http) == dataset.leezy
    assert await _all_nexor(scaled_simulators, http) == _nexor_meetings(dataset)
    active = await _all_salesloft(scaled_simulators, http, show_deleted="false")
    canceled = await _all_salesloft(scaled_simulators, http, show_deleted="true")
    assert sorted(active + canceled, key=lambda m: m["id"]) == dataset.salesloft
    sessions = await _all_daily(scaled_simulators, http)
    assert sorted(sessions, key=lambda s: s["id"]) == sorted(dataset.daily, key=lambda s: s["id"])
    assert await _next_bots(scaled_simulators, http) == _earliest_future_bots(dataset)


async def _all_leezy(simulators: Simulators, http: aiohttp.ClientSession) -> list[Record]:
    url = f"{simulators.leezy.base_url}/meetings"
    headers = {"Authorization": f"Bearer {leezy.PRIMARY_TOKEN}"}
    served: list[Record] = []
    while True:
        body = await _json(http, url, headers, {"limit": "100", "offset": str(len(served))})
        served += body["data"]
        if not body["meta"]["has_more"]:
            return served


async def _all_nexor(simulators: Simulators, http: aiohttp.ClientSession) -> list[Record]:
    base, headers = simulators.nexor.base_url, {"X-API-Key": nexor.PRIMARY_KEY}
    leads = (await _json(http, f"{base}/leads", headers, {}))["leads"]
    served: list[Record] = []
    for lead in leads:
        body = await _json(http, f"{base}/leads/{lead['id']}/meetings", headers, {})
        starts = [_at(m["starts_at"]) for m in body["meetings"]]
        assert starts == sorted(starts, reverse=True)  # most recent first
        expected = simulators.dataset.nexor_meetings[lead["id"]]
        served += sorted(body["meetings"], key=expected.index)
    return served


async def _all_salesloft(
    simulators: Simulators, http: aiohttp.ClientSession, *, show_deleted: str
) -> list[Record]:
    url = f"{simulators.salesloft.base_url}/meetings"
    headers = {"Authorization": f"Bearer {salesloft.PRIMARY_TOKEN}"}
    served: list[Record] = []
    page: int | None = 1
    while page is not None:
        params = {"per_page": "100", "page": str(page), "show_deleted": show_deleted}
        body = await _json(http, url, headers, {**params, "sort_by": "created_at"})
        served += body["data"]
        page = body["metadata"]["paging"]["next_page"]
    assert len({m["id"] for m in served}) == len(served)  # ties do not repeat across pages
    return served


async def _all_daily(simulators: Simulators, http: aiohttp.ClientSession) -> list[Record]:
    url = f"{simulators.daily.base_url}/meetings"
    headers = {"Authorization": f"Bearer {daily.PRIMARY_KEY}"}
    served: list[Record] = []
    params = {"limit": "100"}
    while True:
        body = await _json(http, url, headers, params)
        if not body["data"]:
            return served
        served += body["data"]
        params = {"limit": "100", "starting_after": body["data"][-1]["id"]}


async def _next_bots(simulators: Simulators, http: aiohttp.ClientSession) -> list[Record]:
    url = f"{simulators.meetstream.base_url}/calendar/scheduled"
    headers = {"Authorization": f"Token {meetstream.PRIMARY_KEY}"}
    bots: list[Record] = (await _json(http, url, headers, {"limit": "100"}))["scheduled_bots"]
    return bots


def _earliest_future_bots(dataset: Dataset) -> list[Record]:
    future = [b for b in dataset.meetstream if _at(b["scheduled_join_time"]) > REFERENCE_NOW]
    future.sort(key=lambda b: (_at(b["scheduled_join_time"]), b["bot_id"]))
    return future[:100]
