"""The GA DBC-GGZ 9.0 standard as a user meets it: chosen by the zip name, patient data masked."""
from __future__ import annotations

import json
import shutil

from disval.core.cli import main
from disval.core.faults import plant_fault
from disval.core.generate import generate_delivery
from disval.plugins.ga_dbc_ggz import standard


def test_the_zip_name_chooses_the_standard_and_an_unclaimed_name_is_a_zip_name_finding(tmp_path, capsys):
    path = generate_delivery(tmp_path / "d", standard="GA-DBC-GGZ-9.0", records=30)
    assert main(["validate", str(path), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["standard"] == "GA-DBC-GGZ-9.0"
    other = shutil.copy(path, tmp_path / "delivery.zip")
    assert main(["validate", str(other), "--format", "json"]) == 1
    [finding] = json.loads(capsys.readouterr().out)["findings"]
    assert finding["rule"] == "ZIP-NAME" and "GA-DBC-GGZ-9.0" in finding["message"]


def test_zip_names_follow_6_2_1():
    naming = standard().naming
    parsed = naming.parse("DIS_GGZ_DBC_PROD_090_12345678_00_20190415_01.zip")  # the GA's own example
    assert (parsed.phase, parsed.provider, parsed.branch, parsed.sequence) == ("production", "12345678", "00", "01")
    assert parsed.parts["ga_version"] == "09.0"
    assert naming.parse("DIS_GGZ_DBC_PROD_090_1234567_00_20190415_01.zip") is None  # AGB has 8 digits


def test_a_patients_birth_date_is_masked_unless_asked(tmp_path, capsys):
    path = generate_delivery(tmp_path / "d", standard="GA-DBC-GGZ-9.0", records=30)
    bad = plant_fault(path, tmp_path / "bad", "PATIENT.txt", 1, "1444", "19800231", standard=standard())
    assert main(["validate", str(bad), "--format", "json"]) == 1
    [finding] = json.loads(capsys.readouterr().out)["findings"]
    assert finding["rule"] == "577" and finding["value"] == "***"
    assert main(["validate", str(bad), "--format", "json", "--show-identifiers"]) == 1
    assert json.loads(capsys.readouterr().out)["findings"][0]["value"] == "19800231"
