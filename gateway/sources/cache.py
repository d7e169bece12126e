"""The upstream response cache: single-flight, fresh and stale entries, on aiocache.

What is stored is the upstream's answer as received (status + body bytes), after the
caller validated it, under a key that holds the source, a fingerprint of the credential
and the normalized request. Bytes are immutable, so no two callers ever share a mutable
object, and every caller maps its own copy. An entry is fresh for the source's `cache_ttl`,
then served *stale* for `stale_ttl` more while one background request refreshes it; when
that refresh fails, the stale entry keeps being served (stale-if-error) until it expires.
"""

from __future__ import annotations

import asyncio
import contextvars
import enum
import hashlib
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import unquote, urlencode, urlsplit

from aiocache import RedisCache
from aiocache.base import BaseCache
from aiocache.serializers import NullSerializer

from gateway.errors import GatewayError, UpstreamError

log = logging.getLogger(__name__)
T = TypeVar("T")

Load = Callable[[], Awaitable[tuple[int, bytes]]]  # one upstream request: (status, body)

KEY_PREFIX = "mg:v1:"  # bump when the stored format changes: old entries are then ignored
REDIS_TIMEOUT_S = 1.0  # a slow Redis must not hold a query: past this, it is a miss


class Served(enum.Enum):
    """How one upstream request of a query was answered."""

    UPSTREAM = "upstream"  # this query made the request
    SHARED = "shared"  # joined an identical request already in flight (single-flight)
    FRESH = "fresh"  # a fresh cache entry
    STALE = "stale"  # a stale cache entry, refreshed in the background


@dataclass(frozen=True, slots=True)
class Entry:
    """An upstream answer as received: what the cache stores."""

    status: int
    body: bytes
    stored_at: float  # wall-clock seconds: replicas sharing Redis compare ages

    def encode(self) -> bytes:
        return f"{self.status} {self.stored_at!r}\n".encode() + self.body

    @classmethod
    def decode(cls, data: bytes) -> Entry | None:
        head, newline, body = data.partition(b"\n")
        status, _, stored_at = head.partition(b" ")
        try:
            return cls(int(status), body, float(stored_at)) if newline else None
        except ValueError:
            return None


@dataclass(frozen=True, slots=True)
class Freshness:
    fresh_s: float
    stale_s: float

    @property
    def keep_s(self) -> float:
        return self.fresh_s + self.stale_s


def request_key(scope: str, path: str, params: Sequence[tuple[str, str]]) -> str:
    """The key of one upstream request: `scope` (source + credential) + path + sorted query."""
    normalized = path + "?" + urlencode(sorted(params))
    return f"{KEY_PREFIX}{scope}:{hashlib.sha256(normalized.encode()).hexdigest()[:32]}"


def fingerprint(*parts: str) -> str:
    """A short hash that tells credentials apart without revealing them."""
    digest = hashlib.sha256("\x00".join(parts).encode())
    return digest.hexdigest()[:24]


