"""Exact walks over a real-sized account: every page of `meetings`, to the end and back.

Scale 20 (3,000 Salesloft meetings, 2,400 Leezy, 1,179 Daily sessions, 500 Nexor leads; a
third of each source's records on shared start instants, Nexor's documented nulls). Each
walk starts cold (its own simulators and gateway) and follows the cursors forwards
(`first`/`after`) or backwards (`last`/`before`); every page must be its exact slice of the
order `tests.api.expected` rebuilds from the wire records, with its flags and cursors, and
`totalCount` must be exact, or, where Salesloft cannot push a filter down (`search`,
`attendeeEmail`, a status its API cannot name), a lower bound that says so (README,
**totalCount**).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest

from gateway.config import Settings
from gateway.simulators.cluster import Simulators
from gateway.simulators.core import Record
from gateway.simulators.dataset import Dataset
from tests.api.expected import (
    MEETING_FIELDS,
    ExpectedMeeting,
    attendee_row,
    expected_meetings,
    lead_id,
    meeting_row,
    nexor_leads_of,
    skip_reasons,
)
from tests.api.serving import running_gateway
from tests.conftest import REFERENCE_NOW, GraphQLClient

PER_PAGE = 100  # Salesloft's page: a count's missing pages are its listings' pages but one

QUERY = """
query Walk($first: Int, $after: String, $last: Int, $before: String,
           $filter: MeetingFilter, $orderBy: MeetingOrder) {
  meetings(first: $first, after: $after, last: $last, before: $before,
           filter: $filter, orderBy: $orderBy) {
    totalCount totalCountExact
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    sources { source state message }
    edges { cursor node { FIELDS } }
  }
}
"""
ROWS = QUERY.replace("FIELDS", MEETING_FIELDS)
# Nexor's null host and type: the organizer without a name, the record as received.
WITH_ATTENDEES = QUERY.replace(
    "FIELDS",
    MEETING_FIELDS
    + "attendees { name email isOrganizer } organizer { name email isOrganizer } raw",
)
LOWER_BOUND = re.compile(
    r"counted at least (\d+): an exact count would read about (\d+) more pages"
)

Filter = dict[str, Any]
Order = dict[str, str] | None
Listing = Callable[[Record], bool]  # which Salesloft records one of its listings holds
NEXOR_NULLABLE = ("host_name", "meeting_type", "meeting_url")  # `string | null`, scale.py


def active(record: Record) -> bool:
    """Salesloft's default listing (`show_deleted=false`): meetings not canceled."""
    return record["canceled_at"] is None


def canceled(record: Record) -> bool:
    """`show_deleted=true`: only canceled meetings."""
    return record["canceled_at"] is not None


def shown(record: Record) -> bool:
    """`show_deleted=false&no_show=false`: not canceled, not a no-show."""
    return active(record) and not record["no_show"]


def null_field_leads(dataset: Dataset) -> list[str]:
    """Nexor leads with a meeting whose `host_name` and `meeting_type` are both null."""
    return [
        lead
        for lead, meetings in dataset.nexor_meetings.items()
        if any(m["host_name"] is None and m["meeting_type"] is None for m in meetings)
    ]


def salesloft_persons(dataset: Dataset, how_many: int) -> list[str]:
    persons = {str(r["person"]["id"]) for r in dataset.salesloft if r["person"] is not None}
    return sorted(persons)[:how_many]


def leads_filter(dataset: Dataset) -> Filter:
    """The null-field leads and a few Salesloft persons, so the two lead sources merge."""
    nexor = [lead_id("nexor", lead) for lead in null_field_leads(dataset)]
    persons = [lead_id("salesloft", p) for p in salesloft_persons(dataset, 5)]
    return {"leadIds": nexor + persons}


@dataclass(frozen=True)
class Walk:
    name: str
    meeting_filter: Filter | Callable[[Dataset], Filter]
    order: Order
    size: int
    matches: int  # what the data set holds for the filter: the walk is as long as meant
    # Salesloft listings counted as a lower bound (a residual filter over more pages than
    # the count's budget); empty: every page's totalCount is exact.
    lower_bound: tuple[Listing, ...] = ()
    budget: int | None = None  # the operation's upstream budget, where the default is short
    people: bool = False  # select attendees, organizer and raw, checked where expected

    def filter_of(self, dataset: Dataset) -> Filter:
        f = self.meeting_filter
        return f if isinstance(f, dict) else f(dataset)


