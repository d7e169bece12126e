"""Leezy: meetings booked by chatbots. `GET /api/v1/meetings`, offset pagination, JSON:API.

Strictest readings where the vendor is silent (see docs/simulators.md): records come in
insertion order; `since` keeps meetings updated strictly after it; `upcoming=false` does
not filter; unknown query parameters are ignored.
"""

from __future__ import annotations

import copy
import random
from datetime import timedelta
from typing import Any

from aiohttp import web

from gateway.simulators.core import (
    ApiError,
    Clock,
    Record,
    RecordStore,
    SimulatedApi,
    utc_now,
)
from gateway.simulators.params import BadValue, parse_bool, parse_datetime, parse_int, record_time
from gateway.simulators.ratelimit import SlidingWindow
from gateway.simulators.scale import cycled, starts_for, tied_seconds
from gateway.simulators.seed import SeedPools, iso_z

STATUSES = ("scheduled", "confirmed", "completed", "cancelled", "no_show")
PROVIDERS = ("google_meet", "zoom", "teams", "custom")
PLAN_LIMITS = {"starter": 100, "pro": 300, "scale": 1000}  # requests per minute
API_VERSION = "2024-01-01"
TOPICS = ("Demo", "Intro call", "Onboarding", "Pricing chat", "Café tasting")

PRIMARY_TOKEN = "lzy_at_sim_scale_7f3a9c"
SECOND_TOKEN = "lzy_at_sim_pro_2b9c41"  # a second tenant, same data
STARTER_TOKEN = "lzy_at_sim_starter_41d0e2"  # 100 requests per minute
EXPIRED_TOKEN = "lzy_at_sim_expired_000000"  # 401 invalid_token
NO_SCOPE_TOKEN = "lzy_at_sim_noscope_5e1f77"  # 403 insufficient_scope
FREE_PLAN_TOKEN = "lzy_at_sim_free_9a8b13"  # 403 plan_required
PLANS = {PRIMARY_TOKEN: "scale", SECOND_TOKEN: "pro", STARTER_TOKEN: "starter"}

_ERROR_CODES = {
    400: "invalid_request",
    401: "invalid_token",
    403: "insufficient_scope",
    404: "not_found",
    405: "invalid_request",
    429: "rate_limit_exceeded",
}


def leezy_error(status: int, code: str, description: str) -> ApiError:
    return ApiError(status, {"error": code, "error_description": description})


class LeezyApi(SimulatedApi):
    name = "leezy"
    prefix = "/api/v1"
    default_port = 8101

    def __init__(
        self, records: list[Record], *, clock: Clock = utc_now, rate_limits: bool = True
    ) -> None:
        super().__init__(clock=clock, rate_limits=rate_limits)
        self._store = RecordStore(records)
        self._windows = {plan: SlidingWindow(limit, 60.0) for plan, limit in PLAN_LIMITS.items()}

    @property
    def api_key(self) -> str:
        return PRIMARY_TOKEN

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/meetings", self.list_meetings)]

    def error(self, status: int) -> ApiError:
        if status == 429:
            return leezy_error(
                429, "rate_limit_exceeded", "Rate limit exceeded. Retry after 60 seconds."
            )
        code = _ERROR_CODES.get(status, "server_error")
        return leezy_error(status, code, f"The server answered {status}.")

    def records(self) -> list[Record]:
        return self._store.records()

    def upsert(self, record: Record) -> Record:
        return self._store.upsert(record)  # insertion order: a new meeting comes last

    def reset_rate_limits(self) -> None:
        for window in self._windows.values():
            window.reset()

    async def list_meetings(self, request: web.Request) -> web.Response:
        token = self._authenticate(request)
        if self.rate_limits and not self._windows[PLANS[token]].spend(token).allowed:
            raise self.error(429)
        query = request.query
        try:
            limit = parse_int("limit", query.get("limit", "20"))
            offset = parse_int("offset", query.get("offset", "0"))
            status = query.get("status")
            since = parse_datetime("since", query["since"]) if "since" in query else None
            upcoming = parse_bool("upcoming", query["upcoming"]) if "upcoming" in query else None
        except BadValue as bad:
            raise leezy_error(400, "invalid_request", f"Invalid parameter {bad}.") from None
        if not 1 <= limit <= 100:
            raise leezy_error(400, "invalid_request", "limit must be between 1 and 100.")
        if offset < 0:
            raise leezy_error(400, "invalid_request", "offset must be 0 or more.")
        if status is not None and status not in STATUSES:
            raise leezy_error(
                400, "invalid_request", f"status must be one of {', '.join(STATUSES)}."
            )

        now = self.clock()
        chatbot_id = query.get("chatbot_id")

        def matches(item: Record) -> bool:
            attributes: dict[str, Any] = item.get("attributes") or {}
            if chatbot_id is not None and attributes.get("chatbot_id") != chatbot_id:
                return False
            if status is not None and attributes.get("status") != status:
                return False
            if since is not None:
                updated = record_time(attributes.get("updated_at"))
                if updated is None or updated <= since:
                    return False
            if upcoming:
                start = record_time(attributes.get("start_time"))
                if start is None or start <= now:
                    return False
            return True

        selected = [item for item in self._store if matches(item)]
        page = selected[offset : offset + limit]
        meta = {
            "api_version": API_VERSION,
            "total": len(selected),
            "limit": limit,
            "offset": offset,
            "has_more": offset + len(page) < len(selected),
            "count": len(page),
        }
        return web.json_response({"data": copy.deepcopy(page), "meta": meta})

    def _authenticate(self, request: web.Request) -> str:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme != "Bearer" or not token.startswith("lzy_at_"):
            raise leezy_error(401, "invalid_token", "The access token is missing or malformed.")
        if token == EXPIRED_TOKEN:
            raise leezy_error(401, "invalid_token", "The access token expired.")
        if token == NO_SCOPE_TOKEN:
            raise leezy_error(403, "insufficient_scope", "The token lacks the meetings:read scope.")
        if token == FREE_PLAN_TOKEN:
            raise leezy_error(403, "plan_required", "API access requires a paid plan.")
        if token not in PLANS:
            raise leezy_error(401, "invalid_token", "The access token is invalid.")
        return token


