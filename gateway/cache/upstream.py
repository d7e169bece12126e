"""The upstream cache: fresh and stale entries on an aiocache backend, one flight per key.

An entry is fresh for the source's `cache_ttl`, then served *stale* for `stale_ttl` more
while one background request refreshes it; when that refresh fails, the stale entry keeps
being served (stale-if-error) until it expires. With `leases` (Redis), one replica asks the
upstream for a key at a time and the others read the entry it stores.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
import time
from collections.abc import Callable
from typing import TypeVar

from gateway.cache.backends import ByteStore
from gateway.cache.decoded import DecodedAnswers
from gateway.cache.entries import Entry, Freshness, Served
from gateway.cache.flights import Flight, Flights, Leases, Load
from gateway.errors import GatewayError, UpstreamError
from gateway.usage import record_freshness

log = logging.getLogger(__name__)
T = TypeVar("T")

DEFAULT_LEASE_S = 30.0  # how long a replica may hold a key: its request's timeout
DEFAULT_DECODED_BYTES = 32 * 1024**2  # answers' bytes kept decoded in process


class UpstreamCache:
    """Answers upstream requests from the cache, or makes each one once (single-flight)."""

    def __init__(
        self,
        store: ByteStore,
        *,
        leases: Leases | None = None,
        lease_s: float = DEFAULT_LEASE_S,
        decoded_max_bytes: int = DEFAULT_DECODED_BYTES,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.decoded = DecodedAnswers(decoded_max_bytes)
        self._clock = clock
        self._leases = leases
        self._lease_s = lease_s
        self._flights = Flights()
        self._background: set[asyncio.Task[None]] = set()  # refreshes, late answers

    async def get(
        self,
        key: str,
        freshness: Freshness,
        load: Load,
        accept: Callable[[Entry], T],
    ) -> tuple[T, Served]:
        """`accept(entry)` of the cached or loaded answer, and how it was served.

        `accept` validates and maps (raising an `UpstreamError` for a bad answer); only an
        accepted answer is stored, and a stored one that no longer passes is a miss.
        """
        if freshness.keep_s > 0:
            entry = await self._read(key)
            if entry is not None:
                age = self._clock() - entry.stored_at
                if 0 <= age < freshness.keep_s:
                    try:
                        value = accept(entry)
                    except UpstreamError:
                        log.warning("dropping a cached answer that no longer validates")
                    else:
                        record_freshness(entry.stored_at + freshness.fresh_s)
                        if age < freshness.fresh_s:
                            return value, Served.FRESH
                        self._refresh(key, entry, freshness, load, accept)
                        return value, Served.STALE
        return await self._load(key, freshness, load, accept)

    async def _load(
        self,
        key: str,
        freshness: Freshness,
        load: Load,
        accept: Callable[[Entry], T],
    ) -> tuple[T, Served]:
        flight = self._flights.get(key)
        served = Served.SHARED
        if flight is None:
            flight = self._take_off(key, load, shared=freshness.keep_s > 0)
            served = Served.UPSTREAM
        # Shielded: a caller that gives up (its timeout) does not cancel the request.
        try:
            entry = await asyncio.shield(flight.task)
        except asyncio.CancelledError:
            self._keep_when_landed(key, flight, freshness, accept)
            raise
        try:
            value = accept(entry)
        except Exception:
            await self._release(key, flight)  # a bad answer: let a peer try
            raise
        if freshness.keep_s > 0:
            await self._store_once(key, flight, entry, freshness)
        record_freshness(entry.stored_at + freshness.fresh_s)
        return value, Served.SHARED if flight.from_peer else served

    def _take_off(
        self, key: str, load: Load, *, shared: bool, replaces: Entry | None = None
    ) -> Flight:
        """A flight for the key: across replicas too when the answer will be `shared`. A
        peer's entry serves it only if newer than the one it `replaces` (a stale one)."""

        async def fetch(flight: Flight) -> Entry:
            leases = self._leases if shared else None
            if leases is not None:
                if await leases.acquire(key, self._lease_s):
                    flight.leased = True
                    # A peer may have stored it between our miss and our lease: look again.
                    peer = await self._newer(key, replaces)
                else:
                    peer = await self._peer_entry(key, leases, replaces)
                if peer is not None:
                    await self._release(key, flight)
                    flight.from_peer = flight.stored = True
                    return peer
            try:
                status, body = await load()
            except Exception:
                await self._release(key, flight)
                raise
            return Entry(status, body, self._clock())

        return self._flights.take_off(key, fetch)

    async def _peer_entry(self, key: str, leases: Leases, replaces: Entry | None) -> Entry | None:
        """The entry another replica is fetching, once stored; None when it gave up."""
        delay, waited = 0.02, 0.0
        while waited < self._lease_s:
            await asyncio.sleep(delay)
            waited += delay
            delay = min(delay * 2, 0.2)
            entry = await self._newer(key, replaces)
            if entry is not None:
                return entry
            if not await leases.held(key):
                return await self._newer(key, replaces)  # released after storing, or failed
        return None

    async def _newer(self, key: str, replaces: Entry | None) -> Entry | None:
        """The stored entry, if there is one newer than `replaces`."""
        entry = await self._read(key)
        if entry is None or (replaces is not None and entry.stored_at <= replaces.stored_at):
            return None
        return entry

    async def _release(self, key: str, flight: Flight) -> None:
        if flight.leased and self._leases is not None:
            flight.leased = False
            await self._leases.release(key)

    def _refresh(
        self,
        key: str,
        stale: Entry,
        freshness: Freshness,
        load: Load,
        accept: Callable[[Entry], object],
    ) -> None:
        if key in self._flights:
            return  # already being fetched: that request refreshes the entry
        # In a context of its own: the refresh is no part of the query that noticed the
        # stale entry (its requests are not that query's to count).
        detached = contextvars.Context()
        flight = detached.run(
            functools.partial(self._take_off, key, load, shared=True, replaces=stale)
        )

        async def revalidate() -> None:
            try:
                entry = await flight.task
                accept(entry)
            except GatewayError:
                await self._release(key, flight)
                return  # stale-if-error: the old entry is served until it expires
            await self._store_once(key, flight, entry, freshness)

        self._track(asyncio.create_task(revalidate(), context=detached))

    def _keep_when_landed(
        self, key: str, flight: Flight, freshness: Freshness, accept: Callable[[Entry], object]
    ) -> None:
        """A slow answer outlives the query that gave up on it: stored when it lands (the
        client's request timeout bounds the wait), so the next query is served at once."""
        if freshness.keep_s <= 0 or flight.keeper:
            return
        flight.keeper = True

        async def keep() -> None:
            try:
                entry = await flight.task
                accept(entry)
            except Exception:  # a failure is no answer to keep (the client has judged it)
                await self._release(key, flight)
                return
            await self._store_once(key, flight, entry, freshness)

        self._track(asyncio.create_task(keep(), context=contextvars.Context()))

    def _track(self, task: asyncio.Task[None]) -> None:
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _store_once(
        self, key: str, flight: Flight, entry: Entry, freshness: Freshness
    ) -> None:
        """The first of the flight's waiters to accept its answer stores it."""
        if not flight.stored:
            flight.stored = True
            await self.store.write(key, entry.encode(), freshness.keep_s)
            await self._release(key, flight)

    async def _read(self, key: str) -> Entry | None:
        data = await self.store.read(key)
        return None if data is None else Entry.decode(data)

    async def settle(self) -> None:
        """Wait for the background work under way (tests, benchmarks, shutdown)."""
        while self._background:
            await asyncio.gather(*self._background, return_exceptions=True)

    async def close(self) -> None:
        for task in self._background:
            task.cancel()
        await self.settle()
        await self.store.close()
