"""Requests per client and minute, in a moving window: each request's time is kept for a
minute, and a request is let in while fewer than the limit are kept.

In Redis, where every replica counts against one window per client, the `limits` library
keeps it (its Lua script, on the redis-py client and connection pool the app already has).
In process, the gateway's own sliding log (`gateway.ratelimit`, the vendors' limits) does:
limits' memory storages pass over every client's key every 10 ms (the synchronous one in a
thread that holds the GIL, measured at 1 ms a pass for 1,000 clients and 12 ms for 11,000,
so it never rests past some thousands; the asyncio one with a thread hop per key), where
the sliding log forgets idle clients as it goes. Redis down means no shared count: the
request goes ahead (a warning is logged), as with the vendors' limits.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Protocol

from limits import RateLimitItemPerMinute
from limits.aio.storage import RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter
from redis.asyncio import Redis

from gateway.ratelimit import MemoryRateLimiter, RateLimit

log = logging.getLogger(__name__)

KEY_PREFIX = "mg:v1:client"


class ClientLimiter(Protocol):
    async def hit(self, client: str) -> int:
        """Count one request of `client`: 0 if it fits its limit, else (counting nothing)
        the whole seconds until it would."""

    async def close(self) -> None: ...


class MemoryClientLimiter:
    def __init__(self, per_minute: int) -> None:
        self._window = (RateLimit(per_minute, 60.0),)
        self._logs = MemoryRateLimiter()

    async def hit(self, client: str) -> int:
        wait = await self._logs.acquire(client, 1, self._window)
        return 0 if wait <= 0 else max(1, math.ceil(wait))

    async def close(self) -> None:
        await self._logs.close()


class RedisClientLimiter:
    def __init__(self, per_minute: int, redis: Redis, url: str) -> None:
        self._item = RateLimitItemPerMinute(per_minute)
        storage = RedisStorage(
            "async+" + url,
            implementation="redispy",
            # The app's client and its pool (which that client closes); limits types its
            # options as scalars only.
            connection_pool=redis.connection_pool,  # type: ignore[arg-type]
            key_prefix=KEY_PREFIX,
        )
        self._window = MovingWindowRateLimiter(storage)

    async def hit(self, client: str) -> int:
        try:
            if await self._window.hit(self._item, client):
                return 0
            stats = await self._window.get_window_stats(self._item, client)
        except Exception as error:  # see the module docstring
            log.warning("shared client limit unavailable (%s): not limited", type(error).__name__)
            return 0
        return max(1, math.ceil(stats.reset_time - time.time()))

    async def close(self) -> None:
        return None


def client_limiter(per_minute: int, redis: Redis | None, url: str) -> ClientLimiter:
    if redis is None:
        return MemoryClientLimiter(per_minute)
    return RedisClientLimiter(per_minute, redis, url)
