"""`meetings` answers what the data set says: membership, order, mapping, counts, sources.

Every expectation is computed here from the simulators' wire records (`tests.api.expected`),
then compared with what the gateway answers over HTTP, page after page.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gateway.simulators.cluster import Simulators
from gateway.simulators.dataset import Dataset
from tests.api.expected import (
    MEETING_FIELDS,
    ExpectedMeeting,
    Row,
    check_sources,
    expected_meetings,
    iso_z,
    lead_id,
    meeting_row,
    parse_time,
)
from tests.conftest import REFERENCE_NOW, GraphQLClient

QUERY = """
query Meetings($first: Int, $after: String, $filter: MeetingFilter, $orderBy: MeetingOrder) {
  meetings(first: $first, after: $after, filter: $filter, orderBy: $orderBy) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    sources { source state message }
    edges { cursor node { FIELDS } }
  }
}
""".replace("FIELDS", MEETING_FIELDS)

Filter = dict[str, Any]
Order = dict[str, str] | None

# An address several sources share: a Leezy attendee, a Salesloft recipient, a Nexor lead.
SHARED_EMAIL = "chloe.okafor37@example.org"
SHARED_EMAIL_NEXOR_LEAD = "972b468a-5b3a-43e4-8eef-2469db627131"


async def walk(
    gql: GraphQLClient,
    meeting_filter: Filter,
    order: Order,
    *,
    first: int = 100,
) -> tuple[list[Row], int]:
    """Every page forwards; checks each page's paging flags, count and sources on the way."""
    rows: list[Row] = []
    after: str | None = None
    total: int | None = None
    pages = 0
    while True:
        variables = {"first": first, "after": after, "filter": meeting_filter, "orderBy": order}
        body = await gql(QUERY, variables)
        assert "errors" not in body, body["errors"]
        connection = body["data"]["meetings"]
        page_info = connection["pageInfo"]
        edges = connection["edges"]
        check_sources(connection["sources"], meeting_filter)
        if total is None:
            total = connection["totalCount"]
        assert connection["totalCount"] == total
        assert page_info["hasPreviousPage"] is (pages > 0)
        rows += [meeting_row(edge["node"]) for edge in edges]
        pages += 1
        if edges:
            assert page_info["startCursor"] == edges[0]["cursor"]
            assert page_info["endCursor"] == edges[-1]["cursor"]
        if not page_info["hasNextPage"]:
            assert len(rows) == total
            return rows, pages
        assert len(edges) == first
        after = page_info["endCursor"]
        assert pages <= total // first + 1, "more pages than matches"


# --- picking values from the data set ---------------------------------------------------------


def _daily_start(dataset: Dataset, near: datetime) -> datetime:
    starts = [datetime.fromtimestamp(r["start_time"], UTC) for r in dataset.daily]
    return min(starts, key=lambda s: (abs(s - near), s))


def _salesloft_start(dataset: Dataset, near: datetime) -> datetime:
    starts = [parse_time(r["start_time"]) for r in dataset.salesloft]
    return min(starts, key=lambda s: (abs(s - near), s))


def _leezy_start(dataset: Dataset, near: datetime) -> datetime:
    starts = [parse_time(r["attributes"]["start_time"]) for r in dataset.leezy]
    return min(starts, key=lambda s: (abs(s - near), s))


