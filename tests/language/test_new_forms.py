"""The forms issue 9 adds to the rule language: they parse, print back, compile, and fail with located errors.

Compiled against the family test standard (tests/family_standard.py): parents, children and
grandchildren linked by foreign keys, a status vlag, a composite key, codelists with columns.
"""
from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from family_standard import DECLARATIONS, FAMILY_FORMS, LAYOUT, family_standard  # noqa: E402

from disval.core.language import ast  # noqa: E402
from disval.core.language.compiler import AGGREGATE, FILE, HISTORY, NEEDS_STORE, RECORD, UNIQUE, compile_text  # noqa: E402
from disval.core.language.parser import RuleError, parse_rules  # noqa: E402
from disval.core.layout import load_layout  # noqa: E402
from disval.plugins.ga_ohw_gbg import standard as ohw  # noqa: E402


@pytest.fixture(scope="module")
def family(tmp_path_factory):
    return family_standard(tmp_path_factory.mktemp("forms"), "")


@pytest.mark.parametrize("form", sorted(FAMILY_FORMS))
def test_each_new_form_prints_back_and_compiles(form, family):
    text = FAMILY_FORMS[form]
    (rule,) = parse_rules(text)
    assert str(rule) == text
    assert parse_rules(str(rule)) == [rule]
    compile_text(family, text)


def test_what_each_form_compiles_to(family):
    def compiled(text):
        return compile_text(family, text)[0]

    parent = compiled(FAMILY_FORMS["parent field"])
    assert (parent.kind, parent.file) == (RECORD, "KIND.txt")
    assert parent.check.right.scope == "parent"
    assert [h.foreign_key.ddid for h in parent.check.right.path] == ["9203"]
    grand = compiled(FAMILY_FORMS["grandparent field"])
    assert grand.file == "KLEINKIND.txt"
    assert [(h.foreign_key.ddid, h.key.ddid) for h in grand.check.right.path] == [("9302", "9201"), ("9203", "9101")]
    per = compiled(FAMILY_FORMS["count_per"])
    assert (per.kind, per.file, per.subject.ddid) == (AGGREGATE, "OUDER.txt", "9101")
    assert compiled(FAMILY_FORMS["count_where"]).kind == FILE
    composite = compiled(FAMILY_FORMS["not_unique_composite"])
    assert (composite.kind, [f.ddid for f in composite.keys]) == (UNIQUE, ["9302", "9301"])
    across = compiled(FAMILY_FORMS["not_unique_across"])
    assert [f.ddid for f in across.target_keys] == ["9101", "9201"]
    store = compiled(FAMILY_FORMS["deleted_not_stored"])
    assert (store.kind, store.status) == (HISTORY, NEEDS_STORE)
    lookup = compiled(FAMILY_FORMS["lookup"])
    assert lookup.check.right.kind == "number" and lookup.codelists == ("CL_TARIEF",)


def test_which_rules_skip_deletion_records(family):
    """A deletion record holds its keys and flag only (GA DBC-GGZ §5.3): other rules pass it by."""
    def skips(text):
        flag = compile_text(family, text)[0].skip_deleted
        return flag.ddid if flag else None

    assert skips("9204 is empty => ERR 1 M \"m\"") == "9202"
    assert skips("9203 is empty => ERR 1 M \"m\"") is None  # a foreign key: deletions fill it too
    assert skips("9201 is empty or 9202 not in ('V') => ERR 1 M \"m\"") is None
    assert skips(FAMILY_FORMS["applies_to_deletions"]) is None
    assert skips("9303 is empty => ERR 1 M \"m\"") is None  # KLEINKIND has no status vlag


def unrelated(tmp_path):
    """The family standard with KIND no longer referring to OUDER."""
    std = family_standard(tmp_path, "")
    (tmp_path / "unrelated.toml").write_text(LAYOUT.replace(', references = "9101"', ""), encoding="utf-8")
    return replace(std, layout=load_layout(tmp_path / "unrelated.toml"))


