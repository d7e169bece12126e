"""GraphQL object types. Leaf fields are plain attributes copied from the model (fast);
fields that need I/O delegate to `resolvers`.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, cast

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from gateway import model
from gateway.aggregate import SourceOutcome
from gateway.errors import SourceState
from gateway.query import Direction, OrderField

if TYPE_CHECKING:
    from gateway.api.inputs import MeetingFilterInput, MeetingOrderInput

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
        filter: Annotated[MeetingFilterInput, strawberry.lazy("gateway.api.inputs")] | None = None,
        order_by: Annotated[MeetingOrderInput, strawberry.lazy("gateway.api.inputs")] | None = None,
    ) -> MeetingConnection:
        from gateway.api import resolvers

        return await resolvers.meetings(
            info, first, after, last, before, filter, order_by, lead_node_id=self.node_id
        )

    @classmethod
    async def resolve_reference(cls, info: strawberry.Info, **representation: Any) -> Lead | None:
        from gateway.api import resolvers

        return cast(Lead | None, await resolvers.entity(info, "Lead", representation))


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
    calendar_event_id: strawberry.Private[str | None]

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
            raw=cast(JSON, meeting.raw),
            calendar_event_id=meeting.calendar_event_id,
        )

    @strawberry.field(description="MeetStream bots scheduled to join this meeting.")
    async def bots(self, info: strawberry.Info) -> list[ScheduledBot]:
        from gateway.api import resolvers

        return await resolvers.bots_of_meeting(info, self.calendar_event_id)

    @classmethod
    async def resolve_reference(
        cls, info: strawberry.Info, **representation: Any
    ) -> Meeting | None:
        from gateway.api import resolvers

        return cast(Meeting | None, await resolvers.entity(info, "Meeting", representation))


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

    @classmethod
    def from_model(cls, bot: model.ScheduledBot) -> ScheduledBot:
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
        )

    @strawberry.field(description="The Salesloft meeting on the calendar event it joins.")
    async def meeting(self, info: strawberry.Info) -> Meeting | None:
        from gateway.api import resolvers

        return await resolvers.meeting_of_bot(info, self.calendar_event_id)

    @classmethod
    async def resolve_reference(
        cls, info: strawberry.Info, **representation: Any
    ) -> ScheduledBot | None:
        from gateway.api import resolvers

        found = await resolvers.entity(info, "ScheduledBot", representation)
        return cast(ScheduledBot | None, found)


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


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
    def from_outcome(cls, outcome: SourceOutcome) -> SourceResult:
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

    @strawberry.field(description="Every match after filtering, across the sources that answered.")
    def total_count(self) -> int:
        return self.total_count_value or 0


@strawberry.type
class ScheduledBotEdge:
    cursor: str
    node: ScheduledBot


@strawberry.type
class ScheduledBotConnection:
    edges: list[ScheduledBotEdge]
    page_info: PageInfo
    total_count: int


@strawberry.type(description="Configuration and last contact of one upstream; never a credential.")
class SourceHealth:
    source: model.Source
    enabled: bool
    base_url: str
    last_success_at: datetime | None
    last_error: str | None
