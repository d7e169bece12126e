"""GraphQL object types, resolved straight from the model's and the core's records.

These classes declare the schema; their values are the immutable records the sources keep
(`model.Meeting`, `core.MeetingsPage`...), read as they are: nothing is copied per query,
and a field costs only when it is selected. Fields named as the record's attributes read
them; the few that differ are small functions of their record (`root`), which the executor
calls directly (`execution`); fields that need I/O call `resolvers`. Each type's
`is_type_of` names the record it stands for, which resolves `Node` and `_Entity`.
"""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import datetime
from typing import Annotated, cast

import strawberry
from strawberry.relay.utils import to_base64
from strawberry.scalars import JSON

from gateway import model
from gateway.api import resolvers
from gateway.api.context import BotView
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
from gateway.core.bots import BotsPage

ID_DESCRIPTION = "The Globally Unique ID of this object"


@strawberry.interface(name="Node", description="An object with a Globally Unique ID")
class Node:
    """Relay's interface. Each type's `id` is a function of its record (base64 of
    `<type>:<node id>`, as strawberry's relay ids), made only when selected: strawberry's
    `relay.Node` would resolve it through a resolver per object."""

    id: strawberry.ID = strawberry.field(description=ID_DESCRIPTION)


def global_id(type_name: str, node_id: str) -> strawberry.ID:
    # strawberry's encoding, the twin of the decoding `inputs.parse_global_id` uses
    return strawberry.ID(to_base64(type_name, node_id))


def _lead_id(root: model.Lead) -> strawberry.ID:
    return global_id("Lead", root.key.node_id)


def _lead_source(root: model.Lead) -> model.Source:
    return root.key.source


def _lead_source_id(root: model.Lead) -> str:
    return root.key.source_id


async def _lead_meetings(
    root: model.Lead,
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
) -> core.MeetingsPage:
    return await resolvers.meetings(
        info, first, after, last, before, filter, order_by, lead_node_id=root.key.node_id
    )


@strawberry.federation.type(
    keys=["id"],
    name="Lead",
    description="A person a meeting was booked with, in a sales system: a Nexor lead or a "
    "Salesloft person. Its id is base64 of `Lead:nexor:<lead UUID>` or "
    "`Lead:salesloft:<person id>`, so a client holding the upstream id can build it.",
)
class Lead(Node):
    id: strawberry.ID = strawberry.field(resolver=_lead_id, description=ID_DESCRIPTION)
    source: MeetingSource = strawberry.field(
        resolver=_lead_source, description="NEXOR or SALESLOFT."
    )
    source_id: str = strawberry.field(
        resolver=_lead_source_id,
        description="The upstream id: a Nexor lead UUID, or a Salesloft person id as text.",
    )
    name: str | None = strawberry.field(
        description="Full name as the sales system gives it; null when it has none."
    )
    email: str | None = strawberry.field(
        description="Email address as the sales system gives it; null when it has none."
    )

    meetings: core.MeetingsPage = strawberry.field(
        resolver=_lead_meetings,
        graphql_type=Annotated["MeetingConnection", strawberry.lazy("gateway.api.types")],
        description="This lead's meetings, merged across sources (Nexor and Salesloft), as "
        "`Query.meetings` with this lead in `leadIds`.",
    )

    @classmethod
    def is_type_of(cls, obj: object, info: object) -> bool:
        return isinstance(obj, model.Lead)


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


def _meeting_id(root: model.Meeting) -> strawberry.ID:
    return global_id("Meeting", root.node_id)


def _raw(root: model.Meeting) -> JSON:
    return cast(JSON, dict(root.raw))  # a JSON object again (the record's view is read-only)


async def _meeting_bots(root: model.Meeting, info: strawberry.Info) -> list[BotView]:
    return await resolvers.bots_of_meeting(info, root.calendar_ids)


@strawberry.federation.type(
    keys=["id"],
    name="Meeting",
    description="One meeting as one upstream record (a Daily session is one too). Its id is "
    "base64 of `Meeting:<source>:<sourceId>` (a Nexor meeting: "
    "`Meeting:nexor:<lead UUID>:<meeting id>`).",
)
class Meeting(Node):
    id: strawberry.ID = strawberry.field(resolver=_meeting_id, description=ID_DESCRIPTION)
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
        resolver=_raw,
        description="The upstream record as received (its shape is the vendor's): for what "
        "the normalized fields leave out.",
    )
    bots: list[BotView] = strawberry.field(
        resolver=_meeting_bots,
        graphql_type=list[Annotated["ScheduledBot", strawberry.lazy("gateway.api.types")]],
        description="MeetStream bots scheduled to join it, found by its calendar event (only "
        "Salesloft meetings have one); empty when MeetStream failed, with an error.",
    )

    @classmethod
    def is_type_of(cls, obj: object, info: object) -> bool:
        return isinstance(obj, model.Meeting)


