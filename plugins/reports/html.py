"""The HTML report: one self-contained page a data manager can open, read and filter.

Everything is inline (CSS, script) and a Content-Security-Policy forbids
every load from elsewhere, so the page works offline and cannot leak a
delivery's values to the network. Written for someone who has never seen the
GA: every rule shows what it checks and how to fix the export.

Filtering by severity and by file runs in the browser. The filter can be
preset in the address, e.g. `report.html#severity=WRN&file=PAKBON.txt`; the
script records what it shows in data attributes on <body> (`data-filters`,
`data-shown-rules`).
"""
from __future__ import annotations

import html
from typing import Iterator

from disval.core.plugins import hookimpl
from disval.core.gate.processing_reports import IMPORT_COUNTS, ImportReport
from disval.core.reports import ReportFormat, ReportOptions, streamed
from disval.core.report_text import related_texts
from disval.core.report_view import (
    MASK, ReportView, codelist_rows, column_range, follow_ons_text, label, related_text, run_text, status_text,
    validation_view, value_text, values_text, versions_text, visible_import, warning_texts,
)

CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'"

STYLE = """
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0 auto; max-width: 78rem;
       padding: 1rem 1.5rem 3rem; color: #1d1d1f; }
h1 { margin-bottom: .2rem; } h2 { margin-top: 2rem; border-bottom: 2px solid #ddd; }
h3 { margin: 0 0 .3rem; font-size: 1.05rem; }
table { border-collapse: collapse; margin: .5rem 0 1rem; }
th, td { border: 1px solid #ccc; padding: .25rem .5rem; text-align: left; vertical-align: top; }
th { background: #f3f3f3; } td.n { text-align: right; font-variant-numeric: tabular-nums; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .15rem 1rem; }
dt { font-weight: 600; } dd { margin: 0; }
.assessment { font-size: 1.2rem; font-weight: 700; }
.assessment.negative { color: #b00020; } .assessment.positive { color: #1b7f3b; }
.sev { display: inline-block; padding: 0 .35rem; border-radius: 3px; color: #fff; font-size: .8rem; font-weight: 700; }
.sev.ERR { background: #b00020; } .sev.WRN { background: #b86e00; }
.rule { border: 1px solid #ddd; border-radius: 6px; padding: .8rem 1rem; margin: 1rem 0; }
.hint { background: #eef6ff; border-left: 4px solid #2a6ebb; padding: .4rem .6rem; }
.more, .note { color: #555; font-style: italic; }
code { background: #f6f6f6; padding: 0 .2rem; white-space: pre; }
#filters { position: sticky; top: 0; background: #fff; padding: .5rem 0; border-bottom: 1px solid #ddd; }
#filters label { margin-right: 1rem; }
[hidden] { display: none !important; }
@media print { #filters { display: none; } .rule { break-inside: avoid; } }
"""

# Plain ES5 so that an old browser on a locked-down workstation still filters.
SCRIPT = """
(function () {
  "use strict";
  var body = document.body;
  var boxes = Array.prototype.slice.call(document.querySelectorAll('#filters input[name="severity"]'));
  var select = document.getElementById("file-filter");
  var status = document.getElementById("filter-status");
  var params = new URLSearchParams(window.location.hash.slice(1));
  if (params.has("severity")) {
    var wanted = params.get("severity").split(",");
    boxes.forEach(function (box) { box.checked = wanted.indexOf(box.value) >= 0; });
  }
  if (params.has("file")) { select.value = params.get("file"); }
  function apply() {
    var severities = boxes.filter(function (b) { return b.checked; }).map(function (b) { return b.value; });
    var file = select.value;
    var shown = 0, total = 0;
    document.querySelectorAll("[data-severity]").forEach(function (el) {
      var files = el.getAttribute("data-files").split("|");
      var visible = severities.indexOf(el.getAttribute("data-severity")) >= 0 && (!file || files.indexOf(file) >= 0);
      el.hidden = !visible;
      if (el.classList.contains("rule")) { total++; if (visible) { shown++; } }
    });
    document.querySelectorAll("tr[data-file]").forEach(function (row) {
      row.hidden = file !== "" && row.getAttribute("data-file") !== file;
    });
    body.setAttribute("data-shown-rules", String(shown));
    body.setAttribute("data-filter-severity", severities.join(","));
    body.setAttribute("data-filter-file", file);
    status.textContent = status.getAttribute("data-template")
      .replace("{shown}", String(shown)).replace("{total}", String(total));
  }
  boxes.forEach(function (box) { box.addEventListener("change", apply); });
  select.addEventListener("change", apply);
  apply();
  body.setAttribute("data-filters", "ready");
})();
"""


