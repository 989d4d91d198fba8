"""The terminal report: a header, the counts first, then the findings grouped by rule.

Counts come first because they answer "how bad is it" before the listing
answers "where"; a data manager scrolls the listing only for the rules that
matter to them.
"""
from __future__ import annotations

import functools
import itertools
from typing import Iterator

from tabulate import tabulate

from disval.core.plugins import hookimpl
from disval.core.gate.processing_reports import IMPORT_COUNTS, ImportReport
from disval.core.reports import ReportFormat, ReportOptions, streamed
from disval.core.report_view import (
    MASK, ReportView, codelist_lines, column_range, follow_ons_text, label, related_text, run_text, status_text,
    validation_view, value_text, values_text, versions_text, visible_import, warning_texts,
)

# Lines listed in one grouped row before "…": identical findings are one row with their count.
GROUP_LINES = 5

TABLE = "simple"
WIDE = 70  # descriptions and hints wrap at this width


def write(report, options: ReportOptions, out) -> None:
    """Write the report as UTF-8 text for a terminal to the binary file `out`, a rule at a time."""
    if isinstance(report, ImportReport):
        out.write(render_import(visible_import(report), options).encode("utf-8"))
        return
    for part in _parts(validation_view(report, options)):
        out.write(part.encode("utf-8"))


render = streamed(write)


def render_view(view: ReportView) -> str:
    """A validation or quality report as text."""
    return "".join(_parts(view))


def _parts(view: ReportView) -> Iterator[str]:
    """The report's text in pieces: the header and counts, then the listing a rule at a time."""
    yield _header(view) + "\n\n" + _counts(view) + "\n\n"
    yield from _listing(view)
    if view.not_evaluated:
        yield "\n\n" + _not_evaluated(view)
    yield "\n"


def _header(view: ReportView) -> str:
    r, lab = view.result, view.label
    standard = r.standard + (f" ({r.standard_title})" if r.standard_title else "")
    rows = [
        (lab("delivery"), r.delivery),
        (lab("standard"), standard),
        (lab("policy"), r.policy),
        (lab("phase"), r.phase or "-"),
        (lab("assessment"), lab(r.assessment).upper() if r.assessment in ("positive", "negative") else r.assessment),
        (lab("versions"), versions_text(r.versions)),
        (lab("run"), run_text(r, view.options)),
    ]
    rows += _listed(lab("codelists"), codelist_lines(r.codelists, view.options))
    rows += _listed(lab("warnings"), warning_texts(r.warnings, view.options))
    out = [view.title, "=" * len(view.title), tabulate(rows, tablefmt="plain")]
    if r.identifying and not view.options.show_identifiers:
        out.append(view.label("masked", mask=MASK))
    return "\n".join(out)


def _counts(view: ReportView) -> str:
    r, lab = view.result, view.label
    files = [
        (f, r.records.get(f, ""), r.records_with.get(f, {}).get("ERR", 0), r.records_with.get(f, {}).get("WRN", 0))
        for f in r.records
    ]
    out = [
        _section(lab("records")),
        tabulate(files, headers=[lab("file"), lab("records"), lab("records_with", sev="ERR"),
                                 lab("records_with", sev="WRN")], tablefmt=TABLE),
        "",
        _section(lab("by_severity")),
        tabulate(sorted(view.severity_counts.items()), headers=[lab("severity"), lab("count")], tablefmt=TABLE),
    ]
    if view.fired:
        rules = [(x.info.rule, x.info.type, x.info.severity, x.count, x.listed, x.description) for x in view.fired]
        out += [
            "",
            _section(lab("rules")),
            tabulate(rules, headers=[lab("rule"), lab("type"), lab("severity"), lab("count"), lab("listed"),
                                     lab("description")], tablefmt=TABLE, maxcolwidths=[None] * 5 + [WIDE],
                     disable_numparse=True, colalign=("left", "left", "left", "right", "right", "left")),
        ]
    return "\n".join(out)


def _listing(view: ReportView) -> Iterator[str]:
    """The findings grouped by rule, a rule at a time (only one rule's table is in memory)."""
    lab = view.label
    if not view.fired:
        yield lab("no_findings")
        return
    yield _section(lab("findings"))
    for line in view.fired:
        out = ["", f"{line.info.rule} {line.info.type} {line.info.severity}  {line.description}",
               f"  {lab('count')}: {line.count}, {lab('listed').lower()}: {line.listed}"]
        if line.hint:
            out.append(f"  {lab('hint')}: {line.hint}")
        if line.values and (len(line.values) < line.count or line.other_values):
            out.append(f"  {lab('values')}: {values_text(line, view.options)}")
        # A table's widths need all of its rows: identical findings are one row, so only the distinct
        # ones are held (a rule may list millions of findings, read as they stream from disk).
        groups = _grouped(view, line.info.rule)
        follow_ons = follow_ons_text([row for row, _, _ in groups], view.options, [n for _, _, n in groups])
        if follow_ons:
            out.append(f"  {follow_ons}")
        if groups:
            out.append(_indent(_examples(view, line, groups)))
        if line.not_listed:
            out.append(f"  ({lab('more_not_listed', n=line.not_listed)})")
        yield "\n" + "\n".join(out)


