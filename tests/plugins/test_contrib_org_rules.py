"""contrib/org-rules: an organisation's own rules on top of GA OHW-GBG 1.0, and one-off --rules files."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from contrib_packages import PACKAGES, load_contrib

from disval.core.cli import main
from disval.core.faults import plant_fault
from disval.core.language.parser import parse_rules
from disval.core.pipeline import rulebook, validate
from disval.core.plugins import get_plugin_manager
from disval.plugins.ga_ohw_gbg import HERE as GA_DIR
from disval.plugins.ga_ohw_gbg import standard as ga_standard

org = load_contrib("disval_org_example")
RULES = Path(org.__file__).with_name("org_ga_ohw_gbg_1_0.rules")
ONE_OFF = PACKAGES["disval_org_example"] / "examples" / "one-off.rules"
BT, GZ = "BEHANDELTRAJECT.txt", "GELEVERD_ZORGPROFIEL.txt"


@pytest.fixture
def pm():
    return get_plugin_manager(extra=(org,), load_entry_points=False)


def test_the_plugin_adds_its_rules_to_ga_ohw_gbg_only(pm):
    assert org.disval_extra_rules(standard=ga_standard()) == [RULES]
    other = type("Other", (), {"id": "REG-EXAMPLE-1.0"})()
    assert org.disval_extra_rules(standard=other) == []
    ours = [r for r in rulebook(pm, ga_standard()).rules if r.number.startswith("9")]
    assert [(r.number, r.rule.severity, r.kind) for r in ours] == [
        ("9001", "WRN", "record"), ("9002", "ERR", "record"), ("9003", "WRN", "record"),
        ("9004", "WRN", "record"), ("9005", "WRN", "reference"),
    ]
    assert ours[3].codelists == ("CL_BEHANDELCOMPONENTEN_GBG",)


@pytest.mark.parametrize("path", [RULES, ONE_OFF], ids=["plugin", "one-off"])
def test_each_rule_prints_back_to_its_source(path):
    for rule in parse_rules(path.read_text(encoding="utf-8"), str(path)):
        assert parse_rules(str(rule))[0] == rule


def test_a_clean_delivery_passes_the_organisation_rules(pm, ga_delivery):
    result = validate(ga_delivery, pm=pm)
    assert result.counts == {} and result.assessment == "positive"
    assert RULES.name in result.versions["rules"]  # listed beside the GA's own file


def _one_fault(pm, ga_delivery, tmp_path, *plants, codelists=None):
    path = ga_delivery
    for file, line, ddid, value in plants:
        path = plant_fault(path, tmp_path / f"{ddid}-{line}", file, line, ddid, value)
    result = validate(path, pm=pm, codelists=codelists)
    return {(f.rule, f.file, f.line, f.ddid) for f in result.findings}, result


def test_9001_a_traject_before_october_2016(pm, ga_delivery, tmp_path):
    found, result = _one_fault(pm, ga_delivery, tmp_path, (BT, 2, "3262", "20160930"))
    assert found == {("9001", BT, 2, "3262")}
    assert result.assessment == "positive"  # a WRN does not block


def test_9002_more_than_a_day_of_direct_time(pm, ga_delivery, tmp_path):
    found, result = _one_fault(pm, ga_delivery, tmp_path, (GZ, 3, "3315", "1441"))
    assert found == {("9002", GZ, 3, "3315")}
    assert result.assessment == "negative"  # an ERR of the organisation blocks like the GA's own
    found, _ = _one_fault(pm, ga_delivery, tmp_path / "edge", (GZ, 3, "3315", "1440"))
    assert found == set()


def test_9003_a_record_compared_with_the_packing_slip(pm, ga_delivery, tmp_path):
    found, _ = _one_fault(pm, ga_delivery, tmp_path, (BT, 4, "3263", "20180201"))  # 3233 is 2018-02-01
    assert found == {("9003", BT, 4, "3263")}


def test_9004_a_codelist_at_the_packing_slips_date(pm, ga_delivery, tmp_path):
    # BC99 is valid until 2017-12-31: at 3312 (2017-11-01) it passes the GA's 1753, at 3233 it does not.
    lists = tmp_path / "codelists"
    shutil.copytree(GA_DIR / "codelists", lists)
    path = next(lists.glob("*behandelcomponenten*"))
    path.write_bytes(path.read_bytes() + b"20140101|20171231|BC99|Vervallen component|1\r\n")
    found, _ = _one_fault(pm, ga_delivery, tmp_path, (GZ, 5, "3311", "BC99"), (GZ, 5, "3312", "20171101"),
                          codelists=str(lists))
    assert found == {("9004", GZ, 5, "3311")}


def test_9005_a_reference_to_another_files_key(pm, ga_delivery, tmp_path):
    found, _ = _one_fault(pm, ga_delivery, tmp_path, (GZ, 6, "3309", "NO-SUCH-TRAJECT"))
    assert found == {("1987", GZ, 6, "3309"), ("9005", GZ, 6, "3309")}


def test_a_one_off_rules_file_on_the_command_line(ga_delivery, capsys):
    assert main(["validate", str(ga_delivery), "--format", "json", "--rules", str(ONE_OFF)]) == 0
    report = json.loads(capsys.readouterr().out)
    with zipfile.ZipFile(ga_delivery) as zf:
        records = zf.read(GZ).split(b"\r\n")[:-1]
    empty = [n for n, rec in enumerate(records, start=1) if rec[94:100].strip() == b""]  # 3355, columns 95-100
    assert empty, "the fixture should leave some 3355 empty"
    assert [f["line"] for f in report["findings"] if f["rule"] == "9101"] == empty


def test_a_number_defined_twice_is_one_clear_error(ga_delivery, tmp_path, capsys):
    clash = tmp_path / "clash.rules"
    clash.write_text('# a comment first\n3257 is empty => ERR 1801 M "again"\n', encoding="utf-8")
    assert main(["validate", str(ga_delivery), "--rules", str(clash)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    rules = ga_standard().rule_files[0]
    first = next(n for n, line in enumerate(rules.read_text(encoding="utf-8").splitlines(), 1) if " 1801 " in line)
    assert err.splitlines() == [
        f"disval: {clash}:2:1: error: rule number 1801 is defined twice (first defined at {rules}:{first}:1)",
        '    3257 is empty => ERR 1801 M "again"',
        "    ^",
    ]


def test_a_clash_with_an_installed_plugin_through_the_real_command(ga_delivery, tmp_path, installed):
    """The installed plugin's 9001 against a one-off 9001: exit 2, the message, no traceback."""
    site = installed("disval_org_example")
    clash = tmp_path / "clash.rules"
    clash.write_text('3262 is empty => WRN 9001 M "ours too"\n', encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(site), str(PACKAGES["disval_org_example"] / "src")]))
    run = subprocess.run([sys.executable, "-m", "disval.core.cli", "validate", str(ga_delivery), "--rules", str(clash)],
                         capture_output=True, text=True, env=env, timeout=120)
    assert run.returncode == 2, run.stderr
    assert "Traceback" not in run.stderr
    first = next(n for n, line in enumerate(RULES.read_text(encoding="utf-8").splitlines(), 1) if "WRN 9001 " in line)
    assert run.stderr.splitlines()[0] == (
        f"disval: {clash}:1:1: error: rule number 9001 is defined twice (first defined at {RULES}:{first}:1)")
    assert len(run.stderr.splitlines()) == 3  # the message, the line, the caret
