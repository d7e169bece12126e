"""Injected faults behave the same on every simulator, through the Python and admin APIs."""

from __future__ import annotations

import asyncio
import json
import time

import aiohttp
import pytest

from gateway.simulators.cluster import NAMES, Simulators
from gateway.simulators.core import fingerprint
from gateway.simulators.faults import Fault, FaultKind
from tests.simulators.calls import LIST_KEYS, list_call

pytestmark = pytest.mark.parametrize("name", NAMES)


async def test_a_healthy_call_lists_records(
    simulators: Simulators, http: aiohttp.ClientSession, name: str
) -> None:
    url, headers = list_call(simulators, name)
    async with http.get(url, headers=headers) as response:
        assert response.status == 200
        assert isinstance((await response.json())[LIST_KEYS[name]], list)


async def test_latency_delays_then_answers(
    simulators: Simulators, http: aiohttp.ClientSession, name: str
) -> None:
    url, headers = list_call(simulators, name)
    simulators.by_name(name).inject(Fault(kind=FaultKind.LATENCY, latency_ms=150, jitter_ms=20))
    started = time.perf_counter()
    async with http.get(url, headers=headers) as response:
        assert response.status == 200
    assert time.perf_counter() - started >= 0.15


async def test_error_status_in_the_apis_own_shape(
    simulators: Simulators, http: aiohttp.ClientSession, name: str
) -> None:
    url, headers = list_call(simulators, name)
    simulators.by_name(name).inject(Fault(kind=FaultKind.ERROR, status=503))
    async with http.get(url, headers=headers) as response:
        assert response.status == 503
        body = await response.json()
    assert "error" in body
    assert body == simulators.by_name(name).api.error(503).body


async def test_rate_limit_fault_answers_429(
    simulators: Simulators, http: aiohttp.ClientSession, name: str
) -> None:
    url, headers = list_call(simulators, name)
    simulators.by_name(name).inject(Fault(kind=FaultKind.RATE_LIMIT, times=1))
    async with http.get(url, headers=headers) as response:
        assert response.status == 429
    async with http.get(url, headers=headers) as response:
        assert response.status == 200  # used up after one request


async def test_hang_never_answers_until_cleared(
    simulators: Simulators, http: aiohttp.ClientSession, name: str
) -> None:
    url, headers = list_call(simulators, name)
    simulator = simulators.by_name(name)
    simulator.inject(Fault(kind=FaultKind.HANG))
    with pytest.raises(asyncio.TimeoutError):
        async with http.get(url, headers=headers, timeout=aiohttp.ClientTimeout(total=0.3)):
            pass
    assert simulator.traffic.in_flight == 1
    simulator.clear_faults()
    async with http.get(url, headers=headers) as response:
        assert response.status == 200


async def test_malformed_json_is_not_json(
    simulators: Simulators, http: aiohttp.ClientSession, name: str
) -> None:
    url, headers = list_call(simulators, name)
    simulators.by_name(name).inject(Fault(kind=FaultKind.MALFORMED_JSON))
    async with http.get(url, headers=headers) as response:
        assert response.status == 200
        assert response.content_type == "application/json"
        text = await response.text()
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)


async def test_wrong_shape_is_json_without_the_documented_key(
    simulators: Simulators, http: aiohttp.ClientSession, name: str
) -> None:
    url, headers = list_call(simulators, name)
    simulators.by_name(name).inject(Fault(kind=FaultKind.WRONG_SHAPE))
    async with http.get(url, headers=headers) as response:
        assert response.status == 200
        body = await response.json()
    assert LIST_KEYS[name] not in body


async def test_reset_drops_the_connection(
    simulators: Simulators, http: aiohttp.ClientSession, name: str
) -> None:
    url, headers = list_call(simulators, name)
    simulators.by_name(name).inject(Fault(kind=FaultKind.RESET))
    with pytest.raises(aiohttp.ClientConnectionError):
        async with http.get(url, headers=headers):
            pass


async def test_fault_with_times_hits_exactly_that_many_requests(
    simulators: Simulators, http: aiohttp.ClientSession, name: str
) -> None:
    url, headers = list_call(simulators, name)
    simulators.by_name(name).inject(Fault(kind=FaultKind.ERROR, status=500, times=2))
    statuses = []
    for _ in range(4):
        async with http.get(url, headers=headers) as response:
            statuses.append(response.status)
    assert statuses == [500, 500, 200, 200]


async def test_request_log_and_peak_concurrency(
    simulators: Simulators, http: aiohttp.ClientSession, name: str
) -> None:
    url, headers = list_call(simulators, name)
    simulator = simulators.by_name(name)
    simulator.inject(Fault(kind=FaultKind.LATENCY, latency_ms=100))

    async def call(number: int) -> int:
        async with http.get(url, headers=headers, params={"probe": str(number)}) as response:
            return response.status

    assert await asyncio.gather(*(call(n) for n in range(5))) == [200] * 5
    log = simulator.requests
    assert len(log) == 5
    assert simulator.peak_in_flight == 5
    assert sorted(r.params["probe"] for r in log) == ["0", "1", "2", "3", "4"]
    secret = simulator.api_key
    assert {r.credential for r in log} == {fingerprint(next(iter(headers.values())))}
    assert all(secret not in str(r) for r in log)
    assert all(r.ended_at is not None and r.ended_at >= r.started_at for r in log)

    async with http.get(simulator.origin + "/__admin/requests") as response:
        admin_view = await response.json()
    assert len(admin_view["requests"]) == 5
    assert admin_view["peak_in_flight"] == 5
    assert secret not in json.dumps(admin_view)
    async with http.delete(simulator.origin + "/__admin/requests") as response:
        assert response.status == 204
    assert simulator.requests == []
    assert simulator.peak_in_flight == 0


async def test_admin_fault_api(
    simulators: Simulators, http: aiohttp.ClientSession, name: str
) -> None:
    url, headers = list_call(simulators, name)
    admin = simulators.by_name(name).origin + "/__admin/faults"
    async with http.post(admin, json={"kind": "error", "status": 502, "times": 1}) as response:
        assert response.status == 201
    async with http.get(admin) as response:
        assert [f["kind"] for f in (await response.json())["faults"]] == ["error"]
    async with http.get(url, headers=headers) as response:
        assert response.status == 502
    async with http.post(admin, json={"kind": "hang"}) as response:
        assert response.status == 201
    async with http.delete(admin) as response:
        assert response.status == 204
    async with http.get(url, headers=headers) as response:
        assert response.status == 200
    assert simulators.by_name(name).requests[-1].status == 200


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "meltdown"},
        {"kind": "error", "status": 200},
        {"kind": "latency"},
        {"kind": "error", "times": 0},
        {"kind": "error", "colour": "red"},
    ],
)
async def test_admin_rejects_a_bad_fault(
    simulators: Simulators, http: aiohttp.ClientSession, name: str, body: dict[str, object]
) -> None:
    async with http.post(simulators.by_name(name).origin + "/__admin/faults", json=body) as resp:
        assert resp.status == 400
        assert "error" in await resp.json()
    assert simulators.by_name(name).faults.active() == []
