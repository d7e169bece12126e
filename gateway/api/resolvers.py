"""Resolvers: translate GraphQL arguments, call the aggregation layer, wrap the results.

Kept thin on purpose: what to fetch and how to merge lives in `gateway.aggregate`.
"""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, cast

import strawberry
from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField, Selection

from gateway.aggregate import PageArgs, page_size
from gateway.api.context import ALL_BOTS, Context
from gateway.api.inputs import (
    MeetingFilterInput,
    MeetingOrderInput,
    ScheduledBotFilterInput,
    lead_key,
    parse_global_id,
)
from gateway.api.types import (
    Lead,
    Meeting,
    MeetingConnection,
    MeetingEdge,
    PageInfo,
    ScheduledBot,
    ScheduledBotConnection,
    ScheduledBotEdge,
    SourceHealth,
    SourceResult,
)
from gateway.errors import BadUserInput
from gateway.model import ScheduledBot as BotModel
from gateway.model import Source

if TYPE_CHECKING:
    from strawberry.types.info import Info

MAX_IDS = 100
ENTITY_TYPES = ("Meeting", "Lead", "ScheduledBot")


def context(info: Info) -> Context:
    return cast(Context, info.context)


async def meetings(
    info: Info,
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
    filter: MeetingFilterInput | None,
    order_by: MeetingOrderInput | None,
    *,
    lead_node_id: str | None = None,
) -> MeetingConnection:
    ctx = context(info)
    gateway = ctx.gateway
    meeting_filter = (filter or MeetingFilterInput()).to_domain(gateway)
    if lead_node_id is not None:  # Lead.meetings: this lead, and the filter's leads if any
        this_lead = frozenset({gateway.lead_key(lead_node_id)})
        wanted = meeting_filter.lead_ids
        lead_ids = this_lead if wanted is None else this_lead & wanted
        meeting_filter = dataclasses.replace(meeting_filter, lead_ids=lead_ids)
    ordering = (order_by or MeetingOrderInput()).to_domain()
    page = await gateway.meetings(
        meeting_filter,
        ordering,
        PageArgs(first, after, last, before),
        now=ctx.now,
        count_total=_selects(info.selected_fields, "totalCount"),
    )
    for error in page.errors:
        ctx.report(info.path.as_list(), error)
    edges = [MeetingEdge(cursor=e.cursor, node=Meeting.from_model(e.meeting)) for e in page.edges]
    return MeetingConnection(
        edges=edges,
        page_info=_page_info([e.cursor for e in edges], page.has_next_page, page.has_previous_page),
        sources=[SourceResult.from_outcome(o) for o in page.outcomes],
        total_count_value=page.total_count,
    )


async def meeting(info: Info, id: strawberry.ID) -> Meeting | None:
    _, node_id = parse_global_id(id, "Meeting")
    ctx = context(info)
    found = await ctx.meeting.load(node_id)
    return None if found is None else Meeting.from_model(found)


async def lead(info: Info, id: strawberry.ID) -> Lead | None:
    ctx = context(info)
    found = await ctx.lead.load(lead_key(ctx.gateway, id))
    return None if found is None else Lead.from_model(found)


async def leads(info: Info, ids: list[strawberry.ID]) -> list[Lead | None]:
    if len(ids) > MAX_IDS:
        raise BadUserInput(f"`ids` takes at most {MAX_IDS} lead ids.")
    ctx = context(info)
    keys = [lead_key(ctx.gateway, lead_id) for lead_id in ids]
    found = await ctx.lead.load_many(keys)
    return [None if item is None else Lead.from_model(item) for item in found]


async def node(info: Info, id: strawberry.ID) -> Meeting | Lead | ScheduledBot | None:
    type_name, _ = parse_global_id(id)
    match type_name:
        case "Meeting":
            return await meeting(info, id)
        case "Lead":
            return await lead(info, id)
        case "ScheduledBot":
            return await scheduled_bot(info, id)
    raise BadUserInput(f"`{id[:100]}` is not the id of a Meeting, Lead or ScheduledBot.")


async def scheduled_bot(info: Info, id: str) -> ScheduledBot | None:
    _, node_id = parse_global_id(id, "ScheduledBot")
    prefix, _, bot_id = node_id.partition(":")
    if prefix != Source.MEETSTREAM.value or not bot_id:
        raise BadUserInput(f"`{id[:100]}` is not a ScheduledBot id.")
    bots = await context(info).bots.load(ALL_BOTS)
    found = next((bot for bot in bots if bot.bot_id == bot_id), None)
    return None if found is None else ScheduledBot.from_model(found)


