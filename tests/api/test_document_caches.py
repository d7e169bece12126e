"""A document is parsed and validated once per process, whatever its variables; documents
that differ only in their aliases are validated once."""

from __future__ import annotations

from typing import Any

from graphql import parse
from strawberry.extensions.parser_cache import _get_parse_cache

from gateway.api.schema import CACHE_SIZE
from gateway.api.validation import VALID_SHAPES, ValidShapes
from tests.conftest import GraphQLClient

QUERY = "query($n: Int!) { meetings(first: $n) { edges { node { id } } } }"


async def test_a_repeated_document_is_neither_parsed_nor_validated_again(
    gql: GraphQLClient,
) -> None:
    await gql(QUERY, {"n": 1})
    # strawberry's module-level LRU caches (typed as plain callables).
    parsed: Any = _get_parse_cache(CACHE_SIZE)
    parses, validations, hits = parsed.cache_info(), VALID_SHAPES.validations, VALID_SHAPES.hits
    for n in (2, 3, 4):
        body = await gql(QUERY, {"n": n})
        assert len(body["data"]["meetings"]["edges"]) == n
    assert parsed.cache_info().misses == parses.misses
    assert VALID_SHAPES.validations == validations  # the limit rules are stable
    assert VALID_SHAPES.hits == hits + 3


ALIASED = "{ ALIAS: meetings(first: 1) { edges { node { id t: title } } } }"


async def test_documents_that_differ_only_in_aliases_are_validated_once(
    gql: GraphQLClient,
) -> None:
    await gql(ALIASED.replace("ALIAS", "row0"))
    validations = VALID_SHAPES.validations
    for n in (1, 2, 3):
        body = await gql(ALIASED.replace("ALIAS", f"row{n}"))
        assert len(body["data"][f"row{n}"]["edges"]) == 1
    assert VALID_SHAPES.validations == validations


async def test_an_alias_that_makes_a_conflict_is_still_refused(gql: GraphQLClient) -> None:
    await gql("{ meetings(first: 1) { edges { node { x: status title } } } }")  # valid, kept
    for document in (
        "{ meetings(first: 1) { edges { node { title: status title } } } }",  # alias = a field
        "{ meetings(first: 1) { edges { node { x: status x: title } } } }",  # one alias twice
    ):
        body = await gql(document)
        assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED", document
        assert "conflict" in body["errors"][0]["message"]


def test_a_repeated_text_keeps_its_shape() -> None:
    shapes = ValidShapes(2)
    text = "{ a: meetings { totalCount } }"
    first = shapes.shape_of(text, parse(text))
    assert first == "{ \x000: meetings { totalCount } }"
    # The same text again: its shape is not worked out again (from this document, without
    # aliases, it would be the text itself).
    other = parse("{ meetings { totalCount } }")
    assert shapes.shape_of(text, other) == first
    shapes.shape_of("{ x }", parse("{ x }"))
    shapes.shape_of("{ y }", parse("{ y }"))  # two newer texts: the first is forgotten
    assert shapes.shape_of(text, other) == text
