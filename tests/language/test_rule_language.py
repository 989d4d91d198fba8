"""The rule language: shipped rules compile, print back to their source, every form parses, errors are located."""
from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

import sys

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from family_standard import FAMILY_FORMS  # noqa: E402

from disval.core.language import ast
from disval.core.language.compiler import ACTIVE, NEEDS_STORE, NOT_APPLICABLE, compile_rulebook, compile_text
from disval.core.language.parser import RuleError, _parser, parse_rules
from disval.plugins.ga_ohw_gbg import standard

RULES = Path(str(resources.files("disval.rules").joinpath("ga_ohw_gbg_1_0.rules")))
GA = Path(__file__).resolve().parents[3] / "shared" / "spec" / "GA_OHW-GBG_1.0_v1.2.txt"


@pytest.fixture(scope="module")
def book():
    return compile_rulebook(standard())


def test_every_shipped_rule_compiles(book):
    assert len(book.rules) == 79
    assert len({r.number for r in book.rules}) == 79


def test_the_rules_file_has_every_validation_number_of_the_ga(book):
    if not GA.exists():
        pytest.skip(f"the GA text is not beside the checkout ({GA})")
    numbers = set(re.findall(r"(?:^|\t)(\d{3,4})(?:\t|$)", GA.read_text(encoding="utf-8"), re.M))
    numbers = {n for n in numbers if n.startswith(("7", "16", "17", "18", "19", "20", "21", "22", "23"))}
    assert {r.number for r in book.rules} == numbers


def test_statuses_follow_the_issue(book):
    status = {r.number: r.status for r in book.rules}
    assert {n for n, s in status.items() if s == NOT_APPLICABLE} == {"1747", "1767", "1878", "2227", "2300"}
    assert {n for n, s in status.items() if s == NEEDS_STORE} == {"1656", "1812", "1813", "1819", "2054"}
    assert sum(s == ACTIVE for s in status.values()) == 69


def _source_of(rule: ast.Rule, lines: list[str]) -> str:
    """The rule's text as written (its span), with runs of white space folded and comments dropped."""
    span = rule.span
    part = lines[span.line - 1:span.end_line]
    part[-1] = part[-1][:span.end_column - 1] if len(part) > 1 else part[-1][span.column - 1:span.end_column - 1]
    return " ".join(" ".join(line.split("#")[0].split()) if not line.lstrip().startswith("#") else ""
                    for line in part).strip()


def test_each_rule_prints_back_to_its_source():
    text = RULES.read_text(encoding="utf-8")
    lines = text.splitlines()
    for rule in parse_rules(text, str(RULES)):
        assert " ".join(str(rule).split()) == " ".join(_source_of(rule, lines).split())
        assert parse_rules(str(rule)) == [rule]


# One example per grammar alternative; the test below checks none is missing.
FORMS = {
    "comparison": "3262 > 3233 => ERR 1 BR \"m\"",
    "is_empty": "3257 is empty => ERR 1 M \"m\"",
    "is_filled": "3263 is filled => WRN 1 BR \"m\"",
    "not_date": "3262 is not a date => ERR 1 S \"m\"",
    "not_number": "3315 is not a number => ERR 1 S \"m\"",
    "not_pattern": "3371 does not match 'NN' => ERR 1 S \"m\"",
    "not_in_values": "4046 not in ('J', 'N') => ERR 1 S \"m\"",
    "in_values": "3272 in ('12', '13') => WRN 1 BR \"m\"",
    "not_in_codelist": "3314 not in CL_BEROEP_GBG or CL_HOOFDBEROEPEN_GBG at 3312 => ERR 1 R \"m\"",
    "not_selectable": "3314 not selectable in CL_BEROEP_GBG at 3312 => ERR 1 BR \"m\"",
    "all_of": "3266 is empty and 4046 = 'J' => ERR 1 BR \"m\"",
    "any_of": "3315 < 0 or 3316 < 0 => ERR 1 BR \"m\"",
    "negated": "not (3315 >= 0) => ERR 1 BR \"m\"",
    "not_unique": "3257 is not unique => ERR 1 UK \"m\"",
    "missing_reference": "3309 not in file BEHANDELTRAJECT.txt => ERR 1 FK \"m\"",
    "wrong_record_length": "record length of PAKBON.txt is wrong => ERR 1 V \"m\"",
    "member_missing": "member missing => ERR 1 V \"m\"",
    "member_duplicated": "member duplicated => ERR 1 V \"m\"",
    "member_unknown": "member unknown => ERR 1 V \"m\"",
    "stored_elsewhere": "3257 stored with other 3258 => ERR 1 OH \"m\"",
    "changed_since_last": "3339 changed since last delivery => ERR 1 BR \"m\"",
    "account_unknown": "account(3341, 3362, 3371) not registered => ERR 1 BR \"m\"",
    "field": "3262 > 3233 => ERR 1 BR \"m\"",
    "zip_part": "3362 != zip.provider => ERR 1 BR \"m\"",
    "number": "3315 > 1_440 => WRN 1 BR \"m\"",
    "text": "4046 = 'J' => WRN 1 BR \"m\"",
    "date": "3262 < 2016-10-01 => WRN 1 BR \"m\"",
    "count": "count(PAKBON.txt) != 1 => ERR 1 BR \"m\"",
    "years": "years(3262, 3263) > 5 => WRN 1 BR \"m\"",
    "valid_from": "3262 is empty => ERR 1 M \"m\" from 2015-01-01",
    "valid_until": "3262 is empty => ERR 1 M \"m\" until 2030-12-31",
    "message_en": "3262 is empty => ERR 1 M \"m\" en \"english\"",
    "hint": "3262 is empty => ERR 1 M \"m\" hint \"fill it\"",
    "hint_en": "3262 is empty => ERR 1 M \"m\" hint en \"fill it\"",
    "not_applicable": "3321 > 3233 => ERR 1 BR \"m\" not-applicable \"not delivered\"",
    "not_applicable_en": "3321 > 3233 => ERR 1 BR \"m\" not-applicable \"niet geleverd\" "
                         "not-applicable en \"not delivered\"",
}


