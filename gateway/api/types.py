"""GraphQL object types. Leaf fields are plain attributes copied from the model (fast);
fields that need I/O call `resolvers` and wrap what they return.
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from datetime import datetime
from typing import cast

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from gateway import model
from gateway.api import resolvers
from gateway.api.inputs import MeetingFilterInput, MeetingOrderInput
from gateway.core import gateway as core
from gateway.errors import SourceState
from gateway.query import Direction, OrderField

# The model's enums are the GraphQL enums (member names are the GraphQL values).
for _enum, _name in (
    (model.Source, "Source"),
    (model.MeetingStatus, "MeetingStatus"),
    (model.Platform, "Platform"),
    (model.LocationType, "LocationType"),
    (model.ResponseStatus, "ResponseStatus"),
    (model.BotStatus, "BotStatus"),
    (SourceState, "SourceState"),
    (OrderField, "MeetingOrderField"),
    (Direction, "OrderDirection"),
):
    strawberry.enum(_enum, name=_name)


@strawberry.federation.type(
    keys=["id"], name="Lead", description="A person a meeting was booked with."
)
class Lead(relay.Node):
    node_id: relay.NodeID[str]
    source: model.Source
    source_id: str
    name: str | None
    email: str | None

    @classmethod
    def from_model(cls, lead: model.Lead) -> Lead:
        return cls(
            node_id=lead.key.node_id,
            source=lead.key.source,
            source_id=lead.key.source_id,
            name=lead.name,
            email=lead.email,
        )

    @strawberry.field(description="This lead's meetings, merged across sources.")
    async def meetings(
        self,
        info: strawberry.Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        filter: MeetingFilterInput | None = None,
        order_by: MeetingOrderInput | None = None,
    ) -> MeetingConnection:
        page = await resolvers.meetings(
            info, first, after, last, before, filter, order_by, lead_node_id=self.node_id
        )
        return MeetingConnection.from_page(page)


@strawberry.type(description="Someone in a meeting. Daily participants have no email.")
class Attendee:
    name: str | None
    email: str | None
    phone: str | None
    is_organizer: bool
    response_status: model.ResponseStatus
    joined_at: datetime | None
    duration_seconds: int | None
    lead: Lead | None

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


@strawberry.federation.type(keys=["id"], name="Meeting", description="One upstream meeting.")
class Meeting(relay.Node):
    node_id: relay.NodeID[str]
    source: model.Source
    source_id: str
    title: str | None
    description: str | None
    status: model.MeetingStatus
    source_status: str = strawberry.field(description="The upstream's own status, verbatim.")
    start_time: datetime
    end_time: datetime | None
    duration_minutes: int | None
    timezone: str | None
    meeting_url: str | None
    platform: model.Platform | None
    location_type: model.LocationType | None
    attendees: list[Attendee]
    organizer: Attendee | None
    lead: Lead | None
    cancelled_at: datetime | None
    cancellation_reason: str | None
    created_at: datetime | None
    updated_at: datetime | None
    raw: JSON | None = strawberry.field(description="The upstream record as received.")
    calendar_ids: strawberry.Private[tuple[str, ...]]

    @classmethod
    def from_model(cls, meeting: model.Meeting) -> Meeting:
        attendees = [Attendee.from_model(a) for a in meeting.attendees]
        organizer = next((a for a in attendees if a.is_organizer), None)
        return cls(
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

    @strawberry.field(description="MeetStream bots scheduled to join this meeting.")
    async def bots(self, info: strawberry.Info) -> list[ScheduledBot]:
        found = await resolvers.bots_of_meeting(info, self.calendar_ids)
        return [ScheduledBot.from_model(bot) for bot in found]


@strawberry.federation.type(keys=["id"], name="ScheduledBot", description="A MeetStream bot.")
class ScheduledBot(relay.Node):
    node_id: relay.NodeID[str]
    bot_id: str
    platform: model.Platform
    status: model.BotStatus
    source_status: str
    scheduled_join_time: datetime
    username: str | None
    calendar_event_id: str | None
    deduplication_key: str | None
    # Its meeting, when its page looked the meetings of its bots up together.
    known_meeting: strawberry.Private[model.Meeting | None] = None
    meeting_known: strawberry.Private[bool] = False

    @classmethod
    def from_model(
        cls, bot: model.ScheduledBot, meetings: Mapping[str, model.Meeting | None] | None = None
    ) -> ScheduledBot:
        event = bot.calendar_event_id
        return cls(
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
        description="The Salesloft meeting on the calendar event it joins.",
    )
    def meeting(self, info: strawberry.Info) -> Meeting | Awaitable[Meeting | None] | None:
        if self.meeting_known:  # synchronous: no awaitable per bot for graphql-core to gather
            return None if self.known_meeting is None else Meeting.from_model(self.known_meeting)
        return self._look_up_meeting(info)

    async def _look_up_meeting(self, info: strawberry.Info) -> Meeting | None:
        found = await resolvers.meeting_of_bot(info, self.calendar_event_id)
        return None if found is None else Meeting.from_model(found)


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None

    @classmethod
    def of(cls, cursors: list[str], has_next: bool, has_previous: bool) -> PageInfo:
        return cls(
            has_next_page=has_next,
            has_previous_page=has_previous,
            start_cursor=cursors[0] if cursors else None,
            end_cursor=cursors[-1] if cursors else None,
        )


@strawberry.type(description="What one upstream did for this page.")
class SourceResult:
    source: model.Source
    state: SourceState
    cached: bool
    stale: bool
    latency_ms: float | None
    message: str | None
    retry_after_seconds: int | None

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


@strawberry.type
class MeetingEdge:
    cursor: str
    node: Meeting


@strawberry.type
class MeetingConnection:
    edges: list[MeetingEdge]
    page_info: PageInfo
    sources: list[SourceResult]
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


@strawberry.type
class ScheduledBotEdge:
    cursor: str
    node: ScheduledBot


@strawberry.type
class ScheduledBotConnection:
    edges: list[ScheduledBotEdge]
    page_info: PageInfo
    total_count: int
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


@strawberry.type(description="Configuration and last contact of one upstream; never a credential.")
class SourceHealth:
    source: model.Source
    enabled: bool
    base_url: str
    last_success_at: datetime | None
    last_error: str | None

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
