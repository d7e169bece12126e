"""Builds the enabled sources from settings (in the app lifespan, with its one session)."""

from __future__ import annotations

from dataclasses import dataclass

import aiohttp

from gateway.config import Settings
from gateway.model import Source
from gateway.sources.base import LeadSource, MeetingSource
from gateway.sources.cache import ResponseCache
from gateway.sources.daily import DailySource
from gateway.sources.http import UpstreamClient
from gateway.sources.leezy import LeezySource
from gateway.sources.meetstream import MeetStreamSource
from gateway.sources.nexor import NexorSource
from gateway.sources.salesloft import SalesloftSource


@dataclass(frozen=True)
class Sources:
    settings: Settings
    meetings: dict[Source, MeetingSource]  # enabled meeting sources only
    bots: MeetStreamSource | None
    salesloft: SalesloftSource | None  # links bots to the meetings they join

    def leads(self, source: Source) -> LeadSource | None:
        found = self.meetings.get(source)
        return found if isinstance(found, LeadSource) else None

    def clients(self) -> dict[Source, UpstreamClient]:
        clients = {source: found.client for source, found in self.meetings.items()}
        if self.bots is not None:
            clients[Source.MEETSTREAM] = self.bots.client
        return clients


def build_sources(
    settings: Settings, session: aiohttp.ClientSession, cache: ResponseCache
) -> Sources:
    meetings: dict[Source, MeetingSource] = {}
    for kind in (LeezySource, NexorSource, SalesloftSource, DailySource):
        source_settings = settings.source(kind.source)
        if source_settings.enabled:
            meetings[kind.source] = kind.create(source_settings, session, cache)
    bots = (
        MeetStreamSource.create(settings.meetstream, session, cache)
        if settings.meetstream.enabled
        else None
    )
    salesloft = meetings.get(Source.SALESLOFT)
    return Sources(
        settings=settings,
        meetings=meetings,
        bots=bots,
        salesloft=salesloft if isinstance(salesloft, SalesloftSource) else None,
    )
