"""Where a walk of a listing reads: keyset windows from the cursor, and the hints a walk
resumes from on the next page."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from gateway.model import Meeting
from gateway.query import Ordering
from gateway.sources.base import MeetingRequest, tightened
from gateway.sources.salesloft.pushdown import (
    _BOUNDED,
    _SORT_KEYS,
    ParamList,
    _counted_start,
    _descending,
    _paging,
    _side,
    micro_z,
)

# Deeper pages cost 8-30 of the team's 600 units a minute: no answer is worth walking on.
MAX_PAGES = 250


@dataclass(frozen=True, slots=True)
class _Window:
    """Where a walk of a listing reads: a page under a keyset bound (None: from the start)."""

    bound: datetime | None
    page: int

    def params(self, listing: ParamList, ordering: Ordering) -> ParamList:
        """The listing's parameters with this window's bound (the tighter of two)."""
        if self.bound is None:
            return listing
        upper = _descending(ordering)
        field = _SORT_KEYS[ordering.field]
        name = f"{field}[{'lte' if upper else 'gte'}]"
        # Times in Salesloft's fixed-width form compare as text.
        side = _side(field, upper=upper)
        return tightened(listing, name, micro_z(self.bound), upper=upper, side=side)

    def query(self, listing: ParamList, ordering: Ordering) -> ParamList:
        """The request for this window's page: the listing's start is the counted first
        page, the same request a count makes, so that the two share it."""
        if self.bound is None and self.page == 1:
            return _counted_start(listing)
        return [*self.params(listing, ordering), *_paging(self.page)]

    def next(self, frontier: datetime | None) -> _Window:
        """After a page that did not suffice: from its last value on, or the next page."""
        if frontier is None or frontier == self.bound:
            return _Window(self.bound, self.page + 1)
        return _Window(frontier, 1)

    def hint(self) -> str:
        return f"{'' if self.bound is None else micro_z(self.bound)}|{self.page}"


def _own_window(request: MeetingRequest) -> _Window:
    """A walk from the cursor's own value (keyset-bounded orders), else from the start."""
    after, bounded = request.after, request.ordering.field in _BOUNDED
    return _Window(after.value if after is not None and bounded else None, 1)


def _start(request: MeetingRequest, hint: str | None) -> _Window:
    """The first window of a walk: the cursor's hint if it covers the cursor, else the
    cursor's own value as the bound."""
    after, ordering = request.after, request.ordering
    own = _own_window(request)
    anchor = _parse_hint(hint)
    if anchor is None or after is None or after.value is None:
        return own
    if anchor.bound is None:
        return anchor  # from the start of the listing: checked on its first page
    if ordering.field not in _BOUNDED:
        return own
    covers = anchor.bound >= after.value if _descending(ordering) else anchor.bound <= after.value
    return anchor if covers else own


def _resumes_safely(request: MeetingRequest, meetings: Sequence[Meeting]) -> bool:
    """Whether a walk resumed at a later page (from a hint) may go on from there: the page
    must hold meetings (an empty one lies past the end of a listing that shrank since) and
    skip only meetings before the cursor, so it must start strictly before the cursor's
    value, as a meeting of that same value on an earlier page may come after the cursor."""
    after = request.after
    if not meetings:
        return False
    value = request.ordering.value(meetings[0])
    if after is None:
        return True
    if value is None or after.value is None:
        return False
    return value > after.value if _descending(request.ordering) else value < after.value


def _parse_hint(hint: str | None) -> _Window | None:
    if hint is None:
        return None
    bound, _, page = hint.partition("|")
    try:
        window = _Window(datetime.fromisoformat(bound) if bound else None, int(page))
    except ValueError:
        return None
    aware = window.bound is None or window.bound.tzinfo is not None
    return window if aware and 1 <= window.page <= MAX_PAGES else None