@pytest.mark.parametrize(
    "text, line, column, words",
    [
        ("9204 < 9102 => ERR 1 XX \"m\"", 1, 1, "unknown validation type XX: FAMILY-1 declares M, S"),
        ("9204 < 9999 => ERR 1 BR \"m\"", 1, 8, "unknown field 9999"),
        pytest.param("9208 > CL_TARIEF(9206 at 9204).max => WRN 1 BR \"m\"", 1, 8,
                     "CL_TARIEF is looked up by 2 field(s) (groep, code); the rule names 1",
                     marks=pytest.mark.skipif(not DECLARATIONS, reason="no Standard.codelists (declared keys) yet")),
        ("9208 > CL_NOPE(9206 at 9204).max => WRN 1 BR \"m\"", 1, 8, "unknown codelist CL_NOPE"),
        ("9208 > CL_SOORT(9206 at 9209).max => WRN 1 BR \"m\"", 1, 25, "is not a date field"),
        ("9206[3..11] = 'x' => ERR 1 BR \"m\"", 1, 1, "positions 3..11 are not within 9206 Soortcode (10 positions)"),
        ("9207[1..2] = 'x' => ERR 1 BR \"m\"", 1, 1, "positions are taken of text fields"),
        ("9204 + 1 > 2 => ERR 1 BR \"m\"", 1, 1, "+ and - take numbers"),
        ("count(KIND.txt where 9206 = 'A1' per 9204) > 1 => ERR 1 BR \"m\"", 1, 38, "is no foreign key of KIND.txt"),
        ("count(KIND.txt where 9206 = 'A1' per 9203) > 9207 => ERR 1 BR \"m\"", 1, 1,
         "a count per parent record is compared with literals"),
        ("count(OUDER.txt where 9206 = 'A1') > 1 => ERR 1 BR \"m\"", 1, 1, "which is not a parent of OUDER.txt"),
        ("9301 is not unique across 9302 => ERR 1 BR \"m\"", 1, 27, "is in KLEINKIND.txt itself"),
        ("(9301, 9204) is not unique => ERR 1 UK \"m\"", 1, 1, "the fields of a key must be of one file"),
        ("(9201, 9202, 9203) not in file KLEINKIND.txt => ERR 1 FK \"m\"", 1, 1, "KLEINKIND.txt has a key of 2"),
        ("9104 deleted but not stored => ERR 1 BR \"m\"", 1, 1, "OUDER.txt declares no status flag"),
        ("9106 like 'ab\\' => ERR 1 BR \"m\"", 1, 1, "ends in an escape"),
        ("9102 > today + 1 => ERR 1 BR \"m\"", 1, 8, "today is a date; + and - take numbers"),
    ],
)
def test_a_bad_new_form_is_a_located_compiler_error(text, line, column, words, family):
    with pytest.raises(RuleError) as info:
        compile_text(family, text, "org.rules")
    err = info.value
    assert (err.source, err.line, err.column) == ("org.rules", line, column), err.render()
    assert words in err.message
    assert err.render().splitlines()[2].index("^") - 4 == column - 1


def test_a_parent_must_be_reachable_through_exactly_one_foreign_key(tmp_path):
    with pytest.raises(RuleError, match="none of these files refers to the others through its foreign keys"):
        compile_text(unrelated(tmp_path), "9204 < 9102 => ERR 1 BR \"m\"")


def test_the_standard_declares_its_validation_types(family):
    """PVM is a GA DBC-GGZ type: the family standard declares it, GA OHW-GBG does not."""
    compile_text(family, "9204 is empty => ERR 1 PVM \"m\"")
    with pytest.raises(RuleError, match="unknown validation type PVM: GA-OHW-GBG-1.0 declares M, S, R, V"):
        compile_text(ohw(), "3262 is empty => ERR 1 PVM \"m\"")


def test_ohw_rules_may_now_read_the_parent_traject():
    (rule,) = compile_text(ohw(), "3312 < 3262 => ERR 1 BR \"m\"")
    assert rule.file == "GELEVERD_ZORGPROFIEL.txt" and rule.check.right.scope == "parent"
    assert isinstance(parse_rules("3312 < 3262 => ERR 1 BR \"m\"")[0].violation, ast.Comparison)
