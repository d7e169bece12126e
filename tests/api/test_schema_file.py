"""The committed SDLs are exactly what the code exports, whatever order modules load in."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from graphql import ObjectTypeDefinitionNode, parse
from graphql import build_schema as build_schema_from_sdl

from gateway.api.schema import build_schema
from gateway.api.sdl import client_sdl, subgraph_sdl

ROOT = Path(__file__).parents[2]
SCHEMA_FILE = ROOT / "schema.graphql"
SUBGRAPH_FILE = ROOT / "subgraph.graphql"
STALE = "is stale: run `make schema`"

# Exports both SDLs after importing the named modules first, in that order.
EXPORT = """
import importlib, sys
for module in sys.argv[1:]:
    importlib.import_module(module)
from gateway.api.schema import build_schema
from gateway.api.sdl import client_sdl, subgraph_sdl
schema = build_schema()
print(client_sdl(schema) + "\\n\\f\\n" + subgraph_sdl(schema))
"""


def test_schema_graphql_equals_the_exported_client_schema() -> None:
    assert SCHEMA_FILE.read_text() == client_sdl(build_schema()) + "\n", f"schema.graphql {STALE}"


def test_subgraph_graphql_equals_the_exported_subgraph_schema() -> None:
    assert SUBGRAPH_FILE.read_text() == subgraph_sdl(build_schema()) + "\n", (
        f"subgraph.graphql {STALE}"
    )


@pytest.mark.parametrize(
    "first",
    [
        ["gateway.api.inputs", "gateway.api.types"],
        ["gateway.api.types", "gateway.api.inputs"],
        ["gateway.api.resolvers"],
        ["gateway.app"],
    ],
    ids="+".join,
)
def test_names_do_not_depend_on_import_order(first: list[str]) -> None:
    exported = subprocess.run(
        [sys.executable, "-c", EXPORT, *first],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    ).stdout
    client, subgraph = exported.split("\n\f\n")
    assert client + "\n" == SCHEMA_FILE.read_text()
    assert subgraph == SUBGRAPH_FILE.read_text()


def query_fields(sdl: str) -> list[str]:
    query = next(
        d
        for d in parse(sdl).definitions
        if isinstance(d, ObjectTypeDefinitionNode) and d.name.value == "Query"
    )
    return [field.name.value for field in query.fields or ()]


ROOT_FIELDS = ["meetings", "meeting", "lead", "leads", "scheduledBots", "sources"]
INTERNALS = ("_entities", "_service", "_Any", "_Entity", "_Service")


def test_the_client_schema_has_no_federation_internals() -> None:
    sdl = SCHEMA_FILE.read_text()
    build_schema_from_sdl(sdl)  # valid on its own: every type and directive it uses is in it
    for internal in (*INTERNALS, "@link", "@key", "@shareable"):
        assert internal not in sdl
    assert query_fields(sdl) == ["node", *ROOT_FIELDS]
    assert "type Meeting implements Node {" in sdl


def test_the_subgraph_schema_declares_entities_and_shares_relay_types() -> None:
    sdl = SUBGRAPH_FILE.read_text()
    for type_name in ("Meeting", "Lead", "ScheduledBot"):
        assert f'type {type_name} implements Node @key(fields: "id")' in sdl
    assert "type PageInfo @shareable" in sdl
    # `Query.node` belongs to one subgraph of a supergraph (README, Federation).
    assert query_fields(sdl) == ROOT_FIELDS
    for internal in INTERNALS:
        assert internal not in sdl
