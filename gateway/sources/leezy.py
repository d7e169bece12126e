"""Leezy: meetings booked by chatbots. `GET /meetings`, offset pagination, JSON:API records.

Leezy's order is undocumented, so every matching page is read: the first one tells the
total, the rest are fetched together, and the pages a listing had last time are asked for
in the same round as the first (a listing rarely shrinks by a page between two reads).
Status, chatbot, `since` and `upcoming=true` are pushed down; `answer_from` applies the
whole filter again, so what Leezy reads differently (its `since` is exclusive) only has to
be widened, never narrowed.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import Field

from gateway.errors import BadUserInput
from gateway.model import Attendee, LocationType, Meeting, MeetingStatus, Platform, Source
from gateway.query import MeetingFilter
from gateway.ratelimit import RateLimit
from gateway.sources.base import (
    Capabilities,
    MeetingAnswer,
    MeetingRequest,
    MeetingSource,
    OrderedViews,
    answer_from,
    validate,
)
from gateway.sources.http import JsonAnswer, Params, UpstreamClient
from gateway.sources.wire import UtcTime, WireModel, platform_from_url

PAGE_SIZE = 100  # Leezy's maximum `limit`
REMEMBERED_LISTINGS = 1024  # page counts kept per process, least recently used first out
RATE_LIMIT_RETRY_AFTER = 60  # Leezy's 429 says "retry after 60 seconds" but sends no header
ID_PATTERN = re.compile(r"[A-Za-z0-9_.-]{1,128}")

# Leezy's documented statuses; one it adds later is UNKNOWN (its text kept in sourceStatus).
STATUSES: dict[str, MeetingStatus] = {
    "scheduled": MeetingStatus.SCHEDULED,
    "confirmed": MeetingStatus.CONFIRMED,
    "completed": MeetingStatus.COMPLETED,
    "cancelled": MeetingStatus.CANCELLED,
    "no_show": MeetingStatus.NO_SHOW,
}
PROVIDERS = {
    "google_meet": Platform.GOOGLE_MEET,
    "zoom": Platform.ZOOM,
    "teams": Platform.TEAMS,
}


class LeezyMeta(WireModel):
    total: int = Field(ge=0)
    limit: int
    offset: int
    count: int
    has_more: bool


class LeezyPage(WireModel):
    data: list[dict[str, Any]]
    meta: LeezyMeta


class LeezyAttendee(WireModel):
    name: str | None = None
    email: str | None = None
    phone: str | None = None


class LeezyAttributes(WireModel):
    """Leezy's field table marks nothing nullable; its example has null `cancelled_at` and
    `cancelled_reason`, and the fields a booking may lack are optional (null or omitted).
    Ids are opaque text: `chatbot_id` is typed "UUID" but shown as `chatbot_xyz789`. The
    status and provider lists may grow, so both are open text."""

    chatbot_id: str
    conversation_id: str | None = None
    title: str | None = None
    description: str | None = None
    start_time: UtcTime
    end_time: UtcTime | None = None
    timezone: str | None = None
    attendee: LeezyAttendee | None = None
    status: str  # scheduled|confirmed|completed|cancelled|no_show, more later: STATUSES
    meeting_url: str | None = None
    meeting_provider: str | None = None  # google_meet|zoom|teams|custom, more later
    cancelled_at: UtcTime | None = None
    cancelled_reason: str | None = None
    created_at: UtcTime
    updated_at: UtcTime


class LeezyRecord(WireModel):
    id: str
    type: str
    attributes: LeezyAttributes


def platform_of(provider: str | None, url: str | None) -> Platform:
    """`custom` is whatever link the booker pasted, so it is read by its host (a Daily room,
    a Zoom link on `us02web.zoom.us` too); so is a provider Leezy adds later. Any other
    host is OTHER."""
    if provider in PROVIDERS:
        return PROVIDERS[provider]
    return platform_from_url(url) or Platform.OTHER


def to_meeting(record: LeezyRecord, raw: dict[str, Any]) -> Meeting:
    attributes = record.attributes
    person = attributes.attendee
    attendees = () if person is None else (Attendee(person.name, person.email, person.phone),)
    return Meeting(
        source=Source.LEEZY,
        source_id=record.id,
        status=STATUSES.get(attributes.status, MeetingStatus.UNKNOWN),
        source_status=attributes.status,
        start_time=attributes.start_time,
        title=attributes.title,
        description=attributes.description,
        end_time=attributes.end_time,
        timezone=attributes.timezone,
        meeting_url=attributes.meeting_url,
        platform=platform_of(attributes.meeting_provider, attributes.meeting_url),
        location_type=LocationType.VIDEO,
        attendees=attendees,
        chatbot_id=attributes.chatbot_id,
        cancelled_at=attributes.cancelled_at,
        cancellation_reason=attributes.cancelled_reason,
        created_at=attributes.created_at,
        updated_at=attributes.updated_at,
        raw=raw,
    )


def pushed_statuses(meeting_filter: MeetingFilter) -> list[str | None]:
    """One entry per listing to make: a Leezy status, or None for "any status".

    Leezy filters on one status only, so several wanted statuses become one listing each
    (fetched concurrently, still two rounds; for large data sets they read far fewer pages
    than the unfiltered listing). All five is one unfiltered listing, and so is UNKNOWN (a
    status we cannot name). An empty list means no Leezy meeting can match.
    """
    if meeting_filter.statuses is None or MeetingStatus.UNKNOWN in meeting_filter.statuses:
        return [None]
    names = [name for name, status in STATUSES.items() if status in meeting_filter.statuses]
    return [None] if len(names) == len(STATUSES) else list(names)


def common_params(meeting_filter: MeetingFilter) -> list[tuple[str, str]]:
    """The pushed-down parameters every listing of this request shares."""
    params: list[tuple[str, str]] = []
    if meeting_filter.chatbot_id is not None:
        params.append(("chatbot_id", meeting_filter.chatbot_id))
    if meeting_filter.updated_since is not None:
        params.append(("since", since_param(meeting_filter.updated_since)))
    if meeting_filter.upcoming is True:  # upcoming=false is no filter at Leezy
        params.append(("upcoming", "true"))
    return params


def since_param(updated_since: datetime) -> str:
    """Leezy keeps updated_at strictly after `since`, ours is inclusive: ask from a second
    earlier, whole seconds so that no rounding at Leezy can narrow it again."""
    moment = updated_since.astimezone(UTC).replace(microsecond=0) - timedelta(seconds=1)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class LeezySource(MeetingSource):
    source = Source.LEEZY
    rate_limit_retry_after = RATE_LIMIT_RETRY_AFTER
    rate_limits = (RateLimit(100, 60),)  # the smallest plan's; larger plans: settings
    capabilities = Capabilities()  # every filter applies: chatbot, update time and all

    def __init__(self, client: UpstreamClient) -> None:
        super().__init__(client)
        self._totals: dict[tuple[tuple[str, str], ...], int] = {}  # a listing's last total
        self._views = OrderedViews()  # Leezy lists in no order: each listing sorted once

    async def meetings(self, request: MeetingRequest) -> MeetingAnswer:
        meeting_filter = request.filter
        statuses = pushed_statuses(meeting_filter)
        if self.skip_reason(meeting_filter) is not None or not statuses:
            return answer_from((), request)
        listings = [[*common_params(meeting_filter), *_status_param(s)] for s in statuses]
        pages = await asyncio.gather(*(self._list(params) for params in listings))
        every_page = tuple(page for listing in pages for page in listing)
        key = tuple(tuple(params) for params in listings)
        ordered = self._views.ordered(key, every_page, request.ordering)
        return answer_from(ordered, request, ordered=True)

    async def meeting(self, node_id: str, now: datetime) -> Meeting | None:
        if not ID_PATTERN.fullmatch(node_id):
            raise BadUserInput(f"{node_id!r} is not a Leezy meeting id")
        # Leezy has no get-by-id: the meeting is found in the full listing.
        found = [m for page in await self._list([]) for m in page if m.source_id == node_id]
        return found[-1] if found else None  # the latest, should pages repeat it

    async def _list(self, params: Sequence[tuple[str, str]]) -> list[tuple[Meeting, ...]]:
        """Every page of one listing: the first with those it had last time, then any
        others it has now, all at once. Pages may repeat a record that moved meanwhile."""
        listing = tuple(params)
        known = self._totals.pop(listing, 0)
        guessed = range(PAGE_SIZE, known, PAGE_SIZE)
        pages = await asyncio.gather(*(self._page(params, offset) for offset in (0, *guessed)))
        total = pages[0][1]
        missing = range(max(PAGE_SIZE, known), total, PAGE_SIZE)  # grown since
        pages += await asyncio.gather(*(self._page(params, offset) for offset in missing))
        self._totals[listing] = total
        if len(self._totals) > REMEMBERED_LISTINGS:
            del self._totals[next(iter(self._totals))]
        return [page for page, _ in pages]

    async def _page(
        self, params: Sequence[tuple[str, str]], offset: int
    ) -> tuple[tuple[Meeting, ...], int]:
        query: Params = [*params, ("limit", str(PAGE_SIZE)), ("offset", str(offset))]
        return await self.client.get("/meetings", query, _meetings_page)


def _meetings_page(answer: JsonAnswer) -> tuple[tuple[Meeting, ...], int]:
    page = validate(Source.LEEZY, LeezyPage, answer.body)
    meetings = tuple(to_meeting(validate(Source.LEEZY, LeezyRecord, r), r) for r in page.data)
    return meetings, page.meta.total


def _status_param(status: str | None) -> list[tuple[str, str]]:
    return [] if status is None else [("status", status)]
