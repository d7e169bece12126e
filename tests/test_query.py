"""The meeting query's pure parts: the filter, the merged order, the canonical form."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from gateway.cursors import query_fingerprint
from gateway.model import Attendee, Lead, LeadKey, Meeting, MeetingStatus, Source
from gateway.query import Direction, MeetingFilter, OrderField, Ordering, canonical

NOW = datetime(2026, 3, 10, 14, 0, tzinfo=UTC)


def meeting(source: Source, source_id: str, minutes: int, **fields: object) -> Meeting:
    return Meeting(
        source=source,
        source_id=source_id,
        status=MeetingStatus.CONFIRMED,
        source_status="confirmed",
        start_time=NOW + timedelta(minutes=minutes),
        **fields,  # type: ignore[arg-type]
    )


def test_the_canonical_form_covers_every_filter_field() -> None:
    form = canonical(MeetingFilter())
    assert set(form) == {f.name for f in dataclasses.fields(MeetingFilter)}


def test_the_canonical_form_ignores_set_order_and_email_case() -> None:
    keys = [LeadKey(Source.NEXOR, "b"), LeadKey(Source.SALESLOFT, "1"), LeadKey(Source.NEXOR, "a")]
    one = MeetingFilter(lead_ids=frozenset(keys), attendee_email="Ada@Example.com")
    other = MeetingFilter(lead_ids=frozenset(reversed(keys)), attendee_email="ada@example.COM")
    assert canonical(one) == canonical(other)
    assert canonical(MeetingFilter(search="Demo")) != canonical(MeetingFilter(search="demo"))


def test_a_new_filter_field_is_part_of_the_fingerprint_without_more_code() -> None:
    # A filter grown by one field: its values tell fingerprints apart on their own.
    grown = dataclasses.make_dataclass(
        "GrownFilter",
        [("platform", str | None, dataclasses.field(default=None))],
        bases=(MeetingFilter,),
        frozen=True,
    )
    ordering = Ordering()
    plain = query_fingerprint("meetings", grown(), ordering.field, ordering.direction)
    zoom = query_fingerprint("meetings", grown(platform="ZOOM"), ordering.field, ordering.direction)
    teams = query_fingerprint(
        "meetings", grown(platform="TEAMS"), ordering.field, ordering.direction
    )
    assert len({plain, zoom, teams}) == 3


def test_values_without_a_canonical_form_are_refused() -> None:
    with pytest.raises(TypeError, match="no canonical form for float"):
        canonical(MeetingFilter(search=1.5))  # type: ignore[arg-type]


def test_filters_combine_with_and() -> None:
    demo = meeting(Source.LEEZY, "1", 30, title="Product demo", chatbot_id="bot-1")
    assert MeetingFilter(search="DEMO", upcoming=True, chatbot_id="bot-1").matches(demo, NOW)
    assert not MeetingFilter(search="demo", upcoming=False).matches(demo, NOW)
    assert not MeetingFilter(statuses=frozenset({MeetingStatus.CANCELLED})).matches(demo, NOW)
    assert MeetingFilter(start_after=demo.start_time).matches(demo, NOW)  # inclusive
    assert not MeetingFilter(start_before=demo.start_time).matches(demo, NOW)  # exclusive


def test_the_merged_order_breaks_ties_by_source_then_id() -> None:
    tied = [
        meeting(Source.DAILY, "a", 0),
        meeting(Source.LEEZY, "b", 0),
        meeting(Source.LEEZY, "a", 0),
        meeting(Source.SALESLOFT, "a", 10),
    ]
    ascending = Ordering(OrderField.START_TIME, Direction.ASC)
    order = [(m.source.name, m.source_id) for m in sorted(tied, key=ascending.meeting_key)]
    assert order == [("LEEZY", "a"), ("LEEZY", "b"), ("DAILY", "a"), ("SALESLOFT", "a")]
    descending = sorted(tied, key=Ordering(direction=Direction.DESC).meeting_key)
    assert descending == sorted(tied, key=ascending.meeting_key)[::-1]
    backwards = sorted(tied, key=ascending.reversed().meeting_key)
    assert backwards == descending


def test_meetings_without_a_sort_value_come_last_both_ways() -> None:
    undated = meeting(Source.LEEZY, "x", 0)
    dated = meeting(Source.LEEZY, "y", 0, created_at=NOW)
    for direction in Direction:
        ordering = Ordering(OrderField.CREATED_AT, direction)
        assert sorted([undated, dated], key=ordering.meeting_key) == [dated, undated]


# --- filtering many meetings: one test of only the conditions set ---------------------------


def varied_meetings() -> list[Meeting]:
    """Meetings that differ in every filtered and sorted field, with the nulls each may
    hold, and ties of sort values across sources."""
    lead = Lead(LeadKey(Source.SALESLOFT, "7"), None, None)
    varied = [
        meeting(
            (Source.LEEZY, Source.SALESLOFT, Source.DAILY)[n % 3],
            f"m{n}",
            (n % 7 - 3) * 30,
            title=(None, "Product demo", "Intro call", "Weekly CALL")[n % 4],
            attendees=(Attendee("Ada", None if n % 5 == 1 else "Ada@Example.com"),),
            lead=lead if n % 5 == 0 else None,
            chatbot_id="bot-1" if n % 2 else None,
            created_at=(None, NOW, NOW, NOW - timedelta(days=1))[n % 4],
            updated_at=None if n % 6 == 0 else NOW - timedelta(hours=n % 4),
        )
        for n in range(48)
    ]
    return [
        dataclasses.replace(m, status=MeetingStatus.CANCELLED) if n % 8 == 0 else m
        for n, m in enumerate(varied)
    ]


def spec_matches(f: MeetingFilter, m: Meeting, now: datetime) -> bool:
    """The filter as the README states it, condition by condition."""
    wanted_email = None if f.attendee_email is None else f.attendee_email.casefold()
    return all((
        f.sources is None or m.source in f.sources,
        f.statuses is None or m.status in f.statuses,
        f.start_after is None or m.start_time >= f.start_after,
        f.start_before is None or m.start_time < f.start_before,
        f.updated_since is None or (m.updated_at is not None and m.updated_at >= f.updated_since),
        f.upcoming is None or (m.start_time > now) == f.upcoming,
        f.lead_ids is None or (m.lead is not None and m.lead.key in f.lead_ids),
        f.chatbot_id is None or m.chatbot_id == f.chatbot_id,
        wanted_email is None
        or any(a.email is not None and a.email.casefold() == wanted_email for a in m.attendees),
        f.search is None or (m.title is not None and f.search.casefold() in m.title.casefold()),
    ))  # fmt: skip


ONE_CONDITION = [
    MeetingFilter(sources=frozenset({Source.DAILY, Source.LEEZY})),
    MeetingFilter(statuses=frozenset({MeetingStatus.CANCELLED})),
    MeetingFilter(start_after=NOW),
    MeetingFilter(start_before=NOW),
    MeetingFilter(updated_since=NOW - timedelta(hours=2)),
    MeetingFilter(upcoming=True),
    MeetingFilter(upcoming=False),
    MeetingFilter(lead_ids=frozenset({LeadKey(Source.SALESLOFT, "7")})),
    MeetingFilter(chatbot_id="bot-1"),
    MeetingFilter(attendee_email="ada@EXAMPLE.com"),
    MeetingFilter(search="DEMO"),
]


@pytest.mark.parametrize(
    "meeting_filter",
    [
        *ONE_CONDITION,
        MeetingFilter(search="call", upcoming=False, sources=frozenset({Source.SALESLOFT})),
        MeetingFilter(start_after=NOW - timedelta(hours=1), start_before=NOW, chatbot_id="bot-1"),
        MeetingFilter(
            statuses=frozenset({MeetingStatus.CONFIRMED}),
            updated_since=NOW - timedelta(hours=3),
            attendee_email="ada@example.com",
            upcoming=True,
            lead_ids=frozenset({LeadKey(Source.SALESLOFT, "7")}),
        ),
    ],
    ids=repr,
)
def test_the_predicate_keeps_exactly_what_the_filter_states(meeting_filter: MeetingFilter) -> None:
    meetings = varied_meetings()
    test = meeting_filter.predicate(NOW)
    assert test is not None
    kept = [m.source_id for m in meetings if test(m)]
    assert kept == [m.source_id for m in meetings if spec_matches(meeting_filter, m, NOW)]
    assert 0 < len(kept) < len(meetings)  # the data set tells keeping from dropping
    assert kept == [m.source_id for m in meetings if meeting_filter.matches(m, NOW)]


def test_an_empty_filter_has_no_predicate_and_matches_everything() -> None:
    assert MeetingFilter().predicate(NOW) is None
    assert all(MeetingFilter().matches(m, NOW) for m in varied_meetings())


def test_a_filter_s_conditions_are_built_once_and_upcoming_at_each_now() -> None:
    search = MeetingFilter(search="demo")
    assert search.predicate(NOW) is MeetingFilter(search="demo").predicate(NOW + timedelta(1))
    upcoming = MeetingFilter(upcoming=True)
    later = upcoming.predicate(NOW + timedelta(hours=1))
    assert later is not None
    assert [later(m) for m in varied_meetings()] == [
        spec_matches(upcoming, m, NOW + timedelta(hours=1)) for m in varied_meetings()
    ]


# --- sorting: a plain key, reversed where the ordering is ------------------------------------

ORDERINGS = [
    Ordering(field, direction, backwards)
    for field in OrderField
    for direction in Direction
    for backwards in (False, True)
]


def spec_order(meetings: list[Meeting], ordering: Ordering) -> list[tuple[str, str]]:
    """The documented order: (value, source rank, id) ascending, DESC its exact reverse,
    nulls last either way; backwards the exact reverse of forwards."""

    def value(m: Meeting) -> datetime | None:
        found: datetime | None = getattr(m, ordering.field.value.lower())
        return found

    dated = sorted(
        (m for m in meetings if value(m) is not None),
        key=lambda m: (value(m), m.source.rank, m.source_id),
    )
    undated = sorted(
        (m for m in meetings if value(m) is None), key=lambda m: (m.source.rank, m.source_id)
    )
    if ordering.direction is Direction.DESC:
        dated.reverse()
        undated.reverse()
    forwards = [(m.source.name, m.source_id) for m in dated + undated]
    return forwards[::-1] if ordering.backwards else forwards


@pytest.mark.parametrize("ordering", ORDERINGS, ids=repr)
def test_sorting_walks_the_documented_order(ordering: Ordering) -> None:
    meetings = varied_meetings()
    in_order = list(reversed(meetings))
    ordering.sort(in_order)
    assert [(m.source.name, m.source_id) for m in in_order] == spec_order(meetings, ordering)
    assert in_order == sorted(meetings, key=ordering.meeting_key)


@pytest.mark.parametrize("ordering", ORDERINGS, ids=repr)
def test_sorting_keeps_repeated_meetings_in_the_order_they_came(ordering: Ordering) -> None:
    # Pages may repeat a meeting (equal keys): the sort is stable, as `meeting_key`'s is.
    meetings = varied_meetings()
    repeated = [dataclasses.replace(m, title=f"copy {n}") for n, m in enumerate(meetings[:12])]
    mixed = [*meetings[::2], *repeated, *meetings[1::2]]
    in_order = list(mixed)
    ordering.sort(in_order)
    assert in_order == sorted(mixed, key=ordering.meeting_key)


@pytest.mark.parametrize("ordering", ORDERINGS, ids=repr)
def test_after_a_position_is_later_in_the_order(ordering: Ordering) -> None:
    meetings = varied_meetings()[:16]
    in_order = list(meetings)
    ordering.sort(in_order)
    for index, cursor in enumerate(in_order):
        position = ordering.position(cursor)
        assert [m for m in in_order if ordering.is_after(m, position)] == in_order[index + 1 :]
        key = ordering.key(position)
        assert [ordering.meeting_key(m) > key for m in in_order] == [
            n > index for n in range(len(in_order))
        ]
