"""Client-side rate limits: each vendor's documented budget, spent before it answers 429.

A source declares its windows (`RateLimit`: so many cost units per so many seconds, e.g.
Daily's 20 a second and 100 per 5 s, Salesloft's 600 a minute) and what a request costs.
The limiter keeps a sliding log of what was spent per credential scope and window: in
process, or in Redis, where every replica spends from one budget (N replicas must not
spend N budgets). Redis's clock decides there, so replicas' clocks need not agree.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from redis.asyncio import Redis

log = logging.getLogger(__name__)

KEY_PREFIX = "mg:v1:rl:"


@dataclass(frozen=True, slots=True)
class RateLimit:
    """At most `units` cost units in any `per_s` seconds."""

    units: int
    per_s: float
    # A response header carrying the units the upstream says are left in this window (for a
    # budget shared with other clients of the same team, e.g. Salesloft's).
    remaining_header: str | None = None

    @staticmethod
    def of(configured: Sequence[tuple[int, float]]) -> tuple[RateLimit, ...]:
        """Windows from settings (`[[units, seconds], ...]`)."""
        return tuple(RateLimit(units, per_s) for units, per_s in configured)


class RateLimiter(Protocol):
    async def acquire(self, scope: str, cost: int, limits: Sequence[RateLimit]) -> float:
        """Spend `cost` in every window of `scope`, or (spending nothing) say how many
        seconds until it would fit."""

    async def observe(self, scope: str, limit: RateLimit, remaining: int) -> None:
        """The upstream says `remaining` units are left: spend what others spent meanwhile."""

    async def close(self) -> None: ...


class _Log:
    """What one scope spent in one window: (time, cost), oldest first, and their sum."""

    __slots__ = ("entries", "spent")

    def __init__(self) -> None:
        self.entries: deque[tuple[float, int]] = deque()
        self.spent = 0

    def add(self, at: float, cost: int) -> None:
        self.entries.append((at, cost))
        self.spent += cost

    def forget_until(self, moment: float) -> None:
        while self.entries and self.entries[0][0] <= moment:
            self.spent -= self.entries.popleft()[1]


FORGET_PER_CALL = 8  # idle logs dropped per call at most: amortised, never a long pause


class MemoryRateLimiter:
    """One process's sliding logs per scope and window. A log whose window has passed is
    dropped (least recently used first), so scopes seen once (clients) do not stay."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._logs: OrderedDict[tuple[str, RateLimit], _Log] = OrderedDict()

    def __len__(self) -> int:
        return len(self._logs)

    async def acquire(self, scope: str, cost: int, limits: Sequence[RateLimit]) -> float:
        now = self._clock()
        self._forget_idle(now)
        logs = [self._log(scope, limit, now) for limit in limits]
        wait = max(
            (_wait(log, limit, cost, now) for log, limit in zip(logs, limits, strict=True)),
            default=0.0,
        )
        if wait > 0:
            return wait
        for log in logs:
            log.add(now, cost)
        return 0.0

    async def observe(self, scope: str, limit: RateLimit, remaining: int) -> None:
        now = self._clock()
        self._forget_idle(now)
        log = self._log(scope, limit, now)
        unseen = limit.units - remaining - log.spent
        if unseen > 0:
            log.add(now, unseen)

    async def close(self) -> None:
        self._logs.clear()

    def _log(self, scope: str, limit: RateLimit, now: float) -> _Log:
        key = (scope, limit)
        log = self._logs.get(key)
        if log is None:
            log = self._logs[key] = _Log()
        else:
            self._logs.move_to_end(key)
        log.forget_until(now - limit.per_s)
        return log

    def _forget_idle(self, now: float) -> None:
        """Drop a few logs whose window has passed (before a call takes its own: one it
        just made, still empty, is never taken for idle)."""
        for _ in range(FORGET_PER_CALL):
            if not self._logs:
                return
            (_, limit), log = next(iter(self._logs.items()))
            if log.entries and log.entries[-1][0] > now - limit.per_s:
                return  # the least recently used still counts; later calls look again
            self._logs.popitem(last=False)


def _wait(log: _Log, limit: RateLimit, cost: int, now: float) -> float:
    """Seconds until `cost` more fits in the window: until enough of the oldest expire."""
    excess = log.spent + cost - limit.units
    if excess <= 0:
        return 0.0
    for spent_at, spent in log.entries:
        excess -= spent
        if excess <= 0:
            return spent_at + limit.per_s - now
    return limit.per_s  # more than the whole window holds: the longest honest answer


# Every window's log is a sorted set scored by Redis's own time, members "<time>:<id>:<cost>".
_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local cost = tonumber(ARGV[1])
local wait = 0
for i, key in ipairs(KEYS) do
  local units, per = tonumber(ARGV[2 * i + 1]), tonumber(ARGV[2 * i + 2])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - per)
  local log = redis.call('ZRANGE', key, 0, -1, 'WITHSCORES')
  local used = 0
  for j = 1, #log, 2 do used = used + tonumber(string.match(log[j], ':(%d+)$')) end
  local excess = used + cost - units
  if excess > 0 then
    local window_wait = per
    for j = 1, #log, 2 do
      excess = excess - tonumber(string.match(log[j], ':(%d+)$'))
      if excess <= 0 then window_wait = tonumber(log[j + 1]) + per - now break end
    end
    if window_wait > wait then wait = window_wait end
  end
end
if wait > 0 then return tostring(wait) end
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, now .. ':' .. ARGV[2] .. ':' .. cost)
  redis.call('PEXPIRE', key, math.ceil(tonumber(ARGV[2 * i + 2]) * 1000))
end
return '0'
"""

_OBSERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local units, per, remaining = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - per)
local log = redis.call('ZRANGE', KEYS[1], 0, -1)
local used = 0
for j = 1, #log do used = used + tonumber(string.match(log[j], ':(%d+)$')) end
local unseen = units - remaining - used
if unseen > 0 then
  redis.call('ZADD', KEYS[1], now, now .. ':' .. ARGV[4] .. ':' .. unseen)
  redis.call('PEXPIRE', KEYS[1], math.ceil(per * 1000))
end
return unseen
"""


class RedisRateLimiter:
    """The same sliding logs in Redis, spent atomically by a script: one budget for every
    replica. Redis down means no shared budget: the request goes ahead (and a 429 is then
    still honoured), never a failed query."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._acquire = redis.register_script(_ACQUIRE)
        self._observe = redis.register_script(_OBSERVE)

    async def acquire(self, scope: str, cost: int, limits: Sequence[RateLimit]) -> float:
        if not limits:
            return 0.0
        keys = [_key(scope, limit) for limit in limits]
        args: list[str | int | float] = [cost, uuid.uuid4().hex]
        for limit in limits:
            args += [limit.units, limit.per_s]
        try:
            return float(await self._acquire(keys=keys, args=args))
        except Exception as error:  # see the class docstring
            log.warning("shared rate limit unavailable (%s): not limited", type(error).__name__)
            return 0.0

    async def observe(self, scope: str, limit: RateLimit, remaining: int) -> None:
        args: list[str | int | float] = [limit.units, limit.per_s, remaining, uuid.uuid4().hex]
        try:
            await self._observe(keys=[_key(scope, limit)], args=args)
        except Exception as error:  # see the class docstring
            log.warning("shared rate limit unavailable (%s)", type(error).__name__)

    async def close(self) -> None:
        await self._redis.aclose()


def _key(scope: str, limit: RateLimit) -> str:
    return f"{KEY_PREFIX}{scope}:{limit.units}/{limit.per_s:g}"
