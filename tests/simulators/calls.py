"""How a test makes one valid list call to each simulator (URL and auth headers)."""

from __future__ import annotations

from gateway.simulators.cluster import Simulators

# The top-level key each API's list answer documents.
LIST_KEYS = {
    "leezy": "data",
    "nexor": "meetings",
    "meetstream": "scheduled_bots",
    "salesloft": "data",
    "daily": "data",
}


def list_call(simulators: Simulators, name: str) -> tuple[str, dict[str, str]]:
    simulator = simulators.by_name(name)
    key = simulator.api_key
    match name:
        case "nexor":
            lead_id = simulators.dataset.nexor_leads[0]["id"]
            return f"{simulator.base_url}/leads/{lead_id}/meetings", {"X-API-Key": key}
        case "meetstream":
            return f"{simulator.base_url}/calendar/scheduled", {"Authorization": f"Token {key}"}
        case _:
            return f"{simulator.base_url}/meetings", {"Authorization": f"Bearer {key}"}
