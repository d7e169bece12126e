"""What a source offers the core, declared once per source, and the help all sources share.

A source turns a `MeetingRequest` into upstream calls (pushing down what its API can
filter), validates and maps what comes back, then applies the *whole* filter itself, so
a filter means the same for every source whatever its API could push down.
"""

from __future__ import annotations

import asyncio
import bisect
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any, ClassVar, Generic, Self, TypeVar, get_args, get_origin, get_type_hints

import aiohttp
from pydantic import BaseModel, ValidationError

from gateway.cache.upstream import UpstreamCache
from gateway.config import SourceSettings
from gateway.errors import UpstreamBadResponse
from gateway.model import Lead, LeadKey, Meeting, ScheduledBot, Source
from gateway.observe import UpstreamObserver
from gateway.query import MeetingFilter, Ordering, Position
from gateway.ratelimit import MemoryRateLimiter, RateLimit, RateLimiter
from gateway.sources.http import Params, UpstreamClient
from gateway.sources.wire import api_key

WireModel = TypeVar("WireModel", bound=BaseModel)
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class MeetingRequest:
    filter: MeetingFilter
    ordering: Ordering
    after: Position | None = None  # keyset position: only meetings strictly after it
    need: int | None = None  # matches wanted after `after`; None: every match
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    # Count every match of the filter too (totalCount), apart from the page's walk.
    count: bool = False
    # Where sources may resume their upstream walks (from the cursor, see `MeetingAnswer`).
    hints: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class MeetingAnswer:
    meetings: list[Meeting]  # matches strictly after `after`, in order (at least `need`)
    total: int | None  # every match of the filter; None when the source did not count
    has_before: bool  # some match lies at or before `after`
    # Where to resume upstream walks for the next page; the cursors carry them. A source
    # must check a hint before use: a wrong one may cost requests, never results.
    hints: dict[str, str] = field(default_factory=dict)
    # False: `total` is a lower bound, as an exact count would cost too many requests.
    total_exact: bool = True
    note: str | None = None  # what the source's outcome says (why a count is a lower bound)


