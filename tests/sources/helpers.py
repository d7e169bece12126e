"""Plain helpers the per-source tests share, so each module keeps only what is source-specific."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from gateway.model import Meeting
from gateway.query import MeetingFilter, Ordering, Position
from gateway.sources.base import MeetingRequest
from tests.conftest import REFERENCE_NOW

# A simulator's wire record, as the data set holds it.
Record = dict[str, Any]


def request(
    meeting_filter: MeetingFilter | None = None,
    *,
    ordering: Ordering | None = None,
    after: Position | None = None,
    need: int | None = None,
    count: bool = False,
) -> MeetingRequest:
    """A request at the simulators' frozen now, so residual time filters are reproducible:
    by default for every match; with `need`, a lean page (and with `count`, its count)."""
    return MeetingRequest(
        filter=meeting_filter or MeetingFilter(),
        ordering=ordering or Ordering(),
        after=after,
        need=need,
        now=REFERENCE_NOW,
        count=count,
    )


def time(text: str) -> datetime:
    """An ISO 8601 wire timestamp (offset or `Z`) as the aware datetime the sources must map."""
    return datetime.fromisoformat(text)


def ids(meetings: list[Meeting]) -> list[str]:
    """Source ids in answer order, to compare an answer's order with the expected one."""
    return [m.source_id for m in meetings]
