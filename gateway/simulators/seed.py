"""Shared pools the per-API data builders draw from, so the five data sets overlap.

Overlaps the gateway must cope with: the same people (emails) in several APIs, calendar
events that Salesloft books and MeetStream bots join, Daily rooms that Leezy and Nexor
meetings link to (with sessions in Daily), and start times equal across APIs.
Everything derives from one seed and a reference "now": the same inputs give the same data.
"""

from __future__ import annotations

import random
import unicodedata
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

SLOT = timedelta(minutes=30)
HORIZON_SLOTS = 21 * 48  # three weeks each side of "now"

TIMEZONES = (
    "America/New_York",
    "Europe/Berlin",
    "Asia/Tokyo",
    "America/Los_Angeles",
    "Europe/London",
    "Australia/Sydney",
    "Asia/Kolkata",
    "America/Sao_Paulo",
)
FIRST_NAMES = (
    "Zoë", "José", "Łukasz", "Søren", "Ana-María", "François", "Nguyễn", "Ayşe", "Björn",
    "Chloé", "Dmitri", "Élodie", "Fatima", "Grace", "Hiroshi", "Ingrid", "Jamal", "Kateřina",
    "Liam", "Mei", "Noah", "Olúwaseun", "Priya", "Raúl", "Sofía", "Tomás", "Umar", "Wei",
)  # fmt: skip
LAST_NAMES = (
    "Müller", "García", "Kowalski", "Ødegaard", "O'Brien", "Nakamura", "Dubois", "Smith",
    "Þórsson", "Yılmaz", "Ivanova", "Chen", "Okafor", "Rossi", "Novák", "Patel", "李",
)  # fmt: skip
COMPANIES = ("Acme GmbH", "Globex", "Initech", "Umbrella Ltd", "Hooli", "Stark & Söhne", "Vandelay")


@dataclass(frozen=True)
class Person:
    first_name: str
    last_name: str
    email: str
    phone: str | None
    timezone: str
    company: str

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"


@dataclass(frozen=True)
class CalendarEvent:
    """A calendar event Salesloft books a meeting on and a MeetStream bot may join."""

    event_id: str
    i_cal_uid: str
    start: datetime
    end: datetime
    title: str


@dataclass(frozen=True)
class RoomBooking:
    """A Daily room a Leezy or Nexor meeting links to; Daily holds its session if past."""

    room: str
    url: str
    start: datetime
    minutes: int


@dataclass
class SeedPools:
    seed: int
    now: datetime
    people: list[Person] = field(default_factory=list)
    calendar_events: list[CalendarEvent] = field(default_factory=list)
    room_bookings: list[RoomBooking] = field(default_factory=list)
    shared_starts: list[datetime] = field(default_factory=list)
    scale: int | None = None  # None: the default data set; else a real-sized account (scale.py)

    def rng(self, purpose: str) -> random.Random:
        """An independent generator per purpose, so one builder's changes don't shift another's."""
        return random.Random(f"{self.seed}:{purpose}")

    def uuid(self, rng: random.Random) -> str:
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))

    def slot(self, rng: random.Random, *, future: bool | None = None) -> datetime:
        """A start time on the half-hour grid, three weeks either side of now (never now)."""
        low, high = -HORIZON_SLOTS, HORIZON_SLOTS
        if future is True:
            low = 2
        elif future is False:
            high = -1
        offset = 0
        while offset == 0:
            offset = rng.randint(low, high)
        return _grid_origin(self.now) + offset * SLOT

    def start(self, rng: random.Random, *, future: bool | None = None) -> datetime:
        """Usually a fresh slot; one time in eight a start time other APIs use too."""
        if future is None and rng.random() < 0.125:
            return rng.choice(self.shared_starts)
        return self.slot(rng, future=future)


def _grid_origin(now: datetime) -> datetime:
    return now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def build_pools(seed: int, now: datetime) -> SeedPools:
    pools = SeedPools(seed=seed, now=now)
    rng = pools.rng("pools")
    pools.people = build_people(rng, 60)
    pools.shared_starts = [pools.slot(rng) for _ in range(12)]
    pools.calendar_events = [
        calendar_event(pools, rng, index, pools.slot(rng)) for index in range(60)
    ]
    pools.room_bookings = [room_booking(rng, index, pools.slot(rng)) for index in range(40)]
    return pools


def build_people(rng: random.Random, count: int) -> list[Person]:
    """People with unicode names, several timezones, unique emails; every fourth has no phone."""
    people: list[Person] = []
    for index in range(count):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        local = f"{_ascii(first)}.{_ascii(last)}{index}".lower()
        people.append(
            Person(
                first_name=first,
                last_name=last,
                email=f"{local}@{rng.choice(('example.com', 'example.org', 'example.net'))}",
                phone=None if index % 4 == 0 else f"+1555{rng.randint(1000000, 9999999)}",
                timezone=rng.choice(TIMEZONES),
                company=rng.choice(COMPANIES),
            )
        )
    return people


def calendar_event(
    pools: SeedPools, rng: random.Random, index: int, start: datetime
) -> CalendarEvent:
    return CalendarEvent(
        event_id=f"evt{rng.getrandbits(48):012x}",
        i_cal_uid=f"{pools.uuid(rng)}@calendar.example.com",
        start=start,
        end=start + timedelta(minutes=rng.choice((15, 30, 45, 60))),
        title=f"Discovery call #{index + 1}",
    )


def room_booking(rng: random.Random, index: int, start: datetime) -> RoomBooking:
    room = f"sales-room-{index + 1:02d}"
    return RoomBooking(
        room=room,
        url=f"https://meetings.daily.co/{room}",
        start=start,
        minutes=rng.choice((15, 30, 45)),
    )


def _ascii(text: str) -> str:
    translated = text.lower().translate(str.maketrans("łøðþæı", "lodtai"))
    folded = unicodedata.normalize("NFKD", translated).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded if ch.isalnum()) or "x"


def iso_z(moment: datetime) -> str:
    """ISO 8601 in UTC with a Z, to the second: 2026-01-15T17:00:00Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_micro_z(moment: datetime) -> str:
    """Salesloft's microsecond form: 2026-01-15T17:00:00.000000Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def iso_offset(moment: datetime) -> str:
    """MeetStream's offset form: 2026-01-15T17:00:00+00:00."""
    return moment.astimezone(UTC).replace(microsecond=0).isoformat()
