"""GraphQL inputs and their translation into validated domain queries."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry import relay

from gateway import query
from gateway.api.enums import (
    MeetingOrderField,
    MeetingPlatform,
    MeetingSource,
    MeetingStatus,
    OrderDirection,
    ScheduledBotStatus,
)
from gateway.core import ids
from gateway.core.bots import BotFilter
from gateway.errors import BadUserInput
from gateway.model import LeadKey

MAX_LIST_LENGTH = 100
MAX_TEXT_LENGTH = 200

# The Relay paging arguments, described once for every connection field that takes them.
First = Annotated[
    int | None,
    strawberry.argument(
        description="The first this many items after `after` (1-100). Default: 20, when "
        "`last` is not given either."
    ),
]
After = Annotated[
    str | None,
    strawberry.argument(
        description="An `endCursor` (or an edge's `cursor`) of this field with the same "
        "filter and order: the page starts after it."
    ),
]
Last = Annotated[
    int | None,
    strawberry.argument(
        description="The last this many items before `before` (1-100); not together with `first`."
    ),
]
Before = Annotated[
    str | None,
    strawberry.argument(
        description="A `startCursor` (or an edge's `cursor`) of this field with the same "
        "filter and order: the page ends before it."
    ),
]


@strawberry.input(
    name="MeetingFilter",
    description="Which meetings to list. Every condition given must hold (AND); a source "
    "that cannot answer one is SKIPPED, with the reason in `sources`.",
)
class MeetingFilterInput:
    sources: list[MeetingSource] | None = strawberry.field(
        default=None,
        description="Only these sources (at most 100 values). MEETSTREAM holds no meetings.",
    )
    status: list[MeetingStatus] | None = strawberry.field(
        default=None, description="Any of these statuses (at most 100 values)."
    )
    start_after: datetime | None = strawberry.field(
        default=None, description="Start at or after this instant (inclusive)."
    )
    start_before: datetime | None = strawberry.field(
        default=None, description="Start before this instant (exclusive)."
    )
    updated_since: datetime | None = strawberry.field(
        default=None,
        description="Changed at or after this instant (inclusive). Nexor and Daily keep no "
        "update time, so they are SKIPPED.",
    )
    upcoming: bool | None = strawberry.field(
        default=None,
        description="true: start after now; false: start at or before now. Daily sessions "
        "never start in the future, so true skips Daily.",
    )
    lead_ids: list[strawberry.ID] | None = strawberry.field(
        default=None,
        description="Meetings of these leads (`Lead.id`s, at most 100): only Nexor and "
        "Salesloft answer. Nexor lists meetings per lead only: without `leadIds` it is "
        "SKIPPED.",
    )
    chatbot_id: str | None = strawberry.field(
        default=None,
        description="Meetings booked by this Leezy chatbot (its Leezy id, 1-200 characters): "
        "only Leezy answers.",
    )
    attendee_email: str | None = strawberry.field(
        default=None,
        description="An attendee's email, organizer included; case-insensitive exact match "
        "(1-200 characters). Daily has no emails, so it is SKIPPED.",
    )
    search: str | None = strawberry.field(
        default=None,
        description="Case-insensitive substring of the title (1-200 characters). Daily "
        "sessions have no title, so Daily is SKIPPED.",
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


@strawberry.input(
    name="MeetingOrder",
    description="How meetings are sorted: by `field`, then source, then "
    "`sourceId`, all in `direction`.",
)
class MeetingOrderInput:
    field: MeetingOrderField = strawberry.field(
        default=MeetingOrderField.START_TIME, description="The sort key. Default: START_TIME."
    )
    direction: OrderDirection = strawberry.field(
        default=OrderDirection.DESC, description="Default: DESC (newest first)."
    )

    def to_domain(self) -> query.Ordering:
        return query.Ordering(self.field, self.direction)


MeetingOrderBy = Annotated[
    MeetingOrderInput | None, strawberry.argument(description="Default: START_TIME DESC.")
]


@strawberry.input(
    name="ScheduledBotFilter",
    description="Which bots to list. Every condition given must hold (AND).",
)
class ScheduledBotFilterInput:
    status: list[ScheduledBotStatus] | None = strawberry.field(
        default=None, description="Any of these statuses."
    )
    platform: list[MeetingPlatform] | None = strawberry.field(
        default=None, description="On any of these platforms."
    )
    join_after: datetime | None = strawberry.field(
        default=None, description="Joining at or after this instant (inclusive)."
    )
    join_before: datetime | None = strawberry.field(
        default=None, description="Joining before this instant (exclusive)."
    )
    calendar_event_id: str | None = strawberry.field(
        default=None,
        description="Joining this calendar event (a Salesloft meeting's event id or iCal UID).",
    )

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
