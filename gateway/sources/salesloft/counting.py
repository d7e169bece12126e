"""`totalCount` beside the walk: each listing's count planned from its first page, read
further within `COUNT_REQUESTS`, and the listings' tallies summed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from enum import Enum

from gateway.model import Meeting, MeetingStatus
from gateway.query import MeetingFilter
from gateway.sources.base import MeetingRequest, matching, tightened
from gateway.sources.salesloft.mapping import _ACTIVE_STATUSES, _MAPS_TO, SalesloftListing
from gateway.sources.salesloft.pushdown import (
    _PLAIN_YEARS,
    MINUTE,
    PER_PAGE,
    ParamList,
    _floor_minute,
    _paging,
    _side,
    micro_z,
)

# Most Salesloft requests one totalCount makes (first pages included, shared with the walk
# or not); a count that would need more is reported as a lower bound instead.
COUNT_REQUESTS = 10


class _Residue(Enum):
    """What a listing holds beyond the filter's matches (the residual filter drops it)."""

    NONE = "none"  # nothing: its `total_count` is the count
    MINUTE = "minute"  # the meetings of the minute "now" was rounded in, on the wrong side
    OTHER = "other"  # what only reading every record tells (title, emails, end time...)


# Filter fields pushed down exactly: the time range in plain years, statuses where the
# listing names them (`_statuses_of`), `upcoming` but for its rounded minute. Any other
# field given leaves a residual filter.
_PUSHED_EXACTLY = frozenset(
    {"sources", "statuses", "start_after", "start_before", "upcoming", "lead_ids"}
)


def _statuses_of(listing: ParamList) -> frozenset[MeetingStatus]:
    """Every status a meeting of this listing can map to."""
    flags = dict(listing)
    if flags["show_deleted"] == "true":
        return frozenset({MeetingStatus.CANCELLED})
    if flags.get("no_show") == "true":
        return frozenset({MeetingStatus.NO_SHOW})
    if "status" in flags:
        return _MAPS_TO[flags["status"]]
    if flags.get("no_show") == "false":
        return _ACTIVE_STATUSES - {MeetingStatus.NO_SHOW}
    return _ACTIVE_STATUSES


def _rounded(meeting_filter: MeetingFilter, now: datetime) -> bool:
    """Whether `upcoming` was pushed down as a rounded minute that the time range does not
    already settle (a start after now is upcoming; one before a bound at or before now is
    not)."""
    after, before = meeting_filter.start_after, meeting_filter.start_before
    if meeting_filter.upcoming is None or _floor_minute(now) == now:
        return False
    if meeting_filter.upcoming:
        return after is None or after <= now
    return before is None or before > now


def _residue(meeting_filter: MeetingFilter, listing: ParamList, now: datetime) -> _Residue:
    statuses = meeting_filter.statuses
    bounds = (meeting_filter.start_after, meeting_filter.start_before)
    if (
        any(
            getattr(meeting_filter, f.name) is not None
            for f in fields(meeting_filter)
            if f.name not in _PUSHED_EXACTLY
        )
        or (statuses is not None and not _statuses_of(listing) <= statuses)
        or any(b is not None and not _PLAIN_YEARS[0] <= b <= _PLAIN_YEARS[1] for b in bounds)
    ):
        return _Residue.OTHER
    return _Residue.MINUTE if _rounded(meeting_filter, now) else _Residue.NONE


def _minute_first(listing: ParamList, upcoming: bool) -> bool:
    """Whether the listing starts with the rounded minute: by start time, from the bound."""
    flags = dict(listing)
    direction = "ASC" if upcoming else "DESC"
    return flags["sort_by"] == "start_time" and flags["sort_direction"] == direction


