"""MeetStream: bots scheduled to join meetings. `GET /api/v1/calendar/scheduled` (and the
alias `/calendar/schedule`); only future bots, at most `limit`, no offset or cursor.

Auth is `Authorization: Token <key>`. Strictest readings where the vendor is silent:

- `[inferred]` bots are listed earliest `scheduled_join_time` first, ties by `bot_id`; a bot
  is "future" when its join time is strictly after now (a stored record whose join time is
  not a date-time is never listed).
- `[inferred]` the scheme word must be exactly `Token` (case-sensitive); `Bearer`, `token`,
  a missing key or extra words are 401, as is an unknown key.
- `[inferred]` error body `{"error": "<text>", "status_code": <int>}` for every status,
  taken from sibling endpoints; texts follow Django REST framework's wording.
- `[inferred]` `limit` must be a plain decimal integer 1-100 (no sign, no decimals, not
  empty), anything else is 400; unknown parameters are ignored.
- No rate limit is documented, so none is enforced (the switch is ignored).
"""

from __future__ import annotations

import copy
import random
from datetime import datetime, timedelta
from http import HTTPStatus

from aiohttp import web

from gateway.simulators.core import (
    ApiError,
    Clock,
    Record,
    RecordStore,
    SimulatedApi,
    utc_now,
)
from gateway.simulators.params import BadValue, parse_int, record_time
from gateway.simulators.scale import starts_for
from gateway.simulators.seed import CalendarEvent, SeedPools, iso_offset

PLATFORMS = ("google_meet", "zoom", "microsoft_teams", "webex")
LIFECYCLE = (
    "Joining",
    "InWaitingRoom",
    "InMeeting",
    "Recording",
    "Leaving",
    "Stopped",
    "NotAllowed",
    "Denied",
    "Error",
    "Done",
)
STATUSES = ("Scheduled", *LIFECYCLE)
BOT_NAMES = ("Notetaker", "Acme Recorder", "Zoë's Assistant", "Asistente de Reuniones", "会議メモ")
JOIN_LEAD = timedelta(minutes=3)  # bots join three minutes before the event starts
SOURCE = "calendar_schedule_api"

PRIMARY_KEY = "ms_sim_7c1e9a4b2d8f0a6e3b5c1d9e7f2a4b6c"
SECOND_KEY = "ms_sim_3f8b2c6d0e4a9b1c7d5e3f1a8b6c4d2e"  # a second tenant, same data
ORPHAN_KEY = "ms_sim_0000deadbeef0000deadbeef0000dead"  # valid token, user gone: 404
VALID_KEYS = frozenset({PRIMARY_KEY, SECOND_KEY})

NO_CREDENTIALS = "Authentication credentials were not provided."
_ERROR_TEXTS = {
    400: "Bad request.",
    401: "Invalid token.",
    404: "Not found.",
    405: "Method not allowed.",
    429: "Request was throttled.",
    500: "Internal server error.",
}


def meetstream_error(status: int, text: str) -> ApiError:
    return ApiError(status, {"error": text, "status_code": status})


class MeetStreamApi(SimulatedApi):
    name = "meetstream"
    prefix = "/api/v1"
    default_port = 8103

    def __init__(
        self, records: list[Record], *, clock: Clock = utc_now, rate_limits: bool = True
    ) -> None:
        super().__init__(clock=clock, rate_limits=rate_limits)
        self._store = RecordStore(records, id_field="bot_id")

    @property
    def api_key(self) -> str:
        return PRIMARY_KEY

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/calendar/scheduled", self.list_scheduled),
            web.get("/calendar/schedule", self.list_scheduled),
        ]

    def error(self, status: int) -> ApiError:
        text = _ERROR_TEXTS.get(status)
        if text is None:
            try:
                text = HTTPStatus(status).phrase + "."
            except ValueError:
                text = "Error."
        return meetstream_error(status, text)

    def records(self) -> list[Record]:
        return self._store.records()

    def upsert(self, record: Record) -> Record:
        return self._store.upsert(record)

    async def list_scheduled(self, request: web.Request) -> web.Response:
        self._authenticate(request)
        try:
            limit = _parse_limit(request.query.get("limit", "100"))
        except BadValue as bad:
            raise meetstream_error(400, bad.message) from None
        now = self.clock()
        upcoming: list[tuple[datetime, str, Record]] = []
        for bot in self._store:
            joins = record_time(bot.get("scheduled_join_time"))
            if joins is not None and joins > now:
                upcoming.append((joins, str(bot.get("bot_id")), bot))
        upcoming.sort(key=lambda entry: entry[:2])
        bots = [bot for _, _, bot in upcoming[:limit]]
        return web.json_response({"scheduled_bots": copy.deepcopy(bots)})

    def _authenticate(self, request: web.Request) -> str:
        header = request.headers.get("Authorization")
        if not header:
            raise meetstream_error(401, NO_CREDENTIALS)
        words = header.split(" ")
        if words[0] != "Token":
            raise meetstream_error(401, NO_CREDENTIALS)
        if len(words) == 1 or not words[1]:
            raise meetstream_error(401, "Invalid token header. No credentials provided.")
        if len(words) > 2:
            raise meetstream_error(
                401, "Invalid token header. Token string should not contain spaces."
            )
        key = words[1]
        if key == ORPHAN_KEY:
            raise meetstream_error(404, "User not found")
        if key not in VALID_KEYS:
            raise meetstream_error(401, "Invalid token.")
        return key


