"""Plan, fan out, merge: one page of the merged meetings connection, and node look-ups.

The sources are asked concurrently, each under its own timeout; a source that fails
becomes an outcome (state + message) instead of failing the query. Their ordered answers
are merged k-way by the keyset order, so a page stays right while upstream data changes.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from gateway.cursors import decode_cursor, encode_cursor, query_fingerprint
from gateway.errors import (
    BadUserInput,
    GatewayError,
    SourceState,
    UpstreamError,
    UpstreamTimeout,
)
from gateway.model import MEETING_SOURCES, Lead, LeadKey, Meeting, ScheduledBot, Source
from gateway.query import MeetingFilter, Ordering
from gateway.sources.base import MeetingAnswer, MeetingRequest
from gateway.sources.registry import Sources
from gateway.sources.usage import source_tally

log = logging.getLogger(__name__)
T = TypeVar("T")

LEAD_SOURCES = (Source.NEXOR, Source.SALESLOFT)
MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20


@dataclass(frozen=True)
class PageArgs:
    first: int | None = None
    after: str | None = None
    last: int | None = None
    before: str | None = None


@dataclass(frozen=True)
class SourceOutcome:
    source: Source
    state: SourceState
    latency_ms: float | None = None
    message: str | None = None
    retry_after_seconds: int | None = None
    cached: bool = False
    stale: bool = False
    error: UpstreamError | None = None


@dataclass(frozen=True)
class Edge:
    cursor: str
    meeting: Meeting


@dataclass(frozen=True)
class MeetingsPage:
    edges: list[Edge]
    has_next_page: bool
    has_previous_page: bool
    total_count: int | None  # None unless it was asked for
    outcomes: list[SourceOutcome]

    @property
    def errors(self) -> list[UpstreamError]:
        return [o.error for o in self.outcomes if o.error is not None]


def page_size(args: PageArgs) -> tuple[int, bool]:
    """How many edges, and whether the page is walked backwards (`last`/`before`)."""
    if args.first is not None and args.last is not None:
        raise BadUserInput("Pass `first` or `last`, not both.")
    if args.last is None and args.before is not None:
        raise BadUserInput("`before` pages backwards: pass it with `last`.")
    if args.last is not None and args.after is not None:
        raise BadUserInput("`after` pages forwards: pass it with `first`.")
    for name, value in (("first", args.first), ("last", args.last)):
        if value is not None and not 1 <= value <= MAX_PAGE_SIZE:
            raise BadUserInput(f"`{name}` must be between 1 and {MAX_PAGE_SIZE}, got {value}.")
    if args.last is not None:
        return args.last, True
    return (args.first if args.first is not None else DEFAULT_PAGE_SIZE), False


class Gateway:
    """The aggregation layer: what the GraphQL resolvers call."""

    def __init__(self, sources: Sources) -> None:
        self.sources = sources

    async def meetings(
        self,
        meeting_filter: MeetingFilter,
        ordering: Ordering,
        args: PageArgs,
        *,
        now: datetime,
        count_total: bool,
    ) -> MeetingsPage:
        size, backwards = page_size(args)
        fingerprint = query_fingerprint(meeting_filter, ordering)
        walk = ordering.reversed() if backwards else ordering
        cursor, argument = (args.before, "before") if backwards else (args.after, "after")
        after, hints = (
            (None, {}) if cursor is None else decode_cursor(cursor, fingerprint, argument=argument)
        )
        request = MeetingRequest(
            filter=meeting_filter,
            ordering=walk,
            after=after,
            need=None if count_total else size + 1,
            now=now,
            hints=hints,
        )
        asked, outcomes = self._plan(meeting_filter)
        answers = await asyncio.gather(*(self._ask(source, request) for source in asked))
        outcomes += [outcome for _, outcome in answers]
        received = [answer for answer, _ in answers if answer is not None]

        merged = list(
            itertools.islice(
                heapq.merge(*(a.meetings for a in received), key=walk.meeting_key), size + 1
            )
        )
        has_more, has_before = len(merged) > size, any(a.has_before for a in received)
        page = merged[:size]
        if backwards:
            page.reverse()
        resume = {key: hint for a in received for key, hint in a.hints.items()}
        edges = [Edge(encode_cursor(ordering.position(m), fingerprint, resume), m) for m in page]
        total = sum(a.total or 0 for a in received) if count_total else None
        outcomes.sort(key=lambda o: o.source.rank)
        return MeetingsPage(
            edges=edges,
            has_next_page=has_before if backwards else has_more,
            has_previous_page=has_more if backwards else has_before,
            total_count=total,
            outcomes=outcomes,
        )

    def _plan(self, meeting_filter: MeetingFilter) -> tuple[list[Source], list[SourceOutcome]]:
        asked: list[Source] = []
        skipped: list[SourceOutcome] = []
        for source in MEETING_SOURCES:
            found = self.sources.meetings.get(source)
            reason = (
                f"{source.name} is not configured (no API key)"
                if found is None
                else found.skip_reason(meeting_filter)
            )
            if reason is None:
                asked.append(source)
            else:
                skipped.append(SourceOutcome(source, SourceState.SKIPPED, message=reason))
        return asked, skipped

    async def _ask(
        self, source: Source, request: MeetingRequest
    ) -> tuple[MeetingAnswer | None, SourceOutcome]:
        found = self.sources.meetings[source]
        started = time.perf_counter()
        with source_tally() as usage:
            try:
                answer = await self.bounded(source, lambda: found.meetings(request))
            except UpstreamError as error:
                return None, _failed(error, started)
        outcome = SourceOutcome(
            source,
            SourceState.OK,
            latency_ms=_since(started),
            cached=usage.cached,
            stale=usage.stale_hits > 0,
        )
        return answer, outcome

    async def bounded(self, source: Source, call: Callable[[], Awaitable[T]]) -> T:
        """Run one source's work under its timeout; unexpected failures become UNAVAILABLE."""
        timeout = self.sources.settings.source(source).timeout
        try:
            async with asyncio.timeout(timeout):
                return await call()
        except TimeoutError:
            raise UpstreamTimeout(source, f"no answer within {timeout:g} s") from None
        except GatewayError:
            raise  # a verdict for the client (an id the source cannot hold is the client's)
        except Exception as error:
            # A bug of ours in one source must not fail the others: log it, report it.
            log.exception("source %s failed unexpectedly", source.name)
            raise UpstreamError(source, "failed unexpectedly") from error

    # --- look-ups by id ------------------------------------------------------------------

    async def meeting(self, node_id: str, now: datetime) -> Meeting | None:
        source, rest = _split_node_id(node_id, "Meeting")
        found = self.sources.meetings.get(source) if source in MEETING_SOURCES else None
        if found is None:
            return None
        return await self.bounded(source, lambda: found.meeting(rest, now))

    async def meetings_by_id(
        self, node_ids: list[str], now: datetime
    ) -> list[Meeting | GatewayError | None]:
        """Meetings by node id, in order, each a meeting, None or its own error.

        Salesloft's are asked for in one listing (`ids[]`); the others one by one, where
        the cache and single-flight make repeated pages free.
        """
        salesloft = self.sources.salesloft
        batch = sorted(
            {
                rest
                for source, rest in map(_node_id_parts, node_ids)
                if source is Source.SALESLOFT and salesloft is not None and salesloft.is_id(rest)
            }
        )
        batched: dict[str, Meeting] | UpstreamError = {}
        if batch and salesloft is not None:
            try:
                found = await self.bounded(
                    Source.SALESLOFT, lambda: salesloft.meetings_by_ids(batch, now)
                )
                batched = {m.source_id: m for m in found}
            except UpstreamError as error:
                batched = error

        async def one(node_id: str) -> Meeting | GatewayError | None:
            source, rest = _node_id_parts(node_id)
            if source is Source.SALESLOFT and rest in batch:
                return batched if isinstance(batched, UpstreamError) else batched.get(rest)
            try:
                return await self.meeting(node_id, now)
            except GatewayError as error:
                return error

        return list(await asyncio.gather(*(one(node_id) for node_id in node_ids)))

    async def lead(self, key: LeadKey) -> Lead | None:
        leads = self.sources.leads(key.source)
        if leads is None:
            return None
        return await self.bounded(key.source, lambda: leads.lead(key))

    def lead_key(self, node_id: str) -> LeadKey:
        source, rest = _split_node_id(node_id, "Lead")
        leads = self.sources.leads(source)
        if leads is not None:
            key = leads.lead_key(rest)
        else:  # an unconfigured lead source: its meetings are SKIPPED, the id is still fine
            key = LeadKey(source, rest) if source in LEAD_SOURCES and rest else None
        if key is None:
            raise BadUserInput(f"`{node_id}` is not a lead id (nexor:<uuid> or salesloft:<id>).")
        return key

    async def scheduled_bots(self) -> list[ScheduledBot]:
        bots = self.sources.bots
        if bots is None:
            return []
        return await self.bounded(Source.MEETSTREAM, bots.scheduled_bots)

    async def meetings_by_event(self, event_ids: list[str], now: datetime) -> list[Meeting]:
        salesloft = self.sources.salesloft
        if salesloft is None or not event_ids:
            return []
        return await self.bounded(
            Source.SALESLOFT, lambda: salesloft.meetings_by_event(event_ids, now)
        )


def _node_id_parts(node_id: str) -> tuple[Source | None, str]:
    prefix, _, rest = node_id.partition(":")
    try:
        return Source(prefix), rest
    except ValueError:
        return None, rest


def _split_node_id(node_id: str, type_name: str) -> tuple[Source, str]:
    source, rest = _node_id_parts(node_id)
    if source is None:
        raise BadUserInput(f"`{node_id}` is not a {type_name} id.")
    return source, rest


def _since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


def _failed(error: UpstreamError, started: float) -> SourceOutcome:
    return SourceOutcome(
        error.source,
        error.state,
        latency_ms=_since(started),
        message=error.detail,
        retry_after_seconds=error.retry_after_seconds,
        error=error,
    )
