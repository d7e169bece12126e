"""The committed schema.graphql is exactly what the code exports."""

from __future__ import annotations

from pathlib import Path

from gateway.api.schema import build_schema

SCHEMA_FILE = Path(__file__).parents[2] / "schema.graphql"


def test_schema_graphql_equals_the_exported_schema() -> None:
    exported = build_schema().as_str() + "\n"
    assert SCHEMA_FILE.read_text() == exported, (
        "schema.graphql is stale: run `meetings-gateway export-schema > schema.graphql`"
    )


def test_meeting_lead_and_bot_are_federation_entities() -> None:
    sdl = SCHEMA_FILE.read_text()
    for type_name in ("Meeting", "Lead", "ScheduledBot"):
        assert f'type {type_name} implements Node @key(fields: "id")' in sdl
