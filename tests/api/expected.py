"""What the data set says the gateway must answer: a test-side reading of DESIGN §2 and §3b.

Written independently of the gateway's own mapping, filtering and merge code on purpose:
each wire record becomes an `ExpectedMeeting`, a filter is the GraphQL `MeetingFilter`
variables dict itself, and the merged order is rebuilt from the contract's words.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from gateway.simulators.dataset import Dataset

# The tie-break order of the merged connection (DESIGN §3b).
SOURCE_ORDER = ("LEEZY", "NEXOR", "SALESLOFT", "DAILY")

# The GraphQL selection that `meeting_row` reads.
MEETING_FIELDS = """
  id source sourceId status sourceStatus title
  startTime endTime createdAt updatedAt
"""

Row = tuple[Any, ...]


@dataclass(frozen=True)
class ExpectedAttendee:
    name: str | None
    email: str | None
    is_organizer: bool

    def row(self) -> Row:
        return (self.name, self.email, self.is_organizer)


def attendee_row(attendee: Mapping[str, Any]) -> Row:
    """The compared part of an `Attendee` selected as `{ name email isOrganizer }`."""
    return (attendee["name"], attendee["email"], attendee["isOrganizer"])


def parse_time(text: str) -> datetime:
    """An ISO 8601 time with an offset (wire format or filter value), in UTC."""
    moment = datetime.fromisoformat(text)
    assert moment.tzinfo is not None, text
    return moment.astimezone(UTC)


def iso_z(moment: datetime) -> str:
    """A filter value in UTC with Z, exact to the microsecond."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def global_id(type_name: str, node_id: str) -> str:
    """Strawberry's Relay encoding: base64 of "<Type>:<node id>" (DESIGN §3b)."""
    return base64.b64encode(f"{type_name}:{node_id}".encode()).decode()


def lead_id(source: str, source_id: str) -> str:
    """The global id of a Nexor lead (UUID) or a Salesloft person (number as text)."""
    return global_id("Lead", f"{source.lower()}:{source_id}")


@dataclass(frozen=True)
class ExpectedMeeting:
    source: str  # GraphQL enum name
    source_id: str
    node_id: str
    status: str
    source_status: str | None  # None: not checked (Daily has no status text of its own)
    title: str | None
    start: datetime
    end: datetime | None
    created: datetime | None
    updated: datetime | None
    emails: frozenset[str]  # casefolded, organizer included
    lead: str | None  # global Lead id
    chatbot_id: str | None
    # Organizer included, in any order; None: not checked (only Nexor's are spelled out).
    attendees: tuple[ExpectedAttendee, ...] | None = None

    @property
    def id(self) -> str:
        return global_id("Meeting", self.node_id)

    def value(self, field: str) -> datetime | None:
        match field:
            case "START_TIME":
                return self.start
            case "CREATED_AT":
                return self.created
            case "UPDATED_AT":
                return self.updated
        raise AssertionError(field)

    def row(self) -> Row:
        """What `meeting_row` must read from the gateway's answer for this meeting."""
        return (
            self.id,
            self.source,
            self.source_id,
            self.status,
            self.source_status,
            self.title,
            self.start,
            self.end,
            self.created,
            self.updated,
        )


def _maybe_time(text: str | None) -> datetime | None:
    return None if text is None else parse_time(text)


def utc_output(text: str | None) -> datetime | None:
    """A DateTime the gateway sent: must be UTC written with Z (DESIGN §3b)."""
    if text is None:
        return None
    assert text.endswith("Z"), f"not UTC with Z: {text}"
    return parse_time(text)


def meeting_row(node: Mapping[str, Any]) -> Row:
    """The compared part of a `Meeting` selected with `MEETING_FIELDS`."""
    return (
        node["id"],
        node["source"],
        node["sourceId"],
        node["status"],
        None if node["source"] == "DAILY" else node["sourceStatus"],
        node["title"],
        utc_output(node["startTime"]),
        utc_output(node["endTime"]),
        utc_output(node["createdAt"]),
        utc_output(node["updatedAt"]),
    )


# --- one mapping per upstream ----------------------------------------------------------------

_ONE_TO_ONE = {
    "scheduled": "SCHEDULED",
    "confirmed": "CONFIRMED",
    "completed": "COMPLETED",
    "cancelled": "CANCELLED",
    "no_show": "NO_SHOW",
}


def leezy_meeting(record: Mapping[str, Any]) -> ExpectedMeeting:
    attributes = record["attributes"]
    attendee = attributes.get("attendee") or {}
    email = attendee.get("email")
    return ExpectedMeeting(
        source="LEEZY",
        source_id=record["id"],
        node_id=f"leezy:{record['id']}",
        status=_ONE_TO_ONE[attributes["status"]],
        source_status=attributes["status"],
        title=attributes["title"],
        start=parse_time(attributes["start_time"]),
        end=_maybe_time(attributes["end_time"]),
        created=parse_time(attributes["created_at"]),
        updated=parse_time(attributes["updated_at"]),
        emails=frozenset() if email is None else frozenset({email.casefold()}),
        lead=None,
        chatbot_id=attributes["chatbot_id"],
    )


