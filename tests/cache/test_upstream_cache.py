"""The upstream response cache with real sources and simulators: keys, sharing, staleness."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator

import aiohttp
import pytest
from pydantic import SecretStr
from redis.asyncio import Redis

from gateway.cache.backends import BoundedMemoryCache, ByteStore, create_backend
from gateway.cache.entries import Entry, Freshness, Served, request_key
from gateway.cache.flights import RedisLeases
from gateway.cache.upstream import UpstreamCache
from gateway.config import Settings
from gateway.errors import UpstreamBadResponse, UpstreamUnavailable
from gateway.query import MeetingFilter, Ordering
from gateway.simulators.cluster import Simulators
from gateway.simulators.faults import Fault, FaultKind
from gateway.simulators.leezy import SECOND_TOKEN
from gateway.sources.base import MeetingRequest
from gateway.sources.leezy import LeezySource
from gateway.usage import query_tally
from tests.conftest import REFERENCE_NOW

EVERYTHING = MeetingRequest(filter=MeetingFilter(), ordering=Ordering(), now=REFERENCE_NOW)


def leezy(
    settings: Settings, session: aiohttp.ClientSession, cache: UpstreamCache, **changes: object
) -> LeezySource:
    return LeezySource.create(settings.leezy.model_copy(update=changes), session, cache)


def listing_calls(simulators: Simulators) -> Counter[tuple[tuple[str, str], ...]]:
    return Counter(tuple(sorted(r.query)) for r in simulators.leezy.requests)


# --- the memory backend ---------------------------------------------------------------------


async def test_memory_backend_never_holds_more_than_its_bound() -> None:
    backend = BoundedMemoryCache(max_entries=100)
    for n in range(1_000):
        await backend.set(f"k{n}", b"v", ttl=60)
        assert len(backend) <= 100
    assert len(backend) == 100
    assert await backend.get("k899") is None  # the oldest went first
    assert await backend.get("k999") == b"v"


async def test_memory_backend_never_holds_more_bytes_than_its_bound() -> None:
    backend = BoundedMemoryCache(max_entries=1_000, max_bytes=10_000)
    for n in range(100):
        await backend.set(f"k{n}", bytes(1_000 + n))
        assert backend.size_bytes <= 10_000
    assert len(backend) == 9  # the nine newest (1,091 to 1,099 bytes) fit
    await backend.set("huge", bytes(20_000))  # bigger than the bound: not kept at all
    assert (len(backend), backend.size_bytes, await backend.get("huge")) == (0, 0, None)


async def test_memory_backend_evicts_the_least_recently_used() -> None:
    backend = BoundedMemoryCache(max_entries=3)
    for key in ("a", "b", "c"):
        await backend.set(key, key.encode())
    assert await backend.get("a") == b"a"  # "a" is now the most recently used
    await backend.set("d", b"d")
    assert [await backend.get(k) for k in ("a", "b", "c", "d")] == [b"a", None, b"c", b"d"]


async def test_memory_backend_expires_entries() -> None:
    backend = BoundedMemoryCache(max_entries=10)
    await backend.set("short", b"x", ttl=0.01)
    await backend.set("long", b"y", ttl=60)
    await asyncio.sleep(0.02)
    assert await backend.get("short") is None
    assert await backend.get("long") == b"y"
    assert len(backend) == 1


def test_unknown_cache_urls_are_refused() -> None:
    with pytest.raises(ValueError, match="unsupported"):
        create_backend("memcached://127.0.0.1:11211", 10, 10_000)
    with pytest.raises(ValueError, match=r"memory:// or redis\[s\]://"):
        Settings.model_validate({"cache": {"url": "postgres://db"}})


def test_entries_round_trip_and_reject_garbage() -> None:
    entry = Entry(200, b'{"a": [1]}\n{"b": 2}', 1_790_000_000.25)
    assert Entry.decode(entry.encode()) == entry
    assert Entry.decode(b"no header") is None
    assert Entry.decode(b"x y\n{}") is None


def test_keys_hold_no_secret_and_ignore_parameter_order() -> None:
    one = request_key("leezy:abc", "/meetings", [("limit", "100"), ("offset", "0")])
    assert one == request_key("leezy:abc", "/meetings", [("offset", "0"), ("limit", "100")])
    assert one != request_key("leezy:abd", "/meetings", [("limit", "100"), ("offset", "0")])
    assert one != request_key("leezy:abc", "/meetings", [("limit", "100"), ("offset", "100")])


# --- through a source -----------------------------------------------------------------------


async def test_a_second_read_comes_from_the_cache_as_the_same_read_only_records(
    settings: Settings,
    upstream_session: aiohttp.ClientSession,
    upstream_cache: UpstreamCache,
    simulators: Simulators,
) -> None:
    source = leezy(settings, upstream_session, upstream_cache)
    with query_tally() as first_usage:
        first = await source.meetings(EVERYTHING)
    made = len(simulators.leezy.requests)
    assert first_usage.requests == made > 0
    with pytest.raises(TypeError):  # shared by every reader: read-only
        first.meetings[0].raw["title"] = "changed"  # type: ignore[index]

    with query_tally() as second_usage:
        second = await source.meetings(EVERYTHING)
    assert len(simulators.leezy.requests) == made
    assert (second_usage.requests, second_usage.cache_hits) == (0, made)
    # Decoded once: the second read shares the first one's immutable records.
    assert all(a is b for a, b in zip(first.meetings, second.meetings, strict=True))


async def test_identical_concurrent_requests_become_one(
    settings: Settings,
    upstream_session: aiohttp.ClientSession,
    upstream_cache: UpstreamCache,
    simulators: Simulators,
) -> None:
    simulators.leezy.inject(Fault(kind=FaultKind.LATENCY, latency_ms=200))
    source = leezy(settings, upstream_session, upstream_cache)
    with query_tally() as usage:
        answers = await asyncio.gather(*(source.meetings(EVERYTHING) for _ in range(50)))
    calls = listing_calls(simulators)
    assert set(calls.values()) == {1}  # each distinct page asked once
    assert usage.requests == len(calls)
    assert usage.shared + usage.cache_hits == 49 * len(calls)
    assert all(a.meetings == answers[0].meetings for a in answers)


async def test_two_credentials_never_share_an_entry(
    settings: Settings,
    upstream_session: aiohttp.ClientSession,
    upstream_cache: UpstreamCache,
    simulators: Simulators,
) -> None:
    primary = leezy(settings, upstream_session, upstream_cache)
    second = leezy(settings, upstream_session, upstream_cache, api_key=SecretStr(SECOND_TOKEN))
    await primary.meetings(EVERYTHING)
    await second.meetings(EVERYTHING)
    await primary.meetings(EVERYTHING)  # from the cache
    tenants = Counter(r.credential for r in simulators.leezy.requests)
    assert len(tenants) == 2
    assert len(set(tenants.values())) == 1  # the same pages, once for each credential
    keys = upstream_cache.store.backend.keys()
    assert len({key.rsplit(":", 1)[0] for key in keys}) == 2  # one scope per credential
    secrets = (SECOND_TOKEN, simulators.leezy.api_key)
    assert not any(secret in key for key in keys for secret in secrets)


async def test_a_bad_answer_is_not_cached(
    settings: Settings,
    upstream_session: aiohttp.ClientSession,
    upstream_cache: UpstreamCache,
    simulators: Simulators,
) -> None:
    simulators.leezy.inject(Fault(kind=FaultKind.WRONG_SHAPE, times=1))
    source = leezy(settings, upstream_session, upstream_cache)
    with pytest.raises(UpstreamBadResponse):
        await source.meetings(EVERYTHING)
    assert len(upstream_cache.store.backend) == 0
    answer = await source.meetings(EVERYTHING)  # asked again, and right this time
    assert len(answer.meetings) == len(simulators.leezy.api.records())


async def test_without_ttls_nothing_is_cached(
    settings: Settings,
    upstream_session: aiohttp.ClientSession,
    upstream_cache: UpstreamCache,
    simulators: Simulators,
) -> None:
    source = leezy(settings, upstream_session, upstream_cache, cache_ttl=0.0, stale_ttl=0.0)
    await source.meetings(EVERYTHING)
    made = len(simulators.leezy.requests)
    await source.meetings(EVERYTHING)
    assert len(simulators.leezy.requests) == 2 * made
    assert len(upstream_cache.store.backend) == 0


# --- stale entries --------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1_790_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["memory", "redis"])
async def stale_cache(
    request: pytest.FixtureRequest, redis_url: str
) -> AsyncIterator[tuple[UpstreamCache, Clock]]:
    """A cache on a controlled clock: in memory, or in Redis with single-flight leases (a
    replica refreshing a stale entry takes the key's lease)."""
    clock = Clock()
    redis = Redis.from_url(redis_url) if request.param == "redis" else None
    if redis is None:
        cache = UpstreamCache(ByteStore(BoundedMemoryCache(100)), clock=clock)
    else:
        backend = create_backend(redis_url, 100, 10_000_000)
        cache = UpstreamCache(ByteStore(backend), leases=RedisLeases(redis), clock=clock)
    yield cache, clock
    await cache.close()
    if redis is not None:
        await redis.aclose()


async def test_a_stale_entry_is_served_at_once_and_refreshed_in_the_background(
    settings: Settings,
    upstream_session: aiohttp.ClientSession,
    simulators: Simulators,
    stale_cache: tuple[UpstreamCache, Clock],
) -> None:
    cache, clock = stale_cache
    source = leezy(settings, upstream_session, cache, cache_ttl=30.0, stale_ttl=300.0)
    before = await source.meetings(EVERYTHING)
    made = len(simulators.leezy.requests)

    changed = {**simulators.leezy.api.records()[0]}
    changed["attributes"] = {**changed["attributes"], "title": "Renamed upstream"}
    simulators.leezy.upsert(changed)
    clock.now += 31  # past fresh, inside the stale window
    with query_tally() as usage:
        stale = await source.meetings(EVERYTHING)
    assert (usage.requests, usage.stale_hits) == (0, made)
    assert stale.meetings == before.meetings  # the old answer, at once

    await cache.settle()
    assert len(simulators.leezy.requests) == 2 * made  # each stale page refreshed once
    with query_tally() as usage:
        fresh = await source.meetings(EVERYTHING)
    assert (usage.requests, usage.cache_hits, usage.stale_hits) == (0, made, 0)
    assert "Renamed upstream" in {m.title for m in fresh.meetings}


async def test_a_stale_entry_is_served_while_the_upstream_fails(
    settings: Settings, upstream_session: aiohttp.ClientSession, simulators: Simulators
) -> None:
    clock = Clock()
    cache = UpstreamCache(ByteStore(BoundedMemoryCache(100)), clock=clock)
    source = leezy(settings, upstream_session, cache, cache_ttl=30.0, stale_ttl=300.0)
    before = await source.meetings(EVERYTHING)
    made = len(simulators.leezy.requests)

    simulators.leezy.inject(Fault(kind=FaultKind.ERROR, status=500))
    clock.now += 100
    for _ in range(2):  # the failed refresh leaves the entry in place
        assert (await source.meetings(EVERYTHING)).meetings == before.meetings
        await cache.settle()
    failed = simulators.leezy.requests[made:]
    assert [r.status for r in failed] == [500] * 2 * made
    assert source.client.health.last_error is not None

    clock.now += 300  # past the stale window: nothing left to serve
    with pytest.raises(UpstreamUnavailable):
        await source.meetings(EVERYTHING)


async def test_a_waiter_that_gives_up_does_not_cancel_the_shared_request() -> None:
    cache = UpstreamCache(ByteStore(BoundedMemoryCache(10)))
    freshness = Freshness(30, 0)
    started = asyncio.Event()

    async def load() -> tuple[int, bytes]:
        started.set()
        await asyncio.sleep(0.05)
        return 200, b"[1]"

    def accept(entry: Entry) -> bytes:
        return entry.body

    impatient = asyncio.create_task(cache.get("k", freshness, load, accept))
    await started.wait()
    patient = asyncio.create_task(cache.get("k", freshness, load, accept))
    await asyncio.sleep(0)
    impatient.cancel()
    assert await patient == (b"[1]", Served.SHARED)
    assert await cache.get("k", freshness, load, accept) == (b"[1]", Served.FRESH)


async def test_an_operation_learns_until_when_what_it_read_is_fresh() -> None:
    clock = Clock()
    cache = UpstreamCache(ByteStore(BoundedMemoryCache(10)), clock=clock)

    async def load() -> tuple[int, bytes]:
        return 200, b"[1]"

    def accept(entry: Entry) -> bytes:
        return entry.body

    stored_at = clock.now
    with query_tally() as usage:
        await cache.get("short", Freshness(10, 0), load, accept)
        await cache.get("long", Freshness(30, 0), load, accept)
    assert usage.fresh_until == stored_at + 10  # the first to turn stale bounds the answer

    clock.now += 25
    with query_tally() as usage:
        assert await cache.get("long", Freshness(30, 0), load, accept) == (b"[1]", Served.FRESH)
    assert usage.fresh_until == stored_at + 30  # 5 s left of a cached answer, not 30 more
    with query_tally() as usage:
        await cache.get("never kept", Freshness(0, 0), load, accept)
    assert usage.fresh_until == clock.now  # not cached: fresh for no time at all
    await cache.close()
