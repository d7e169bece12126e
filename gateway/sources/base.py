"""What a meeting source offers the aggregation, and the help all sources share.

A source turns a `MeetingRequest` into upstream calls (pushing down what its API can
filter), validates and maps what comes back, then applies the *whole* filter itself, so
a filter means the same for every source whatever its API could push down.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar, Self, TypeVar

import aiohttp
from pydantic import BaseModel, ValidationError

from gateway.config import SourceSettings
from gateway.errors import UpstreamBadResponse
from gateway.model import Lead, LeadKey, Meeting, Source
from gateway.query import MeetingFilter, Ordering, Position
from gateway.sources.cache import ResponseCache
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


class MeetingSource(ABC):
    """One upstream that holds meetings (Leezy, Nexor, Salesloft, Daily)."""

    source: ClassVar[Source]
    has_leads: ClassVar[bool] = False  # meetings carry a lead (Nexor, Salesloft)
    has_update_time: ClassVar[bool] = True
    requires_lead_ids: ClassVar[bool] = False  # lists meetings per lead only (Nexor)
    rate_limit_retry_after: ClassVar[int | None] = None  # seconds, when a 429 does not say

    def __init__(self, client: UpstreamClient) -> None:
        self.client = client

    @classmethod
    def create(
        cls, settings: SourceSettings, session: aiohttp.ClientSession, cache: ResponseCache
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

    def skip_reason(self, meeting_filter: MeetingFilter) -> str | None:
        """Why this source cannot answer the filter at all, or None when it can."""
        name = self.source.name
        if meeting_filter.sources is not None and self.source not in meeting_filter.sources:
            return f"{name} is not among the requested sources"
        if self.requires_lead_ids and meeting_filter.lead_ids is None:
            return f"{name} lists meetings per lead only: filter by leadIds to include it"
        if meeting_filter.lead_ids is not None:
            if not self.has_leads:
                return f"{name} meetings have no lead, so leadIds excludes them"
            if not any(key.source is self.source for key in meeting_filter.lead_ids):
                return f"no {name} lead among leadIds"
        if meeting_filter.chatbot_id is not None and self.source is not Source.LEEZY:
            return f"{name} meetings have no chatbot, so chatbotId excludes them"
        if meeting_filter.updated_since is not None and not self.has_update_time:
            return f"{name} has no update time, so updatedSince excludes it"
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
    """A source whose meetings belong to leads (Nexor leads, Salesloft persons)."""

    @abstractmethod
    def lead_key(self, source_id: str) -> LeadKey | None:
        """The key for an upstream lead id, or None when the id cannot be one (not a UUID...)."""

    @abstractmethod
    async def lead(self, key: LeadKey) -> Lead | None:
        """The lead, or None when the upstream does not know it."""


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