ASC = {"direction": "ASC"}
WALKS = [
    Walk("upcoming-start-asc", {"upcoming": True}, ASC, 100, 2660),
    # Daily's sessions too: `upcoming: false` is no condition for them.
    Walk("past-start-desc", {"upcoming": False}, None, 100, 3919),
    # Titles hold "Demo" and "demo": the match is case-insensitive.
    Walk("search-start-desc", {"search": "dEMO"}, None, 100, 877, (active, canceled)),
    # An organizer of 503 Salesloft meetings (Salesloft cannot filter by email).
    Walk(
        "email-start-asc",
        {"attendeeEmail": "Marcus.Lee@ACME-sales.example.com"},
        ASC,
        50,
        503,
        (active, canceled),
    ),
    # Salesloft names both exactly (`show_deleted=true`; `no_show=false&status=failed`).
    Walk(
        "statuses-created-desc",
        {"status": ["CANCELLED", "FAILED"]},
        {"field": "CREATED_AT"},
        100,
        1203,
    ),
    # CONFIRMED apart from COMPLETED, PENDING as `pending` or `retry`: a residual filter over
    # the listing without no-shows. Daily's IN_PROGRESS sessions have no update time: last.
    Walk(
        "statuses-updated-asc",
        {"status": ["CONFIRMED", "IN_PROGRESS", "SCHEDULED", "PENDING"]},
        {"field": "UPDATED_AT", "direction": "ASC"},
        100,
        2279,
        (shown,),
    ),
    # Nexor lists meetings per lead, one request each: 62 leads on the cold first page are
    # more than the default budget of 50, so the operation may send 100.
    Walk("null-field-leads-start-desc", leads_filter, None, 50, 356, budget=100, people=True),
]

# A lead's email in Leezy and Salesloft, 18 meetings in all: to find them the cold first page
# reads Leezy whole (24 requests) and both Salesloft listings to their end (31 requests),
# more than the default budget of 50, so the operation may send 100.
RARE_EMAIL = Walk(
    "rare-email-start-desc",
    {"attendeeEmail": "LUKASZ.Ivanova407@example.org"},
    None,
    50,
    18,
    budget=100,
)


def settings_for(simulators: Simulators, budget: int | None) -> Settings:
    """The upstreams' defaults (cache, rate limits, retries), pointing at the simulators,
    with a longer wait: on a busy machine a deep walk must not turn into a timeout."""
    values: dict[str, Any] = {
        s.name: {"base_url": s.base_url, "api_key": s.api_key, "timeout": 30} for s in simulators
    }
    values["cache"] = {"url": "memory://"}
    if budget is not None:
        values["limits"] = {"max_upstream_requests": budget}
    return Settings.model_validate(values)


