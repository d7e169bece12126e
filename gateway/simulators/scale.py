"""A real-sized account: the pools and start times of a scaled data set.

`build_dataset(scale=N)` grows every pool and count linearly with N and makes the data as
awkward as real calendars are, so the gateway's order and tie-breaks meet them in tests:

- about a third of each source's records share their start instant with 1 to 5 others of
  the same source (many meetings at 10:00 or 14:30), never more than six; the other records
  start alone within their source, on a five-minute grid;
- popular instants are the same for every source, so the merged order meets ties across
  sources too; calendar events and Daily room bookings carry their own ties to the records
  that use them;
- creation and update times tie the same way (bulk syncs); each API's builder also leaves
  nullable fields null and optional fields out where its vendor allows.

Deterministic from (seed, now, scale). The default data set never comes here: its builders
use `SeededStarts`, the draw it always had.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Protocol, TypeVar

from gateway.simulators.seed import (
    SLOT,
    SeedPools,
    build_people,
    calendar_event,
    iso_z,
    room_booking,
)

MAX_SCALE = 200
PER_UNIT_PEOPLE = 60  # the default pools' sizes: one unit of scale
PER_UNIT_EVENTS = 60
PER_UNIT_ROOMS = 40
TIE_SHARE = 3  # one record in three sits on an instant others of its source share
MAX_GROUP = 6
BATCH = 60  # starts are planned (and shuffled) sixty at a time
STEP = timedelta(minutes=5)  # where a lone meeting may start
FINER_STEPS = (timedelta(minutes=1), timedelta(seconds=1))  # once a grid is (nearly) full
TRIES = 20
BASE_HORIZON = timedelta(days=21)  # either side of now, as the default data set
POPULAR_TIMES = (time(9), time(10), time(11, 30), time(14), time(14, 30), time(16))
FUTURE_MARGIN = timedelta(minutes=10)  # "future" starts leave room for a bot's early join
PAST_MARGIN = timedelta(minutes=30)

T = TypeVar("T")


def check_scale(scale: int) -> None:
    if not 1 <= scale <= MAX_SCALE:
        raise ValueError(f"scale must be between 1 and {MAX_SCALE}, not {scale}")


def horizon(scale: int) -> timedelta:
    """Three weeks either side of now up to scale 20, longer beyond: the calendar stays as full."""
    return BASE_HORIZON * max(1.0, scale / 20)


def popular_instants(now: datetime, span: timedelta) -> list[datetime]:
    """The times of day many meetings start at, on every day within `span` of now."""
    first = (now - span).date()
    instants = (
        datetime.combine(first + timedelta(days=day), at, tzinfo=UTC)
        for day in range((2 * span).days + 2)
        for at in POPULAR_TIMES
    )
    return [moment for moment in instants if abs(moment - now) <= span]


def build_scaled_pools(seed: int, now: datetime, scale: int) -> SeedPools:
    """The default pools, `scale` times as many, their starts tied the way `Timeline` ties."""
    check_scale(scale)
    pools = SeedPools(seed=seed, now=now, scale=scale)
    rng = pools.rng("pools")
    pools.people = build_people(rng, PER_UNIT_PEOPLE * scale)
    pools.shared_starts = popular_instants(now, horizon(scale))
    events = Timeline(pools, pools.rng("pools:events"))
    pools.calendar_events = [
        calendar_event(pools, rng, index, events.next()) for index in range(PER_UNIT_EVENTS * scale)
    ]
    rooms = Timeline(pools, pools.rng("pools:rooms"))
    pools.room_bookings = [
        room_booking(rng, index, rooms.next()) for index in range(PER_UNIT_ROOMS * scale)
    ]
    return pools


def group_sizes(rng: random.Random, total: int) -> list[int]:
    """Sizes from 2 to 6 that add up to `total` (none when it is below 2)."""
    sizes: list[int] = []
    left = total
    while left >= 2:
        size = left if left <= MAX_GROUP else rng.randint(2, min(MAX_GROUP, left - 2))
        sizes.append(size)
        left -= size
    return sizes


def tied(rng: random.Random, values: Sequence[T], pick: Callable[[list[T]], T]) -> list[T]:
    """`values` with a third of them made equal in groups of 2 to 6, each to `pick` of its group.

    `min` suits a creation time (it stays before every member's start), `max` an update.
    """
    order = list(range(len(values)))
    rng.shuffle(order)
    result = list(values)
    at = 0
    for size in group_sizes(rng, len(values) // TIE_SHARE):
        members = order[at : at + size]
        at += size
        value = pick([result[index] for index in members])
        for index in members:
            result[index] = value
    return result


def tied_seconds(rng: random.Random, texts: Sequence[str], *, created: bool) -> list[str]:
    """Creation (or update) times to the second, as Leezy and Nexor send them, tied like `tied`.

    First they are made distinct, so only `tied` makes ties: a creation time moves up to an
    hour earlier (real ones are off the minute grid the builders use), a repeat one second
    on (earlier for a creation, later for an update: each stays on its side of the other).
    """
    step = timedelta(seconds=-1 if created else 1)
    seen: set[datetime] = set()
    moments: list[datetime] = []
    for text in texts:
        moment = datetime.fromisoformat(text)
        if created:
            moment -= timedelta(seconds=rng.randint(0, 3599))
        while moment in seen:
            moment += step
        seen.add(moment)
        moments.append(moment)
    return [iso_z(moment) for moment in tied(rng, moments, min if created else max)]


def cycled(pools: SeedPools, items: Sequence[T], position: int) -> T | None:
    """`items[position]`, cycling in the default data set. At scale each item is used once:
    a room booking used twice would put its start into a tie group twice."""
    if pools.scale is None:
        return items[position % len(items)]
    return items[position] if position < len(items) else None


class Starts(Protocol):
    """Where a builder takes its records' start times."""

    def next(self) -> datetime: ...

    def alone(self, future: bool | None = None) -> datetime: ...

    def claim(self, moment: datetime) -> bool: ...


@dataclass
class SeededStarts:
    """The default data set's draw, unchanged: hundreds of tests compare its records."""

    pools: SeedPools
    rng: random.Random
    future: bool | None = None

    def next(self) -> datetime:
        return self.pools.start(self.rng, future=self.future)

    def alone(self, future: bool | None = None) -> datetime:
        return self.pools.slot(self.rng, future=future)

    def claim(self, moment: datetime) -> bool:
        return True  # the default data set does not keep its starts apart


class Timeline:
    """Start instants of one source at scale: a third in groups of 2-6 on popular instants,
    the rest alone. Instants are never handed out twice, so groups stay within 2 to 6."""

    def __init__(self, pools: SeedPools, rng: random.Random, *, future: bool | None = None) -> None:
        if pools.scale is None:
            raise ValueError("a Timeline is for scaled data sets")
        self._rng = rng
        self._now = pools.now
        self._origin = pools.now.replace(minute=0, second=0, microsecond=0)
        self._horizon = horizon(pools.scale)
        self._future = future
        self._popular = [moment for moment in pools.shared_starts if self._fits(moment, future)]
        self._taken: set[datetime] = set()
        self._queue: list[datetime] = []

    def next(self) -> datetime:
        if not self._queue:
            self._queue = self._batch()
        return self._queue.pop()

    def alone(self, future: bool | None = None) -> datetime:
        """A start no other record of this source has, on the five-minute grid."""
        return self._fresh(STEP, future)

    def claim(self, moment: datetime) -> bool:
        """Reserve an instant (one a shared pool gave the source); False if already taken."""
        if moment in self._taken:
            return False
        self._taken.add(moment)
        return True

    def _batch(self) -> list[datetime]:
        starts = [self.alone(self._future) for _ in range(BATCH - BATCH // TIE_SHARE)]
        for size in group_sizes(self._rng, BATCH // TIE_SHARE):
            starts += [self._shared()] * size
        self._rng.shuffle(starts)
        return starts

    def _shared(self) -> datetime:
        """A popular instant this source has not used yet, else a fresh half hour."""
        for _ in range(6):
            if not self._popular:
                break
            moment = self._rng.choice(self._popular)
            if self.claim(moment):
                return moment
        return self._fresh(SLOT, self._future)

    def _fresh(self, step: timedelta, future: bool | None) -> datetime:
        """An unclaimed instant on the `step` grid, or on a finer one when that one is full
        (sizes given on top of a small scale, e.g. 100,000 Salesloft meetings at scale 1)."""
        for grid in (step, *FINER_STEPS):
            span = self._horizon // grid
            for _ in range(TRIES):
                moment = self._origin + self._rng.randint(-span, span) * grid
                if self._fits(moment, future) and self.claim(moment):
                    return moment
        raise RuntimeError("no free start time left within the horizon")

    def _fits(self, moment: datetime, future: bool | None) -> bool:
        if future is None:
            return True
        if future:
            return moment > self._now + FUTURE_MARGIN
        return moment < self._now - PAST_MARGIN


def starts_for(
    pools: SeedPools,
    rng: random.Random,
    *,
    claimed: Iterable[datetime] = (),
    future: bool | None = None,
) -> Starts:
    """The default draw, or at scale a `Timeline` that keeps clear of `claimed` (the starts a
    source took from the shared pools), so its own tie groups never merge with those."""
    if pools.scale is None:
        return SeededStarts(pools, rng, future)
    timeline = Timeline(pools, rng, future=future)
    for moment in claimed:
        timeline.claim(moment)
    return timeline
