"""Daily: video sessions that happened or are happening, as meetings.

`GET /meetings` is cursor-paginated (newest first, `starting_after=<last id>`), so its pages
can only be walked one after another. A page of the connection bounds the walk by the
cursor (`timeframe_end` newest first, stopping once the page has its matches;
`timeframe_start` oldest first, which must read to the end, so that walk is resumed from
the cache on later pages). A session has no title, no email and no update time, and never
starts in the future, so those filters exclude Daily. Every other filter is pushed down
exactly (session starts are whole seconds), so `total_count` is the exact count.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from pydantic import Field, StrictBool, StrictInt, StrictStr

from gateway.errors import BadUserInput, UpstreamBadResponse, UpstreamUnauthorized
from gateway.model import Attendee, LocationType, Meeting, MeetingStatus, Platform, Source
from gateway.query import Direction, MeetingFilter, OrderField
from gateway.ratelimit import RateLimit
from gateway.sources.base import (
    Capabilities,
    MeetingAnswer,
    MeetingRequest,
    MeetingSource,
    Only,
    SharedReads,
    answer_from,
    enough_of,
    tightened,
    validate,
)
from gateway.sources.http import JsonAnswer, Params
from gateway.sources.wire import WireModel

PAGE_SIZE = 100
HINT_KEY = "daily"
RATE_LIMIT_RETRY_AFTER = 5  # a 429 carries no header; the longer window is 100 per 5 s
# Daily session ids are UUIDs; anything URL-safe is accepted so a path cannot be smuggled in.
_SESSION_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


# Bounded so that a wild value is a bad response, not an overflow while mapping.
UnixSeconds = Annotated[StrictInt, Field(ge=0, le=32_503_680_000)]  # up to the year 3000
Seconds = Annotated[StrictInt, Field(ge=0, le=1_000_000_000)]


class DailyParticipant(WireModel):
    """`user_id` and `user_name` are null for a guest who joined without them."""

    user_id: StrictStr | None
    participant_id: StrictStr
    user_name: StrictStr | None
    join_time: UnixSeconds
    duration: Seconds


class DailySession(WireModel):
    """Times are unix seconds. Daily's prose calls `participants` "a participants object"
    while its answers carry an array: both are read, an object as its values in order."""

    id: StrictStr
    room: StrictStr
    start_time: UnixSeconds
    duration: Seconds
    ongoing: StrictBool
    max_participants: StrictInt | None = None
    participants: list[DailyParticipant] | dict[StrictStr, DailyParticipant]

    def participant_list(self) -> tuple[DailyParticipant, ...]:
        found = self.participants
        return tuple(found.values() if isinstance(found, dict) else found)


class DailyPage(WireModel):
    total_count: StrictInt
    data: list[dict[str, Any]]


class DailyError(WireModel):
    error: StrictStr
    info: StrictStr | None = None


def _utc(unix_seconds: int) -> datetime:
    return datetime.fromtimestamp(unix_seconds, UTC)


def _attendee(participant: DailyParticipant) -> Attendee:
    return Attendee(
        name=participant.user_name,
        email=None,
        joined_at=_utc(participant.join_time),
        duration_seconds=participant.duration,
    )


def to_meeting(raw: dict[str, Any]) -> Meeting:
    """Validate one session as received and map it; `raw` keeps the dict itself."""
    session = validate(Source.DAILY, DailySession, raw)
    start = _utc(session.start_time)
    return Meeting(
        source=Source.DAILY,
        source_id=session.id,
        status=MeetingStatus.IN_PROGRESS if session.ongoing else MeetingStatus.COMPLETED,
        source_status="ongoing" if session.ongoing else "finished",
        start_time=start,
        end_time=start + timedelta(seconds=session.duration),
        platform=Platform.DAILY,
        location_type=LocationType.VIDEO,
        attendees=tuple(_attendee(p) for p in session.participant_list()),
        raw=raw,
    )


_DAILY_STATUSES = frozenset({MeetingStatus.IN_PROGRESS, MeetingStatus.COMPLETED})


def _ongoing(statuses: frozenset[MeetingStatus] | None) -> str | None:
    """`ongoing` when the statuses a session can have narrow to one (others never match)."""
    possible = _DAILY_STATUSES if statuses is None else statuses & _DAILY_STATUSES
    if possible == {MeetingStatus.IN_PROGRESS}:
        return "true"
    if possible == {MeetingStatus.COMPLETED}:
        return "false"
    return None


def _can_match(meeting_filter: MeetingFilter) -> bool:
    """False when no Daily session can match, so the upstream need not be asked."""
    statuses = meeting_filter.statuses
    if statuses is not None and not statuses & _DAILY_STATUSES:
        return False
    after, before = meeting_filter.start_after, meeting_filter.start_before
    if before is not None and before <= _EPOCH:
        return False  # sessions start at unix time >= 0
    return after is None or before is None or after < before


def pushdown(meeting_filter: MeetingFilter) -> list[tuple[str, str]]:
    """Upstream filters that keep exactly the matches: sessions start on whole seconds, so
    start >= t is start >= ceil(t), and start < t is start < ceil(t). `upcoming: false` is
    no condition (no session starts after now)."""
    params: list[tuple[str, str]] = []
    if meeting_filter.start_after is not None and meeting_filter.start_after > _EPOCH:
        params.append(("timeframe_start", str(math.ceil(meeting_filter.start_after.timestamp()))))
    if meeting_filter.start_before is not None:
        params.append(("timeframe_end", str(math.ceil(meeting_filter.start_before.timestamp()))))
    ongoing = _ongoing(meeting_filter.statuses)
    if ongoing is not None:
        params.append(("ongoing", ongoing))
    return params


_Read = SharedReads[tuple[tuple[Meeting, ...], int]]  # one answer's page reads, each request once


class DailySource(MeetingSource):
    source = Source.DAILY
    rate_limit_retry_after = RATE_LIMIT_RETRY_AFTER
    rate_limits = (RateLimit(20, 1), RateLimit(100, 5))
    capabilities = Capabilities(
        excluded_by={
            "chatbot_id": "DAILY meetings have no chatbot, so chatbotId excludes them",
            "updated_since": "DAILY has no update time, so updatedSince excludes it",
            "upcoming": Only(
                True, "DAILY sessions start when someone joins, so upcoming: true excludes them"
            ),
            "search": "DAILY sessions have no title, so search excludes them",
            "attendee_email": "DAILY participants have no email, so attendeeEmail excludes them",
        }
    )

    async def meetings(self, request: MeetingRequest) -> MeetingAnswer:
        if self.skip_reason(request.filter) is not None or not _can_match(request.filter):
            return answer_from((), request)
        params = pushdown(request.filter)
        if request.need is None or request.ordering.field is not OrderField.START_TIME:
            return answer_from(await self._walk(params), request)
        read = SharedReads(self._sessions)  # the newest-first walk's first page is the count's
        if not request.count:
            return await self._page_of(request, params, read)
        # Every match, from Daily's `total_count`: the filter is pushed down exactly.
        answer, (_, total) = await asyncio.gather(
            self._page_of(request, params, read), read(_first_page(params))
        )
        return dataclasses.replace(answer, total=total)

    async def _page_of(self, request: MeetingRequest, params: Params, read: _Read) -> MeetingAnswer:
        """The matches after the cursor, read only as far as the page needs."""
        ordering, after = request.ordering, request.after
        hints: dict[str, str] = {}
        if (ordering.direction is Direction.DESC) != ordering.backwards:  # Daily's own order
            if after is not None and after.value is not None:
                end = math.floor(after.value.timestamp()) + 1  # sessions at or before it
                params = tightened(params, "timeframe_end", str(end), upper=True, key=int)
            found = await self._walk(params, request, read)
        else:
            start = _resume_start(request)
            if start is not None:
                params = tightened(params, "timeframe_start", str(start), upper=False, key=int)
            hints[HINT_KEY] = "" if start is None else str(start)
            found = await self._walk(params, read=read)
        answer = answer_from(found, request)
        # Not counted: the cursor's own meeting lies before it (Relay allows "true").
        return MeetingAnswer(answer.meetings, None, after is not None, hints)

    async def meeting(self, node_id: str, now: datetime) -> Meeting | None:
        if not _SESSION_ID.fullmatch(node_id):
            raise BadUserInput(f"{node_id!r} is not a Daily meeting session id")

        def parse(answer: JsonAnswer) -> Meeting | None:
            _refuse_bad_request(answer)
            return None if answer.status == 404 else to_meeting(_record(answer.body))

        return await self.client.get(f"/meetings/{node_id}", (), parse, expected={400, 404})

    async def _walk(
        self, params: Params, until: MeetingRequest | None = None, read: _Read | None = None
    ) -> list[Meeting]:
        """Sessions matching `params`, page after page (a cursor cannot be guessed): every
        one, or with `until`, only as far as its page needs (newest first)."""
        meetings: list[Meeting] = []
        cursor: list[tuple[str, str]] = []
        while True:
            found, total = await (read or self._sessions)([*_first_page(params), *cursor])
            meetings.extend(found)
            if len(found) < PAGE_SIZE or len(meetings) >= total:
                return meetings
            vouched = None if until is None else enough_of(meetings, until)
            if vouched is not None:
                return vouched
            if cursor and cursor[0][1] == meetings[-1].source_id:
                raise UpstreamBadResponse(Source.DAILY, "answered the same page again")
            cursor = [("starting_after", meetings[-1].source_id)]

    async def _sessions(self, params: Params) -> tuple[tuple[Meeting, ...], int]:
        """One page of sessions, and `total_count`: every session matching `params`."""
        return await self.client.get("/meetings", params, _sessions_page, expected={400})


def _first_page(params: Params) -> list[tuple[str, str]]:
    return [*params, ("limit", str(PAGE_SIZE))]


def _resume_start(request: MeetingRequest) -> int | None:
    """Where an oldest-first page starts reading: the walk of an earlier page (from the
    cursor's hint) when it covers the cursor, so its cached pages serve this one too."""
    after = request.after
    if after is None or after.value is None:
        return None
    own = math.floor(after.value.timestamp())
    hint = request.hints.get(HINT_KEY)
    if hint == "":
        return None  # the walk from the start covers every cursor
    if hint is not None and hint.isdigit() and int(hint) <= own:
        return int(hint)
    return own


def _sessions_page(answer: JsonAnswer) -> tuple[tuple[Meeting, ...], int]:
    _refuse_bad_request(answer)
    page = validate(Source.DAILY, DailyPage, answer.body)
    return tuple(to_meeting(raw) for raw in page.data), page.total_count


def _record(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise UpstreamBadResponse(Source.DAILY, "answered with an unexpected shape at body")
    return body


def _refuse_bad_request(answer: JsonAnswer) -> None:
    """Daily answers 400 to a malformed auth header too: that is a refused credential."""
    if answer.status != 400:
        return
    error = validate(Source.DAILY, DailyError, answer.body)
    if error.error == "authorization-header-error":
        raise UpstreamUnauthorized(Source.DAILY, "refused the authorization header (400)")
    raise UpstreamBadResponse(Source.DAILY, f"rejected the request (400 {error.error})")