def write(report, options: ReportOptions, out) -> None:
    """Write the report as one UTF-8 HTML page to the binary file `out`, a rule's table row by row."""
    if isinstance(report, ImportReport):
        out.write(_import_page(visible_import(report), options).encode("utf-8"))
        return
    buffer: list[str] = []
    size = 0
    for n, part in enumerate(_page(validation_view(report, options))):
        buffer.append(part if n == 0 else "\n" + part)
        size += len(part)
        if size >= _FLUSH_SIZE:  # a part may be one row or a block's thousands of rows
            out.write("".join(buffer).encode("utf-8"))
            buffer.clear()
            size = 0
    buffer.append("\n")
    out.write("".join(buffer).encode("utf-8"))


render = streamed(write)
_FLUSH_SIZE = 1 << 18  # characters written at once


def _page(view: ReportView) -> Iterator[str]:
    """The page's parts, to be joined by line ends."""
    r = view.result
    parts = [
        _head(view.title, r.delivery, view.options),
        f'<body data-kind="{view.kind}" data-assessment="{_e(r.assessment)}">',
        _header(view), "<main>", _summary(view), _filters(view), _findings(view), _not_evaluated(view), "</main>",
        f"<footer><p class=\"note\">disval {_e(r.versions.get('disval', ''))}</p></footer>",
        f"<script>{SCRIPT}</script>", "</body></html>",
    ]
    for part in parts:
        if isinstance(part, str):
            if part:
                yield part
        else:
            yield from part


def _head(title: str, delivery: str, options: ReportOptions) -> str:
    return (
        f'<!DOCTYPE html>\n<html lang="{"en" if options.lang == "en" else "nl"}">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_e(title)} – {_e(delivery)}</title>\n<style>{STYLE}</style>\n</head>"
    )


def _header(view: ReportView) -> str:
    r, lab = view.result, view.label
    assessment = lab(r.assessment) if r.assessment in ("positive", "negative") else r.assessment
    items = [
        (lab("standard"), _e(r.standard + (f" ({r.standard_title})" if r.standard_title else ""))),
        (lab("policy"), _e(r.policy)), (lab("phase"), _e(r.phase or "-")),
        (lab("versions"), _e(versions_text(r.versions))), (lab("run"), _e(run_text(r, view.options))),
        (lab("codelists"), _codelists(codelist_rows(r.codelists), view.options)),
    ]
    items += [(lab("warnings"), _e(w)) for w in warning_texts(r.warnings, view.options)]
    out = [
        "<header>", f"<h1>{_e(view.title)}</h1>", f'<p class="delivery"><code>{_e(r.delivery)}</code></p>',
        f'<p class="assessment {_e(r.assessment)}">{_e(lab("assessment"))}: {_e(assessment.upper())}</p>',
        _dl(items),
    ]
    if r.identifying and not view.options.show_identifiers:
        out.append(f'<p class="note">{_e(lab("masked", mask=MASK))}</p>')
    out.append("</header>")
    return "\n".join(out)


def _summary(view: ReportView) -> str:
    r, lab = view.result, view.label
    records = _table(
        [lab("file"), lab("records"), lab("records_with", sev="ERR"), lab("records_with", sev="WRN")],
        [[_td(_e(f)), _n(r.records.get(f, "")), _n(r.records_with.get(f, {}).get("ERR", 0)),
          _n(r.records_with.get(f, {}).get("WRN", 0))] for f in r.records], table_id="records",
    )
    severity = _table([lab("severity"), lab("count")],
                      [[_td(_sev(s)), _n(n)] for s, n in sorted(view.severity_counts.items())], table_id="severity")
    overview = [
        "<table id=\"rule-overview\">",
        _tr([lab("rule"), lab("severity"), lab("type"), lab("count"), lab("listed"), lab("description")], "th"),
    ]
    for x in view.fired:
        overview.append(
            f'<tr data-severity="{_e(x.info.severity)}" data-files="{_e(_files(view, x))}">'
            f'<td><a href="#rule-{_e(x.info.rule)}">{_e(x.info.rule)}</a></td><td>{_sev(x.info.severity)}</td>'
            f"<td>{_e(x.info.type)}</td>{_n(x.count)}{_n(x.listed)}<td>{_e(x.description)}</td></tr>"
        )
    overview.append("</table>")
    return "\n".join([
        '<section id="summary">', f"<h2>{_e(lab('summary'))}</h2>", f"<p>{_e(lab('intro'))}</p>",
        f'<p class="note">{_e(lab("legend"))}</p>', records, severity,
        "\n".join(overview) if view.fired else f"<p>{_e(lab('no_findings'))}</p>", "</section>",
    ])


