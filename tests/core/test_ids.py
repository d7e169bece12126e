"""Node ids and lead keys are read from the text alone, by each source's declared rule."""

from __future__ import annotations

import pytest

from gateway.core.ids import bot_id, lead_key, node_id_parts, split_node_id
from gateway.errors import BadUserInput
from gateway.model import LeadKey, Source

UUID = "2f6f1b7e-8c4d-4e8a-9b1a-0c2d3e4f5a6b"


def test_node_ids_name_their_source() -> None:
    assert node_id_parts("nexor:lead:meeting") == (Source.NEXOR, "lead:meeting")
    assert node_id_parts("zoom:1") == (None, "1")
    assert split_node_id("daily:abc", "Meeting") == (Source.DAILY, "abc")
    with pytest.raises(BadUserInput, match="not a Meeting id"):
        split_node_id("no-source-here", "Meeting")


@pytest.mark.parametrize(
    ("node_id", "key"),
    [
        (f"nexor:{UUID}", LeadKey(Source.NEXOR, UUID)),
        ("salesloft:40001211", LeadKey(Source.SALESLOFT, "40001211")),
    ],
)
def test_lead_keys_follow_their_source_rule(node_id: str, key: LeadKey) -> None:
    assert lead_key(node_id) == key


@pytest.mark.parametrize(
    "node_id",
    [
        f"nexor:{UUID.upper()}",  # Nexor matches its lower-case form only
        "nexor:42",
        "salesloft:0042",  # not the canonical form of a number
        "salesloft:abc",
        f"leezy:{UUID}",  # Leezy meetings have no leads
        "meetstream:bot-1",
        "nobody:1",
        "",
    ],
)
def test_other_lead_ids_are_the_clients_error(node_id: str) -> None:
    with pytest.raises(BadUserInput, match=r"nexor:<uuid> or salesloft:<id>|not a Lead id"):
        lead_key(node_id)


def test_bot_ids_belong_to_the_bot_source() -> None:
    assert bot_id("meetstream:bot-7") == "bot-7"
    for wrong in ("meetstream:", "salesloft:bot-7", "bot-7"):
        with pytest.raises(BadUserInput, match="not a ScheduledBot id"):
            bot_id(wrong)
