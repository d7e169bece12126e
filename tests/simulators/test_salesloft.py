"""Salesloft simulator: auth, validation, page paging, filters, sorting, cost-based rate limit."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

import aiohttp
import pytest
from multidict import CIMultiDictProxy

from gateway.simulators import salesloft
from gateway.simulators.cluster import Simulators
from gateway.simulators.core import Simulator
from gateway.simulators.dataset import DEFAULT_SEED, Dataset
from gateway.simulators.faults import Fault, FaultKind
from gateway.simulators.seed import build_pools
from tests.conftest import REFERENCE_NOW

Json = dict[str, Any]
Params = list[tuple[str, str]] | dict[str, str]
Answer = tuple[int, Json, CIMultiDictProxy[str]]

MICRO_Z = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z")
MEETING_FIELDS = {
    "id", "title", "start_time", "end_time", "all_day", "status", "reschedule_status",
    "canceled_at", "no_show", "event_id", "i_cal_uid", "calendar_id", "calendar_type",
    "event_source", "meeting_type_id", "meeting_type", "recipient_name", "recipient_email",
    "location", "description", "guests", "attendees", "person", "cadence", "step",
    "owned_by_user", "booked_by_user", "account_id", "task_id", "crm_references",
    "crm_custom_fields", "strict_attribution", "recurring", "recurrence", "created_at",
    "updated_at",
}  # fmt: skip


def _auth(token: str = salesloft.PRIMARY_TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _get(
    http: aiohttp.ClientSession,
    simulator: Simulator,
    params: Params | None = None,
    *,
    path: str = "/meetings",
    headers: dict[str, str] | None = None,
) -> Answer:
    async with http.get(
        simulator.base_url + path,
        params=params or {},
        headers=_auth() if headers is None else headers,
    ) as response:
        return response.status, await response.json(), response.headers


async def _walk(
    http: aiohttp.ClientSession, simulator: Simulator, params: Params | None = None
) -> list[Json]:
    """Every page, following next_page, at 100 per page."""
    base = list(params.items()) if isinstance(params, dict) else list(params or [])
    seen: list[Json] = []
    page = 1
    while True:
        query = [*base, ("per_page", "100"), ("page", str(page))]
        status, body, _ = await _get(http, simulator, query)
        assert status == 200, body
        assert body["metadata"]["paging"]["current_page"] == page
        seen.extend(body["data"])
        next_page = body["metadata"]["paging"]["next_page"]
        if next_page is None:
            return seen
        assert next_page == page + 1
        page = next_page


def _ordered(records: Iterable[Json], key: str = "start_time", *, desc: bool = True) -> list[int]:
    """Expected order, computed independently: key then id in the same direction."""
    items = list(records)
    timed = [r for r in items if isinstance(r.get(key), str)]
    timed.sort(key=lambda r: (datetime.fromisoformat(r[key]), r["id"]), reverse=desc)
    return [r["id"] for r in timed] + sorted(
        (r["id"] for r in items if not isinstance(r.get(key), str)), reverse=desc
    )


def _active(dataset: Dataset) -> list[Json]:
    return [m for m in dataset.salesloft if m["canceled_at"] is None]


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value)


# --- auth ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "status", "message"),
    [
        ({}, 401, salesloft.MISSING_TOKEN_MESSAGE),
        (
            {"Authorization": f"Token {salesloft.PRIMARY_TOKEN}"},
            401,
            salesloft.MISSING_TOKEN_MESSAGE,
        ),
        (
            {"Authorization": f"bearer {salesloft.PRIMARY_TOKEN}"},
            401,
            salesloft.MISSING_TOKEN_MESSAGE,
        ),
        ({"Authorization": "Bearer "}, 401, salesloft.MISSING_TOKEN_MESSAGE),
        (_auth("v2_ak_not_a_real_key"), 401, "Invalid Bearer token"),
        (_auth(salesloft.EXPIRED_TOKEN), 401, "Invalid Bearer token"),
        (_auth(salesloft.FORBIDDEN_TOKEN), 403, salesloft.FORBIDDEN_MESSAGE),
    ],
)
async def test_auth_failures(
    simulators: Simulators,
    http: aiohttp.ClientSession,
    headers: dict[str, str],
    status: int,
    message: str,
) -> None:
    answer, body, response_headers = await _get(http, simulators.salesloft, headers=headers)
    assert (answer, body) == (status, {"error": message})
    assert "No Bearer Token attached to request" in salesloft.MISSING_TOKEN_MESSAGE
    assert response_headers["x-ratelimit-endpoint-cost"] == "1"
    assert response_headers["x-ratelimit-remaining-minute"] == "600"
    assert "WWW-Authenticate" not in response_headers


@pytest.mark.parametrize(
    "token", [salesloft.PRIMARY_TOKEN, salesloft.OAUTH_TOKEN, salesloft.SECOND_TOKEN]
)
async def test_every_valid_token_sees_the_same_data(
    simulators: Simulators, http: aiohttp.ClientSession, dataset: Dataset, token: str
) -> None:
    status, body, _ = await _get(http, simulators.salesloft, headers=_auth(token))
    assert status == 200
    assert [m["id"] for m in body["data"]] == _ordered(_active(dataset))[:25]


async def test_unknown_paths_check_auth_first_then_404(
    simulators: Simulators, http: aiohttp.ClientSession
) -> None:
    sim = simulators.salesloft
    status, body, _ = await _get(http, sim, path="/meetingz", headers={})
    assert (status, body) == (401, {"error": salesloft.MISSING_TOKEN_MESSAGE})
    status, body, _ = await _get(http, sim, path="/meetingz", headers=_auth("v2_ak_nope"))
    assert (status, body) == (401, {"error": "Invalid Bearer token"})
    status, body, headers = await _get(http, sim, path="/meetings/123")
    assert (status, body) == (404, {"error": "Not Found"})
    assert headers["x-ratelimit-endpoint-cost"] == "1"
    async with http.get(sim.origin + "/v1/meetings", headers=_auth()) as response:
        assert response.status == 404
        assert await response.json() == {"error": "Not Found"}
    async with http.post(sim.base_url + "/meetings", headers=_auth()) as response:
        assert response.status == 404
        assert await response.json() == {"error": "Not Found"}


# --- listing, paging, sorting -------------------------------------------------------------


async def test_default_page_and_metadata(
    simulators: Simulators, http: aiohttp.ClientSession, dataset: Dataset
) -> None:
    status, body, headers = await _get(http, simulators.salesloft)
    assert status == 200
    assert body["metadata"] == {
        "filtering": {},
        "paging": {"per_page": 25, "current_page": 1, "next_page": 2, "prev_page": None},
        "sorting": {"sort_by": "start_time", "sort_direction": "DESC NULLS LAST"},
    }
    expected = _ordered(_active(dataset))[:25]
    assert [m["id"] for m in body["data"]] == expected
    by_id = {m["id"]: m for m in dataset.salesloft}
    assert body["data"] == [by_id[i] for i in expected]  # wire format, unchanged
    assert headers["x-ratelimit-endpoint-cost"] == "1"
    assert headers["x-ratelimit-remaining-minute"] == "600"  # rate limits are off
    assert "Retry-After" not in headers
    json_status, json_body, _ = await _get(http, simulators.salesloft, path="/meetings.json")
    assert (json_status, json_body) == (status, body)


@pytest.mark.parametrize("show_deleted", ["false", "true"])
async def test_full_walk_returns_each_meeting_once_in_order(
    simulators: Simulators, http: aiohttp.ClientSession, dataset: Dataset, show_deleted: str
) -> None:
    seen = await _walk(http, simulators.salesloft, {"show_deleted": show_deleted})
    wanted = [
        m for m in dataset.salesloft if (m["canceled_at"] is not None) == (show_deleted == "true")
    ]
    assert [m["id"] for m in seen] == _ordered(wanted)
    assert len({m["id"] for m in seen}) == len(wanted)


async def test_active_and_deleted_together_are_everything(
    simulators: Simulators, http: aiohttp.ClientSession, dataset: Dataset
) -> None:
    active = await _walk(http, simulators.salesloft)
    deleted = await _walk(http, simulators.salesloft, {"show_deleted": "true"})
    ids = [m["id"] for m in active + deleted]
    assert sorted(ids) == sorted(m["id"] for m in dataset.salesloft)
    assert deleted
    assert all(m["canceled_at"] for m in deleted)


@pytest.mark.parametrize("sort_by", ["start_time", "created_at", "updated_at"])
@pytest.mark.parametrize("direction", ["ASC", "DESC"])
async def test_sorting(
    simulators: Simulators,
    http: aiohttp.ClientSession,
    dataset: Dataset,
    sort_by: str,
    direction: str,
) -> None:
    params = {"sort_by": sort_by, "sort_direction": direction}
    seen = await _walk(http, simulators.salesloft, params)
    assert [m["id"] for m in seen] == _ordered(_active(dataset), sort_by, desc=direction == "DESC")
    _, body, _ = await _get(http, simulators.salesloft, params)
    assert body["metadata"]["sorting"] == {
        "sort_by": sort_by,
        "sort_direction": f"{direction} NULLS LAST",
    }


def test_start_time_ties_are_broken_by_id(dataset: Dataset) -> None:
    starts = [m["start_time"] for m in _active(dataset)]
    assert len(starts) > len(set(starts))  # shared start times: the tie-break matters


async def test_page_past_the_end_is_empty_not_an_error(
    simulators: Simulators, http: aiohttp.ClientSession, dataset: Dataset
) -> None:
    status, body, _ = await _get(
        http, simulators.salesloft, {"page": "40", "include_paging_counts": "true"}
    )
    total = len(_active(dataset))
    assert status == 200
    assert body["data"] == []
    assert body["metadata"]["paging"] == {
        "per_page": 25,
        "current_page": 40,
        "next_page": None,
        "prev_page": 39,
        "total_pages": -(-total // 25),
        "total_count": total,
    }


async def test_last_page_has_no_next_page(
    simulators: Simulators, http: aiohttp.ClientSession, dataset: Dataset
) -> None:
    total = len(_active(dataset))
    last = -(-total // 10)
    _, body, _ = await _get(http, simulators.salesloft, {"per_page": "10", "page": str(last)})
    assert len(body["data"]) == total - (last - 1) * 10
    assert body["metadata"]["paging"]["next_page"] is None
    assert body["metadata"]["paging"]["prev_page"] == last - 1
    assert "total_count" not in body["metadata"]["paging"]


@pytest.mark.parametrize(
    ("params", "clamped"),
    [
        ({"per_page": "0"}, (1, 1)),
        ({"per_page": "-5"}, (1, 1)),
        ({"per_page": "101"}, (100, 1)),
        ({"per_page": "100000"}, (100, 1)),
        ({"page": "0"}, (25, 1)),
        ({"page": "-3"}, (25, 1)),
        ({"per_page": "7", "page": "2"}, (7, 2)),
    ],
)
async def test_out_of_range_paging_is_clamped_and_echoed(
    simulators: Simulators,
    http: aiohttp.ClientSession,
    dataset: Dataset,
    params: dict[str, str],
    clamped: tuple[int, int],
) -> None:
    per_page, page = clamped
    status, body, _ = await _get(http, simulators.salesloft, params)
    assert status == 200
    paging = body["metadata"]["paging"]
    assert (paging["per_page"], paging["current_page"]) == (per_page, page)
    expected = _ordered(_active(dataset))[(page - 1) * per_page : page * per_page]
    assert [m["id"] for m in body["data"]] == expected


def test_builds_ten_thousand_meetings_in_id_order_deterministically() -> None:
    # How fast is for the benchmarks (deep_paging builds this set): a timed test flakes here.
    pools = build_pools(DEFAULT_SEED, REFERENCE_NOW)
    records = salesloft.build_records(pools, 10_000)
    ids = [m["id"] for m in records]
    assert len(set(ids)) == 10_000
    assert ids == sorted(ids)
    assert records == salesloft.build_records(pools, 10_000)  # deterministic


async def test_limit_paging_counts_caps_the_total(http: aiohttp.ClientSession) -> None:
    pools = build_pools(DEFAULT_SEED, REFERENCE_NOW)
    records = [{**m, "canceled_at": None} for m in salesloft.build_records(pools, 10_050)]
    api = salesloft.SalesloftApi(records, clock=lambda: REFERENCE_NOW, rate_limits=False)
    sim = Simulator(api)
    await sim.start()
    try:
        counted = [("include_paging_counts", "true"), ("per_page", "100")]
        _, body, _ = await _get(http, sim, counted)
        assert body["metadata"]["paging"]["total_count"] == 10_050
        assert body["metadata"]["paging"]["total_pages"] == 101
        _, body, _ = await _get(http, sim, [*counted, ("limit_paging_counts", "true")])
        paging = body["metadata"]["paging"]
        assert (paging["total_count"], paging["total_pages"]) == (10_000, 100)
        assert paging["next_page"] == 2
        _, body, _ = await _get(http, sim, [*counted, ("limit_paging_counts", "false")])
        assert body["metadata"]["paging"]["total_count"] == 10_050
        _, body, _ = await _get(http, sim, [("per_page", "100"), ("page", "101")])
        assert len(body["data"]) == 50  # the cap is on the counts, not on the pages
        assert body["metadata"]["paging"]["next_page"] is None
    finally:
        await sim.stop()


# --- filters --------------------------------------------------------------------------------

Predicate = Callable[[Json], bool]


def _ref_id(value: Any) -> Any:
    return value["id"] if isinstance(value, dict) else None


def _filter_case(name: str, meetings: list[Json]) -> tuple[Params, Predicate]:
    """Query parameters and the plain-Python predicate they must select."""
    first, second, third = meetings[3], meetings[70], meetings[120]
    person = _ref_id(second["person"])
    account = next(m["account_id"] for m in meetings[10:] if m["account_id"] is not None)
    task = next(m["task_id"] for m in meetings[20:] if m["task_id"] is not None)
    guid = second["booked_by_user"]["id"]
    cadence = next(m["cadence"]["id"] for m in meetings if m["cadence"] is not None)
    step = next(m["step"]["id"] for m in meetings[30:] if m["step"] is not None)
    now = REFERENCE_NOW.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    week = (REFERENCE_NOW + timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    cases: dict[str, tuple[Params, Predicate]] = {
        "ids": (
            [("ids[]", str(first["id"])), ("ids[]", str(third["id"])), ("ids[]", "999")],
            lambda m: m["id"] in (first["id"], third["id"]),
        ),
        "status-pending": ({"status": "pending"}, lambda m: m["status"] == "pending"),
        "status-booked": ({"status": "booked"}, lambda m: m["status"] == "booked"),
        "status-failed": ({"status": "failed"}, lambda m: m["status"] == "failed"),
        "status-retry": ({"status": "retry"}, lambda m: m["status"] == "retry"),
        "person_id": ({"person_id": str(person)}, lambda m: _ref_id(m["person"]) == person),
        "person_ids": (
            [("person_ids[]", str(person)), ("person_ids[]", str(_ref_id(third["person"])))],
            lambda m: _ref_id(m["person"]) in (person, _ref_id(third["person"])),
        ),
        "account_id": ({"account_id": str(account)}, lambda m: m["account_id"] == account),
        "event_ids-or-i_cal_uids": (
            [
                ("event_ids[]", first["event_id"]),
                ("event_ids[]", "unknown-event"),
                ("i_cal_uids[]", third["i_cal_uid"]),
                ("i_cal_uids[]", "unknown@example.com"),
            ],
            lambda m: m["event_id"] == first["event_id"] or m["i_cal_uid"] == third["i_cal_uid"],
        ),
        "i_cal_uids": (
            [("i_cal_uids[]", second["i_cal_uid"])],
            lambda m: m["i_cal_uid"] == second["i_cal_uid"],
        ),
        "task_ids": ([("task_ids[]", str(task))], lambda m: m["task_id"] == task),
        "user_guids": (
            [("user_guids[]", guid)],
            lambda m: guid in (m["owned_by_user"]["id"], m["booked_by_user"]["id"]),
        ),
        "no_show-true": ({"no_show": "true"}, lambda m: m["no_show"] is True),
        "no_show-false": ({"no_show": "false"}, lambda m: m["no_show"] is False),
        "meeting_type_id": ({"meeting_type_id": "32"}, lambda m: m["meeting_type_id"] == 32),
        "cadence_id": ({"cadence_id": str(cadence)}, lambda m: _ref_id(m["cadence"]) == cadence),
        "step_id": ({"step_id": str(step)}, lambda m: _ref_id(m["step"]) == step),
        "next-week": (
            {"start_time[gte]": now, "start_time[lt]": week},
            lambda m: REFERENCE_NOW <= _at(m["start_time"]) < REFERENCE_NOW + timedelta(days=7),
        ),
        "start_time-gt-is-strict": (
            {"start_time[gt]": second["start_time"]},
            lambda m: _at(m["start_time"]) > _at(second["start_time"]),
        ),
        "start_time-lte": (
            {"start_time[lte]": second["start_time"]},
            lambda m: _at(m["start_time"]) <= _at(second["start_time"]),
        ),
        "created_at-gt-microseconds": (
            {"created_at[gt]": second["created_at"]},
            lambda m: _at(m["created_at"]) > _at(second["created_at"]),
        ),
        "created_at-gte-microseconds": (
            {"created_at[gte]": second["created_at"]},
            lambda m: _at(m["created_at"]) >= _at(second["created_at"]),
        ),
        "created_at-lt-offset": (
            {"created_at[lt]": _at(second["created_at"]).astimezone().isoformat()},
            lambda m: _at(m["created_at"]) < _at(second["created_at"]),
        ),
        "unknown-filters-ignored": (
            {"colour": "red", "ids": "1", "status[]": "nope", "start_time[after]": "x"},
            lambda m: True,
        ),
        "combined-and": (
            {"status": "booked", "no_show": "false", "start_time[lt]": now},
            lambda m: (
                m["status"] == "booked"
                and not m["no_show"]
                and _at(m["start_time"]) < REFERENCE_NOW
            ),
        ),
    }
    return cases[name]


FILTER_CASES = [
    "ids", "status-pending", "status-booked", "status-failed", "status-retry", "person_id",
    "person_ids", "account_id", "event_ids-or-i_cal_uids", "i_cal_uids", "task_ids",
    "user_guids", "no_show-true", "no_show-false", "meeting_type_id", "cadence_id", "step_id",
    "next-week", "start_time-gt-is-strict", "start_time-lte", "created_at-gt-microseconds",
    "created_at-gte-microseconds", "created_at-lt-offset", "unknown-filters-ignored",
    "combined-and",
]  # fmt: skip


@pytest.mark.parametrize("name", FILTER_CASES)
@pytest.mark.parametrize("show_deleted", [None, "true"])
async def test_filters(
    simulators: Simulators,
    http: aiohttp.ClientSession,
    dataset: Dataset,
    name: str,
    show_deleted: str | None,
) -> None:
    params, predicate = _filter_case(name, dataset.salesloft)
    query = list(params.items()) if isinstance(params, dict) else list(params)
    if show_deleted:
        query.append(("show_deleted", show_deleted))
    base = [m for m in dataset.salesloft if (m["canceled_at"] is not None) == bool(show_deleted)]
    expected = _ordered(m for m in base if predicate(m))
    seen = await _walk(http, simulators.salesloft, query)
    assert [m["id"] for m in seen] == expected
    if show_deleted is None and name != "unknown-filters-ignored":
        assert 0 < len(expected) < len(base), "the case must actually select something"


def test_user_guids_match_the_booker_too(dataset: Dataset) -> None:
    second = dataset.salesloft[70]
    guid = second["booked_by_user"]["id"]
    assert any(
        m["owned_by_user"]["id"] != guid and m["booked_by_user"]["id"] == guid
        for m in dataset.salesloft
    )


async def test_filtering_is_echoed_as_rails_parses_it(
    simulators: Simulators, http: aiohttp.ClientSession
) -> None:
    params = [
        ("ids[]", "1"),
        ("ids[]", "2"),
        ("status", "booked"),
        ("event_ids[]", "evt1"),
        ("start_time[gte]", "2026-03-01T00:00:00Z"),
        ("start_time[lt]", "2026-04-01T00:00:00.000000Z"),
        ("created_at[gt]", "2026-01-01T00:00:00Z"),
        ("no_show", "false"),
        ("show_deleted", "true"),
        ("user_guids[]", "d4b02b40-b31d-4fbf-93b6-4534808e1e45"),
        ("colour", "red"),
        ("sort_by", "created_at"),
        ("per_page", "5"),
    ]
    status, body, _ = await _get(http, simulators.salesloft, params)
    assert status == 200
    assert body["metadata"]["filtering"] == {
        "ids": ["1", "2"],
        "event_ids": ["evt1"],
        "user_guids": ["d4b02b40-b31d-4fbf-93b6-4534808e1e45"],
        "show_deleted": "true",
        "no_show": "false",
        "status": "booked",
        "start_time": {"gte": "2026-03-01T00:00:00Z", "lt": "2026-04-01T00:00:00.000000Z"},
        "created_at": {"gt": "2026-01-01T00:00:00Z"},
    }
    assert body["data"] == []


# --- validation -----------------------------------------------------------------------------

INTEGER = ["must be an integer"]
BOOLEAN = ["must be true or false"]
DATE_TIME = ["must be an ISO 8601 date-time"]


@pytest.mark.parametrize(
    ("params", "errors"),
    [
        ({"status": "done"}, {"status": ["must be one of pending, booked, failed, retry"]}),
        ({"status": "Booked"}, {"status": ["must be one of pending, booked, failed, retry"]}),
        ({"sort_by": "title"}, {"sort_by": ["must be one of start_time, created_at, updated_at"]}),
        ({"sort_direction": "desc"}, {"sort_direction": ["must be one of ASC, DESC"]}),
        ({"per_page": "ten"}, {"per_page": INTEGER}),
        ({"page": "1.5"}, {"page": INTEGER}),
        ({"per_page": " 5"}, {"per_page": INTEGER}),
        ({"ids[]": "abc"}, {"ids[]": INTEGER}),
        ({"person_ids[]": ""}, {"person_ids[]": INTEGER}),
        ({"task_ids[]": "7x"}, {"task_ids[]": INTEGER}),
        ({"person_id": "x"}, {"person_id": INTEGER}),
        ({"account_id": "1e3"}, {"account_id": INTEGER}),
        ({"meeting_type_id": "demo"}, {"meeting_type_id": INTEGER}),
        ({"cadence_id": ""}, {"cadence_id": INTEGER}),
        ({"step_id": "1.0"}, {"step_id": INTEGER}),
        ({"show_deleted": "yes"}, {"show_deleted": BOOLEAN}),
        ({"no_show": "1"}, {"no_show": BOOLEAN}),
        ({"include_paging_counts": "TRUE"}, {"include_paging_counts": BOOLEAN}),
        ({"limit_paging_counts": "maybe"}, {"limit_paging_counts": BOOLEAN}),
        ({"user_guids[]": "not-a-guid"}, {"user_guids[]": ["must be a valid guid"]}),
        ({"start_time[gt]": "yesterday"}, {"start_time[gt]": DATE_TIME}),
        ({"start_time[lte]": "2026-03-10"}, {"start_time[lte]": DATE_TIME}),
        ({"created_at[gte]": "2026-02-30T10:00:00Z"}, {"created_at[gte]": DATE_TIME}),
        ({"created_at[lt]": "1741600000"}, {"created_at[lt]": DATE_TIME}),
        (
            {"status": "x", "per_page": "y", "no_show": "z"},
            {"status": ["must be one of pending, booked, failed, retry"], "per_page": INTEGER,
             "no_show": BOOLEAN},
        ),
    ],
)  # fmt: skip
async def test_invalid_values_are_422(
    simulators: Simulators,
    http: aiohttp.ClientSession,
    params: dict[str, str],
    errors: dict[str, list[str]],
) -> None:
    status, body, headers = await _get(http, simulators.salesloft, params)
    assert (status, body) == (422, {"errors": errors})
    assert headers["x-ratelimit-endpoint-cost"] == "1"
    assert headers["x-ratelimit-remaining-minute"] == "600"


async def test_unencoded_plus_in_an_offset_is_422(
    simulators: Simulators, http: aiohttp.ClientSession
) -> None:
    raw = "start_time%5Bgt%5D=2026-03-10T10:00:00+02:00"  # the + decodes to a space
    url = simulators.salesloft.base_url + "/meetings?" + raw
    async with http.get(url, headers=_auth()) as response:
        assert response.status == 422
        assert await response.json() == {"errors": {"start_time[gt]": DATE_TIME}}
    encoded = "start_time%5Bgt%5D=2026-03-10T10:00:00%2B02:00"
    async with http.get(
        simulators.salesloft.base_url + "/meetings?" + encoded, headers=_auth()
    ) as response:
        assert response.status == 200


# --- rate limits ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("page", "cost"),
    [(1, 1), (100, 1), (101, 3), (150, 3), (151, 8), (250, 8), (251, 10), (500, 10),
     (501, 30), (100_000, 30)],
)  # fmt: skip
async def test_cost_by_page_without_rate_limits(
    simulators: Simulators, http: aiohttp.ClientSession, page: int, cost: int
) -> None:
    status, _, headers = await _get(http, simulators.salesloft, {"page": str(page)})
    assert status == 200
    assert headers["x-ratelimit-endpoint-cost"] == str(cost)
    assert headers["x-ratelimit-remaining-minute"] == "600"


async def test_rate_limit_per_team_and_refusal_spends_nothing(
    simulators: Simulators, http: aiohttp.ClientSession
) -> None:
    sim = simulators.salesloft
    sim.set_rate_limits(True)

    async def call(page: int, token: str = salesloft.PRIMARY_TOKEN, **extra: str) -> Answer:
        return await _get(http, sim, {"page": str(page), **extra}, headers=_auth(token))

    status, _, headers = await call(1)
    assert (status, headers["x-ratelimit-remaining-minute"]) == (200, "599")
    for expected_remaining in range(569, 0, -30):  # 19 deep pages of cost 30
        status, _, headers = await call(501)
        assert status == 200
        assert headers["x-ratelimit-endpoint-cost"] == "30"
        assert headers["x-ratelimit-remaining-minute"] == str(expected_remaining)
    status, _, headers = await call(251)  # cost 10: 29 - 10
    assert (status, headers["x-ratelimit-remaining-minute"]) == (200, "19")
    status, body, headers = await call(600)  # cost 30 > 19 left: refused
    assert (status, body) == (429, {"error": "Rate limit exceeded"})
    assert headers["x-ratelimit-endpoint-cost"] == "30"
    assert headers["x-ratelimit-remaining-minute"] == "19"
    assert "Retry-After" not in headers
    status, _, headers = await call(1, salesloft.OAUTH_TOKEN)  # same team, nothing was spent
    assert (status, headers["x-ratelimit-remaining-minute"]) == (200, "18")
    status, _, headers = await call(1, status="nope")  # a 422 spends too
    assert (status, headers["x-ratelimit-remaining-minute"]) == (422, "17")
    status, _, headers = await call(1, salesloft.SECOND_TOKEN)  # another team: its own budget
    assert (status, headers["x-ratelimit-remaining-minute"]) == (200, "599")
    status, _, headers = await call(1, "v2_ak_unknown")  # no team: nothing to spend
    assert (status, headers["x-ratelimit-remaining-minute"]) == (401, "600")
    for _ in range(17):
        assert (await call(1))[0] == 200
    status, body, headers = await call(1)
    assert (status, body, headers["x-ratelimit-remaining-minute"]) == (
        429,
        {"error": "Rate limit exceeded"},
        "0",
    )
    sim.set_rate_limits(False)
    status, _, headers = await call(1)
    assert (status, headers["x-ratelimit-remaining-minute"]) == (200, "600")


# --- faults, run-time records -----------------------------------------------------------------


async def test_injected_faults_use_salesloft_bodies(
    simulators: Simulators, http: aiohttp.ClientSession
) -> None:
    sim = simulators.salesloft
    sim.inject(Fault(kind=FaultKind.ERROR, status=500, times=1))
    status, body, _ = await _get(http, sim)
    assert (status, body) == (500, {"error": "Internal Server Error"})
    sim.inject(Fault(kind=FaultKind.ERROR, status=503, times=1))
    status, body, _ = await _get(http, sim)
    assert (status, body) == (503, {"error": "Service Unavailable"})
    sim.inject(Fault(kind=FaultKind.RATE_LIMIT, times=1))
    status, body, headers = await _get(http, sim)
    assert (status, body) == (429, {"error": "Rate limit exceeded"})
    assert "Retry-After" not in headers
    assert headers["x-ratelimit-remaining-minute"] == "0"
    status, _, _ = await _get(http, sim)
    assert status == 200


async def test_upsert_inserts_and_replaces(
    simulators: Simulators, http: aiohttp.ClientSession, dataset: Dataset
) -> None:
    sim = simulators.salesloft
    new = copy.deepcopy(dataset.salesloft[100])
    new["id"] = max(m["id"] for m in dataset.salesloft) + 1
    new["canceled_at"] = None
    new["start_time"] = "2027-01-01T09:00:00.000000Z"
    sim.upsert(new)
    _, body, _ = await _get(http, sim, {"per_page": "1"})
    assert body["data"] == [new]

    changed = copy.deepcopy(dataset.salesloft[5])
    changed["canceled_at"] = None
    changed["status"] = "retry"
    changed["title"] = "Rescheduled — Ωmega"
    sim.upsert(changed)
    _, body, _ = await _get(http, sim, [("ids[]", str(changed["id"])), ("status", "retry")])
    assert body["data"] == [changed]
    assert len(sim.api.records()) == len(dataset.salesloft) + 1


async def test_malformed_record_is_served_last_without_crashing(
    simulators: Simulators, http: aiohttp.ClientSession, dataset: Dataset
) -> None:
    sim = simulators.salesloft
    broken: Json = {"id": 1, "start_time": "not a time", "person": "x", "owned_by_user": 7}
    sim.upsert(broken)
    for direction in ("ASC", "DESC"):
        seen = await _walk(http, sim, {"sort_direction": direction})
        assert seen[-1] == broken
        assert len(seen) == len(_active(dataset)) + 1
    for params in (
        {"person_id": "1"},
        {"start_time[gt]": "2020-01-01T00:00:00Z"},
        {"user_guids[]": "d4b02b40-b31d-4fbf-93b6-4534808e1e45"},
        {"cadence_id": "1", "no_show": "false"},
    ):
        status, body, _ = await _get(http, sim, params)
        assert status == 200
        assert broken not in body["data"]
    status, body, _ = await _get(http, sim, {"ids[]": "1"})
    assert body["data"] == [broken]


# --- the data set -----------------------------------------------------------------------------


def test_dataset_shape_and_overlaps(dataset: Dataset) -> None:
    meetings = dataset.salesloft
    pools = build_pools(DEFAULT_SEED, REFERENCE_NOW)
    assert len(meetings) == 200
    ids = [m["id"] for m in meetings]
    assert ids == sorted(set(ids))
    for meeting in meetings:
        assert set(meeting) == MEETING_FIELDS
        for key in ("start_time", "end_time", "created_at", "updated_at"):
            assert MICRO_Z.fullmatch(meeting[key]), key
        assert _at(meeting["created_at"]) <= _at(meeting["updated_at"]) <= REFERENCE_NOW
        if meeting["canceled_at"] is not None:
            assert MICRO_Z.fullmatch(meeting["canceled_at"])
        assert sum(a["organizer"] for a in meeting["attendees"]) == 1
        assert len(meeting["attendees"]) >= 2
        assert all(a["deleted_at"] is None for a in meeting["attendees"])
        assert meeting["event_source"] == (
            "external" if meeting["calendar_type"] == "external" else "internal"
        )
        assert meeting["crm_references"] == {}
        assert meeting["crm_custom_fields"] == {}
        assert meeting["recurrence"] is None
        if meeting["no_show"]:
            assert _at(meeting["start_time"]) <= REFERENCE_NOW
        if meeting["step"] is not None:
            assert meeting["cadence"] is not None
    # calendar events shared with MeetStream, in order
    for meeting, event in zip(meetings, pools.calendar_events, strict=False):
        assert (meeting["event_id"], meeting["i_cal_uid"]) == (event.event_id, event.i_cal_uid)
        assert _at(meeting["start_time"]) == event.start
        assert meeting["title"] == event.title
    event_ids = {e.event_id for e in pools.calendar_events}
    assert sum(m["event_id"] in event_ids for m in meetings) == len(pools.calendar_events)
    assert {_at(m["start_time"]) for m in meetings[60:]} & set(pools.shared_starts)
    # people: the pools' people, with a stable Salesloft person id each
    emails = {p.email for p in pools.people}
    assert {m["recipient_email"] for m in meetings} <= emails
    person_of: dict[str, int] = {}
    for meeting in meetings:
        for attendee in meeting["attendees"]:
            if attendee["person"] is not None:
                assert (
                    person_of.setdefault(attendee["email"], attendee["person"]["id"])
                    == attendee["person"]["id"]
                )
        if meeting["person"] is not None:
            assert (
                person_of.setdefault(meeting["recipient_email"], meeting["person"]["id"])
                == meeting["person"]["id"]
            )
    assert any(ord(ch) > 127 for m in meetings for ch in m["recipient_name"])
    # variety: every documented value appears, nullable fields are really null somewhere
    assert {m["status"] for m in meetings} == set(salesloft.STATUSES)
    assert {m["calendar_type"] for m in meetings} == set(salesloft.CALENDAR_TYPES)
    assert {a["status"] for m in meetings for a in m["attendees"]} == set(
        salesloft.ATTENDEE_STATUSES
    )
    assert any(m["canceled_at"] for m in meetings)
    assert any(m["no_show"] for m in meetings)
    assert any(m["all_day"] for m in meetings)
    assert any(_at(m["start_time"]) > REFERENCE_NOW for m in meetings)
    assert any(_at(m["start_time"]) < REFERENCE_NOW - timedelta(days=7) for m in meetings)
    assert any((m["description"] or "").startswith("<p>") for m in meetings)
    for key in ("description", "person", "cadence", "step", "account_id", "task_id",
                "location", "meeting_type_id", "reschedule_status"):  # fmt: skip
        assert any(m[key] is None for m in meetings), key
        assert any(m[key] is not None for m in meetings), key
    assert any(set(m["guests"]) - {a["email"] for a in m["attendees"]} for m in meetings), (
        "some guests are no attendees"
    )
    assert any(m["owned_by_user"] != m["booked_by_user"] for m in meetings)
    assert all(re.fullmatch(r"[0-9a-f-]{36}", m["owned_by_user"]["id"]) for m in meetings)
