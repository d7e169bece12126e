"""GATEWAY_LIMITS__CLIENT_REQUESTS_PER_MINUTE: per client identity (its IP when
authentication is off), HTTP 429 `RATE_LIMITED` with `Retry-After` past it, another client
unaffected; in process, or shared by replicas through Redis."""

from __future__ import annotations

import hashlib
import logging
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest

from gateway.app import create_app
from gateway.config import AuthSettings, Settings
from tests.conftest import REFERENCE_NOW
from tests.serving import serving

KEY_A = "mg_live_client-a-0f9e8d7c6b5a"
KEY_B = "mg_live_client-b-1a2b3c4d5e6f"
QUERY = {"query": "{ meetings(first: 1, filter: {sources: [DAILY]}) { edges { node { id } } } }"}


def limited(settings: Settings, per_minute: int, *, keys: bool = True, **cache: Any) -> Settings:
    digests = [hashlib.sha256(k.encode()).hexdigest() for k in (KEY_A, KEY_B)] if keys else []
    return settings.model_copy(
        update={
            "limits": settings.limits.model_copy(update={"client_requests_per_minute": per_minute}),
            "auth": AuthSettings(api_keys=digests),
            "cache": settings.cache.model_copy(update=cache),
        }
    )


@asynccontextmanager
async def gateway(settings: Settings) -> AsyncIterator[str]:
    async with serving(create_app(settings, clock=lambda: REFERENCE_NOW)) as url:
        yield url


async def ask(
    http: aiohttp.ClientSession, url: str, key: str | None = None
) -> tuple[int, dict[str, Any], str | None]:
    headers = {} if key is None else {"Authorization": f"Bearer {key}"}
    async with http.post(url + "/graphql", json=QUERY, headers=headers) as response:
        return response.status, await response.json(), response.headers.get("Retry-After")


def assert_limited(answer: tuple[int, dict[str, Any], str | None], per_minute: int) -> None:
    status, body, retry_after = answer
    assert status == 429
    assert retry_after is not None
    assert 1 <= int(retry_after) <= 60
    (error,) = body["errors"]
    assert error["extensions"] == {"code": "RATE_LIMITED", "retryAfterSeconds": int(retry_after)}
    assert error["message"] == (
        f"Too many requests: at most {per_minute} a minute per client; "
        f"try again in {retry_after} s."
    )


async def test_a_client_over_its_limit_is_refused_and_another_is_not(
    settings: Settings, http: aiohttp.ClientSession
) -> None:
    async with gateway(limited(settings, 3)) as url:
        a = [await ask(http, url, KEY_A) for _ in range(4)]
        b = [await ask(http, url, KEY_B) for _ in range(3)]
        async with http.get(url + "/healthz") as health:  # open paths are never counted
            assert health.status == 200
        refused = await ask(http, url)  # no credential: 401 before any count
    assert [status for status, _, _ in a[:3]] == [200, 200, 200]
    assert_limited(a[3], 3)
    assert [status for status, _, _ in b] == [200, 200, 200]
    assert refused[0] == 401


async def test_without_authentication_the_client_is_its_ip(
    settings: Settings, http: aiohttp.ClientSession
) -> None:
    # Loopback is 127.0.0.0/8: a second client connects from 127.0.0.2.
    other = aiohttp.TCPConnector(local_addr=("127.0.0.2", 0), family=socket.AF_INET)
    async with (
        gateway(limited(settings, 2, keys=False)) as url,
        aiohttp.ClientSession(connector=other) as second,
    ):
        first = [await ask(http, url) for _ in range(3)]
        theirs = [await ask(second, url) for _ in range(2)]
    assert [status for status, _, _ in first[:2]] == [200, 200]
    assert_limited(first[2], 2)
    assert [status for status, _, _ in theirs] == [200, 200]


async def test_replicas_sharing_redis_share_each_clients_count(
    settings: Settings, http: aiohttp.ClientSession, redis_url: str
) -> None:
    shared = limited(settings, 4, url=redis_url)
    async with gateway(shared) as one, gateway(shared) as other:
        a = [await ask(http, url, KEY_A) for url in (one, other, one, other, one, other)]
        b = [await ask(http, url, KEY_B) for url in (other, other, other, other)]
    assert [status for status, _, _ in a[:4]] == [200] * 4
    assert_limited(a[4], 4)
    assert_limited(a[5], 4)
    assert [status for status, _, _ in b] == [200] * 4


async def test_a_redis_that_is_down_limits_no_one(
    settings: Settings, http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    down = limited(settings, 1, url=f"redis://127.0.0.1:{closed}/0")
    with caplog.at_level(logging.WARNING, logger="gateway.access.limit"):
        async with gateway(down) as url:
            answers = [await ask(http, url, KEY_A) for _ in range(3)]
    assert [status for status, _, _ in answers] == [200] * 3
    assert "shared client limit unavailable (ConnectionError): not limited" in caplog.text


async def test_behind_a_trusted_proxy_the_client_is_the_forwarded_address(
    settings: Settings,
) -> None:
    # uvicorn trusts X-Forwarded-For from FORWARDED_ALLOW_IPS (127.0.0.1 by default; the
    # compose file sets it for its nginx), so the client is who the proxy says.
    async def ask_as(http: aiohttp.ClientSession, url: str, address: str) -> int:
        headers = {"X-Forwarded-For": address}
        async with http.post(url + "/graphql", json=QUERY, headers=headers) as response:
            return response.status

    async with gateway(limited(settings, 1, keys=False)) as url, aiohttp.ClientSession() as http:
        statuses = [
            await ask_as(http, url, a) for a in ("203.0.113.9", "203.0.113.9", "203.0.113.10")
        ]
    assert statuses == [200, 429, 200]
