"""Each source under test, built as the app builds it, against the simulators of the root conftest.

One fixture per source, named after it, so the per-source modules share one way of building it.
"""

from __future__ import annotations

import aiohttp
import pytest

from gateway.cache.upstream import UpstreamCache
from gateway.config import Settings
from gateway.sources.daily import DailySource
from gateway.sources.leezy import LeezySource
from gateway.sources.meetstream import MeetStreamSource
from gateway.sources.nexor import NexorSource
from gateway.sources.salesloft import SalesloftSource


@pytest.fixture
def leezy(
    settings: Settings, upstream_session: aiohttp.ClientSession, upstream_cache: UpstreamCache
) -> LeezySource:
    return LeezySource.create(settings.leezy, upstream_session, upstream_cache)


@pytest.fixture
def nexor(
    settings: Settings, upstream_session: aiohttp.ClientSession, upstream_cache: UpstreamCache
) -> NexorSource:
    return NexorSource.create(settings.nexor, upstream_session, upstream_cache)


@pytest.fixture
def meetstream(
    settings: Settings, upstream_session: aiohttp.ClientSession, upstream_cache: UpstreamCache
) -> MeetStreamSource:
    return MeetStreamSource.create(settings.meetstream, upstream_session, upstream_cache)


@pytest.fixture
def salesloft(
    settings: Settings, upstream_session: aiohttp.ClientSession, upstream_cache: UpstreamCache
) -> SalesloftSource:
    return SalesloftSource.create(settings.salesloft, upstream_session, upstream_cache)


@pytest.fixture
def daily(
    settings: Settings, upstream_session: aiohttp.ClientSession, upstream_cache: UpstreamCache
) -> DailySource:
    return DailySource.create(settings.daily, upstream_session, upstream_cache)
