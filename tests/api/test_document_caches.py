"""A document is parsed and validated once per process, whatever its variables."""

from __future__ import annotations

from typing import Any

from strawberry.extensions.parser_cache import _get_parse_cache
from strawberry.extensions.validation_cache import _get_validate_cache

from gateway.api.schema import CACHE_SIZE
from tests.conftest import GraphQLClient

QUERY = "query($n: Int!) { meetings(first: $n) { edges { node { id } } } }"


async def test_a_repeated_document_is_neither_parsed_nor_validated_again(
    gql: GraphQLClient,
) -> None:
    await gql(QUERY, {"n": 1})
    # strawberry's module-level LRU caches (typed as plain callables).
    parsed: Any = _get_parse_cache(CACHE_SIZE)
    validated: Any = _get_validate_cache(CACHE_SIZE)
    parses, validations = parsed.cache_info(), validated.cache_info()
    for n in (2, 3, 4):
        body = await gql(QUERY, {"n": n})
        assert len(body["data"]["meetings"]["edges"]) == n
    assert parsed.cache_info().misses == parses.misses
    assert validated.cache_info().misses == validations.misses  # the limit rules are stable
    assert validated.cache_info().hits == validations.hits + 3
