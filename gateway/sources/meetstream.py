"""MeetStream: bots scheduled to join meetings. `GET /calendar/scheduled`, one page only.

MeetStream holds bots, not meetings, so this is a `BotSource`: it feeds `scheduledBots`,
`Meeting.bots` and `ScheduledBot.meeting`. The API lists only future bots,
at most 100 (no offset or cursor), so that one page is everything the gateway can see.
"""

from __future__ import annotations

from typing import Any

from gateway.config import SourceSettings
from gateway.errors import UpstreamUnauthorized
from gateway.model import BotStatus, Platform, ScheduledBot, Source
from gateway.sources.base import BotSource, validate
from gateway.sources.http import JsonAnswer
from gateway.sources.wire import UtcTime, WireModel, api_key

PAGE_SIZE = 100  # MeetStream's maximum `limit`
USER_NOT_FOUND = 404

PLATFORMS = {
    "google_meet": Platform.GOOGLE_MEET,
    "zoom": Platform.ZOOM,
    "microsoft_teams": Platform.TEAMS,
}
BOT_STATUSES = {
    "Scheduled": BotStatus.SCHEDULED,
    "Joining": BotStatus.JOINING,
    "InWaitingRoom": BotStatus.JOINING,
    "InMeeting": BotStatus.IN_MEETING,
    "Recording": BotStatus.IN_MEETING,
    "Leaving": BotStatus.STOPPED,
    "Stopped": BotStatus.STOPPED,
    "Done": BotStatus.STOPPED,
    "NotAllowed": BotStatus.FAILED,
    "Denied": BotStatus.FAILED,
    "Error": BotStatus.FAILED,
}


class ScheduledBots(WireModel):
    scheduled_bots: list[dict[str, Any]]


class MeetStreamBot(WireModel):
    """One scheduled bot. `bot_id` is opaque text; platform and status lists are open ("etc.",
    "e.g."), so both are any text."""

    bot_id: str
    platform: str  # open-ended ("webex"...): unknown ones are OTHER
    status: str  # lifecycle grows over time: unknown ones are UNKNOWN
    scheduled_join_time: UtcTime
    # Free-form: whoever scheduled the bot sets it (`{}` by hand, any keys, any JSON values);
    # the calendar API fills `source`, `event_id`, `deduplication_key`. Only an object.
    custom_attributes: dict[str, Any] | None = None
    bot_username: str | None = None
    is_scheduled: bool | None = None


def _text(attributes: dict[str, Any] | None, key: str) -> str | None:
    """A custom attribute read only when it is text: other shapes there are not ours."""
    value = (attributes or {}).get(key)
    return value if isinstance(value, str) else None


def to_bot(record: MeetStreamBot, raw: dict[str, Any]) -> ScheduledBot:
    attributes = record.custom_attributes
    return ScheduledBot(
        bot_id=record.bot_id,
        platform=PLATFORMS.get(record.platform, Platform.OTHER),
        status=BOT_STATUSES.get(record.status, BotStatus.UNKNOWN),
        source_status=record.status,
        scheduled_join_time=record.scheduled_join_time,
        username=record.bot_username,
        calendar_event_id=_text(attributes, "event_id"),
        deduplication_key=_text(attributes, "deduplication_key"),
        raw=raw,
    )


class MeetStreamSource(BotSource):
    source = Source.MEETSTREAM

    @staticmethod
    def auth_headers(settings: SourceSettings) -> dict[str, str]:
        return {"Authorization": f"Token {api_key(settings)}"}

    async def scheduled_bots(self) -> tuple[ScheduledBot, ...]:
        """The future bots, earliest join first (MeetStream's order), at most 100."""
        return await self.client.get(
            "/calendar/scheduled", [("limit", str(PAGE_SIZE))], _bots, expected={USER_NOT_FOUND}
        )

    async def bot(self, bot_id: str) -> ScheduledBot | None:
        """MeetStream has no get-by-id here: the bot is found in the listing, if still future."""
        return next((b for b in await self.scheduled_bots() if b.bot_id == bot_id), None)


def _bots(answer: JsonAnswer) -> tuple[ScheduledBot, ...]:
    if answer.status == USER_NOT_FOUND:
        # A key whose user is gone: a credential problem, not a missing resource.
        raise UpstreamUnauthorized(Source.MEETSTREAM, "knows no user for the API key (404)")
    body = validate(Source.MEETSTREAM, ScheduledBots, answer.body)
    return tuple(
        to_bot(validate(Source.MEETSTREAM, MeetStreamBot, raw), raw) for raw in body.scheduled_bots
    )
