"""Daily: video meeting sessions that happened or are happening. `GET /v1/meetings`.

Cursor pagination by session id, newest session first. Strictest readings where the vendor is
silent, all [inferred]:
- ties on `start_time` are broken by id, descending, so the order is total and pages stable;
- `starting_after` / `ending_before` with an id no session has → 400 invalid-request-error;
  both at once → 400; a cursor that exists but is filtered out still marks its position;
- the scheme word must be exactly `Bearer` and the key non-empty, else 400
  authorization-header-error; flags accept only `true` / `false` (no 1/0, no capitals);
  timestamps are non-negative integers; `timeframe_start` > `timeframe_end` → 400;
- `GET /meetings/{id}` answers one session (participants included) or 404 not-found;
- the two rate windows (20/s and 100/5 s) are counted per API key; a refused request spends
  nothing; a 429 carries no headers. Auth is checked before the rate limit, parameters after.
  (With sliding windows, 20/s already caps any 5 s at 100; the second window is kept as
  documented.) Tests step the windows' clock through the `monotonic` attribute.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from random import Random

from aiohttp import web

from gateway.simulators.core import (
    ApiError,
    Clock,
    Record,
    RecordStore,
    SimulatedApi,
    utc_now,
)
from gateway.simulators.params import BadValue, parse_int
from gateway.simulators.ratelimit import SlidingWindow
from gateway.simulators.scale import Starts, starts_for
from gateway.simulators.seed import RoomBooking, SeedPools

PRIMARY_KEY = "5ad1e9c4d0b8f7a3e2c1b6a9d8e7f0c35ad1e9c4d0b8f7a3e2c1b6a9d8e7f0c3"
SECOND_KEY = "7c0ffee1d2a3b4c5d6e7f8091a2b3c4d7c0ffee1d2a3b4c5d6e7f8091a2b3c4d"  # second tenant
FORBIDDEN_KEY = "0fb1dden0000a11c0000d15ab1ed00000fb1dden0000a11c0000d15ab1ed0000"  # 403
VALID_KEYS = (PRIMARY_KEY, SECOND_KEY)

MAX_LIMIT = 100
RATE_LIMITS = ((20, 1.0), (100, 5.0))  # (requests, seconds), both apply, per key

_ERROR_TYPES = {
    400: "invalid-request-error",
    401: "authentication-error",
    403: "forbidden-error",
    404: "not-found",
    429: "rate-limit-error",
}


def daily_error(status: int, kind: str, info: str) -> ApiError:
    return ApiError(status, {"error": kind, "info": info})


def _invalid(info: str) -> ApiError:
    return daily_error(400, "invalid-request-error", info)


@dataclass(frozen=True)
class _Query:
    room: str | None
    timeframe_start: int | None
    timeframe_end: int | None
    ongoing: bool | None
    no_participants: bool
    limit: int
    starting_after: str | None
    ending_before: str | None

    @classmethod
    def parse(cls, query: Mapping[str, str]) -> _Query:
        try:
            limit = parse_int("limit", query.get("limit", str(MAX_LIMIT)))
            start = _timestamp(query, "timeframe_start")
            end = _timestamp(query, "timeframe_end")
            ongoing = _flag(query, "ongoing")
            no_participants = _flag(query, "no_participants")
        except BadValue as bad:
            raise _invalid(f"{bad.name} {bad.message}") from None
        if not 1 <= limit <= MAX_LIMIT:
            raise _invalid(f"limit must be between 1 and {MAX_LIMIT}")
        if start is not None and end is not None and start > end:
            raise _invalid("timeframe_start must not be after timeframe_end")
        if "starting_after" in query and "ending_before" in query:
            raise _invalid("starting_after and ending_before cannot be used together")
        return cls(
            room=query.get("room"),
            timeframe_start=start,
            timeframe_end=end,
            ongoing=ongoing,
            no_participants=bool(no_participants),
            limit=limit,
            starting_after=query.get("starting_after"),
            ending_before=query.get("ending_before"),
        )

    def matches(self, session: Record) -> bool:
        if self.room is not None and session.get("room") != self.room:
            return False
        if self.ongoing is not None and session.get("ongoing") is not self.ongoing:
            return False
        if self.timeframe_start is None and self.timeframe_end is None:
            return True
        start = _start_time(session)
        if start is None:
            return False
        if self.timeframe_start is not None and start < self.timeframe_start:
            return False
        return self.timeframe_end is None or start < self.timeframe_end


def _timestamp(query: Mapping[str, str], name: str) -> int | None:
    if name not in query:
        return None
    value = parse_int(name, query[name])
    if value < 0:
        raise BadValue(name, "must be a unix timestamp in seconds")
    return value


def _flag(query: Mapping[str, str], name: str) -> bool | None:
    if name not in query:
        return None
    raw = query[name]
    if raw not in ("true", "false"):
        raise BadValue(name, "must be true or false")
    return raw == "true"


def _start_time(session: Record) -> int | None:
    """The session's start, or None when a (deliberately malformed) record has no int one."""
    value = session.get("start_time")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _order_key(session: Record) -> tuple[float, str]:
    start = _start_time(session)
    return (float("-inf") if start is None else start, str(session.get("id")))