def test_every_grammar_alternative_has_an_example():
    aliases = {rule.alias for rule in _parser().rules if rule.alias}
    examples = set(FORMS) | set(FAMILY_FORMS)  # the new forms are shown on the family test standard
    assert aliases <= examples, f"forms without an example: {sorted(aliases - examples)}"


@pytest.mark.parametrize("form", sorted(FORMS))
def test_each_form_compiles_and_prints_back(form):
    text = FORMS[form]
    (rule,) = parse_rules(text)
    assert str(rule) == text
    compile_text(standard(), text)


def test_three_valued_logic_survives_printing():
    (rule,) = parse_rules("not (3315 < 0 or 3316 < 0) and 3355 is filled => ERR 1 BR \"m\"")
    assert isinstance(rule.violation, ast.AllOf)
    assert parse_rules(str(rule)) == [rule]


@pytest.mark.parametrize(
    "text, line, column, words",
    [
        ("3226 > 3233 => ERR 1 BR \"m\"", 1, 1, "unknown field 3226"),
        ("3262 > 3233 => ERR 1 BR \"m\"\n3262 > 3263 => ERR 1 BR \"again\"", 2, 1, "defined twice"),
        ("3262 > 3233 => ERR 1 XX \"m\"", 1, 1, "unknown validation type XX"),
        ("3262 > 3233 => ERR 1 BR BR \"m\"", 1, 25, "expected a message in double quotes"),
        ("3262 > => ERR 1 BR \"m\"", 1, 8, "unexpected"),
        ("3266 not in CL_NOPE at 3262 => ERR 1 R \"m\"", 1, 1, "unknown codelist CL_NOPE"),
        ("3233 > 3345 => ERR 1 BR \"m\"", 1, 1, "cannot compare 3233 (date) with 3345 (number)"),
        ("3321 > 3233 => ERR 1 BR \"m\"", 1, 1, "not delivered"),
        ("count(NOPE.txt) != 1 => ERR 1 V \"m\"", 1, 1, "unknown file NOPE.txt"),
        ("3266 not in CL_DIAGNOSE_GBG at 3257 => ERR 1 R \"m\"", 1, 32, "is not a date field"),
        ("3362 != zip.nope => ERR 1 BR \"m\"", 1, 9, "unknown zip part nope"),
        ("4046 = 'JJ' => ERR 1 BR \"m\"", 1, 1, "'JJ' does not fit in 4046 Stoornis DSM IV"),
        ("3262 < 2016-02-30 => ERR 1 BR \"m\"", 1, 8, "not a calendar date"),
    ],
)
def test_a_bad_rule_is_a_located_compiler_error(text, line, column, words):
    with pytest.raises(RuleError) as info:
        compile_text(standard(), text, "org.rules")
    err = info.value
    assert (err.source, err.line, err.column) == ("org.rules", line, column)
    assert words in err.message
    rendered = err.render().splitlines()
    assert rendered[0].startswith(f"org.rules:{line}:{column}: error: ")
    assert rendered[1].strip() == text.splitlines()[line - 1].strip()
    assert rendered[2].index("^") - 4 == column - 1


def test_a_mistyped_field_id_is_never_a_literal():
    # 3 digits or fewer is a number literal, 4 or more a DDID: a typo in a DDID cannot become a number.
    with pytest.raises(RuleError, match="unknown field 33150"):
        compile_text(standard(), "3315 < 33150 => ERR 1 BR \"m\"")
    (rule,) = compile_text(standard(), "3315 < 100 => ERR 1 BR \"m\"")
    assert rule.check.right.value == 100


def test_the_line_shown_with_an_error_is_the_line_the_parser_counted():
    # U+0085 and U+2028 in a message are text, not line ends; the caret line must still be line 2.
    text = '3262 > 3233 => ERR 1 BR "door\u0085 en\u2028 verder"\r\n3262 > => ERR 2 BR "m"\r\n'
    with pytest.raises(RuleError) as info:
        compile_text(standard(), text, "org.rules")
    assert info.value.line == 2
    assert info.value.render().splitlines()[1].strip() == '3262 > => ERR 2 BR "m"'