def _examples(view: ReportView, line, groups: list[tuple[dict, list, int]]) -> str:
    """The listed findings of one rule, identical ones (all but the line) as one row with their count;
    a message column only where a finding says more than its rule, a column of the other fields read
    only where the rule reads any."""
    lab = view.label
    rows = [row for row, _, _ in groups]
    with_message = any(row["message"] != line.description for row in rows)
    with_related = any(row["related"] for row in rows)
    with_cause = any(row["cause"] for row in rows)
    headers = [lab("file"), lab("line"), lab("columns"), lab("ddid"), lab("field"), lab("value")]
    table = []
    for row, lines, n in groups:
        where = column_range(row["column"], row["column_end"])
        cells = [row["file"] or lab("zip_level"), _lines_text(lines, n, view), where, row["ddid"] or "",
                 row["field"] or "", value_text(row, view.options)]
        if with_related:
            cells.append(related_text(row["related"]))
        if with_cause:
            cells.append(row["cause"] or "")
        table.append(cells + [row["message"]] if with_message else cells)
    if with_related:
        headers.append(lab("related"))
    if with_cause:
        headers.append(lab("cause"))
    if with_message:
        headers.append(lab("message"))
    widths = [None] * 6 + ([45] if with_related else []) + ([None] if with_cause else [])
    widths += [WIDE] if with_message else []
    return tabulate(table, headers=headers, tablefmt=TABLE, maxcolwidths=widths, disable_numparse=True)


def _grouped(view: ReportView, rule: str) -> list[tuple[dict, list, int]]:
    """The listed rows of `rule` that differ only in their line, as (first row, its first GROUP_LINES
    lines, how many), in order of first appearance.

    A block of findings is grouped by its values without a row per finding (see `RuleRows.rendered`).
    """
    groups: dict[tuple, list] = {}

    def key_of(row: dict) -> tuple:
        return tuple((k, str(v)) for k, v in row.items() if k != "line")

    def one(row: dict) -> tuple:
        key = key_of(row)
        groups.setdefault(key, [row, [], 0])
        return key, row["line"]

    def block(row: dict, lines: list, values: list, related: list | None) -> list:
        keys: dict[tuple, tuple] = {}  # the block's distinct (value, related values): their group's key
        out = []
        names = row["related"]
        for line, value, rel in zip(lines, values, related or itertools.repeat(())):
            key = keys.get((value, rel))
            if key is None:
                first = dict(row, line=line, value=value,
                             related=[dict(r, value=v) for r, v in zip(names, rel)] if related else names)
                key = keys[(value, rel)] = key_of(first)
                groups.setdefault(key, [first, [], 0])
            out.append((key, line))
        return out

    for items in view.by_rule.rendered(block, one, [rule]):
        for key, line in items:
            group = groups[key]
            group[2] += 1
            if group[2] <= GROUP_LINES:
                group[1].append(line)
    return [(row, lines, n) for row, lines, n in groups.values() if n]


def _lines_text(lines: list, n: int, view: ReportView) -> str:
    """'12', or for a group of `n` findings at `lines` (the first GROUP_LINES) '3, 5, 7, 9, 11, … (1000×)'."""
    shown = [str(line) for line in lines[:GROUP_LINES] if line is not None]
    if n == 1:
        return shown[0] if shown else ""
    text = ", ".join(shown) + (", …" if n > GROUP_LINES else "")
    return view.label("lines_times", lines=text, n=n)


def _not_evaluated(view: ReportView) -> str:
    lab = view.label
    rows = tuple((x.info.rule, status_text(x.info.status, view.options), str(x.reason), x.description)
                 for x in view.not_evaluated)
    return _section(lab("not_evaluated")) + "\n" + _not_evaluated_table(
        rows, (lab("rule"), lab("status"), lab("reason"), lab("description")))


@functools.lru_cache(maxsize=64)
def _not_evaluated_table(rows: tuple, headers: tuple) -> str:
    """The table of rules not evaluated, laid out once per distinct table.

    It lists every rule not in force, needing a store or left out: a hundred rows or more, each
    wrapped, the same for every delivery of a standard made on the same day and read the same
    way. A process writing many reports (a portal, a worker) lays it out once.
    """
    return tabulate(rows, headers=headers, tablefmt=TABLE, maxcolwidths=[None, 24, 45, 45], disable_numparse=True)


def render_import(report: ImportReport, options: ReportOptions) -> str:
    """An import report as text: per file what was processed and what became of it."""
    lab = lambda key, **kw: label(key, options, **kw)  # noqa: E731
    head = [
        (lab("delivery"), report.delivery),
        (lab("provider"), report.provider),
        (lab("standard"), report.standard or "-"),
        (lab("phase"), report.phase or "-"),
        (lab("timestamp"), report.timestamp.isoformat(timespec="seconds")),
        (lab("versions"), versions_text(report.versions)),
    ]
    head += _listed(lab("codelists"), codelist_lines(report.codelists, options))
    head += _listed(lab("warnings"), warning_texts(report.warnings, options))
    total = report.totals
    rows = [(f.file, *f.counts()) for f in report.files]
    rows.append((lab("total"), *total.counts()))
    title = lab("import")
    return "\n".join([
        title, "=" * len(title), tabulate(head, tablefmt="plain"), "",
        tabulate(rows, headers=[lab("file"), *(lab(c) for c in IMPORT_COUNTS)], tablefmt=TABLE),
    ]) + "\n"


def _listed(heading: str, items: list[str]) -> list[tuple[str, str]]:
    """One row per item, the heading on the first only."""
    return [(heading if i == 0 else "", item) for i, item in enumerate(items)]


def _section(title: str) -> str:
    return f"{title}\n{'-' * len(title)}"


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())


@hookimpl
def disval_report_formats():
    return [
        ReportFormat(
            name="text", extension="txt", media_type="text/plain; charset=utf-8", render=render, write=write,
            kinds=("validation", "quality", "import"),
            description="The terminal report: counts first, then the findings grouped by rule",
        )
    ]
