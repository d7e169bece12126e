"""Salesloft meetings as the normalized model (status, attendees, location), and a listing
page decoded once with its mapping kept while it holds."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gateway.model import (
    Attendee,
    Lead,
    LeadKey,
    LocationType,
    Meeting,
    MeetingStatus,
    Platform,
    ResponseStatus,
    Source,
    read_only,
)
from gateway.sources.base import validate
from gateway.sources.http import JsonAnswer
from gateway.sources.salesloft.wire import (
    Record,
    SalesloftMeeting,
    SalesloftPage,
    SalesloftPaging,
    SalesloftRef,
)
from gateway.sources.wire import platform_from_url

_URL = re.compile(r"https?://[^\s<>\"']+", re.IGNORECASE)
_PHONE = re.compile(r"^\s*(phone|tel)\b|^\s*\+?[0-9][0-9\s().-]{6,}$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class _Mapped:
    """A listing's meetings as mapped at one "now", and the span of "now" over which that
    mapping holds (a booked meeting turns COMPLETED once it ends)."""

    meetings: tuple[Meeting, ...]
    after: datetime | None  # holds for now > after
    until: datetime | None  # and now <= until

    def holds(self, now: datetime) -> bool:
        return (self.after is None or now > self.after) and (
            self.until is None or now <= self.until
        )


@dataclass(slots=True)
class SalesloftListing:
    """One page of a listing, decoded once per cached answer and shared by every query that
    reads it: its records validated, and their mapping kept while it holds."""

    paging: SalesloftPaging
    records: tuple[Record, ...]
    _mapped: _Mapped | None = None

    def meetings(self, now: datetime) -> tuple[Meeting, ...]:
        mapped = self._mapped
        if mapped is None or not mapped.holds(now):
            mapped = self._mapped = _map_all(self.records, now)
        return mapped.meetings


def _map_all(records: Sequence[Record], now: datetime) -> _Mapped:
    turns = [t for wire, _ in records if (t := completes_at(wire)) is not None]
    return _Mapped(
        tuple(map_meeting(record, now) for record in records),
        after=max((t for t in turns if t < now), default=None),
        until=min((t for t in turns if t >= now), default=None),
    )


def listing_page(answer: JsonAnswer) -> SalesloftListing:
    """A listing page, every record validated now: a bad one is a bad answer, never cached."""
    page = validate(Source.SALESLOFT, SalesloftPage, answer.body)
    # Each dict made read-only once: a listing may be mapped again (a meeting ended).
    records = tuple(
        (validate(Source.SALESLOFT, SalesloftMeeting, r), read_only(r)) for r in page.data
    )
    return SalesloftListing(page.metadata.paging, records)


_PENDING = frozenset({MeetingStatus.PENDING})
# What an active (not canceled), shown meeting of each Salesloft status maps to; a status
# Salesloft adds later maps to UNKNOWN and cannot be named in a `status` filter.
_MAPS_TO = {
    "booked": frozenset({MeetingStatus.CONFIRMED, MeetingStatus.COMPLETED}),
    "pending": _PENDING,
    "retry": _PENDING,
    "failed": frozenset({MeetingStatus.FAILED}),
}
_ACTIVE_STATUSES = frozenset({MeetingStatus.NO_SHOW, MeetingStatus.UNKNOWN}).union(
    *_MAPS_TO.values()
)
_RESPONSES = {
    "needsAction": ResponseStatus.NEEDS_ACTION,
    "accepted": ResponseStatus.ACCEPTED,
    "tentative": ResponseStatus.TENTATIVE,
    "declined": ResponseStatus.DECLINED,
}
# Calendar clients write these names as the location of a video call without a link.
_PRODUCT_NAMES = (
    ("google meet", Platform.GOOGLE_MEET),
    ("zoom meeting", Platform.ZOOM),
    ("microsoft teams", Platform.TEAMS),
)


def completes_at(meeting: SalesloftMeeting) -> datetime | None:
    """When a booked meeting turns COMPLETED (its end); None for one whose status does not
    depend on "now" (canceled, no-show, or not booked)."""
    if meeting.canceled_at is not None or meeting.no_show or meeting.status != "booked":
        return None
    return meeting.end_time or meeting.start_time


def meeting_status(meeting: SalesloftMeeting, now: datetime) -> MeetingStatus:
    """DESIGN §3b precedence: canceled, then no-show, then the status (booked by end time;
    one Salesloft adds later is UNKNOWN)."""
    if meeting.canceled_at is not None:
        return MeetingStatus.CANCELLED
    if meeting.no_show:
        return MeetingStatus.NO_SHOW
    end = completes_at(meeting)
    if end is not None:
        return MeetingStatus.COMPLETED if end < now else MeetingStatus.CONFIRMED
    if meeting.status == "failed":
        return MeetingStatus.FAILED
    if meeting.status in ("pending", "retry"):
        return MeetingStatus.PENDING
    return MeetingStatus.UNKNOWN


def _person_lead(ref: SalesloftRef | None, name: str | None, email: str | None) -> Lead | None:
    if ref is None:
        return None
    return Lead(LeadKey(Source.SALESLOFT, str(ref.id)), name, email)


def _attendees(meeting: SalesloftMeeting, lead: Lead | None) -> tuple[Attendee, ...]:
    """`attendees[]` still invited, then the recipient and guests not already among them."""
    people = [
        Attendee(
            name=a.name,
            email=a.email,
            is_organizer=a.organizer,
            response_status=_RESPONSES.get(a.status or "", ResponseStatus.UNKNOWN),
            lead=_person_lead(a.person, a.name, a.email),
        )
        for a in meeting.attendees or ()
        if a.deleted_at is None
    ]
    emails = {a.email.casefold() for a in people if a.email is not None}
    name, email = meeting.recipient_name, meeting.recipient_email
    if email is not None and email.casefold() not in emails:
        people.append(Attendee(name=name, email=email, lead=lead))
        emails.add(email.casefold())
    elif email is None and name is not None and all(a.name != name for a in people):
        people.append(Attendee(name=name, email=None, lead=lead))
    for guest in meeting.guests or ():
        if guest.casefold() not in emails:
            people.append(Attendee(name=None, email=guest))
            emails.add(guest.casefold())
    return tuple(people)


def location_of(location: str | None) -> tuple[str | None, Platform | None, LocationType | None]:
    """(meeting URL, platform, location type) read from Salesloft's free-text location.

    A link means a video call; a product name ("Microsoft Teams Meeting") too, without a
    URL; "Phone: …" or a bare number is a phone call; any other text is taken as a place.
    """
    text = (location or "").strip()
    if not text:
        return None, None, None
    found = _URL.search(text)
    if found is not None:
        url = found.group(0)
        return url, platform_from_url(url) or Platform.OTHER, LocationType.VIDEO
    lowered = text.casefold()
    for name, platform in _PRODUCT_NAMES:
        if name in lowered:
            return None, platform, LocationType.VIDEO
    if _PHONE.search(text):
        return None, None, LocationType.PHONE
    return None, None, LocationType.IN_PERSON


def to_meeting(raw: dict[str, Any], now: datetime) -> Meeting:
    """Validate one meeting as received and map it; `raw` keeps the dict itself."""
    return map_meeting((validate(Source.SALESLOFT, SalesloftMeeting, raw), raw), now)


def map_meeting(record: Record, now: datetime) -> Meeting:
    """One validated meeting as the normalized model (its status depends on `now`)."""
    wire, raw = record
    lead = _person_lead(wire.person, wire.recipient_name, wire.recipient_email)
    url, platform, location_type = location_of(wire.location)
    return Meeting(
        source=Source.SALESLOFT,
        source_id=str(wire.id),
        status=meeting_status(wire, now),
        source_status=wire.status,
        start_time=wire.start_time,
        end_time=wire.end_time,
        title=wire.title,
        description=wire.description,
        meeting_url=url,
        platform=platform,
        location_type=location_type,
        attendees=_attendees(wire, lead),
        lead=lead,
        calendar_ids=tuple(i for i in (wire.event_id, wire.i_cal_uid) if i is not None),
        cancelled_at=wire.canceled_at,
        created_at=wire.created_at,
        updated_at=wire.updated_at,
        raw=raw,
    )
