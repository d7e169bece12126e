"""Salesloft's answers as received: the wire models the mapping reads."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import Field, StrictBool, StrictInt, StrictStr

from gateway.sources.wire import UtcTime, WireModel

RECORD_ID = re.compile(r"[1-9][0-9]{0,17}")  # a positive integer, canonical form


RecordId = Annotated[StrictInt, Field(gt=0, lt=10**18)]  # what `RECORD_ID` accepts back


class SalesloftRef(WireModel):
    id: RecordId


class SalesloftAttendee(WireModel):
    email: StrictStr | None
    name: StrictStr | None
    organizer: StrictBool
    status: StrictStr | None = None  # needsAction|accepted|tentative|declined
    person: SalesloftRef | None = None
    deleted_at: UtcTime | None = None


class SalesloftMeeting(WireModel):
    """The fields the mapping reads. Every meeting has an id, its times, a status and
    `no_show`; `title`, `end_time`, `canceled_at` may be null, and what a meeting may lack
    (person, location, attendees, guests...) may be null or omitted. Times are `UtcTime`
    (Salesloft's own form is `2026-01-15T17:00:00.000000Z`). The fields documented as omitted
    for single events (`recurrence`, `recurring_interval`) and all others (`crm`,
    `reschedule_guid`, `account_id`, `task_id`, user ids typed "string" that real answers
    send as numbers...) are not read, so neither their presence nor their type can fail a
    record. `status` is open text: its list may grow."""

    id: RecordId
    title: StrictStr | None
    start_time: UtcTime
    end_time: UtcTime | None
    status: StrictStr  # pending|booked|failed|retry, more later: see `meeting_status`
    canceled_at: UtcTime | None
    no_show: StrictBool
    event_id: StrictStr | None = None
    i_cal_uid: StrictStr | None = None
    recipient_name: StrictStr | None = None
    recipient_email: StrictStr | None = None
    location: StrictStr | None = None
    description: StrictStr | None = None
    guests: list[StrictStr] | None = None
    attendees: list[SalesloftAttendee] | None = None
    person: SalesloftRef | None = None
    created_at: UtcTime
    updated_at: UtcTime


class SalesloftPaging(WireModel):
    per_page: StrictInt
    current_page: StrictInt
    next_page: StrictInt | None
    total_pages: StrictInt | None = None  # only with include_paging_counts
    total_count: StrictInt | None = None


class SalesloftMetadata(WireModel):
    paging: SalesloftPaging


Record = tuple["SalesloftMeeting", Mapping[str, Any]]  # a meeting validated, and as received


class SalesloftPage(WireModel):
    metadata: SalesloftMetadata
    data: list[dict[str, Any]]
