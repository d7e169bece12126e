"""Fixtures of the GraphQL tests: a real-sized account on the five simulators."""

from __future__ import annotations

from collections.abc import AsyncIterator
from functools import cache

import pytest

from gateway.simulators.cluster import Simulators, running_simulators
from gateway.simulators.dataset import Dataset, build_dataset
from tests.conftest import REFERENCE_NOW

SCALE = 20  # about 3,000 Salesloft meetings, 1,200 Daily sessions, 2,400 Leezy meetings


@cache
def scaled_dataset() -> Dataset:
    return build_dataset(now=REFERENCE_NOW, scale=SCALE)


@pytest.fixture
async def scaled() -> AsyncIterator[Simulators]:
    """The five simulators on a scale-20 account, rate limits off (a fresh copy per test)."""
    async with running_simulators(
        scaled_dataset(), clock=lambda: REFERENCE_NOW, rate_limits=False
    ) as running:
        yield running
