"""What a meetings query asks for: the filter, the merged order and keyset positions.

Pure functions over the normalized model, shared by the sources (which apply the whole
filter to what their upstream returns, so a filter means the same for every source) and by
the aggregation (which merges by `Ordering.key`).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from functools import total_ordering
from typing import Any

from gateway.model import LeadKey, Meeting, MeetingStatus, Source


class OrderField(Enum):
    START_TIME = "START_TIME"
    CREATED_AT = "CREATED_AT"
    UPDATED_AT = "UPDATED_AT"


class Direction(Enum):
    ASC = "ASC"
    DESC = "DESC"


CASE_INSENSITIVE = {"case_insensitive": True}  # field metadata: `canonical` folds its case


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
        start = meeting.start_time
        checks = (
            self.sources is None or meeting.source in self.sources,
            self.statuses is None or meeting.status in self.statuses,
            self.start_after is None or start >= self.start_after,
            self.start_before is None or start < self.start_before,
            self.updated_since is None
            or (meeting.updated_at is not None and meeting.updated_at >= self.updated_since),
            self.upcoming is None or (start > now) == self.upcoming,
            self.lead_ids is None
            or (meeting.lead is not None and meeting.lead.key in self.lead_ids),
            self.chatbot_id is None or meeting.chatbot_id == self.chatbot_id,
            self.attendee_email is None or _has_attendee(meeting, self.attendee_email),
            self.search is None
            or (meeting.title is not None and self.search.casefold() in meeting.title.casefold()),
        )
        return all(checks)


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


def _has_attendee(meeting: Meeting, email: str) -> bool:
    wanted = email.casefold()
    return any(a.email is not None and a.email.casefold() == wanted for a in meeting.attendees)


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

    def reversed(self) -> Ordering:
        return Ordering(self.field, self.direction, not self.backwards)

    def position(self, meeting: Meeting) -> Position:
        return Position(self.value(meeting), meeting.source, meeting.source_id)

    def value(self, meeting: Meeting) -> datetime | None:
        match self.field:
            case OrderField.START_TIME:
                return meeting.start_time
            case OrderField.CREATED_AT:
                return meeting.created_at
            case OrderField.UPDATED_AT:
                return meeting.updated_at

    def key(self, position: Position) -> Any:
        """A sort key: sorting ascending by it walks this ordering."""
        is_null = position.value is None
        rest = (position.value, position.source.rank, position.source_id)
        forward = (is_null, _Descending(rest) if self.direction is Direction.DESC else rest)
        return _Descending(forward) if self.backwards else forward

    def meeting_key(self, meeting: Meeting) -> Any:
        return self.key(self.position(meeting))

    def is_after(self, meeting: Meeting, position: Position) -> bool:
        """Whether `meeting` comes strictly after `position` in this ordering."""
        return bool(self.key(position) < self.meeting_key(meeting))