def _minute_listing(listing: ParamList, upcoming: bool, now: datetime) -> ParamList:
    """The meetings of the listing within the minute "now" was rounded in, those on the
    wrong side of now first. Its bounds are whole minutes too, so its cache key is."""
    floor = _floor_minute(now)
    params = [p for p in listing if p[0] not in ("sort_by", "sort_direction")]
    lower, upper = _side("start_time", upper=False), _side("start_time", upper=True)
    params = tightened(params, "start_time[gt]", micro_z(floor), upper=False, side=lower)
    params = tightened(params, "start_time[lte]", micro_z(floor + MINUTE), upper=True, side=upper)
    direction = "ASC" if upcoming else "DESC"
    return [*params, ("sort_by", "start_time"), ("sort_direction", direction), *_paging(1)]


@dataclass(frozen=True, slots=True)
class _Walked:
    """What one listing's walk vouches for, where it may resume, and whether it read the
    whole listing (from its top to its end)."""

    meetings: list[Meeting]
    hint: tuple[str, str]
    whole: bool = False


@dataclass(frozen=True, slots=True)
class _Tally:
    """One listing's count: exact, or a lower bound (`seen`, the matches read) when an
    exact one would need `missing` more requests (None: no telling how many)."""

    count: int
    seen: frozenset[str] = frozenset()
    missing: int | None = 0


@dataclass(frozen=True, slots=True)
class _CountPlan:
    """How one listing is counted once its first page is read: `known` matches, or with
    `minute` the listing's total from which the wrong side of the minute read is taken
    away; `reads` are the requests still needed (None: more than can be known)."""

    known: int
    seen: frozenset[str]  # matches on the first page
    reads: tuple[ParamList, ...] | None = ()
    minute: bool = False

    @property
    def cost(self) -> int | None:
        return None if self.reads is None else len(self.reads)

    def as_counted(self) -> _Tally:
        """The count without the reads: exact when none is needed, else a lower bound."""
        if self.reads == ():
            return _Tally(self.known, self.seen)
        return _Tally(len(self.seen), self.seen, missing=self.cost)


def _count_plan(listing: ParamList, first: SalesloftListing, request: MeetingRequest) -> _CountPlan:
    meeting_filter, now = request.filter, request.now
    meetings = first.meetings(now)
    seen = frozenset(m.source_id for m in matching(meetings, request))
    paging = first.paging
    total = paging.total_count
    if paging.next_page is None or not meetings:
        return _CountPlan(len(seen), seen)  # the whole listing is on this page
    if total is None:
        return _CountPlan(len(seen), seen, reads=None)  # Salesloft did not count
    residue = _residue(meeting_filter, listing, now)
    if residue is _Residue.NONE:
        return _CountPlan(total, seen)
    upcoming = meeting_filter.upcoming
    if residue is _Residue.MINUTE and upcoming is not None:
        if not _minute_first(listing, upcoming):
            return _CountPlan(total, seen, (_minute_listing(listing, upcoming, now),), True)
        if meeting_filter.matches(meetings[-1], now):  # the whole wrong side is on this page
            return _CountPlan(total - (len(meetings) - len(seen)), seen)
    pages = paging.total_pages or -(-total // PER_PAGE)
    return _CountPlan(len(seen), seen, tuple([*listing, *_paging(n)] for n in range(2, pages + 1)))


def _summed(
    tallies: Sequence[_Tally], walks: Sequence[_Walked], request: MeetingRequest
) -> tuple[int, int | None]:
    """The listings' counts added up, and the requests an exact sum would still need (0:
    exact; None: no telling). A lower bound also takes the matches the walks read."""
    total, missing, unknown = 0, 0, False
    for tally, walk in zip(tallies, walks, strict=True):
        if tally.missing == 0:
            total += tally.count
            continue
        matches = {m.source_id for m in matching(walk.meetings, request)}
        if walk.whole:  # the page's own walk read the whole listing: its matches are all
            total += len(matches)
            continue
        total += len(tally.seen | matches)
        missing += tally.missing or 0
        unknown = unknown or tally.missing is None
    return total, None if unknown else missing


def _lower_bound_note(total: int, missing: int | None) -> str:
    more = "more pages" if missing is None else f"about {missing} more pages"
    return f"counted at least {total}: an exact count would read {more}"
