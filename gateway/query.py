"""What a meetings query asks for: the filter, the merged order and keyset positions.

Pure functions over the normalized model, shared by the sources (which apply the whole
filter to what their upstream returns, so a filter means the same for every source) and by
the aggregation (which merges by `Ordering.key`).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from functools import lru_cache, reduce, total_ordering
from operator import attrgetter
from typing import Any, TypeVar

from gateway.model import LeadKey, Meeting, MeetingStatus, Source


class OrderField(Enum):
    START_TIME = "START_TIME"
    CREATED_AT = "CREATED_AT"
    UPDATED_AT = "UPDATED_AT"


class Direction(Enum):
    ASC = "ASC"
    DESC = "DESC"


CASE_INSENSITIVE = {"case_insensitive": True}  # field metadata: `canonical` folds its case
Predicate = Callable[[Meeting], bool]
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class MeetingFilter:
    """All parts combine with AND; None means "no condition"."""

    sources: frozenset[Source] | None = None
    statuses: frozenset[MeetingStatus] | None = None
    start_after: datetime | None = None  # inclusive
    start_before: datetime | None = None  # exclusive
    updated_since: datetime | None = None  # inclusive
    upcoming: bool | None = None  # True: start > now; False: start <= now
    lead_ids: frozenset[LeadKey] | None = None
    chatbot_id: str | None = None
    # Case-insensitive exact match on any attendee's email, organizer included.
    attendee_email: str | None = field(default=None, metadata=CASE_INSENSITIVE)
    search: str | None = None  # case-insensitive substring of the title

    def matches(self, meeting: Meeting, now: datetime) -> bool:
        test = self.predicate(now)
        return test is None or test(meeting)

    def predicate(self, now: datetime) -> Predicate | None:
        """The filter at `now` as one test of only the conditions set; None when none is
        (every meeting matches, so callers skip filtering). For filtering many meetings."""
        tests = _conditions(self)
        if self.upcoming is not None:
            tests = (*tests, _upcoming(now) if self.upcoming else _past(now))
        return all_of(tests)


@lru_cache(maxsize=256)
def _conditions(f: MeetingFilter) -> tuple[Predicate, ...]:
    """The tests of a filter's conditions set, but `upcoming` (it depends on "now"); built
    once per filter, as the same filters come again and again."""
    tests: list[Predicate] = []
    if f.sources is not None:
        tests.append(attribute_in("source", f.sources))
    if f.statuses is not None:
        tests.append(attribute_in("status", f.statuses))
    if f.start_after is not None:
        tests.append(_starts_at_or_after(f.start_after))
    if f.start_before is not None:
        tests.append(_starts_before(f.start_before))
    if f.updated_since is not None:
        tests.append(_updated_since(f.updated_since))
    if f.lead_ids is not None:
        tests.append(_of_leads(f.lead_ids))
    if f.chatbot_id is not None:
        tests.append(_of_chatbot(f.chatbot_id))
    if f.attendee_email is not None:
        tests.append(_with_attendee(f.attendee_email))
    if f.search is not None:
        tests.append(_titled(f.search))
    return tuple(tests)


def all_of(tests: Sequence[Callable[[T], bool]]) -> Callable[[T], bool] | None:
    """One test that all `tests` pass; None for no test (everything passes)."""
    return reduce(_both, tests) if tests else None


def _both(first: Callable[[T], bool], second: Callable[[T], bool]) -> Callable[[T], bool]:
    # Chained pairs cost a call less per item than a loop or all(...) over the tests.
    return lambda item: first(item) and second(item)


def attribute_in(name: str, wanted: frozenset[Any]) -> Callable[[Any], bool]:
    """The test that an item's attribute `name` is one of `wanted`."""
    value_of = attrgetter(name)
    return lambda item: value_of(item) in wanted


def _starts_at_or_after(moment: datetime) -> Predicate:
    return lambda meeting: meeting.start_time >= moment


def _starts_before(moment: datetime) -> Predicate:
    return lambda meeting: meeting.start_time < moment


def _upcoming(now: datetime) -> Predicate:
    return lambda meeting: meeting.start_time > now


def _past(now: datetime) -> Predicate:
    return lambda meeting: meeting.start_time <= now


def _updated_since(moment: datetime) -> Predicate:
    return lambda meeting: meeting.updated_at is not None and meeting.updated_at >= moment


def _of_leads(keys: frozenset[LeadKey]) -> Predicate:
    return lambda meeting: meeting.lead is not None and meeting.lead.key in keys


def _of_chatbot(chatbot_id: str) -> Predicate:
    return lambda meeting: meeting.chatbot_id == chatbot_id


def _with_attendee(email: str) -> Predicate:
    wanted = email.casefold()
    # A list, not any(...) over a generator: a third cheaper for a meeting's few attendees.
    return lambda meeting: (
        wanted in [a.email.casefold() for a in meeting.attendees if a.email is not None]
    )


