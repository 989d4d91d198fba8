"""What every format must show: uncapped counts, capped examples, language, hints, masking, provenance."""
from __future__ import annotations

import io
import json

import openpyxl
import pytest

from report_support import KOPPELNUMMER, REPORT_MODULES

from disval.core.plugins import DEFAULT_PLUGINS
from disval.core.reports import ReportOptions
from disval.core.report_view import MASK, validation_view

SHOWN_KOPPELNUMMER = KOPPELNUMMER.replace("\x1b", "\\x1b")  # control characters are shown as \xNN
# The formats a person reads whole (CSV is the findings table only, see test_report_csv.py).
DOCUMENTS = ("text", "json", "xlsx", "html", "junit")


def readable(name: str, data: bytes) -> str:
    """All the text a format carries, whatever its container."""
    if name == "xlsx":
        wb = openpyxl.load_workbook(io.BytesIO(data))
        return "\n".join(
            str(cell.value) for ws in wb.worksheets for row in ws.iter_rows() for cell in row if cell.value is not None
        )
    if name == "json":
        return "\n".join(_strings(json.loads(data)))
    text = data.decode("utf-8-sig")
    if name in ("html", "junit"):
        import html

        text = html.unescape(text)
    return text


def test_every_built_in_format_is_a_default_plugin():
    for name in REPORT_MODULES:
        assert f"disval.plugins.reports.{name}" in DEFAULT_PLUGINS


def test_the_formats_and_what_they_can_write(formats):
    assert set(formats) == set(REPORT_MODULES)
    for name in ("text", "json", "csv", "xlsx", "html"):
        assert set(formats[name].kinds) == {"validation", "quality", "import"}
    assert formats["junit"].kinds == ("validation",)
    assert formats["xlsx"].binary and not formats["text"].binary


@pytest.mark.parametrize("name", REPORT_MODULES)
def test_every_format_renders(render, result, name):
    data = render(name, result)
    assert isinstance(data, bytes) and data
    assert "1801" in readable(name, data)


@pytest.mark.parametrize("name", REPORT_MODULES)
def test_identifying_values_are_masked_by_default(render, result, name):
    text = readable(name, render(name, result))
    assert MASK in text
    assert "00000012345" not in text


@pytest.mark.parametrize("name", REPORT_MODULES)
def test_show_identifiers_shows_them_with_control_characters_visible(render, result, name):
    text = readable(name, render(name, result, show_identifiers=True))
    if name == "json":  # the contract gives the exact value; JSON escapes the control character
        assert KOPPELNUMMER in text
        assert b"PAT\\u001b00000012345" in render(name, result, show_identifiers=True)
    else:
        assert SHOWN_KOPPELNUMMER in text
        assert "\x1b" not in text


def test_an_empty_identifying_value_is_not_masked(result):
    view = validation_view(result, ReportOptions())
    (empty,) = view.by_rule["1775"]
    assert empty["value"] == ""  # nothing to hide, and the reader must see that it is empty


@pytest.mark.parametrize("name", DOCUMENTS)
def test_messages_are_dutch_by_default(render, result, name):
    text = readable(name, render(name, result))
    assert "3262 Begindatum behandeltraject > 3233 Creatiedatum pakbon" in text
    assert "Een traject kan niet beginnen na de aanmaakdatum van de aanlevering." in text  # the hint


@pytest.mark.parametrize("name", [*DOCUMENTS, "csv"])
def test_lang_en_translates_messages_and_falls_back_to_dutch(render, result, name):
    text = readable(name, render(name, result, lang="en"))
    assert "3262 Start date of treatment trajectory > 3233 Creation date of the packing slip" in text
    assert "3262 Begindatum behandeltraject > 3233 Creatiedatum pakbon" not in text
    # 1987 has no English message: the GA's Dutch stands in.
    assert "3309 Behandeltrajectnummer is niet meegeleverd in BEHANDELTRAJECT.txt" in text
    # A finding's own details after the rule's text survive the translation.
    assert "Unknown file(s) present in the zip file: LEESMIJ.txt" in text
    if name != "csv":
        assert "A trajectory cannot start after the delivery was created." in text


@pytest.mark.parametrize("name", DOCUMENTS)
def test_capped_examples_are_capped(render, result, name):
    text = readable(name, render(name, result, max_examples=2))
    assert "20190101" not in text  # the third example of 1801 is not listed
    assert "20180402" in text  # the second is


@pytest.mark.parametrize("name", ("text", "html", "junit"))
def test_capped_examples_say_how_many_were_left_out(render, result, name):
    # JSON says it in "not_listed", xlsx in a column of the summary: see their own tests.
    text = readable(name, render(name, result, max_examples=2))
    assert "nog 3 niet getoond" in text and "nog 2 niet getoond" in text
    assert "3 more not listed" in readable(name, render(name, result, max_examples=2, lang="en"))


@pytest.mark.parametrize("name", DOCUMENTS)
def test_codelist_releases_and_versions_are_in_every_report(render, result, name):
    text = readable(name, render(name, result))
    for expected in ("CL_BEROEP_GBG", "2018-01-01", "20180101 cl beroep_gbg v20171201.txt", "CL_REDENSLUITEN_GBG",
                     "0.1.0", "ga_ohw_gbg_1_0.rules 2018-01-23"):
        assert expected in text, expected


def test_counts_are_never_capped(result):
    view = validation_view(result, ReportOptions(max_examples=1))
    counts = {line.info.rule: line.count for line in view.fired}
    assert counts == result.counts
    assert view.severity_counts == {"ERR": 16, "WRN": 1}
    assert all(len(rows) == 1 for rows in view.by_rule.values())
    assert view.not_listed == {"1801": 4, "1758": 3, "1630": 1, "1987": 1}


def test_examples_the_validation_already_left_out_are_reported(result):
    view = validation_view(result, ReportOptions())
    assert view.not_listed == result.listed_out == {"1801": 2}


def test_rules_with_findings_come_errors_first_then_most_frequent(result):
    view = validation_view(result, ReportOptions())
    order = [line.info.rule for line in view.fired]
    assert order[:2] == ["1801", "1758"]
    assert order[-1] == "1788"  # the only WRN


def _strings(doc):
    """Every key, string and number in a JSON document."""
    if isinstance(doc, dict):
        for key, value in doc.items():
            yield str(key)
            yield from _strings(value)
    elif isinstance(doc, list):
        for value in doc:
            yield from _strings(value)
    elif doc is not None:
        yield str(doc)
