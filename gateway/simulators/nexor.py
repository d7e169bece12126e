"""Nexor: meetings of a lead. `GET /api/public/leads/{id}/meetings`, no pagination.

Auth is `X-API-Key: nxr_live_…`. Strictest readings where the vendor is silent:

- `[inferred]` `GET /leads` answers `{"success": true, "leads": [...]}` in insertion order,
  without pagination, each lead shaped like the webhook's `lead` object.
- `[inferred]` meetings come `starts_at` descending ("most recent first"), ties by `id`
  ascending; a stored record whose `starts_at` is not a date-time comes last.
- `[inferred]` a lead id is matched exactly as stored (lowercase UUID): an uppercase or
  otherwise non-canonical id, like any unknown id, is 404.
- `[inferred]` `status` entries are matched exactly: an unknown or empty entry (including
  one with a space, `scheduled, confirmed`) is 400 `Invalid status`. Repeated `status`
  parameters: only the first counts.
- `[inferred]` an empty `X-API-Key` header counts as missing; a key without the `nxr_live_`
  prefix or not issued is `Invalid API key`.
- `[inferred]` 429 body `{"error": "Too many requests"}`; other statuses carry the HTTP
  reason phrase. No rate limit is documented, so none is enforced (the switch is ignored).
"""

from __future__ import annotations

import copy
import random
from datetime import timedelta
from http import HTTPStatus

from aiohttp import web

from gateway.simulators.core import ApiError, Clock, Record, SimulatedApi, utc_now
from gateway.simulators.params import record_time
from gateway.simulators.scale import Starts, cycled, starts_for, tied_seconds
from gateway.simulators.seed import Person, RoomBooking, SeedPools, iso_z

STATUSES = ("scheduled", "confirmed", "completed", "cancelled", "no_show")
LOCATION_TYPES = ("video", "phone", "in_person")
HOSTS = ("Sarah Chen", "Jörg Schäfer", "Amélie Laurent", "佐藤 健二", "Marcus Johnson")
VIDEO_TYPES = ("Google Meet", "Zoom Call", "Initial Consultation", "Product Demo")
SOURCES = ("website_chat", "linkedin", "referral", "inbound_call", "webinar")
KEY_PREFIX = "nxr_live_"

PRIMARY_KEY = "nxr_live_sim_primary_5c2e81a4"
SECOND_KEY = "nxr_live_sim_second_8d4f2093"  # a second tenant, same data
REVOKED_KEY = "nxr_live_sim_revoked_00000000"  # right prefix, no longer valid: Invalid API key
TEST_MODE_KEY = "nxr_test_sim_primary_5c2e81a4"  # wrong prefix (not a live key): Invalid API key
VALID_KEYS = frozenset({PRIMARY_KEY, SECOND_KEY})

LEAD_NOT_FOUND = "Lead not found or does not belong to your account"


def nexor_error(status: int, error: str, message: str | None = None) -> ApiError:
    body = {"error": error} if message is None else {"error": error, "message": message}
    return ApiError(status, body)


