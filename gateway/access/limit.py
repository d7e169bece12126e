"""Requests per client and minute, in a moving window kept by the `limits` library.

In process, or in Redis, where every replica counts against one window per client (limits'
Lua script, on the redis-py client and connection pool the app already has). In process
the synchronous storage is used: limits' asyncio memory storage starts an expiry task, and
a thread hop per key, on every request, while the synchronous one expires in one timer
thread at most every 10 ms. Redis down means no shared count: the request goes ahead (a
warning is logged), as with the vendors' limits.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Protocol

from limits import RateLimitItemPerMinute
from limits.aio.storage import RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter as SharedWindow
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter as LocalWindow
from redis.asyncio import Redis

log = logging.getLogger(__name__)

KEY_PREFIX = "mg:v1:client"


class ClientLimiter(Protocol):
    async def hit(self, client: str) -> int:
        """Count one request of `client`: 0 if it fits its limit, else (counting nothing)
        the whole seconds until it would."""

    async def close(self) -> None: ...


class MemoryClientLimiter:
    def __init__(self, per_minute: int) -> None:
        self._item = RateLimitItemPerMinute(per_minute)
        self._storage = MemoryStorage()
        self._window = LocalWindow(self._storage)

    async def hit(self, client: str) -> int:
        if self._window.hit(self._item, client):
            return 0
        return _seconds_until(self._window.get_window_stats(self._item, client).reset_time)

    async def close(self) -> None:
        self._storage.reset()


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
        self._window = SharedWindow(storage)

    async def hit(self, client: str) -> int:
        try:
            if await self._window.hit(self._item, client):
                return 0
            stats = await self._window.get_window_stats(self._item, client)
        except Exception as error:  # see the module docstring
            log.warning("shared client limit unavailable (%s): not limited", type(error).__name__)
            return 0
        return _seconds_until(stats.reset_time)

    async def close(self) -> None:
        return None


def client_limiter(per_minute: int, redis: Redis | None, url: str) -> ClientLimiter:
    if redis is None:
        return MemoryClientLimiter(per_minute)
    return RedisClientLimiter(per_minute, redis, url)


def _seconds_until(moment: float) -> int:
    return max(1, math.ceil(moment - time.time()))
