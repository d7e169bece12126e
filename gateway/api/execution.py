"""An executor that completes plain scalar and enum attributes in one step.

graphql-core resolves every field alike: a path, a resolve-info object, strawberry's
resolver wrappers, an awaitable check and a leaf coercion, about a dozen calls for what is
one `getattr` on our immutable records. A merged page asks hundreds of such fields, so
`execute_fields` here reads them directly and hands only the rest (resolvers, objects,
lists, `__typename`, anything that would be an error) to graphql-core, whose rules then
apply to them unchanged.
"""

from __future__ import annotations

import weakref
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, NamedTuple

from graphql import (
    GraphQLEnumType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    Undefined,
    get_nullable_type,
)
from graphql.execution.collect_fields import GroupedFieldSet
from graphql.pyutils import Path
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.types.field import StrawberryField

DEFINITION = "strawberry-definition"  # where strawberry keeps its field on graphql-core's


class PlainLeaf(NamedTuple):
    attribute: str
    coerce: Callable[[Any], Any]
    non_null: bool


_plain_leaves: weakref.WeakKeyDictionary[GraphQLObjectType, Mapping[str, PlainLeaf]] = (
    weakref.WeakKeyDictionary()
)


def plain_leaves(object_type: GraphQLObjectType) -> Mapping[str, PlainLeaf]:
    """The fields of `object_type` that are a scalar or enum attribute read as it is."""
    found = _plain_leaves.get(object_type)
    if found is None:
        found = _plain_leaves[object_type] = dict(_find_plain_leaves(object_type))
    return found


def _find_plain_leaves(object_type: GraphQLObjectType) -> list[tuple[str, PlainLeaf]]:
    leaves = []
    for name, field in object_type.fields.items():
        definition = (field.extensions or {}).get(DEFINITION)
        leaf_type = get_nullable_type(field.type)
        if (
            isinstance(definition, StrawberryField)
            and definition.is_basic_field  # no resolver: strawberry would `getattr`
            and not definition.extensions
            and not field.args
            and isinstance(leaf_type, GraphQLScalarType | GraphQLEnumType)
        ):
            leaf = PlainLeaf(
                definition.python_name,
                leaf_type.coerce_output_value,
                isinstance(field.type, GraphQLNonNull),
            )
            leaves.append((name, leaf))
    return leaves


class GatewayExecutor(StrawberryGraphQLCoreExecutionContext):
    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: GroupedFieldSet,
        position_context: Any,
    ) -> Any:
        leaves = plain_leaves(parent_type)
        if not leaves:
            return super().execute_fields(
                parent_type, source_value, path, grouped_field_set, position_context
            )
        done: dict[str, Any] = {}
        rest: GroupedFieldSet = {}
        for response_name, details in grouped_field_set.items():
            leaf = leaves.get(details[0].node.name.value)
            if leaf is None or not _complete(leaf, source_value, response_name, done):
                rest[response_name] = details
        if not rest:
            return done
        others = super().execute_fields(parent_type, source_value, path, rest, position_context)
        if isinstance(others, dict):
            return _in_order(grouped_field_set, done, others)
        return _in_order_later(grouped_field_set, done, others)


def _complete(leaf: PlainLeaf, source: Any, response_name: str, done: dict[str, Any]) -> bool:
    """Completes one plain leaf into `done`; False leaves it to graphql-core (its errors)."""
    value = getattr(source, leaf.attribute, Undefined)
    if value is None:
        if leaf.non_null:
            return False
        done[response_name] = None
        return True
    if value is Undefined:
        return False
    try:
        coerced = leaf.coerce(value)
    except Exception:  # graphql-core reports it, with the field's path
        return False
    if coerced is None or coerced is Undefined:
        return False
    done[response_name] = coerced
    return True


def _in_order(
    grouped_field_set: GroupedFieldSet, done: dict[str, Any], others: dict[str, Any]
) -> dict[str, Any]:
    # Responses keep the order of the selection (spec: "ordered map").
    return {
        name: done[name] if name in done else others[name]
        for name in grouped_field_set
        if name in done or name in others
    }


async def _in_order_later(
    grouped_field_set: GroupedFieldSet, done: dict[str, Any], others: Awaitable[dict[str, Any]]
) -> dict[str, Any]:
    return _in_order(grouped_field_set, done, await others)