class NexorApi(SimulatedApi):
    name = "nexor"
    prefix = "/api/public"
    default_port = 8102
    auth_header = "X-API-Key"

    def __init__(
        self,
        leads: list[Record],
        meetings: dict[str, list[Record]],
        *,
        clock: Clock = utc_now,
        rate_limits: bool = True,
    ) -> None:
        super().__init__(clock=clock, rate_limits=rate_limits)
        self._leads = copy.deepcopy(leads)
        self._meetings: dict[str, list[Record]] = {
            str(lead["id"]): copy.deepcopy(meetings.get(str(lead["id"]), []))
            for lead in self._leads
        }

    @property
    def api_key(self) -> str:
        return PRIMARY_KEY

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/leads", self.list_leads),
            web.get("/leads/{lead_id}/meetings", self.list_meetings),
        ]

    def error(self, status: int) -> ApiError:
        if status == 401:
            return nexor_error(401, "Invalid API key", "The API key is invalid or revoked.")
        if status == 404:
            return nexor_error(404, LEAD_NOT_FOUND)
        if status == 429:
            return nexor_error(429, "Too many requests")
        if status == 500:
            return nexor_error(500, "Internal server error")
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = "Error"
        return nexor_error(status, phrase)

    def records(self) -> list[Record]:
        """Every meeting, each with the extra key `lead_id` saying whose it is."""
        return [
            {**copy.deepcopy(meeting), "lead_id": lead_id}
            for lead_id, meetings in self._meetings.items()
            for meeting in meetings
        ]

    def upsert(self, record: Record) -> Record:
        """Store a meeting under `record["lead_id"]` (required), replacing one with its id."""
        lead_id = record["lead_id"]
        if lead_id not in self._meetings:
            raise ValueError(f"no lead {lead_id!r}")
        stored = copy.deepcopy(record)
        del stored["lead_id"]
        meeting_id = stored.get("id")
        for meetings in self._meetings.values():
            meetings[:] = [m for m in meetings if m.get("id") != meeting_id]
        self._meetings[lead_id].append(stored)
        return {**copy.deepcopy(stored), "lead_id": lead_id}

    async def list_leads(self, request: web.Request) -> web.Response:
        self._authenticate(request)
        return web.json_response({"success": True, "leads": copy.deepcopy(self._leads)})

    async def list_meetings(self, request: web.Request) -> web.Response:
        self._authenticate(request)
        lead_id = request.match_info["lead_id"]
        if lead_id not in self._meetings:
            raise nexor_error(404, LEAD_NOT_FOUND)
        wanted: set[str] | None = None
        if "status" in request.query:
            entries = request.query["status"].split(",")
            unknown = [entry for entry in entries if entry not in STATUSES]
            if unknown:
                raise nexor_error(
                    400,
                    "Invalid status",
                    f"Unknown status {unknown[0]!r}; use one or more of {','.join(STATUSES)}.",
                )
            wanted = set(entries)
        selected = [
            meeting
            for meeting in self._meetings[lead_id]
            if wanted is None or meeting.get("status") in wanted
        ]
        selected.sort(key=lambda meeting: str(meeting.get("id")))
        selected.sort(key=_start_key, reverse=True)
        return web.json_response({"success": True, "meetings": copy.deepcopy(selected)})

    def _authenticate(self, request: web.Request) -> str:
        key = request.headers.get("X-API-Key", "")
        if not key:
            raise nexor_error(
                401, "Missing API key", "Provide your API key in the X-API-Key header."
            )
        if not key.startswith(KEY_PREFIX) or key not in VALID_KEYS:
            raise nexor_error(401, "Invalid API key", "The API key is invalid or revoked.")
        return key


def _start_key(meeting: Record) -> tuple[int, float]:
    """Descending sort key: meetings with an unreadable `starts_at` sort last."""
    start = record_time(meeting.get("starts_at"))
    return (0, 0.0) if start is None else (1, start.timestamp())


