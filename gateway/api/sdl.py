"""The two SDLs the schema is published as: one for clients, one for a supergraph.

- The client SDL (`schema.graphql`, what codegen and GraphiQL users read): what a client can
  reach from `Query`, without federation's internals (`_entities`, `_service`, `_Any`,
  `_Entity`, the `@link`/`@key`/`@shareable` machinery).
- The subgraph SDL (`subgraph.graphql`, and `_service { sdl }` for routers): the federation
  schema a supergraph composes, without those internals either (as Apollo's own subgraph
  libraries print it) and without `Query.node`: in a supergraph `node` belongs to one
  subgraph, since a field several subgraphs define must resolve every id in each of them.
"""

from __future__ import annotations

import dataclasses

import strawberry
from graphql import (
    DefinitionNode,
    GraphQLObjectType,
    GraphQLSchema,
    ObjectTypeDefinitionNode,
    TypeDefinitionNode,
    is_specified_scalar_type,
    parse,
    print_ast,
    print_type,
)
from strawberry.printer import print_schema as print_federation_schema

FEDERATION_FIELDS = frozenset({"_entities", "_service"})
FEDERATION_TYPES = frozenset({"_Any", "_Entity", "_Service"})
SUBGRAPH_HIDDEN_FIELDS = FEDERATION_FIELDS | {"node"}


def client_sdl(schema: strawberry.Schema) -> str:
    """The schema as clients see it, types in name order."""
    full = schema._schema
    query = full.query_type
    assert query is not None
    fields = {name: f for name, f in query.fields.items() if name not in FEDERATION_FIELDS}
    # Only what `Query` reaches: `_Any`, `_Entity`, `_Service` and `@link`'s types are not.
    client = GraphQLSchema(
        query=GraphQLObjectType(query.name, fields, description=query.description)
    )
    types = sorted(
        (t for name, t in client.type_map.items() if not name.startswith("__")),
        key=lambda t: t.name,
    )
    return "\n\n".join(print_type(t) for t in types if not is_specified_scalar_type(t))


def subgraph_sdl(schema: strawberry.Schema) -> str:
    """The federation schema a supergraph composes (what `_service { sdl }` answers)."""
    document = parse(print_federation_schema(schema))
    definitions: list[DefinitionNode] = []
    for definition in document.definitions:
        name = definition.name.value if isinstance(definition, TypeDefinitionNode) else None
        if name in FEDERATION_TYPES:
            continue
        if isinstance(definition, ObjectTypeDefinitionNode) and name == "Query":
            fields = definition.fields or ()
            kept = tuple(f for f in fields if f.name.value not in SUBGRAPH_HIDDEN_FIELDS)
            definitions.append(dataclasses.replace(definition, fields=kept))
        else:
            definitions.append(definition)
    return print_ast(dataclasses.replace(document, definitions=tuple(definitions)))
