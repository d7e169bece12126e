"""`GET /readyz`: 200 while the cache backend answers, 503 when its Redis cannot be reached
(without its password), with each upstream's circuit and last contact; `/healthz` is
liveness only."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
from pydantic import SecretStr

from gateway.app import create_app
from gateway.config import Settings
from gateway.model import Source
from gateway.simulators.cluster import Simulators
from gateway.simulators.faults import Fault, FaultKind
from tests.api.serving import with_source
from tests.conftest import REFERENCE_NOW
from tests.serving import serving

PASSWORD = "readyz-s3cret-77"
LEEZY_ONLY = {
    "query": "{ meetings(first: 1, filter: {sources: [LEEZY]}) { edges { node { id } } } }"
}


@asynccontextmanager
async def gateway(settings: Settings) -> AsyncIterator[str]:
    async with serving(create_app(settings, clock=lambda: REFERENCE_NOW)) as url:
        yield url


async def readyz(http: aiohttp.ClientSession, url: str) -> tuple[int, dict[str, Any], bytes]:
    async with http.get(url + "/readyz") as response:
        return response.status, await response.json(), await response.read()


def with_cache_url(settings: Settings, url: str) -> Settings:
    return settings.model_copy(update={"cache": settings.cache.model_copy(update={"url": url})})


async def test_ready_with_every_source_and_its_circuit(
    settings: Settings, http: aiohttp.ClientSession
) -> None:
    async with gateway(settings) as url:
        status, body, _ = await readyz(http, url)
    assert status == 200
    assert body["status"] == "ready"
    assert body["cache"] == {"backend": "memory", "reachable": True}
    assert [s["source"] for s in body["sources"]] == [s.name for s in Source]
    for source in body["sources"]:
        assert source == {
            "source": source["source"],
            "enabled": True,
            "circuit": "closed",
            "lastSuccessAt": None,
            "lastError": None,
        }


async def test_a_failing_upstream_shows_its_open_circuit_but_the_replica_stays_ready(
    settings: Settings, simulators: Simulators, http: aiohttp.ClientSession
) -> None:
    settings = with_source(settings, Source.LEEZY, circuit_failures=1)
    settings = with_source(settings, Source.DAILY, api_key=None)  # disabled
    simulators.leezy.inject(Fault(kind=FaultKind.ERROR, status=500))
    async with gateway(settings) as url:
        async with http.post(url + "/graphql", json=LEEZY_ONLY) as response:
            assert response.status == 200
        status, body, _ = await readyz(http, url)
    assert status == 200
    by_source = {s["source"]: s for s in body["sources"]}
    assert by_source["LEEZY"]["circuit"] == "open"
    assert by_source["LEEZY"]["lastError"].startswith("LEEZY: ")
    assert by_source["DAILY"] == {
        "source": "DAILY",
        "enabled": False,
        "circuit": None,
        "lastSuccessAt": None,
        "lastError": None,
    }
    assert by_source["SALESLOFT"]["circuit"] == "closed"


async def test_ready_when_redis_answers(
    settings: Settings, http: aiohttp.ClientSession, redis_url: str
) -> None:
    async with gateway(with_cache_url(settings, redis_url)) as url:
        status, body, _ = await readyz(http, url)
    assert (status, body["status"]) == (200, "ready")
    assert body["cache"] == {"backend": "redis", "reachable": True}


async def test_not_ready_when_redis_is_unreachable_and_its_password_is_not_shown(
    settings: Settings, http: aiohttp.ClientSession
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    unreachable = with_cache_url(settings, f"redis://:{PASSWORD}@127.0.0.1:{closed}/3")
    # A source key in the body would be a leak too.
    unreachable = with_source(unreachable, Source.NEXOR, api_key=SecretStr(PASSWORD + "-key"))
    async with gateway(unreachable) as url:
        status, body, raw = await readyz(http, url)
        async with http.get(url + "/healthz") as live:
            assert live.status == 200
    assert status == 503
    assert body["status"] == "unready"
    assert body["cache"] == {"backend": "redis", "reachable": False, "error": "ConnectionError"}
    assert len(body["sources"]) == len(Source)
    assert PASSWORD.encode() not in raw
