"""The normalized meeting model every source maps into. No I/O, no GraphQL."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from types import MappingProxyType
from typing import Any


class Source(Enum):
    """The upstream products. Their order here is the merged order's tie-break (DESIGN §3b:
    LEEZY < NEXOR < SALESLOFT < DAILY), so a new upstream takes its rank where it is added."""

    LEEZY = "leezy"
    NEXOR = "nexor"
    MEETSTREAM = "meetstream"
    SALESLOFT = "salesloft"
    DAILY = "daily"

    @property
    def rank(self) -> int:
        """Position in the merged order's tie-break."""
        return _RANKS[self]


_RANKS = {source: rank for rank, source in enumerate(Source)}
BOT_SOURCE = Source.MEETSTREAM  # the one upstream of `ScheduledBot`s


class MeetingStatus(Enum):
    SCHEDULED = "SCHEDULED"
    CONFIRMED = "CONFIRMED"
    IN_PROGRESS = "IN_PROGRESS"
    COMPLETED = "COMPLETED"
    CANCELLED = "CANCELLED"
    NO_SHOW = "NO_SHOW"
    PENDING = "PENDING"
    FAILED = "FAILED"
    UNKNOWN = "UNKNOWN"  # a status the upstream added after our mapping: see `sourceStatus`


class Platform(Enum):
    GOOGLE_MEET = "GOOGLE_MEET"
    ZOOM = "ZOOM"
    TEAMS = "TEAMS"
    DAILY = "DAILY"
    OTHER = "OTHER"


class LocationType(Enum):
    VIDEO = "VIDEO"
    PHONE = "PHONE"
    IN_PERSON = "IN_PERSON"


class ResponseStatus(Enum):
    ACCEPTED = "ACCEPTED"
    DECLINED = "DECLINED"
    TENTATIVE = "TENTATIVE"
    NEEDS_ACTION = "NEEDS_ACTION"
    UNKNOWN = "UNKNOWN"


class BotStatus(Enum):
    SCHEDULED = "SCHEDULED"
    JOINING = "JOINING"
    IN_MEETING = "IN_MEETING"
    STOPPED = "STOPPED"
    FAILED = "FAILED"
    UNKNOWN = "UNKNOWN"


def read_only(record: Mapping[str, Any]) -> Mapping[str, Any]:
    """The upstream record as received, behind a read-only view: records are shared by every
    query that reads the same cached answer, so no query may change one."""
    return record if isinstance(record, MappingProxyType) else MappingProxyType(dict(record))


@dataclass(frozen=True, slots=True)
class LeadKey:
    """Identifies a lead: a Nexor lead (UUID) or a Salesloft person (number as text)."""

    source: Source
    source_id: str

    @property
    def node_id(self) -> str:
        return f"{self.source.value}:{self.source_id}"


@dataclass(frozen=True, slots=True)
class Lead:
    key: LeadKey
    name: str | None
    email: str | None


@dataclass(frozen=True, slots=True)
class Attendee:
    name: str | None
    email: str | None
    phone: str | None = None
    is_organizer: bool = False
    response_status: ResponseStatus = ResponseStatus.UNKNOWN
    joined_at: datetime | None = None
    duration_seconds: int | None = None
    lead: Lead | None = None


@dataclass(frozen=True, slots=True)
class Meeting:
    source: Source
    source_id: str
    status: MeetingStatus
    source_status: str
    start_time: datetime
    title: str | None = None
    description: str | None = None
    end_time: datetime | None = None
    timezone: str | None = None
    meeting_url: str | None = None
    platform: Platform | None = None
    location_type: LocationType | None = None
    attendees: tuple[Attendee, ...] = ()
    lead: Lead | None = None
    chatbot_id: str | None = None  # Leezy only
    # The ids its calendar event goes by (event id, iCal UID): a bot names one of them.
    calendar_ids: tuple[str, ...] = ()
    cancelled_at: datetime | None = None
    cancellation_reason: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)
    node_id: str = ""  # "<source>:<sourceId>", or "nexor:<leadId>:<meetingId>"

    def __post_init__(self) -> None:
        if not self.node_id:
            object.__setattr__(self, "node_id", f"{self.source.value}:{self.source_id}")
        object.__setattr__(self, "raw", read_only(self.raw))

    @property
    def organizer(self) -> Attendee | None:
        return next((a for a in self.attendees if a.is_organizer), None)

    @property
    def duration_minutes(self) -> int | None:
        if self.end_time is None:
            return None
        return int((self.end_time - self.start_time).total_seconds() // 60)


@dataclass(frozen=True, slots=True)
class ScheduledBot:
    bot_id: str
    platform: Platform
    status: BotStatus
    source_status: str
    scheduled_join_time: datetime
    username: str | None
    calendar_event_id: str | None
    deduplication_key: str | None
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "raw", read_only(self.raw))

    @property
    def source(self) -> Source:
        return BOT_SOURCE

    @property
    def node_id(self) -> str:
        return f"{self.source.value}:{self.bot_id}"
