"""A process that validates many deliveries gives each the reports a fresh process would (issue 11).

A portal or worker keeps, per process: the compiled rule book (per rules
files, `pipeline.rulebook`), each book's rule descriptions (`book_infos`),
what each check reads (`engine.parents.cols_of`), the text report's table
of rules not evaluated, and a report's view while the report lives
(`report_view.validation_view`). These tests validate different deliveries
with different options one after the other in this process, and compare
every report with the one a fresh process writes for the same case.
"""
from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import weakref
from pathlib import Path

import pytest

from disval.core.pipeline import validate
from disval.core.reports import ReportOptions

from fuzzing import mutant, seed_deliveries
from rendering import render_every_format
from reported import HERE, digest, reports

EXAMPLES = HERE.parents[1] / "contrib" / "examples"
GOOD = EXAMPLES / "DIS_GBG_OHW_TEST_010_94001234_00_20180201_01.zip"
FAULTY = EXAMPLES / "faulty" / "DIS_GBG_OHW_TEST_010_94001234_00_20180301_01.zip"


def fresh(case: dict, tmp_path: Path) -> dict[str, str]:
    """The reports of `case` from a new Python process, with no rule book cached on disk either."""
    env = dict(os.environ, DISVAL_CACHE_DIR=str(tmp_path / "cold-cache"))
    done = subprocess.run([sys.executable, str(HERE / "reported.py"), json.dumps(case)], capture_output=True,
                          text=True, env=env, check=True)
    return json.loads(done.stdout)


def same(warm: dict[str, str], cold: dict[str, str], case: dict) -> None:
    assert set(warm) == set(cold)
    differ = [name for name in warm if warm[name] != cold[name]]
    assert not differ, f"{case}: {differ} differ from a fresh process's ({digest(warm)} vs {digest(cold)})"


@pytest.fixture(scope="module")
def mutants(tmp_path_factory):
    """Three seeded mutants of real deliveries (broken zips, bad lines, odd names among them)."""
    folder = tmp_path_factory.mktemp("mutants")
    seeds = seed_deliveries(folder)
    out = []
    for n in (3, 17, 41):
        name, data = mutant(__import__("random").Random(n), seeds)
        path = folder / f"m{n}" / (name.replace("/", "_").replace("\x00", "_") or "x.zip")
        path.parent.mkdir()
        path.write_bytes(data)
        out.append(str(path))
    return out


def test_many_deliveries_in_one_process_report_as_fresh_processes_do(tmp_path, mutants):
    """Different deliveries, options, policies, selections and dates, in turn and then again in reverse:
    each report byte for byte the one a fresh process writes."""
    extra = tmp_path / "extra.rules"
    extra.write_text('3309 is empty => WRN X-1 BR "geen traject"\n', encoding="utf-8")
    cases = [
        {"path": str(FAULTY), "max_per_rule": 20, "today": "2018-03-05"},
        {"path": str(GOOD), "today": "2018-02-05", "options": {"lang": "en"}},
        {"path": str(FAULTY), "policy": "guidance", "today": "2026-01-01", "max_per_rule": 1,
         "options": {"lang": "en", "show_identifiers": True, "max_examples": 1}},
        {"path": str(FAULTY), "extra_rules": [str(extra)], "skip": ["REC-EOL"], "today": "2018-03-05"},
        {"path": str(GOOD), "select": ["1651", "1652"], "today": "2018-02-05"},
        *({"path": m, "max_per_rule": 100, "today": "2019-06-30", "options": {"max_examples": 20}} for m in mutants),
    ]
    warm = [reports(case) for case in cases]
    again = [reports(case) for case in reversed(cases)][::-1]
    assert warm == again  # a case run after the others writes what it wrote before them
    # the cases do differ: otherwise this would not show that nothing of one run leaks into the next
    assert len({w["json"] for w in warm}) == len(cases)
    for case, outputs in zip(cases, warm):
        same(outputs, fresh(case, tmp_path), case)


def test_an_edited_rules_file_is_read_again(tmp_path):
    """A long-running process sees a rules file's new text on the next validation, as a fresh one would."""
    extra = tmp_path / "org.rules"
    extra.write_text('3309 is empty => WRN X-1 BR "eerste tekst"\n', encoding="utf-8")
    case = {"path": str(FAULTY), "extra_rules": [str(extra)], "today": "2018-03-05"}
    first = reports(case)
    assert "eerste tekst" in first["json"]  # every rule is described there, fired or not
    # the same size, possibly the same modification time on a coarse clock: only the bytes differ
    extra.write_text('3309 is empty => ERR X-1 BR "tweede tekst"\n', encoding="utf-8")
    os.utime(extra, ns=(os.stat(extra).st_atime_ns, os.stat(extra).st_mtime_ns + 1_000_000))
    second = reports(case)
    assert "tweede tekst" in second["json"] and "eerste tekst" not in second["json"]
    same(second, fresh(case, tmp_path), case)
    extra.unlink()
    replaced = tmp_path / "org.rules"
    replaced.write_text('3309 is empty => WRN X-1 BR "derde tekst"\n', encoding="utf-8")
    assert "derde tekst" in reports(case)["json"]


def test_a_report_changed_in_place_is_shown_as_it_is_now():
    """The view kept for a report is not used once the report changed (a warning added, as revalidation does)."""
    result = validate(FAULTY, max_per_rule=20)
    before = render_every_format(result, ReportOptions(), skip=("xlsx",))
    result.warnings.append("een waarschuwing achteraf")
    after = render_every_format(result, ReportOptions(), skip=("xlsx",))
    for name in ("text", "json", "html"):
        assert "een waarschuwing achteraf" not in before[name].decode()
        assert "een waarschuwing achteraf" in after[name].decode(), name


def test_a_kept_view_does_not_keep_its_report_alive():
    """Views are kept per report while it lives: a report that is let go takes its view (and findings) along."""
    from disval.core import report_view

    result = validate(FAULTY, max_per_rule=20)
    render_every_format(result, ReportOptions(), skip=("xlsx",))
    assert id(result) in report_view._VIEWS
    gone = weakref.ref(result)
    key = id(result)
    del result
    gc.collect()
    assert gone() is None and key not in report_view._VIEWS