def _bot_id(root: BotView) -> strawberry.ID:
    return global_id("ScheduledBot", root.bot.node_id)


def _bot_meeting(root: BotView) -> model.Meeting | Awaitable[model.Meeting | None] | None:
    return root.meeting()


@strawberry.federation.type(
    keys=["id"],
    name="ScheduledBot",
    description="A MeetStream bot scheduled to join a meeting (to record it). Its id is "
    "base64 of `ScheduledBot:meetstream:<botId>`.",
)
class ScheduledBot(Node):
    id: strawberry.ID = strawberry.field(resolver=_bot_id, description=ID_DESCRIPTION)
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
    meeting: model.Meeting | Awaitable[model.Meeting | None] | None = strawberry.field(
        resolver=_bot_meeting,
        graphql_type=Meeting | None,
        description="The Salesloft meeting on the calendar event it joins; null when there is "
        "none or Salesloft failed (then with an error).",
    )

    @classmethod
    def is_type_of(cls, obj: object, info: object) -> bool:
        return isinstance(obj, BotView)


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
    def of(cls, page: core.MeetingsPage | BotsPage) -> PageInfo:
        edges = page.edges
        return cls(
            has_next_page=page.has_next_page,
            has_previous_page=page.has_previous_page,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
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


@strawberry.type(name="MeetingEdge", description="One meeting of a page, with its cursor.")
class MeetingEdge:
    cursor: str = strawberry.field(
        description="Opaque; pass it as `after` or `before` to page from this meeting."
    )
    meeting: Meeting = strawberry.field(name="node", description="The meeting.")


def _page_info(root: core.MeetingsPage) -> PageInfo:
    return PageInfo.of(root)


def _total_count(root: core.MeetingsPage) -> int:
    return root.total_count or 0  # counted whenever this field is selected


@strawberry.type(
    name="MeetingConnection",
    description="A page of meetings merged across sources, and what each source did for it.",
)
class MeetingConnection:
    edges: list[MeetingEdge] = strawberry.field(description="The page's meetings, in order.")
    page_info: PageInfo = strawberry.field(
        resolver=_page_info, description="Whether there is more, and cursors."
    )
    outcomes: list[SourceResult] = strawberry.field(
        name="sources",
        description="Each meeting source and what it did for this page (skipped, failed, "
        "cached): a failed source's meetings are missing, the others' are here.",
    )
    total_count: int = strawberry.field(
        resolver=_total_count,
        description=(
            "Every match after filtering, across the sources that answered: exact, unless"
            " `totalCountExact` is false (then at least this many)."
        ),
    )
    total_count_exact: bool = strawberry.field(
        description=(
            "false: at least one source counted a lower bound; see its message in `sources`."
        )
    )


@strawberry.type(name="ScheduledBotEdge", description="One bot of a page, with its cursor.")
class ScheduledBotEdge:
    cursor: str = strawberry.field(description="Opaque; pass it as `after` to page on.")
    bot: ScheduledBot = strawberry.field(name="node", description="The bot.")


def _bot_edges(root: resolvers.BotsAnswer) -> list[resolvers.BotEdgeView]:
    return root.edges


def _bots_page_info(root: resolvers.BotsAnswer) -> PageInfo:
    return PageInfo.of(root.page)


def _bots_total_count(root: resolvers.BotsAnswer) -> int:
    return root.page.total_count


def _bots_outcomes(root: resolvers.BotsAnswer) -> list[core.SourceOutcome]:
    return [root.outcome]


@strawberry.type(
    name="ScheduledBotConnection",
    description="A page of MeetStream bots, earliest join first (then by `botId`).",
)
class ScheduledBotConnection:
    edges: list[resolvers.BotEdgeView] = strawberry.field(
        resolver=_bot_edges,
        graphql_type=list[ScheduledBotEdge],
        description="The page's bots, in order.",
    )
    page_info: PageInfo = strawberry.field(
        resolver=_bots_page_info, description="Whether there is more, and cursors."
    )
    total_count: int = strawberry.field(
        resolver=_bots_total_count,
        description="Every bot matching the filter (0 when MeetStream failed).",
    )
    sources: list[core.SourceOutcome] = strawberry.field(
        resolver=_bots_outcomes,
        graphql_type=list[SourceResult],
        description="What the bot source did for this page (no bots when it failed).",
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
