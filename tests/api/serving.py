"""A gateway with settings of the test's own (a short timeout, a wrong key, a source off).

The same as the `gateway_url` fixture, for tests that need other settings than `settings`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp

from gateway.app import create_app
from gateway.config import Settings
from gateway.model import Source
from tests.conftest import REFERENCE_NOW, GraphQLClient
from tests.serving import serving


def with_source(settings: Settings, source: Source, **changes: Any) -> Settings:
    """`settings` with some settings of one source changed (e.g. timeout, api_key)."""
    changed = settings.source(source).model_copy(update=changes)
    return settings.model_copy(update={source.value: changed})


@asynccontextmanager
async def running_gateway(
    settings: Settings, http: aiohttp.ClientSession
) -> AsyncIterator[GraphQLClient]:
    """The app served by uvicorn on a free loopback port, its clock at REFERENCE_NOW."""
    async with serving(create_app(settings, clock=lambda: REFERENCE_NOW)) as url:
        yield GraphQLClient(http, url)
