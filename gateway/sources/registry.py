"""The upstreams this gateway knows, one line each, and the enabled ones of a deployment.

What each can do is declared in its own module (`Capabilities`, and which look-up protocols
of `sources.base` it implements); the core reads those declarations from here.
"""

from __future__ import annotations

from dataclasses import dataclass

import aiohttp

from gateway.cache.upstream import UpstreamCache
from gateway.config import Settings
from gateway.model import Source
from gateway.observe import UpstreamObserver
from gateway.ratelimit import MemoryRateLimiter, RateLimiter
from gateway.sources.base import BotSource, LeadSource, MeetingSource, Upstream
from gateway.sources.daily import DailySource
from gateway.sources.http import UpstreamClient
from gateway.sources.leezy import LeezySource
from gateway.sources.meetstream import MeetStreamSource
from gateway.sources.nexor import NexorSource
from gateway.sources.salesloft import SalesloftSource

UPSTREAMS: tuple[type[Upstream], ...] = (
    LeezySource,
    NexorSource,
    MeetStreamSource,
    SalesloftSource,
    DailySource,
)


def lead_source_types(
    upstreams: tuple[type[Upstream], ...] = UPSTREAMS,
) -> dict[Source, type[LeadSource]]:
    """The upstreams that hold leads, configured or not: their lead ids can be read."""
    return {kind.source: kind for kind in upstreams if issubclass(kind, LeadSource)}


@dataclass(frozen=True)
class Sources:
    """The upstreams of one deployment, as the core sees them."""

    settings: Settings
    meeting_sources: tuple[Source, ...]  # every upstream that holds meetings, in merge order
    meetings: dict[Source, MeetingSource]  # the enabled ones only
    bots: BotSource | None

    def leads(self, source: Source) -> LeadSource | None:
        found = self.meetings.get(source)
        return found if isinstance(found, LeadSource) else None

    def clients(self) -> dict[Source, UpstreamClient]:
        clients = {source: found.client for source, found in self.meetings.items()}
        if self.bots is not None:
            clients[self.bots.source] = self.bots.client
        return clients


def build_sources(
    settings: Settings,
    session: aiohttp.ClientSession,
    cache: UpstreamCache,
    upstreams: tuple[type[Upstream], ...] = UPSTREAMS,
    limiter: RateLimiter | None = None,
    observer: UpstreamObserver | None = None,
) -> Sources:
    """The enabled upstreams (built in the app lifespan, with its one session, cache, rate
    limiter and observer)."""
    limiter = limiter or MemoryRateLimiter()
    built = [
        kind.create(settings.source(kind.source), session, cache, limiter, observer)
        for kind in upstreams
        if settings.source(kind.source).enabled
    ]
    meeting_types = sorted(
        (kind.source for kind in upstreams if issubclass(kind, MeetingSource)),
        key=lambda source: source.rank,
    )
    return Sources(
        settings=settings,
        meeting_sources=tuple(meeting_types),
        meetings={found.source: found for found in built if isinstance(found, MeetingSource)},
        bots=next((found for found in built if isinstance(found, BotSource)), None),
    )
