"""Leezy simulator: auth, validation, offset paging, filters, rate limits, run-time records."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import aiohttp
import pytest

from gateway.simulators import leezy
from gateway.simulators.cluster import Simulators
from gateway.simulators.dataset import Dataset
from gateway.simulators.faults import Fault, FaultKind
from tests.conftest import REFERENCE_NOW

Json = dict[str, Any]


def _url(simulators: Simulators) -> str:
    return simulators.leezy.base_url + "/meetings"


def _auth(token: str = leezy.PRIMARY_TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _get(
    http: aiohttp.ClientSession, simulators: Simulators, params: dict[str, str] | None = None
) -> tuple[int, Json]:
    async with http.get(_url(simulators), headers=_auth(), params=params or {}) as response:
        return response.status, await response.json()


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value)


@pytest.mark.parametrize(
    ("header", "status", "code"),
    [
        (None, 401, "invalid_token"),
        (f"Token {leezy.PRIMARY_TOKEN}", 401, "invalid_token"),
        ("Bearer sk_live_not_a_leezy_token", 401, "invalid_token"),
        ("Bearer lzy_at_unknown", 401, "invalid_token"),
        (f"Bearer {leezy.EXPIRED_TOKEN}", 401, "invalid_token"),
        (f"Bearer {leezy.NO_SCOPE_TOKEN}", 403, "insufficient_scope"),
        (f"Bearer {leezy.FREE_PLAN_TOKEN}", 403, "plan_required"),
    ],
)
async def test_auth_failures(
    simulators: Simulators, http: aiohttp.ClientSession, header: str | None, status: int, code: str
) -> None:
    headers = {"Authorization": header} if header else {}
    async with http.get(_url(simulators), headers=headers) as response:
        assert response.status == status
        body = await response.json()
    assert body["error"] == code
    assert body["error_description"]


@pytest.mark.parametrize(
    "params",
    [
        {"limit": "0"},
        {"limit": "101"},
        {"limit": "ten"},
        {"offset": "-1"},
        {"offset": "1.5"},
        {"status": "done"},
        {"since": "yesterday"},
        {"upcoming": "maybe"},
    ],
)
async def test_invalid_parameters_are_400(
    simulators: Simulators, http: aiohttp.ClientSession, params: dict[str, str]
) -> None:
    status, body = await _get(http, simulators, params)
    assert status == 400
    assert body["error"] == "invalid_request"


async def test_defaults_and_meta(
    simulators: Simulators, http: aiohttp.ClientSession, dataset: Dataset
) -> None:
    status, body = await _get(http, simulators)
    assert status == 200
    assert body["data"] == dataset.leezy[:20]
    assert body["meta"] == {
        "api_version": "2024-01-01",
        "total": len(dataset.leezy),
        "limit": 20,
        "offset": 0,
        "has_more": True,
        "count": 20,
    }


async def test_full_offset_walk_returns_each_meeting_once_in_insertion_order(
    simulators: Simulators, http: aiohttp.ClientSession, dataset: Dataset
) -> None:
    seen: list[Json] = []
    offset = 0
    while True:
        status, body = await _get(http, simulators, {"limit": "7", "offset": str(offset)})
        assert status == 200
        seen.extend(body["data"])
        offset += body["meta"]["count"]
        if not body["meta"]["has_more"]:
            break
    assert seen == dataset.leezy
    assert len({item["id"] for item in seen}) == len(dataset.leezy)
    assert len(simulators.leezy.requests) == -(-len(dataset.leezy) // 7)


async def test_offset_past_the_end_is_an_empty_page(
    simulators: Simulators, http: aiohttp.ClientSession, dataset: Dataset
) -> None:
    status, body = await _get(http, simulators, {"offset": str(len(dataset.leezy) + 5)})
    assert status == 200
    assert body["data"] == []
    assert body["meta"]["has_more"] is False


async def _all(
    http: aiohttp.ClientSession, simulators: Simulators, params: dict[str, str]
) -> list[Json]:
    status, body = await _get(http, simulators, {**params, "limit": "100"})
    assert status == 200
    items: list[Json] = body["data"]
    if body["meta"]["has_more"]:
        items += (await _get(http, simulators, {**params, "limit": "100", "offset": "100"}))[1][
            "data"
        ]
    assert len(items) == body["meta"]["total"]
    return items


async def test_filters_match_the_data_set(
    simulators: Simulators, http: aiohttp.ClientSession, dataset: Dataset
) -> None:
    chatbot = dataset.leezy[3]["attributes"]["chatbot_id"]
    since = dataset.leezy[len(dataset.leezy) // 2]["attributes"]["updated_at"]

    def expect(keep: Any) -> list[Json]:
        return [item for item in dataset.leezy if keep(item["attributes"])]

    cases: list[tuple[dict[str, str], list[Json]]] = [
        ({"chatbot_id": chatbot}, expect(lambda a: a["chatbot_id"] == chatbot)),
        ({"status": "no_show"}, expect(lambda a: a["status"] == "no_show")),
        ({"since": since}, expect(lambda a: _time(a["updated_at"]) > _time(since))),
        ({"upcoming": "true"}, expect(lambda a: _time(a["start_time"]) > REFERENCE_NOW)),
        ({"upcoming": "false"}, dataset.leezy),
        (
            {"status": "confirmed", "upcoming": "true", "chatbot_id": chatbot},
            expect(
                lambda a: (
                    a["status"] == "confirmed"
                    and a["chatbot_id"] == chatbot
                    and _time(a["start_time"]) > REFERENCE_NOW
                )
            ),
        ),
    ]
    for params, expected in cases:
        assert expected, params  # the data set exercises every filter
        assert await _all(http, simulators, params) == expected, params


async def test_every_status_and_overlaps_are_in_the_data(dataset: Dataset) -> None:
    attributes = [item["attributes"] for item in dataset.leezy]
    assert {a["status"] for a in attributes} == set(leezy.STATUSES)
    assert {a["meeting_provider"] for a in attributes} == set(leezy.PROVIDERS)
    assert any(a["description"] is None for a in attributes)
    assert any(a["meeting_url"] is None for a in attributes)
    assert any(a["attendee"]["phone"] is None for a in attributes)
    assert len({a["timezone"] for a in attributes}) >= 4
    assert any(not a["attendee"]["name"].isascii() for a in attributes)
    assert any(a["cancelled_at"] for a in attributes if a["status"] == "cancelled")
    assert all(a["cancelled_at"] is None for a in attributes if a["status"] != "cancelled")
    starts = [_time(a["start_time"]) for a in attributes]
    assert any(s < REFERENCE_NOW for s in starts)
    assert any(s > REFERENCE_NOW for s in starts)


async def test_plan_rate_limit_is_enforced_per_token(
    simulators: Simulators, http: aiohttp.ClientSession
) -> None:
    simulators.leezy.set_rate_limits(True)
    statuses = []
    for _ in range(101):
        async with http.get(_url(simulators), headers=_auth(leezy.STARTER_TOKEN)) as response:
            statuses.append(response.status)
            last = await response.json()
    assert statuses == [200] * 100 + [429]
    assert last["error"] == "rate_limit_exceeded"
    assert "60 seconds" in last["error_description"]
    # Another tenant's budget is its own.
    async with http.get(_url(simulators), headers=_auth(leezy.SECOND_TOKEN)) as response:
        assert response.status == 200


async def test_rate_limits_can_be_switched_over_http(
    simulators: Simulators, http: aiohttp.ClientSession
) -> None:
    admin = simulators.leezy.origin + "/__admin/rate-limits"
    async with http.put(admin, json={"enabled": True}) as response:
        assert response.status == 200
    assert simulators.leezy.api.rate_limits is True
    async with http.put(admin, json={"enabled": "sometimes"}) as response:
        assert response.status == 400
    async with http.put(admin, json={"enabled": False}) as response:
        assert (await response.json()) == {"enabled": False}
    assert simulators.leezy.api.rate_limits is False


async def test_injected_errors_use_leezys_error_body(
    simulators: Simulators, http: aiohttp.ClientSession
) -> None:
    simulators.leezy.inject(Fault(kind=FaultKind.ERROR, status=500, times=1))
    simulators.leezy.inject(Fault(kind=FaultKind.RATE_LIMIT, times=1))
    assert await _get(http, simulators) == (
        500,
        {"error": "server_error", "error_description": "The server answered 500."},
    )
    status, body = await _get(http, simulators)
    assert (status, body["error"]) == (429, "rate_limit_exceeded")


async def test_records_inserted_and_changed_at_run_time(
    simulators: Simulators, http: aiohttp.ClientSession, dataset: Dataset
) -> None:
    changed = {**dataset.leezy[0]}
    changed["attributes"] = {**changed["attributes"], "title": "Renamed ✓"}
    new = {**dataset.leezy[1], "id": "meeting_new0000001"}
    async with http.put(simulators.leezy.origin + "/__admin/records", json=changed) as response:
        assert response.status == 200
    simulators.leezy.upsert(new)
    items = await _all(http, simulators, {})
    assert len(items) == len(dataset.leezy) + 1
    assert items[0]["attributes"]["title"] == "Renamed ✓"
    assert items[-1]["id"] == "meeting_new0000001"
    async with http.get(simulators.leezy.origin + "/__admin/records") as response:
        assert len((await response.json())["records"]) == len(dataset.leezy) + 1
    async with http.put(simulators.leezy.origin + "/__admin/records", json=[1]) as response:
        assert response.status == 400


async def test_a_malformed_record_is_served_as_stored(
    simulators: Simulators, http: aiohttp.ClientSession, dataset: Dataset
) -> None:
    broken = {"id": "meeting_broken", "type": "meeting", "attributes": {"start_time": 17}}
    simulators.leezy.upsert(broken)
    items = await _all(http, simulators, {})
    assert items[-1] == broken
    upcoming = await _all(http, simulators, {"upcoming": "true"})
    assert broken not in upcoming
