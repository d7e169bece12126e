"""Resolvers: check GraphQL arguments, call the core, report what it survived.

Kept thin on purpose: what to fetch and how to merge lives in `gateway.core`. They return
the core's records, which `types` (which calls them) declares as GraphQL types, so the
dependency runs one way.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, NamedTuple, cast

import strawberry
from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    SelectionSetNode,
)

from gateway import model
from gateway.api.context import BotView, Context
from gateway.api.inputs import (
    MeetingFilterInput,
    MeetingOrderInput,
    ScheduledBotFilterInput,
    lead_key,
    parse_global_id,
)
from gateway.core import ids
from gateway.core.bots import BotFilter, BotsPage, page_of_bots
from gateway.core.gateway import BotListing, MeetingsPage, SourceHealth, SourceOutcome
from gateway.core.paging import PageArgs
from gateway.errors import BadUserInput, UpstreamError

if TYPE_CHECKING:
    from strawberry.types.info import Info

MAX_IDS = 100
ENTITY_TYPES = ("Meeting", "Lead", "ScheduledBot")
Node = model.Meeting | model.Lead | BotView


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
) -> MeetingsPage:
    ctx = context(info)
    meeting_filter = (filter or MeetingFilterInput()).to_domain()
    if _selects(info, "edges.node.bots"):
        ctx.bots()  # asked beside the meetings, not after them: one round, not two
    if lead_node_id is not None:  # Lead.meetings: this lead, and the filter's leads if any
        this_lead = frozenset({ids.lead_key(lead_node_id)})
        wanted = meeting_filter.lead_ids
        lead_ids = this_lead if wanted is None else this_lead & wanted
        meeting_filter = dataclasses.replace(meeting_filter, lead_ids=lead_ids)
    page = await ctx.gateway.meetings(
        meeting_filter,
        (order_by or MeetingOrderInput()).to_domain(),
        PageArgs(first, after, last, before),
        now=ctx.now,
        count_total=_selects(info, "totalCount", "totalCountExact"),
    )
    for error in page.errors:
        ctx.report(info.path.as_list(), error)
    return page


async def meeting(info: Info, id: strawberry.ID) -> model.Meeting | None:
    _, node_id = parse_global_id(id, "Meeting")
    return await context(info).meeting.load(node_id)


async def lead(info: Info, id: strawberry.ID) -> model.Lead | None:
    return await context(info).lead.load(lead_key(id))


async def leads(info: Info, ids: list[strawberry.ID]) -> list[model.Lead | BaseException | None]:
    """Leads in the order asked; one that failed is its own error (a null item), the rest
    still answer."""
    if len(ids) > MAX_IDS:
        raise BadUserInput(f"`ids` takes at most {MAX_IDS} lead ids.")
    keys = [lead_key(lead_id) for lead_id in ids]
    loader = context(info).lead
    return await asyncio.gather(*(loader.load(key) for key in keys), return_exceptions=True)


async def node(info: Info, id: strawberry.ID) -> Node | None:
    type_name, _ = parse_global_id(id)
    if type_name not in ENTITY_TYPES:
        raise BadUserInput(f"`{id[:100]}` is not the id of a Meeting, Lead or ScheduledBot.")
    return await entity(info, type_name, {"id": id})


async def scheduled_bot(info: Info, id: str) -> BotView | None:
    """A bot by id; when the listing failed, this field is null with its error."""
    _, node_id = parse_global_id(id, "ScheduledBot")
    wanted = ids.bot_id(node_id)
    ctx = context(info)
    listing = await ctx.bots()
    if listing.outcome.error is not None:
        raise listing.outcome.error
    found = next((bot for bot in listing.bots if bot.bot_id == wanted), None)
    return None if found is None else BotView(found, ctx)


class BotEdgeView(NamedTuple):
    cursor: str
    bot: BotView


class BotsAnswer(NamedTuple):
    page: BotsPage
    edges: list[BotEdgeView]  # the page's, its bots as GraphQL reads them
    outcome: SourceOutcome  # what the bot source did (an empty page when it failed)


async def scheduled_bots(
    info: Info, first: int | None, after: str | None, filter: ScheduledBotFilterInput | None
) -> BotsAnswer:
    """A page of bots, with their meetings looked up together when the page asks for them:
    one batch, and no awaiting per bot."""
    bot_filter = BotFilter() if filter is None else filter.to_domain()
    listing = await _bots(info)
    page = page_of_bots(listing.bots, bot_filter, first, after)
    ctx = context(info)
    if _selects(info, "edges.node.meeting"):
        events = sorted({e.bot.calendar_event_id for e in page.edges if e.bot.calendar_event_id})
        try:
            found = await ctx.meeting_by_event.load_many(events)
        except UpstreamError:
            pass  # each bot's `meeting` then fails at its own path, as without the batch
        else:
            ctx.known_meetings.update(zip(events, found, strict=True))
    edges = [BotEdgeView(e.cursor, BotView(e.bot, ctx)) for e in page.edges]
    return BotsAnswer(page, edges, listing.outcome)


async def bots_of_meeting(info: Info, calendar_ids: tuple[str, ...]) -> list[BotView]:
    """The bots joining a meeting (naming its event by any of its ids); none, with the error
    reported, when the listing failed."""
    if not calendar_ids:
        return []
    listing = await _bots(info)
    ctx = context(info)
    return [BotView(b, ctx) for b in listing.bots if b.calendar_event_id in calendar_ids]


async def _bots(info: Info) -> BotListing:
    ctx = context(info)
    listing = await ctx.bots()
    if listing.outcome.error is not None:
        ctx.report(info.path.as_list(), listing.outcome.error)
    return listing


def sources(info: Info) -> list[SourceHealth]:
    ctx = context(info)
    ctx.live = True
    return ctx.gateway.health()


async def entity(info: Info, type_name: str, representation: dict[str, Any]) -> Node | None:
    """A Meeting, Lead or ScheduledBot by its global id (`node`, federation `_entities`)."""
    match type_name:
        case "Meeting":
            return await meeting(info, representation["id"])
        case "Lead":
            return await lead(info, representation["id"])
        case "ScheduledBot":
            return await scheduled_bot(info, representation["id"])
    raise BadUserInput(f"`{type_name}` is not an entity of this service.")


def _selects(info: Info, *paths: str) -> bool:
    """Whether any of the field `paths` ("totalCount", "edges.node.bots") is selected under
    the current field, fragments included. Reads graphql-core's syntax tree: strawberry's
    `selected_fields` would convert the whole selection (arguments, directives) first."""
    raw = info._raw_info
    return any(
        _has_path(node.selection_set, path.split("."), raw.fragments)
        for node in raw.field_nodes
        for path in paths
    )


def _has_path(
    selection_set: SelectionSetNode | None,
    path: list[str],
    fragments: dict[str, FragmentDefinitionNode],
) -> bool:
    first, rest = path[0], path[1:]
    return any(
        field.name.value == first and (not rest or _has_path(field.selection_set, rest, fragments))
        for field in _fields(selection_set, fragments)
    )


def _fields(
    selection_set: SelectionSetNode | None, fragments: dict[str, FragmentDefinitionNode]
) -> Iterator[FieldNode]:
    """The fields of `selection_set`, those of its fragments included."""
    for selection in selection_set.selections if selection_set else ():
        if isinstance(selection, FieldNode):
            yield selection
        elif isinstance(selection, InlineFragmentNode):
            yield from _fields(selection.selection_set, fragments)
        elif isinstance(selection, FragmentSpreadNode):
            fragment = fragments.get(selection.name.value)
            yield from _fields(fragment.selection_set if fragment else None, fragments)
