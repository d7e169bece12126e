"""GraphQL inputs and their translation into validated domain queries."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry import relay

from gateway import query
from gateway.core import ids
from gateway.core.bots import BotFilter
from gateway.errors import BadUserInput
from gateway.model import BotStatus, LeadKey, MeetingStatus, Platform, Source
from gateway.query import Direction, OrderField

MAX_LIST_LENGTH = 100
MAX_TEXT_LENGTH = 200


@strawberry.input(name="MeetingFilter", description="All given conditions must hold (AND).")
class MeetingFilterInput:
    sources: list[Source] | None = None
    status: list[MeetingStatus] | None = None
    start_after: datetime | None = strawberry.field(default=None, description="start >= it")
    start_before: datetime | None = strawberry.field(default=None, description="start < it")
    updated_since: datetime | None = strawberry.field(default=None, description="updated >= it")
    upcoming: bool | None = strawberry.field(
        default=None, description="true: start > now; false: start <= now"
    )
    lead_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Lead ids (Nexor is queried per lead)."
    )
    chatbot_id: str | None = None
    attendee_email: str | None = strawberry.field(
        default=None, description="Case-insensitive exact match on any attendee's email."
    )
    search: str | None = strawberry.field(
        default=None, description="Case-insensitive substring of the title."
    )

    def to_domain(self) -> query.MeetingFilter:
        for name, values in (
            ("sources", self.sources),
            ("status", self.status),
            ("leadIds", self.lead_ids),
        ):
            if values is not None and len(values) > MAX_LIST_LENGTH:
                raise BadUserInput(f"`filter.{name}` takes at most {MAX_LIST_LENGTH} values.")
        for name, text in (
            ("chatbotId", self.chatbot_id),
            ("attendeeEmail", self.attendee_email),
            ("search", self.search),
        ):
            if text is not None and not 1 <= len(text) <= MAX_TEXT_LENGTH:
                raise BadUserInput(f"`filter.{name}` must be 1 to {MAX_TEXT_LENGTH} characters.")
        return query.MeetingFilter(
            sources=None if self.sources is None else frozenset(self.sources),
            statuses=None if self.status is None else frozenset(self.status),
            start_after=self.start_after,
            start_before=self.start_before,
            updated_since=self.updated_since,
            upcoming=self.upcoming,
            lead_ids=None
            if self.lead_ids is None
            else frozenset(lead_key(lead_id) for lead_id in self.lead_ids),
            chatbot_id=self.chatbot_id,
            attendee_email=self.attendee_email,
            search=self.search,
        )


@strawberry.input(name="MeetingOrder")
class MeetingOrderInput:
    field: OrderField = OrderField.START_TIME
    direction: Direction = Direction.DESC

    def to_domain(self) -> query.Ordering:
        return query.Ordering(self.field, self.direction)


@strawberry.input(name="ScheduledBotFilter", description="All given conditions must hold (AND).")
class ScheduledBotFilterInput:
    status: list[BotStatus] | None = None
    platform: list[Platform] | None = None
    join_after: datetime | None = strawberry.field(default=None, description="join >= it")
    join_before: datetime | None = strawberry.field(default=None, description="join < it")
    calendar_event_id: str | None = None

    def to_domain(self) -> BotFilter:
        return BotFilter(
            statuses=None if self.status is None else frozenset(self.status),
            platforms=None if self.platform is None else frozenset(self.platform),
            join_after=self.join_after,
            join_before=self.join_before,
            calendar_event_id=self.calendar_event_id,
        )


def parse_global_id(value: str, expected_type: str | None = None) -> tuple[str, str]:
    """(type name, node id) of a Relay global id, or a BAD_USER_INPUT error."""
    try:
        parsed = relay.GlobalID.from_id(value)
    except Exception:  # strawberry raises several kinds for malformed ids
        raise BadUserInput(f"`{value[:100]}` is not a valid id.") from None
    if expected_type is not None and parsed.type_name != expected_type:
        raise BadUserInput(f"`{value[:100]}` is a {parsed.type_name} id, not a {expected_type} id.")
    return parsed.type_name, parsed.node_id


def lead_key(lead_id: str) -> LeadKey:
    """The key of a `Lead` global id."""
    _, node_id = parse_global_id(lead_id, "Lead")
    return ids.lead_key(node_id)
