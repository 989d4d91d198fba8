"""Both languages, completely: every text a report can show exists in Dutch and in English, and a
report in one language shows none of the other's.

The texts come from five places: the report's own words (LABELS, STATUSES), the run's notes
(warnings and not-evaluated reasons), the zip-level ids (ZIP-*/REC-* messages and hints), the
rules file (messages, hints, not-applicable reasons) and the layout (field names).
"""
from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from disval.core.faults import rewrite_member
from disval.core.findings import ZIP_LEVEL, ZIP_LEVEL_DETAILS, ZIP_LEVEL_EN, ZIP_LEVEL_HINTS
from disval.core.generate import generate_delivery
from disval.core.language.parser import parse_rules
from disval.core.notes import NOTES
from disval.core.pipeline import validate
from disval.core.report_view import LABELS, STATUSES
from disval.core.reports import ReportOptions
from disval.plugins.ga_ohw_gbg import standard
from disval.plugins.reports import html, json as json_report, junit, text
from reading import literal as _literal, visible as _visible

RULES = Path(standard().rule_files[0])
BT, GZ = "BEHANDELTRAJECT.txt", "GELEVERD_ZORGPROFIEL.txt"


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def pairs() -> list[tuple[str, str, str]]:
    """(where, Dutch, English) of every text a report can show."""
    out = [(f"LABELS[{k}]", nl, en) for k, (nl, en) in LABELS.items()]
    out += [(f"STATUSES[{k}]", nl, en) for k, (nl, en) in STATUSES.items()]
    out += [(f"NOTES[{k}]", nl, en) for k, (nl, en) in NOTES.items()]
    out += [(f"ZIP_LEVEL[{k}]", ZIP_LEVEL[k], ZIP_LEVEL_EN.get(k, "")) for k in ZIP_LEVEL]
    out += [(f"ZIP_LEVEL_HINTS[{k}]", *ZIP_LEVEL_HINTS.get(k, ("", ""))) for k in ZIP_LEVEL]
    out += [(f"ZIP_LEVEL_DETAILS[{k}]", nl, en) for k, (nl, en) in ZIP_LEVEL_DETAILS.items()]
    for rule in parse_rules(RULES.read_text(encoding="utf-8"), str(RULES)):
        out.append((f"rule {rule.number} message", rule.message, rule.message_en))
        out.append((f"rule {rule.number} hint", rule.hint, rule.hint_en))
        if rule.not_applicable:
            out.append((f"rule {rule.number} not-applicable", rule.not_applicable, rule.not_applicable_en))
    out += [(f"field {f.ddid}", f.name, f.name_en) for f in standard().layout.fields]
    return out


def test_every_text_exists_in_both_languages_with_the_same_placeholders():
    missing = [where for where, nl, en in pairs() if not nl.strip() or not en.strip()]
    assert not missing, f"not translated: {missing}"
    differ = [where for where, nl, en in pairs() if _fields(nl) != _fields(en)]
    assert not differ, f"placeholders differ between the languages: {differ}"


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """Validations that show every kind of text: findings of many rules, zip-level and reader ids,
    rules not evaluated for each reason, warnings."""
    root = tmp_path_factory.mktemp("lang")
    clean = generate_delivery(root / "clean", trajects=12, profiles=12, seed=5)
    faulty = Path(__file__).resolve().parents[2] / "contrib" / "examples" / "faulty"
    lf = rewrite_member(clean, root / "lf", BT, lambda lines: [x.replace(b"\r\n", b"\n") for x in lines])
    tab = rewrite_member(clean, root / "tab", GZ, lambda lines: [x[:30] + b"\t" + x[31:] for x in lines])
    not_a_zip = root / clean.name
    not_a_zip.write_bytes(b"not a zip at all")
    return [
        validate(next(faulty.glob("*.zip")), require_real_codelists=True),
        validate(lf, skip=("1801",)),
        validate(tab, select=("1643", "REC-CHARSET")),
        validate(not_a_zip),
        validate(clean, codelists=str(root)),  # no codelists there: rules not evaluated
    ]


RENDERERS = {"text": text.render, "html": html.render, "junit": junit.render, "json": json_report.render}


@pytest.mark.parametrize("fmt", sorted(RENDERERS))
def test_a_report_in_one_language_shows_nothing_of_the_other(results, fmt):
    render = RENDERERS[fmt]
    # Only texts that differ and are long enough not to occur by chance in the other language. JSON
    # keeps a rule's status as the contract's value ("not applicable"), in both languages.
    texts = [(where, re.compile(_literal(nl)), re.compile(_literal(en))) for where, nl, en in pairs()
             if nl != en and min(len(nl), len(en)) >= 14 and not (fmt == "json" and where.startswith("STATUSES"))]
    for result in results:
        shown = {lang: _visible(render(result, ReportOptions(lang=lang, max_examples=3)).decode(), fmt)
                 for lang in ("nl", "en")}
        for where, nl, en in texts:
            assert not nl.search(shown["en"]), f"{fmt} --lang en shows Dutch {where}: {nl.pattern!r}"
            assert not en.search(shown["nl"]), f"{fmt} --lang nl shows English {where}: {en.pattern!r}"


def test_the_reports_show_the_translated_texts(results):
    faulty, lf, tab, unreadable, no_lists = results
    en = {r.delivery + str(i): text.render(r, ReportOptions(lang="en")).decode() for i, r in enumerate(results)}
    nl = {r.delivery + str(i): text.render(r, ReportOptions(lang="nl")).decode() for i, r in enumerate(results)}
    english, dutch = "\n".join(en.values()), "\n".join(nl.values())
    assert ZIP_LEVEL_EN["ZIP-UNREADABLE"] in english and ZIP_LEVEL["ZIP-UNREADABLE"] in dutch
    assert ZIP_LEVEL_HINTS["REC-EOL"][1] in english and ZIP_LEVEL_HINTS["REC-EOL"][0] in dutch
    assert "left out with --skip" in english and "weggelaten met --skip" in dutch
    assert "Treatment trajectory start date" in english and "Begindatum behandeltraject" in dutch
    assert "wordt in GA OHW-GBG 1.0 niet aangeleverd" in dutch and "is not delivered in GA OHW-GBG 1.0" in english
    assert "vraagt de gegevens van eerdere aanleveringen" in dutch