def _parse_limit(raw: str) -> int:
    if not raw.isdigit() or not raw.isascii():
        raise BadValue("limit", "limit must be an integer between 1 and 100.")
    limit = parse_int("limit", raw)
    if not 1 <= limit <= 100:
        raise BadValue("limit", "limit must be an integer between 1 and 100.")
    return limit


def build_records(pools: SeedPools, count: int) -> list[Record]:
    """Bots, mostly on calendar events of the pool (the events Salesloft books meetings on).

    A quarter are past (bots that already ran, never listed); a tenth of the bots join
    future events unknown to the pool. Every lifecycle status
    appears among the future bots, so the gateway meets them all in a listing.
    At scale, half of those strangers were scheduled by hand: no calendar attributes (`{}`).
    """
    rng = pools.rng("meetstream")
    known = {event.event_id for event in pools.calendar_events}
    strangers = max(count // 10, 1) if count > 1 else 0
    future = [e for e in pools.calendar_events if e.start - JOIN_LEAD > pools.now]
    past = [e for e in pools.calendar_events if e.start - JOIN_LEAD <= pools.now]
    linked = min(count - strangers, len(pools.calendar_events))
    upcoming = min(linked - min(count // 4, len(past)), len(future))
    events = _chosen(pools, rng, future, upcoming) + _chosen(pools, rng, past, linked - upcoming)
    targets: list[tuple[str, datetime]] = [(event.event_id, event.start) for event in events]
    starts = starts_for(pools, rng, claimed=[event.start for event in events], future=True)
    while len(targets) < count:
        event_id = f"evt{rng.getrandbits(48):012x}"
        if event_id not in known:
            targets.append((event_id, starts.next()))
    bots: list[Record] = []
    lifecycle = iter(LIFECYCLE)
    for index, (event_id, start) in enumerate(targets):
        joins = start - JOIN_LEAD
        if joins > pools.now:
            status = next(lifecycle, None) or _future_status(rng)
        else:
            status = rng.choice(("Done", "Done", "Done", "Stopped", "Error", "Denied"))
        bots.append(
            {
                "bot_id": pools.uuid(rng),
                "platform": PLATFORMS[index] if index < len(PLATFORMS) else rng.choice(PLATFORMS),
                "status": status,
                "scheduled_join_time": iso_offset(joins),
                "custom_attributes": _attributes(pools, rng, event_id, start, known),
                "bot_username": rng.choice(BOT_NAMES),
                "is_scheduled": True,
            }
        )
    rng.shuffle(bots)  # the store is unordered; the listing sorts
    return bots


def _chosen(
    pools: SeedPools, rng: random.Random, events: list[CalendarEvent], wanted: int
) -> list[CalendarEvent]:
    """`wanted` of `events` at random. At scale a third of them are whole tie groups (events
    of one start), so the bots keep the calendar's share of ties, never more than six."""
    if pools.scale is None:
        rng.shuffle(events)
        return events[:wanted]
    by_start: dict[datetime, list[CalendarEvent]] = {}
    for event in events:
        by_start.setdefault(event.start, []).append(event)
    groups = [group for group in by_start.values() if len(group) > 1]
    alone = [group[0] for group in by_start.values() if len(group) == 1]
    rng.shuffle(groups)
    rng.shuffle(alone)
    unused = iter(groups)
    chosen: list[CalendarEvent] = []
    for group in unused:
        chosen += group
        if len(chosen) >= wanted // 3:
            break
    chosen += alone[: wanted - len(chosen)]
    chosen += [event for group in unused for event in group]  # only if lone events ran out
    return chosen[:wanted]


def _attributes(
    pools: SeedPools, rng: random.Random, event_id: str, start: datetime, known: set[str]
) -> Record:
    """What the calendar API sets; at scale a bot scheduled by hand has none (`{}`)."""
    by_hand = pools.scale is not None and event_id not in known and rng.random() < 0.5
    if by_hand:
        return {}
    return {
        "source": SOURCE,
        "event_id": event_id,
        "deduplication_key": f"{event_id}:{int(start.timestamp())}",
    }


def _future_status(rng: random.Random) -> str:
    return "Scheduled" if rng.random() < 0.9 else rng.choice(LIFECYCLE)