class DailyApi(SimulatedApi):
    name = "daily"
    prefix = "/v1"
    default_port = 8105

    def __init__(
        self, records: list[Record], *, clock: Clock = utc_now, rate_limits: bool = True
    ) -> None:
        super().__init__(clock=clock, rate_limits=rate_limits)
        self._store = RecordStore(records)
        # Test hook: the rate windows read this clock, so a test can step time by hand.
        self.monotonic: Callable[[], float] = time.monotonic
        self._windows = [
            SlidingWindow(limit, seconds, clock=self._tick) for limit, seconds in RATE_LIMITS
        ]

    def _tick(self) -> float:
        return self.monotonic()  # read at call time, so replacing `monotonic` takes effect

    @property
    def api_key(self) -> str:
        return PRIMARY_KEY

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/meetings", self.list_meetings),
            web.get("/meetings/{meeting_id}", self.get_meeting),
        ]

    def error(self, status: int) -> ApiError:
        if status == 429:
            return daily_error(429, "rate-limit-error", "Too many requests, slow down.")
        if status >= 500:
            return daily_error(status, "server-error", "An internal server error occurred.")
        kind = _ERROR_TYPES.get(status, "invalid-request-error")
        if status == 404:
            return daily_error(404, kind, "The requested resource was not found.")
        return daily_error(status, kind, f"The request was refused ({status}).")

    def records(self) -> list[Record]:
        return self._store.records()

    def upsert(self, record: Record) -> Record:
        return self._store.upsert(record)

    def reset_rate_limits(self) -> None:
        for window in self._windows:
            window.reset()

    async def list_meetings(self, request: web.Request) -> web.Response:
        self._admit(request)
        query = _Query.parse(request.query)
        ordered = sorted(self._store, key=_order_key, reverse=True)  # newest first
        selected = [session for session in ordered if query.matches(session)]
        if query.starting_after is not None:
            cursor = _order_key(self._find_cursor(query.starting_after, "starting_after"))
            page = [s for s in selected if _order_key(s) < cursor][: query.limit]
        elif query.ending_before is not None:
            cursor = _order_key(self._find_cursor(query.ending_before, "ending_before"))
            newer = [s for s in selected if _order_key(s) > cursor]
            page = newer[-query.limit :]
        else:
            page = selected[: query.limit]
        data = copy.deepcopy(page)
        if query.no_participants:
            for session in data:
                session.pop("participants", None)
        return web.json_response({"total_count": len(selected), "data": data})

    async def get_meeting(self, request: web.Request) -> web.Response:
        self._admit(request)
        meeting_id = request.match_info["meeting_id"]
        for session in self._store:
            if session.get("id") == meeting_id:
                return web.json_response(copy.deepcopy(session))
        raise daily_error(404, "not-found", f"meeting {meeting_id} not found")

    def _find_cursor(self, session_id: str, name: str) -> Record:
        for session in self._store:
            if session.get("id") == session_id:
                return session
        raise _invalid(f"{name}: no meeting session with id {session_id!r}")

    def _admit(self, request: web.Request) -> None:
        """Authenticate, then spend one request of both rate windows (or none if refused)."""
        key = self._authenticate(request)
        if not self.rate_limits:
            return
        # A zero-cost spend only reads what is left, so a refused request spends nothing.
        if any(window.spend(key, 0).remaining < 1 for window in self._windows):
            raise self.rate_limit_error()
        for window in self._windows:
            window.spend(key)

    def _authenticate(self, request: web.Request) -> str:
        header = request.headers.get("Authorization")
        if header is None:
            raise daily_error(400, "authorization-header-error", "Missing Authorization header.")
        scheme, _, key = header.partition(" ")
        if scheme != "Bearer" or not key:
            raise daily_error(
                400,
                "authorization-header-error",
                "Malformed Authorization header; expected 'Bearer <api key>'.",
            )
        if key == FORBIDDEN_KEY:
            raise daily_error(
                403, "forbidden-error", "This API key is not allowed to read meeting sessions."
            )
        if key not in VALID_KEYS:
            raise daily_error(401, "authentication-error", "Invalid API key.")
        return key


# --- the seeded data set -------------------------------------------------------------------

DURATIONS_MIN = (5, 12, 20, 25, 30, 45, 60, 90)


