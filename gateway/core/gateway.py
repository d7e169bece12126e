"""The `Gateway`: one page of the merged meetings, look-ups by id, bots and health.

The sources are asked concurrently, each under its own timeout; a source that fails
becomes an outcome (state + message) instead of failing the query. Their ordered answers
are merged k-way by the keyset order, so a page stays right while upstream data changes.
Which sources are asked, and how, is read from their declarations (`sources.base`).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TypeVar

from gateway.core.ids import node_id_parts, split_node_id
from gateway.core.paging import PageArgs, page_size
from gateway.cursors import decode_cursor, encode_cursor, query_fingerprint
from gateway.errors import GatewayError, SourceState, UpstreamError, UpstreamTimeout
from gateway.model import BOT_SOURCE, Lead, LeadKey, Meeting, ScheduledBot, Source
from gateway.query import MeetingFilter, Ordering
from gateway.sources.base import (
    BatchLookup,
    EventLookup,
    LeadBatch,
    MeetingAnswer,
    MeetingRequest,
)
from gateway.sources.registry import Sources
from gateway.usage import source_tally

log = logging.getLogger(__name__)
T = TypeVar("T")

_KIND = "meetings"  # in the cursor fingerprint: a bots cursor is no meetings cursor


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
    # False: a source counted a lower bound (its outcome's message says why).
    total_count_exact: bool = True

    @property
    def errors(self) -> list[UpstreamError]:
        return [o.error for o in self.outcomes if o.error is not None]


@dataclass(frozen=True)
class BotListing:
    bots: tuple[ScheduledBot, ...]
    outcome: SourceOutcome


@dataclass(frozen=True)
class SourceHealth:
    """Configuration and last contact of one upstream; never a credential."""

    source: Source
    enabled: bool
    base_url: str
    last_success_at: datetime | None
    last_error: str | None
    circuit: str | None = None  # closed, open or half_open; None for a disabled source


class Gateway:
    """The core: what the GraphQL resolvers call."""

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
        fingerprint = query_fingerprint(_KIND, meeting_filter, ordering.field, ordering.direction)
        walk = ordering.reversed() if backwards else ordering
        cursor, argument = (args.before, "before") if backwards else (args.after, "after")
        after, hints = (
            (None, {}) if cursor is None else decode_cursor(cursor, fingerprint, argument=argument)
        )
        request = MeetingRequest(
            filter=meeting_filter,
            ordering=walk,
            after=after,
            need=size + 1,  # the page is walked lean; the count is the sources' own business
            now=now,
            hints=hints,
            count=count_total,
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
        exact = all(a.total is not None and a.total_exact for a in received)
        outcomes.sort(key=lambda o: o.source.rank)
        return MeetingsPage(
            edges=edges,
            has_next_page=has_before if backwards else has_more,
            has_previous_page=has_more if backwards else has_before,
            total_count=total,
            outcomes=outcomes,
            total_count_exact=exact or not count_total,
        )

    def _plan(self, meeting_filter: MeetingFilter) -> tuple[list[Source], list[SourceOutcome]]:
        """The sources to ask, and an outcome for each one that is SKIPPED (and why)."""
        asked: list[Source] = []
        skipped: list[SourceOutcome] = []
        for source in self.sources.meeting_sources:
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
        answer, outcome = await self._outcome(source, lambda: found.meetings(request))
        if answer is not None and answer.note is not None:
            outcome = replace(outcome, message=answer.note)
        return answer, outcome

    async def _outcome(
        self, source: Source, call: Callable[[], Awaitable[T]]
    ) -> tuple[T | None, SourceOutcome]:
        """One source's answer (None when it failed) and what it did: state, time, cache."""
        started = time.perf_counter()
        with source_tally() as usage:
            try:
                answer = await self.bounded(source, call)
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
        source, rest = split_node_id(node_id, "Meeting")
        found = self.sources.meetings.get(source)
        if found is None:
            return None
        return await self.bounded(source, lambda: found.meeting(rest, now))

    async def meetings_by_id(
        self, node_ids: list[str], now: datetime
    ) -> list[Meeting | GatewayError | None]:
        """Meetings by node id, in order, each a meeting, None or its own error.

        A source that looks meetings up in batches (`BatchLookup`) is asked once for all of
        its ids; the others one id at a time, where the cache and single-flight make
        repeated pages free.
        """
        batches: dict[Source, tuple[BatchLookup, set[str]]] = {}
        for source, rest in map(node_id_parts, node_ids):
            found = None if source is None else self.sources.meetings.get(source)
            if source is not None and isinstance(found, BatchLookup) and found.is_id(rest):
                batches.setdefault(source, (found, set()))[1].add(rest)
        answers = await asyncio.gather(
            *(self._batch(source, lookup, ids, now) for source, (lookup, ids) in batches.items())
        )
        batched = dict(zip(batches, answers, strict=True))

        async def one(node_id: str) -> Meeting | GatewayError | None:
            source, rest = node_id_parts(node_id)
            if source in batches and rest in batches[source][1]:
                found = batched[source]
                return found if isinstance(found, UpstreamError) else found.get(rest)
            try:
                return await self.meeting(node_id, now)
            except GatewayError as error:
                return error

        return list(await asyncio.gather(*(one(node_id) for node_id in node_ids)))

    async def _batch(
        self, source: Source, lookup: BatchLookup, ids: set[str], now: datetime
    ) -> dict[str, Meeting] | UpstreamError:
        try:
            found = await self.bounded(source, lambda: lookup.meetings_by_ids(sorted(ids), now))
        except UpstreamError as error:
            return error
        return {m.source_id: m for m in found}

    async def meetings_by_event(self, event_ids: list[str], now: datetime) -> list[Meeting]:
        """Meetings on these calendar events, from every source that knows events."""
        if not event_ids:
            return []
        lookups = [
            (source, found)
            for source, found in self.sources.meetings.items()
            if isinstance(found, EventLookup)
        ]

        async def on_events(source: Source, lookup: EventLookup) -> list[Meeting]:
            return await self.bounded(source, lambda: lookup.meetings_by_event(event_ids, now))

        found = await asyncio.gather(*(on_events(source, lookup) for source, lookup in lookups))
        return [meeting for meetings in found for meeting in meetings]

    async def lead(self, key: LeadKey) -> Lead | None:
        leads = self.sources.leads(key.source)
        if leads is None:
            return None
        return await self.bounded(key.source, lambda: leads.lead(key))

    async def leads(self, keys: list[LeadKey]) -> list[Lead | GatewayError | None]:
        """Leads in order, each a lead, None or its own error: a source that looks leads up
        in batches (`LeadBatch`) is asked once for all of its keys, the others one by one."""
        batches: dict[Source, tuple[LeadBatch, list[LeadKey]]] = {}
        for key in keys:
            found = self.sources.leads(key.source)
            if isinstance(found, LeadBatch):
                batches.setdefault(key.source, (found, []))[1].append(key)
        answers = await asyncio.gather(
            *(self._lead_batch(source, batch, of) for source, (batch, of) in batches.items())
        )
        batched = {key: lead for answer in answers for key, lead in answer.items()}

        async def one(key: LeadKey) -> Lead | GatewayError | None:
            if key in batched:
                return batched[key]
            try:
                return await self.lead(key)
            except GatewayError as error:
                return error

        return list(await asyncio.gather(*(one(key) for key in keys)))

    async def _lead_batch(
        self, source: Source, batch: LeadBatch, keys: list[LeadKey]
    ) -> dict[LeadKey, Lead | GatewayError | None]:
        try:
            found = await self.bounded(source, lambda: batch.leads(keys))
        except UpstreamError as error:
            return dict.fromkeys(keys, error)
        return dict(found)

    # --- bots and health -----------------------------------------------------------------

    async def bots(self) -> BotListing:
        """Every bot the bot source lists, and what it did; none when it failed or is off."""
        found = self.sources.bots
        if found is None:
            reason = f"{BOT_SOURCE.name} is not configured (no API key)"
            return BotListing((), SourceOutcome(BOT_SOURCE, SourceState.SKIPPED, message=reason))
        bots, outcome = await self._outcome(found.source, found.scheduled_bots)
        return BotListing(bots or (), outcome)

    def health(self) -> list[SourceHealth]:
        clients = self.sources.clients()
        health = []
        for source in Source:
            client = clients.get(source)
            health.append(
                SourceHealth(
                    source=source,
                    enabled=client is not None,
                    base_url=self.sources.settings.source(source).base_url,
                    last_success_at=None if client is None else client.health.last_success_at,
                    last_error=None if client is None else client.health.last_error,
                    circuit=None if client is None else client.guard.breaker.state,
                )
            )
        return health


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
