"""Bad input of every kind is a clear error with a code, never a 5xx or a hang."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import GraphQLClient

MEETINGS_AFTER = "query($t: DateTime) { meetings(filter: {startAfter: $t}) { totalCount } }"


def _only_error(body: dict[str, Any]) -> dict[str, Any]:
    assert len(body["errors"]) == 1, body
    error: dict[str, Any] = body["errors"][0]
    return error


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("2026-03-10T14:00:00", "no timezone offset"),
        ("2026-03-10", "no timezone offset"),
        ("yesterday", "not an ISO 8601 date-time"),
        ("2026-13-40T25:00:00Z", "not an ISO 8601 date-time"),
        (1741615200, "must be an ISO 8601 string"),
    ],
)
async def test_bad_datetime_variable(gql: GraphQLClient, value: object, words: str) -> None:
    error = _only_error(await gql(MEETINGS_AFTER, {"t": value}))
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert words in error["message"]


async def test_bad_datetime_literal(gql: GraphQLClient) -> None:
    body = await gql('{ meetings(filter: {startAfter: "2026-03-10 14:00"}) { totalCount } }')
    error = _only_error(body)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "no timezone offset" in error["message"]


async def test_datetime_with_offset_is_accepted_and_output_in_utc(gql: GraphQLClient) -> None:
    body = await gql(
        """query($t: DateTime) {
          meetings(first: 1, filter: {startAfter: $t}, orderBy: {direction: ASC}) {
            edges { node { startTime } }
          }
        }""",
        {"t": "2026-03-10T16:00:00+02:00"},
    )
    assert "errors" not in body
    start = body["data"]["meetings"]["edges"][0]["node"]["startTime"]
    assert start.endswith("Z")
    assert start >= "2026-03-10T14:00:00Z"


async def test_deep_query_is_refused(gql: GraphQLClient) -> None:
    nested = "lead { meetings(first: 1) { edges { node { " * 10 + "id" + " } } } }" * 10
    body = await gql("{ meetings(first: 1) { edges { node { " + nested + " } } } }")
    error = _only_error(body)
    assert "exceeds maximum operation depth" in error["message"]
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert body.get("data") is None


async def test_too_many_aliases_are_refused(gql: GraphQLClient) -> None:
    aliases = " ".join(f"a{i}: __typename" for i in range(31))
    error = _only_error(await gql("{ " + aliases + " }"))
    assert "aliases" in error["message"]


async def test_too_many_tokens_are_refused(gql: GraphQLClient) -> None:
    fields = " ".join("__typename" for _ in range(2001))
    error = _only_error(await gql("{ " + fields + " }"))
    assert "token" in error["message"].lower()


async def test_unknown_field_and_syntax_error(gql: GraphQLClient) -> None:
    unknown = _only_error(await gql("{ meetingz { totalCount } }"))
    assert unknown["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    syntax = _only_error(await gql("{ meetings( }"))
    assert syntax["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"


@pytest.mark.parametrize(
    ("filter_", "words"),
    [
        ('{search: ""}', "filter.search"),
        ('{chatbotId: "' + "x" * 201 + '"}', "filter.chatbotId"),
        ('{leadIds: ["not-an-id"]}', "not a valid id"),
    ],
)
async def test_bad_filter_values(gql: GraphQLClient, filter_: str, words: str) -> None:
    body = await gql("{ meetings(filter: " + filter_ + ") { totalCount } }")
    error = _only_error(body)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert words in error["message"]
    assert body["data"] is None
