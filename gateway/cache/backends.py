"""Where cached bytes live: in process (bounded), or in Redis shared by replicas."""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from typing import Any
from urllib.parse import unquote, urlsplit

from aiocache import RedisCache
from aiocache.base import BaseCache
from aiocache.serializers import NullSerializer
from redis.asyncio import Redis

log = logging.getLogger(__name__)

REDIS_TIMEOUT_S = 1.0  # a slow Redis must not hold a query: past this, it is a miss


class BoundedMemoryCache(BaseCache):  # type: ignore[misc]  # aiocache is untyped
    """aiocache's memory backend, bounded: at most `max_entries` and `max_bytes` of values,
    the least recently used goes first. Expiry is checked on read (no timer per key, unlike
    `SimpleMemoryCache`). Values are stored as given: the upstream cache stores only bytes."""

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
        return self.value(key)

    def value(self, key: str) -> object:
        """The value under `key` (None: absent or expired), without aiocache's wrappers."""
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
        raise NotImplementedError("the upstream cache stores bytes only")

    async def _raw(self, command: str, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("the upstream cache stores bytes only")

    async def _redlock_release(self, key: str, value: object) -> int:
        raise NotImplementedError("the upstream cache takes no locks")


def _size(value: object) -> int:
    return len(value) if isinstance(value, bytes) else 0


REDIS_SCHEMES = ("redis", "rediss")  # rediss: TLS


def create_backend(url: str, max_entries: int, max_bytes: int) -> BaseCache:
    """`memory://` (bounded, in-process) or `redis[s]://[[user]:password@]host[:port][/db]`."""
    parts = urlsplit(url)
    if parts.scheme == "memory":
        return BoundedMemoryCache(max_entries, max_bytes)
    if parts.scheme in REDIS_SCHEMES:
        return RedisCache(
            serializer=NullSerializer(encoding=None),  # bytes in, bytes out (no decoding)
            endpoint=parts.hostname or "127.0.0.1",
            port=parts.port or 6379,
            db=int(parts.path.strip("/") or 0),
            password=unquote(parts.password) if parts.password else None,
            timeout=REDIS_TIMEOUT_S,
            create_connection_timeout=REDIS_TIMEOUT_S,
            ssl=parts.scheme == "rediss",
            connection_pool_kwargs={"username": unquote(parts.username)}
            if parts.username
            else None,
        )
    raise ValueError(f"unsupported cache URL scheme {parts.scheme!r}")


def redis_client(url: str) -> Redis | None:
    """A Redis client for what replicas share besides the cache (single-flight leases, rate
    limits, readiness), with the cache's short timeouts; None for `memory://`."""
    if urlsplit(url).scheme not in REDIS_SCHEMES:
        return None
    return Redis.from_url(
        url, socket_timeout=REDIS_TIMEOUT_S, socket_connect_timeout=REDIS_TIMEOUT_S
    )


class ByteStore:
    """Bytes by key on an aiocache backend, for both caches. The cache is an optimisation:
    a backend that fails or is slow means a miss (and a warning), never a failed query."""

    def __init__(self, backend: BaseCache) -> None:
        self.backend = backend
        # Read directly: aiocache's `get` (its environment switch, plugins and timeout, none
        # of them used) costs ten times the dict look-up, on every cached answer.
        self._in_process = backend if isinstance(backend, BoundedMemoryCache) else None

    async def read(self, key: str) -> bytes | None:
        if self._in_process is not None:
            data = self._in_process.value(key)
            return data if isinstance(data, bytes) else None
        try:
            data = await self.backend.get(key)
        except Exception as error:
            log.warning("cache read failed (%s): answering without the cache", type(error).__name__)
            return None
        return data if isinstance(data, bytes) else None

    async def write(self, key: str, data: bytes, ttl: float) -> None:
        try:
            await self.backend.set(key, data, ttl=ttl)
        except Exception as error:
            log.warning("cache write failed (%s): the answer is not cached", type(error).__name__)

    async def close(self) -> None:
        await self.backend.close()