def build_records(pools: SeedPools, count: int) -> list[Record]:
    """Leezy meetings in insertion (creation) order; a sixth link to a Daily room."""
    rng = pools.rng("leezy")
    chatbots = [f"cb_{rng.getrandbits(40):010x}" for _ in range(4)]
    bookings = pools.room_bookings[: len(pools.room_bookings) // 2]
    starts = starts_for(pools, rng, claimed=[booking.start for booking in bookings])
    records: list[Record] = []
    for index in range(count):
        person = rng.choice(pools.people)
        booking = cycled(pools, bookings, index // 6) if index % 6 == 0 else None
        start = booking.start if booking else starts.next()
        minutes = booking.minutes if booking else rng.choice((15, 30, 45, 60))
        past = start <= pools.now
        status = STATUSES[index % 5] if index < 10 else _status_for(rng, past=past)
        provider = "custom" if booking else rng.choice(PROVIDERS)
        created = min(start, pools.now) - timedelta(
            days=rng.randint(1, 20), minutes=rng.randint(0, 59)
        )
        updated = created + (min(start, pools.now) - created) * rng.random()
        cancelled = status == "cancelled"
        url = booking.url if booking else _provider_url(rng, provider)
        records.append(
            {
                "id": f"meeting_{rng.getrandbits(48):012x}",
                "type": "meeting",
                "attributes": {
                    "chatbot_id": rng.choice(chatbots),
                    "conversation_id": f"conv_{rng.getrandbits(48):012x}",
                    "title": f"{rng.choice(TOPICS)} with {person.name}",
                    "description": None
                    if index % 3 == 0
                    else f"Booked by the chatbot for {person.company}.",
                    "start_time": iso_z(start),
                    "end_time": iso_z(start + timedelta(minutes=minutes)),
                    "timezone": person.timezone,
                    "attendee": {"name": person.name, "email": person.email, "phone": person.phone},
                    "status": status,
                    "meeting_url": None if index % 11 == 5 else url,
                    "meeting_provider": provider,
                    "cancelled_at": iso_z(updated) if cancelled else None,
                    "cancelled_reason": rng.choice(("Lead asked to reschedule", None))
                    if cancelled
                    else None,
                    "created_at": iso_z(created),
                    "updated_at": iso_z(updated),
                },
            }
        )
    if pools.scale is not None:
        _tie_times(pools.rng("leezy:ties"), records)
    records.sort(key=lambda item: item["attributes"]["created_at"])
    return records


def _tie_times(rng: random.Random, records: list[Record]) -> None:
    """At scale creation and update times tie too (a chatbot's bulk sync), as starts do."""
    attributes = [record["attributes"] for record in records]
    for key in ("created_at", "updated_at"):
        texts = [item[key] for item in attributes]
        values = tied_seconds(rng, texts, created=key == "created_at")
        for item, value in zip(attributes, values, strict=True):
            item[key] = value


def _status_for(rng: random.Random, *, past: bool) -> str:
    if past:
        return rng.choice(("completed", "completed", "completed", "no_show", "cancelled"))
    return rng.choice(("scheduled", "confirmed", "confirmed", "cancelled"))


def _provider_url(rng: random.Random, provider: str) -> str:
    code = f"{rng.getrandbits(40):010x}"
    return {
        "google_meet": f"https://meet.google.com/{code[:3]}-{code[3:7]}-{code[7:]}",
        "zoom": f"https://zoom.us/j/{rng.randint(10**9, 10**10 - 1)}",
        "teams": f"https://teams.microsoft.com/l/meetup-join/{code}",
    }.get(provider, f"https://calendly.example.com/{code}")
