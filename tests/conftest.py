"""Fixtures shared by every test: the seeded data set and the five simulators on loopback."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from functools import cache
from typing import Any

import aiohttp
import pytest
from redis.asyncio import Redis
from redis.exceptions import RedisError

from gateway.app import create_app
from gateway.cache.backends import BoundedMemoryCache, ByteStore
from gateway.cache.upstream import UpstreamCache
from gateway.config import Settings
from gateway.simulators.cluster import Simulators, running_simulators
from gateway.simulators.dataset import Dataset, build_dataset
from tests.browser import chromium_path
from tests.serving import serving

# A fixed "now" makes every expectation reproducible; the simulators' clock is frozen at it.
REFERENCE_NOW = datetime(2026, 3, 10, 14, 7, 30, tzinfo=UTC)


@cache
def _dataset() -> Dataset:
    return build_dataset(now=REFERENCE_NOW)


@pytest.fixture
def dataset() -> Dataset:
    """The data set the simulators start from (each simulator holds its own copy)."""
    return _dataset()


@pytest.fixture
async def simulators(dataset: Dataset) -> AsyncIterator[Simulators]:
    """All five simulators on free loopback ports, rate limits off (tests switch them on)."""
    async with running_simulators(
        dataset, clock=lambda: REFERENCE_NOW, rate_limits=False
    ) as running:
        yield running


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def settings(simulators: Simulators) -> Settings:
    """Gateway settings pointing at the simulators, independent of the environment."""
    values = {
        sim.name: {"base_url": sim.base_url, "api_key": sim.api_key, "retries": 0}
        for sim in simulators
    }
    return Settings.model_validate({**values, "cache": {"url": "memory://"}})


@pytest.fixture
async def upstream_session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def gateway_url(settings: Settings) -> AsyncIterator[str]:
    """The gateway app served by uvicorn on a free loopback port, against the simulators."""
    async with serving(create_app(settings, clock=lambda: REFERENCE_NOW)) as url:
        yield url


class GraphQLClient:
    """Posts GraphQL to the gateway over real HTTP; returns the decoded response body."""

    def __init__(self, http: aiohttp.ClientSession, url: str) -> None:
        self.http = http
        self.url = url + "/graphql"

    async def __call__(
        self, query: str, variables: dict[str, Any] | None = None, *, status: int = 200
    ) -> dict[str, Any]:
        payload = {"query": query, "variables": variables or {}}
        async with self.http.post(self.url, json=payload) as response:
            body: dict[str, Any] = await response.json()
            assert response.status == status, body
            return body


@pytest.fixture
def gql(http: aiohttp.ClientSession, gateway_url: str) -> GraphQLClient:
    return GraphQLClient(http, gateway_url)


@pytest.fixture
async def upstream_cache() -> AsyncIterator[UpstreamCache]:
    """An upstream response cache of its own for each test (what the app lifespan builds)."""
    cache = UpstreamCache(ByteStore(BoundedMemoryCache(max_entries=10_000)))
    yield cache
    await cache.close()


TEST_REDIS_URL = os.environ.get("GATEWAY_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture
async def redis_url() -> AsyncIterator[str]:
    """A real Redis (db 15, emptied before and after). Under CI=true, no Redis is a failure."""
    client = Redis.from_url(TEST_REDIS_URL)
    try:
        await client.flushdb()
    except (RedisError, OSError) as error:
        await client.aclose()
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis is required in CI, none at {TEST_REDIS_URL}: {error}")
        pytest.skip(f"no Redis at {TEST_REDIS_URL}")
    yield TEST_REDIS_URL
    await client.flushdb()
    await client.aclose()


@pytest.fixture
def chromium() -> str:
    """Debian's Chromium for the browser tests; they skip without it, except under CI=true."""
    path = chromium_path()
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is required in CI (.ci/run installs it)")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    return path
