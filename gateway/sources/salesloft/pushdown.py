"""A request as Salesloft listings: which listings it needs, and the filters, time range
and order pushed down into their parameters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from gateway.model import MeetingStatus, Source
from gateway.query import Direction, MeetingFilter, OrderField, Ordering
from gateway.sources.base import MeetingRequest, tightened
from gateway.sources.salesloft.mapping import _ACTIVE_STATUSES, _MAPS_TO
from gateway.sources.salesloft.wire import RECORD_ID

PER_PAGE = 100
MINUTE = timedelta(minutes=1)
ParamList = list[tuple[str, str]]


_SORT_KEYS = {
    OrderField.START_TIME: "start_time",
    OrderField.CREATED_AT: "created_at",
    OrderField.UPDATED_AT: "updated_at",
}
_BOUNDED = frozenset({OrderField.START_TIME, OrderField.CREATED_AT})  # no updated_at[...]


def _descending(ordering: Ordering) -> bool:
    return (ordering.direction is Direction.DESC) != ordering.backwards


# Bounds outside these years are left out (a wider range; the residual filter is exact).
_PLAIN_YEARS = (datetime(1900, 1, 1, tzinfo=UTC), datetime(9000, 1, 1, tzinfo=UTC))


def micro_z(moment: datetime) -> str:
    """Salesloft's own form, `2026-01-15T17:00:00.000000Z`: exact to the microsecond."""
    naive = moment.astimezone(UTC).replace(tzinfo=None)
    return naive.isoformat(timespec="microseconds") + "Z"


def _active_params(statuses: frozenset[MeetingStatus] | None) -> ParamList | None:
    """Filters for the active listing (`show_deleted=false`), None when it cannot match.

    `no_show` and `status` are pushed only when every dropped meeting maps to an unwanted
    status; `pending` and `retry` both map to PENDING, so PENDING is not one `status`, and
    UNKNOWN is any status we cannot name, so it is no `status` either.
    """
    params: ParamList = [("show_deleted", "false")]
    if statuses is None:
        return params
    wanted = statuses & _ACTIVE_STATUSES  # what an active meeting can map to at all
    if wanted == {MeetingStatus.NO_SHOW}:
        return [*params, ("no_show", "true")]
    if MeetingStatus.NO_SHOW in wanted:
        return params  # a no-show may have any Salesloft status
    upstream = sorted(name for name, mapped in _MAPS_TO.items() if mapped & wanted)
    unknown = MeetingStatus.UNKNOWN in wanted
    if not upstream and not unknown:
        return None
    params.append(("no_show", "false"))
    if len(upstream) == 1 and not unknown:
        params.append(("status", upstream[0]))
    return params


def _listings(statuses: frozenset[MeetingStatus] | None) -> list[ParamList]:
    """One parameter set per listing needed: active meetings, canceled ones, or both."""
    listings: list[ParamList] = []
    active = _active_params(statuses)
    if active is not None:
        listings.append(active)
    if statuses is None or MeetingStatus.CANCELLED in statuses:
        listings.append([("show_deleted", "true")])  # canceled: all CANCELLED, nothing to add
    return listings


def _person_ids(meeting_filter: MeetingFilter) -> list[str] | None:
    """Salesloft person ids among `leadIds` (None: no lead condition)."""
    if meeting_filter.lead_ids is None:
        return None
    ids = {
        int(key.source_id)
        for key in meeting_filter.lead_ids
        if key.source is Source.SALESLOFT and RECORD_ID.fullmatch(key.source_id)
    }
    return [str(person) for person in sorted(ids)]


def _can_start(meeting_filter: MeetingFilter, now: datetime) -> bool:
    """False when no start time satisfies the time range and `upcoming` together."""
    after, before = meeting_filter.start_after, meeting_filter.start_before
    upcoming = meeting_filter.upcoming
    if after is not None and before is not None and after >= before:
        return False
    if upcoming is True and before is not None and before <= now:
        return False
    return not (upcoming is False and after is not None and after > now)


def _side(name: str, *, upper: bool) -> dict[str, bool]:
    """The range parameters of `name` bounding one side, each with whether it is exclusive."""
    if upper:
        return {f"{name}[lt]": True, f"{name}[lte]": False}
    return {f"{name}[gt]": True, f"{name}[gte]": False}


def _floor_minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def _start_bounds(meeting_filter: MeetingFilter, now: datetime) -> ParamList:
    """The time range, and `upcoming` as "now" rounded to the minute so that the cache key
    changes once a minute, not on every query: outwards, so no match is dropped (the
    residual filter is exact). The tighter of two bounds on a side is kept."""
    after, before = meeting_filter.start_after, meeting_filter.start_before
    params: ParamList = []
    if after is not None and _PLAIN_YEARS[0] <= after <= _PLAIN_YEARS[1]:
        params.append(("start_time[gte]", micro_z(after)))
    if before is not None and _PLAIN_YEARS[0] <= before <= _PLAIN_YEARS[1]:
        params.append(("start_time[lt]", micro_z(before)))
    floor = _floor_minute(now)
    if meeting_filter.upcoming is True:
        lower = _side("start_time", upper=False)
        return tightened(params, "start_time[gt]", micro_z(floor), upper=False, side=lower)
    if meeting_filter.upcoming is False:
        ceiling = floor if floor == now else floor + MINUTE
        upper = _side("start_time", upper=True)
        return tightened(params, "start_time[lte]", micro_z(ceiling), upper=True, side=upper)
    return params


def _common_params(request: MeetingRequest) -> ParamList | None:
    """Time range, persons and sort shared by every listing; None when nothing can match."""
    meeting_filter = request.filter
    if not _can_start(meeting_filter, request.now):
        return None
    persons = _person_ids(meeting_filter)
    if persons is not None and not persons:
        return None
    params = _start_bounds(meeting_filter, request.now)
    params.extend(("person_ids[]", person) for person in persons or ())
    ordering = request.ordering
    params.append(("sort_by", _SORT_KEYS[ordering.field]))
    params.append(("sort_direction", "DESC" if _descending(ordering) else "ASC"))
    return params


def plan(request: MeetingRequest) -> list[ParamList]:
    """The listings (parameters, paging aside) a request needs; empty when none can match."""
    common = _common_params(request)
    if common is None:
        return []
    return [[*listing, *common] for listing in _listings(request.filter.statuses)]


def _paging(page: int) -> ParamList:
    return [("per_page", str(PER_PAGE)), ("page", str(page))]


def _counted_start(listing: ParamList) -> ParamList:
    """The first page of a listing with Salesloft's count of all its meetings."""
    return [*listing, *_paging(1), ("include_paging_counts", "true")]
