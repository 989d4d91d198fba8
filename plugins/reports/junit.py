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

from disval.core.plugins import hookimpl
from disval.core.reports import ReportFormat, ReportOptions
from disval.core.report_view import (
    ReportView, codelist_rows, column_range, quoted_value, run_text, status_text, validation_view, versions_text,
    warning_texts,
)


def render(report, options: ReportOptions) -> bytes:
    """The report as a JUnit XML document (one <testsuite> inside <testsuites>)."""
    view = validation_view(report, options)
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
            failure.text = _failure_text(view, line)
        elif line.count:
            # Findings that do not block: the case passes, and says what it found where CI servers show it.
            case_props = ET.SubElement(case, "properties")
            for name, value in (("severity", line.info.severity), ("count", str(line.count)), ("blocking", "no")):
                ET.SubElement(case_props, "property", {"name": name, "value": value})
            out = ET.SubElement(case, "system-out")
            out.text = (f"{line.count} x {line.info.severity} {line.info.rule}: {line.description}\n"
                        + _failure_text(view, line))
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def _failure_text(view: ReportView, line) -> str:
    lab = view.label
    out = []
    if line.hint:
        out.append(f"{lab('hint')}: {line.hint}")
    for row in view.by_rule.get(line.info.rule, []):
        where = row["file"] or lab("zip_level")
        if row["line"] is not None:
            where += f" {lab('line').lower()} {row['line']}"
        columns = column_range(row["column"], row["column_end"])
        if columns:
            where += f" {lab('columns').lower()} {columns}"
        detail = " ".join(x for x in (row["ddid"], row["field"]) if x)
        if row["value"] is not None:
            detail += f" = {quoted_value(row['value'])}"
        if row["message"] != line.description:
            detail += f" ({row['message']})"
        out.append(f"{where}: {detail.strip()}" if detail.strip() else where)
    if line.not_listed:
        out.append(f"({lab('more_not_listed', n=line.not_listed)})")
    return "\n".join(out)


@hookimpl
def disval_report_formats():
    return [
        ReportFormat(
            name="junit", extension="junit.xml", media_type="application/xml", render=render,
            kinds=("validation",),
            description="JUnit XML: each rule a test case, its blocking findings a failure (for a vendor's CI)",
        )
    ]
