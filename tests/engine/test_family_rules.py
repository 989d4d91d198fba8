"""The rule language's new forms on a parent/child test standard, with both engines.

Parent fields through foreign keys (one and two hops), counts per parent and per file with a
condition, codelist columns and composite lookups, days() and arithmetic, substrings, like
patterns, the elfproef, today, composite and cross-file keys, deletion records. A clean delivery
has no findings; each planted fault gives exactly its finding; random deliveries full of near
misses give the same findings with the columnar and the reference engine, and every rule fires in
some of them (so none of the comparisons is vacuous).
"""
from __future__ import annotations

import datetime as dt
import sys
from collections import Counter
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from family_standard import (  # noqa: E402
    RULES, ZIP_NAME, clean_members, family_pm, family_standard, fit, random_members, write_zip,
)

from disval.core.pipeline import validate  # noqa: E402


@pytest.fixture(scope="module")
def family(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("family")
    std = family_standard(tmp, RULES)
    return std, family_pm(std)


def run_both(family, members, tmp: Path, **options):
    """Validate with both engines; assert they agree; return the columnar result."""
    std, pm = family
    path = write_zip(members, tmp / ZIP_NAME)
    col = validate(path, pm=pm, engine="columnar", max_per_rule=None, **options)
    ref = validate(path, pm=pm, engine="reference", max_per_rule=None, **options)
    assert Counter(col.findings) == Counter(ref.findings)
    assert col.records_with == ref.records_with and col.counts == ref.counts
    return col


def found(result) -> dict[str, list]:
    out: dict[str, list] = {}
    for f in result.findings:
        out.setdefault(f.rule, []).append((f.file, f.line))
    return out


def test_a_clean_delivery_has_no_findings_and_records_the_date(family, tmp_path):
    result = run_both(family, clean_members(family[0].layout), tmp_path, today=dt.date(2019, 1, 7))
    assert result.findings == [] and result.assessment == "positive"
    assert result.versions["date"] == "2019-01-07"
    assert [i.rule for i in result.not_evaluated] == ["F-28"]  # `deleted but not stored` needs the store


def _set(file, line, **values):
    def edit(members, layout):
        for ddid, value in values.items():
            fld = layout.field(ddid.lstrip("f"))
            members[file][line - 1][fld.start:fld.end] = fit(fld, value)
    return edit


def _both(*edits):
    def edit(members, layout):
        for e in edits:
            e(members, layout)
    return edit


K, G, O = "KIND.txt", "KLEINKIND.txt", "OUDER.txt"
BLANK_BUT_KEYS = {f"f{d}": "" for d in ("9204", "9205", "9206", "9207", "9208", "9209", "9210")}

PLANTED = {
    "a child begins before its parent": (_set(K, 1, f9204="20171231"), {"F-01": [(K, 1)], "F-02": [(K, 1)]}),
    "a grandchild outside its child's period": (_set(G, 1, f9303="20180305"), {"F-03": [(G, 1)]}),
    "a grandchild before its grandparent (two hops)": (
        _set(G, 1, f9303="20171201"), {"F-03": [(G, 1)], "F-04": [(G, 1)]}),
    "a child whose parent is not delivered": (_set(K, 3, f9203="O9"), {"F-24": [(K, 3)]}),
    # Keys compare as values do, without leading and trailing spaces (README, "Alignment and padding").
    "a foreign key with a leading space is its parent's key": (_set(K, 1, f9203=" O1"), {}),
    "a foreign key with a leading space to no parent": (_set(K, 1, f9203=" O9"), {"F-24": [(K, 1)]}),
    "a composite key twice, one part with a leading space": (
        lambda m, layout: m[G].append(bytearray(b" " + m[G][0][:5] + m[G][0][6:])),
        {"F-21": [(G, 6)], "F-07": [(K, 1)]}),
    "a grandchild numbered as a parent, with a leading space": (_set(G, 2, f9301=" O2"), {"F-23": [(G, 2)]}),
    "a count per parent through a key with a leading space": (
        lambda m, layout: m[G].append(bytearray(m[G][0][:6] + b" " + m[G][0][6:11] + m[G][0][12:])),
        {"F-21": [(G, 6)], "F-07": [(K, 1)]}),
    "two crisis children of one parent": (
        _set(K, 1, f9206="act_6.1", f9210=""), {"F-06": [(O, 1)]}),
    "a composite key twice": (
        lambda m, layout: m[G].append(bytearray(m[G][0])), {"F-21": [(G, 6)], "F-07": [(K, 1)]}),
    "a grandchild numbered as a parent": (_set(G, 2, f9301="O2"), {"F-23": [(G, 2)]}),
    "a codelist column (soort)": (_set(K, 1, f9207="250", f9205="20181231"), {"F-10": [(K, 1)]}),
    "a tariff above the maximum (composite lookup)": (_set(K, 1, f9208="5001"), {"F-11": [(K, 1)]}),
    "more than one per day (days + 1)": (_set(K, 3, f9207="11"), {"F-14": [(K, 3)]}),
    "positions against positions": (_set(K, 2, f9210="xxxxxxxxxA1x"), {"F-16": [(K, 2)]}),
    "not a Dutch postcode": (_set(O, 1, f9106="1234ab"), {"F-17": [(O, 1)]}),
    "a prefix pattern": (_set(K, 3, f9207="101", f9205="20180630"), {"F-18": [(K, 3)]}),
    "a BSN that fails the elfproef": (_set(O, 2, f9105="123456789"), {"F-19": [(O, 2)]}),
    "a deletion needs only its keys": (_set(K, 2, f9202="V", **BLANK_BUT_KEYS), {}),
    "the same record without the flag": (_set(K, 2, **BLANK_BUT_KEYS), {"F-25": [(K, 2)]}),
    "a deletion without its foreign key": (_set(K, 2, f9202="V", f9203="", **BLANK_BUT_KEYS), {"F-26": [(K, 2)]}),
    "a rule that applies to deletions": (
        _set(K, 2, f9202="V", **{**BLANK_BUT_KEYS, "f9207": "-1"}), {"F-27": [(K, 2)]}),
    "every name pseudonymised (a count over the file)": (
        _both(_set(O, 1, f9104="XXab"), _set(O, 2, f9104="XX")), {"F-08": [(O, None)]}),
    "more deletions than the slip's count": (
        _both(_set(K, 1, f9202="V"), _set("PAKBON.txt", 1, f9002="0")), {"F-09": [(K, None)]}),
    "a code not selectable": (_set(K, 1, f9206="B7", f9210=""), {"F-29": [(K, 1)]}),
    "a grandchild whose child is not delivered": (_set(G, 1, f9302="K9"), {"F-30": [(G, 1)]}),
    # O1 twice: its children have no one parent (not evaluated on its fields); O2's child dangles.
    "two parents with one key": (
        _both(_set(O, 2, f9101="O1"), _set(K, 1, f9204="20171231")), {"F-24": [(K, 2)]}),
}


@pytest.mark.parametrize("case", PLANTED)
def test_a_planted_fault_gives_exactly_its_finding(case, family, tmp_path):
    edit, expected = PLANTED[case]
    members = clean_members(family[0].layout)
    edit(members, family[0].layout)
    result = run_both(family, members, tmp_path)
    assert found(result) == expected


def test_today_is_the_runs_date_and_can_be_fixed(family, tmp_path):
    members = clean_members(family[0].layout)
    assert found(run_both(family, members, tmp_path, today=dt.date(2017, 12, 1))) == {"F-20": [(O, 1)]}
    assert found(run_both(family, members, tmp_path, today=dt.date(2018, 1, 1))) == {}


def test_random_deliveries_agree_and_every_rule_fires(family, tmp_path):
    fired = Counter()
    for seed in range(60):
        members = random_members(family[0].layout, seed)
        result = run_both(family, members, tmp_path / str(seed), batch_records=[1, 2, 3, 1000][seed % 4],
                          today=dt.date(2019, 1, 7))
        fired.update(result.counts)
    numbers = {line.split("=>")[1].split()[1] for line in RULES.strip().splitlines()}
    assert numbers - {"F-28"} <= {n for n, count in fired.items() if count}


@pytest.mark.parametrize("budget_mib", ["0", "0.0005"])
def test_keys_spilled_to_disk_give_the_same_findings(budget_mib, family, tmp_path, monkeypatch):
    """With no memory for keys (or room for a few hundred), composite, cross-file and referenced keys
    are checked a hash partition at a time from disk: the same findings as the reference engine."""
    from disval.core.engine import key_spill

    written, whose = [], []
    write = key_spill.Segments.write
    monkeypatch.setattr(key_spill.Segments, "write", lambda self, *a: (written.append(len(a[0])), write(self, *a)))
    write_file = key_spill.KeyMemory.write
    monkeypatch.setattr(key_spill.KeyMemory, "write", lambda self, records, who: (whose.append(who),
                                                                                   write_file(self, records, who))[1])
    monkeypatch.setenv("DISVAL_KEY_MEMORY", budget_mib)
    fired = Counter()
    for seed in range(20):
        members = random_members(family[0].layout, seed)
        fired.update(run_both(family, members, tmp_path / str(seed), batch_records=[1, 3, 1000][seed % 3]).counts)
    assert sum(written) > 0  # the keys did go to disk
    if budget_mib == "0":  # and so did the parents' fields that children read (mapped from there)
        assert any("parents' fields" in w for w in whose)
    # uniqueness and references, and counts per parent (F-06, F-07: their keys spill too)
    assert {"F-21", "F-22", "F-23", "F-24", "F-06", "F-07"} <= {n for n, count in fired.items() if count}


def test_rules_that_read_a_missing_parent_file_are_listed_as_not_evaluated(family, tmp_path):
    members = clean_members(family[0].layout)
    del members["OUDER.txt"]
    result = run_both(family, members, tmp_path)
    reasons = {i.rule: i.reason for i in result.not_evaluated}
    assert reasons["F-01"] == reasons["F-04"] == "OUDER.txt is missing or could not be read"
    assert "F-03" not in reasons  # reads KIND.txt, which is there
    assert not {"F-01", "F-04"} & set(result.counts)


class _Store:
    """What a delivery store answers for `deleted but not stored`: the keys it holds of each file."""

    def __init__(self, held):
        self.held = held
        self.asked = []

    def not_stored(self, file, key, values):
        values = list(values)
        self.asked.append((file, key, values))
        return {v for v in values if v not in self.held}


def test_deleted_but_not_stored_asks_the_store_about_deletion_records_only(family, tmp_path):
    members = clean_members(family[0].layout)
    edit = _set(K, 2, f9202="V", **BLANK_BUT_KEYS)
    edit(members, family[0].layout)
    store = _Store(held={"K1"})
    result = validate(write_zip(members, tmp_path / ZIP_NAME), pm=family[1], history=store, max_per_rule=None)
    assert store.asked == [("KIND.txt", "9201", ["K2"])]  # K1 and K3 are no deletions
    assert [(f.rule, f.line, f.value) for f in result.findings] == [("F-28", 2, "K2")]
    store.held.add("K2")
    result = validate(write_zip(members, tmp_path / ZIP_NAME), pm=family[1], history=_Store({"K2"}))
    assert result.findings == []


def test_without_a_store_that_can_tell_the_rule_is_not_evaluated(family, tmp_path):
    result = validate(write_zip(clean_members(family[0].layout), tmp_path / ZIP_NAME), pm=family[1],
                      history=object())
    assert {i.rule: i.status for i in result.not_evaluated}["F-28"] == "not evaluated"
