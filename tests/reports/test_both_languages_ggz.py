"""GA DBC-GGZ 9.0 in English: the standard's layout has no English field names and its rules file has
English messages for only part of its rules. A report under --lang en must still name every field and
describe every rule (in the GA's Dutch where no English exists), never show an empty name or text.

What is missing is a gap in the standard's data (layout `name_en`, rules `en "..."`), not in the
reports; tests/reports/test_both_languages.py holds GA OHW-GBG, which is complete, to every text.
"""
from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ggz_delivery import PT, ZIP_NAME, clean_members, ggz_pm, set_field, write_zip  # noqa: E402

from disval.core.pipeline import validate  # noqa: E402
from disval.core.reports import ReportOptions  # noqa: E402
from disval.plugins.ga_dbc_ggz import standard  # noqa: E402
from disval.plugins.reports import json as json_report, text  # noqa: E402

LAYOUT = standard().layout


def test_an_english_ggz_report_names_every_field_and_rule_in_dutch_where_no_english_exists(tmp_path):
    members = clean_members(LAYOUT)
    set_field(members, LAYOUT, PT, 1, "1440", "1234ab")  # a postcode in lower case: rule 774
    result = validate(write_zip(members, tmp_path / ZIP_NAME), pm=ggz_pm(), max_per_rule=None,
                      today=dt.date(2019, 5, 2))
    assert result.counts.get("774")
    english = json.loads(json_report.render(result, ReportOptions(lang="en")))
    dutch = json.loads(json_report.render(result, ReportOptions(lang="nl")))
    postcode = LAYOUT.field("1440")
    assert not postcode.name_en  # the gap this test is about; when the layout fills it, English wins
    (row,) = [f for f in english["findings"] if f["rule"] == "774"]
    assert row["field"] == postcode.name and row["field"].strip()
    # Every fired rule has a description in both reports: English where the rules file has it, else Dutch.
    infos = {i.rule: i for i in result.rules}
    for en_rule, nl_rule in zip(english["rules"], dutch["rules"]):
        info = infos[en_rule["rule"]]
        assert nl_rule["message"] == info.message and info.message.strip()
        assert en_rule["message"] == (info.message_en or info.message)
    page = text.render(result, ReportOptions(lang="en")).decode()
    assert postcode.name in page and "Findings" in page
