"""The Nexor simulator over real HTTP: auth, lead meetings, status filter, errors, data set."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest

from gateway.simulators import nexor
from gateway.simulators.cluster import Simulators
from gateway.simulators.core import Record
from gateway.simulators.dataset import Dataset
from gateway.simulators.faults import Fault, FaultKind
from gateway.simulators.seed import build_pools

MEETING_FIELDS = {
    "id", "title", "starts_at", "ends_at", "duration_minutes", "timezone", "status",
    "meeting_url", "location_type", "location_details", "host_name", "meeting_type",
    "attendee_name", "attendee_email", "confirmed_by_lead", "cancelled_at",
    "cancellation_reason", "no_show_reason", "outcome_notes", "created_at",
}  # fmt: skip
INVALID = {"error": "Invalid API key", "message": "The API key is invalid or revoked."}
NOT_FOUND = {"error": "Lead not found or does not belong to your account"}


async def get(
    http: aiohttp.ClientSession,
    simulators: Simulators,
    path: str,
    params: dict[str, str] | None = None,
    *,
    key: str | None = nexor.PRIMARY_KEY,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any]:
    sent = dict(headers or {})
    if key is not None:
        sent["X-API-Key"] = key
    async with http.get(simulators.nexor.base_url + path, params=params, headers=sent) as answer:
        return answer.status, await answer.json()


def expected_order(meetings: list[Record]) -> list[Record]:
    """Most recent first; equal start times by id."""
    by_id = sorted(meetings, key=lambda m: m["id"])
    return sorted(by_id, key=lambda m: datetime.fromisoformat(m["starts_at"]), reverse=True)


def busiest_lead(dataset: Dataset) -> str:
    return max(dataset.nexor_meetings, key=lambda lead: len(dataset.nexor_meetings[lead]))


def idle_lead(dataset: Dataset) -> str:
    return next(lead for lead, items in dataset.nexor_meetings.items() if not items)


@pytest.mark.parametrize(
    ("key", "headers"),
    [
        (None, None),
        ("", None),
        (None, {"Authorization": f"Bearer {nexor.PRIMARY_KEY}"}),
    ],
)
async def test_missing_key_is_401(
    simulators: Simulators,
    http: aiohttp.ClientSession,
    dataset: Dataset,
    key: str | None,
    headers: dict[str, str] | None,
) -> None:
    path = f"/leads/{busiest_lead(dataset)}/meetings"
    status, body = await get(http, simulators, path, key=key, headers=headers)
    assert status == 401
    assert body["error"] == "Missing API key"
    assert body["message"].endswith("X-API-Key header.")
    assert set(body) == {"error", "message"}


@pytest.mark.parametrize(
    "key",
    [
        nexor.REVOKED_KEY,
        nexor.TEST_MODE_KEY,
        "nxr_live_unknown",
        nexor.PRIMARY_KEY.removeprefix("nxr_live_"),
        f"Bearer {nexor.PRIMARY_KEY}",
    ],
)
async def test_invalid_key_is_401(
    simulators: Simulators, http: aiohttp.ClientSession, dataset: Dataset, key: str
) -> None:
    for path in ("/leads", f"/leads/{busiest_lead(dataset)}/meetings"):
        assert await get(http, simulators, path, key=key) == (401, INVALID)


async def test_second_key_sees_same_data(
    simulators: Simulators, http: aiohttp.ClientSession, dataset: Dataset
) -> None:
    path = f"/leads/{busiest_lead(dataset)}/meetings"
    first = await get(http, simulators, path)
    second = await get(http, simulators, path, key=nexor.SECOND_KEY)
    assert first == second
    assert first[0] == 200
    credentials = [r.credential for r in simulators.nexor.requests]
    assert len(set(credentials)) == 2


async def test_lists_leads(
    simulators: Simulators, http: aiohttp.ClientSession, dataset: Dataset
) -> None:
    assert await get(http, simulators, "/leads") == (
        200,
        {"success": True, "leads": dataset.nexor_leads},
    )


async def test_every_lead_gets_all_its_meetings_most_recent_first(
    simulators: Simulators, http: aiohttp.ClientSession, dataset: Dataset
) -> None:
    for lead in dataset.nexor_leads:
        status, body = await get(http, simulators, f"/leads/{lead['id']}/meetings")
        assert status == 200
        assert body == {
            "success": True,
            "meetings": expected_order(dataset.nexor_meetings[lead["id"]]),
        }
    assert len(simulators.nexor.requests) == len(dataset.nexor_leads)
    assert await get(http, simulators, f"/leads/{idle_lead(dataset)}/meetings") == (
        200,
        {"success": True, "meetings": []},
    )


async def test_equal_start_times_are_ordered_by_id(
    simulators: Simulators, http: aiohttp.ClientSession, dataset: Dataset
) -> None:
    lead = busiest_lead(dataset)
    template = dataset.nexor_meetings[lead][0]
    for new_id in ("ffffffff-0000-4000-8000-000000000002", "00000000-0000-4000-8000-000000000001"):
        simulators.nexor.upsert({**template, "id": new_id, "lead_id": lead})
    _, body = await get(http, simulators, f"/leads/{lead}/meetings")
    same = [m["id"] for m in body["meetings"] if m["starts_at"] == template["starts_at"]]
    assert same == sorted(same)
    assert len(same) >= 3


@pytest.mark.parametrize(
    "lead_id",
    [
        "00000000-0000-4000-8000-000000000000",
        "not-a-uuid",
        "42",
    ],
)
async def test_unknown_lead_is_404(
    simulators: Simulators, http: aiohttp.ClientSession, lead_id: str
) -> None:
    assert await get(http, simulators, f"/leads/{lead_id}/meetings") == (404, NOT_FOUND)


async def test_uppercase_lead_id_is_404(
    simulators: Simulators, http: aiohttp.ClientSession, dataset: Dataset
) -> None:
    path = f"/leads/{busiest_lead(dataset).upper()}/meetings"
    assert await get(http, simulators, path) == (404, NOT_FOUND)


async def test_auth_is_checked_before_the_lead(
    simulators: Simulators, http: aiohttp.ClientSession
) -> None:
    status, body = await get(http, simulators, "/leads/nope/meetings", key=None)
    assert (status, body["error"]) == (401, "Missing API key")


@pytest.mark.parametrize(
    "value",
    ["scheduled", "confirmed", "completed", "cancelled", "no_show", "scheduled,confirmed",
     "completed,no_show,cancelled", "scheduled,scheduled"],
)  # fmt: skip
async def test_status_filter(
    simulators: Simulators, http: aiohttp.ClientSession, dataset: Dataset, value: str
) -> None:
    wanted = set(value.split(","))
    total = 0
    for lead_id, meetings in dataset.nexor_meetings.items():
        status, body = await get(http, simulators, f"/leads/{lead_id}/meetings", {"status": value})
        assert status == 200
        expected = expected_order([m for m in meetings if m["status"] in wanted])
        assert body == {"success": True, "meetings": expected}
        total += len(expected)
    assert total > 0


@pytest.mark.parametrize(
    "value", ["pending", "Scheduled", "scheduled, confirmed", "", "scheduled,", "no-show"]
)
async def test_invalid_status_is_400(
    simulators: Simulators, http: aiohttp.ClientSession, dataset: Dataset, value: str
) -> None:
    path = f"/leads/{busiest_lead(dataset)}/meetings"
    status, body = await get(http, simulators, path, {"status": value})
    assert status == 400
    assert body["error"] == "Invalid status"
    assert set(body) == {"error", "message"}


async def test_unknown_parameters_are_ignored(
    simulators: Simulators, http: aiohttp.ClientSession, dataset: Dataset
) -> None:
    lead = busiest_lead(dataset)
    status, body = await get(
        http, simulators, f"/leads/{lead}/meetings", {"page": "2", "limit": "1"}
    )
    assert status == 200
    assert len(body["meetings"]) == len(dataset.nexor_meetings[lead])


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (500, {"error": "Internal server error"}),
        (503, {"error": "Service Unavailable"}),
        (404, NOT_FOUND),
        (401, INVALID),
    ],
)
async def test_injected_error_uses_nexor_body(
    simulators: Simulators,
    http: aiohttp.ClientSession,
    dataset: Dataset,
    status: int,
    body: dict[str, str],
) -> None:
    simulators.nexor.inject(Fault(kind=FaultKind.ERROR, status=status, times=1))
    path = f"/leads/{busiest_lead(dataset)}/meetings"
    assert await get(http, simulators, path) == (status, body)
    assert (await get(http, simulators, path))[0] == 200


async def test_injected_rate_limit_uses_nexor_body(
    simulators: Simulators, http: aiohttp.ClientSession
) -> None:
    simulators.nexor.inject(Fault(kind=FaultKind.RATE_LIMIT, times=1))
    assert await get(http, simulators, "/leads") == (429, {"error": "Too many requests"})


async def test_unknown_path_answers_in_nexor_shape(
    simulators: Simulators, http: aiohttp.ClientSession
) -> None:
    assert await get(http, simulators, "/meetings") == (404, NOT_FOUND)


async def test_no_rate_limit_is_enforced(
    simulators: Simulators, http: aiohttp.ClientSession
) -> None:
    simulators.nexor.set_rate_limits(True)
    answers = await asyncio.gather(*(get(http, simulators, "/leads") for _ in range(150)))
    assert {status for status, _ in answers} == {200}


async def test_upsert_new_and_changed_meetings(
    simulators: Simulators, http: aiohttp.ClientSession, dataset: Dataset
) -> None:
    lead = idle_lead(dataset)
    busy = busiest_lead(dataset)
    template = dataset.nexor_meetings[busy][0]
    new = {
        **template,
        "id": "0b7d6a52-1111-4c2e-9f00-5a5a5a5a5a5a",
        "starts_at": "2030-01-01T09:00:00Z",
    }
    stored = simulators.nexor.upsert({**new, "lead_id": lead})
    assert stored == {**new, "lead_id": lead}
    assert await get(http, simulators, f"/leads/{lead}/meetings") == (
        200,
        {"success": True, "meetings": [new]},
    )
    changed = {**template, "status": "cancelled", "cancelled_at": "2026-03-01T10:00:00Z"}
    simulators.nexor.upsert({**changed, "lead_id": busy})
    _, body = await get(http, simulators, f"/leads/{busy}/meetings")
    assert [m for m in body["meetings"] if m["id"] == template["id"]] == [changed]
    assert len(body["meetings"]) == len(dataset.nexor_meetings[busy])
    records = simulators.nexor.api.records()
    assert {**new, "lead_id": lead} in records
    assert len(records) == sum(len(m) for m in dataset.nexor_meetings.values()) + 1


async def test_upsert_needs_an_existing_lead(simulators: Simulators) -> None:
    with pytest.raises(KeyError):
        simulators.nexor.upsert({"id": "x"})
    with pytest.raises(ValueError, match="no lead"):
        simulators.nexor.upsert({"id": "x", "lead_id": "00000000-0000-4000-8000-000000000000"})


async def test_malformed_record_is_served_last(
    simulators: Simulators, http: aiohttp.ClientSession, dataset: Dataset
) -> None:
    lead = busiest_lead(dataset)
    broken = {"id": "broken", "starts_at": None, "status": "scheduled"}
    simulators.nexor.upsert({**broken, "lead_id": lead})
    status, body = await get(http, simulators, f"/leads/{lead}/meetings")
    assert status == 200
    assert body["meetings"][-1] == broken
    _, filtered = await get(http, simulators, f"/leads/{lead}/meetings", {"status": "scheduled"})
    assert broken in filtered["meetings"]


def test_data_set_is_realistic(dataset: Dataset) -> None:
    leads = dataset.nexor_leads
    meetings = [m for items in dataset.nexor_meetings.values() for m in items]
    assert len(leads) == 25
    assert set(dataset.nexor_meetings) == {lead["id"] for lead in leads}
    assert all(set(lead) == {"id", "first_name", "last_name", "email", "phone", "company",
                             "source"} for lead in leads)  # fmt: skip
    assert len({lead["email"] for lead in leads}) == len(leads)
    counts = [len(items) for items in dataset.nexor_meetings.values()]
    assert max(counts) == 8
    assert min(counts) == 0
    assert all(set(m) == MEETING_FIELDS for m in meetings)
    assert {m["status"] for m in meetings} == set(nexor.STATUSES)
    assert {m["location_type"] for m in meetings} == set(nexor.LOCATION_TYPES)
    assert all(m["meeting_url"] is None for m in meetings if m["location_type"] != "video")
    assert any(m["meeting_url"] is None for m in meetings)
    videos = [m for m in meetings if m["location_type"] == "video"]
    assert any(m["location_details"] is not None for m in videos)
    assert any(m["location_details"] is None for m in meetings)
    assert len({m["id"] for m in meetings}) == len(meetings)
    assert len({m["timezone"] for m in meetings}) >= 4
    assert any(not m["host_name"].isascii() for m in meetings)
    assert any(not m["attendee_name"].isascii() for m in meetings)
    for m in meetings:
        start = datetime.fromisoformat(m["starts_at"])
        assert m["starts_at"].endswith("Z")
        assert start + timedelta(minutes=m["duration_minutes"]) == datetime.fromisoformat(
            m["ends_at"]
        )
        assert datetime.fromisoformat(m["created_at"]) < min(start, dataset.now)
        assert (m["cancelled_at"] is not None) == (m["status"] == "cancelled")
        assert m["no_show_reason"] is None or m["status"] == "no_show"
    starts = [datetime.fromisoformat(m["starts_at"]) for m in meetings]
    assert any(s < dataset.now for s in starts)
    assert any(s > dataset.now for s in starts)
    for lead in leads:
        for m in dataset.nexor_meetings[lead["id"]]:
            assert m["attendee_email"] == lead["email"]
            assert m["attendee_name"] == f"{lead['first_name']} {lead['last_name']}"


def test_data_set_overlaps_with_other_apis(dataset: Dataset) -> None:
    pools = build_pools(dataset.seed, dataset.now)
    meetings = [m for items in dataset.nexor_meetings.values() for m in items]
    half = len(pools.room_bookings) // 2
    bookings = {b.url: b for b in pools.room_bookings[half:]}
    daily = [m for m in meetings if m["meeting_url"] in bookings]
    assert len(daily) >= 10
    assert not {m["meeting_url"] for m in meetings} & {b.url for b in pools.room_bookings[:half]}
    for m in daily:
        booking = bookings[m["meeting_url"]]
        assert datetime.fromisoformat(m["starts_at"]) == booking.start
        assert m["duration_minutes"] == booking.minutes
    assert any(datetime.fromisoformat(m["starts_at"]) < dataset.now for m in daily)
    shared = {s.astimezone(UTC) for s in pools.shared_starts}
    assert any(datetime.fromisoformat(m["starts_at"]) in shared for m in meetings)
    people = {p.email for p in pools.people}
    assert all(lead["email"] in people for lead in dataset.nexor_leads)