def nexor_meeting(lead_uuid: str, record: Mapping[str, Any]) -> ExpectedMeeting:
    """DESIGN §3b attendees: the lead, then the host (`host_name`, null when no host is
    assigned yet) as the organizer, who has no email."""
    return ExpectedMeeting(
        source="NEXOR",
        source_id=record["id"],
        node_id=f"nexor:{lead_uuid}:{record['id']}",
        status=_ONE_TO_ONE[record["status"]],
        source_status=record["status"],
        title=record["title"],
        start=parse_time(record["starts_at"]),
        end=parse_time(record["ends_at"]),
        created=parse_time(record["created_at"]),
        updated=None,  # Nexor has no update time
        emails=frozenset({record["attendee_email"].casefold()}),  # the host has no email
        lead=lead_id("nexor", lead_uuid),
        chatbot_id=None,
        attendees=(
            ExpectedAttendee(record["attendee_name"], record["attendee_email"], False),
            ExpectedAttendee(record["host_name"], None, True),
        ),
    )


def salesloft_status(record: Mapping[str, Any], now: datetime) -> str:
    """DESIGN §3b precedence: canceled_at, then no_show, then the status itself."""
    if record["canceled_at"] is not None:
        return "CANCELLED"
    if record["no_show"]:
        return "NO_SHOW"
    status = record["status"]
    if status == "booked":
        end = parse_time(record["end_time"] or record["start_time"])
        return "COMPLETED" if end < now else "CONFIRMED"
    if status in ("pending", "retry"):
        return "PENDING"
    assert status == "failed", status
    return "FAILED"


def salesloft_meeting(record: Mapping[str, Any], now: datetime) -> ExpectedMeeting:
    emails = {
        a["email"].casefold()
        for a in record.get("attendees") or ()
        if a.get("email") and a.get("deleted_at") is None
    }
    if record.get("recipient_email"):
        emails.add(record["recipient_email"].casefold())
    emails.update(guest.casefold() for guest in record.get("guests") or ())
    person = record.get("person")
    return ExpectedMeeting(
        source="SALESLOFT",
        source_id=str(record["id"]),
        node_id=f"salesloft:{record['id']}",
        status=salesloft_status(record, now),
        source_status=record["status"],
        title=record["title"],
        start=parse_time(record["start_time"]),
        end=_maybe_time(record["end_time"]),
        created=parse_time(record["created_at"]),
        updated=parse_time(record["updated_at"]),
        emails=frozenset(emails),
        lead=None if person is None else lead_id("salesloft", str(person["id"])),
        chatbot_id=None,
    )


def daily_meeting(record: Mapping[str, Any]) -> ExpectedMeeting:
    start = datetime.fromtimestamp(record["start_time"], UTC)
    return ExpectedMeeting(
        source="DAILY",
        source_id=record["id"],
        node_id=f"daily:{record['id']}",
        status="IN_PROGRESS" if record["ongoing"] else "COMPLETED",
        source_status=None,
        title=None,  # a session has no title
        start=start,
        end=start + timedelta(seconds=record["duration"]),
        created=None,
        updated=None,
        emails=frozenset(),  # participants have no email
        lead=None,
        chatbot_id=None,
    )


def all_meetings(
    dataset: Dataset,
    now: datetime,
    nexor_leads: Iterable[str] = (),
    *,
    salesloft: Sequence[Mapping[str, Any]] | None = None,
) -> list[ExpectedMeeting]:
    """Every meeting of Leezy, Salesloft and Daily, plus those of the given Nexor leads.

    `salesloft` replaces the data set's Salesloft records (after upserts).
    """
    meetings = [leezy_meeting(r) for r in dataset.leezy]
    for lead in sorted(set(nexor_leads)):
        meetings += [nexor_meeting(lead, r) for r in dataset.nexor_meetings.get(lead, ())]
    meetings += [salesloft_meeting(r, now) for r in salesloft or dataset.salesloft]
    meetings += [daily_meeting(r) for r in dataset.daily]
    return meetings


# --- filter and order --------------------------------------------------------------------------


def nexor_leads_of(meeting_filter: Mapping[str, Any]) -> list[str]:
    """The Nexor lead UUIDs among a filter's `leadIds` (global ids)."""
    leads = []
    for value in meeting_filter.get("leadIds") or ():
        node_id = base64.b64decode(value).decode()
        prefix = "Lead:nexor:"
        if node_id.startswith(prefix):
            leads.append(node_id[len(prefix) :])
    return leads


