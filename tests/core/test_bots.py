"""Pages of scheduled bots: filter, order by join time then id, keyset cursors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gateway.core.bots import BotFilter, BotsPage, page_of_bots
from gateway.errors import BadUserInput
from gateway.model import BotStatus, Platform, ScheduledBot

T0 = datetime(2026, 3, 10, 14, 0, tzinfo=UTC)


def bot(bot_id: str, minutes: int, status: BotStatus = BotStatus.SCHEDULED) -> ScheduledBot:
    return ScheduledBot(
        bot_id=bot_id,
        platform=Platform.ZOOM,
        status=status,
        source_status=status.value,
        scheduled_join_time=T0 + timedelta(minutes=minutes),
        username=None,
        calendar_event_id=f"event-{bot_id}",
        deduplication_key=None,
    )


# Several bots on the same instant: the id breaks the tie.
BOTS = [bot("c", 10), bot("a", 10), bot("b", 10), bot("z", 0), bot("d", 30, BotStatus.FAILED)]
ORDER = ["z", "a", "b", "c", "d"]


def ids(page: BotsPage) -> list[str]:
    return [edge.bot.bot_id for edge in page.edges]


def walk(bots: list[ScheduledBot], size: int, bot_filter: BotFilter) -> list[str]:
    seen: list[str] = []
    after: str | None = None
    while True:
        page = page_of_bots(bots, bot_filter, size, after)
        seen += ids(page)
        if not page.has_next_page:
            return seen
        after = page.edges[-1].cursor


@pytest.mark.parametrize("size", [1, 2, 3, 5, 100])
def test_pages_walk_every_bot_once_in_join_then_id_order(size: int) -> None:
    assert walk(BOTS, size, BotFilter()) == ORDER


def test_a_page_counts_and_tells_what_lies_around_it() -> None:
    first = page_of_bots(BOTS, BotFilter(), 2, None)
    assert (ids(first), first.total_count) == (["z", "a"], 5)
    assert (first.has_next_page, first.has_previous_page) == (True, False)
    second = page_of_bots(BOTS, BotFilter(), 2, first.edges[-1].cursor)
    assert ids(second) == ["b", "c"]
    assert (second.has_next_page, second.has_previous_page) == (True, True)


def test_a_cursor_outlives_its_bot() -> None:
    first = page_of_bots(BOTS, BotFilter(), 2, None)
    gone = [b for b in BOTS if b.bot_id != "a"]  # "a" joined its meeting and left the list
    assert ids(page_of_bots(gone, BotFilter(), 2, first.edges[-1].cursor)) == ["b", "c"]


def test_filters_combine_with_and() -> None:
    bot_filter = BotFilter(
        statuses=frozenset({BotStatus.SCHEDULED}),
        join_after=T0 + timedelta(minutes=5),
        join_before=T0 + timedelta(minutes=30),
    )
    assert walk(BOTS, 2, bot_filter) == ["a", "b", "c"]
    assert walk(BOTS, 2, BotFilter(calendar_event_id="event-d")) == ["d"]
    assert walk(BOTS, 2, BotFilter(platforms=frozenset({Platform.TEAMS}))) == []


def test_a_cursor_of_another_filter_or_a_forged_one_is_refused() -> None:
    cursor = page_of_bots(BOTS, BotFilter(), 1, None).edges[0].cursor
    with pytest.raises(BadUserInput, match="another filter"):
        page_of_bots(BOTS, BotFilter(statuses=frozenset({BotStatus.FAILED})), 1, cursor)
    for forged in ("", "not-a-cursor", cursor[:-4], "A" * 600):
        with pytest.raises(BadUserInput, match="not a valid cursor"):
            page_of_bots(BOTS, BotFilter(), 1, forged)


@pytest.mark.parametrize("size", [0, -1, 101, 10_000])
def test_page_sizes_out_of_range_are_refused(size: int) -> None:
    with pytest.raises(BadUserInput, match="between 1 and 100"):
        page_of_bots(BOTS, BotFilter(), size, None)


def spec_matches(f: BotFilter, b: ScheduledBot) -> bool:
    return all((
        f.statuses is None or b.status in f.statuses,
        f.platforms is None or b.platform in f.platforms,
        f.join_after is None or b.scheduled_join_time >= f.join_after,
        f.join_before is None or b.scheduled_join_time < f.join_before,
        f.calendar_event_id is None or b.calendar_event_id == f.calendar_event_id,
    ))  # fmt: skip


@pytest.mark.parametrize(
    "bot_filter",
    [
        BotFilter(statuses=frozenset({BotStatus.FAILED})),
        BotFilter(platforms=frozenset({Platform.ZOOM})),
        BotFilter(join_after=T0 + timedelta(minutes=10)),  # inclusive
        BotFilter(join_before=T0 + timedelta(minutes=10)),  # exclusive
        BotFilter(calendar_event_id="event-a"),
        BotFilter(statuses=frozenset({BotStatus.SCHEDULED}), join_after=T0, join_before=T0),
        BotFilter(statuses=frozenset({BotStatus.SCHEDULED}), calendar_event_id="event-b"),
    ],
    ids=repr,
)
def test_the_predicate_keeps_exactly_what_the_filter_states(bot_filter: BotFilter) -> None:
    test = bot_filter.predicate()
    assert test is not None
    assert [b for b in BOTS if test(b)] == [b for b in BOTS if spec_matches(bot_filter, b)]
    assert [b for b in BOTS if bot_filter.matches(b)] == [b for b in BOTS if test(b)]


def test_no_condition_is_no_predicate_and_a_filter_s_is_built_once() -> None:
    assert BotFilter().predicate() is None
    assert all(BotFilter().matches(b) for b in BOTS)
    statuses = frozenset({BotStatus.SCHEDULED})
    assert BotFilter(statuses=statuses).predicate() is BotFilter(statuses=statuses).predicate()
