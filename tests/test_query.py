"""The meeting query's pure parts: the filter, the merged order, the canonical form."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from gateway.cursors import query_fingerprint
from gateway.model import LeadKey, Meeting, MeetingStatus, Source
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
