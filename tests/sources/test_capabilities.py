"""What a source declares (`Capabilities`) and the bound arithmetic all sources share."""

from __future__ import annotations

import pytest

from gateway.query import MeetingFilter
from gateway.sources.base import Capabilities, Only, tightened

DECLARED = Capabilities(
    excluded_by={
        "chatbot_id": "no chatbot",
        "upcoming": Only(True, "never in the future"),
    }
)


@pytest.mark.parametrize(
    ("meeting_filter", "reason"),
    [
        (MeetingFilter(), None),
        (MeetingFilter(chatbot_id="bot-1"), "no chatbot"),
        (MeetingFilter(upcoming=True), "never in the future"),
        (MeetingFilter(upcoming=False), None),  # only the declared value excludes
        (MeetingFilter(upcoming=False, chatbot_id="bot-1"), "no chatbot"),
    ],
)
def test_an_exclusion_holds_whenever_given_or_for_its_one_value(
    meeting_filter: MeetingFilter, reason: str | None
) -> None:
    assert DECLARED.exclusion(meeting_filter) == reason


@pytest.mark.parametrize(
    ("excluded_by", "words"),
    [
        ({"chatbot": "no chatbot"}, "not MeetingFilter fields: ['chatbot']"),
        ({"upcoming": Only("yes", "never")}, "'yes' is no value of MeetingFilter.upcoming"),
        ({"upcoming": Only(None, "never")}, "None is no value of MeetingFilter.upcoming"),
        ({"search": Only(3, "no title")}, "3 is no value of MeetingFilter.search"),
    ],
)
def test_a_declaration_names_filter_fields_and_their_values(
    excluded_by: dict[str, str | Only], words: str
) -> None:
    with pytest.raises(ValueError, match=words.replace("[", r"\[").replace("]", r"\]")):
        Capabilities(excluded_by=excluded_by)


LOWER = {"t[gt]": True, "t[gte]": False}
UPPER = {"t[lt]": True, "t[lte]": False}


@pytest.mark.parametrize(
    ("params", "bound", "upper", "side", "expected"),
    [
        ([], ("t[gt]", "5"), False, LOWER, [("t[gt]", "5")]),
        ([("t[gte]", "7")], ("t[gt]", "5"), False, LOWER, [("t[gte]", "7")]),
        ([("t[gte]", "3")], ("t[gt]", "5"), False, LOWER, [("t[gt]", "5")]),
        # At equal values the exclusive bound is the tighter, on either side.
        ([("t[gte]", "5")], ("t[gt]", "5"), False, LOWER, [("t[gt]", "5")]),
        ([("t[gt]", "5")], ("t[gte]", "5"), False, LOWER, [("t[gt]", "5")]),
        ([("t[lte]", "5")], ("t[lt]", "5"), True, UPPER, [("t[lt]", "5")]),
        ([("t[lt]", "5")], ("t[lte]", "5"), True, UPPER, [("t[lt]", "5")]),
        ([("a", "1"), ("t[lt]", "4")], ("t[lte]", "6"), True, UPPER, [("a", "1"), ("t[lt]", "4")]),
        # Without a side, one parameter name, compared by `key` (whole seconds as numbers).
        ([("end", "10")], ("end", "9"), True, None, [("end", "9")]),
    ],
)
def test_tightened_keeps_one_bound_a_side(
    params: list[tuple[str, str]],
    bound: tuple[str, str],
    upper: bool,
    side: dict[str, bool] | None,
    expected: list[tuple[str, str]],
) -> None:
    name, value = bound
    key = int if side is None else str
    assert tightened(params, name, value, upper=upper, side=side, key=key) == expected