def _median(values: list[datetime]) -> datetime:
    return sorted(values)[len(values) // 2]


def _busiest_nexor_leads(dataset: Dataset, count: int) -> list[str]:
    leads = sorted(
        dataset.nexor_meetings, key=lambda lead: (-len(dataset.nexor_meetings[lead]), lead)
    )
    return leads[:count]


def _busiest_persons(dataset: Dataset, count: int) -> list[str]:
    persons = Counter(str(r["person"]["id"]) for r in dataset.salesloft if r["person"])
    return [person for person, _ in sorted(persons.items(), key=lambda p: (-p[1], p[0]))[:count]]


def _lead_ids(dataset: Dataset, nexor: int, salesloft: int) -> list[str]:
    return [lead_id("nexor", lead) for lead in _busiest_nexor_leads(dataset, nexor)] + [
        lead_id("salesloft", person) for person in _busiest_persons(dataset, salesloft)
    ]


def _persons_meeting(dataset: Dataset, email: str) -> list[str]:
    """Lead ids of the Salesloft persons whose meetings include `email`."""
    persons = {
        str(r["person"]["id"])
        for r in dataset.salesloft
        if r["person"] and email in {r["recipient_email"], *r["guests"]}
    }
    return [lead_id("salesloft", person) for person in sorted(persons)]


def _chatbot(dataset: Dataset) -> str:
    chatbots: set[str] = {r["attributes"]["chatbot_id"] for r in dataset.leezy}
    return min(chatbots)


# --- the cases -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    name: str
    build: Callable[[Dataset], tuple[Filter, Order]]
    # What the expected result itself must show, so a case cannot test less than it says.
    check: Callable[[list[ExpectedMeeting], Dataset], None] = lambda found, _: None


def _week_ago_to_two_days_ago(dataset: Dataset) -> tuple[Filter, Order]:
    after = _daily_start(dataset, REFERENCE_NOW - timedelta(days=7))
    before = _salesloft_start(dataset, REFERENCE_NOW - timedelta(days=2))
    return {"startAfter": iso_z(after), "startBefore": iso_z(before)}, None


def _boundaries_hold(found: list[ExpectedMeeting], dataset: Dataset) -> None:
    after = _daily_start(dataset, REFERENCE_NOW - timedelta(days=7))
    before = _salesloft_start(dataset, REFERENCE_NOW - timedelta(days=2))
    assert any(m.source == "DAILY" and m.start == after for m in found)  # inclusive
    assert all(m.start < before for m in found)  # exclusive...
    assert any(m.start == before for m in expected_meetings(dataset, REFERENCE_NOW, {}))
    assert {m.source for m in found} == {"LEEZY", "SALESLOFT", "DAILY"}


def _leezy_boundaries(dataset: Dataset) -> tuple[Filter, Order]:
    after = _leezy_start(dataset, REFERENCE_NOW + timedelta(days=3))
    before = _leezy_start(dataset, REFERENCE_NOW + timedelta(days=9))
    return {"startAfter": iso_z(after), "startBefore": iso_z(before)}, {"direction": "ASC"}


def _leezy_boundaries_hold(found: list[ExpectedMeeting], dataset: Dataset) -> None:
    after = _leezy_start(dataset, REFERENCE_NOW + timedelta(days=3))
    assert found[0].start == after
    assert found[0].source == "LEEZY"


def _leezy_updated_since(dataset: Dataset) -> tuple[Filter, Order]:
    since = _median([parse_time(r["attributes"]["updated_at"]) for r in dataset.leezy])
    return {"updatedSince": iso_z(since)}, {"field": "UPDATED_AT", "direction": "ASC"}


def _salesloft_updated_since(dataset: Dataset) -> tuple[Filter, Order]:
    since = _median([parse_time(r["updated_at"]) for r in dataset.salesloft])
    return {"updatedSince": iso_z(since)}, {"field": "UPDATED_AT"}


MICRO = timedelta(microseconds=1)


def _sub_second_bounds(dataset: Dataset) -> tuple[Filter, Order]:
    """Bounds just past whole seconds: Daily's unix seconds must not round them away."""
    after = _daily_start(dataset, REFERENCE_NOW - timedelta(days=4))
    before = _daily_start(dataset, REFERENCE_NOW - timedelta(days=1))
    bounds = {"startAfter": iso_z(after + MICRO), "startBefore": iso_z(before + MICRO)}
    return bounds, {"direction": "ASC"}


def _sub_second_bounds_hold(found: list[ExpectedMeeting], dataset: Dataset) -> None:
    after = _daily_start(dataset, REFERENCE_NOW - timedelta(days=4))
    before = _daily_start(dataset, REFERENCE_NOW - timedelta(days=1))
    assert all(m.start != after for m in found)  # a microsecond too early: out
    assert found[-1].start == before  # a microsecond before the bound: in
    assert found[-1].source == "DAILY"


def _leezy_updated_since_plus_micro(dataset: Dataset) -> tuple[Filter, Order]:
    since = _median([parse_time(r["attributes"]["updated_at"]) for r in dataset.leezy])
    return {"updatedSince": iso_z(since + MICRO), "sources": ["LEEZY"]}, {"field": "UPDATED_AT"}


def _leezy_median_excluded(found: list[ExpectedMeeting], dataset: Dataset) -> None:
    since = _median([parse_time(r["attributes"]["updated_at"]) for r in dataset.leezy])
    assert all(m.updated is not None and m.updated > since for m in found)
    assert len(found) == sum(
        1 for r in dataset.leezy if parse_time(r["attributes"]["updated_at"]) > since
    )


def _since_boundary_included(source: str) -> Callable[[list[ExpectedMeeting], Dataset], None]:
    def check(found: list[ExpectedMeeting], dataset: Dataset) -> None:
        ordered_since = min(m.updated for m in found if m.updated is not None)
        assert any(m.source == source and m.updated == ordered_since for m in found)
        assert ordered_since.microsecond != 0 or source == "LEEZY"

    return check


def _has_sources(*sources: str) -> Callable[[list[ExpectedMeeting], Dataset], None]:
    def check(found: list[ExpectedMeeting], _: Dataset) -> None:
        assert {m.source for m in found} == set(sources), Counter(m.source for m in found)

    return check


def _has_statuses(*statuses: str) -> Callable[[list[ExpectedMeeting], Dataset], None]:
    def check(found: list[ExpectedMeeting], _: Dataset) -> None:
        assert {m.status for m in found} == set(statuses), Counter(m.status for m in found)

    return check


def _daily_last(found: list[ExpectedMeeting], _: Dataset) -> None:
    assert [m.source for m in found[-103:]] == ["DAILY"] * 103
    assert found[-104].source != "DAILY"


def _has_nulls_last(found: list[ExpectedMeeting], _: Dataset) -> None:
    assert found[-1].updated is None
    assert found[0].updated is not None


def _both(
    *checks: Callable[[list[ExpectedMeeting], Dataset], None],
) -> Callable[[list[ExpectedMeeting], Dataset], None]:
    def check(found: list[ExpectedMeeting], dataset: Dataset) -> None:
        for one in checks:
            one(found, dataset)

    return check


CASES = [
    Case("default-order", lambda d: ({}, None), _has_sources("LEEZY", "SALESLOFT", "DAILY")),
    Case("start-asc", lambda d: ({}, {"direction": "ASC"})),
    Case(
        "created-desc-daily-nulls-last",
        lambda d: ({}, {"field": "CREATED_AT", "direction": "DESC"}),
        _daily_last,
    ),
    Case(
        "created-asc-daily-nulls-last", lambda d: ({}, {"field": "CREATED_AT", "direction": "ASC"})
    ),
    Case("updated-desc", lambda d: ({}, {"field": "UPDATED_AT"}), _has_nulls_last),
    Case(
        "updated-asc-with-nexor-nulls",
        lambda d: ({"leadIds": _lead_ids(d, 4, 3)}, {"field": "UPDATED_AT", "direction": "ASC"}),
        _both(_has_nulls_last, _has_sources("NEXOR", "SALESLOFT")),
    ),
    Case(
        "status-cancelled-no-show",
        lambda d: ({"status": ["CANCELLED", "NO_SHOW"]}, None),
        _both(_has_statuses("CANCELLED", "NO_SHOW"), _has_sources("LEEZY", "SALESLOFT")),
    ),
    Case(
        "status-completed-in-progress",
        lambda d: ({"status": ["COMPLETED", "IN_PROGRESS"]}, {"direction": "ASC"}),
        _both(
            _has_statuses("COMPLETED", "IN_PROGRESS"),
            _has_sources("LEEZY", "SALESLOFT", "DAILY"),
        ),
    ),
    Case(
        "status-pending",
        lambda d: ({"status": ["PENDING"]}, {"field": "CREATED_AT", "direction": "ASC"}),
        _has_sources("SALESLOFT"),
    ),
    Case(
        "status-confirmed-failed-scheduled",
        lambda d: ({"status": ["CONFIRMED", "FAILED", "SCHEDULED"]}, None),
        _has_statuses("CONFIRMED", "FAILED", "SCHEDULED"),
    ),
    Case("start-range-daily-and-salesloft-bounds", _week_ago_to_two_days_ago, _boundaries_hold),
    Case("start-range-leezy-bounds-asc", _leezy_boundaries, _leezy_boundaries_hold),
    Case("upcoming-true", lambda d: ({"upcoming": True}, {"direction": "ASC"})),
    Case(
        "upcoming-false-sources",
        lambda d: ({"upcoming": False, "sources": ["SALESLOFT", "DAILY"]}, None),
        _has_sources("SALESLOFT", "DAILY"),
    ),
    Case(
        "sources-leezy-daily",
        lambda d: ({"sources": ["DAILY", "LEEZY"]}, {"field": "CREATED_AT"}),
        _has_sources("LEEZY", "DAILY"),
    ),
    Case(
        "lead-ids-nexor-and-salesloft",
        lambda d: ({"leadIds": _lead_ids(d, 3, 2)}, None),
        _has_sources("NEXOR", "SALESLOFT"),
    ),
    Case(
        "lead-ids-nexor-only-status-asc",
        lambda d: (
            {"leadIds": _lead_ids(d, 5, 0), "status": ["COMPLETED", "SCHEDULED"]},
            {"direction": "ASC"},
        ),
        _both(_has_sources("NEXOR"), _has_statuses("COMPLETED", "SCHEDULED")),
    ),
    Case(
        "lead-ids-salesloft-only",
        lambda d: ({"leadIds": _lead_ids(d, 0, 3)}, {"field": "CREATED_AT", "direction": "ASC"}),
        _has_sources("SALESLOFT"),
    ),
    Case("chatbot", lambda d: ({"chatbotId": _chatbot(d)}, None), _has_sources("LEEZY")),
    Case(
        "updated-since-leezy-boundary",
        _leezy_updated_since,
        _both(_since_boundary_included("LEEZY"), _has_sources("LEEZY", "SALESLOFT")),
    ),
    Case("start-range-sub-second-daily-bounds", _sub_second_bounds, _sub_second_bounds_hold),
    Case(
        "updated-since-just-after-a-leezy-update",
        _leezy_updated_since_plus_micro,
        _both(_leezy_median_excluded, _has_sources("LEEZY")),
    ),
    Case(
        "updated-since-salesloft-boundary",
        _salesloft_updated_since,
        _since_boundary_included("SALESLOFT"),
    ),
    Case(
        "attendee-email-any-case",
        lambda d: ({"attendeeEmail": "Chloe.OKAFOR37@Example.ORG"}, None),
        _has_sources("LEEZY", "SALESLOFT"),
    ),
    Case(
        "attendee-email-with-nexor-lead",
        lambda d: (
            {
                "attendeeEmail": SHARED_EMAIL.upper(),
                "leadIds": [
                    lead_id("nexor", SHARED_EMAIL_NEXOR_LEAD),
                    *_persons_meeting(d, SHARED_EMAIL),
                ],
            },
            {"direction": "ASC"},
        ),
        _has_sources("NEXOR", "SALESLOFT"),
    ),
    Case(
        "search-any-case",
        lambda d: ({"search": "dEMO"}, None),
        _has_sources("LEEZY", "SALESLOFT"),
    ),
    Case(
        "search-unicode",
        lambda d: ({"search": "STARK & SÖHNE"}, {"direction": "ASC"}),
        _has_sources("SALESLOFT"),
    ),
    Case(
        "combined-status-upcoming-sources-asc",
        lambda d: (
            {
                "status": ["CONFIRMED", "SCHEDULED", "PENDING"],
                "upcoming": True,
                "sources": ["LEEZY", "SALESLOFT", "DAILY"],
            },
            {"direction": "ASC"},
        ),
        _has_sources("LEEZY", "SALESLOFT"),
    ),
    Case(
        "combined-search-status-created",
        lambda d: (
            {"search": "demo", "status": ["COMPLETED", "CANCELLED"], "upcoming": False},
            {"field": "CREATED_AT", "direction": "ASC"},
        ),
        _has_sources("LEEZY", "SALESLOFT"),
    ),
    Case(
        "combined-leads-range-search",
        lambda d: (
            {
                "leadIds": _lead_ids(d, 25, 0),
                "startAfter": iso_z(REFERENCE_NOW - timedelta(days=10)),
                "startBefore": iso_z(REFERENCE_NOW + timedelta(days=10)),
                "search": "call",
            },
            None,
        ),
        _has_sources("NEXOR"),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
async def test_meetings_match_the_data_set(
    case: Case, gql: GraphQLClient, dataset: Dataset, simulators: Simulators
) -> None:
    meeting_filter, order = case.build(dataset)
    expected = expected_meetings(dataset, REFERENCE_NOW, meeting_filter, order)
    assert expected, "a case must match something"
    case.check(expected, dataset)

    rows, pages = await walk(gql, meeting_filter, order)

    assert len(rows) == len(expected)
    assert {row[0] for row in rows} == {m.id for m in expected}  # membership first: clearer
    assert rows == [m.row() for m in expected]
    assert pages == max(1, -(-len(expected) // 100))
    if "leadIds" not in meeting_filter:
        assert simulators.nexor.requests == []


async def test_default_page_is_twenty_by_start_time_descending(
    gql: GraphQLClient, dataset: Dataset
) -> None:
    body = await gql(QUERY, {})
    connection = body["data"]["meetings"]
    expected = expected_meetings(dataset, REFERENCE_NOW, {})
    assert [meeting_row(e["node"]) for e in connection["edges"]] == [m.row() for m in expected[:20]]
    assert connection["totalCount"] == len(expected) == 423
    assert connection["pageInfo"]["hasNextPage"] is True
    assert connection["pageInfo"]["hasPreviousPage"] is False


async def test_every_status_mapping_is_exact(gql: GraphQLClient, dataset: Dataset) -> None:
    """Per source, the status counts over the whole data set (Salesloft's precedence)."""
    leads = _lead_ids(dataset, 25, 0)
    rows, _ = await walk(gql, {"leadIds": leads}, None)
    nexor = Counter(row[3] for row in rows)
    assert nexor == Counter(
        {"COMPLETED": 28, "SCHEDULED": 19, "CANCELLED": 14, "CONFIRMED": 9, "NO_SHOW": 5}
    )
    rows, _ = await walk(gql, {}, None)
    by_source: dict[str, Counter[str]] = {}
    for row in rows:
        by_source.setdefault(row[1], Counter())[row[3]] += 1
    expected: dict[str, Counter[str]] = {}
    for m in expected_meetings(dataset, REFERENCE_NOW, {}):
        expected.setdefault(m.source, Counter())[m.status] += 1
    assert by_source == expected
    # Salesloft: 31 canceled (whatever their status), 14 no-shows, 36 pending or retry.
    salesloft = by_source["SALESLOFT"]
    assert salesloft["CANCELLED"] == 31
    assert salesloft["NO_SHOW"] == 14
    assert salesloft["PENDING"] == 36
    assert salesloft["FAILED"] == 14
    assert salesloft["CONFIRMED"] + salesloft["COMPLETED"] == 105
    assert by_source["DAILY"] == Counter({"COMPLETED": 99, "IN_PROGRESS": 4})
