"""Automatic persisted queries (Apollo's APQ v1) over real HTTP, in memory and on Redis, and
the allow-list mode: what runs, what is registered, what is refused with which code."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from redis.asyncio import Redis
from strawberry.extensions.parser_cache import _get_parse_cache

from gateway.api.schema import CACHE_SIZE
from gateway.api.validation import VALID_SHAPES
from gateway.app import create_app
from gateway.config import AuthSettings, CacheSettings, PersistedSettings, Settings
from gateway.simulators.cluster import Simulators
from tests.conftest import REFERENCE_NOW
from tests.serving import serving

PAGE = """query Page($first: Int!) {
  meetings(first: $first, orderBy: {direction: ASC}) { edges { node { id title source } } }
}"""
JSON = {"Content-Type": "application/json"}


def sha(document: str) -> str:
    return hashlib.sha256(document.encode()).hexdigest()


def apq(document: str, *, version: int = 1) -> dict[str, Any]:
    return {"persistedQuery": {"version": version, "sha256Hash": sha(document)}}


class Client:
    """Posts (or GETs) GraphQL to one gateway; returns status, body and Cache-Control."""

    def __init__(self, http: aiohttp.ClientSession, url: str) -> None:
        self.http = http
        self.url = url + "/graphql"

    async def post(self, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        async with self.http.post(self.url, json=payload) as response:
            return response.status, await response.json()

    async def get(
        self, params: dict[str, Any], headers: dict[str, str] | None = None
    ) -> tuple[int, str]:
        query = {k: v if isinstance(v, str) else json.dumps(v) for k, v in params.items()}
        headers = JSON if headers is None else headers
        async with self.http.get(self.url, params=query, headers=headers) as response:
            return response.status, await response.text()


@asynccontextmanager
async def gateway(settings: Settings) -> AsyncIterator[Client]:
    async with (
        serving(create_app(settings, clock=lambda: REFERENCE_NOW)) as url,
        aiohttp.ClientSession() as http,
    ):
        yield Client(http, url)


def with_changes(settings: Settings, **changes: Any) -> Settings:
    return settings.model_copy(update=changes)


def codes(body: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors", [])]


async def test_an_unknown_hash_asks_for_the_document(settings: Settings) -> None:
    async with gateway(settings) as client:
        status, body = await client.post({"extensions": apq(PAGE), "variables": {"first": 2}})
    assert status == 200  # Apollo Client 3 gives APQ up after a 400
    assert body["data"] is None
    assert body["errors"] == [
        {"message": "PersistedQueryNotFound", "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"}}
    ]


async def test_a_document_sent_with_its_hash_runs_then_runs_by_hash(
    settings: Settings, simulators: Simulators
) -> None:
    async with gateway(settings) as client:
        _, plain = await client.post({"query": PAGE, "variables": {"first": 3}})
        _, registered = await client.post(
            {"query": PAGE, "extensions": apq(PAGE), "variables": {"first": 3}}
        )
        _, by_hash = await client.post({"extensions": apq(PAGE), "variables": {"first": 3}})
        _, other_page = await client.post({"extensions": apq(PAGE), "variables": {"first": 1}})

    assert len(plain["data"]["meetings"]["edges"]) == 3
    assert registered["data"] == plain["data"]
    assert by_hash["data"] == plain["data"]
    assert other_page["data"]["meetings"]["edges"] == plain["data"]["meetings"]["edges"][:1]


async def test_a_hash_that_is_not_the_documents_is_refused_and_nothing_is_kept(
    settings: Settings,
) -> None:
    other = "{ __typename }"
    async with gateway(settings) as client:
        status, body = await client.post({"query": other, "extensions": apq(PAGE)})
        _, later = await client.post({"extensions": apq(PAGE), "variables": {"first": 1}})
    assert status == 400
    assert codes(body) == ["PERSISTED_QUERY_HASH_MISMATCH"]
    assert "data" not in body or body["data"] is None
    assert codes(later) == ["PERSISTED_QUERY_NOT_FOUND"]  # the wrong pair was not registered


@pytest.mark.parametrize(
    "extensions",
    [
        apq(PAGE, version=2),
        {"persistedQuery": {"version": 1, "sha256Hash": "not-a-hash"}},
        {"persistedQuery": {"version": 1}},
        {"persistedQuery": "yes"},
    ],
)
async def test_a_malformed_persisted_query_is_a_clear_400(
    settings: Settings, extensions: dict[str, Any]
) -> None:
    async with gateway(settings) as client:
        status, body = await client.post({"query": PAGE, "extensions": extensions})
    assert status == 400
    assert codes(body) == ["PERSISTED_QUERY_INVALID"]


async def test_documents_that_fail_or_are_too_long_run_but_are_not_kept(
    settings: Settings,
) -> None:
    invalid = "{ nothingHere }"
    padded = "# " + "x" * 100 + "\n{ __typename }"
    small = with_changes(settings, persisted=PersistedSettings(max_document_bytes=100))
    async with gateway(small) as client:
        _, failed = await client.post({"query": invalid, "extensions": apq(invalid)})
        _, long = await client.post({"query": padded, "extensions": apq(padded)})
        _, short = await client.post(
            {"query": "{ __typename }", "extensions": apq("{ __typename }")}
        )
        later = [await client.post({"extensions": apq(d)}) for d in (invalid, padded)]
        _, kept = await client.post({"extensions": apq("{ __typename }")})

    assert codes(failed) == ["GRAPHQL_VALIDATION_FAILED"]
    assert long["data"] == short["data"] == {"__typename": "Query"}
    assert [codes(body) for _, body in later] == [["PERSISTED_QUERY_NOT_FOUND"]] * 2
    assert kept["data"] == {"__typename": "Query"}


async def test_a_hash_only_request_hits_the_parse_and_validation_caches(
    settings: Settings, simulators: Simulators
) -> None:
    parsed: Any = _get_parse_cache(CACHE_SIZE)
    document = PAGE + "\n# hash-only cache test"  # a text no other test parsed
    async with gateway(settings) as client:
        await client.post(
            {"query": document, "extensions": apq(document), "variables": {"first": 1}}
        )
        parses = parsed.cache_info()
        validations, hits = VALID_SHAPES.validations, VALID_SHAPES.hits
        for first in (2, 3):  # other variables: not whole-response cache hits
            _, body = await client.post(
                {"extensions": apq(document), "variables": {"first": first}}
            )
            assert len(body["data"]["meetings"]["edges"]) == first
    assert parsed.cache_info().misses == parses.misses
    assert parsed.cache_info().hits == parses.hits + 2
    assert VALID_SHAPES.validations == validations
    assert VALID_SHAPES.hits == hits + 2


# --- the whole-response cache ----------------------------------------------------------------


async def test_hash_only_answers_are_kept_whole_by_document_and_variables(
    settings: Settings, simulators: Simulators
) -> None:
    async with gateway(settings) as client:
        _, missing = await client.post({"extensions": apq(PAGE), "variables": {"first": 2}})
        _, missing_again = await client.post({"extensions": apq(PAGE), "variables": {"first": 2}})
        await client.post({"query": PAGE, "extensions": apq(PAGE), "variables": {"first": 2}})
        _, first = await client.post({"extensions": apq(PAGE), "variables": {"first": 2}})
        _, again = await client.post({"extensions": apq(PAGE), "variables": {"first": 2}})
        _, other = await client.post({"extensions": apq(PAGE), "variables": {"first": 1}})

    # PersistedQueryNotFound is never kept, so never served once the document is known.
    assert codes(missing) == codes(missing_again) == ["PERSISTED_QUERY_NOT_FOUND"]
    assert first["extensions"]["responseCache"] == {"hit": False}
    assert again["extensions"]["responseCache"] == {"hit": True}
    assert again["data"] == first["data"]
    assert other["extensions"]["responseCache"] == {"hit": False}
    assert len(other["data"]["meetings"]["edges"]) == 1


# --- GET --------------------------------------------------------------------------------------


async def test_persisted_queries_run_over_get(settings: Settings, simulators: Simulators) -> None:
    params = {"extensions": apq(PAGE), "variables": {"first": 2}, "operationName": "Page"}
    async with gateway(settings) as client:
        _, posted = await client.post({"query": PAGE, "extensions": apq(PAGE), **params})
        status, text = await client.get(params)  # Apollo Client sends application/json
        preflighted = await client.get(params, {"Apollo-Require-Preflight": "true"})
        named = await client.get(params, {"X-Apollo-Operation-Name": "Page"})
    assert status == 200
    assert json.loads(text)["data"] == posted["data"]
    for status, text in (preflighted, named):
        assert status == 200
        assert json.loads(text)["data"] == posted["data"]


@pytest.mark.parametrize(
    ("params", "headers", "says"),
    [
        # Any page could send these (no preflight): refused, as Apollo Server does (CSRF).
        ({"extensions": apq(PAGE)}, {}, "CSRF"),
        ({"extensions": apq(PAGE)}, {"Content-Type": "text/plain"}, "CSRF"),
        ({"extensions": apq(PAGE)}, {"Apollo-Require-Preflight": ""}, "CSRF"),
        # A document itself is POSTed.
        ({"query": "{ __typename }"}, JSON, "persisted queries only"),
    ],
)
async def test_other_gets_are_refused(
    settings: Settings, params: dict[str, Any], headers: dict[str, str], says: str
) -> None:
    async with gateway(settings) as client:
        await client.post({"query": PAGE, "extensions": apq(PAGE), "variables": {"first": 1}})
        status, text = await client.get({**params, "variables": {"first": 1}}, headers)
    assert status == 400
    assert says in text


async def test_a_mutation_never_runs_over_get(tmp_path: Path, settings: Settings) -> None:
    mutation = "mutation M { __typename }"
    manifest = tmp_path / "documents.json"
    manifest.write_text(json.dumps({sha(mutation): mutation}))
    known = with_changes(settings, persisted=PersistedSettings(documents=manifest))
    async with gateway(known) as client:
        status, text = await client.get({"extensions": apq(mutation)})
    assert status == 400
    assert "mutations are not allowed when using GET" in text


async def test_a_get_naming_a_document_is_no_graphiql_request(settings: Settings) -> None:
    async with gateway(settings) as client:
        await client.post({"query": PAGE, "extensions": apq(PAGE), "variables": {"first": 1}})
        # A browser's fetch accepts */*: still an operation, not the GraphiQL page.
        headers = {**JSON, "Accept": "*/*"}
        status, text = await client.get(
            {"extensions": apq(PAGE), "variables": {"first": 1}}, headers
        )
    assert status == 200
    assert len(json.loads(text)["data"]["meetings"]["edges"]) == 1


# --- Redis --------------------------------------------------------------------------------------


async def test_replicas_sharing_redis_share_registered_documents(
    settings: Settings, simulators: Simulators, redis_url: str
) -> None:
    shared = with_changes(
        settings,
        cache=CacheSettings(url=redis_url, responses=False),
        persisted=PersistedSettings(ttl=600),
    )
    payload = {"extensions": apq(PAGE), "variables": {"first": 2}}
    async with gateway(shared) as one, gateway(shared) as other:
        _, before = await other.post(payload)
        _, registered = await one.post({"query": PAGE, **payload})
        _, by_hash = await other.post(payload)

    assert codes(before) == ["PERSISTED_QUERY_NOT_FOUND"]
    assert by_hash["data"] == registered["data"]
    assert len(by_hash["data"]["meetings"]["edges"]) == 2
    redis = Redis.from_url(redis_url)
    try:
        key = f"mg:v1:apq:{sha(PAGE)}"
        assert await redis.keys("mg:v1:apq:*") == [key.encode()]
        assert await redis.get(key) == PAGE.encode()
        assert 590 < await redis.ttl(key) <= 600  # bounded: it expires
    finally:
        await redis.aclose()


# --- the allow-list -----------------------------------------------------------------------------


def apollo_manifest(path: Path, *documents: str) -> Path:
    operations = [{"id": sha(d), "body": d, "name": "Op", "type": "query"} for d in documents]
    path.write_text(
        json.dumps(
            {"format": "apollo-persisted-query-manifest", "version": 1, "operations": operations}
        )
    )
    return path


async def test_only_listed_documents_run_in_allow_list_mode(
    tmp_path: Path, settings: Settings, simulators: Simulators
) -> None:
    manifest = apollo_manifest(tmp_path / "manifest.json", PAGE)
    only = with_changes(settings, persisted=PersistedSettings(documents=manifest, only=True))
    other = "{ __typename }"
    async with gateway(only) as client:
        _, by_hash = await client.post({"extensions": apq(PAGE), "variables": {"first": 2}})
        _, listed_text = await client.post({"query": PAGE, "variables": {"first": 2}})
        unknown_hash = await client.post({"extensions": apq(other)})
        unlisted = await client.post({"query": other})
        registering = await client.post({"query": other, "extensions": apq(other)})
        still_unknown = await client.post({"extensions": apq(other)})

    assert len(by_hash["data"]["meetings"]["edges"]) == 2
    assert listed_text["data"] == by_hash["data"]
    assert unknown_hash[0] == 200
    assert codes(unknown_hash[1]) == ["PERSISTED_QUERY_NOT_FOUND"]
    for status, body in (unlisted, registering):
        assert status == 403
        assert codes(body) == ["PERSISTED_QUERY_NOT_IN_LIST"]
    assert codes(still_unknown[1]) == ["PERSISTED_QUERY_NOT_FOUND"]  # nothing registers


async def test_a_manifest_is_hash_to_document_too(tmp_path: Path, settings: Settings) -> None:
    document = "query Name { __typename }"
    manifest = tmp_path / "documents.json"
    manifest.write_text(json.dumps({sha(document).upper(): document}))
    known = with_changes(settings, persisted=PersistedSettings(documents=manifest))
    async with gateway(known) as client:
        _, body = await client.post({"extensions": apq(document)})
    assert body["data"] == {"__typename": "Query"}


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("{not json", "cannot read it as JSON"),
        ("[]", "must be a JSON object"),
        (json.dumps({"0" * 64: "{ __typename }"}), "is not its body's SHA-256"),
        (json.dumps({"format": "apollo-persisted-query-manifest", "operations": 3}), "operations"),
        (json.dumps({sha("{ a }"): 7}), "strings"),
    ],
)
def test_a_bad_manifest_stops_the_app_with_a_clear_error(
    tmp_path: Path, settings: Settings, content: str, says: str
) -> None:
    manifest = tmp_path / "documents.json"
    manifest.write_text(content)
    with pytest.raises(ValueError, match=says):
        create_app(with_changes(settings, persisted=PersistedSettings(documents=manifest)))


def test_allow_list_mode_needs_its_documents() -> None:
    with pytest.raises(ValueError, match="`only` needs `documents`"):
        Settings.model_validate({"persisted": {"only": True}})


# --- with client authentication ------------------------------------------------------------------


async def test_a_get_by_hash_is_no_graphiql_page_to_the_gate(settings: Settings) -> None:
    key = "mg_test_persisted_get"
    auth = AuthSettings(api_keys=[hashlib.sha256(key.encode()).hexdigest()])
    params = {"extensions": apq("{ __typename }")}
    browser_like = {**JSON, "Accept": "*/*"}  # what the gate lets through for GraphiQL's page
    async with gateway(with_changes(settings, auth=auth)) as client:
        await client.http.post(
            client.url,
            json={"query": "{ __typename }", **params},
            headers={"Authorization": f"Bearer {key}"},
        )
        anonymous = await client.get(params, browser_like)
        async with client.http.get(
            client.url,
            params={"extensions": json.dumps(params["extensions"])},
            headers={**browser_like, "Authorization": f"Bearer {key}"},
        ) as response:
            assert response.status == 200
            assert (await response.json())["data"] == {"__typename": "Query"}
            assert response.headers["Cache-Control"].startswith("private, ")
    assert anonymous[0] == 401
    assert json.loads(anonymous[1])["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
