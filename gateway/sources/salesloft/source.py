"""SalesloftSource: meetings walked, collected or looked up by id or event, counted, and
persons as leads."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime

from gateway.errors import BadUserInput, UpstreamBadResponse
from gateway.model import Lead, LeadKey, Meeting, Source
from gateway.ratelimit import RateLimit
from gateway.sources.base import (
    BatchLookup,
    Capabilities,
    EventLookup,
    LeadBatch,
    LeadSource,
    MeetingAnswer,
    MeetingRequest,
    MeetingSource,
    SharedReads,
    answer_from,
    enough_of,
    matching,
)
from gateway.sources.http import Params
from gateway.sources.salesloft.counting import (
    COUNT_REQUESTS,
    _count_plan,
    _CountPlan,
    _lower_bound_note,
    _summed,
    _Tally,
    _Walked,
)
from gateway.sources.salesloft.mapping import SalesloftListing, listing_page
from gateway.sources.salesloft.pushdown import (
    _BOUNDED,
    ParamList,
    _counted_start,
    _paging,
    plan,
)
from gateway.sources.salesloft.windows import MAX_PAGES, _own_window, _resumes_safely, _start
from gateway.sources.salesloft.wire import RECORD_ID, SalesloftMeeting

LEAD_PAGES = 3  # pages of a listing read for several persons, before asking one by one
RATE_LIMIT_RETRY_AFTER = 60  # a 429 carries no Retry-After; the budget is per minute

_Read = SharedReads[SalesloftListing]  # one answer's page reads, each request once


class SalesloftSource(MeetingSource, LeadSource, LeadBatch, BatchLookup, EventLookup):
    source = Source.SALESLOFT
    rate_limit_retry_after = RATE_LIMIT_RETRY_AFTER
    # The team's budget, shared with its other tools: the header says what they left.
    rate_limits = (RateLimit(600, 60, remaining_header="x-ratelimit-remaining-minute"),)

    @staticmethod
    def request_cost(params: Params) -> int:
        return page_cost(int(dict(params).get("page", "1")))

    capabilities = Capabilities(
        excluded_by={"chatbot_id": "SALESLOFT meetings have no chatbot, so chatbotId excludes them"}
    )

    async def meetings(self, request: MeetingRequest) -> MeetingAnswer:
        listings = plan(request)
        if request.need is None:  # every match: every page of every listing
            pages = await self._collect_all(listings)
            return answer_from(_unique(_meetings_of(pages, request.now)), request)
        read = SharedReads(self._page)  # the walks' first pages are the count's too
        walking = asyncio.gather(*(self._walk(params, request, read) for params in listings))
        if request.count:
            walks, tallies = await asyncio.gather(walking, self._tally(listings, request, read))
        else:
            walks, tallies = await walking, None
        answer = answer_from(_unique(m for walk in walks for m in walk.meetings), request)
        total, missing = (None, 0) if tallies is None else _summed(tallies, walks, request)
        return MeetingAnswer(
            answer.meetings,
            total=total,
            # Not counted: the cursor's own meeting lies before it (Relay allows "true").
            has_before=request.after is not None,
            hints=dict(walk.hint for walk in walks),
            total_exact=missing == 0,
            note=None if missing == 0 else _lower_bound_note(total or 0, missing),
        )

    async def _walk(self, params: ParamList, request: MeetingRequest, read: _Read) -> _Walked:
        """One listing in its order, page after page, until `request.need` matches lie after
        the cursor. Returns the meetings it vouches for (a prefix of the listing: every one
        before the last value seen, or all at its end), its resume hint, and whether it read
        the whole listing."""
        hint_key = "salesloft:" + dict(params)["show_deleted"]
        ordering = request.ordering
        window = _start(request, request.hints.get(hint_key))
        # By id, in walk order: a window that starts where the last one ended re-reads the
        # meetings of that instant, and they must not count twice.
        fetched: dict[str, Meeting] = {}
        for _ in range(MAX_PAGES):
            page = await read(window.query(params, ordering))
            meetings = page.meetings(request.now)
            if window.page > 1 and not fetched and not _resumes_safely(request, meetings):
                window = _own_window(request)  # a resumed walk must skip only what lies before
                continue
            for meeting in meetings:
                fetched.setdefault(meeting.source_id, meeting)
            listed = list(fetched.values())
            if page.paging.next_page is None or not meetings:
                whole = request.after is None  # from the top of the listing to its end
                return _Walked(listed, (hint_key, window.hint()), whole)
            vouched = enough_of(listed, request)
            if vouched is not None:
                return _Walked(vouched, (hint_key, window.hint()))
            frontier = ordering.value(listed[-1])
            window = window.next(frontier if ordering.field in _BOUNDED else None)
        raise UpstreamBadResponse(Source.SALESLOFT, f"listed more than {MAX_PAGES} pages")

    async def _tally(
        self, listings: Sequence[ParamList], request: MeetingRequest, read: _Read
    ) -> list[_Tally]:
        """Each listing's count: its first page (with Salesloft's count) in one round, then
        the pages an exact count still needs in a second, unless they exceed the budget."""
        firsts = await asyncio.gather(*(read(_counted_start(p)) for p in listings))
        plans = [_count_plan(p, first, request) for p, first in zip(listings, firsts, strict=True)]
        costs = [plan.cost for plan in plans]
        if None in costs or len(listings) + sum(c or 0 for c in costs) > COUNT_REQUESTS:
            return [plan.as_counted() for plan in plans]
        return list(await asyncio.gather(*(self._finish(plan, request, read) for plan in plans)))

    async def _finish(self, plan: _CountPlan, request: MeetingRequest, read: _Read) -> _Tally:
        """A listing's exact count once the pages its plan names are read."""
        if not plan.reads:
            return plan.as_counted()
        pages = await asyncio.gather(*(read(params) for params in plan.reads))
        found = [m for page in pages for m in page.meetings(request.now)]
        matches = {m.source_id for m in matching(found, request)}
        if not plan.minute:
            return _Tally(len(plan.seen | matches), plan.seen)
        if any(page.paging.next_page is not None for page in pages):
            return _Tally(len(plan.seen), plan.seen, missing=None)  # a minute over a page
        return _Tally(plan.known - (len(found) - len(matches)), plan.seen)

    def is_id(self, source_id: str) -> bool:
        return RECORD_ID.fullmatch(source_id) is not None

    async def meeting(self, node_id: str, now: datetime) -> Meeting | None:
        if not self.is_id(node_id):
            raise BadUserInput(f"{node_id!r} is not a Salesloft meeting id (a positive integer)")
        return next(iter(await self.meetings_by_ids([node_id], now)), None)

    async def meetings_by_ids(self, ids: list[str], now: datetime) -> list[Meeting]:
        """The meetings of these ids that exist, canceled included, in one listing each."""
        return await self._listed([("ids[]", i) for i in sorted(set(ids))], now)

    async def meetings_by_event(self, event_ids: list[str], now: datetime) -> list[Meeting]:
        """Meetings on these calendar events (what MeetStream bots join), canceled included.

        A bot may name the event by its id or by its iCal UID: Salesloft ORs the two lists."""
        if not event_ids:
            return []
        wanted = sorted(set(event_ids))
        params = [(name, v) for name in ("event_ids[]", "i_cal_uids[]") for v in wanted]
        meetings = await self._listed(params, now)
        return sorted(meetings, key=lambda m: (m.start_time, int(m.source_id)))

    async def _listed(self, params: ParamList, now: datetime) -> list[Meeting]:
        """Active and canceled meetings matching `params` (`ids[]`-like filters)."""
        pages = await self._collect_all(_both_listings(params))
        return _unique(_meetings_of(pages, now))

    @staticmethod
    def lead_key(source_id: str) -> LeadKey | None:
        if not RECORD_ID.fullmatch(source_id):
            return None
        return LeadKey(Source.SALESLOFT, source_id)

    async def lead(self, key: LeadKey) -> Lead | None:
        """The person as the recipient of their most recently updated meeting."""
        if key.source is not Source.SALESLOFT or self.lead_key(key.source_id) is None:
            return None
        newest = [("person_id", key.source_id), ("sort_by", "updated_at")]
        newest += [("sort_direction", "DESC"), ("per_page", "1")]
        pages = await asyncio.gather(*(self._page(p) for p in _both_listings(newest)))
        found = [wire for page in pages for wire, _ in page.records]
        if not found:
            return None
        latest = max(found, key=lambda wire: wire.updated_at)
        return Lead(key, latest.recipient_name, latest.recipient_email)

    async def leads(self, keys: list[LeadKey]) -> dict[LeadKey, Lead | None]:
        """Several persons at once: both listings filtered by all their `person_ids[]`,
        newest update first, read until every person showed up in each (a person's first
        meeting there is its newest) or `LEAD_PAGES` pages; the few still unsure, one by one."""
        wanted = {k.source_id: k for k in keys if self.lead_key(k.source_id) is not None}
        if len(wanted) <= 1:  # one person: two one-meeting pages say it all
            return {key: await self.lead(key) for key in keys}
        persons = [("person_ids[]", p) for p in sorted(wanted, key=int)]
        newest = [*persons, ("sort_by", "updated_at"), ("sort_direction", "DESC")]
        walks = await asyncio.gather(
            *(self._newest_of(listing, set(wanted)) for listing in _both_listings(newest))
        )
        unsure = {p for walk, done in walks for p in set(wanted) - done - set(walk)}
        found: dict[LeadKey, Lead | None] = dict.fromkeys(keys)
        for person, key in wanted.items():
            latest = [walk[person] for walk, _ in walks if person in walk]
            if latest and person not in unsure:
                wire = max(latest, key=lambda w: w.updated_at)
                found[key] = Lead(key, wire.recipient_name, wire.recipient_email)
        one_by_one = [wanted[p] for p in sorted(unsure, key=int)]
        looked_up = await asyncio.gather(*map(self.lead, one_by_one))
        found.update(zip(one_by_one, looked_up, strict=True))
        return found

    async def _newest_of(
        self, listing: ParamList, persons: set[str]
    ) -> tuple[dict[str, SalesloftMeeting], set[str]]:
        """Each person's newest meeting in one listing, and the persons known to have none
        (the listing ended without them)."""
        newest: dict[str, SalesloftMeeting] = {}
        for number in range(1, LEAD_PAGES + 1):
            page = await self._page([*listing, *_paging(number)])
            for wire, _ in page.records:
                if wire.person is not None:
                    newest.setdefault(str(wire.person.id), wire)
            if page.paging.next_page is None or not page.records:
                return newest, persons - set(newest)
            if persons <= set(newest):
                break
        return newest, set()

    async def _collect_all(self, listings: Sequence[ParamList]) -> list[SalesloftListing]:
        """Every page of these listings, in order: pages, not records, so that each keeps
        its mapping for the next query that reads it."""
        walks = await asyncio.gather(*(self._collect(params) for params in listings))
        return [page for walk in walks for page in walk]

    async def _collect(self, params: ParamList) -> list[SalesloftListing]:
        """Every page of one listing: the first counts them, the rest come concurrently."""
        first = await self._page(_counted_start(params))
        paging = first.paging
        if paging.next_page is None:
            return [first]
        if paging.total_pages is None:  # no counts after all: follow the links instead
            return [first, *await self._collect_from(params, paging.next_page)]
        if paging.total_pages > MAX_PAGES:
            raise UpstreamBadResponse(
                Source.SALESLOFT, f"listed {paging.total_pages} pages, over the {MAX_PAGES} walked"
            )
        rest = await asyncio.gather(
            *(self._page([*params, *_paging(n)]) for n in range(2, paging.total_pages + 1))
        )
        return [first, *rest]

    async def _collect_from(self, params: ParamList, page_number: int) -> list[SalesloftListing]:
        pages: list[SalesloftListing] = []
        next_page: int | None = page_number
        while next_page is not None and next_page <= MAX_PAGES:
            page = await self._page([*params, *_paging(next_page)])
            pages.append(page)
            following = page.paging.next_page
            next_page = following if following is not None and following > next_page else None
        return pages

    async def _page(self, params: Params) -> SalesloftListing:
        return await self.client.get("/meetings", params, listing_page)


def page_cost(page: int) -> int:
    """Cost units of one listing page: deep pages cost more (1, then 3, 8, 10, 30)."""
    for first_page, cost in ((501, 30), (251, 10), (151, 8), (101, 3)):
        if page >= first_page:
            return cost
    return 1


def _both_listings(params: ParamList) -> list[ParamList]:
    return [[("show_deleted", shown), *params] for shown in ("false", "true")]


def _meetings_of(pages: Iterable[SalesloftListing], now: datetime) -> Iterator[Meeting]:
    """The pages' meetings at `now`, each page mapped only when its kept mapping expired."""
    return (meeting for page in pages for meeting in page.meetings(now))


def _unique(meetings: Iterable[Meeting]) -> list[Meeting]:
    """One meeting per id: numbered pages may overlap while the upstream data changes."""
    seen: dict[str, Meeting] = {}
    for meeting in meetings:
        seen.setdefault(meeting.source_id, meeting)
    return list(seen.values())
