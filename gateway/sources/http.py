"""HTTP to one upstream: cache, auth, timeout, retries, error mapping, guard, health.

Every upstream answer goes through `UpstreamClient.get`, so no source module deals with
sockets, the cache, status codes it does not expect, or bodies that are not JSON. Error
messages name the source and what went wrong, never a URL's secrets or a credential.
What happens is told to the `UpstreamObserver` (metrics; a span per request when tracing
is on), and each failure is logged once, without a traceback (it is expected).
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import aiohttp

from gateway.cache.entries import Entry, Freshness, Served, fingerprint, request_key
from gateway.cache.upstream import UpstreamCache
from gateway.config import SourceSettings
from gateway.errors import (
    UpstreamBadResponse,
    UpstreamBudgetExceeded,
    UpstreamError,
    UpstreamRateLimited,
    UpstreamTimeout,
    UpstreamUnauthorized,
    UpstreamUnavailable,
)
from gateway.model import Source
from gateway.observe import CACHE_MISS, CACHE_OUTCOMES, UpstreamObserver
from gateway.ratelimit import MemoryRateLimiter, RateLimit, RateLimiter
from gateway.sources.guard import CircuitBreaker, UpstreamGuard, retry_after_seconds
from gateway.usage import ensure_budget, record, spend

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 20 * 1024 * 1024
RETRYABLE_STATUSES = frozenset({502, 503, 504})
MAX_RATE_LIMIT_WAIT_S = 1.0  # a rate limit that frees this soon is waited for, not failed
Params = Sequence[tuple[str, str]]
T = TypeVar("T")


@dataclass
class Health:
    last_success_at: datetime | None = None
    last_error: str | None = None


@dataclass(frozen=True)
class JsonAnswer:
    status: int
    body: Any


class UpstreamClient:
    def __init__(
        self,
        source: Source,
        settings: SourceSettings,
        session: aiohttp.ClientSession,
        cache: UpstreamCache,
        auth_headers: dict[str, str],
        *,
        default_retry_after: int | None = None,
        limiter: RateLimiter | None = None,
        limits: Sequence[RateLimit] = (),
        cost: Callable[[Params], int] = lambda _: 1,
        observer: UpstreamObserver | None = None,
    ) -> None:
        self.source = source
        self.settings = settings
        self.base_url = settings.base_url.rstrip("/")
        self._session = session
        self._cache = cache
        self._freshness = Freshness(settings.cache_ttl, settings.stale_ttl)
        # Entries are per source, upstream and credential: tenants never share one.
        credential = fingerprint(
            self.base_url, *(f"{k}={v}" for k, v in sorted(auth_headers.items()))
        )
        self._cache_scope = f"{source.value}:{credential}"
        self._headers = {"Accept": "application/json", **auth_headers}
        self._default_retry_after = default_retry_after
        # A request may outlive the query that waited for it: its answer is then cached.
        self._timeout = aiohttp.ClientTimeout(total=max(settings.timeout, settings.request_timeout))
        breaker = CircuitBreaker(settings.circuit_failures, settings.circuit_cooldown)
        self.guard = UpstreamGuard(source, breaker, settings.auth_cooldown)
        self.health = Health()
        self._limiter = limiter or MemoryRateLimiter()
        self._limits = tuple(limits)
        self._cost = cost
        self._observer = observer or UpstreamObserver()

    async def get(
        self,
        path: str,
        params: Params,
        parse: Callable[[JsonAnswer], T],
        *,
        expected: Collection[int] = (),
    ) -> T:
        """`parse` of the JSON answer to GET `path`, from the cache or the upstream.

        2xx and `expected` statuses reach `parse`, which validates and maps them (raising
        `UpstreamBadResponse` for a wrong shape); others raise. Only an answer that `parse`
        accepted is cached; what it made of an entry is kept decoded for the next reader
        (`parse` returns immutable values).
        """
        tracer = self._observer.tracer
        if tracer is None:
            value, _ = await self._get(path, params, parse, expected)
            return value
        attributes = {"source": self.source.value, "upstream.path": path}
        with tracer.start_as_current_span(
            f"upstream {self.source.value}", attributes=attributes
        ) as span:
            outcome = CACHE_MISS  # when it fails
            try:
                value, served = await self._get(path, params, parse, expected)
                outcome = CACHE_OUTCOMES[served]
                return value
            finally:
                span.set_attribute("cache.outcome", outcome)

    async def _get(
        self, path: str, params: Params, parse: Callable[[JsonAnswer], T], expected: Collection[int]
    ) -> tuple[T, Served]:
        key = request_key(self._cache_scope, path, params)
        parser = f"{parse.__module__}.{parse.__qualname__}"

        def accept(entry: Entry) -> T:
            if self._freshness.keep_s <= 0:
                return decode(entry)  # never cached: nobody reads this version again
            version = (key, entry.stored_at, parser)
            return self._cache.decoded.get_or_decode(
                version, len(entry.body), lambda: decode(entry)
            )

        def decode(entry: Entry) -> T:
            try:
                body = json.loads(entry.body)
            except ValueError:
                error: UpstreamError = UpstreamBadResponse(
                    self.source, "answered with malformed JSON"
                )
            else:
                try:
                    return parse(JsonAnswer(entry.status, body))
                except UpstreamError as refused:  # a wrong shape, or a refusal in the body
                    error = refused
            if error.status is None:
                error.status = entry.status
            self._judge(error)
            raise error

        try:
            value, served = await self._cache.get(
                key,
                self._freshness,
                lambda: self._request(path, params, expected),
                accept,
            )
        except UpstreamError:
            self._observer.served(self.source, None)
            raise
        self._observer.served(self.source, served)
        if served is Served.UPSTREAM:  # a fresh answer that validated: the upstream is well
            self.guard.succeeded()
            self.health.last_success_at = datetime.now(UTC)
        else:  # requests sent are counted as they are sent
            record(self.source, served)
        return value, served

    def _judge(self, error: UpstreamError) -> None:
        """What a failed request says of the upstream, for the next ones (and the logs)."""
        if isinstance(error, UpstreamBudgetExceeded):
            return  # never sent: it says nothing of the upstream
        log.warning(
            "upstream failed",
            extra={
                "source": self.source.value,
                "kind": error.state.value.lower(),
                "status": error.status,
                "detail": error.detail,
            },
        )
        self.health.last_error = error.message
        if isinstance(error, UpstreamRateLimited):
            self.guard.rate_limited(error.retry_after_seconds or 0)
        elif isinstance(error, UpstreamUnauthorized):
            self.guard.refused()
        else:
            self.guard.failed()

    async def _request(
        self, path: str, params: Params, expected: Collection[int]
    ) -> tuple[int, bytes]:
        self.guard.check()
        try:
            return await self._get_with_retries(path, params, expected)
        except UpstreamError as error:
            self._judge(error)
            raise

    async def _get_with_retries(
        self, path: str, params: Params, expected: Collection[int]
    ) -> tuple[int, bytes]:
        attempts = self.settings.retries + 1
        for attempt in range(attempts):
            try:
                return await self._get_once(path, params, expected)
            except _Retryable as error:
                if attempt == attempts - 1:
                    raise error.final from None
                await asyncio.sleep(0.05 * 2**attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _get_once(
        self, path: str, params: Params, expected: Collection[int]
    ) -> tuple[int, bytes]:
        ensure_budget(self.source)  # a spent operation takes none of the vendor's budget
        await self._take_rate_limit(params)
        spend(self.source)  # again after the wait: others of the operation may have spent it
        started = time.perf_counter()
        outcome: str | None = None  # the status class, once known (None: cancelled)
        try:
            async with self._session.get(
                self.base_url + path, params=list(params), headers=self._headers,
                timeout=self._timeout, allow_redirects=False,
            ) as response:  # fmt: skip
                status = response.status
                outcome = f"{status // 100}xx"
                await self._observe_rate_limit(response.headers)
                if status >= 500 or status in (401, 403, 429):
                    raise self._status_error(status, response.headers.get("Retry-After"))
                if not 200 <= status < 300 and status not in expected:
                    raise UpstreamBadResponse(
                        self.source, f"rejected the request ({status})", status=status
                    )
                body = await _read_capped(response)
        except TimeoutError:
            outcome = "timeout"
            raise UpstreamTimeout(
                self.source, f"no answer within {self._timeout.total:g} s"
            ) from None
        except aiohttp.ClientError as error:
            outcome = "connection"
            raise _Retryable(
                UpstreamUnavailable(self.source, f"connection failed ({type(error).__name__})")
            ) from None
        finally:
            if outcome is not None:
                self._observer.sent(self.source, outcome, time.perf_counter() - started)
        if body is None:
            raise UpstreamBadResponse(
                self.source, "answered with a body over the size limit", status=status
            )
        return status, body

    async def _take_rate_limit(self, params: Params) -> None:
        """Spend the request's cost of the vendor's budget: wait for a moment when it frees
        that soon, else fail now as rate limited (the upstream is not asked to say 429)."""
        cost = self._cost(params)
        while True:
            wait = await self._limiter.acquire(self._cache_scope, cost, self._limits)
            if wait <= 0:
                return
            if wait > MAX_RATE_LIMIT_WAIT_S:
                raise UpstreamRateLimited(
                    self.source,
                    "its rate limit is spent (counted by the gateway)",
                    retry_after_seconds=math.ceil(wait),
                )
            self._observer.waited(self.source, wait)
            await asyncio.sleep(wait)

    async def _observe_rate_limit(self, headers: Mapping[str, str]) -> None:
        for limit in self._limits:
            remaining = headers.get(limit.remaining_header or "")
            if remaining is not None and remaining.isdigit():
                await self._limiter.observe(self._cache_scope, limit, int(remaining))

    def _status_error(self, status: int, retry_after: str | None) -> UpstreamError:
        if status in (401, 403):
            return UpstreamUnauthorized(
                self.source, f"refused the credentials ({status})", status=status
            )
        if status == 429:
            seconds = retry_after_seconds(retry_after)
            return UpstreamRateLimited(
                self.source,
                "rate limit exceeded",
                retry_after_seconds=self._default_retry_after if seconds is None else seconds,
                status=status,
            )
        failed = UpstreamUnavailable(self.source, f"server error ({status})", status=status)
        return _Retryable(failed) if status in RETRYABLE_STATUSES else failed


class _Retryable(UpstreamError):
    """Wraps a failure worth another attempt; the wrapped error is what the caller sees."""

    def __init__(self, final: UpstreamError) -> None:
        super().__init__(final.source, final.detail, status=final.status)
        self.final = final


async def _read_capped(response: aiohttp.ClientResponse) -> bytes | None:
    if response.content_length is not None and response.content_length > MAX_BODY_BYTES:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(65536):
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
    return b"".join(chunks)
