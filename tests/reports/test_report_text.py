"""The terminal report: header, counts first, findings grouped by rule, then what was not evaluated."""
from __future__ import annotations

from report_support import DELIVERY


def test_header_says_what_was_validated_and_how(render, result):
    text = render("text", result).decode("utf-8")
    head = text[: text.index("Records\n")]
    for expected in (DELIVERY, "GA-OHW-GBG-1.0", "Beleid", "dis", "NEGATIEF", "disval 0.1.0", "standard 1.2",
                     "CL_DIAGNOSE_GBG 2017-07-01", "Waarschuwingen", "gemaskeerd (***)"):
        assert expected in head, expected


def test_counts_come_before_the_listing(render, result):
    text = render("text", result).decode("utf-8")
    first_example = text.index("'20180305'")
    for table in ("Records met ERR", "Bevindingen per ernst", "Validaties\n"):
        assert text.index(table) < first_example, table
    records = text[text.index("Records\n"): text.index("Bevindingen per ernst")]
    assert "GELEVERD_ZORGPROFIEL.txt        120                  6                  0" in records
    severity = text[text.index("Bevindingen per ernst"): text.index("Validaties\n")]
    assert "ERR            16" in severity and "WRN             1" in severity


def test_rules_table_has_number_type_severity_count_listed_description(render, result):
    text = render("text", result, max_examples=2).decode("utf-8")
    rules = text[text.index("Validaties\n"): text.index("Bevindingen\n-----------\n\n")]
    line = next(row for row in rules.splitlines() if row.startswith("1801"))
    assert line.split()[:5] == ["1801", "BR", "ERR", "5", "2"]
    assert "3262 Begindatum behandeltraject > 3233 Creatiedatum pakbon" in line


def test_findings_are_grouped_by_rule_with_location_and_hint(render, result):
    text = render("text", result, max_examples=2).decode("utf-8")
    group = text[text.index("1801 BR ERR  3262"): text.index("1758 R ERR")]
    assert "Hint: Een traject kan niet beginnen" in group
    assert "BEHANDELTRAJECT.txt  9        36-43       3262    Begindatum behandeltraject  '20180402'" in group
    assert "(nog 3 niet getoond)" in group


def test_a_finding_without_a_line_is_shown_with_its_own_message(render, result):
    text = render("text", result).decode("utf-8")
    group = text[text.index("739 V ERR"): text.index("REC-CHARSET V ERR")]
    assert "LEESMIJ.txt" in group and "Onbekende bestand(en) aanwezig in de zipfile: LEESMIJ.txt" in group


def test_rules_not_evaluated_come_last_with_their_reason(render, result):
    text = render("text", result).decode("utf-8")
    tail = text[text.index("Niet beoordeeld"):]
    assert "1812" in tail and "needs earlier deliveries of the provider" in tail
    assert "niet van toepassing" in tail and "1767" in tail
    assert text.index("Niet beoordeeld") > text.index("1788 S WRN")


def test_english_headings(render, result):
    text = render("text", result, lang="en").decode("utf-8")
    for expected in ("Validation report", "Assessment", "NEGATIVE", "Findings per severity", "Not evaluated",
                     "Values of identifying fields are masked"):
        assert expected in text, expected


def test_no_findings(render, result):
    result.findings, result.counts, result.assessment = [], {}, "positive"
    text = render("text", result).decode("utf-8")
    assert "POSITIEF" in text and "Geen bevindingen." in text
