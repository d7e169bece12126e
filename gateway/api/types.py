"""GraphQL object types. Leaf fields are plain attributes copied from the model (fast);
fields that need I/O call `resolvers` and wrap what they return.
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from datetime import datetime
from typing import Annotated, cast

import strawberry
from strawberry.relay.utils import to_base64
from strawberry.scalars import JSON

from gateway import model
from gateway.api import resolvers
from gateway.api.enums import (
    AttendeeResponseStatus,
    MeetingLocationType,
    MeetingPlatform,
    MeetingSource,
    MeetingSourceState,
    MeetingStatus,
    ScheduledBotStatus,
)
from gateway.api.inputs import (
    After,
    Before,
    First,
    Last,
    MeetingFilterInput,
    MeetingOrderBy,
)
from gateway.core import gateway as core

ID_DESCRIPTION = "The Globally Unique ID of this object"


@strawberry.interface(name="Node", description="An object with a Globally Unique ID")
class Node:
    """Relay's interface. Its `id` is a plain attribute (base64 of `<type>:<node id>`, as
    strawberry's relay ids), set when the object is made: strawberry's `relay.Node` would
    build it in a resolver for every object of every page."""

    id: strawberry.ID = strawberry.field(description=ID_DESCRIPTION)


def global_id(type_name: str, node_id: str) -> strawberry.ID:
    # strawberry's encoding, the twin of the decoding `inputs.parse_global_id` uses
    return strawberry.ID(to_base64(type_name, node_id))


@strawberry.federation.type(
    keys=["id"],
    name="Lead",
    description="A person a meeting was booked with, in a sales system: a Nexor lead or a "
    "Salesloft person. Its id is base64 of `Lead:nexor:<lead UUID>` or "
    "`Lead:salesloft:<person id>`, so a client holding the upstream id can build it.",
)
class Lead(Node):
    node_id: strawberry.Private[str]
    source: MeetingSource = strawberry.field(description="NEXOR or SALESLOFT.")
    source_id: str = strawberry.field(
        description="The upstream id: a Nexor lead UUID, or a Salesloft person id as text."
    )
    name: str | None = strawberry.field(
        description="Full name as the sales system gives it; null when it has none."
    )
    email: str | None = strawberry.field(
        description="Email address as the sales system gives it; null when it has none."
    )

    @classmethod
    def from_model(cls, lead: model.Lead) -> Lead:
        return cls(
            id=global_id("Lead", lead.key.node_id),
            node_id=lead.key.node_id,
            source=lead.key.source,
            source_id=lead.key.source_id,
            name=lead.name,
            email=lead.email,
        )

    @strawberry.field(
        description="This lead's meetings, merged across sources (Nexor and Salesloft), as "
        "`Query.meetings` with this lead in `leadIds`."
    )
    async def meetings(
        self,
        info: strawberry.Info,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        filter: Annotated[
            MeetingFilterInput | None,
            strawberry.argument(description="Further conditions (AND); default: none."),
        ] = None,
        order_by: MeetingOrderBy = None,
    ) -> MeetingConnection:
        page = await resolvers.meetings(
            info, first, after, last, before, filter, order_by, lead_node_id=self.node_id
        )
        return MeetingConnection.from_page(page)


@strawberry.type(
    name="MeetingAttendee",
    description="Someone in a meeting, as its source lists them: Leezy's attendee; Nexor's "
    "lead and host; Salesloft's invited attendees, recipient and guests; Daily's participants.",
)
class Attendee:
    name: str | None = strawberry.field(
        description="Display name; null when the source gives none (a Salesloft guest)."
    )
    email: str | None = strawberry.field(
        description="Email address; null when the source has none (Daily participants, "
        "Nexor's host)."
    )
    phone: str | None = strawberry.field(
        description="Phone number as entered; only Leezy's attendees have one."
    )
    is_organizer: bool = strawberry.field(
        description="The meeting's organizer: Nexor's host, or the Salesloft attendee marked so."
    )
    response_status: AttendeeResponseStatus = strawberry.field(
        description="Their answer to the invitation; UNKNOWN where the source has none."
    )
    joined_at: datetime | None = strawberry.field(
        description="When they joined (Daily participants only). In UTC."
    )
    duration_seconds: int | None = strawberry.field(
        description="Seconds they stayed (Daily participants only)."
    )
    lead: Lead | None = strawberry.field(
        description="The lead this attendee is (Nexor's lead, a Salesloft person); null otherwise."
    )

    @classmethod
    def from_model(cls, attendee: model.Attendee) -> Attendee:
        return cls(
            name=attendee.name,
            email=attendee.email,
            phone=attendee.phone,
            is_organizer=attendee.is_organizer,
            response_status=attendee.response_status,
            joined_at=attendee.joined_at,
            duration_seconds=attendee.duration_seconds,
            lead=None if attendee.lead is None else Lead.from_model(attendee.lead),
        )


@strawberry.federation.type(
    keys=["id"],
    name="Meeting",
    description="One meeting as one upstream record (a Daily session is one too). Its id is "
    "base64 of `Meeting:<source>:<sourceId>` (a Nexor meeting: "
    "`Meeting:nexor:<lead UUID>:<meeting id>`).",
)
class Meeting(Node):
    node_id: strawberry.Private[str]
    source: MeetingSource = strawberry.field(
        description="Where it comes from: LEEZY, NEXOR, SALESLOFT or DAILY."
    )
    source_id: str = strawberry.field(description="The upstream's own id, as text.")
    title: str | None = strawberry.field(
        description="Title as the source shows it; null for Daily sessions (none there)."
    )
    description: str | None = strawberry.field(
        description="Free text of Leezy and Salesloft meetings; null elsewhere."
    )
    status: MeetingStatus = strawberry.field(
        description="Where it stands, mapped across sources (see `MeetingStatus`)."
    )
    source_status: str = strawberry.field(
        description="The upstream's own status, verbatim (Daily: `ongoing` or `finished`)."
    )
    start_time: datetime = strawberry.field(
        description="When it starts (Daily: when the first participant joined). In UTC."
    )
    end_time: datetime | None = strawberry.field(
        description="When it ends (Daily: start plus the session's length); null when the "
        "source does not say. In UTC."
    )
    duration_minutes: int | None = strawberry.field(
        description="Whole minutes from `startTime` to `endTime`, rounded down; null without "
        "`endTime`."
    )
    timezone: str | None = strawberry.field(
        description="The time zone it was booked in, an IANA name such as `Europe/Berlin` as "
        "Leezy and Nexor give it; null for Salesloft and Daily. Times are UTC regardless."
    )
    meeting_url: str | None = strawberry.field(
        description="The link to join: Leezy's and Nexor's link, or the one in a Salesloft "
        "location; null for Daily and when there is none."
    )
    platform: MeetingPlatform | None = strawberry.field(
        description="The video product, read from the provider or the link's host; null when "
        "it is not a video call or nothing says (Nexor, Salesloft)."
    )
    location_type: MeetingLocationType | None = strawberry.field(
        description="Video, phone or in person: Leezy and Daily are video; Nexor says; "
        "Salesloft is read from its location text; null when nothing says."
    )
    attendees: list[Attendee] = strawberry.field(
        description="Everyone in it as its source lists them, organizer included; never null, "
        "possibly empty."
    )
    organizer: Attendee | None = strawberry.field(
        description="The attendee with `isOrganizer` (Nexor's host, Salesloft's organizer); "
        "null when there is none (Leezy, Daily)."
    )
    lead: Lead | None = strawberry.field(
        description="The lead it was booked with: Nexor's lead, Salesloft's person; null for "
        "Leezy and Daily."
    )
    cancelled_at: datetime | None = strawberry.field(
        description="When it was cancelled (Leezy, Nexor, Salesloft); null if it was not. In UTC."
    )
    cancellation_reason: str | None = strawberry.field(
        description="Why it was cancelled, as entered (Leezy, Nexor); null otherwise."
    )
    created_at: datetime | None = strawberry.field(
        description="When it was booked (Leezy, Nexor, Salesloft); null for Daily. In UTC."
    )
    updated_at: datetime | None = strawberry.field(
        description="When it last changed (Leezy, Salesloft); null for Nexor and Daily. In UTC."
    )
    raw: JSON | None = strawberry.field(
        description="The upstream record as received (its shape is the vendor's): for what "
        "the normalized fields leave out."
    )
    calendar_ids: strawberry.Private[tuple[str, ...]]

    @classmethod
    def from_model(cls, meeting: model.Meeting) -> Meeting:
        attendees = [Attendee.from_model(a) for a in meeting.attendees]
        organizer = next((a for a in attendees if a.is_organizer), None)
        return cls(
            id=global_id("Meeting", meeting.node_id),
            node_id=meeting.node_id,
            source=meeting.source,
            source_id=meeting.source_id,
            title=meeting.title,
            description=meeting.description,
            status=meeting.status,
            source_status=meeting.source_status,
            start_time=meeting.start_time,
            end_time=meeting.end_time,
            duration_minutes=meeting.duration_minutes,
            timezone=meeting.timezone,
            meeting_url=meeting.meeting_url,
            platform=meeting.platform,
            location_type=meeting.location_type,
            attendees=attendees,
            organizer=organizer,
            lead=None if meeting.lead is None else Lead.from_model(meeting.lead),
            cancelled_at=meeting.cancelled_at,
            cancellation_reason=meeting.cancellation_reason,
            created_at=meeting.created_at,
            updated_at=meeting.updated_at,
            raw=cast(JSON, dict(meeting.raw)),  # a JSON object again (the view is read-only)
            calendar_ids=meeting.calendar_ids,
        )

    @strawberry.field(
        description="MeetStream bots scheduled to join it, found by its calendar event (only "
        "Salesloft meetings have one); empty when MeetStream failed, with an error."
    )
    async def bots(self, info: strawberry.Info) -> list[ScheduledBot]:
        found = await resolvers.bots_of_meeting(info, self.calendar_ids)
        return [ScheduledBot.from_model(bot) for bot in found]


@strawberry.federation.type(
    keys=["id"],
    name="ScheduledBot",
    description="A MeetStream bot scheduled to join a meeting (to record it). Its id is "
    "base64 of `ScheduledBot:meetstream:<botId>`.",
)
class ScheduledBot(Node):
    node_id: strawberry.Private[str]
    bot_id: str = strawberry.field(description="MeetStream's bot id.")
    platform: MeetingPlatform = strawberry.field(
        description="Where it joins; OTHER for a platform MeetStream adds later."
    )
    status: ScheduledBotStatus = strawberry.field(
        description="Where it is in its life, mapped (see `ScheduledBotStatus`)."
    )
    source_status: str = strawberry.field(description="MeetStream's own status, verbatim.")
    scheduled_join_time: datetime = strawberry.field(description="When it joins. In UTC.")
    username: str | None = strawberry.field(
        description="The name it shows in the meeting; null when none was set."
    )
    calendar_event_id: str | None = strawberry.field(
        description="The calendar event it was scheduled for (a Salesloft meeting's event id "
        "or iCal UID); null when it was scheduled without one."
    )
    deduplication_key: str | None = strawberry.field(
        description="The key it was scheduled under, which keeps one bot per meeting; null "
        "when none was given."
    )
    # Its meeting, when its page looked the meetings of its bots up together.
    known_meeting: strawberry.Private[model.Meeting | None] = None
    meeting_known: strawberry.Private[bool] = False

    @classmethod
    def from_model(
        cls, bot: model.ScheduledBot, meetings: Mapping[str, model.Meeting | None] | None = None
    ) -> ScheduledBot:
        event = bot.calendar_event_id
        return cls(
            id=global_id("ScheduledBot", bot.node_id),
            node_id=bot.node_id,
            bot_id=bot.bot_id,
            platform=bot.platform,
            status=bot.status,
            source_status=bot.source_status,
            scheduled_join_time=bot.scheduled_join_time,
            username=bot.username,
            calendar_event_id=bot.calendar_event_id,
            deduplication_key=bot.deduplication_key,
            known_meeting=None if meetings is None or event is None else meetings.get(event),
            meeting_known=meetings is not None,
        )

    @strawberry.field(
        graphql_type=Meeting | None,
        description="The Salesloft meeting on the calendar event it joins; null when there is "
        "none or Salesloft failed (then with an error).",
    )
    def meeting(self, info: strawberry.Info) -> Meeting | Awaitable[Meeting | None] | None:
        if self.meeting_known:  # synchronous: no awaitable per bot for graphql-core to gather
            return None if self.known_meeting is None else Meeting.from_model(self.known_meeting)
        return self._look_up_meeting(info)

    async def _look_up_meeting(self, info: strawberry.Info) -> Meeting | None:
        found = await resolvers.meeting_of_bot(info, self.calendar_event_id)
        return None if found is None else Meeting.from_model(found)


@strawberry.federation.type(
    name="PageInfo",
    shareable=True,  # Relay's own type: other subgraphs define it, identically
    description="Relay paging: whether there is more, and the cursors to get it.",
)
class PageInfo:
    has_next_page: bool = strawberry.field(
        description="More items follow this page (ask with `after: endCursor`)."
    )
    has_previous_page: bool = strawberry.field(
        description="Items come before this page (ask with `before: startCursor`)."
    )
    start_cursor: str | None = strawberry.field(
        description="The first edge's cursor; null when the page is empty."
    )
    end_cursor: str | None = strawberry.field(
        description="The last edge's cursor; null when the page is empty."
    )

    @classmethod
    def of(cls, cursors: list[str], has_next: bool, has_previous: bool) -> PageInfo:
        return cls(
            has_next_page=has_next,
            has_previous_page=has_previous,
            start_cursor=cursors[0] if cursors else None,
            end_cursor=cursors[-1] if cursors else None,
        )


@strawberry.type(name="MeetingSourceResult", description="What one upstream did for this page.")
class SourceResult:
    source: MeetingSource = strawberry.field(description="The upstream.")
    state: MeetingSourceState = strawberry.field(
        description="OK, SKIPPED, or how it failed; its meetings are left out unless OK."
    )
    cached: bool = strawberry.field(
        description="Every upstream answer it used came from the cache (none sent now)."
    )
    stale: bool = strawberry.field(
        description="Some of them were stale: kept past their freshness while the source "
        "refreshes or fails."
    )
    latency_ms: float | None = strawberry.field(
        description="Milliseconds it took for this field, cache included; null when it was "
        "not asked (SKIPPED)."
    )
    message: str | None = strawberry.field(
        description="Why it was skipped or failed, or a note on its count; null when there "
        "is nothing to say."
    )
    retry_after_seconds: int | None = strawberry.field(
        description="Seconds before it is asked again (RATE_LIMITED, CIRCUIT_OPEN, and "
        "UNAUTHORIZED while refused credentials cool down); null otherwise."
    )

    @classmethod
    def from_outcome(cls, outcome: core.SourceOutcome) -> SourceResult:
        return cls(
            source=outcome.source,
            state=outcome.state,
            cached=outcome.cached,
            stale=outcome.stale,
            latency_ms=outcome.latency_ms,
            message=outcome.message,
            retry_after_seconds=outcome.retry_after_seconds,
        )


@strawberry.type(name="MeetingEdge", description="One meeting of a page, with its cursor.")
class MeetingEdge:
    cursor: str = strawberry.field(
        description="Opaque; pass it as `after` or `before` to page from this meeting."
    )
    node: Meeting = strawberry.field(description="The meeting.")


@strawberry.type(
    name="MeetingConnection",
    description="A page of meetings merged across sources, and what each source did for it.",
)
class MeetingConnection:
    edges: list[MeetingEdge] = strawberry.field(description="The page's meetings, in order.")
    page_info: PageInfo = strawberry.field(description="Whether there is more, and cursors.")
    sources: list[SourceResult] = strawberry.field(
        description="Each meeting source and what it did for this page (skipped, failed, "
        "cached): a failed source's meetings are missing, the others' are here."
    )
    total_count_value: strawberry.Private[int | None]
    total_count_exact_value: strawberry.Private[bool]

    @classmethod
    def from_page(cls, page: core.MeetingsPage) -> MeetingConnection:
        edges = [
            MeetingEdge(cursor=e.cursor, node=Meeting.from_model(e.meeting)) for e in page.edges
        ]
        return cls(
            edges=edges,
            page_info=PageInfo.of(
                [e.cursor for e in edges], page.has_next_page, page.has_previous_page
            ),
            sources=[SourceResult.from_outcome(o) for o in page.outcomes],
            total_count_value=page.total_count,
            total_count_exact_value=page.total_count_exact,
        )

    @strawberry.field(
        description=(
            "Every match after filtering, across the sources that answered: exact, unless"
            " `totalCountExact` is false (then at least this many)."
        )
    )
    def total_count(self) -> int:
        return self.total_count_value or 0

    @strawberry.field(
        description=(
            "false: at least one source counted a lower bound; see its message in `sources`."
        )
    )
    def total_count_exact(self) -> bool:
        return self.total_count_exact_value


@strawberry.type(name="ScheduledBotEdge", description="One bot of a page, with its cursor.")
class ScheduledBotEdge:
    cursor: str = strawberry.field(description="Opaque; pass it as `after` to page on.")
    node: ScheduledBot = strawberry.field(description="The bot.")


@strawberry.type(
    name="ScheduledBotConnection",
    description="A page of MeetStream bots, earliest join first (then by `botId`).",
)
class ScheduledBotConnection:
    edges: list[ScheduledBotEdge] = strawberry.field(description="The page's bots, in order.")
    page_info: PageInfo = strawberry.field(description="Whether there is more, and cursors.")
    total_count: int = strawberry.field(
        description="Every bot matching the filter (0 when MeetStream failed)."
    )
    sources: list[SourceResult] = strawberry.field(
        description="What the bot source did for this page (no bots when it failed)."
    )

    @classmethod
    def from_answer(cls, answer: resolvers.BotsAnswer) -> ScheduledBotConnection:
        page, outcome = answer.page, answer.outcome
        edges = [
            ScheduledBotEdge(cursor=e.cursor, node=ScheduledBot.from_model(e.bot, answer.meetings))
            for e in page.edges
        ]
        return cls(
            edges=edges,
            page_info=PageInfo.of(
                [e.cursor for e in edges], page.has_next_page, page.has_previous_page
            ),
            total_count=page.total_count,
            sources=[SourceResult.from_outcome(outcome)],
        )


@strawberry.type(
    name="MeetingSourceHealth",
    description="Configuration and last contact of one upstream, as seen by the gateway "
    "process that answers; never a credential.",
)
class SourceHealth:
    source: MeetingSource = strawberry.field(description="The upstream.")
    enabled: bool = strawberry.field(
        description="It has a credential configured; without one it is always SKIPPED."
    )
    base_url: str = strawberry.field(description="Where the gateway calls it.")
    last_success_at: datetime | None = strawberry.field(
        description="When it last answered well; null if never since this process started. In UTC."
    )
    last_error: str | None = strawberry.field(
        description="Its last failure, in words; null if none since this process started."
    )

    @classmethod
    def from_model(cls, health: core.SourceHealth) -> SourceHealth:
        return cls(
            source=health.source,
            enabled=health.enabled,
            base_url=health.base_url,
            last_success_at=health.last_success_at,
            last_error=health.last_error,
        )


def to_node(found: resolvers.Node | None) -> Meeting | Lead | ScheduledBot | None:
    """The GraphQL type of a record found by id (`node`, `_entities`)."""
    if isinstance(found, model.Meeting):
        return Meeting.from_model(found)
    if isinstance(found, model.Lead):
        return Lead.from_model(found)
    if isinstance(found, model.ScheduledBot):
        return ScheduledBot.from_model(found)
    return None
