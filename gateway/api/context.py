"""Per-request state: the gateway, one "now", DataLoaders, and upstream errors to report."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from strawberry.dataloader import DataLoader
from strawberry.fastapi import BaseContext

from gateway.core.gateway import BotListing, Gateway
from gateway.errors import UpstreamError
from gateway.model import Lead, LeadKey, Meeting, ScheduledBot


class Context(BaseContext):
    def __init__(self, gateway: Gateway, now: datetime | None = None) -> None:
        super().__init__()
        self.gateway = gateway
        self.now = now or datetime.now(UTC)  # one "now" for the whole request
        self.upstream_errors: list[ReportedError] = []
        self.live = False  # the answer shows live state (health): never cached whole
        self._bots: asyncio.Future[BotListing] | None = None
        self.meeting_by_event = DataLoader[str, Meeting | None](self._load_meetings_by_event)
        # What `meeting_by_event` found for a page of bots, to read without awaiting.
        self.known_meetings: dict[str, Meeting | None] = {}
        self.lead = DataLoader[LeadKey, Lead | None](self._load_leads)
        self.meeting = DataLoader[str, Meeting | None](self._load_meetings)

    def report(self, path: list[str | int], error: UpstreamError) -> None:
        """An upstream failure the query survived: it goes into `errors[]`, once, at the
        first field it failed (every field sharing a failed listing sees the same error)."""
        if all(reported.error is not error for reported in self.upstream_errors):
            self.upstream_errors.append(ReportedError(path, error))

    def bots(self) -> asyncio.Future[BotListing]:
        """The bot listing of this request, asked for once however many fields read it
        (from the first that wants it: the meetings of a page that selects their bots)."""
        if self._bots is None:
            self._bots = asyncio.ensure_future(self.gateway.bots())
        return self._bots

    async def _load_meetings_by_event(self, event_ids: list[str]) -> list[Meeting | None]:
        meetings = await self.gateway.meetings_by_event(event_ids, self.now)
        by_event = {calendar_id: m for m in meetings for calendar_id in m.calendar_ids}
        return [by_event.get(event_id) for event_id in event_ids]

    async def _load_meetings(self, node_ids: list[str]) -> list[Meeting | BaseException | None]:
        # `meeting`, `node` and `_entities` of one request share it: Salesloft ids in one call.
        return list(await self.gateway.meetings_by_id(node_ids, self.now))

    async def _load_leads(self, keys: list[LeadKey]) -> list[Lead | BaseException | None]:
        # Salesloft persons in one listing each; a failure stays with its keys.
        return list(await self.gateway.leads(keys))


@dataclass(frozen=True)
class ReportedError:
    path: list[str | int]
    error: UpstreamError


class BotView:
    """A bot as the `ScheduledBot` type reads it: the bot's own attributes, and `meeting()`,
    the meeting it joins, found without resolve info (so the executor completes that field
    with the bot's others instead of handing every bot to graphql-core)."""

    __slots__ = ("_context", "bot")

    def __init__(self, bot: ScheduledBot, context: Context) -> None:
        self.bot = bot
        self._context = context

    def __getattr__(self, name: str) -> Any:
        return getattr(self.bot, name)

    def meeting(self) -> Meeting | Awaitable[Meeting | None] | None:
        """At once when its page looked it up, else the request's loader's future (one
        batch for the bots that ask, the same future however often it is asked)."""
        event = self.bot.calendar_event_id
        if event is None:
            return None
        context = self._context
        if event in context.known_meetings:
            return context.known_meetings[event]
        return context.meeting_by_event.load(event)
