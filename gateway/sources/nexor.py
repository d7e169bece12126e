"""Nexor: meetings of one lead at a time. `GET /leads/{id}/meetings`, no pagination.

Nexor can only be asked per lead, so a query reaches it only through `leadIds`; each lead
is one request, all of them concurrent. `GET /leads` is never used: its shape is not
documented. A lead's node id is its UUID, a meeting's carries its lead's:
"nexor:<leadId>:<meetingId>", so a meeting can be fetched again from its id alone.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from gateway.config import SourceSettings
from gateway.errors import BadUserInput
from gateway.model import (
    Attendee,
    Lead,
    LeadKey,
    LocationType,
    Meeting,
    MeetingStatus,
    Platform,
    Source,
)
from gateway.query import MeetingFilter
from gateway.sources.base import (
    Capabilities,
    LeadSource,
    MeetingAnswer,
    MeetingRequest,
    MeetingSource,
    answer_from,
    validate,
)
from gateway.sources.http import JsonAnswer
from gateway.sources.wire import UtcTime, WireModel, api_key, platform_from_url

NOT_FOUND = 404
RATE_LIMIT_RETRY_AFTER = 60  # no rate limit is documented: a 429 waits a minute
MEETING_ID_PATTERN = re.compile(r"[A-Za-z0-9_.-]{1,128}")

# Nexor's documented statuses; one it adds later is UNKNOWN (its text kept in sourceStatus).
STATUSES: dict[str, MeetingStatus] = {
    "scheduled": MeetingStatus.SCHEDULED,
    "confirmed": MeetingStatus.CONFIRMED,
    "completed": MeetingStatus.COMPLETED,
    "cancelled": MeetingStatus.CANCELLED,
    "no_show": MeetingStatus.NO_SHOW,
}
# Documented location types; one Nexor adds later is no location type (None), not a failed
# record: we cannot tell whether it is a call or a place. Its link alone then says a platform.
LOCATIONS = {
    "video": LocationType.VIDEO,
    "phone": LocationType.PHONE,
    "in_person": LocationType.IN_PERSON,
}
# Nexor's links are read for these hosts only; Daily rooms and Zoom's regional hosts
# (`us02web.zoom.us`) lie below theirs.
VIDEO_DOMAINS = ("meet.google.com", "zoom.us", "teams.microsoft.com", "daily.co")
SUBDOMAINS_OF = ("daily.co", "zoom.us")


class NexorMeetings(WireModel):
    success: Literal[True]
    meetings: list[dict[str, Any]]


class NexorMeeting(WireModel):
    """One meeting as Nexor's field table types it. Its example shows every field, the
    nullable ones present with null, so all are required; each `string | null` there may be
    null in any record. `status` and `location_type` are open text: their lists may grow."""

    id: str
    title: str
    starts_at: UtcTime
    ends_at: UtcTime
    duration_minutes: int
    timezone: str
    status: str  # scheduled|confirmed|completed|cancelled|no_show, more later: STATUSES
    meeting_url: str | None
    location_type: str  # video|phone|in_person, more later: LOCATIONS
    location_details: str | None
    host_name: str | None  # "Assigned host/agent name": none assigned yet
    meeting_type: str | None
    attendee_name: str
    attendee_email: str
    confirmed_by_lead: bool
    cancelled_at: UtcTime | None
    cancellation_reason: str | None
    no_show_reason: str | None
    outcome_notes: str | None
    created_at: UtcTime


_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def is_lead_id(text: str) -> bool:
    """Nexor matches lead ids exactly as it stores them: canonical lower-case UUIDs (what
    `str(uuid.UUID(...))` writes)."""
    return _CANONICAL_UUID.fullmatch(text) is not None


def platform_of(url: str | None, location: LocationType | None) -> Platform | None:
    platform = platform_from_url(url, domains=VIDEO_DOMAINS, subdomains=SUBDOMAINS_OF)
    if platform is not None:
        return platform
    return Platform.OTHER if location is LocationType.VIDEO else None


def to_meeting(record: NexorMeeting, raw: dict[str, Any], lead_id: str) -> Meeting:
    lead = Lead(LeadKey(Source.NEXOR, lead_id), record.attendee_name, record.attendee_email)
    location = LOCATIONS.get(record.location_type)
    return Meeting(
        source=Source.NEXOR,
        source_id=record.id,
        status=STATUSES.get(record.status, MeetingStatus.UNKNOWN),
        source_status=record.status,
        start_time=record.starts_at,
        title=record.title,
        end_time=record.ends_at,
        timezone=record.timezone,
        meeting_url=record.meeting_url,
        platform=platform_of(record.meeting_url, location),
        location_type=location,
        attendees=(
            Attendee(record.attendee_name, record.attendee_email, lead=lead),
            Attendee(record.host_name, None, is_organizer=True),
        ),
        lead=lead,
        cancelled_at=record.cancelled_at,
        cancellation_reason=record.cancellation_reason,
        created_at=record.created_at,
        raw=raw,
        node_id=f"{Source.NEXOR.value}:{lead_id}:{record.id}",
    )


def status_param(meeting_filter: MeetingFilter) -> list[tuple[str, str]] | None:
    """The `status` parameter, [] for none, or None when no Nexor meeting can match.

    Statuses Nexor never has are left out; all five is the same as no parameter (and
    shares its cache entry). UNKNOWN stands for statuses we cannot name: no parameter then.
    """
    if meeting_filter.statuses is None or MeetingStatus.UNKNOWN in meeting_filter.statuses:
        return []
    names = [name for name, status in STATUSES.items() if status in meeting_filter.statuses]
    if not names:
        return None
    return [] if len(names) == len(STATUSES) else [("status", ",".join(names))]


class NexorSource(MeetingSource, LeadSource):
    source = Source.NEXOR
    rate_limit_retry_after = RATE_LIMIT_RETRY_AFTER
    lead_id_form = "<uuid>"
    capabilities = Capabilities(
        excluded_by={
            "chatbot_id": "NEXOR meetings have no chatbot, so chatbotId excludes them",
            "updated_since": "NEXOR has no update time, so updatedSince excludes it",
        },
        lists_per_lead=True,
    )

    @staticmethod
    def auth_headers(settings: SourceSettings) -> dict[str, str]:
        return {"X-API-Key": api_key(settings)}

    async def meetings(self, request: MeetingRequest) -> MeetingAnswer:
        meeting_filter = request.filter
        params = status_param(meeting_filter)
        if self.skip_reason(meeting_filter) is not None or params is None:
            return answer_from((), request)
        lead_ids = sorted(
            key.source_id
            for key in meeting_filter.lead_ids or ()
            if key.source is Source.NEXOR and is_lead_id(key.source_id)
        )
        found = await asyncio.gather(*(self._lead_meetings(lead, params) for lead in lead_ids))
        return answer_from((m for meetings in found for m in meetings or ()), request)

    async def meeting(self, node_id: str, now: datetime) -> Meeting | None:
        lead_id, _, meeting_id = node_id.partition(":")
        if not is_lead_id(lead_id) or not MEETING_ID_PATTERN.fullmatch(meeting_id):
            raise BadUserInput(
                f"{node_id!r} is not a Nexor meeting id (expected <lead UUID>:<meeting id>)"
            )
        meetings = await self._lead_meetings(lead_id, [])
        return next((m for m in meetings or () if m.source_id == meeting_id), None)

    @staticmethod
    def lead_key(source_id: str) -> LeadKey | None:
        return LeadKey(Source.NEXOR, source_id) if is_lead_id(source_id) else None

    async def lead(self, key: LeadKey) -> Lead | None:
        if key.source is not Source.NEXOR or not is_lead_id(key.source_id):
            return None
        meetings = await self._lead_meetings(key.source_id, [])
        if meetings is None:
            return None
        # The lead's name and email are only known through its meetings (most recent first).
        latest = next((m.lead for m in meetings if m.lead is not None), None)
        return Lead(key, None, None) if latest is None else latest

    async def _lead_meetings(
        self, lead_id: str, params: Sequence[tuple[str, str]]
    ) -> tuple[Meeting, ...] | None:
        """The lead's meetings, or None when Nexor does not know the lead (404)."""

        def parse(answer: JsonAnswer) -> tuple[Meeting, ...] | None:
            if answer.status == NOT_FOUND:
                return None
            body = validate(Source.NEXOR, NexorMeetings, answer.body)
            return tuple(
                to_meeting(validate(Source.NEXOR, NexorMeeting, raw), raw, lead_id)
                for raw in body.meetings
            )

        return await self.client.get(
            f"/leads/{lead_id}/meetings", params, parse, expected={NOT_FOUND}
        )
