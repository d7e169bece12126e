"""Scheduled bots as a connection: filter, order (join time, then bot id) and keyset pages.

A cursor is a position in that order, as for meetings, so a page stays right when the bot
it was taken from leaves the listing (it joined, or was cancelled).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from gateway.core.paging import PageArgs, page_size
from gateway.cursors import decode_cursor, encode_cursor, query_fingerprint
from gateway.errors import BadUserInput
from gateway.model import BotStatus, Platform, ScheduledBot
from gateway.query import Position

_KIND = "scheduledBots"  # in the fingerprint: a meetings cursor is no bots cursor


@dataclass(frozen=True, slots=True)
class BotFilter:
    """All parts combine with AND; None means "no condition"."""

    statuses: frozenset[BotStatus] | None = None
    platforms: frozenset[Platform] | None = None
    join_after: datetime | None = None  # inclusive
    join_before: datetime | None = None  # exclusive
    calendar_event_id: str | None = None

    def matches(self, bot: ScheduledBot) -> bool:
        join = bot.scheduled_join_time
        return all(
            (
                self.statuses is None or bot.status in self.statuses,
                self.platforms is None or bot.platform in self.platforms,
                self.join_after is None or join >= self.join_after,
                self.join_before is None or join < self.join_before,
                self.calendar_event_id is None or bot.calendar_event_id == self.calendar_event_id,
            )
        )


@dataclass(frozen=True)
class BotEdge:
    cursor: str
    bot: ScheduledBot


@dataclass(frozen=True)
class BotsPage:
    edges: list[BotEdge]
    has_next_page: bool
    has_previous_page: bool
    total_count: int


def page_of_bots(
    bots: Sequence[ScheduledBot], bot_filter: BotFilter, first: int | None, after: str | None
) -> BotsPage:
    """The page of `first` matching bots after the `after` cursor, earliest join first."""
    size, _ = page_size(PageArgs(first=first))
    fingerprint = query_fingerprint(_KIND, bot_filter)
    matches = sorted((b for b in bots if bot_filter.matches(b)), key=_key)
    following = matches
    if after is not None:
        position, _ = decode_cursor(after, fingerprint, argument="after")
        if position.value is None:  # every bot has a join time: not one of ours
            raise BadUserInput("`after` is not a valid cursor: use a cursor from this field.")
        start = (position.value, position.source_id)
        following = [b for b in matches if _key(b) > start]
    page = following[:size]
    return BotsPage(
        edges=[BotEdge(encode_cursor(_position(b), fingerprint, {}), b) for b in page],
        has_next_page=len(following) > size,
        has_previous_page=len(following) < len(matches),
        total_count=len(matches),
    )


def _key(bot: ScheduledBot) -> tuple[datetime, str]:
    return bot.scheduled_join_time, bot.bot_id


def _position(bot: ScheduledBot) -> Position:
    return Position(bot.scheduled_join_time, bot.source, bot.bot_id)