def build_records(pools: SeedPools, count: int) -> tuple[list[Record], dict[str, list[Record]]]:
    """Leads from distinct people, each with 0 to 8 meetings; one in five links a Daily room.

    Nexor uses the second half of the room bookings (Leezy the first), with their start and
    length, so Daily has a session for every past one of them (those meetings completed).
    """
    rng = pools.rng("nexor")
    bookings = pools.room_bookings[len(pools.room_bookings) // 2 :]
    starts = starts_for(pools, rng, claimed=[booking.start for booking in bookings])
    people = rng.sample(pools.people, min(count, len(pools.people)))
    leads: list[Record] = []
    meetings: dict[str, list[Record]] = {}
    index = 0
    for position, person in enumerate(people):
        lead_id = pools.uuid(rng)
        leads.append(
            {
                "id": lead_id,
                "first_name": person.first_name,
                "last_name": person.last_name,
                "email": person.email,
                "phone": person.phone,
                "company": person.company,
                "source": rng.choice(SOURCES),
            }
        )
        # The first lead has the most meetings, the second none; the rest vary.
        how_many = 8 if position == 0 else 0 if position == 1 else rng.randint(0, 8)
        meetings[lead_id] = []
        for _ in range(how_many):
            linked = index >= len(STATUSES) and index % 5 == 0
            booking = cycled(pools, bookings, index // 5) if linked else None
            forced = STATUSES[index] if index < len(STATUSES) else None
            meetings[lead_id].append(_meeting(pools, rng, starts, person, booking, forced))
            index += 1
    if pools.scale is not None:
        rooms = {booking.url for booking in bookings}
        _scale_up(pools.rng("nexor:scale"), [m for ms in meetings.values() for m in ms], rooms)
    return leads, meetings


def _meeting(
    pools: SeedPools,
    rng: random.Random,
    starts: Starts,
    person: Person,
    booking: RoomBooking | None,
    forced: str | None,
) -> Record:
    if booking is not None:
        start, minutes = booking.start, booking.minutes
    elif forced is not None:
        start = starts.alone(future=forced in ("scheduled", "confirmed"))
        minutes = rng.choice((15, 30, 45, 60))
    else:
        start, minutes = starts.next(), rng.choice((15, 30, 45, 60))
    past = start <= pools.now
    status = forced or _status_for(rng, past=past)
    if booking is not None and past:
        status = "completed"  # Daily holds the session that happened
    location = "video" if booking else rng.choice(("video", "video", "video", "phone", "in_person"))
    if location == "video":
        meeting_type = "Initial Consultation" if booking else rng.choice(VIDEO_TYPES)
        url: str | None = booking.url if booking else _video_url(rng, meeting_type)
        details = rng.choice((None, "Link in the calendar invitation"))
    elif location == "phone":
        meeting_type, url = "Phone Call", None
        details = None if person.phone is None else f"We call you on {person.phone}"
    else:
        meeting_type, url = "Office Visit", None
        details = rng.choice(("Friedrichstraße 68, 10117 Berlin", "1 Market St, San Francisco"))
    created = min(start, pools.now) - timedelta(days=rng.randint(1, 20), minutes=rng.randint(0, 59))
    changed = created + (min(start, pools.now) - created) * rng.random()
    return {
        "id": pools.uuid(rng),
        "title": f"{meeting_type} with {person.name}",
        "starts_at": iso_z(start),
        "ends_at": iso_z(start + timedelta(minutes=minutes)),
        "duration_minutes": minutes,
        "timezone": person.timezone,
        "status": status,
        "meeting_url": url,
        "location_type": location,
        "location_details": details,
        "host_name": rng.choice(HOSTS),
        "meeting_type": meeting_type,
        "attendee_name": person.name,
        "attendee_email": person.email,
        "confirmed_by_lead": status in ("confirmed", "completed") or rng.random() < 0.2,
        "cancelled_at": iso_z(changed) if status == "cancelled" else None,
        "cancellation_reason": rng.choice(("Lead asked to reschedule", "Budget freeze", None))
        if status == "cancelled"
        else None,
        "no_show_reason": rng.choice(("Lead did not join", None)) if status == "no_show" else None,
        "outcome_notes": rng.choice(("Interested, sent pricing", "Needs a second demo", None))
        if status == "completed"
        else None,
        "created_at": iso_z(created),
    }


def _scale_up(rng: random.Random, meetings: list[Record], rooms: set[str]) -> None:
    """A real account's gaps: the fields Nexor documents as `string | null` are null in some
    meetings (no host assigned, type deleted, link not sent yet; links to the Daily `rooms`
    stay), and creation times tie."""
    for meeting in meetings:
        if rng.random() < 0.2:
            meeting["host_name"] = None
        if rng.random() < 0.15:
            meeting["meeting_type"] = None
        if meeting["meeting_url"] not in rooms and rng.random() < 0.1:
            meeting["meeting_url"] = None
    created = tied_seconds(rng, [meeting["created_at"] for meeting in meetings], created=True)
    for meeting, value in zip(meetings, created, strict=True):
        meeting["created_at"] = value


def _status_for(rng: random.Random, *, past: bool) -> str:
    if past:
        return rng.choice(("completed", "completed", "completed", "no_show", "cancelled"))
    return rng.choice(("scheduled", "scheduled", "confirmed", "confirmed", "cancelled"))


def _video_url(rng: random.Random, meeting_type: str) -> str:
    code = f"{rng.getrandbits(40):010x}"
    if meeting_type == "Zoom Call":
        return f"https://zoom.us/j/{rng.randint(10**9, 10**10 - 1)}"
    return f"https://meet.google.com/{code[:3]}-{code[3:7]}-{code[7:]}"
