"""Keyset paging of `meetings`: forwards, backwards, while upstream data changes, bad input.

Expectations come from the simulators' wire records (`tests.api.expected`); every page is
compared with its exact slice of the expected order, flags included.
"""

from __future__ import annotations

import base64
import copy
import json
from datetime import timedelta
from typing import Any

import aiohttp
import pytest

from gateway.config import Settings
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
from tests.api.serving import running_gateway
from tests.conftest import REFERENCE_NOW, GraphQLClient

QUERY = """
query Page($first: Int, $after: String, $last: Int, $before: String,
           $filter: MeetingFilter, $orderBy: MeetingOrder) {
  meetings(first: $first, after: $after, last: $last, before: $before,
           filter: $filter, orderBy: $orderBy) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    sources { source state message }
    edges { cursor node { FIELDS } }
  }
}
""".replace("FIELDS", MEETING_FIELDS)

Filter = dict[str, Any]
Order = dict[str, str] | None
PAGE = 7

# 49 meetings of Leezy, Salesloft and Daily (seven full pages), with cross-source ties.
WINDOW: Filter = {
    "startAfter": iso_z(REFERENCE_NOW - timedelta(days=2)),
    "startBefore": iso_z(REFERENCE_NOW + timedelta(days=2)),
}
WINDOW_SIZE = 49
NEW_IDS = (89_000_001, 89_000_002)


@pytest.fixture
def settings(simulators: Simulators) -> Settings:
    """As the shared fixture, but nothing is fresh in the cache: upstream changes show at once."""
    values = {
        sim.name: {
            "base_url": sim.base_url,
            "api_key": sim.api_key,
            "retries": 0,
            "cache_ttl": 0,
            "stale_ttl": 0,
        }
        for sim in simulators
    }
    return Settings.model_validate({**values, "cache": {"url": "memory://"}})


async def page(
    gql: GraphQLClient,
    meeting_filter: Filter,
    order: Order = None,
    *,
    count: bool = True,
    **paging: int | str | None,
) -> dict[str, Any]:
    """One page; without `count`, totalCount is not asked and sources may stop early."""
    query = QUERY if count else QUERY.replace("totalCount", "")
    body = await gql(query, {"filter": meeting_filter, "orderBy": order, **paging})
    assert "errors" not in body, body["errors"]
    connection: dict[str, Any] = body["data"]["meetings"]
    check_sources(connection["sources"], meeting_filter)
    edges = connection["edges"]
    info = connection["pageInfo"]
    assert info["startCursor"] == (edges[0]["cursor"] if edges else None)
    assert info["endCursor"] == (edges[-1]["cursor"] if edges else None)
    return connection


def rows_of(connection: dict[str, Any]) -> list[Row]:
    return [meeting_row(edge["node"]) for edge in connection["edges"]]


def positions(connection: dict[str, Any]) -> list[dict[str, Any]]:
    """Each edge's cursor without its resume hints: the position and the query it is of."""
    found = []
    for edge in connection["edges"]:
        cursor = edge["cursor"]
        payload = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        found.append({k: v for k, v in payload.items() if k != "h"})
    return found


def flags(connection: dict[str, Any]) -> tuple[bool, bool]:
    info = connection["pageInfo"]
    return info["hasPreviousPage"], info["hasNextPage"]


def _leads(dataset: Dataset) -> list[str]:
    nexor = sorted(dataset.nexor_meetings, key=lambda lead: -len(dataset.nexor_meetings[lead]))
    persons = sorted(
        {str(r["person"]["id"]) for r in dataset.salesloft if r["person"]},
        key=lambda p: sum(1 for r in dataset.salesloft if str((r["person"] or {}).get("id")) == p),
    )
    return [lead_id("nexor", lead) for lead in nexor[:4]] + [
        lead_id("salesloft", person) for person in persons[-3:]
    ]


WALKS = [
    ("window-start-desc", None),
    ("window-start-asc", {"direction": "ASC"}),
    ("window-created-desc", {"field": "CREATED_AT"}),  # Daily's nulls in mid-walk
    ("leads-updated-asc", {"field": "UPDATED_AT", "direction": "ASC"}),  # Nexor's nulls
]