def _filters(view: ReportView) -> str:
    lab = view.label
    severities = sorted({"ERR", "WRN", *(x.info.severity for x in view.fired)})
    boxes = "".join(
        f'<label><input type="checkbox" name="severity" value="{_e(s)}" checked> {_sev(s)}</label>' for s in severities
    )
    options = f'<option value="">{_e(lab("all_files"))}</option>' + "".join(
        f'<option value="{_e(f)}">{_e(f)}</option>' for f in view.files
    )
    template = lab("shown_of", shown="{shown}", total="{total}")
    return (
        f'<section id="filters" aria-label="{_e(lab("filter"))}">{boxes}'
        f'<label>{_e(lab("file"))} <select id="file-filter">{options}</select></label>'
        f'<p id="filter-status" data-template="{_e(template)}"></p></section>'
    )


def _findings(view: ReportView) -> Iterator[str]:
    """The findings section, line by line: a rule's rows are read as they are written."""
    lab = view.label
    yield '<section id="findings">'
    yield f"<h2>{_e(lab('findings'))}</h2>"
    for x in view.fired:
        rows = view.by_rule.get(x.info.rule, [])
        yield (
            f'<section class="rule" id="rule-{_e(x.info.rule)}" data-rule="{_e(x.info.rule)}" '
            f'data-severity="{_e(x.info.severity)}" data-files="{_e(_files(view, x))}">'
        )
        yield (f"<h3>{_sev(x.info.severity)} {_e(x.info.rule)} <small>({_e(x.info.type)})</small> "
               f"{_e(x.description)}</h3>")
        yield f'<p class="counts">{_e(lab("count"))}: {x.count}, {_e(lab("listed").lower())}: {x.listed}</p>'
        if x.hint:
            yield f'<p class="hint"><strong>{_e(lab("hint"))}:</strong> {_e(x.hint)}</p>'
        if x.values and (len(x.values) < x.count or x.other_values):
            values = _e(values_text(x, view.options))
            yield f'<p class="values"><strong>{_e(lab("values"))}:</strong> {values}</p>'
        follow_ons = follow_ons_text(rows, view.options) if view.facts(x)["cause"] else ""
        if follow_ons:
            yield f'<p class="follow-ons">{_e(follow_ons)}</p>'
        if rows:
            facts = view.facts(x)
            with_message, with_related = facts["message"], facts["related"]
            headers = [lab("file"), lab("line"), lab("columns"), lab("ddid"), lab("field"), lab("value")]
            headers += ([lab("related")] if with_related else []) + ([lab("message")] if with_message else [])
            yield "<table>" + _tr(headers, "th")
            rows_of = _Rows(view, with_related, with_message)
            for texts in view.by_rule.rendered(rows_of.block, rows_of.row, rules=[x.info.rule]):
                if texts:  # one part a block (the page's parts are joined by line ends)
                    yield "\n".join(texts)
            yield "</table>"
        if x.not_listed:
            yield f'<p class="more">{_e(lab("more_not_listed", n=x.not_listed))}</p>'
        yield "</section>"
    yield "</section>"


_CUT = "\x00"  # never in a value shown (control characters are shown as text)


def _escaped(values: list) -> list:
    """`_e` of each value (None stays None), the plain ones in one escape of them all joined."""
    plain = [v for v in values if v is not None]
    joined = _CUT.join(plain)
    if joined.count(_CUT) != len(plain) - 1 and plain:  # a value holding the cut itself: one by one
        return [None if v is None else _e(v) for v in values]
    escaped = iter(_e(joined).split(_CUT) if plain else ())
    return [None if v is None else next(escaped) for v in values]


class _Rows:
    """A rule's table rows: one finding's (`row`), or a block of findings' (`block`) from its columns."""

    def __init__(self, view: ReportView, with_related: bool, with_message: bool):
        self.options, self.zip_level = view.options, view.label("zip_level")
        self.with_related, self.with_message = with_related, with_message

    def _cells(self, row: dict, value: str, related: str) -> tuple[str, list[str]]:
        cells = [_e(row["file"] or self.zip_level), _e(row["line"] if row["line"] is not None else ""),
                 _e(column_range(row["column"], row["column_end"])), _e(row["ddid"] or ""),
                 _e(row["field"] or ""), value]
        cells += [related] if self.with_related else []
        cells += [_e(row["message"])] if self.with_message else []
        return f'<tr data-file="{_e(row["file"] or "")}">', cells

    def row(self, row: dict) -> str:
        """One finding's row."""
        # Quoted, in a <code> that keeps white space: leading spaces of a value are visible.
        value = "" if row["value"] is None else f"<code>{_e(value_text(row, self.options))}</code>"
        start, cells = self._cells(row, value, _e(related_text(row["related"])) if self.with_related else "")
        return start + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"

    def block(self, row: dict, lines: list, values: list, related: list | None) -> list[str]:
        """The rows of a block of findings (`row`: its template; then per finding its line, value shown and
        related values shown), as `row` writes each: what the findings share is escaped once."""
        # value_text is the value quoted, then what was expected (the same for the whole block).
        before, after = (_e(part) for part in value_text({"value": _CUT, "expected": row.get("expected")},
                                                          self.options).split(_CUT))
        columns = [[str(n) for n in lines],
                   ["" if v is None else f"<code>{before}{v}{after}</code>" for v in _escaped(values)]]
        varies = self.with_related and bool(related)
        start, cells = self._cells(dict(row, line=None), "",
                                   _e(related_text(row["related"])) if self.with_related and not varies else "")
        cells = [c.replace("%", "%%") for c in cells]
        cells[1] = cells[5] = "%s"
        if varies:
            cells[6] = "%s"
            columns.append([_e(t) for t in related_texts(row["related"], related)])
        template = start.replace("%", "%%") + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"
        return [template % texts for texts in zip(*columns)]