@dataclass(frozen=True, slots=True)
class Only:
    """An exclusion by one value of a filter field: `"upcoming": Only(True, "...")` excludes
    the source for `upcoming: true` and leaves `upcoming: false` to its own filtering."""

    value: object
    reason: str


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What the core must know of a meeting source, declared once in its module.

    The core reads this (and which of the look-up protocols below a source implements) and
    names no upstream. What a source pushes down to its API is its own business: it applies
    the whole filter to what comes back either way.
    """

    # Filter fields (`MeetingFilter` attribute names) that no meeting of this source can
    # match, each with the reason a SKIPPED outcome shows: whenever the field is given, or
    # with `Only` for that one value of it.
    excluded_by: Mapping[str, str | Only] = field(default_factory=dict)
    # Its API lists meetings of given leads only: without `leadIds` it is SKIPPED.
    lists_per_lead: bool = False

    def __post_init__(self) -> None:
        unknown = set(self.excluded_by) - {f.name for f in fields(MeetingFilter)}
        if unknown:
            raise ValueError(f"not MeetingFilter fields: {sorted(unknown)}")
        types = get_type_hints(MeetingFilter)
        for name, exclusion in self.excluded_by.items():
            if isinstance(exclusion, Only) and not _holds(types[name], exclusion.value):
                raise ValueError(f"{exclusion.value!r} is no value of MeetingFilter.{name}")

    def exclusion(self, meeting_filter: MeetingFilter) -> str | None:
        """The reason of the first declared exclusion the filter meets, None if none."""
        for name, exclusion in self.excluded_by.items():
            value = getattr(meeting_filter, name)
            if value is None:
                continue
            if not isinstance(exclusion, Only):
                return exclusion
            if value == exclusion.value:
                return exclusion.reason
        return None


class Upstream(ABC):
    """One upstream API behind its `UpstreamClient`: what every source module shares."""

    source: ClassVar[Source]
    rate_limit_retry_after: ClassVar[int | None] = None  # seconds, when a 429 does not say
    rate_limits: ClassVar[tuple[RateLimit, ...]] = ()  # the vendor's documented budget

    def __init__(self, client: UpstreamClient) -> None:
        self.client = client

    @classmethod
    def create(
        cls,
        settings: SourceSettings,
        session: aiohttp.ClientSession,
        cache: UpstreamCache,
        limiter: RateLimiter | None = None,
        observer: UpstreamObserver | None = None,
    ) -> Self:
        configured = settings.rate_limits
        client = UpstreamClient(
            cls.source, settings, session, cache, cls.auth_headers(settings),
            default_retry_after=cls.rate_limit_retry_after,
            limiter=limiter or MemoryRateLimiter(),
            limits=cls.rate_limits if configured is None else RateLimit.of(configured),
            cost=cls.request_cost,
            observer=observer,
        )  # fmt: skip
        return cls(client)

    @staticmethod
    def request_cost(params: Params) -> int:
        """What one request spends of the rate limit: 1, unless the vendor says otherwise."""
        return 1

    @staticmethod
    def auth_headers(settings: SourceSettings) -> dict[str, str]:
        """How the source takes its API key: a bearer token, unless it says otherwise."""
        return {"Authorization": f"Bearer {api_key(settings)}"}


class MeetingSource(Upstream):
    """An upstream that holds meetings."""

    capabilities: ClassVar[Capabilities] = Capabilities()

    def skip_reason(self, meeting_filter: MeetingFilter) -> str | None:
        """Why this source cannot answer the filter at all, or None when it can."""
        name = self.source.name
        if meeting_filter.sources is not None and self.source not in meeting_filter.sources:
            return f"{name} is not among the requested sources"
        if self.capabilities.lists_per_lead and meeting_filter.lead_ids is None:
            return f"{name} lists meetings per lead only: filter by leadIds to include it"
        if meeting_filter.lead_ids is not None:
            if not isinstance(self, LeadSource):
                return f"{name} meetings have no lead, so leadIds excludes them"
            if not any(key.source is self.source for key in meeting_filter.lead_ids):
                return f"no {name} lead among leadIds"
        return self.capabilities.exclusion(meeting_filter)

    @abstractmethod
    async def meetings(self, request: MeetingRequest) -> MeetingAnswer:
        """Matches of `request.filter` after `request.after`, in `request.ordering`."""

    @abstractmethod
    async def meeting(self, node_id: str, now: datetime) -> Meeting | None:
        """One meeting by the part of its node id after "<source>:", or None if unknown.

        An id that cannot be this source's raises `BadUserInput`.
        """


class LeadSource(ABC):
    """A meeting source whose meetings belong to leads (`leadIds` picks among them)."""

    lead_id_form: ClassVar[str] = "<id>"  # how its lead ids look, for error messages

    @staticmethod
    @abstractmethod
    def lead_key(source_id: str) -> LeadKey | None:
        """The key for an upstream lead id, or None when the id cannot be one (not a UUID...).

        Static: the core turns client input into keys without asking any upstream.
        """

    @abstractmethod
    async def lead(self, key: LeadKey) -> Lead | None:
        """The lead, or None when the upstream does not know it."""


class LeadBatch(ABC):
    """A lead source that looks several leads up in one listing."""

    @abstractmethod
    async def leads(self, keys: list[LeadKey]) -> dict[LeadKey, Lead | None]:
        """Each key's lead, None for one the upstream does not know."""


class BatchLookup(ABC):
    """A meeting source that fetches many meetings by id in one listing."""

    @abstractmethod
    def is_id(self, source_id: str) -> bool:
        """Whether the text can be one of this source's meeting ids."""

    @abstractmethod
    async def meetings_by_ids(self, ids: list[str], now: datetime) -> list[Meeting]:
        """The meetings of these ids that exist, in any order."""


class EventLookup(ABC):
    """A meeting source that knows the calendar event of its meetings (what bots join)."""

    @abstractmethod
    async def meetings_by_event(self, event_ids: list[str], now: datetime) -> list[Meeting]:
        """Its meetings on these calendar events, in any order."""


class BotSource(Upstream):
    """An upstream of bots scheduled to join meetings."""

    @abstractmethod
    async def scheduled_bots(self) -> tuple[ScheduledBot, ...]:
        """Every bot it lists, earliest join first."""


class SharedReads(Generic[T]):
    """The upstream reads of one answer, each request made once: a page's walk and its
    count that need the same upstream page share one read (one parse, and a bad answer
    judged once by the circuit breaker)."""

    def __init__(self, read: Callable[[Params], Awaitable[T]]) -> None:
        self._read = read
        self._reads: dict[tuple[tuple[str, str], ...], asyncio.Future[T]] = {}

    def __call__(self, params: Params) -> asyncio.Future[T]:
        key = tuple(sorted(params))
        if key not in self._reads:
            self._reads[key] = asyncio.ensure_future(self._read(params))
        return self._reads[key]