def _titled(search: str) -> Predicate:
    needle = search.casefold()
    return lambda meeting: meeting.title is not None and needle in meeting.title.casefold()


def canonical(value: object) -> Any:
    """A stable, JSON-ready form of a filter (cursors carry its hash).

    Derived from the dataclass fields, so a field added to a filter is part of it without
    more code; a field marked `CASE_INSENSITIVE` is compared case-folded. A value of a type
    it does not know is an error, not a silent omission.
    """
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: _fold(canonical(getattr(value, f.name)), f) for f in dataclasses.fields(value)
        }
    if isinstance(value, frozenset):
        return sorted((canonical(item) for item in value), key=json.dumps)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if value is None or isinstance(value, str | bool | int):
        return value
    raise TypeError(f"no canonical form for {type(value).__name__}")


def _fold(value: Any, of: dataclasses.Field[Any]) -> Any:
    return value.casefold() if of.metadata.get("case_insensitive") and value else value


@dataclass(frozen=True, slots=True)
class Position:
    """A place in the merged order: the sort value, then source, then source id."""

    value: datetime | None
    source: Source
    source_id: str


@total_ordering
class _Descending:
    """Wraps a value so that sorting ascending puts it in descending order."""

    __slots__ = ("inner",)

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Descending) and self.inner == other.inner

    def __hash__(self) -> int:
        return hash(self.inner)

    def __lt__(self, other: _Descending) -> bool:
        return bool(other.inner < self.inner)


@dataclass(frozen=True, slots=True)
class Ordering:
    """The merged order, walked forwards, or backwards (for `last`/`before`).

    Forwards: (value, source rank, source id) ascending for ASC, its exact reverse for
    DESC, with null values last either way. Backwards is the exact reverse of forwards.
    """

    field: OrderField = OrderField.START_TIME
    direction: Direction = Direction.DESC
    backwards: bool = False
    # Derived from the fields above, once: what sorting in this ordering takes.
    sort_key: Callable[[Meeting], SortKey] = dataclasses.field(
        init=False, repr=False, compare=False
    )
    reverse: bool = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "sort_key", _SORT_KEYS[self.field, self.direction])
        object.__setattr__(self, "reverse", (self.direction is Direction.DESC) != self.backwards)

    def reversed(self) -> Ordering:
        return Ordering(self.field, self.direction, not self.backwards)

    def position(self, meeting: Meeting) -> Position:
        return Position(self.value(meeting), meeting.source, meeting.source_id)

    def value(self, meeting: Meeting) -> datetime | None:
        value: datetime | None = getattr(meeting, _SORT_ATTRIBUTES[self.field])
        return value

    def sort(self, meetings: list[Meeting]) -> None:
        """Puts `meetings` in this ordering: by `sort_key`, reversed when `reverse` (a
        stable sort either way, as with `meeting_key`)."""
        meetings.sort(key=self.sort_key, reverse=self.reverse)

    def key(self, position: Position) -> Any:
        """A sort key: sorting ascending by it walks this ordering."""
        key = _plain_key(self.direction, position.value, position.source, position.source_id)
        return _Descending(key) if self.reverse else key

    def meeting_key(self, meeting: Meeting) -> Any:
        key = self.sort_key(meeting)
        return _Descending(key) if self.reverse else key

    def is_after(self, meeting: Meeting, position: Position) -> bool:
        """Whether `meeting` comes strictly after `position` in this ordering."""
        mine = self.sort_key(meeting)
        theirs = _plain_key(self.direction, position.value, position.source, position.source_id)
        return mine < theirs if self.reverse else theirs < mine


# A meeting's place in an ordering's direction: (nulls apart, value, source rank, id).
SortKey = tuple[bool, datetime | None, int, str]


def _plain_key(
    direction: Direction, value: datetime | None, source: Source, source_id: str
) -> SortKey:
    """The key that sorts ascending for ASC and, reversed, for DESC; its flag puts nulls
    last either way (after the non-nulls ascending, before them in the reversed sort)."""
    flag = value is None if direction is Direction.ASC else value is not None
    return flag, value, source.rank, source_id


def _sort_key(field: OrderField, direction: Direction) -> Callable[[Meeting], SortKey]:
    """`_plain_key` of a meeting, read straight from it (this runs for every sorted one)."""
    value_of = attrgetter(_SORT_ATTRIBUTES[field])
    if direction is Direction.ASC:

        def ascending(meeting: Meeting) -> SortKey:
            value = value_of(meeting)
            return value is None, value, meeting.source.rank, meeting.source_id

        return ascending

    def descending(meeting: Meeting) -> SortKey:
        value = value_of(meeting)
        return value is not None, value, meeting.source.rank, meeting.source_id

    return descending


_SORT_ATTRIBUTES = {
    OrderField.START_TIME: "start_time",
    OrderField.CREATED_AT: "created_at",
    OrderField.UPDATED_AT: "updated_at",
}
_SORT_KEYS = {(f, d): _sort_key(f, d) for f in OrderField for d in Direction}
