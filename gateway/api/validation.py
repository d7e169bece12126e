"""Validation once per document *shape*: documents that differ only in their aliases.

Clients that name their fields by alias (one alias per list row, per widget...) send a new
document text every time, and graphql-core's validation of a page-sized document costs
milliseconds. Whether a document is valid does not depend on what its aliases are called,
only on which fields share a response name: renaming every alias to a distinct marker
keeps that, as long as no alias is also a field name of the document (then the document is
validated as it is). Only valid shapes are kept, so an invalid document is always
validated itself and its errors name its own aliases.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document


class ValidShapes:
    """The shapes of documents found valid, least recently used out first, and the shapes
    of the latest document texts (a repeated document is not walked again)."""

    def __init__(self, max_shapes: int) -> None:
        self._max_shapes = max_shapes
        self._shapes: OrderedDict[object, None] = OrderedDict()
        self._by_text: OrderedDict[str, str | None] = OrderedDict()
        self.hits = 0
        self.validations = 0  # documents validated in full

    def shape_of(self, text: str, document: DocumentNode) -> str | None:
        """`shape(text, document)`, for a `document` parsed from `text`."""
        if text in self._by_text:
            self._by_text.move_to_end(text)
            return self._by_text[text]
        found = self._by_text[text] = shape(text, document)
        if len(self._by_text) > self._max_shapes:
            self._by_text.popitem(last=False)
        return found

    def __contains__(self, shape: object) -> bool:
        if shape in self._shapes:
            self._shapes.move_to_end(shape)
            self.hits += 1
            return True
        return False

    def add(self, shape: object) -> None:
        self._shapes[shape] = None
        if len(self._shapes) > self._max_shapes:
            self._shapes.popitem(last=False)


# Per process, as strawberry's own document caches; a shape is kept with its schema and rules.
VALID_SHAPES = ValidShapes(512)


class ValidationByShape(SchemaExtension):
    """Replaces strawberry's `ValidationCache` (keyed by the document's exact text)."""

    def on_validate(self) -> Iterator[None]:
        context, shapes = self.execution_context, VALID_SHAPES
        document, text, rules = context.graphql_document, context.query, context.validation_rules
        found = None if document is None or text is None else shapes.shape_of(text, document)
        key = None if found is None else (found, context.schema._schema, rules)
        if key is not None and key in shapes:
            context.pre_execution_errors = []  # strawberry then skips its own validation
        elif document is not None:
            shapes.validations += 1
            errors = validate_document(context.schema._schema, document, rules)
            context.pre_execution_errors = errors
            if key is not None and not errors:
                shapes.add(key)
        yield


def shape(text: str, document: DocumentNode) -> str | None:
    """`text` with each alias replaced by a marker of its own (the same alias, the same
    marker); None when an alias is also a field name, or the document has no locations."""
    fields = list(_fields(document))
    names = {field.name.value for field in fields}
    aliases = sorted((f.alias for f in fields if f.alias is not None), key=_start)
    if any(alias.loc is None or alias.value in names for alias in aliases):
        return None
    markers: dict[str, str] = {}
    parts, end = [], 0
    for alias in aliases:
        assert alias.loc is not None
        parts += [text[end : alias.loc.start], markers.setdefault(alias.value, f"\0{len(markers)}")]
        end = alias.loc.end
    return "".join([*parts, text[end:]])


def _start(node: object) -> int:
    loc = getattr(node, "loc", None)
    return -1 if loc is None else int(loc.start)


def _fields(document: DocumentNode) -> Iterator[FieldNode]:
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode | FragmentDefinitionNode):
            yield from _fields_of(definition.selection_set)


def _fields_of(selection_set: SelectionSetNode | None) -> Iterator[FieldNode]:
    for selection in selection_set.selections if selection_set else ():
        if isinstance(selection, FieldNode):
            yield selection
            yield from _fields_of(selection.selection_set)
        elif isinstance(selection, InlineFragmentNode):
            yield from _fields_of(selection.selection_set)