def pages_past_first(dataset: Dataset, listing: Listing) -> int:
    """The pages of a Salesloft listing but its first (read by the walk and the count)."""
    records = sum(1 for record in dataset.salesloft if listing(record))
    return max(0, -(-records // PER_PAGE) - 1)


@dataclass
class Walker:
    """One walk's query and expectations; checks each page against its slice."""

    gql: GraphQLClient
    walk: Walk
    dataset: Dataset
    query: str = ROWS
    count: bool = True

    def __post_init__(self) -> None:
        self.meeting_filter = self.walk.filter_of(self.dataset)
        self.expected = expected_meetings(
            self.dataset, REFERENCE_NOW, self.meeting_filter, self.walk.order
        )
        self.rows = [m.row() for m in self.expected]
        self.nulls: Counter[str] = Counter()  # Nexor's null fields met on the way
        if not self.count:
            self.query = self.query.replace("totalCount totalCountExact", "")

    async def page(self, expected: slice, flags: tuple[bool, bool], **paging: Any) -> None:
        """One page: exactly `self.expected[expected]`, with (hasPrevious, hasNext) `flags`."""
        variables = {"filter": self.meeting_filter, "orderBy": self.walk.order, **paging}
        body = await self.gql(self.query, variables)
        assert "errors" not in body, body["errors"]
        connection: dict[str, Any] = body["data"]["meetings"]
        edges = connection["edges"]
        info = connection["pageInfo"]
        where = (paging, expected)
        assert [meeting_row(edge["node"]) for edge in edges] == self.rows[expected], where
        assert (info["hasPreviousPage"], info["hasNextPage"]) == flags, where
        assert info["startCursor"] == (edges[0]["cursor"] if edges else None)
        assert info["endCursor"] == (edges[-1]["cursor"] if edges else None)
        assert len({edge["cursor"] for edge in edges}) == len(edges)
        self.check_sources(connection, self.expected[expected])
        for edge, meeting in zip(edges, self.expected[expected], strict=True):
            if "attendees" in edge["node"]:
                self.check_people(edge["node"], meeting)
        self.cursors = (info["startCursor"], info["endCursor"])

    def check_sources(self, connection: dict[str, Any], on_page: list[ExpectedMeeting]) -> None:
        """Each source's state (SKIPPED ones with why), and `totalCount` where asked: exact,
        or Salesloft's lower bound: the matches it read, the pages it did not."""
        results = connection["sources"]
        assert [r["source"] for r in results] == ["LEEZY", "NEXOR", "SALESLOFT", "DAILY"]
        skipped = skip_reasons(self.meeting_filter)
        bounded = self.count and bool(self.walk.lower_bound)
        for result in results:
            words = skipped.get(result["source"])
            if words is not None:
                message = (result["message"] or "").casefold()
                assert result["state"] == "SKIPPED", result
                assert any(word.casefold() in message for word in words), (result, words)
            elif not (bounded and result["source"] == "SALESLOFT"):
                assert (result["state"], result["message"]) == ("OK", None), result
        if not self.count:
            return
        total = (connection["totalCount"], connection["totalCountExact"])
        if not bounded:
            assert total == (len(self.expected), True)
            return
        salesloft = next(r for r in results if r["source"] == "SALESLOFT")
        found = LOWER_BOUND.fullmatch(salesloft["message"] or "")
        assert salesloft["state"] == "OK", salesloft
        assert found is not None, salesloft
        at_least, more_pages = int(found.group(1)), int(found.group(2))
        # At most every page past each listing's first (fewer where a page's own walk has
        # read a whole listing: that one is counted exactly).
        unread = sum(pages_past_first(self.dataset, part) for part in self.walk.lower_bound)
        assert 0 < more_pages <= unread
        others = sum(m.source != "SALESLOFT" for m in self.expected)  # exact: read whole
        on_this_page = sum(m.source == "SALESLOFT" for m in on_page)
        assert on_this_page <= at_least <= len(self.expected) - others, salesloft
        assert total == (others + at_least, False)

    def check_people(self, node: dict[str, Any], meeting: ExpectedMeeting) -> None:
        """Attendees and organizer where `expected` spells them out, and Nexor's record as
        received (its null `host_name`, `meeting_type`, `meeting_url` included)."""
        if meeting.attendees is None:
            return
        attendees = sorted(map(attendee_row, node["attendees"]), key=repr)
        assert attendees == sorted((a.row() for a in meeting.attendees), key=repr), node
        organizers = [a.row() for a in meeting.attendees if a.is_organizer]
        assert [attendee_row(node["organizer"])] == organizers, node
        if meeting.source == "NEXOR":
            lead = meeting.node_id.split(":")[1]
            record = next(
                r for r in self.dataset.nexor_meetings[lead] if r["id"] == meeting.source_id
            )
            assert node["raw"] == record
            self.nulls.update(field for field in NEXOR_NULLABLE if node["raw"][field] is None)
            self.nulls["organizer without a name"] += node["organizer"]["name"] is None

    async def forward(self) -> None:
        size, total = self.walk.size, len(self.rows)
        pages = -(-total // size)
        after: str | None = None
        for number in range(pages):
            span = slice(number * size, (number + 1) * size)
            await self.page(span, (number > 0, number < pages - 1), first=size, after=after)
            after = self.cursors[1]
        # Past the last meeting: an empty page that still knows what lies before it.
        await self.page(slice(total, total), (True, False), first=size, after=after)

    async def backward(self) -> None:
        size, end = self.walk.size, len(self.rows)
        before: str | None = None
        while end > 0:
            start = max(0, end - size)
            flags = (start > 0, end < len(self.rows))
            await self.page(slice(start, end), flags, last=size, before=before)
            before, end = self.cursors[0], start
        await self.page(slice(0, 0), (False, True), last=size, before=before)


async def walked(
    walk: Walk, direction: str, simulators: Simulators, http: aiohttp.ClientSession, *, count: bool
) -> Walker:
    async with running_gateway(settings_for(simulators, walk.budget), http) as gql:
        query = WITH_ATTENDEES if walk.people else ROWS
        walker = Walker(gql, walk, simulators.dataset, query, count=count)
        assert len(walker.rows) == walk.matches
        await (walker.forward() if direction == "forward" else walker.backward())
    return walker


@pytest.mark.parametrize("direction", ["forward", "backward"])
@pytest.mark.parametrize("walk", WALKS, ids=[w.name for w in WALKS])
async def test_a_walk_pages_every_meeting_once(
    walk: Walk, direction: str, scaled: Simulators, http: aiohttp.ClientSession
) -> None:
    walker = await walked(walk, direction, scaled, http, count=True)
    if walk.people:  # every null the leads' meetings hold was met, and read as null
        leads = nexor_leads_of(walker.meeting_filter)
        records = [r for lead in leads for r in scaled.dataset.nexor_meetings[lead]]
        nulls = Counter(f for r in records for f in NEXOR_NULLABLE if r[f] is None)
        nulls["organizer without a name"] = nulls["host_name"]
        assert walker.nulls == nulls
        assert nulls["host_name"] >= len(leads), nulls  # one at least in every lead's meetings
        assert nulls["meeting_type"] >= len(leads), nulls


# Without totalCount a source may stop as soon as the page is full: the same pages.
LEAN = [("search-start-desc", "forward"), ("email-start-asc", "backward")]


@pytest.mark.parametrize(("name", "direction"), LEAN, ids=[f"{n}-{d}" for n, d in LEAN])
async def test_a_walk_without_total_count_has_the_same_pages(
    name: str, direction: str, scaled: Simulators, http: aiohttp.ClientSession
) -> None:
    walk = next(w for w in WALKS if w.name == name)
    await walked(walk, direction, scaled, http, count=False)


@pytest.mark.parametrize("direction", ["forward", "backward"])
async def test_a_rare_email_walk_finds_all_its_meetings(
    direction: str, scaled: Simulators, http: aiohttp.ClientSession
) -> None:
    """One page holds all 18 (`totalCount` apart: see the test below)."""
    await walked(RARE_EMAIL, direction, scaled, http, count=False)


# A page that is the whole connection (no cursor, all 18 matches on it) is counted exactly:
# Salesloft's walk read both listings to their end, so nothing is left to count.
@pytest.mark.parametrize("paging", [{"first": 50}, {"last": 50}], ids=["first", "last"])
async def test_a_page_that_is_the_whole_connection_counts_exactly(
    paging: dict[str, int], scaled: Simulators, http: aiohttp.ClientSession
) -> None:
    meeting_filter = RARE_EMAIL.filter_of(scaled.dataset)
    expected = expected_meetings(scaled.dataset, REFERENCE_NOW, meeting_filter)
    async with running_gateway(settings_for(scaled, RARE_EMAIL.budget), http) as gql:
        body = await gql(ROWS, {"filter": meeting_filter, **paging})
    assert "errors" not in body, body["errors"]
    connection = body["data"]["meetings"]
    info = connection["pageInfo"]
    assert [meeting_row(e["node"]) for e in connection["edges"]] == [m.row() for m in expected]
    assert (info["hasPreviousPage"], info["hasNextPage"]) == (False, False)
    salesloft = next(r for r in connection["sources"] if r["source"] == "SALESLOFT")
    assert (salesloft["state"], salesloft["message"]) == ("OK", None)
    assert (connection["totalCount"], connection["totalCountExact"]) == (len(expected), True)
