"""The JUnit XML report: every rule a test case, its blocking findings a failure.

A vendor runs `disval validate` on each export in CI; the CI server shows a
rule whose findings reject the delivery like a failing test (with the listed
examples and the hint in the failure text) and a rule that could not be
evaluated as skipped. A rule whose findings do not block (a WRN under the
regular DIS policy, everything but ZIP-* under `guidance`, anything at all
when the delivery passed) is a passing test case that carries its findings in
`<system-out>` and in its properties: the CI shows the same verdict as the
exit code, and the warnings are still there to read.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Iterator

from disval.core.plugins import hookimpl
from disval.core.reports import ReportFormat, ReportOptions, streamed
from disval.core.report_view import (
    ReportView, codelist_rows, column_range, quoted_value, run_text, status_text, validation_view, versions_text,
    warning_texts,
)


def write(report, options: ReportOptions, out) -> None:
    """Write the report as a JUnit XML document (one <testsuite> inside <testsuites>) to the binary file
    `out`; a rule's listed findings (there may be millions) are written as they are read."""
    view = validation_view(report, options)
    texts = []  # (rule line, prefix) of each failure or system-out, in document order

    def later(line, prefix: str = "") -> str:
        texts.append((line, prefix))
        return _HOLE % (len(texts) - 1)

    r = view.result
    skipped = {x.info.rule for x in view.not_evaluated}
    failing = {x.info.rule for x in view.fired if x.info.rule not in skipped and r.blocks(x.info.severity, x.info.rule)}
    failures = len(failing)
    cases = view.rules
    attrs = {"tests": str(len(cases)), "failures": str(failures), "errors": "0", "skipped": str(len(skipped))}
    root = ET.Element("testsuites", {"name": f"disval {view.kind}", **attrs})
    suite = ET.SubElement(root, "testsuite", {"name": r.delivery, **attrs})
    props = ET.SubElement(suite, "properties")
    for name, value in [
        ("standard", r.standard), ("assessment", r.assessment), ("policy", r.policy), ("phase", r.phase or ""),
        ("versions", versions_text(r.versions)), ("run", run_text(r, options)),
        ("findings ERR", str(view.severity_counts.get("ERR", 0))),
        ("findings WRN", str(view.severity_counts.get("WRN", 0))),
    ]:
        ET.SubElement(props, "property", {"name": name, "value": value})
    for c in codelist_rows(r.codelists):
        value = f"{c['release'] or '?'} {c['source']}" + (" SAMPLE" if c["sample"] else "")
        ET.SubElement(props, "property", {"name": f"codelist {c['name']}", "value": value})
    for warning in warning_texts(r.warnings, options):
        ET.SubElement(props, "property", {"name": "warning", "value": warning})
    for line in cases:
        name = f"{line.info.rule} {line.description}"
        case = ET.SubElement(suite, "testcase", {"classname": r.standard, "name": name})
        if line.info.rule in skipped:
            status = status_text(line.info.status, options)
            reason = f"{status}: {line.reason}" if line.reason else status
            ET.SubElement(case, "skipped", {"message": reason})
        elif line.info.rule in failing:
            failure = ET.SubElement(case, "failure", {
                "type": f"{line.info.severity} {line.info.type}",
                "message": f"{line.count} x {line.info.severity} {line.info.rule}: {line.description}",
            })
            failure.text = later(line)
        elif line.count:
            # Findings that do not block: the case passes, and says what it found where CI servers show it.
            case_props = ET.SubElement(case, "properties")
            for name, value in (("severity", line.info.severity), ("count", str(line.count)), ("blocking", "no")):
                ET.SubElement(case_props, "property", {"name": name, "value": value})
            system_out = ET.SubElement(case, "system-out")
            system_out.text = later(line, f"{line.count} x {line.info.severity} {line.info.rule}: {line.description}\n")
    ET.indent(root)  # it leaves the text of an element without children (a failure's) as it is
    document = ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"
    for i, (line, prefix) in enumerate(texts):
        head, document = document.split((_HOLE % i).encode("utf-8"), 1)
        out.write(head)
        for part in _failure_text(view, line, prefix):
            out.write(_escape(part).encode("utf-8"))
    out.write(document)


render = streamed(write)

# Stands in for a failure's text while the document is made; a value never holds a raw NUL (report
# values show control characters as \x00).
_HOLE = "\x00junit %d\x00"
# How ElementTree escapes an element's text, so that the streamed text is what it would have written.
_escape = ET._escape_cdata
_FLUSH_EVERY = 4096


def _failure_text(view: ReportView, line, prefix: str = "") -> Iterator[str]:
    """The text of a rule's failure (or system-out) in pieces: its hint, a line per listed finding, how
    many were not listed."""
    lab = view.label
    yield prefix
    out = [f"{lab('hint')}: {line.hint}"] if line.hint else []
    joined = ""  # what goes between the pieces already written and the next
    line_label, columns_label = lab("line").lower(), lab("columns").lower()

    def where_of(row: dict, at) -> str:
        where = row["file"] or lab("zip_level")
        if at is not None:
            where += f" {line_label} {at}"
        columns = column_range(row["column"], row["column_end"])
        if columns:
            where += f" {columns_label} {columns}"
        return where

    def text(where: str, named: str, value, message: str) -> str:
        detail = named
        if value is not None:
            detail += f" = {quoted_value(value)}"
        detail += message
        return f"{where}: {detail.strip()}" if detail.strip() else where

    def one(row: dict) -> str:
        message = f" ({row['message']})" if row["message"] != line.description else ""
        return text(where_of(row, row["line"]), " ".join(x for x in (row["ddid"], row["field"]) if x),
                    row["value"], message)

    def block(row: dict, lines: list, values: list, related) -> list[str]:
        message = f" ({row['message']})" if row["message"] != line.description else ""
        named = " ".join(x for x in (row["ddid"], row["field"]) if x)
        return [text(where_of(row, at), named, value, message) for at, value in zip(lines, values)]

    for texts in view.by_rule.rendered(block, one, [line.info.rule]):
        out.extend(texts)
        if len(out) >= _FLUSH_EVERY:
            yield joined + "\n".join(out)
            out.clear()
            joined = "\n"
    if line.not_listed:
        out.append(f"({lab('more_not_listed', n=line.not_listed)})")
    if out:
        yield joined + "\n".join(out)


@hookimpl
def disval_report_formats():
    return [
        ReportFormat(
            name="junit", extension="junit.xml", media_type="application/xml", render=render, write=write,
            kinds=("validation",),
            description="JUnit XML: each rule a test case, its blocking findings a failure (for a vendor's CI)",
        )
    ]
