"""Expected MeetStream bots, read from the wire records (DESIGN §2), like `expected.py`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from gateway.simulators.dataset import Dataset
from tests.api.expected import global_id, parse_time

# MeetStream's lifecycle statuses as `BotStatus` (DESIGN §2; unknown ones are UNKNOWN).
BOT_STATUS = {
    "Scheduled": "SCHEDULED",
    "Joining": "JOINING",
    "InWaitingRoom": "JOINING",
    "InMeeting": "IN_MEETING",
    "Recording": "IN_MEETING",
    "Leaving": "STOPPED",
    "Stopped": "STOPPED",
    "Done": "STOPPED",
    "NotAllowed": "FAILED",
    "Denied": "FAILED",
    "Error": "FAILED",
}


@dataclass(frozen=True)
class ExpectedBot:
    bot_id: str
    status: str  # GraphQL `BotStatus` name
    source_status: str
    join: datetime
    event_id: str | None  # the calendar event it joins (a Salesloft meeting's event_id)

    @property
    def id(self) -> str:
        return global_id("ScheduledBot", f"meetstream:{self.bot_id}")


def future_bots(dataset: Dataset, now: datetime) -> list[ExpectedBot]:
    """MeetStream lists only bots joining after now: earliest first, ties by bot id."""
    bots = [
        ExpectedBot(
            bot_id=r["bot_id"],
            status=BOT_STATUS.get(r["status"], "UNKNOWN"),
            source_status=r["status"],
            join=parse_time(r["scheduled_join_time"]),
            event_id=(r.get("custom_attributes") or {}).get("event_id"),
        )
        for r in dataset.meetstream
    ]
    return sorted((b for b in bots if b.join > now), key=lambda b: (b.join, b.bot_id))


def bots_by_event(dataset: Dataset, now: datetime) -> dict[str, list[ExpectedBot]]:
    """Future bots grouped by the calendar event they join, each group earliest first."""
    grouped: dict[str, list[ExpectedBot]] = {}
    for bot in future_bots(dataset, now):
        if bot.event_id is not None:
            grouped.setdefault(bot.event_id, []).append(bot)
    return grouped


def salesloft_event_ids(dataset: Dataset) -> dict[str, str | None]:
    """Salesloft meeting id (as text) -> the calendar event id MeetStream bots join."""
    return {str(r["id"]): r["event_id"] for r in dataset.salesloft}
