"""The seeded data set is deterministic and overlaps across APIs the way real data does."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import combinations
from typing import Any

from gateway.simulators.dataset import Dataset, DatasetSizes, build_dataset
from tests.conftest import REFERENCE_NOW


def _at(value: str | int) -> datetime:
    if isinstance(value, int):
        return datetime.fromtimestamp(value, UTC)
    return datetime.fromisoformat(value)


def _room(url: str | None) -> str | None:
    prefix = "https://meetings.daily.co/"
    return url.removeprefix(prefix) if url and url.startswith(prefix) else None


def _nexor_meetings(dataset: Dataset) -> list[dict[str, Any]]:
    return [m for meetings in dataset.nexor_meetings.values() for m in meetings]


def test_same_seed_and_now_give_the_same_data() -> None:
    assert build_dataset(seed=3, now=REFERENCE_NOW) == build_dataset(seed=3, now=REFERENCE_NOW)
    assert build_dataset(seed=3, now=REFERENCE_NOW) != build_dataset(seed=4, now=REFERENCE_NOW)


def test_sizes_are_configurable() -> None:
    sizes = DatasetSizes(leezy=10, nexor_leads=4, meetstream=5, salesloft=10_000, daily=3)
    dataset = build_dataset(now=REFERENCE_NOW, sizes=sizes)
    assert len(dataset.leezy) == 10
    assert len(dataset.nexor_leads) == 4
    assert len(dataset.meetstream) == 5
    assert len(dataset.salesloft) == 10_000
    assert len({m["id"] for m in dataset.salesloft}) == 10_000


def test_default_size_is_a_few_hundred_meetings(dataset: Dataset) -> None:
    meetings = (
        len(dataset.leezy) + len(_nexor_meetings(dataset)) + len(dataset.salesloft)
        + len(dataset.daily)
    )  # fmt: skip
    assert 300 <= meetings <= 1000


def test_people_appear_in_several_apis(dataset: Dataset) -> None:
    emails = {
        "leezy": {m["attributes"]["attendee"]["email"] for m in dataset.leezy},
        "nexor": {m["attendee_email"] for m in _nexor_meetings(dataset)},
        "salesloft": {
            a["email"] for m in dataset.salesloft for a in m["attendees"] if a.get("email")
        }
        | {m["recipient_email"] for m in dataset.salesloft},
    }
    for first, second in combinations(emails, 2):
        assert emails[first] & emails[second], (first, second)


def test_meetstream_bots_join_salesloft_events(dataset: Dataset) -> None:
    salesloft_events = {m["event_id"] for m in dataset.salesloft}
    bot_events = {b["custom_attributes"]["event_id"] for b in dataset.meetstream}
    future_bots = [b for b in dataset.meetstream if _at(b["scheduled_join_time"]) > REFERENCE_NOW]
    assert len(bot_events & salesloft_events) >= 10
    assert any(b["custom_attributes"]["event_id"] in salesloft_events for b in future_bots)
    assert bot_events - salesloft_events  # and some bots join events Salesloft does not know


def test_leezy_and_nexor_meetings_link_to_daily_rooms_with_sessions(dataset: Dataset) -> None:
    rooms_with_sessions = {s["room"] for s in dataset.daily}
    leezy_rooms = {_room(m["attributes"]["meeting_url"]) for m in dataset.leezy} - {None}
    nexor_rooms = {_room(m["meeting_url"]) for m in _nexor_meetings(dataset)} - {None}
    assert leezy_rooms & rooms_with_sessions
    assert nexor_rooms & rooms_with_sessions


def test_some_start_times_are_equal_across_apis(dataset: Dataset) -> None:
    starts = {
        "leezy": {_at(m["attributes"]["start_time"]) for m in dataset.leezy},
        "nexor": {_at(m["starts_at"]) for m in _nexor_meetings(dataset)},
        "salesloft": {_at(m["start_time"]) for m in dataset.salesloft},
        "daily": {_at(s["start_time"]) for s in dataset.daily},
    }
    shared_pairs = [pair for pair in combinations(starts, 2) if starts[pair[0]] & starts[pair[1]]]
    assert len(shared_pairs) >= 3


def test_daily_has_ongoing_sessions_and_salesloft_has_organized_group_meetings(
    dataset: Dataset,
) -> None:
    assert any(s["ongoing"] for s in dataset.daily)
    assert any(not s["ongoing"] for s in dataset.daily)
    group_meetings = [
        m for m in dataset.salesloft
        if len(m["attendees"]) >= 2 and sum(1 for a in m["attendees"] if a["organizer"]) == 1
    ]  # fmt: skip
    assert len(group_meetings) >= 10
