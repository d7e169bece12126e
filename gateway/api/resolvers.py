"""Resolvers: check GraphQL arguments, call the core, report what it survived.

Kept thin on purpose: what to fetch and how to merge lives in `gateway.core`. They return
the core's records; `types` (which calls them) wraps those in GraphQL types, so the
dependency runs one way.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, cast

import strawberry
from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField, Selection

from gateway import model
from gateway.api.context import Context
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
from gateway.errors import BadUserInput

if TYPE_CHECKING:
    from strawberry.types.info import Info

MAX_IDS = 100
ENTITY_TYPES = ("Meeting", "Lead", "ScheduledBot")
Node = model.Meeting | model.Lead | model.ScheduledBot


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


async def scheduled_bot(info: Info, id: str) -> model.ScheduledBot | None:
    """A bot by id; when the listing failed, this field is null with its error."""
    _, node_id = parse_global_id(id, "ScheduledBot")
    wanted = ids.bot_id(node_id)
    listing = await context(info).bots()
    if listing.outcome.error is not None:
        raise listing.outcome.error
    return next((bot for bot in listing.bots if bot.bot_id == wanted), None)


async def scheduled_bots(
    info: Info, first: int | None, after: str | None, filter: ScheduledBotFilterInput | None
) -> tuple[BotsPage, SourceOutcome]:
    """A page of bots, and what the bot source did (an empty page when it failed)."""
    bot_filter = BotFilter() if filter is None else filter.to_domain()
    listing = await _bots(info)
    return page_of_bots(listing.bots, bot_filter, first, after), listing.outcome


async def bots_of_meeting(info: Info, calendar_ids: tuple[str, ...]) -> list[model.ScheduledBot]:
    """The bots joining a meeting (naming its event by any of its ids); none, with the error
    reported, when the listing failed."""
    if not calendar_ids:
        return []
    listing = await _bots(info)
    return [b for b in listing.bots if b.calendar_event_id in calendar_ids]


async def _bots(info: Info) -> BotListing:
    ctx = context(info)
    listing = await ctx.bots()
    if listing.outcome.error is not None:
        ctx.report(info.path.as_list(), listing.outcome.error)
    return listing


async def meeting_of_bot(info: Info, calendar_event_id: str | None) -> model.Meeting | None:
    if calendar_event_id is None:
        return None
    return await context(info).meeting_by_event.load(calendar_event_id)


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
    the current field, fragments included."""
    return any(
        _has_path(field.selections, path.split("."))
        for field in info.selected_fields
        for path in paths
    )


def _has_path(selections: Iterable[Selection], path: list[str]) -> bool:
    first, rest = path[0], path[1:]
    return any(
        field.name == first and (not rest or _has_path(field.selections, rest))
        for field in _fields(selections)
    )


def _fields(selections: Iterable[Selection]) -> Iterator[SelectedField]:
    """The fields among `selections`, those of fragments included."""
    for selection in selections:
        if isinstance(selection, SelectedField):
            yield selection
        elif isinstance(selection, FragmentSpread | InlineFragment):
            yield from _fields(selection.selections)
