"""Every GA OHW-GBG rule explains itself in a report: an English message and a fix hint in both languages."""
from __future__ import annotations

from importlib import resources

import pytest

from disval.core.language.parser import parse_rules

RULES_FILE = resources.files("disval.rules").joinpath("ga_ohw_gbg_1_0.rules")
RULES = parse_rules(RULES_FILE.read_text(encoding="utf-8"), source="ga_ohw_gbg_1_0.rules")


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.number)
def test_each_rule_has_english_and_hints(rule):
    assert rule.message_en and rule.hint and rule.hint_en
    assert rule.message_en != rule.message and rule.hint_en != rule.hint
    # The English message names the same fields (DDIDs) as the GA's Dutch one.
    ddids = lambda text: sorted(w for w in text.replace(".", " ").split() if w.isdigit() and len(w) == 4)  # noqa: E731
    assert ddids(rule.message_en) == ddids(rule.message)
