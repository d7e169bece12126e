"""Single-flight: identical upstream requests in flight at the same time are made once."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from gateway.cache.entries import Entry

Load = Callable[[], Awaitable[tuple[int, bytes]]]  # one upstream request: (status, body)


@dataclass
class Flight:
    """One upstream request under way, awaited by every caller that asked for it."""

    task: asyncio.Future[Entry]
    stored: bool = False  # one of its callers stored the answer already
    keeper: bool = False  # a background task stores it when no caller waits any more


class Flights:
    """The requests in flight in this process, by cache key."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._flying: dict[str, Flight] = {}

    def __contains__(self, key: str) -> bool:
        return key in self._flying

    def get(self, key: str) -> Flight | None:
        return self._flying.get(key)

    def take_off(self, key: str, load: Load) -> Flight:
        """Start the request; it is forgotten as soon as it lands."""

        async def fetch() -> Entry:
            status, body = await load()
            return Entry(status, body, self._clock())

        flight = Flight(asyncio.ensure_future(fetch()))
        self._flying[key] = flight

        def landed(task: asyncio.Future[Entry]) -> None:
            if self._flying.get(key) is flight:
                del self._flying[key]
            if not task.cancelled():
                task.exception()  # retrieved here too, in case every caller gave up

        flight.task.add_done_callback(landed)
        return flight
