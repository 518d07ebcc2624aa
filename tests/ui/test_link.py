"""What the UI tells a person when the server refuses a call: its message, why, and its code."""
from __future__ import annotations

from ui.link import LinkError, error_text

BAD_DICE = [{"type": "value_error", "loc": ["expression"], "input": "2d6+",
             "msg": "Value error, cannot read '2d6+' as dice; write terms like 2d6, d20 or 3 joined by + or -",
             "ctx": {"error": "cannot read '2d6+' as dice; write terms like 2d6, d20 or 3 joined by + or -"}}]


def test_a_bad_dice_expression_says_why_it_does_not_validate():
    exc = LinkError(422, "command/invalid", "RollDice does not validate", BAD_DICE)
    assert error_text(exc) == ("RollDice does not validate: expression: cannot read '2d6+' as dice; "
                               "write terms like 2d6, d20 or 3 joined by + or - (command/invalid)")


def test_several_reasons_are_listed_and_details_without_reasons_add_nothing():
    exc = LinkError(422, "invalid", "the body does not validate", [
        {"loc": ["reason"], "msg": "String should have at most 200 characters"},
        {"loc": [], "msg": "Input should be an object"}])
    assert error_text(exc) == ("the body does not validate: reason: String should have at most 200 characters; "
                               "Input should be an object (invalid)")
    assert error_text(LinkError(409, "combat/ended", "the encounter is over", {"loc": ["data", "x"]})) == \
        "the encounter is over (combat/ended)"
    assert error_text(LinkError(404, "actor/not_found", "no such campaign")) == "no such campaign (actor/not_found)"
