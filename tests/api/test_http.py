"""The HTTP surface: health, GraphiQL page, and bad requests answered 400, never 500."""

from __future__ import annotations

import aiohttp
import pytest

from gateway.api.graphiql import GRAPHIQL_CSP
from tests.conftest import GraphQLClient


async def test_healthz(http: aiohttp.ClientSession, gateway_url: str) -> None:
    async with http.get(gateway_url + "/healthz") as response:
        assert response.status == 200
        assert await response.json() == {"status": "ok"}


async def test_graphiql_page_is_self_hosted_with_the_example_query(
    http: aiohttp.ClientSession, gateway_url: str
) -> None:
    async with http.get(gateway_url + "/graphql", headers={"Accept": "text/html"}) as response:
        assert response.status == 200
        assert response.headers["Content-Security-Policy"] == GRAPHIQL_CSP
        page = await response.text()
    assert "unpkg.com" not in page
    assert "query UpcomingMeetings" in page
    async with http.get(gateway_url + "/graphiql-assets/graphiql.min.js") as response:
        assert response.status == 200
        assert len(await response.read()) > 100_000


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"null", "application/json"),
        (b"[1, 2]", "application/json"),
        (b'"query"', "application/json"),
        (b"{not json", "application/json"),
        (b'{"query": "{ __typename }\xff"}', "application/json"),
        (b"\xff\xfe", "application/json"),
        (b"query { __typename }", "text/plain"),
        (b'{"query": 42}', "application/json"),
        (b'{"query": "{ __typename }", "variables": [1]}', "application/json"),
        (b"[" * 100_000 + b"]" * 100_000, "application/json"),  # deeper than the parser goes
        (
            b'{"query": "{ __typename }", "variables": {"a": '
            + b"[" * 100_000
            + b"]" * 100_000
            + b"}}",
            "application/json",
        ),
    ],
)
async def test_bad_request_bodies_are_400(
    http: aiohttp.ClientSession, gateway_url: str, body: bytes, content_type: str
) -> None:
    headers = {"Content-Type": content_type}
    async with http.post(gateway_url + "/graphql", data=body, headers=headers) as response:
        assert response.status == 400


async def test_queries_over_get_are_refused(http: aiohttp.ClientSession, gateway_url: str) -> None:
    params = {"query": "{ __typename }"}
    async with http.get(gateway_url + "/graphql", params=params) as response:
        assert response.status in (400, 405)


async def test_a_query_without_errors_carries_no_errors_key(gql: GraphQLClient) -> None:
    body = await gql("{ __typename }")
    assert body == {"data": {"__typename": "Query"}, "extensions": body["extensions"]}
    assert body["extensions"]["upstream"]["requests"] == 0