def matches(meeting: ExpectedMeeting, f: Mapping[str, Any], now: datetime) -> bool:
    """DESIGN §3b filters, all combined with AND; `f` is the GraphQL MeetingFilter input."""
    start = meeting.start
    checks = [
        "sources" not in f or meeting.source in f["sources"],
        "status" not in f or meeting.status in f["status"],
        "startAfter" not in f or start >= parse_time(f["startAfter"]),
        "startBefore" not in f or start < parse_time(f["startBefore"]),
        "updatedSince" not in f
        or (meeting.updated is not None and meeting.updated >= parse_time(f["updatedSince"])),
        "upcoming" not in f or (start > now) == f["upcoming"],
        "leadIds" not in f or meeting.lead in f["leadIds"],
        "chatbotId" not in f or meeting.chatbot_id == f["chatbotId"],
        "attendeeEmail" not in f or f["attendeeEmail"].casefold() in meeting.emails,
        "search" not in f
        or (meeting.title is not None and f["search"].casefold() in meeting.title.casefold()),
    ]
    return all(checks)


def ordered(
    meetings: Iterable[ExpectedMeeting], field: str = "START_TIME", direction: str = "DESC"
) -> list[ExpectedMeeting]:
    """(sort key, source, sourceId as text) ascending; DESC its exact reverse; nulls last."""
    descending = direction == "DESC"
    items = list(meetings)
    valued = [m for m in items if m.value(field) is not None]
    nulls = [m for m in items if m.value(field) is None]
    valued.sort(
        key=lambda m: (m.value(field), SOURCE_ORDER.index(m.source), m.source_id),
        reverse=descending,
    )
    nulls.sort(key=lambda m: (SOURCE_ORDER.index(m.source), m.source_id), reverse=descending)
    return valued + nulls


def expected_meetings(
    dataset: Dataset,
    now: datetime,
    meeting_filter: Mapping[str, Any],
    order: Mapping[str, str] | None = None,
    *,
    salesloft: Sequence[Mapping[str, Any]] | None = None,
) -> list[ExpectedMeeting]:
    """The whole connection a filter and order must produce, in order."""
    candidates = all_meetings(dataset, now, nexor_leads_of(meeting_filter), salesloft=salesloft)
    found = [m for m in candidates if matches(m, meeting_filter, now)]
    order = order or {}
    return ordered(found, order.get("field", "START_TIME"), order.get("direction", "DESC"))


def skip_reasons(meeting_filter: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    """Sources that must be SKIPPED, each with the words one of which its message names.

    A source the filter excludes (DESIGN §3b): not among `sources`; Nexor without
    `leadIds`; with `leadIds`, Leezy and Daily, and a lead source without a lead of its own
    among them; with `chatbotId`, all but Leezy; with `updatedSince`, Daily and Nexor; Daily
    with what a session never has: `upcoming: true`, `search` (a title), `attendeeEmail`.
    """
    reasons: dict[str, list[str]] = {source: [] for source in SOURCE_ORDER}
    f = meeting_filter
    for source in SOURCE_ORDER:
        if "sources" in f and source not in f["sources"]:
            reasons[source].append("sources")
    if "leadIds" not in f:
        reasons["NEXOR"].append("leadIds")
    else:
        decoded = [base64.b64decode(v).decode() for v in f["leadIds"]]
        for source in SOURCE_ORDER:
            prefix = f"Lead:{source.lower()}:"
            if not any(node_id.startswith(prefix) for node_id in decoded):
                reasons[source].append("leadIds")
    if "chatbotId" in f:
        for source in ("NEXOR", "SALESLOFT", "DAILY"):
            reasons[source].append("chatbotId")
    if "updatedSince" in f:
        for source in ("NEXOR", "DAILY"):
            reasons[source].append("updatedSince")
    if f.get("upcoming") is True:
        reasons["DAILY"].append("upcoming")
    for field in ("search", "attendeeEmail"):
        if field in f:
            reasons["DAILY"].append(field)
    return {source: tuple(words) for source, words in reasons.items() if words}


def check_sources(results: Sequence[Mapping[str, Any]], meeting_filter: Mapping[str, Any]) -> None:
    """`MeetingConnection.sources`: the four meeting sources in order, SKIPPED ones with why."""
    assert [r["source"] for r in results] == list(SOURCE_ORDER), results
    skipped = skip_reasons(meeting_filter)
    for result in results:
        words = skipped.get(result["source"])
        if words is None:
            assert result["state"] == "OK", result
            assert result["message"] is None, result
        else:
            assert result["state"] == "SKIPPED", result
            message = (result["message"] or "").casefold()
            assert any(w.casefold() in message for w in words), (result, words)
