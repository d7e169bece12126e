"""Single-flight: identical upstream requests in flight at the same time are made once.

In process by cache key; across replicas sharing Redis by a lease on the key: the replica
holding it asks the upstream, the others wait for the entry it stores.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

from redis.asyncio import Redis

from gateway.cache.entries import KEY_PREFIX, Entry

log = logging.getLogger(__name__)

Load = Callable[[], Awaitable[tuple[int, bytes]]]  # one upstream request: (status, body)


@dataclass
class Flight:
    """One upstream request under way, awaited by every caller that asked for it."""

    task: asyncio.Future[Entry] = field(init=False)
    stored: bool = False  # one of its callers stored the answer already
    keeper: bool = False  # a background task stores it when no caller waits any more
    leased: bool = False  # this replica holds the key's lease until the answer is stored
    from_peer: bool = False  # another replica asked the upstream; this one read its entry


class Flights:
    """The requests in flight in this process, by cache key."""

    def __init__(self) -> None:
        self._flying: dict[str, Flight] = {}

    def __contains__(self, key: str) -> bool:
        return key in self._flying

    def get(self, key: str) -> Flight | None:
        return self._flying.get(key)

    def take_off(self, key: str, fetch: Callable[[Flight], Awaitable[Entry]]) -> Flight:
        """Start `fetch` for the key; the flight is forgotten as soon as it lands."""
        flight = Flight()
        flight.task = asyncio.ensure_future(fetch(flight))
        self._flying[key] = flight

        def landed(task: asyncio.Future[Entry]) -> None:
            if self._flying.get(key) is flight:
                del self._flying[key]
            if not task.cancelled():
                task.exception()  # retrieved here too, in case every caller gave up

        flight.task.add_done_callback(landed)
        return flight


class Leases(Protocol):
    """Who among the replicas asks the upstream for a key."""

    async def acquire(self, key: str, ttl_s: float) -> bool: ...

    async def held(self, key: str) -> bool: ...

    async def release(self, key: str) -> None: ...


_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class RedisLeases:
    """Leases in Redis (`SET NX` with an expiry, so a replica that dies frees the key). When
    Redis fails, every replica acts alone: a duplicate request, never a failed query."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._token = uuid.uuid4().hex  # this replica's: it releases only its own leases
        self._release = redis.register_script(_RELEASE)

    async def acquire(self, key: str, ttl_s: float) -> bool:
        try:
            taken = await self._redis.set(_lease(key), self._token, nx=True, px=int(ttl_s * 1000))
        except Exception as error:
            log.warning("shared single-flight unavailable (%s)", type(error).__name__)
            return True
        return bool(taken)

    async def held(self, key: str) -> bool:
        try:
            return bool(await self._redis.exists(_lease(key)))
        except Exception:
            return False

    async def release(self, key: str) -> None:
        try:
            await self._release(keys=[_lease(key)], args=[self._token])
        except Exception as error:
            log.warning("could not release a single-flight lease (%s)", type(error).__name__)


def _lease(key: str) -> str:
    return f"{KEY_PREFIX}lease:{key.removeprefix(KEY_PREFIX)}"