def _not_evaluated(view: ReportView) -> str:
    if not view.not_evaluated:
        return ""
    lab = view.label
    rows = [[_td(_e(x.info.rule)), _td(_e(status_text(x.info.status, view.options))), _td(_e(x.reason)),
             _td(_e(x.description))]
            for x in view.not_evaluated]
    return "\n".join([
        '<section id="not-evaluated">', f"<h2>{_e(lab('not_evaluated'))}</h2>",
        _table([lab("rule"), lab("status"), lab("reason"), lab("description")], rows), "</section>",
    ])


def _import_page(report: ImportReport, options: ReportOptions) -> str:
    lab = lambda key, **kw: label(key, options, **kw)  # noqa: E731
    title = lab("import")
    t = report.totals
    rows = [[_td(_e(f.file)), *map(_n, f.counts())] for f in report.files]
    rows.append([_td(f"<strong>{_e(lab('total'))}</strong>"), *map(_n, t.counts())])
    items = [
        (lab("provider"), _e(report.provider)), (lab("standard"), _e(report.standard or "-")),
        (lab("phase"), _e(report.phase or "-")), (lab("timestamp"), _e(report.timestamp.isoformat(timespec="seconds"))),
        (lab("versions"), _e(versions_text(report.versions))),
        (lab("codelists"), _codelists(codelist_rows(report.codelists), options)),
    ] + [(lab("warnings"), _e(w)) for w in warning_texts(report.warnings, options)]
    return "\n".join([
        _head(title, report.delivery, options), '<body data-kind="import">',
        f"<header><h1>{_e(title)}</h1>",
        f'<p class="delivery"><code>{_e(report.delivery)}</code></p>{_dl(items)}</header>',
        "<main>", _table([lab("file"), *(lab(c) for c in IMPORT_COUNTS)], rows, table_id="import"),
        "</main>", "</body></html>",
    ]) + "\n"


def _files(view: ReportView, line) -> str:
    """The files a rule's findings are in, '|'-separated, for the file filter."""
    files = set(view.facts(line)["files"])
    if line.info.file:
        files.add(line.info.file)
    return "|".join(sorted(files))


def _codelists(rows: list[dict], options: ReportOptions) -> str:
    if not rows:
        return "-"
    sample = f' <strong class="sample">{_e(label("sample", options))}</strong>'
    items = "".join(
        f"<li>{_e(c['name'])} {_e(c['release'] or '?')} <code>{_e(c['source'])}</code>"
        f"{sample if c['sample'] else ''}</li>" for c in rows
    )
    return f"<ul>{items}</ul>"


def _dl(items) -> str:
    return "<dl>" + "".join(f"<dt>{_e(k)}</dt><dd>{v}</dd>" for k, v in items) + "</dl>"


def _table(headers, rows, table_id: str = "") -> str:
    """A table of a heading row and rows of finished cells (see `_td` and `_n`)."""
    ident = f' id="{table_id}"' if table_id else ""
    body = "".join("<tr>" + "".join(row) + "</tr>" for row in rows)
    return f"<table{ident}>{_tr(headers, 'th')}{body}</table>"


def _td(content: str) -> str:
    """A cell around markup that is already escaped."""
    return f"<td>{content}</td>"


def _tr(cells, tag: str) -> str:
    return "<tr>" + "".join(f"<{tag}>{_e(c)}</{tag}>" for c in cells) + "</tr>"


def _n(number) -> str:
    return f'<td class="n">{_e(number)}</td>'


def _sev(severity: str) -> str:
    return f'<span class="sev {_e(severity)}">{_e(severity)}</span>'


def _e(value) -> str:
    return html.escape(str(value), quote=True)


@hookimpl
def disval_report_formats():
    return [
        ReportFormat(
            name="html", extension="html", media_type="text/html; charset=utf-8", render=render, write=write,
            kinds=("validation", "quality", "import"),
            description="One self-contained HTML page: summary, a table per rule, filters by severity and file",
        )
    ]
