"""Walks over Salesloft meetings that share their instants: nothing lost, nothing repeated.

Real calendars put many meetings on one slot (10:00, 14:30). The listing below has groups
of 1 to 7 meetings on the same start, creation and update instants, and one group larger
than an upstream page, so every upstream window and every page of the connection ends
inside a group somewhere. Each walk goes through `Gateway.meetings` with the cursors it
hands out (cache on, so pages resume where the cursor says), in every order and direction.
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import aiohttp
import pytest

from gateway.cache.backends import BoundedMemoryCache, ByteStore
from gateway.cache.upstream import UpstreamCache
from gateway.config import Settings
from gateway.core.gateway import Gateway
from gateway.core.paging import PageArgs
from gateway.model import Meeting, MeetingStatus
from gateway.query import Direction, MeetingFilter, OrderField, Ordering
from gateway.simulators.cluster import Simulators, running_simulators
from gateway.simulators.dataset import Dataset
from gateway.sources.registry import build_sources
from gateway.sources.salesloft import SalesloftSource, micro_z, to_meeting
from tests.conftest import REFERENCE_NOW

PAGE = 20
BIG_GROUP = 130  # more meetings on one instant than one upstream page holds


@dataclasses.dataclass(frozen=True)
class Listing:
    """Meetings in groups on shared instants; every `every`-th group is titled "Match", and
    with `cancel` every `cancel`-th meeting is canceled (Salesloft lists those apart)."""

    sizes: tuple[int, ...]
    every: int
    cancel: int = 0

    def records(self, template: dict[str, Any], count: int) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = []
        slot = REFERENCE_NOW - timedelta(days=30)
        for group, size in enumerate(itertools.cycle(self.sizes)):
            kind = "Match" if group % self.every == 0 else "Other"
            for _ in range(min(size, count - len(records))):
                n = len(records)
                record = copy.deepcopy(template)
                record.update(
                    id=70_000_000 + (n * 7919) % 100_000,  # ids not in start order
                    title=f"{kind} {n}",
                    start_time=micro_z(slot),
                    end_time=micro_z(slot + timedelta(minutes=30)),
                    created_at=micro_z(slot - timedelta(days=3)),
                    updated_at=micro_z(slot - timedelta(days=1)),
                    canceled_at=micro_z(slot) if self.cancel and n % self.cancel == 0 else None,
                )
                records.append(record)
            slot += timedelta(minutes=30)
            if len(records) == count:
                return records
        raise AssertionError("unreachable")


LISTINGS = {
    "mixed": Listing((BIG_GROUP, 1, 5, 2, 7, 3, 1, 4, 6, 2), every=3, cancel=11),
    # Sparse matches in whole groups, placed so that upstream windows end inside them: a
    # window that re-reads a group must not count its meetings twice.
    "fours": Listing((4,), every=6),
    "sixes": Listing((6,), every=8),
}


@pytest.fixture
async def tied(dataset: Dataset, request: pytest.FixtureRequest) -> AsyncIterator[Simulators]:
    listing = LISTINGS[request.param].records(dataset.salesloft[0], 600)
    async with running_simulators(
        dataclasses.replace(dataset, salesloft=listing),
        clock=lambda: REFERENCE_NOW,
        rate_limits=False,
    ) as running:
        yield running


@pytest.fixture
async def gateway(tied: Simulators) -> AsyncIterator[Gateway]:
    sim = tied.salesloft
    settings = Settings.model_validate(
        {"salesloft": {"base_url": sim.base_url, "api_key": sim.api_key}}
    )
    upstream_cache = UpstreamCache(ByteStore(BoundedMemoryCache(10_000)))
    async with aiohttp.ClientSession() as session:
        yield Gateway(build_sources(settings, session, upstream_cache, (SalesloftSource,)))
    await upstream_cache.close()


def expected(tied: Simulators, meeting_filter: MeetingFilter, ordering: Ordering) -> list[str]:
    meetings = [to_meeting(raw, REFERENCE_NOW) for raw in tied.salesloft.api.records()]
    found = [m for m in meetings if meeting_filter.matches(m, REFERENCE_NOW)]
    return [m.source_id for m in sorted(found, key=ordering.meeting_key)]


async def walk(
    gateway: Gateway, meeting_filter: MeetingFilter, ordering: Ordering, *, backwards: bool
) -> list[str]:
    seen: list[Meeting] = []
    cursor: str | None = None
    for _ in range(100):
        args = (
            PageArgs(last=PAGE, before=cursor) if backwards else PageArgs(first=PAGE, after=cursor)
        )
        page = await gateway.meetings(
            meeting_filter, ordering, args, now=REFERENCE_NOW, count_total=False
        )
        edges = page.edges[::-1] if backwards else page.edges
        seen += [edge.meeting for edge in edges]
        more = page.has_previous_page if backwards else page.has_next_page
        if not more:
            ids = [m.source_id for m in seen]
            return ids[::-1] if backwards else ids
        cursor = edges[-1].cursor
    raise AssertionError("the walk did not end")


ORDERS = [Ordering(field, direction) for field in OrderField for direction in Direction]
FILTERS = {
    "all": MeetingFilter(),
    "matches": MeetingFilter(search="match"),
    "canceled": MeetingFilter(statuses=frozenset({MeetingStatus.CANCELLED})),
}


CASES = [("mixed", "all"), ("mixed", "canceled"), *((name, "matches") for name in LISTINGS)]


@pytest.mark.parametrize("backwards", [False, True], ids=["forward", "backward"])
@pytest.mark.parametrize(("tied", "name"), CASES, indirect=["tied"])
@pytest.mark.parametrize("ordering", ORDERS, ids=lambda o: f"{o.field.name}-{o.direction.name}")
async def test_every_walk_over_ties_is_whole(
    gateway: Gateway, tied: Simulators, ordering: Ordering, name: str, backwards: bool
) -> None:
    meeting_filter = FILTERS[name]
    want = expected(tied, meeting_filter, ordering)
    assert len(want) > PAGE
    got = await walk(gateway, meeting_filter, ordering, backwards=backwards)
    assert len(got) == len(set(got))  # nothing repeated
    assert got == want  # nothing lost, in order