class BoundedMemoryCache(BaseCache):  # type: ignore[misc]  # aiocache is untyped
    """aiocache's memory backend, bounded: at most `max_entries` and `max_bytes` of values,
    the least recently used goes first. Expiry is checked on read (no timer per key, unlike
    `SimpleMemoryCache`). Values are stored as given: the response cache stores only bytes."""

    NAME = "bounded-memory"

    def __init__(self, max_entries: int, max_bytes: int = 2**62, **kwargs: Any) -> None:
        # No per-operation timeout: a dict look-up cannot hang, and wait_for is not free.
        super().__init__(serializer=NullSerializer(encoding=None), timeout=None, **kwargs)
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.size_bytes = 0
        self._entries: OrderedDict[str, tuple[object, float | None]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def keys(self) -> list[str]:
        return list(self._entries)

    async def _get(self, key: str, encoding: str = "utf-8", _conn: Any = None) -> object:
        found = self._entries.get(key)
        if found is None:
            return None
        value, expires_at = found
        if expires_at is not None and expires_at <= time.monotonic():
            self._drop(key)
            return None
        self._entries.move_to_end(key)
        return value

    async def _multi_get(self, keys: list[str], encoding: str = "utf-8", _conn: Any = None) -> Any:
        return [await self._get(key) for key in keys]

    async def _set(
        self, key: str, value: object, ttl: float | None = None, _cas_token: Any = None,
        _conn: Any = None,
    ) -> bool:  # fmt: skip
        expires_at = time.monotonic() + ttl if ttl else None
        self._drop(key)
        self._entries[key] = (value, expires_at)
        self.size_bytes += _size(value)
        while len(self._entries) > self.max_entries or self.size_bytes > self.max_bytes:
            self._drop(next(iter(self._entries)))
        return True

    def _drop(self, key: str) -> int:
        found = self._entries.pop(key, None)
        if found is None:
            return 0
        self.size_bytes -= _size(found[0])
        return 1

    async def _multi_set(self, pairs: Any, ttl: float | None = None, _conn: Any = None) -> bool:
        for key, value in pairs:
            await self._set(key, value, ttl=ttl)
        return True

    async def _add(
        self, key: str, value: object, ttl: float | None = None, _conn: Any = None
    ) -> bool:
        if await self._get(key) is not None:
            raise ValueError(f"Key {key} already exists, use .set to update the value")
        return await self._set(key, value, ttl=ttl)

    async def _exists(self, key: str, _conn: Any = None) -> bool:
        return await self._get(key) is not None

    async def _delete(self, key: str, _conn: Any = None) -> int:
        return self._drop(key)

    async def _clear(self, namespace: str | None = None, _conn: Any = None) -> bool:
        for key in [k for k in self._entries if namespace is None or k.startswith(namespace)]:
            self._drop(key)
        return True

    async def _expire(self, key: str, ttl: float, _conn: Any = None) -> bool:
        value = await self._get(key)
        if value is None:
            return False
        await self._set(key, value, ttl=ttl)
        return True

    async def _increment(self, key: str, delta: int, _conn: Any = None) -> int:
        raise NotImplementedError("the response cache stores bytes only")

    async def _raw(self, command: str, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("the response cache stores bytes only")

    async def _redlock_release(self, key: str, value: object) -> int:
        raise NotImplementedError("the response cache takes no locks")


def _size(value: object) -> int:
    return len(value) if isinstance(value, bytes) else 0


def create_backend(url: str, max_entries: int, max_bytes: int) -> BaseCache:
    """`memory://` (bounded, in-process) or `redis://[:password@]host[:port][/db]`."""
    parts = urlsplit(url)
    if parts.scheme == "memory":
        return BoundedMemoryCache(max_entries, max_bytes)
    if parts.scheme == "redis":
        return RedisCache(
            serializer=NullSerializer(encoding=None),  # bytes in, bytes out (no decoding)
            endpoint=parts.hostname or "127.0.0.1",
            port=parts.port or 6379,
            db=int(parts.path.strip("/") or 0),
            password=unquote(parts.password) if parts.password else None,
            timeout=REDIS_TIMEOUT_S,
            create_connection_timeout=REDIS_TIMEOUT_S,
        )
    raise ValueError(f"unsupported cache URL scheme {parts.scheme!r}")


@dataclass
class _Flight:
    task: asyncio.Future[Entry]
    stored: bool = False


class ResponseCache:
    """Answers upstream requests from the cache, or makes each one once (single-flight)."""

    def __init__(self, backend: BaseCache, *, clock: Callable[[], float] = time.time) -> None:
        self.backend = backend
        self._clock = clock
        self._flights: dict[str, _Flight] = {}
        self._refreshing: set[asyncio.Task[None]] = set()

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
                        if age < freshness.fresh_s:
                            return value, Served.FRESH
                        self._refresh(key, freshness, load, accept)
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
            flight = self._take_off(key, load)
            served = Served.UPSTREAM
        # Shielded: a caller that gives up (its timeout) does not cancel the others' request.
        entry = await asyncio.shield(flight.task)
        value = accept(entry)
        if freshness.keep_s > 0:
            await self._store_once(key, flight, entry, freshness)
        return value, served

    def _take_off(self, key: str, load: Load) -> _Flight:
        async def fetch() -> Entry:
            status, body = await load()
            return Entry(status, body, self._clock())

        flight = _Flight(asyncio.ensure_future(fetch()))
        self._flights[key] = flight

        def landed(task: asyncio.Future[Entry]) -> None:
            if self._flights.get(key) is flight:
                del self._flights[key]
            if not task.cancelled():
                task.exception()  # retrieved here too, in case every caller gave up

        flight.task.add_done_callback(landed)
        return flight

    def _refresh(
        self,
        key: str,
        freshness: Freshness,
        load: Load,
        accept: Callable[[Entry], object],
    ) -> None:
        if key in self._flights:
            return  # already being fetched: that request refreshes the entry
        # In a context of its own: the refresh is no part of the query that noticed the
        # stale entry (its requests are not that query's to count).
        detached = contextvars.Context()
        flight = detached.run(self._take_off, key, load)

        async def revalidate() -> None:
            try:
                entry = await flight.task
                accept(entry)
            except GatewayError:
                return  # stale-if-error: the old entry is served until it expires
            await self._store_once(key, flight, entry, freshness)

        task = asyncio.create_task(revalidate(), context=detached)
        self._refreshing.add(task)
        task.add_done_callback(self._refreshing.discard)

    async def _store_once(
        self, key: str, flight: _Flight, entry: Entry, freshness: Freshness
    ) -> None:
        """The first of the flight's waiters to accept its answer stores it."""
        if not flight.stored:
            flight.stored = True
            await self._write(key, entry, freshness)

    async def _read(self, key: str) -> Entry | None:
        data = await self.read_bytes(key)
        return None if data is None else Entry.decode(data)

    async def _write(self, key: str, entry: Entry, freshness: Freshness) -> None:
        await self.write_bytes(key, entry.encode(), freshness.keep_s)

    async def read_bytes(self, key: str) -> bytes | None:
        try:
            data = await self.backend.get(key)
        except Exception as error:  # the cache is an optimisation: down means a miss
            log.warning("cache read failed (%s): answering without the cache", type(error).__name__)
            return None
        return data if isinstance(data, bytes) else None

    async def write_bytes(self, key: str, data: bytes, ttl: float) -> None:
        try:
            await self.backend.set(key, data, ttl=ttl)
        except Exception as error:
            log.warning("cache write failed (%s): the answer is not cached", type(error).__name__)

    async def settle(self) -> None:
        """Wait for the background refreshes under way (tests, benchmarks, shutdown)."""
        while self._refreshing:
            await asyncio.gather(*self._refreshing, return_exceptions=True)

    async def close(self) -> None:
        for task in self._refreshing:
            task.cancel()
        await self.settle()
        await self.backend.close()
