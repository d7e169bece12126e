"""Salesloft: meetings booked through sales cadences, each with a person (a lead).

`GET /meetings` lists active meetings by default and *only* canceled ones with
`show_deleted=true`, so "all meetings" is two listings, fetched side by side.

A page of the connection walks each listing in its own order (`sort_by`), from a keyset bound
taken from the cursor (`start_time[gte]`, `created_at[lte]`...), only until it holds the
matches the page needs; the cursor carries where each walk may resume, so consecutive pages
reuse the cached upstream page.

`totalCount` is counted beside the walk, from the first page of each listing from its start
(the walk's own first page, asked with `include_paging_counts`): its `total_count` is the
count where the filter is pushed down exactly. Where it is not (`search`, `attendeeEmail`,
`updatedSince`, CONFIRMED apart from COMPLETED...), the other pages are read while the count
stays within `COUNT_REQUESTS`, else the matches seen are a lower bound; "now", rounded to the
minute for `upcoming`, is made exact from that minute's meetings.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Annotated, Any

from pydantic import Field, StrictBool, StrictInt, StrictStr

from gateway.errors import BadUserInput, UpstreamBadResponse
from gateway.model import (
    Attendee,
    Lead,
    LeadKey,
    LocationType,
    Meeting,
    MeetingStatus,
    Platform,
    ResponseStatus,
    Source,
    read_only,
)
from gateway.query import Direction, MeetingFilter, OrderField, Ordering
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
    tightened,
    validate,
)
from gateway.sources.http import JsonAnswer, Params
from gateway.sources.wire import UtcTime, WireModel, platform_from_url

PER_PAGE = 100
LEAD_PAGES = 3  # pages of a listing read for several persons, before asking one by one
# Deeper pages cost 8-30 of the team's 600 units a minute: no answer is worth walking on.
MAX_PAGES = 250
# Most Salesloft requests one totalCount makes (first pages included, shared with the walk
# or not); a count that would need more is reported as a lower bound instead.
COUNT_REQUESTS = 10
MINUTE = timedelta(minutes=1)
RATE_LIMIT_RETRY_AFTER = 60  # a 429 carries no Retry-After; the budget is per minute
_RECORD_ID = re.compile(r"[1-9][0-9]{0,17}")  # a positive integer, canonical form
_URL = re.compile(r"https?://[^\s<>\"']+", re.IGNORECASE)
_PHONE = re.compile(r"^\s*(phone|tel)\b|^\s*\+?[0-9][0-9\s().-]{6,}$", re.IGNORECASE)
ParamList = list[tuple[str, str]]


# --- wire models --------------------------------------------------------------------------


RecordId = Annotated[StrictInt, Field(gt=0, lt=10**18)]  # what `_RECORD_ID` accepts back


class SalesloftRef(WireModel):
    id: RecordId


class SalesloftAttendee(WireModel):
    email: StrictStr | None
    name: StrictStr | None
    organizer: StrictBool
    status: StrictStr | None = None  # needsAction|accepted|tentative|declined
    person: SalesloftRef | None = None
    deleted_at: UtcTime | None = None


class SalesloftMeeting(WireModel):
    """The fields the mapping reads. Every meeting has an id, its times, a status and
    `no_show`; `title`, `end_time`, `canceled_at` may be null, and what a meeting may lack
    (person, location, attendees, guests...) may be null or omitted. Times are `UtcTime`
    (Salesloft's own form is `2026-01-15T17:00:00.000000Z`). The fields documented as omitted
    for single events (`recurrence`, `recurring_interval`) and all others (`crm`,
    `reschedule_guid`, `account_id`, `task_id`, user ids typed "string" that real answers
    send as numbers...) are not read, so neither their presence nor their type can fail a
    record. `status` is open text: its list may grow."""

    id: RecordId
    title: StrictStr | None
    start_time: UtcTime
    end_time: UtcTime | None
    status: StrictStr  # pending|booked|failed|retry, more later: see `meeting_status`
    canceled_at: UtcTime | None
    no_show: StrictBool
    event_id: StrictStr | None = None
    i_cal_uid: StrictStr | None = None
    recipient_name: StrictStr | None = None
    recipient_email: StrictStr | None = None
    location: StrictStr | None = None
    description: StrictStr | None = None
    guests: list[StrictStr] | None = None
    attendees: list[SalesloftAttendee] | None = None
    person: SalesloftRef | None = None
    created_at: UtcTime
    updated_at: UtcTime


class SalesloftPaging(WireModel):
    per_page: StrictInt
    current_page: StrictInt
    next_page: StrictInt | None
    total_pages: StrictInt | None = None  # only with include_paging_counts
    total_count: StrictInt | None = None


class SalesloftMetadata(WireModel):
    paging: SalesloftPaging


Record = tuple["SalesloftMeeting", Mapping[str, Any]]  # a meeting validated, and as received


class SalesloftPage(WireModel):
    metadata: SalesloftMetadata
    data: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class _Mapped:
    """A listing's meetings as mapped at one "now", and the span of "now" over which that
    mapping holds (a booked meeting turns COMPLETED once it ends)."""

    meetings: tuple[Meeting, ...]
    after: datetime | None  # holds for now > after
    until: datetime | None  # and now <= until

    def holds(self, now: datetime) -> bool:
        return (self.after is None or now > self.after) and (
            self.until is None or now <= self.until
        )


@dataclass(slots=True)
class SalesloftListing:
    """One page of a listing, decoded once per cached answer and shared by every query that
    reads it: its records validated, and their mapping kept while it holds."""

    paging: SalesloftPaging
    records: tuple[Record, ...]
    _mapped: _Mapped | None = None

    def meetings(self, now: datetime) -> tuple[Meeting, ...]:
        mapped = self._mapped
        if mapped is None or not mapped.holds(now):
            mapped = self._mapped = _map_all(self.records, now)
        return mapped.meetings


def _map_all(records: Sequence[Record], now: datetime) -> _Mapped:
    turns = [t for wire, _ in records if (t := completes_at(wire)) is not None]
    return _Mapped(
        tuple(map_meeting(record, now) for record in records),
        after=max((t for t in turns if t < now), default=None),
        until=min((t for t in turns if t >= now), default=None),
    )


_Read = SharedReads[SalesloftListing]  # one answer's page reads, each request once

# --- mapping ------------------------------------------------------------------------------

_PENDING = frozenset({MeetingStatus.PENDING})
# What an active (not canceled), shown meeting of each Salesloft status maps to; a status
# Salesloft adds later maps to UNKNOWN and cannot be named in a `status` filter.
_MAPS_TO = {
    "booked": frozenset({MeetingStatus.CONFIRMED, MeetingStatus.COMPLETED}),
    "pending": _PENDING,
    "retry": _PENDING,
    "failed": frozenset({MeetingStatus.FAILED}),
}
_ACTIVE_STATUSES = frozenset({MeetingStatus.NO_SHOW, MeetingStatus.UNKNOWN}).union(
    *_MAPS_TO.values()
)
_RESPONSES = {
    "needsAction": ResponseStatus.NEEDS_ACTION,
    "accepted": ResponseStatus.ACCEPTED,
    "tentative": ResponseStatus.TENTATIVE,
    "declined": ResponseStatus.DECLINED,
}
# Calendar clients write these names as the location of a video call without a link.
_PRODUCT_NAMES = (
    ("google meet", Platform.GOOGLE_MEET),
    ("zoom meeting", Platform.ZOOM),
    ("microsoft teams", Platform.TEAMS),
)


def completes_at(meeting: SalesloftMeeting) -> datetime | None:
    """When a booked meeting turns COMPLETED (its end); None for one whose status does not
    depend on "now" (canceled, no-show, or not booked)."""
    if meeting.canceled_at is not None or meeting.no_show or meeting.status != "booked":
        return None
    return meeting.end_time or meeting.start_time


def meeting_status(meeting: SalesloftMeeting, now: datetime) -> MeetingStatus:
    """DESIGN §3b precedence: canceled, then no-show, then the status (booked by end time;
    one Salesloft adds later is UNKNOWN)."""
    if meeting.canceled_at is not None:
        return MeetingStatus.CANCELLED
    if meeting.no_show:
        return MeetingStatus.NO_SHOW
    end = completes_at(meeting)
    if end is not None:
        return MeetingStatus.COMPLETED if end < now else MeetingStatus.CONFIRMED
    if meeting.status == "failed":
        return MeetingStatus.FAILED
    if meeting.status in ("pending", "retry"):
        return MeetingStatus.PENDING
    return MeetingStatus.UNKNOWN


def _person_lead(ref: SalesloftRef | None, name: str | None, email: str | None) -> Lead | None:
    if ref is None:
        return None
    return Lead(LeadKey(Source.SALESLOFT, str(ref.id)), name, email)


def _attendees(meeting: SalesloftMeeting, lead: Lead | None) -> tuple[Attendee, ...]:
    """`attendees[]` still invited, then the recipient and guests not already among them."""
    people = [
        Attendee(
            name=a.name,
            email=a.email,
            is_organizer=a.organizer,
            response_status=_RESPONSES.get(a.status or "", ResponseStatus.UNKNOWN),
            lead=_person_lead(a.person, a.name, a.email),
        )
        for a in meeting.attendees or ()
        if a.deleted_at is None
    ]
    emails = {a.email.casefold() for a in people if a.email is not None}
    name, email = meeting.recipient_name, meeting.recipient_email
    if email is not None and email.casefold() not in emails:
        people.append(Attendee(name=name, email=email, lead=lead))
        emails.add(email.casefold())
    elif email is None and name is not None and all(a.name != name for a in people):
        people.append(Attendee(name=name, email=None, lead=lead))
    for guest in meeting.guests or ():
        if guest.casefold() not in emails:
            people.append(Attendee(name=None, email=guest))
            emails.add(guest.casefold())
    return tuple(people)


def location_of(location: str | None) -> tuple[str | None, Platform | None, LocationType | None]:
    """(meeting URL, platform, location type) read from Salesloft's free-text location.

    A link means a video call; a product name ("Microsoft Teams Meeting") too, without a
    URL; "Phone: …" or a bare number is a phone call; any other text is taken as a place.
    """
    text = (location or "").strip()
    if not text:
        return None, None, None
    found = _URL.search(text)
    if found is not None:
        url = found.group(0)
        return url, platform_from_url(url) or Platform.OTHER, LocationType.VIDEO
    lowered = text.casefold()
    for name, platform in _PRODUCT_NAMES:
        if name in lowered:
            return None, platform, LocationType.VIDEO
    if _PHONE.search(text):
        return None, None, LocationType.PHONE
    return None, None, LocationType.IN_PERSON


def to_meeting(raw: dict[str, Any], now: datetime) -> Meeting:
    """Validate one meeting as received and map it; `raw` keeps the dict itself."""
    return map_meeting((validate(Source.SALESLOFT, SalesloftMeeting, raw), raw), now)


def map_meeting(record: Record, now: datetime) -> Meeting:
    """One validated meeting as the normalized model (its status depends on `now`)."""
    wire, raw = record
    lead = _person_lead(wire.person, wire.recipient_name, wire.recipient_email)
    url, platform, location_type = location_of(wire.location)
    return Meeting(
        source=Source.SALESLOFT,
        source_id=str(wire.id),
        status=meeting_status(wire, now),
        source_status=wire.status,
        start_time=wire.start_time,
        end_time=wire.end_time,
        title=wire.title,
        description=wire.description,
        meeting_url=url,
        platform=platform,
        location_type=location_type,
        attendees=_attendees(wire, lead),
        lead=lead,
        calendar_ids=tuple(i for i in (wire.event_id, wire.i_cal_uid) if i is not None),
        cancelled_at=wire.canceled_at,
        created_at=wire.created_at,
        updated_at=wire.updated_at,
        raw=raw,
    )


# --- push-down ----------------------------------------------------------------------------

_SORT_KEYS = {
    OrderField.START_TIME: "start_time",
    OrderField.CREATED_AT: "created_at",
    OrderField.UPDATED_AT: "updated_at",
}
_BOUNDED = frozenset({OrderField.START_TIME, OrderField.CREATED_AT})  # no updated_at[...]


def _descending(ordering: Ordering) -> bool:
    return (ordering.direction is Direction.DESC) != ordering.backwards


# Bounds outside these years are left out (a wider range; the residual filter is exact).
_PLAIN_YEARS = (datetime(1900, 1, 1, tzinfo=UTC), datetime(9000, 1, 1, tzinfo=UTC))


def micro_z(moment: datetime) -> str:
    """Salesloft's own form, `2026-01-15T17:00:00.000000Z`: exact to the microsecond."""
    naive = moment.astimezone(UTC).replace(tzinfo=None)
    return naive.isoformat(timespec="microseconds") + "Z"


def _active_params(statuses: frozenset[MeetingStatus] | None) -> ParamList | None:
    """Filters for the active listing (`show_deleted=false`), None when it cannot match.

    `no_show` and `status` are pushed only when every dropped meeting maps to an unwanted
    status; `pending` and `retry` both map to PENDING, so PENDING is not one `status`, and
    UNKNOWN is any status we cannot name, so it is no `status` either.
    """
    params: ParamList = [("show_deleted", "false")]
    if statuses is None:
        return params
    wanted = statuses & _ACTIVE_STATUSES  # what an active meeting can map to at all
    if wanted == {MeetingStatus.NO_SHOW}:
        return [*params, ("no_show", "true")]
    if MeetingStatus.NO_SHOW in wanted:
        return params  # a no-show may have any Salesloft status
    upstream = sorted(name for name, mapped in _MAPS_TO.items() if mapped & wanted)
    unknown = MeetingStatus.UNKNOWN in wanted
    if not upstream and not unknown:
        return None
    params.append(("no_show", "false"))
    if len(upstream) == 1 and not unknown:
        params.append(("status", upstream[0]))
    return params


def _listings(statuses: frozenset[MeetingStatus] | None) -> list[ParamList]:
    """One parameter set per listing needed: active meetings, canceled ones, or both."""
    listings: list[ParamList] = []
    active = _active_params(statuses)
    if active is not None:
        listings.append(active)
    if statuses is None or MeetingStatus.CANCELLED in statuses:
        listings.append([("show_deleted", "true")])  # canceled: all CANCELLED, nothing to add
    return listings


def _person_ids(meeting_filter: MeetingFilter) -> list[str] | None:
    """Salesloft person ids among `leadIds` (None: no lead condition)."""
    if meeting_filter.lead_ids is None:
        return None
    ids = {
        int(key.source_id)
        for key in meeting_filter.lead_ids
        if key.source is Source.SALESLOFT and _RECORD_ID.fullmatch(key.source_id)
    }
    return [str(person) for person in sorted(ids)]


def _can_start(meeting_filter: MeetingFilter, now: datetime) -> bool:
    """False when no start time satisfies the time range and `upcoming` together."""
    after, before = meeting_filter.start_after, meeting_filter.start_before
    upcoming = meeting_filter.upcoming
    if after is not None and before is not None and after >= before:
        return False
    if upcoming is True and before is not None and before <= now:
        return False
    return not (upcoming is False and after is not None and after > now)


def _side(name: str, *, upper: bool) -> dict[str, bool]:
    """The range parameters of `name` bounding one side, each with whether it is exclusive."""
    if upper:
        return {f"{name}[lt]": True, f"{name}[lte]": False}
    return {f"{name}[gt]": True, f"{name}[gte]": False}


def _floor_minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def _start_bounds(meeting_filter: MeetingFilter, now: datetime) -> ParamList:
    """The time range, and `upcoming` as "now" rounded to the minute so that the cache key
    changes once a minute, not on every query: outwards, so no match is dropped (the
    residual filter is exact). The tighter of two bounds on a side is kept."""
    after, before = meeting_filter.start_after, meeting_filter.start_before
    params: ParamList = []
    if after is not None and _PLAIN_YEARS[0] <= after <= _PLAIN_YEARS[1]:
        params.append(("start_time[gte]", micro_z(after)))
    if before is not None and _PLAIN_YEARS[0] <= before <= _PLAIN_YEARS[1]:
        params.append(("start_time[lt]", micro_z(before)))
    floor = _floor_minute(now)
    if meeting_filter.upcoming is True:
        lower = _side("start_time", upper=False)
        return tightened(params, "start_time[gt]", micro_z(floor), upper=False, side=lower)
    if meeting_filter.upcoming is False:
        ceiling = floor if floor == now else floor + MINUTE
        upper = _side("start_time", upper=True)
        return tightened(params, "start_time[lte]", micro_z(ceiling), upper=True, side=upper)
    return params


def _common_params(request: MeetingRequest) -> ParamList | None:
    """Time range, persons and sort shared by every listing; None when nothing can match."""
    meeting_filter = request.filter
    if not _can_start(meeting_filter, request.now):
        return None
    persons = _person_ids(meeting_filter)
    if persons is not None and not persons:
        return None
    params = _start_bounds(meeting_filter, request.now)
    params.extend(("person_ids[]", person) for person in persons or ())
    ordering = request.ordering
    params.append(("sort_by", _SORT_KEYS[ordering.field]))
    params.append(("sort_direction", "DESC" if _descending(ordering) else "ASC"))
    return params


def plan(request: MeetingRequest) -> list[ParamList]:
    """The listings (parameters, paging aside) a request needs; empty when none can match."""
    common = _common_params(request)
    if common is None:
        return []
    return [[*listing, *common] for listing in _listings(request.filter.statuses)]


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


# --- the source ---------------------------------------------------------------------------


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
        return _RECORD_ID.fullmatch(source_id) is not None

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
        if not _RECORD_ID.fullmatch(source_id):
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
        return await self.client.get("/meetings", params, _listing_page)


@dataclass(frozen=True, slots=True)
class _Window:
    """Where a walk of a listing reads: a page under a keyset bound (None: from the start)."""

    bound: datetime | None
    page: int

    def params(self, listing: ParamList, ordering: Ordering) -> ParamList:
        """The listing's parameters with this window's bound (the tighter of two)."""
        if self.bound is None:
            return listing
        upper = _descending(ordering)
        field = _SORT_KEYS[ordering.field]
        name = f"{field}[{'lte' if upper else 'gte'}]"
        # Times in Salesloft's fixed-width form compare as text.
        side = _side(field, upper=upper)
        return tightened(listing, name, micro_z(self.bound), upper=upper, side=side)

    def query(self, listing: ParamList, ordering: Ordering) -> ParamList:
        """The request for this window's page: the listing's start is the counted first
        page, the same request a count makes, so that the two share it."""
        if self.bound is None and self.page == 1:
            return _counted_start(listing)
        return [*self.params(listing, ordering), *_paging(self.page)]

    def next(self, frontier: datetime | None) -> _Window:
        """After a page that did not suffice: from its last value on, or the next page."""
        if frontier is None or frontier == self.bound:
            return _Window(self.bound, self.page + 1)
        return _Window(frontier, 1)

    def hint(self) -> str:
        return f"{'' if self.bound is None else micro_z(self.bound)}|{self.page}"


def _own_window(request: MeetingRequest) -> _Window:
    """A walk from the cursor's own value (keyset-bounded orders), else from the start."""
    after, bounded = request.after, request.ordering.field in _BOUNDED
    return _Window(after.value if after is not None and bounded else None, 1)


def _start(request: MeetingRequest, hint: str | None) -> _Window:
    """The first window of a walk: the cursor's hint if it covers the cursor, else the
    cursor's own value as the bound."""
    after, ordering = request.after, request.ordering
    own = _own_window(request)
    anchor = _parse_hint(hint)
    if anchor is None or after is None or after.value is None:
        return own
    if anchor.bound is None:
        return anchor  # from the start of the listing: checked on its first page
    if ordering.field not in _BOUNDED:
        return own
    covers = anchor.bound >= after.value if _descending(ordering) else anchor.bound <= after.value
    return anchor if covers else own


def _resumes_safely(request: MeetingRequest, meetings: Sequence[Meeting]) -> bool:
    """Whether a walk resumed at a later page (from a hint) may go on from there: the page
    must hold meetings (an empty one lies past the end of a listing that shrank since) and
    skip only meetings before the cursor, so it must start strictly before the cursor's
    value, as a meeting of that same value on an earlier page may come after the cursor."""
    after = request.after
    if not meetings:
        return False
    value = request.ordering.value(meetings[0])
    if after is None:
        return True
    if value is None or after.value is None:
        return False
    return value > after.value if _descending(request.ordering) else value < after.value


def _parse_hint(hint: str | None) -> _Window | None:
    if hint is None:
        return None
    bound, _, page = hint.partition("|")
    try:
        window = _Window(datetime.fromisoformat(bound) if bound else None, int(page))
    except ValueError:
        return None
    aware = window.bound is None or window.bound.tzinfo is not None
    return window if aware and 1 <= window.page <= MAX_PAGES else None


def _listing_page(answer: JsonAnswer) -> SalesloftListing:
    """A listing page, every record validated now: a bad one is a bad answer, never cached."""
    page = validate(Source.SALESLOFT, SalesloftPage, answer.body)
    # Each dict made read-only once: a listing may be mapped again (a meeting ended).
    records = tuple(
        (validate(Source.SALESLOFT, SalesloftMeeting, r), read_only(r)) for r in page.data
    )
    return SalesloftListing(page.metadata.paging, records)


def page_cost(page: int) -> int:
    """Cost units of one listing page: deep pages cost more (1, then 3, 8, 10, 30)."""
    for first_page, cost in ((501, 30), (251, 10), (151, 8), (101, 3)):
        if page >= first_page:
            return cost
    return 1


def _paging(page: int) -> ParamList:
    return [("per_page", str(PER_PAGE)), ("page", str(page))]


def _counted_start(listing: ParamList) -> ParamList:
    """The first page of a listing with Salesloft's count of all its meetings."""
    return [*listing, *_paging(1), ("include_paging_counts", "true")]


# --- counting -----------------------------------------------------------------------------


class _Residue(Enum):
    """What a listing holds beyond the filter's matches (the residual filter drops it)."""

    NONE = "none"  # nothing: its `total_count` is the count
    MINUTE = "minute"  # the meetings of the minute "now" was rounded in, on the wrong side
    OTHER = "other"  # what only reading every record tells (title, emails, end time...)


# Filter fields pushed down exactly: the time range in plain years, statuses where the
# listing names them (`_statuses_of`), `upcoming` but for its rounded minute. Any other
# field given leaves a residual filter.
_PUSHED_EXACTLY = frozenset(
    {"sources", "statuses", "start_after", "start_before", "upcoming", "lead_ids"}
)


def _statuses_of(listing: ParamList) -> frozenset[MeetingStatus]:
    """Every status a meeting of this listing can map to."""
    flags = dict(listing)
    if flags["show_deleted"] == "true":
        return frozenset({MeetingStatus.CANCELLED})
    if flags.get("no_show") == "true":
        return frozenset({MeetingStatus.NO_SHOW})
    if "status" in flags:
        return _MAPS_TO[flags["status"]]
    if flags.get("no_show") == "false":
        return _ACTIVE_STATUSES - {MeetingStatus.NO_SHOW}
    return _ACTIVE_STATUSES


def _rounded(meeting_filter: MeetingFilter, now: datetime) -> bool:
    """Whether `upcoming` was pushed down as a rounded minute that the time range does not
    already settle (a start after now is upcoming; one before a bound at or before now is
    not)."""
    after, before = meeting_filter.start_after, meeting_filter.start_before
    if meeting_filter.upcoming is None or _floor_minute(now) == now:
        return False
    if meeting_filter.upcoming:
        return after is None or after <= now
    return before is None or before > now


def _residue(meeting_filter: MeetingFilter, listing: ParamList, now: datetime) -> _Residue:
    statuses = meeting_filter.statuses
    bounds = (meeting_filter.start_after, meeting_filter.start_before)
    if (
        any(
            getattr(meeting_filter, f.name) is not None
            for f in fields(meeting_filter)
            if f.name not in _PUSHED_EXACTLY
        )
        or (statuses is not None and not _statuses_of(listing) <= statuses)
        or any(b is not None and not _PLAIN_YEARS[0] <= b <= _PLAIN_YEARS[1] for b in bounds)
    ):
        return _Residue.OTHER
    return _Residue.MINUTE if _rounded(meeting_filter, now) else _Residue.NONE


def _minute_first(listing: ParamList, upcoming: bool) -> bool:
    """Whether the listing starts with the rounded minute: by start time, from the bound."""
    flags = dict(listing)
    direction = "ASC" if upcoming else "DESC"
    return flags["sort_by"] == "start_time" and flags["sort_direction"] == direction


def _minute_listing(listing: ParamList, upcoming: bool, now: datetime) -> ParamList:
    """The meetings of the listing within the minute "now" was rounded in, those on the
    wrong side of now first. Its bounds are whole minutes too, so its cache key is."""
    floor = _floor_minute(now)
    params = [p for p in listing if p[0] not in ("sort_by", "sort_direction")]
    lower, upper = _side("start_time", upper=False), _side("start_time", upper=True)
    params = tightened(params, "start_time[gt]", micro_z(floor), upper=False, side=lower)
    params = tightened(params, "start_time[lte]", micro_z(floor + MINUTE), upper=True, side=upper)
    direction = "ASC" if upcoming else "DESC"
    return [*params, ("sort_by", "start_time"), ("sort_direction", direction), *_paging(1)]


@dataclass(frozen=True, slots=True)
class _Walked:
    """What one listing's walk vouches for, where it may resume, and whether it read the
    whole listing (from its top to its end)."""

    meetings: list[Meeting]
    hint: tuple[str, str]
    whole: bool = False


@dataclass(frozen=True, slots=True)
class _Tally:
    """One listing's count: exact, or a lower bound (`seen`, the matches read) when an
    exact one would need `missing` more requests (None: no telling how many)."""

    count: int
    seen: frozenset[str] = frozenset()
    missing: int | None = 0


@dataclass(frozen=True, slots=True)
class _CountPlan:
    """How one listing is counted once its first page is read: `known` matches, or with
    `minute` the listing's total from which the wrong side of the minute read is taken
    away; `reads` are the requests still needed (None: more than can be known)."""

    known: int
    seen: frozenset[str]  # matches on the first page
    reads: tuple[ParamList, ...] | None = ()
    minute: bool = False

    @property
    def cost(self) -> int | None:
        return None if self.reads is None else len(self.reads)

    def as_counted(self) -> _Tally:
        """The count without the reads: exact when none is needed, else a lower bound."""
        if self.reads == ():
            return _Tally(self.known, self.seen)
        return _Tally(len(self.seen), self.seen, missing=self.cost)


def _count_plan(listing: ParamList, first: SalesloftListing, request: MeetingRequest) -> _CountPlan:
    meeting_filter, now = request.filter, request.now
    meetings = first.meetings(now)
    seen = frozenset(m.source_id for m in matching(meetings, request))
    paging = first.paging
    total = paging.total_count
    if paging.next_page is None or not meetings:
        return _CountPlan(len(seen), seen)  # the whole listing is on this page
    if total is None:
        return _CountPlan(len(seen), seen, reads=None)  # Salesloft did not count
    residue = _residue(meeting_filter, listing, now)
    if residue is _Residue.NONE:
        return _CountPlan(total, seen)
    upcoming = meeting_filter.upcoming
    if residue is _Residue.MINUTE and upcoming is not None:
        if not _minute_first(listing, upcoming):
            return _CountPlan(total, seen, (_minute_listing(listing, upcoming, now),), True)
        if meeting_filter.matches(meetings[-1], now):  # the whole wrong side is on this page
            return _CountPlan(total - (len(meetings) - len(seen)), seen)
    pages = paging.total_pages or -(-total // PER_PAGE)
    return _CountPlan(len(seen), seen, tuple([*listing, *_paging(n)] for n in range(2, pages + 1)))


def _summed(
    tallies: Sequence[_Tally], walks: Sequence[_Walked], request: MeetingRequest
) -> tuple[int, int | None]:
    """The listings' counts added up, and the requests an exact sum would still need (0:
    exact; None: no telling). A lower bound also takes the matches the walks read."""
    total, missing, unknown = 0, 0, False
    for tally, walk in zip(tallies, walks, strict=True):
        if tally.missing == 0:
            total += tally.count
            continue
        matches = {m.source_id for m in matching(walk.meetings, request)}
        if walk.whole:  # the page's own walk read the whole listing: its matches are all
            total += len(matches)
            continue
        total += len(tally.seen | matches)
        missing += tally.missing or 0
        unknown = unknown or tally.missing is None
    return total, None if unknown else missing


def _lower_bound_note(total: int, missing: int | None) -> str:
    more = "more pages" if missing is None else f"about {missing} more pages"
    return f"counted at least {total}: an exact count would read {more}"
