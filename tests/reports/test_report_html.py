"""The HTML report, read the way a person reads it: opened in a real browser.

The page is rendered by headless Chromium (the Debian `chromium` package) and
the DOM after its script ran is inspected: the summary, the rule tables, and
the filters (preset through the address, e.g. `#severity=WRN`). Nothing is
installed at run time; without a browser these tests skip and say why.
"""
from __future__ import annotations

import html
import re
import shutil
import subprocess

import pytest

from report_support import DELIVERY, GZ, PB

from disval.core.gate.processing_reports import quality_view
from disval.core.standard import DIS_POLICY

CHROMIUM = shutil.which("chromium")
needs_browser = pytest.mark.skipif(
    CHROMIUM is None, reason="no `chromium` on PATH: install the Debian chromium package to test the HTML report"
)


def test_self_contained(render, result):
    page = render("html", result).decode("utf-8")
    assert "default-src 'none'" in page  # the browser may load nothing from anywhere
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)
    assert "<style>" in page and "<script>" in page


def test_values_are_escaped(render, result):
    import dataclasses

    result.findings.append(dataclasses.replace(result.findings[-1], value="<script>alert(1)</script>", line=2))
    page = render("html", result).decode("utf-8")
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def open_in_browser(tmp_path, page: bytes, fragment: str = "") -> str:
    """The DOM after the page's script ran, as Chromium serialises it."""
    path = tmp_path / "report.html"
    path.write_bytes(page)
    profile = tmp_path / "profile"
    done = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", "--disable-sync", f"--user-data-dir={profile}",
         "--dump-dom", path.as_uri() + fragment],
        capture_output=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-2000:]
    return done.stdout.decode("utf-8")


def tag(dom: str, ident: str) -> str:
    """The opening tag of the element with this id."""
    match = re.search(rf'<[a-z]+ [^>]*id="{re.escape(ident)}"[^>]*>', dom)
    assert match, ident
    return match.group()


def body(dom: str) -> str:
    return re.search(r"<body[^>]*>", dom).group()


def text(dom: str) -> str:
    """Roughly what a reader sees: the text without tags."""
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", dom)))


@needs_browser
def test_a_reader_sees_the_summary_and_a_table_per_rule(tmp_path, render, result):
    dom = open_in_browser(tmp_path, render("html", result, max_examples=2))
    seen = text(dom)
    for expected in ("Validatierapport", DELIVERY, "Beoordeling: NEGATIEF", "Samenvatting",
                     "Hint: Een traject kan niet beginnen na de aanmaakdatum van de aanlevering.",
                     "3262 Begindatum behandeltraject > 3233 Creatiedatum pakbon", "nog 3 niet getoond",
                     "CL_BEROEP_GBG 2018-01-01", "Niet beoordeeld", "needs earlier deliveries of the provider",
                     "8 van 8 validaties met bevindingen getoond"):
        assert expected in seen, expected
    overview = dom[dom.index('id="rule-overview"'): dom.index("</table>", dom.index('id="rule-overview"'))]
    assert overview.count("<tr data-severity") == 8
    section = dom[dom.index('id="rule-1801"'): dom.index("</section>", dom.index('id="rule-1801"'))]
    assert section.count('<tr data-file="BEHANDELTRAJECT.txt"') == 2
    assert "20180402" in section and "20190101" not in section
    assert 'data-filters="ready"' in body(dom)  # the filter script ran
    assert 'data-shown-rules="8"' in body(dom)


@needs_browser
def test_filter_by_severity(tmp_path, render, result):
    dom = open_in_browser(tmp_path, render("html", result), "#severity=WRN")
    assert 'data-filter-severity="WRN"' in body(dom) and 'data-shown-rules="1"' in body(dom)
    assert "hidden" in tag(dom, "rule-1801")
    assert "hidden" not in tag(dom, "rule-1788")
    assert "1 van 8 validaties met bevindingen getoond" in text(dom)


@needs_browser
def test_filter_by_file(tmp_path, render, result):
    dom = open_in_browser(tmp_path, render("html", result), f"#file={GZ}")
    assert f'data-filter-file="{GZ}"' in body(dom) and 'data-shown-rules="2"' in body(dom)
    assert "hidden" not in tag(dom, "rule-1758") and "hidden" not in tag(dom, "rule-1987")
    assert "hidden" in tag(dom, "rule-1801") and "hidden" in tag(dom, "rule-739")
    assert "1 van 8" not in text(dom) and "2 van 8 validaties met bevindingen getoond" in text(dom)


@needs_browser
def test_english_page(tmp_path, render, result):
    seen = text(open_in_browser(tmp_path, render("html", result, lang="en", show_identifiers=True), f"#file={PB}"))
    for expected in ("Validation report", "Assessment: NEGATIVE", "Hint: Write the version as NN.N, e.g. 01.0.",
                     "1 of 8 rules with findings shown", "PAT\\x1b00000012345"):
        assert expected in seen, expected


@needs_browser
def test_quality_and_import_pages(tmp_path, render, result, import_report):
    seen = text(open_in_browser(tmp_path, render("html", quality_view(result, DIS_POLICY))))
    assert "Kwaliteitsrapport" in seen and "1 van 1 validaties met bevindingen getoond" in seen
    seen = text(open_in_browser(tmp_path, render("html", import_report)))
    assert "Importrapport" in seen and "GELEVERD_ZORGPROFIEL.txt 120 110 4 6 100 4 3" in seen
    assert "Totaal 161 149 6 6 100 4 3" in seen
