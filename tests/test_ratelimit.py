"""Client-side rate limits: sliding windows per credential scope, in process and in Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from gateway.ratelimit import MemoryRateLimiter, RateLimit, RedisRateLimiter
from gateway.sources.salesloft import SalesloftSource, page_cost

DAILY = (RateLimit(20, 1), RateLimit(100, 5))


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_every_window_holds_and_the_wait_is_until_enough_expires() -> None:
    clock = Clock()
    limiter = MemoryRateLimiter(clock)
    for _ in range(20):
        assert await limiter.acquire("daily:a", 1, DAILY) == 0
    assert await limiter.acquire("daily:a", 1, DAILY) == pytest.approx(1.0)  # 20 a second
    assert await limiter.acquire("daily:b", 1, DAILY) == 0  # another credential's budget
    for second in range(1, 5):
        clock.now = 100 + second
        for _ in range(20):
            assert await limiter.acquire("daily:a", 1, DAILY) == 0
    clock.now = 104.5
    assert await limiter.acquire("daily:a", 1, DAILY) == pytest.approx(0.5)  # 100 per 5 s
    clock.now = 105.0
    assert await limiter.acquire("daily:a", 1, DAILY) == 0


async def test_a_refused_request_spends_nothing_and_costs_add_up() -> None:
    clock = Clock()
    limiter = MemoryRateLimiter(clock)
    minute = (RateLimit(600, 60),)
    assert await limiter.acquire("sl", 590, minute) == 0
    assert await limiter.acquire("sl", 30, minute) == pytest.approx(60)
    assert await limiter.acquire("sl", 10, minute) == 0  # the refused 30 was not spent
    assert await limiter.acquire("sl", 1, minute) > 0


async def test_what_the_upstream_says_is_left_is_believed() -> None:
    limiter = MemoryRateLimiter(Clock())
    minute = RateLimit(600, 60, remaining_header="x-ratelimit-remaining-minute")
    await limiter.acquire("sl", 1, (minute,))
    await limiter.observe("sl", minute, 9)  # the team's other tools spent 590
    assert await limiter.acquire("sl", 9, (minute,)) == 0
    assert await limiter.acquire("sl", 1, (minute,)) > 0
    await limiter.observe("sl", minute, 100)  # more left than we think: we stay careful
    assert await limiter.acquire("sl", 1, (minute,)) > 0


def test_deep_salesloft_pages_cost_more() -> None:
    costs = {page: page_cost(page) for page in (1, 100, 101, 150, 151, 250, 251, 500, 501)}
    assert costs == {1: 1, 100: 1, 101: 3, 150: 3, 151: 8, 250: 8, 251: 10, 500: 10, 501: 30}
    assert SalesloftSource.request_cost([("per_page", "100"), ("page", "151")]) == 8


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


async def test_replicas_sharing_redis_spend_one_budget(redis: Redis, redis_url: str) -> None:
    one, other = RedisRateLimiter(redis), RedisRateLimiter(Redis.from_url(redis_url))
    window = (RateLimit(5, 60),)
    spent = [await (one if n % 2 else other).acquire("daily:a", 1, window) for n in range(5)]
    assert spent == [0.0] * 5
    assert 59 < await one.acquire("daily:a", 1, window) <= 60
    assert 59 < await other.acquire("daily:a", 1, window) <= 60
    assert await other.acquire("daily:b", 1, window) == 0
    await other.close()


async def test_redis_believes_the_upstream_too(redis: Redis) -> None:
    limiter = RedisRateLimiter(redis)
    minute = RateLimit(600, 60, remaining_header="x-ratelimit-remaining-minute")
    assert await limiter.acquire("sl", 1, (minute,)) == 0
    await limiter.observe("sl", minute, 9)
    assert await limiter.acquire("sl", 9, (minute,)) == 0
    assert await limiter.acquire("sl", 1, (minute,)) > 0


async def test_without_redis_requests_go_ahead() -> None:
    down = RedisRateLimiter(Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2))
    assert await down.acquire("daily:a", 1, (RateLimit(1, 60),)) == 0
    assert await down.acquire("daily:a", 1, (RateLimit(1, 60),)) == 0
    await down.close()


async def test_scopes_whose_window_passed_are_forgotten() -> None:
    clock = Clock()
    limiter = MemoryRateLimiter(clock)
    minute = (RateLimit(2, 60),)
    for client in range(1000):  # a thousand clients, once each
        assert await limiter.acquire(f"ip:{client}", 1, minute) == 0
    assert len(limiter) == 1000
    assert await limiter.acquire("ip:0", 1, minute) == 0
    assert await limiter.acquire("ip:0", 1, minute) > 0  # still counted within the minute
    clock.now += 61
    for _ in range(200):  # each call drops a few of the idle ones, never a long pause
        await limiter.acquire("ip:busy", 1, (RateLimit(10**6, 60),))
    assert len(limiter) == 1  # only the client still asking
    assert await limiter.acquire("ip:0", 1, minute) == 0  # a new minute for a returning one
