"""`answer_from` and `OrderedViews`, the pure help of sources that read whole listings:
sorted once per version of the pages, cut at the cursor as the ordering says, ties
included."""

from __future__ import annotations

import dataclasses
import itertools
import random
from datetime import timedelta

import pytest

from gateway.model import Meeting, MeetingStatus, Source
from gateway.query import Direction, MeetingFilter, OrderField, Ordering
from gateway.sources.base import MeetingRequest, OrderedViews, answer_from
from tests.test_query import NOW, meeting

ORDERINGS = [
    Ordering(field, direction, backwards)
    for field, direction, backwards in itertools.product(OrderField, Direction, (False, True))
]


def listing(count: int, seed: int) -> tuple[Meeting, ...]:
    """Many meetings on few instants (ties), some without an update time (nulls)."""
    rng = random.Random(seed)
    return tuple(
        dataclasses.replace(
            meeting(
                rng.choice((Source.LEEZY, Source.DAILY)),
                f"m{n}",
                rng.randrange(5) * 30,
                created_at=NOW - timedelta(days=rng.randrange(3)),
                updated_at=None if n % 4 == 0 else NOW - timedelta(hours=rng.randrange(3)),
            ),
            status=rng.choice((MeetingStatus.CONFIRMED, MeetingStatus.CANCELLED)),
        )
        for n in range(count)
    )


@pytest.mark.parametrize("ordering", ORDERINGS, ids=str)
def test_a_cut_at_any_position_keeps_exactly_what_lies_after_it(ordering: Ordering) -> None:
    meetings = listing(60, seed=7)
    flt = MeetingFilter(statuses=frozenset({MeetingStatus.CONFIRMED}))
    ordered = OrderedViews().ordered("listing", (meetings,), ordering)
    for cursor in (None, *meetings):
        after = None if cursor is None else ordering.position(cursor)
        request = MeetingRequest(flt, ordering, after=after, now=NOW)
        answer = answer_from(ordered, request, ordered=True)
        assert answer == answer_from(reversed(meetings), request)  # sorting itself: the same
        matching = [m for m in meetings if flt.matches(m, NOW)]
        following = [m for m in matching if after is None or ordering.is_after(m, after)]
        assert answer.meetings == sorted(following, key=ordering.meeting_key)
        assert answer.total == len(matching)
        assert answer.has_before == (len(following) < len(matching))


def test_a_view_is_sorted_once_per_version_of_its_pages() -> None:
    views, ordering = OrderedViews(), Ordering()
    first, second = listing(10, seed=1), listing(10, seed=2)
    view = views.ordered("listing", (first, second), ordering)
    assert views.ordered("listing", (first, second), ordering) is view
    assert views.ordered("other", (first, second), ordering) is not view
    assert views.ordered("listing", (first, second), ordering.reversed()) is not view
    newer = (*second,)  # equal content, another version: sorted again
    assert views.ordered("listing", (first, newer), ordering) is not view
    assert views.ordered("listing", (first, newer), ordering) == view


def test_a_meeting_repeated_across_pages_counts_once_as_its_last_copy() -> None:
    old = meeting(Source.LEEZY, "m1", 0, title="old")
    new = meeting(Source.LEEZY, "m1", 60, title="new")
    view = OrderedViews().ordered("listing", ((old,), (new,)), Ordering())
    assert view == [new]


def test_views_are_bounded() -> None:
    views, meetings = OrderedViews(max_views=2), listing(3, seed=3)
    kept = views.ordered("a", (meetings,), Ordering())
    views.ordered("b", (meetings,), Ordering())
    views.ordered("c", (meetings,), Ordering())
    assert views.ordered("a", (meetings,), Ordering()) is not kept  # evicted, sorted again
