"""The shipped example deliveries give the results contrib/examples/README.md promises."""
from __future__ import annotations

from pathlib import Path

from disval.core.pipeline import validate

EXAMPLES = Path(__file__).resolve().parents[1] / "contrib" / "examples"


def test_the_clean_example_is_positive_without_findings():
    result = validate(EXAMPLES / "DIS_GBG_OHW_TEST_010_94001234_00_20180201_01.zip")
    assert result.assessment == "positive"
    assert result.counts == {}
    assert result.records == {"PAKBON.txt": 1, "BEHANDELTRAJECT.txt": 40, "GELEVERD_ZORGPROFIEL.txt": 120}


def test_the_faulty_example_has_its_five_planted_faults():
    result = validate(EXAMPLES / "faulty" / "DIS_GBG_OHW_TEST_010_94001234_00_20180301_01.zip")
    assert result.assessment == "negative"
    found = {(f.rule, f.file, f.line) for f in result.findings}
    assert found == {
        ("1769", "BEHANDELTRAJECT.txt", 3),
        ("1751", "GELEVERD_ZORGPROFIEL.txt", 7),
        ("2249", "GELEVERD_ZORGPROFIEL.txt", 11),
        ("1753", "GELEVERD_ZORGPROFIEL.txt", 12),
        ("1651", "GELEVERD_ZORGPROFIEL.txt", None),
    }
