"""Every client-facing element of the served schema is described, as GraphiQL shows it."""

from __future__ import annotations

from typing import Any

from tests.conftest import GraphQLClient

INTROSPECTION = """
{
  __schema {
    types {
      name kind description specifiedByURL
      fields { name description args { name description } }
      inputFields { name description }
      enumValues { name description }
    }
  }
}
"""
BUILT_IN_SCALARS = {"String", "Int", "Float", "Boolean", "ID"}
# Federation's machinery, for routers: not in the client SDL (schema.graphql).
FEDERATION_FIELDS = {"_entities", "_service"}


def federation_internal(type_name: str) -> bool:
    return type_name.startswith("_") or type_name.startswith("link__")


def undescribed(types: list[dict[str, Any]]) -> list[str]:
    missing: list[str] = []
    for type_ in types:
        name = type_["name"]
        if federation_internal(name) or name in BUILT_IN_SCALARS:
            continue
        if not type_["description"]:
            missing.append(name)
        for field in type_["fields"] or ():
            if field["name"] in FEDERATION_FIELDS:
                continue
            if not field["description"]:
                missing.append(f"{name}.{field['name']}")
            missing += [
                f"{name}.{field['name']}({arg['name']})"
                for arg in field["args"]
                if not arg["description"]
            ]
        for part in (type_["inputFields"] or []) + (type_["enumValues"] or []):
            if not part["description"]:
                missing.append(f"{name}.{part['name']}")
    return missing


async def test_every_type_field_argument_input_field_and_enum_value_is_described(
    gql: GraphQLClient,
) -> None:
    body = await gql(INTROSPECTION)
    types = body["data"]["__schema"]["types"]
    checked = [t["name"] for t in types if not federation_internal(t["name"])]
    assert {"Meeting", "MeetingFilter", "MeetingSource", "PageInfo", "Query"} <= set(checked)
    assert undescribed(types) == []


async def test_date_time_is_specified_by_rfc_3339(gql: GraphQLClient) -> None:
    body = await gql(INTROSPECTION)
    date_time = next(t for t in body["data"]["__schema"]["types"] if t["name"] == "DateTime")
    assert date_time["specifiedByURL"] == "https://www.rfc-editor.org/rfc/rfc3339"


def test_an_undescribed_element_is_reported() -> None:
    types: list[dict[str, Any]] = [
        {
            "name": "Meeting",
            "description": "A meeting.",
            "fields": [{"name": "title", "description": None, "args": []}],
            "inputFields": None,
            "enumValues": None,
        },
        {
            "name": "OrderDirection",
            "description": None,
            "fields": None,
            "inputFields": None,
            "enumValues": [{"name": "ASC", "description": ""}],
        },
    ]
    assert undescribed(types) == ["Meeting.title", "OrderDirection", "OrderDirection.ASC"]
