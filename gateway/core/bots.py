"""Scheduled bots as a connection: filter, order (join time, then bot id) and keyset pages.

A cursor is a position in that order, as for meetings, so a page stays right when the bot
it was taken from leaves the listing (it joined, or was cancelled).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from operator import attrgetter

from gateway.core.paging import PageArgs, page_size
from gateway.cursors import decode_cursor, encode_cursor, query_fingerprint
from gateway.errors import BadUserInput
from gateway.model import BotStatus, Platform, ScheduledBot
from gateway.query import Position, all_of, attribute_in

_KIND = "scheduledBots"  # in the fingerprint: a meetings cursor is no bots cursor
BotTest = Callable[[ScheduledBot], bool]


@dataclass(frozen=True, slots=True)
class BotFilter:
    """All parts combine with AND; None means "no condition"."""

    statuses: frozenset[BotStatus] | None = None
    platforms: frozenset[Platform] | None = None
    join_after: datetime | None = None  # inclusive
    join_before: datetime | None = None  # exclusive
    calendar_event_id: str | None = None

    def matches(self, bot: ScheduledBot) -> bool:
        test = self.predicate()
        return test is None or test(bot)

    def predicate(self) -> BotTest | None:
        """The filter as one test of only the conditions set; None when none is."""
        return _predicate(self)


@lru_cache(maxsize=64)
def _predicate(f: BotFilter) -> BotTest | None:
    """Built once per filter: the same few filters come on every page."""
    tests: list[BotTest] = []
    if f.statuses is not None:
        tests.append(attribute_in("status", f.statuses))
    if f.platforms is not None:
        tests.append(attribute_in("platform", f.platforms))
    if f.join_after is not None:
        tests.append(_joins_at_or_after(f.join_after))
    if f.join_before is not None:
        tests.append(_joins_before(f.join_before))
    if f.calendar_event_id is not None:
        tests.append(_of_event(f.calendar_event_id))
    return all_of(tests)


def _joins_at_or_after(moment: datetime) -> BotTest:
    return lambda bot: bot.scheduled_join_time >= moment


def _joins_before(moment: datetime) -> BotTest:
    return lambda bot: bot.scheduled_join_time < moment


def _of_event(event_id: str) -> BotTest:
    return lambda bot: bot.calendar_event_id == event_id


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
    test = bot_filter.predicate()
    # Cheap on the bot source's listing, earliest join first already: about one pass.
    matches = sorted(bots if test is None else filter(test, bots), key=_key)
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


_key: Callable[[ScheduledBot], tuple[datetime, str]] = attrgetter("scheduled_join_time", "bot_id")


def _position(bot: ScheduledBot) -> Position:
    return Position(bot.scheduled_join_time, bot.source, bot.bot_id)
