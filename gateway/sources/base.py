"""What a source offers the core, declared once per source, and the help all sources share.

A source turns a `MeetingRequest` into upstream calls (pushing down what its API can
filter), validates and maps what comes back, then applies the *whole* filter itself, so
a filter means the same for every source whatever its API could push down.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any, ClassVar, Self, TypeVar

import aiohttp
from pydantic import BaseModel, ValidationError

from gateway.cache.upstream import UpstreamCache
from gateway.config import SourceSettings
from gateway.errors import UpstreamBadResponse
from gateway.model import Lead, LeadKey, Meeting, ScheduledBot, Source
from gateway.query import MeetingFilter, Ordering, Position
from gateway.sources.http import UpstreamClient
from gateway.sources.wire import api_key

WireModel = TypeVar("WireModel", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class MeetingRequest:
    filter: MeetingFilter
    ordering: Ordering
    after: Position | None = None  # keyset position: only meetings strictly after it
    need: int | None = None  # matches wanted after `after`; None: every match (totalCount)
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
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


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What the core must know of a meeting source, declared once in its module.

    The core reads this (and which of the look-up protocols below a source implements) and
    names no upstream. What a source pushes down to its API is its own business: it applies
    the whole filter to what comes back either way.
    """

    # Filter fields (`MeetingFilter` attribute names) that, when given, no meeting of this
    # source can match, each with the reason a SKIPPED outcome shows.
    excluded_by: Mapping[str, str] = field(default_factory=dict)
    # Its API lists meetings of given leads only: without `leadIds` it is SKIPPED.
    lists_per_lead: bool = False

    def __post_init__(self) -> None:
        unknown = set(self.excluded_by) - {f.name for f in fields(MeetingFilter)}
        if unknown:
            raise ValueError(f"not MeetingFilter fields: {sorted(unknown)}")


class Upstream(ABC):
    """One upstream API behind its `UpstreamClient`: what every source module shares."""

    source: ClassVar[Source]
    rate_limit_retry_after: ClassVar[int | None] = None  # seconds, when a 429 does not say

    def __init__(self, client: UpstreamClient) -> None:
        self.client = client

    @classmethod
    def create(
        cls, settings: SourceSettings, session: aiohttp.ClientSession, cache: UpstreamCache
    ) -> Self:
        client = UpstreamClient(
            cls.source, settings, session, cache, cls.auth_headers(settings),
            default_retry_after=cls.rate_limit_retry_after,
        )  # fmt: skip
        return cls(client)

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
        for field_name, reason in self.capabilities.excluded_by.items():
            if getattr(meeting_filter, field_name) is not None:
                return reason
        return None

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
    async def scheduled_bots(self) -> list[ScheduledBot]:
        """Every bot it lists, earliest join first."""


def answer_from(candidates: Iterable[Meeting], request: MeetingRequest) -> MeetingAnswer:
    """For sources that read every candidate: filter, order, and cut at the keyset position."""
    matches = [m for m in candidates if request.filter.matches(m, request.now)]
    matches.sort(key=request.ordering.meeting_key)
    after = request.after
    if after is None:
        return MeetingAnswer(matches, total=len(matches), has_before=False)
    following = [m for m in matches if request.ordering.is_after(m, after)]
    return MeetingAnswer(following, total=len(matches), has_before=len(following) < len(matches))


def enough_of(fetched: list[Meeting], request: MeetingRequest) -> list[Meeting] | None:
    """For a walk that reads meetings in the request's order: the meetings it can vouch for
    (those before the last value seen, as more of that value may follow), once they hold
    `request.need` matches after the cursor; None while they do not."""
    if not fetched:
        return None
    ordering, after = request.ordering, request.after
    frontier = ordering.value(fetched[-1])
    vouched = [m for m in fetched if ordering.value(m) != frontier]
    matches = sum(
        1
        for m in vouched
        if (after is None or ordering.is_after(m, after)) and request.filter.matches(m, request.now)
    )
    return vouched if matches >= (request.need or 0) else None


def tightened(
    params: Sequence[tuple[str, str]],
    name: str,
    value: str,
    *,
    upper: bool,
    key: Callable[[str], Any] = str,
) -> list[tuple[str, str]]:
    """`params` with `name` once: the tighter of `value` and the bound already there (the
    lower of two upper bounds, the higher of two lower ones, compared by `key`)."""
    values = [value, *(v for k, v in params if k == name)]
    bound = min(values, key=key) if upper else max(values, key=key)
    return [*(p for p in params if p[0] != name), (name, bound)]


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