def build_records(pools: SeedPools, count: int) -> list[Record]:
    """Sessions newest first: one per past room booking, `count` demo sessions, a few live."""
    rng = pools.rng("daily")
    users = _user_ids(pools)
    now = _unix(pools.now)
    builder = _SessionBuilder(pools, rng, users, now)
    delays: dict[datetime, int] = {}
    for booking in pools.room_bookings:
        if booking.start >= pools.now:
            continue  # Daily only knows sessions that started
        start = min(_unix(booking.start) + _delay(pools, rng, booking, delays), now - 1)
        builder.add(booking.room, start, booking.minutes * 60 + rng.randint(-150, 180))
    starts = starts_for(
        pools, rng, claimed=[_moment(s["start_time"]) for s in builder.sessions], future=False
    )
    rooms = [f"demo-room-{index + 1:02d}" for index in range(max(1, count // 3))]
    # At scale `starts` (a Timeline) makes the ties; the default uses the shared starts.
    shared = [] if pools.scale else [_unix(m) for m in pools.shared_starts if m < pools.now]
    for index in range(count):
        start = _demo_start(rng, starts, shared, index)
        duration = rng.choice(DURATIONS_MIN) * 60 + rng.randint(-60, 90)
        if start + duration >= now:
            duration = max(60, now - start - rng.randint(60, 900))
        builder.add(builder.free_room(rooms, start, start + duration), start, duration)
    for _ in range(rng.choice((3, 4))):
        start = now - rng.randint(60, 3540)
        while not starts.claim(_moment(start)):
            start -= 1  # at scale: a live session starts alone
        builder.add(builder.free_room(rooms, start, now), start, now - start)
    return sorted(builder.sessions, key=_order_key, reverse=True)


def _delay(pools: SeedPools, rng: Random, booking: RoomBooking, delays: dict[datetime, int]) -> int:
    """Seconds before Daily logs a booked session (~15 s accuracy). At scale every session of
    one booked instant gets the same delay, so a tie among bookings stays a tie in Daily."""
    if pools.scale is None or booking.start not in delays:
        delays[booking.start] = rng.randint(0, 14)
    return delays[booking.start]


def _demo_start(rng: Random, starts: Starts, shared: list[int], index: int) -> int:
    """Some sessions start exactly when another API's meetings do (a tie in the merge)."""
    if shared and index < 2:
        return shared[0]  # two sessions in different rooms start at once: a sort tie
    if shared and rng.random() < 0.125:
        return rng.choice(shared)  # exactly when another API's meeting starts
    return _unix(starts.next())


class _SessionBuilder:
    """Collects sessions and keeps one room from hosting two sessions at the same time."""

    def __init__(self, pools: SeedPools, rng: Random, users: dict[str, str], now: int) -> None:
        self.pools = pools
        self.rng = rng
        self.users = users
        self.now = now
        self.sessions: list[Record] = []
        self._busy: dict[str, list[tuple[int, int]]] = {}

    def free_room(self, rooms: list[str], start: int, end: int) -> str:
        for _ in range(30):
            room = self.rng.choice(rooms)
            if all(end <= s or start >= e for s, e in self._busy.get(room, [])):
                return room
        extra = f"demo-room-{len(rooms) + 1:02d}"
        rooms.append(extra)
        return extra

    def add(self, room: str, start: int, duration: int) -> None:
        """A finished session, or a live one if it would still be running now."""
        ongoing = start + duration >= self.now
        duration = self.now - start if ongoing else max(duration, 30)
        end = start + duration
        self._busy.setdefault(room, []).append((start, end))
        participants = self._participants(start, end)
        self.sessions.append(
            {
                "id": self.pools.uuid(self.rng),
                "room": room,
                "start_time": start,
                "duration": duration,
                "ongoing": ongoing,
                "max_participants": len(participants) + self.rng.choice((0, 0, 1, 2)),
                "participants": participants,
            }
        )

    def _participants(self, start: int, end: int) -> list[Record]:
        rng = self.rng
        participants: list[Record] = []
        for _ in range(rng.randint(0, 6)):
            person = rng.choice(self.pools.people)
            join = start + rng.randint(0, (end - start) // 3)
            stay = end - join if rng.random() < 0.6 else rng.randint(0, end - join)
            participants.append(
                {
                    "user_id": None if rng.random() < 0.35 else self.users[person.email],
                    "participant_id": self.pools.uuid(rng),
                    "user_name": None if rng.random() < 0.2 else person.name,
                    "join_time": join,
                    "duration": stay,
                }
            )
        participants.sort(key=lambda item: (item["join_time"], item["participant_id"]))
        return participants


def _user_ids(pools: SeedPools) -> dict[str, str]:
    """A stable Daily user_id per person (set by the meeting token), keyed by email."""
    rng = pools.rng("daily:users")
    return {person.email: pools.uuid(rng) for person in pools.people}


def _unix(moment: datetime) -> int:
    return int(moment.timestamp())


def _moment(unix: int) -> datetime:
    return datetime.fromtimestamp(unix, UTC)