async def scheduled_bots(
    info: Info, first: int | None, after: str | None, filter: ScheduledBotFilterInput | None
) -> ScheduledBotConnection:
    size, _ = page_size(PageArgs(first=first))
    bots = [b for b in await context(info).bots.load(ALL_BOTS) if _bot_matches(b, filter)]
    bots.sort(key=lambda b: (b.scheduled_join_time, b.bot_id))
    start = 0
    if after is not None:
        start = next((i + 1 for i, b in enumerate(bots) if _bot_cursor(b) == after), -1)
        if start < 0:
            raise BadUserInput("`after` is not a cursor of this list: start again from the top.")
    page = bots[start : start + size]
    edges = [ScheduledBotEdge(cursor=_bot_cursor(b), node=ScheduledBot.from_model(b)) for b in page]
    return ScheduledBotConnection(
        edges=edges,
        page_info=_page_info(
            [e.cursor for e in edges], start + size < len(bots), has_previous=start > 0
        ),
        total_count=len(bots),
    )


async def bots_of_meeting(info: Info, calendar_event_id: str | None) -> list[ScheduledBot]:
    if calendar_event_id is None:
        return []
    bots = await context(info).bots.load(ALL_BOTS)
    return [ScheduledBot.from_model(b) for b in bots if b.calendar_event_id == calendar_event_id]


async def meeting_of_bot(info: Info, calendar_event_id: str | None) -> Meeting | None:
    if calendar_event_id is None:
        return None
    found = await context(info).meeting_by_event.load(calendar_event_id)
    return None if found is None else Meeting.from_model(found)


def sources(info: Info) -> list[SourceHealth]:
    gateway_sources = context(info).gateway.sources
    clients = gateway_sources.clients()
    health = []
    for source in Source:
        settings = gateway_sources.settings.source(source)
        client = clients.get(source)
        health.append(
            SourceHealth(
                source=source,
                enabled=client is not None,
                base_url=settings.base_url,
                last_success_at=None if client is None else client.health.last_success_at,
                last_error=None if client is None else client.health.last_error,
            )
        )
    return health


async def entity(info: Info, type_name: str, representation: dict[str, Any]) -> Any:
    """Federation `_entities`: representations were validated by the schema."""
    match type_name:
        case "Meeting":
            return await meeting(info, representation["id"])
        case "Lead":
            return await lead(info, representation["id"])
        case "ScheduledBot":
            return await scheduled_bot(info, representation["id"])
    raise BadUserInput(f"`{type_name}` is not an entity of this service.")


def _bot_matches(bot: BotModel, bot_filter: ScheduledBotFilterInput | None) -> bool:
    if bot_filter is None:
        return True
    join = bot.scheduled_join_time
    return all(
        (
            bot_filter.status is None or bot.status in bot_filter.status,
            bot_filter.platform is None or bot.platform in bot_filter.platform,
            bot_filter.join_after is None or join >= bot_filter.join_after,
            bot_filter.join_before is None or join < bot_filter.join_before,
            bot_filter.calendar_event_id is None
            or bot.calendar_event_id == bot_filter.calendar_event_id,
        )
    )


def _bot_cursor(bot: BotModel) -> str:
    return base64.urlsafe_b64encode(f"bot:{bot.bot_id}".encode()).decode()


def _page_info(cursors: list[str], has_next: bool, has_previous: bool) -> PageInfo:
    return PageInfo(
        has_next_page=has_next,
        has_previous_page=has_previous,
        start_cursor=cursors[0] if cursors else None,
        end_cursor=cursors[-1] if cursors else None,
    )


def _selects(selections: Iterable[Selection], name: str) -> bool:
    """Whether `name` is selected directly under the current field, fragments included."""
    for selection in selections:
        if isinstance(selection, SelectedField):
            children = selection.selections
            if any(_has_field(child, name) for child in children):
                return True
    return False


def _has_field(selection: Selection, name: str) -> bool:
    if isinstance(selection, SelectedField):
        return selection.name == name
    if isinstance(selection, FragmentSpread | InlineFragment):
        return any(_has_field(child, name) for child in selection.selections)
    return False
