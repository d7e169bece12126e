"""A gateway with settings of the test's own (a short timeout, a wrong key, a source off).

The same as the `gateway_url` fixture, for tests that need other settings than `settings`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import uvicorn

from gateway.app import create_app
from gateway.config import Settings
from gateway.model import Source
from tests.conftest import REFERENCE_NOW, GraphQLClient


def with_source(settings: Settings, source: Source, **changes: Any) -> Settings:
    """`settings` with some settings of one source changed (e.g. timeout, api_key)."""
    changed = settings.source(source).model_copy(update=changes)
    return settings.model_copy(update={source.value: changed})


@asynccontextmanager
async def running_gateway(
    settings: Settings, http: aiohttp.ClientSession
) -> AsyncIterator[GraphQLClient]:
    """The app served by uvicorn on a free loopback port, its clock at REFERENCE_NOW."""
    app = create_app(settings, clock=lambda: REFERENCE_NOW)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()  # raises what stopped the server
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield GraphQLClient(http, f"http://127.0.0.1:{port}")
    finally:
        server.should_exit = True
        await task
