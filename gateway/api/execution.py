"""An executor that completes plain data in one pass.

graphql-core resolves every field alike: a path, a resolve-info object, strawberry's
resolver wrappers, an awaitable check, then completion by type, about a dozen calls for
what is one `getattr` on our immutable records. A merged page asks hundreds of such
fields. So `execute_fields` here completes *plain* fields itself — attributes, or
synchronous functions of the parent value alone (`root`, no arguments, no info), whose
whole selection below is plain too (scalars, enums, objects and lists of them) — and hands
the rest (resolvers that take arguments or info or await, anything abstract or deferred)
to graphql-core. A plain value that would be an error (a null where the schema says non-null,
a value its scalar refuses) is handed over as well, so graphql-core's own rules produce the
error, its path and the nulls around it; plain completion has no side effects, so doing it
again there changes nothing.
"""

from __future__ import annotations

import inspect
import operator
import weakref
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final, NamedTuple, cast

from graphql import (
    GraphQLEnumType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    GraphQLScalarType,
    Undefined,
    get_nullable_type,
)
from graphql.execution.collect_fields import FieldDetailsList, GroupedFieldSet
from graphql.pyutils import Path
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.types.field import StrawberryField

DEFINITION = "strawberry-definition"  # where strawberry keeps its field on graphql-core's
TYPENAME = "__typename"


class _Failed:
    """A plain completion that would be an error: graphql-core completes it instead."""


FAILED: Final = _Failed()


class PlainField(NamedTuple):
    read: Callable[[Any], Any]  # the field's value for its parent value
    type: GraphQLOutputType
    coerce: Callable[[Any], Any] | None  # a scalar's or enum's, the common case made short


_plain_fields: weakref.WeakKeyDictionary[GraphQLObjectType, Mapping[str, PlainField]] = (
    weakref.WeakKeyDictionary()
)


def plain_fields(object_type: GraphQLObjectType) -> Mapping[str, PlainField]:
    """The fields of `object_type` whose value is a function of the parent value alone."""
    found = _plain_fields.get(object_type)
    if found is None:
        found = _plain_fields[object_type] = {
            name: PlainField(read, field.type, _coerce(field.type))
            for name, field in object_type.fields.items()
            if isinstance(definition := (field.extensions or {}).get(DEFINITION), StrawberryField)
            and not definition.extensions
            and not field.args
            and (read := _reader(definition)) is not None
        }
    return found


def _reader(definition: StrawberryField) -> Callable[[Any], Any] | None:
    """How strawberry gets the field's value from its parent value, when that is all it
    takes: an attribute (no resolver), or a synchronous resolver whose one parameter is the
    parent value (`root`, `self` or `parent`), which strawberry calls with it alone."""
    resolver = definition.base_resolver
    if resolver is None:
        return operator.attrgetter(definition.python_name)
    parameters = list(resolver.signature.parameters.values())
    parent = resolver.root_parameter or resolver.self_parameter or resolver.parent_parameter
    if (
        resolver.is_async
        or len(parameters) != 1
        or parameters[0] is not parent
        or parameters[0].kind is inspect.Parameter.KEYWORD_ONLY
    ):
        return None
    return cast(Callable[[Any], Any], resolver.wrapped_func)


def _coerce(type_: GraphQLOutputType) -> Callable[[Any], Any] | None:
    leaf = get_nullable_type(type_)
    return (
        leaf.coerce_output_value if isinstance(leaf, GraphQLScalarType | GraphQLEnumType) else None
    )


class GatewayExecutor(StrawberryGraphQLCoreExecutionContext):
    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: GroupedFieldSet,
        position_context: Any,
    ) -> Any:
        fields = plain_fields(parent_type)
        done: dict[str, Any] = {}
        rest: GroupedFieldSet = {}
        for response_name, details in grouped_field_set.items():
            name = details[0].node.name.value
            plain = fields.get(name)
            if plain is not None:
                value = self._read(plain, source_value, details)
            elif name == TYPENAME:
                value = parent_type.name
            else:
                value = FAILED
            if value is FAILED:
                rest[response_name] = details
            else:
                done[response_name] = value
        if not rest:
            return done
        others = super().execute_fields(parent_type, source_value, path, rest, position_context)
        if not done:
            return others
        if isinstance(others, dict):
            return _in_order(grouped_field_set, done, others)
        return _in_order_later(grouped_field_set, done, others)

    def _read(self, field: PlainField, source: Any, details: FieldDetailsList) -> Any:
        try:
            value = field.read(source)
        except Exception:
            return FAILED  # graphql-core calls it again and reports the error
        if field.coerce is None or value is None:
            return self._complete(field.type, value, details)
        try:
            coerced = field.coerce(value)
        except Exception:
            return FAILED
        return FAILED if coerced is None or coerced is Undefined else coerced

    def _complete(self, type_: GraphQLOutputType, value: Any, details: FieldDetailsList) -> Any:
        """`value` completed as `type_` requires, or FAILED."""
        if isinstance(type_, GraphQLNonNull):
            if value is None:
                return FAILED
            type_ = type_.of_type
        elif value is None:
            return None
        if isinstance(type_, GraphQLScalarType | GraphQLEnumType):
            try:
                coerced = type_.coerce_output_value(value)
            except Exception:
                return FAILED
            return FAILED if coerced is None or coerced is Undefined else coerced
        if isinstance(type_, GraphQLList):
            if not isinstance(value, list | tuple):
                return FAILED
            items = [self._complete(type_.of_type, item, details) for item in value]
            return FAILED if any(item is FAILED for item in items) else items
        if isinstance(type_, GraphQLObjectType):
            return self._complete_object(type_, value, details)
        return FAILED  # interfaces and unions: graphql-core resolves their type

    def _complete_object(
        self, type_: GraphQLObjectType, value: Any, details: FieldDetailsList
    ) -> Any:
        no_info = cast("GraphQLResolveInfo[Any]", None)  # strawberry's check reads only the value
        if type_.is_type_of is not None and type_.is_type_of(value, no_info) is not True:
            return FAILED
        selected = self.collect_subfields(type_, details)  # memoized per selection
        if selected.new_defer_usages:
            return FAILED
        fields = plain_fields(type_)
        completed: dict[str, Any] = {}
        for response_name, sub_details in selected.grouped_field_set.items():
            name = sub_details[0].node.name.value
            if name == TYPENAME:
                completed[response_name] = type_.name
                continue
            plain = fields.get(name)
            if plain is None:
                return FAILED
            sub_value = self._read(plain, value, sub_details)
            if sub_value is FAILED:
                return FAILED
            completed[response_name] = sub_value
        return completed


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
