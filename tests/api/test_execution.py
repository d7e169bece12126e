"""The executor's plain completion answers exactly as graphql-core's own would: values,
key order, nulls, errors and their paths."""

from __future__ import annotations

import enum
from typing import Any

import pytest
import strawberry

from gateway.api.execution import GatewayExecutor, plain_fields


@strawberry.enum
class Colour(enum.Enum):
    RED = "red"


@strawberry.type
class Part:
    label: str
    weight: int | None = None


def _initial(root: Item) -> str:
    if root.size == 3:
        raise ValueError("no initial for size 3")
    return root.name[:1]


@strawberry.type
class Item:
    name: str
    nickname: str | None
    colour: Colour
    maybe_colour: Colour | None
    size: int
    tags: list[str] = strawberry.field(default_factory=lambda: ["x", "y"])
    parts: list[Part] = strawberry.field(default_factory=lambda: [Part(label="p", weight=1)])
    best_part: Part | None = None
    spare_parts: list[Part | None] | None = None
    initial: str = strawberry.field(resolver=_initial)  # a function of the parent alone

    @strawberry.field
    def shout(self) -> str:
        return self.name.upper()

    @strawberry.field
    def greeting(self, info: strawberry.Info) -> str:
        return f"{info.field_name} {self.name}"

    @strawberry.field
    def repeated(self, times: int = 2) -> str:
        return self.name * times

    @strawberry.field
    async def later(self) -> str:
        return self.name + "!"


def items() -> list[Any]:
    good = Item(name="a", nickname=None, colour=Colour.RED, maybe_colour=None, size=1)
    # Values a model should never hold: graphql-core's own errors must come out.
    no_name = Item(name=None, nickname="n", colour=Colour.RED, maybe_colour=None, size=2)  # type: ignore[arg-type]
    bad_enum = Item(name="c", nickname=None, colour="blue", maybe_colour="blue", size=3)  # type: ignore[arg-type]
    bad_int = Item(name="d", nickname=None, colour=Colour.RED, maybe_colour=None, size="x")  # type: ignore[arg-type]
    nested = Item(
        name="e",
        nickname=None,
        colour=Colour.RED,
        maybe_colour=None,
        size=5,
        best_part=Part(label="best"),
        spare_parts=[Part(label="s1", weight=2), None],
    )
    bad_part = Item(
        name="f",
        nickname=None,
        colour=Colour.RED,
        maybe_colour=None,
        size=6,
        parts=[Part(label="ok"), Part(label=None)],  # type: ignore[arg-type]
        best_part=Part(label=None),  # type: ignore[arg-type]
        spare_parts=[Part(label=None)],  # type: ignore[arg-type]
    )
    return [good, no_name, bad_enum, bad_int, nested, bad_part]


@strawberry.type
class Query:
    @strawberry.field
    def items(self) -> list[Item | None]:
        return items()

    @strawberry.field
    def strict_items(self) -> list[Item]:
        return items()[:2]


def schemas() -> tuple[strawberry.Schema, strawberry.Schema]:
    return strawberry.Schema(Query), strawberry.Schema(
        Query, execution_context_class=GatewayExecutor
    )


QUERIES = [
    "{ items { name tags parts { label weight } bestPart { label } spareParts { weight } } }",
    "{ items { size bestPart { weight } } }",
    "{ items { size spareParts { label __typename } parts { ... on Part { w: weight } } } }",
    "{ items { size parts { label } } strictItems { parts { weight label } } }",
    "{ items { name nickname colour maybeColour size } }",
    "{ items { size later shout __typename n: name name } }",
    "query($no: Boolean!) { items { name @include(if: $no) nickname @skip(if: $no) size } }",
    "{ items { ... on Item { colour } name ...F } } fragment F on Item { size maybeColour }",
    "{ strictItems { name size } }",
    "{ items { size } strictItems { size nickname } }",
    "{ items { size shout initial } }",
    "{ items { initial greeting repeated(times: 3) size } strictItems { initial shout } }",
]


@pytest.mark.parametrize("query", QUERIES)
async def test_answers_as_graphql_core_does(query: str) -> None:
    plain, fast = schemas()
    expected = await plain.execute(query, variable_values={"no": False})
    answer = await fast.execute(query, variable_values={"no": False})
    assert answer.data == expected.data
    assert list(_keys(answer.data)) == list(_keys(expected.data))  # the selection's order
    assert [(e.message, e.path) for e in answer.errors or ()] == [
        (e.message, e.path) for e in expected.errors or ()
    ]


async def test_errors_do_come_out() -> None:
    _, fast = schemas()
    answer = await fast.execute("{ items { name colour size } }")
    good = {"name": "a", "colour": "RED", "size": 1}
    assert answer.data == {"items": [good, None, None, None, {**good, "name": "e", "size": 5},
                                     {**good, "name": "f", "size": 6}]}  # fmt: skip
    assert sorted(str(e.path) for e in answer.errors or ()) == [
        "['items', 1, 'name']",
        "['items', 2, 'colour']",
        "['items', 3, 'size']",
    ]


def test_attributes_and_functions_of_the_parent_alone_are_plain() -> None:
    _, fast = schemas()
    item_type = fast._schema.get_type("Item")
    assert set(plain_fields(item_type)) == {  # type: ignore[arg-type]
        "initial",
        "shout",
        "name",
        "nickname",
        "colour",
        "maybeColour",
        "size",
        "tags",
        "parts",
        "bestPart",
        "spareParts",
    }


def _keys(data: Any) -> Any:
    """Every key of a JSON value, depth first, in order."""
    if isinstance(data, dict):
        for key, value in data.items():
            yield key
            yield from _keys(value)
    elif isinstance(data, list):
        for value in data:
            yield from _keys(value)
