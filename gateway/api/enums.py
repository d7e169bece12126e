"""The GraphQL enums: the model's enums under names that are safe in a shared supergraph.

Another subgraph may well have its own `Source`, `Platform` or `Direction`; two enums of one
name must match exactly when either is used as an input, so ours carry the meeting domain in
their names. Strawberry fixes an enum's GraphQL name when a type first uses it, so every
enum is named here, once, and `inputs` and `types` import it from here: the names cannot
depend on which module is imported first.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum

import strawberry

from gateway import model
from gateway.errors import SourceState
from gateway.query import Direction, OrderField


def graphql_enum(enum: type[Enum], name: str, description: str, values: Mapping[str, str]) -> None:
    """Names `enum` in GraphQL as `name`, every value described (`values`: name → text)."""
    missing = [member.name for member in enum if member.name not in values]
    if missing or len(values) != len(enum):
        raise ValueError(f"{name}: describe exactly its values (missing: {missing})")
    strawberry.enum(enum, name=name, description=description)
    for value in enum.__strawberry_definition__.values:  # type: ignore[attr-defined]
        value.description = values[value.name]


MeetingSource = model.Source
graphql_enum(
    MeetingSource,
    "MeetingSource",
    "An upstream product the gateway reads. Merged meetings tie-break in this order "
    "(LEEZY < NEXOR < SALESLOFT < DAILY).",
    {
        "LEEZY": "Leezy: meetings booked by chatbots.",
        "NEXOR": "Nexor: meetings of sales leads (listed per lead, so it needs `leadIds`).",
        "MEETSTREAM": "MeetStream: bots scheduled to join meetings (`ScheduledBot`), no meetings.",
        "SALESLOFT": "Salesloft: meetings booked through cadences, with their people.",
        "DAILY": "Daily: video sessions that took place (no title, no email).",
    },
)

MeetingStatus = model.MeetingStatus
graphql_enum(
    MeetingStatus,
    "MeetingStatus",
    "Where a meeting stands, mapped from each source's own status (kept verbatim in "
    "`Meeting.sourceStatus`).",
    {
        "SCHEDULED": "Booked, not confirmed yet (Leezy, Nexor).",
        "CONFIRMED": "Booked and confirmed (Leezy, Nexor; Salesloft `booked` until it ends).",
        "IN_PROGRESS": "Taking place now (a Daily session still ongoing).",
        "COMPLETED": "Took place (Leezy, Nexor; Salesloft `booked` once it ended; a finished "
        "Daily session).",
        "CANCELLED": "Cancelled (Leezy, Nexor; Salesloft: `canceled_at` set, whatever its status).",
        "NO_SHOW": "The attendee did not come (Leezy, Nexor; Salesloft: `no_show` set).",
        "PENDING": "Salesloft is still booking it (`pending`, `retry`).",
        "FAILED": "Salesloft could not book it (`failed`).",
        "UNKNOWN": "A status the source added after this gateway's mapping: read "
        "`sourceStatus`. `status: [UNKNOWN]` finds these.",
    },
)

MeetingPlatform = model.Platform
graphql_enum(
    MeetingPlatform,
    "MeetingPlatform",
    "The video product a meeting (or a bot) is on.",
    {
        "GOOGLE_MEET": "Google Meet.",
        "ZOOM": "Zoom (regional hosts such as us02web.zoom.us included).",
        "TEAMS": "Microsoft Teams.",
        "DAILY": "A Daily room.",
        "OTHER": "Another video product, or a link on an unknown host.",
    },
)

MeetingLocationType = model.LocationType
graphql_enum(
    MeetingLocationType,
    "MeetingLocationType",
    "How people meet.",
    {
        "VIDEO": "A video call (see `platform` and `meetingUrl`).",
        "PHONE": "A phone call.",
        "IN_PERSON": "At a place (Salesloft: a location that is neither a link nor a phone).",
    },
)

AttendeeResponseStatus = model.ResponseStatus
graphql_enum(
    AttendeeResponseStatus,
    "AttendeeResponseStatus",
    "An attendee's answer to the invitation. Only Salesloft's invited attendees have one.",
    {
        "ACCEPTED": "Accepted.",
        "DECLINED": "Declined.",
        "TENTATIVE": "Maybe.",
        "NEEDS_ACTION": "Invited, no answer yet.",
        "UNKNOWN": "The source does not say (every source but Salesloft's invited attendees).",
    },
)

ScheduledBotStatus = model.BotStatus
graphql_enum(
    ScheduledBotStatus,
    "ScheduledBotStatus",
    "Where a MeetStream bot is in its life, mapped from MeetStream's status (kept verbatim "
    "in `ScheduledBot.sourceStatus`).",
    {
        "SCHEDULED": "Waiting for its join time.",
        "JOINING": "Joining, or in the waiting room.",
        "IN_MEETING": "In the meeting (recording included).",
        "STOPPED": "Left or done.",
        "FAILED": "Not let in, or denied.",
        "UNKNOWN": "A status MeetStream added after this gateway's mapping: read `sourceStatus`.",
    },
)

MeetingSourceState = SourceState
graphql_enum(
    MeetingSourceState,
    "MeetingSourceState",
    "What one source did for a field. Anything but OK comes with a `message`; a failure also "
    "with an error in `errors[]`.",
    {
        "OK": "Answered (possibly from the cache: see `cached` and `stale`).",
        "SKIPPED": "Not asked: it is not configured, or the filter excludes it (`message` "
        "says which).",
        "TIMEOUT": "Did not answer within its timeout.",
        "RATE_LIMITED": "Answered 429, or its rate limit is spent; `retryAfterSeconds` says "
        "when to try again.",
        "UNAUTHORIZED": "Refused the configured credentials.",
        "UNAVAILABLE": "Failed (5xx, connection lost).",
        "BAD_RESPONSE": "Answered something that is not its documented shape.",
        "CIRCUIT_OPEN": "Failing repeatedly, so not asked for a while.",
        "BUDGET_EXCEEDED": "Not asked: the operation had spent its upstream request budget.",
    },
)

MeetingOrderField = OrderField
graphql_enum(
    MeetingOrderField,
    "MeetingOrderField",
    "What meetings are sorted by. Ties are broken by source, then `sourceId`.",
    {
        "START_TIME": "When the meeting starts.",
        "CREATED_AT": "When it was booked; meetings without one (Daily) come last.",
        "UPDATED_AT": "When it last changed; meetings without one (Nexor, Daily) come last.",
    },
)

OrderDirection = Direction
graphql_enum(
    OrderDirection,
    "OrderDirection",
    "Sort direction. DESC is the exact reverse of ASC, except that nulls come last in both.",
    {"ASC": "Ascending: earliest first.", "DESC": "Descending: latest first."},
)