def _walk_filter(name: str, dataset: Dataset) -> Filter:
    return {"leadIds": _leads(dataset)} if name.startswith("leads") else WINDOW


COUNTED = pytest.mark.parametrize("count", [True, False], ids=["counted", "lean"])


@COUNTED
@pytest.mark.parametrize(("name", "order"), WALKS, ids=[w[0] for w in WALKS])
async def test_forward_walk_pages_every_meeting_once(
    name: str, order: Order, count: bool, gql: GraphQLClient, dataset: Dataset
) -> None:
    meeting_filter = _walk_filter(name, dataset)
    expected = [m.row() for m in expected_meetings(dataset, REFERENCE_NOW, meeting_filter, order)]
    assert 30 <= len(expected) <= 70, len(expected)
    pages = -(-len(expected) // PAGE)
    after: str | None = None
    for number in range(pages):
        connection = await page(gql, meeting_filter, order, count=count, first=PAGE, after=after)
        assert connection.get("totalCount", len(expected)) == len(expected)
        assert rows_of(connection) == expected[number * PAGE : (number + 1) * PAGE], number
        assert flags(connection) == (number > 0, number < pages - 1), number
        after = connection["pageInfo"]["endCursor"]
    # Past the last meeting: an empty page that still knows what lies before it.
    connection = await page(gql, meeting_filter, order, count=count, first=PAGE, after=after)
    assert connection["edges"] == []
    assert flags(connection) == (True, False)


@COUNTED
@pytest.mark.parametrize(("name", "order"), WALKS, ids=[w[0] for w in WALKS])
async def test_backward_walk_pages_every_meeting_once(
    name: str, order: Order, count: bool, gql: GraphQLClient, dataset: Dataset
) -> None:
    meeting_filter = _walk_filter(name, dataset)
    expected = [m.row() for m in expected_meetings(dataset, REFERENCE_NOW, meeting_filter, order)]
    end = len(expected)
    before: str | None = None
    while end > 0:
        connection = await page(gql, meeting_filter, order, count=count, last=PAGE, before=before)
        start = max(0, end - PAGE)
        assert connection.get("totalCount", len(expected)) == len(expected)
        assert rows_of(connection) == expected[start:end], end
        assert flags(connection) == (start > 0, end < len(expected)), end
        before = connection["pageInfo"]["startCursor"]
        end = start
    connection = await page(gql, meeting_filter, order, count=count, last=PAGE, before=before)
    assert connection["edges"] == []
    assert flags(connection) == (False, True)


async def test_walks_without_total_count_have_the_same_pages(
    gql: GraphQLClient, dataset: Dataset
) -> None:
    """Not selecting totalCount lets sources stop early: the pages must not change."""
    query = QUERY.replace("totalCount", "")
    expected = [m.row() for m in expected_meetings(dataset, REFERENCE_NOW, WINDOW)]
    after: str | None = None
    before: str | None = None
    for number in range(WINDOW_SIZE // PAGE):
        body = await gql(query, {"filter": WINDOW, "first": PAGE, "after": after})
        connection = body["data"]["meetings"]
        assert rows_of(connection) == expected[number * PAGE : (number + 1) * PAGE]
        assert flags(connection) == (number > 0, number < WINDOW_SIZE // PAGE - 1)
        after = connection["pageInfo"]["endCursor"]
        before = connection["pageInfo"]["startCursor"]
    for number in reversed(range(WINDOW_SIZE // PAGE - 1)):
        body = await gql(query, {"filter": WINDOW, "last": PAGE, "before": before})
        connection = body["data"]["meetings"]
        assert rows_of(connection) == expected[number * PAGE : (number + 1) * PAGE]
        assert flags(connection) == (number > 0, True)
        before = connection["pageInfo"]["startCursor"]


async def test_forward_and_backward_cursors_meet(gql: GraphQLClient, dataset: Dataset) -> None:
    """`before` the third page's first edge is exactly the second page, and back again."""
    expected = [m.row() for m in expected_meetings(dataset, REFERENCE_NOW, WINDOW)]
    second = await page(gql, WINDOW, first=PAGE, after=None)
    second = await page(gql, WINDOW, first=PAGE, after=second["pageInfo"]["endCursor"])
    third = await page(gql, WINDOW, first=PAGE, after=second["pageInfo"]["endCursor"])
    back = await page(gql, WINDOW, last=PAGE, before=third["pageInfo"]["startCursor"])
    assert rows_of(back) == rows_of(second) == expected[PAGE : 2 * PAGE]
    # The same positions; the resume hints differ, as a backward walk resumes elsewhere.
    assert positions(back) == positions(second)
    assert flags(back) == (True, True)
    again = await page(gql, WINDOW, first=PAGE, after=back["pageInfo"]["endCursor"])
    assert rows_of(again) == rows_of(third) == expected[2 * PAGE : 3 * PAGE]


def _copy_at(record: dict[str, Any], new_id: int, start: str) -> dict[str, Any]:
    """A Salesloft wire record like `record`, with a new id, at `start` for 30 minutes."""
    moment = parse_time(start)
    copied = copy.deepcopy(record)
    copied["id"] = new_id
    copied["start_time"] = moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    copied["end_time"] = (moment + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return copied


async def test_inserts_between_pages_neither_skip_nor_repeat(
    gql: GraphQLClient, dataset: Dataset, simulators: Simulators
) -> None:
    original = expected_meetings(dataset, REFERENCE_NOW, WINDOW)
    assert len(original) == WINDOW_SIZE
    walked: list[Row] = []
    after: str | None = None
    for _ in range(3):
        connection = await page(gql, WINDOW, first=PAGE, after=after)
        walked += rows_of(connection)
        after = connection["pageInfo"]["endCursor"]
    assert walked == [m.row() for m in original[: 3 * PAGE]]

    # Start time DESC: "behind" the position is later than the last meeting seen, "ahead"
    # is earlier. Both sit a second off existing meetings, between two of them.
    position = original[3 * PAGE - 1]
    behind_at = original[PAGE].start + timedelta(seconds=1)
    ahead_at = original[5 * PAGE].start - timedelta(seconds=1)
    assert behind_at > position.start > ahead_at
    template = next(r for r in dataset.salesloft if str(r["id"]) == _a_salesloft_id(original))
    behind = _copy_at(template, NEW_IDS[0], iso_z(behind_at))
    ahead = _copy_at(template, NEW_IDS[1], iso_z(ahead_at))
    simulators.salesloft.upsert(behind)
    simulators.salesloft.upsert(ahead)
    simulators.salesloft.reset_requests()

    while True:
        connection = await page(gql, WINDOW, first=PAGE, after=after)
        walked += rows_of(connection)
        after = connection["pageInfo"]["endCursor"]
        if not connection["pageInfo"]["hasNextPage"]:
            break
    assert simulators.salesloft.requests, "the later pages must ask Salesloft again"
    assert connection["totalCount"] == WINDOW_SIZE + 2

    now_there = expected_meetings(
        dataset, REFERENCE_NOW, WINDOW, salesloft=[*dataset.salesloft, behind, ahead]
    )
    assert len(now_there) == WINDOW_SIZE + 2
    behind_id, ahead_id = (str(new_id) for new_id in NEW_IDS)
    wanted = [m.row() for m in now_there if m.source_id != behind_id]
    assert walked == wanted
    walked_ids = [row[2] for row in walked]
    assert len(set(walked_ids)) == len(walked_ids) == WINDOW_SIZE + 1
    assert ahead_id in walked_ids
    assert behind_id not in walked_ids
    assert {m.source_id for m in original} <= set(walked_ids)


async def test_inserts_tied_with_the_position_follow_the_string_id_order(
    gql: GraphQLClient, dataset: Dataset, simulators: Simulators
) -> None:
    """Same start time as the last meeting seen: source, then sourceId *as a string* decide.

    With START_TIME DESC the tuple order is reversed: for a Salesloft position with id
    81001667, "9" sorts after it as a string (so it is behind, already passed) although
    9 < 81001667 as a number, and "100000000" sorts before it (so it is ahead).
    """
    original = expected_meetings(dataset, REFERENCE_NOW, WINDOW)
    first = await page(gql, WINDOW, first=23)
    position = original[22]
    assert (position.source, position.source_id) == ("SALESLOFT", "81001667")
    assert rows_of(first) == [m.row() for m in original[:23]]

    template = next(r for r in dataset.salesloft if str(r["id"]) == position.source_id)
    inserted = [_copy_at(template, new_id, iso_z(position.start)) for new_id in (9, 100_000_000)]
    for record in inserted:
        simulators.salesloft.upsert(record)

    walked = rows_of(first)
    after = first["pageInfo"]["endCursor"]
    while True:
        connection = await page(gql, WINDOW, first=PAGE, after=after)
        walked += rows_of(connection)
        after = connection["pageInfo"]["endCursor"]
        if not connection["pageInfo"]["hasNextPage"]:
            break

    now_there = expected_meetings(
        dataset, REFERENCE_NOW, WINDOW, salesloft=[*dataset.salesloft, *inserted]
    )
    at = [m.id for m in now_there].index(position.id)
    assert walked == [m.row() for m in original[:23]] + [m.row() for m in now_there[at + 1 :]]
    walked_ids = [row[2] for row in walked]
    assert "100000000" in walked_ids
    assert "9" not in walked_ids
    assert len(set(walked_ids)) == len(walked_ids) == WINDOW_SIZE + 1


def _a_salesloft_id(meetings: list[ExpectedMeeting]) -> str:
    return next(m.source_id for m in meetings if m.source == "SALESLOFT")


async def test_a_resume_hint_past_the_end_of_a_shrunk_listing_restarts_the_walk(
    gql: GraphQLClient, dataset: Dataset, simulators: Simulators
) -> None:
    """By update time Salesloft is walked by page number, and the cursor says which page to
    resume at. Once enough meetings are canceled (they leave the active listing), that page
    lies past the end: the walk must restart from the cursor, not answer nothing."""
    only, order, size = {"sources": ["SALESLOFT"]}, {"field": "UPDATED_AT"}, 70
    first = await page(gql, only, order, first=size)
    second = await page(gql, only, order, first=size, after=first["pageInfo"]["endCursor"])
    after = second["pageInfo"]["endCursor"]
    hints = json.loads(base64.urlsafe_b64decode(after + "=" * (-len(after) % 4)))["h"]
    assert hints["salesloft:false"] == "|2"  # the active listing's second upstream page

    seen = {row[2] for row in rows_of(first) + rows_of(second)}
    active = [r for r in dataset.salesloft if r["canceled_at"] is None]
    canceled = [
        {**copy.deepcopy(r), "canceled_at": r["updated_at"]} for r in active if str(r["id"]) in seen
    ][: len(active) - 100]  # what stays active fits on one upstream page
    for record in canceled:
        simulators.salesloft.upsert(record)
    changed = {r["id"]: r for r in [*dataset.salesloft, *canceled]}
    expected = expected_meetings(dataset, REFERENCE_NOW, only, order, salesloft=[*changed.values()])
    position = [m.source_id for m in expected].index(rows_of(second)[-1][2])
    simulators.salesloft.reset_requests()

    third = await page(gql, only, order, first=size, after=after)

    assert rows_of(third) == [m.row() for m in expected[position + 1 : position + 1 + size]]
    assert sum(row[3] != "CANCELLED" for row in rows_of(third)) == 53  # the active ones
    pages = [(r.params["show_deleted"], r.params["page"]) for r in simulators.salesloft.requests]
    assert ("false", "2") in pages  # the hint was tried, then the walk restarted


async def test_page_size_of_exactly_the_total(gql: GraphQLClient, dataset: Dataset) -> None:
    expected = [m.row() for m in expected_meetings(dataset, REFERENCE_NOW, WINDOW)]
    assert len(expected) == WINDOW_SIZE
    whole = await page(gql, WINDOW, first=WINDOW_SIZE)
    assert rows_of(whole) == expected
    assert flags(whole) == (False, False)
    backwards = await page(gql, WINDOW, last=WINDOW_SIZE)
    assert rows_of(backwards) == expected
    assert flags(backwards) == (False, False)
    one_short = await page(gql, WINDOW, first=WINDOW_SIZE - 1)
    assert rows_of(one_short) == expected[:-1]
    assert flags(one_short) == (False, True)
    rest = await page(gql, WINDOW, first=WINDOW_SIZE, after=one_short["pageInfo"]["endCursor"])
    assert rows_of(rest) == expected[-1:]
    assert flags(rest) == (True, False)


async def test_last_without_before_is_the_end_of_the_list(
    gql: GraphQLClient, dataset: Dataset
) -> None:
    order = {"direction": "ASC"}
    expected = [m.row() for m in expected_meetings(dataset, REFERENCE_NOW, WINDOW, order)]
    tail = await page(gql, WINDOW, order, last=PAGE)
    assert rows_of(tail) == expected[-PAGE:]
    assert flags(tail) == (True, False)
    assert tail["totalCount"] == WINDOW_SIZE
    everything = await page(gql, {}, None, last=3)
    all_expected = [m.row() for m in expected_meetings(dataset, REFERENCE_NOW, {})]
    assert rows_of(everything) == all_expected[-3:]
    assert flags(everything) == (True, False)


# --- bad paging input ------------------------------------------------------------------------

BAD_SIZES = [
    ({"first": 0}, ("first", "1", "100", "0")),
    ({"first": 101}, ("first", "100", "101")),
    ({"first": 10000}, ("first", "100", "10000")),
    ({"first": -1}, ("first", "100", "-1")),
    ({"last": 0}, ("last", "1", "100", "0")),
    ({"last": 101}, ("last", "100", "101")),
    ({"first": 5, "last": 5}, ("first", "last")),
    ({"after": "not-a-cursor"}, ("after", "cursor")),
    ({"first": 5, "after": "eyJ2IjoxfQ"}, ("after", "cursor")),  # base64 of {"v":1}
    ({"first": 5, "after": ""}, ("after", "cursor")),
    ({"last": 5, "before": "%%%"}, ("before", "cursor")),
    ({"first": 5, "before": "not-a-cursor"}, ("before",)),
]


def _check_bad_input(body: dict[str, Any], words: tuple[str, ...]) -> None:
    assert body["data"] is None or body["data"]["meetings"] is None, body
    assert len(body["errors"]) == 1, body["errors"]
    error = body["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT", error
    assert error["path"] == ["meetings"], error
    for word in words:
        assert word in error["message"], (word, error["message"])


@pytest.mark.parametrize(("paging", "words"), BAD_SIZES, ids=[str(p) for p, _ in BAD_SIZES])
async def test_bad_paging_input_is_a_clear_user_error(
    paging: dict[str, Any], words: tuple[str, ...], gql: GraphQLClient, simulators: Simulators
) -> None:
    body = await gql(QUERY, {"filter": WINDOW, **paging})  # HTTP 200, never a 5xx
    _check_bad_input(body, words)
    for simulator in simulators:  # refused before any upstream is asked
        assert simulator.requests == [], simulator.name


LITERALS = [
    ("{ meetings(first: 0) { totalCount } }", {}, ("first", "100")),
    ("{ meetings(last: 101) { totalCount } }", {}, ("last", "100")),
    ("{ meetings(first: 1.5) { totalCount } }", {}, ("1.5",)),
    ('{ meetings(first: "7") { totalCount } }', {}, ('"7"',)),
    ("{ meetings(first: 2147483648) { totalCount } }", {}, ("2147483648",)),
    ("{ meetings(first: 5, after: 5) { totalCount } }", {}, ("5",)),
    ("query($n: Int) { meetings(first: $n) { totalCount } }", {"n": 1.5}, ("$n", "1.5")),
    ("query($n: Int) { meetings(last: $n) { totalCount } }", {"n": "7"}, ("$n", "7")),
    ("query($n: Int) { meetings(first: $n) { totalCount } }", {"n": 2**31}, ("$n", "2147483648")),
]


@pytest.mark.parametrize(("query", "variables", "words"), LITERALS, ids=[q for q, _, _ in LITERALS])
async def test_paging_arguments_of_the_wrong_type_are_user_errors(
    query: str,
    variables: dict[str, Any],
    words: tuple[str, ...],
    gql: GraphQLClient,
    simulators: Simulators,
) -> None:
    """Any page size but an integer 1-100 is BAD_USER_INPUT, in a literal or a variable."""
    body = await gql(query, variables)
    assert body["data"] is None, body
    assert len(body["errors"]) == 1, body["errors"]
    error = body["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT", error
    for word in words:
        assert word in error["message"], (word, error["message"])
    for simulator in simulators:
        assert simulator.requests == [], simulator.name


OTHER_QUERIES: list[tuple[str, Filter, Order]] = [
    ("another-filter", {**WINDOW, "status": ["COMPLETED"]}, None),
    ("another-direction", WINDOW, {"direction": "ASC"}),
    ("another-field", WINDOW, {"field": "CREATED_AT", "direction": "DESC"}),
    ("no-filter", {}, None),
]


@pytest.mark.parametrize(
    ("name", "meeting_filter", "order"), OTHER_QUERIES, ids=[q[0] for q in OTHER_QUERIES]
)
async def test_cursor_of_another_query_is_refused(
    name: str,
    meeting_filter: Filter,
    order: Order,
    gql: GraphQLClient,
    simulators: Simulators,
) -> None:
    first = await page(gql, WINDOW, None, first=PAGE)
    cursor = first["pageInfo"]["endCursor"]
    simulators.reset()
    for paging, argument in (
        ({"first": PAGE, "after": cursor}, "after"),
        ({"last": PAGE, "before": cursor}, "before"),
    ):
        body = await gql(QUERY, {"filter": meeting_filter, "orderBy": order, **paging})
        _check_bad_input(body, (argument, "cursor"))
        message = body["errors"][0]["message"].casefold()
        assert "filter" in message or "order" in message, message
    for simulator in simulators:
        assert simulator.requests == [], simulator.name
    # The same cursor still works for its own query.
    again = await page(gql, WINDOW, None, first=PAGE, after=cursor)
    assert len(again["edges"]) == PAGE


@pytest.mark.parametrize(
    "order", [None, {"direction": "ASC"}, {"field": "CREATED_AT", "direction": "ASC"}]
)
async def test_deep_lean_paging_asks_salesloft_at_most_once_a_page(
    order: Order, simulators: Simulators, http: aiohttp.ClientSession, dataset: Dataset
) -> None:
    """With the cache on, a walk resumes each listing where the cursor says: consecutive
    pages reuse the cached upstream page, and each upstream page is asked for once."""
    cached = Settings.model_validate(
        {s.name: {"base_url": s.base_url, "api_key": s.api_key} for s in simulators}
    )
    only = {"sources": ["SALESLOFT"]}
    expected = [m.row() for m in expected_meetings(dataset, REFERENCE_NOW, only, order)]
    pages = -(-len(expected) // 20)
    seen: list[Row] = []
    after: str | None = None
    async with running_gateway(cached, http) as gql:
        for _ in range(pages):
            connection = await page(gql, only, order, count=False, first=20, after=after)
            seen += rows_of(connection)
            after = connection["pageInfo"]["endCursor"]
    assert seen == expected
    asked = [tuple(sorted(r.query)) for r in simulators.salesloft.requests]
    assert len(asked) == len(set(asked))  # no upstream page twice
    assert len(asked) <= pages, (len(asked), pages)
    assert all(dict(query)["per_page"] == "100" for query in asked)  # 1 cost unit each