def answer_from(
    candidates: Iterable[Meeting], request: MeetingRequest, *, ordered: bool = False
) -> MeetingAnswer:
    """For sources that read every candidate: filter, order, and cut at the keyset position.
    `ordered`: the candidates already come in the request's order (`OrderedViews`)."""
    ordering = request.ordering
    matches = matching(candidates, request)
    if not ordered:
        ordering.sort(matches)
    after = request.after
    if after is None:
        return MeetingAnswer(matches, total=len(matches), has_before=False)
    start = bisect.bisect_right(matches, ordering.key(after), key=ordering.meeting_key)
    return MeetingAnswer(matches[start:], total=len(matches), has_before=start > 0)


class OrderedViews:
    """A listing's meetings in each order, sorted once per version of its pages instead of
    for every query. Pages are the decoded layer's immutable tuples, so their identity names
    their content; one view per listing and order is kept (a newer version replaces it),
    the least recently used out first."""

    def __init__(self, max_views: int = 256) -> None:
        self._max_views = max_views
        self._views: OrderedDict[object, tuple[tuple[Sequence[Meeting], ...], list[Meeting]]]
        self._views = OrderedDict()

    def ordered(
        self, listing: Hashable, pages: tuple[Sequence[Meeting], ...], ordering: Ordering
    ) -> list[Meeting]:
        """The meetings of `pages` (the last of each id, as pages may repeat one) in order."""
        key = (listing, ordering)
        found = self._views.get(key)
        if found is not None and _same(found[0], pages):
            self._views.move_to_end(key)
            return found[1]
        unique = {m.source_id: m for page in pages for m in page}.values()
        view = list(unique)
        ordering.sort(view)
        self._views[key] = (pages, view)  # the pages are kept with it: their ids stay theirs
        self._views.move_to_end(key)
        if len(self._views) > self._max_views:
            self._views.popitem(last=False)
        return view


def _same(kept: tuple[object, ...], pages: tuple[object, ...]) -> bool:
    return len(kept) == len(pages) and all(a is b for a, b in zip(kept, pages, strict=True))


def enough_of(fetched: list[Meeting], request: MeetingRequest) -> list[Meeting] | None:
    """For a walk that reads meetings in the request's order: the meetings it can vouch for
    (those before the last value seen, as more of that value may follow), once they hold
    `request.need` matches after the cursor; None while they do not."""
    if not fetched:
        return None
    ordering, after = request.ordering, request.after
    frontier = ordering.value(fetched[-1])
    vouched = [m for m in fetched if ordering.value(m) != frontier]
    following = vouched if after is None else [m for m in vouched if ordering.is_after(m, after)]
    return vouched if len(matching(following, request)) >= (request.need or 0) else None


def matching(meetings: Iterable[Meeting], request: MeetingRequest) -> list[Meeting]:
    """The meetings that match the request's filter, in their order (a new list)."""
    test = request.filter.predicate(request.now)
    return list(meetings) if test is None else list(filter(test, meetings))


def tightened(
    params: Sequence[tuple[str, str]],
    name: str,
    value: str,
    *,
    upper: bool,
    key: Callable[[str], Any] = str,
    side: Mapping[str, bool] | None = None,
) -> list[tuple[str, str]]:
    """`params` with one bound on this side: the tightest of `name=value` and the bounds
    already there (the lowest upper bound, the highest lower one, compared by `key`).

    `side` names every parameter bounding the same side, each with whether it is exclusive
    (`start_time[gt]` beside `start_time[gte]`); at equal values the exclusive one is
    tighter. Without it, `name` alone, inclusive.
    """
    exclusive = {name: False, **(side or {})}
    bounds = [(name, value), *((k, v) for k, v in params if k in exclusive)]

    def tightness(bound: tuple[str, str]) -> tuple[Any, bool]:
        # At equal values the exclusive bound is the lower upper one, the higher lower one.
        return key(bound[1]), exclusive[bound[0]] != upper

    tightest = min(bounds, key=tightness) if upper else max(bounds, key=tightness)
    return [*(p for p in params if p[0] not in exclusive), tightest]


def _holds(annotation: Any, value: object) -> bool:
    """Whether `value` may be a value of a field so annotated (`bool | None`...)."""
    kinds = [get_origin(arg) or arg for arg in get_args(annotation) or (annotation,)]
    return value is not None and isinstance(value, tuple(k for k in kinds if k is not None))


def validate(source: Source, model: type[WireModel], body: Any) -> WireModel:
    """Validate an upstream body; a wrong shape is that source's BAD_RESPONSE, never a crash."""
    try:
        return model.model_validate(body)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "body"
        raise UpstreamBadResponse(
            source, f"answered with an unexpected shape at {where}: {first['msg']}"
        ) from None
