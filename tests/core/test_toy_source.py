"""A new upstream is its module, one registry line, its settings and its simulator.

The toy below is such a module in miniature (wire model, mapping, declarations), served
over real HTTP by a toy simulator; registered beside Leezy, the core merges it, skips it
for what it declares it cannot answer, and looks its meetings up by id, naming neither.
The toy takes the `DAILY` slot of `Source` (the public enum) and its settings, as a new
upstream would take the member and settings added for it (docs/architecture.md).
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import ClassVar

import aiohttp
import pytest
from aiohttp import web

from gateway.cache.upstream import UpstreamCache
from gateway.config import Settings
from gateway.core.gateway import Gateway
from gateway.core.paging import PageArgs
from gateway.errors import SourceState
from gateway.model import Meeting, MeetingStatus, Source
from gateway.query import MeetingFilter, Ordering
from gateway.simulators.dataset import Dataset
from gateway.sources.base import (
    Capabilities,
    MeetingAnswer,
    MeetingRequest,
    MeetingSource,
    Only,
    answer_from,
    validate,
)
from gateway.sources.http import JsonAnswer
from gateway.sources.leezy import LeezySource
from gateway.sources.registry import build_sources
from gateway.sources.wire import UtcTime, WireModel
from tests.conftest import REFERENCE_NOW

# --- the toy upstream's module ------------------------------------------------------------


class ToyMeeting(WireModel):
    id: str
    starts: UtcTime


class ToyListing(WireModel):
    meetings: list[ToyMeeting]


def to_meeting(record: ToyMeeting) -> Meeting:
    return Meeting(
        source=ToySource.source,
        source_id=record.id,
        status=MeetingStatus.SCHEDULED,
        source_status="planned",
        start_time=record.starts,
        title=f"Toy {record.id}",
    )


def _listing(answer: JsonAnswer) -> list[Meeting]:
    return [to_meeting(m) for m in validate(ToySource.source, ToyListing, answer.body).meetings]


class ToySource(MeetingSource):
    source = Source.DAILY
    capabilities = Capabilities(
        excluded_by={"chatbot_id": "toy meetings have no chatbot", "updated_since": "no updates"}
    )

    async def meetings(self, request: MeetingRequest) -> MeetingAnswer:
        return answer_from(await self.client.get("/meetings", (), _listing), request)

    async def meeting(self, node_id: str, now: datetime) -> Meeting | None:
        found = await self.client.get("/meetings", (), _listing)
        return next((m for m in found if m.source_id == node_id), None)


# --- its simulator ------------------------------------------------------------------------

TOY_MEETINGS = [
    {"id": f"toy-{n}", "starts": (REFERENCE_NOW + timedelta(hours=n)).isoformat()}
    for n in range(-3, 4)
]


class ToySimulator:
    def __init__(self) -> None:
        self.url = ""
        self.requests = 0

    async def listing(self, _: web.Request) -> web.Response:
        self.requests += 1
        return web.json_response({"meetings": TOY_MEETINGS})


@pytest.fixture
async def toy() -> AsyncIterator[ToySimulator]:
    simulator = ToySimulator()

    app = web.Application()
    app.router.add_get("/meetings", simulator.listing)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    simulator.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        yield simulator
    finally:
        await runner.cleanup()


@pytest.fixture
def toy_gateway(
    settings: Settings,
    toy: ToySimulator,
    upstream_session: aiohttp.ClientSession,
    upstream_cache: UpstreamCache,
) -> Gateway:
    toy_settings = settings.daily.model_copy(update={"base_url": toy.url})
    settings = settings.model_copy(update={"daily": toy_settings})
    upstreams = (LeezySource, ToySource)  # the registry, one line each
    return Gateway(build_sources(settings, upstream_session, upstream_cache, upstreams))


async def everything(gateway: Gateway, meeting_filter: MeetingFilter) -> list[Meeting]:
    page = await gateway.meetings(
        meeting_filter, Ordering(), PageArgs(first=100), now=REFERENCE_NOW, count_total=False
    )
    return [edge.meeting for edge in page.edges]


async def test_the_toy_is_merged_with_the_others(toy_gateway: Gateway, toy: ToySimulator) -> None:
    page = await toy_gateway.meetings(
        MeetingFilter(upcoming=True),
        Ordering(),
        PageArgs(first=100),
        now=REFERENCE_NOW,
        count_total=True,
    )
    meetings = [edge.meeting for edge in page.edges]
    toys = [m.source_id for m in meetings if m.source is Source.DAILY]
    assert toys == ["toy-3", "toy-2", "toy-1"]  # upcoming, newest first
    leezy = [m for m in meetings if m.source is Source.LEEZY]
    assert leezy
    assert len(leezy) + len(toys) == page.total_count == len(meetings)
    starts = [m.start_time for m in meetings]
    assert starts == sorted(starts, reverse=True)  # one merged order
    assert [(o.source, o.state) for o in page.outcomes] == [
        (Source.LEEZY, SourceState.OK),
        (Source.DAILY, SourceState.OK),
    ]
    assert toy.requests == 1


async def test_the_toy_is_skipped_for_what_it_declares(
    toy_gateway: Gateway, toy: ToySimulator
) -> None:
    page = await toy_gateway.meetings(
        MeetingFilter(chatbot_id="any"),
        Ordering(),
        PageArgs(first=5),
        now=REFERENCE_NOW,
        count_total=False,
    )
    outcome = next(o for o in page.outcomes if o.source is Source.DAILY)
    assert (outcome.state, outcome.message) == (SourceState.SKIPPED, "toy meetings have no chatbot")
    assert toy.requests == 0
    only_toys = await everything(toy_gateway, MeetingFilter(sources=frozenset({Source.DAILY})))
    assert [m.source_id for m in only_toys] == [f"toy-{n}" for n in range(3, -4, -1)]


async def test_the_toy_answers_look_ups_by_id(toy_gateway: Gateway, toy: ToySimulator) -> None:
    found = await toy_gateway.meetings_by_id(["daily:toy-2", "daily:nothing"], REFERENCE_NOW)
    assert [getattr(m, "title", m) for m in found] == ["Toy toy-2", None]
    assert toy.requests == 1  # one listing, shared by both look-ups


# --- a toy that counts a lower bound, and is excluded by one value only --------------------


class LowerBoundToy(ToySource):
    """Counts at least what it read, as a source whose exact count would cost too much; its
    meetings are never in the past, so `upcoming: false` (only) excludes it."""

    capabilities = Capabilities(excluded_by={"upcoming": Only(False, "toys are all ahead")})
    asked: ClassVar[list[MeetingRequest]] = []

    async def meetings(self, request: MeetingRequest) -> MeetingAnswer:
        self.asked.append(request)
        answer = await super().meetings(request)
        if not request.count:
            return answer
        return dataclasses.replace(answer, total=2, total_exact=False, note="counted at least 2")


@pytest.fixture
def lower_bound_gateway(
    settings: Settings,
    toy: ToySimulator,
    upstream_session: aiohttp.ClientSession,
    upstream_cache: UpstreamCache,
) -> Gateway:
    LowerBoundToy.asked = []
    toy_settings = settings.daily.model_copy(update={"base_url": toy.url})
    settings = settings.model_copy(update={"daily": toy_settings})
    upstreams = (LeezySource, LowerBoundToy)
    return Gateway(build_sources(settings, upstream_session, upstream_cache, upstreams))


@pytest.mark.parametrize("count_total", [True, False])
async def test_a_lower_bound_of_one_source_makes_the_total_inexact(
    lower_bound_gateway: Gateway, dataset: Dataset, count_total: bool
) -> None:
    page = await lower_bound_gateway.meetings(
        MeetingFilter(), Ordering(), PageArgs(first=5), now=REFERENCE_NOW, count_total=count_total
    )
    # The page is walked lean whether or not it is counted; the count is asked apart.
    assert [(r.need, r.count) for r in LowerBoundToy.asked] == [(6, count_total)]
    messages = {o.source: (o.state, o.message) for o in page.outcomes}
    if not count_total:
        assert (page.total_count, page.total_count_exact) == (None, True)
        assert messages[Source.DAILY] == (SourceState.OK, None)
        return
    assert (page.total_count, page.total_count_exact) == (len(dataset.leezy) + 2, False)
    assert messages == {
        Source.LEEZY: (SourceState.OK, None),
        Source.DAILY: (SourceState.OK, "counted at least 2"),
    }


@pytest.mark.parametrize(("upcoming", "skipped"), [(False, True), (True, False), (None, False)])
async def test_an_exclusion_by_one_value_skips_for_that_value_only(
    lower_bound_gateway: Gateway, toy: ToySimulator, upcoming: bool | None, skipped: bool
) -> None:
    page = await lower_bound_gateway.meetings(
        MeetingFilter(upcoming=upcoming),
        Ordering(),
        PageArgs(first=5),
        now=REFERENCE_NOW,
        count_total=False,
    )
    outcome = next(o for o in page.outcomes if o.source is Source.DAILY)
    if skipped:
        assert (outcome.state, outcome.message) == (SourceState.SKIPPED, "toys are all ahead")
    else:
        assert (outcome.state, outcome.message) == (SourceState.OK, None)
    assert toy.requests == (0 if skipped else 1)
