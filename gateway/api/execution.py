"""An executor that completes plain data in one pass.

graphql-core resolves every field alike: a path, a resolve-info object, strawberry's
resolver wrappers, an awaitable check, then completion by type, about a dozen calls for
what is one `getattr` on our immutable records. A merged page asks hundreds of such
fields. So `execute_fields` here completes *plain* fields itself — attributes, or
synchronous functions of the parent value alone (`root`, no arguments, no info), whose
whole selection below is plain too (scalars, enums, objects and lists of them) — and hands
the rest (resolvers that take arguments or info or await, anything abstract or deferred)
to graphql-core.

Each plain field's completion is built once per request and selection (a closure per
field and type, as graphql-core memoizes selections), so completing a page of meetings
walks no type checks. A plain value that would be an error (a null where the schema says
non-null, a value its scalar refuses) is handed over as well, so graphql-core's own rules
produce the error, its path and the nulls around it; plain completion has no side
effects, so doing it again there changes nothing.
"""

from __future__ import annotations

import inspect
import operator
import weakref
from collections.abc import Awaitable, Callable, Mapping
from enum import Enum
from typing import Any, Final, NamedTuple, cast

from graphql import (
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLID,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    GraphQLScalarType,
    GraphQLString,
    Undefined,
)
from graphql.execution.collect_fields import FieldDetailsList, GroupedFieldSet
from graphql.pyutils import Path
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import CustomGraphQLEnumType
from strawberry.types.field import StrawberryField

DEFINITION = "strawberry-definition"  # where strawberry keeps its field on graphql-core's
TYPENAME = "__typename"


class _Failed:
    """A plain completion that would be an error: graphql-core completes it instead."""


FAILED: Final = _Failed()
NO_INFO: Final = cast("GraphQLResolveInfo[Any]", None)  # strawberry's is_type_of reads the value

Complete = Callable[[Any], Any]  # a value → its completed form, or FAILED


class PlainField(NamedTuple):
    read: Callable[[Any], Any]  # the field's value for its parent value
    type: GraphQLOutputType


_plain_fields: weakref.WeakKeyDictionary[GraphQLObjectType, Mapping[str, PlainField]] = (
    weakref.WeakKeyDictionary()
)


def plain_fields(object_type: GraphQLObjectType) -> Mapping[str, PlainField]:
    """The fields of `object_type` whose value is a function of the parent value alone."""
    found = _plain_fields.get(object_type)
    if found is None:
        found = _plain_fields[object_type] = {
            name: PlainField(read, field.type)
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


class GatewayExecutor(StrawberryGraphQLCoreExecutionContext):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # This request's field completions, by parent type and the identity of the field's
        # details (kept alive with it, so that identity cannot be reused meanwhile).
        self._completions: dict[tuple[GraphQLObjectType, int], tuple[object, Complete | None]]
        self._completions = {}

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: GroupedFieldSet,
        position_context: Any,
    ) -> Any:
        done: dict[str, Any] = {}
        rest: GroupedFieldSet = {}
        for response_name, details in grouped_field_set.items():
            complete = self._field(parent_type, details)
            value = FAILED if complete is None else complete(source_value)
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

    def _field(self, parent_type: GraphQLObjectType, details: FieldDetailsList) -> Complete | None:
        """The completion of one field from its parent value; None when it is not plain."""
        key = (parent_type, id(details))
        found = self._completions.get(key)
        if found is None:
            found = self._completions[key] = (details, self._new_field(parent_type, details))
        return found[1]

    def _new_field(
        self, parent_type: GraphQLObjectType, details: FieldDetailsList
    ) -> Complete | None:
        name = details[0].node.name.value
        if name == TYPENAME:
            type_name = parent_type.name
            return lambda _: type_name
        field = plain_fields(parent_type).get(name)
        complete = None if field is None else self._value(field.type, details)
        if field is None or complete is None:
            return None
        read = field.read

        def complete_field(parent: Any) -> Any:
            try:
                value = read(parent)
            except Exception:
                return FAILED  # graphql-core calls it again and reports the error
            return complete(value)

        return complete_field

    def _value(self, type_: GraphQLOutputType, details: FieldDetailsList) -> Complete | None:
        """The completion of a value of `type_` with this selection; None if not plain."""
        null: Any = None
        if isinstance(type_, GraphQLNonNull):
            null, type_ = FAILED, type_.of_type
        if isinstance(type_, GraphQLScalarType | GraphQLEnumType):
            return _leaf(_output_coercion(type_), null)
        if isinstance(type_, GraphQLList):
            item = self._value(type_.of_type, details)
            return None if item is None else _list(item, null)
        if isinstance(type_, GraphQLObjectType):
            return self._object(type_, details, null)
        return None  # interfaces and unions: graphql-core resolves their type

    def _object(
        self, type_: GraphQLObjectType, details: FieldDetailsList, null: Any
    ) -> Complete | None:
        selected = self.collect_subfields(type_, details)  # memoized per selection
        if selected.new_defer_usages:
            return None
        fields: list[tuple[str, Complete]] = []
        for response_name, sub_details in selected.grouped_field_set.items():
            complete = self._field(type_, sub_details)
            if complete is None:
                return None
            fields.append((response_name, complete))
        is_type_of = type_.is_type_of

        def complete_object(value: Any) -> Any:
            if value is None:
                return null
            if is_type_of is not None and is_type_of(value, NO_INFO) is not True:
                return FAILED
            completed = {}
            for response_name, complete in fields:
                field_value = complete(value)
                if field_value is FAILED:
                    return FAILED
                completed[response_name] = field_value
            return completed

        return complete_object


def _leaf(coerce: Complete, null: Any) -> Complete:
    def complete_leaf(value: Any) -> Any:
        if value is None:
            return null
        try:
            coerced = coerce(value)
        except Exception:
            return FAILED
        return FAILED if coerced is None or coerced is Undefined else coerced

    return complete_leaf


def _list(item: Complete, null: Any) -> Complete:
    def complete_list(value: Any) -> Any:
        if value is None:
            return null
        if not isinstance(value, list | tuple):
            return FAILED
        items = [item(element) for element in value]
        return FAILED if any(element is FAILED for element in items) else items

    return complete_list


_coercions: weakref.WeakKeyDictionary[GraphQLScalarType | GraphQLEnumType, Complete] = (
    weakref.WeakKeyDictionary()
)


def _output_coercion(type_: GraphQLScalarType | GraphQLEnumType) -> Complete:
    found = _coercions.get(type_)
    if found is None:
        found = _coercions[type_] = _new_output_coercion(type_)
    return found


def _new_output_coercion(type_: GraphQLScalarType | GraphQLEnumType) -> Complete:
    """The type's own output coercion, short-cut for the values it returns unchanged (text,
    booleans) and for strawberry's enums (their GraphQL name, by member name)."""
    coerce = type_.coerce_output_value
    if type_ is GraphQLString or type_ is GraphQLID:
        return lambda value: value if type(value) is str else coerce(value)
    if type_ is GraphQLBoolean:
        return lambda value: value if type(value) is bool else coerce(value)
    if isinstance(type_, CustomGraphQLEnumType):
        members = cast(type[Enum], type_.wrapped_cls)
        names = {
            member.name: name
            for name, graphql_value in type_.values.items()
            for member in members
            if member.value == graphql_value.value
        }
        return lambda value: names[value._name_] if type(value) is members else coerce(value)
    return coerce


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
