"""What every report format shows, decided once: the report view.

Which examples are listed (capped per rule, never the counts), in which
language messages and hints are, and which values are masked for privacy.
The formats in plugins/reports only lay this content out.
"""
from __future__ import annotations

import dataclasses
import weakref
from dataclasses import dataclass

from .findings import (
    ZIP_LEVEL, ZIP_LEVEL_DETAILS, ZIP_LEVEL_EN, ZIP_LEVEL_HINTS, Finding, RuleInfo, ValidationResult,
)
from .notes import Note, note_text
from .gate.processing_reports import ImportReport, QualityReport
from .report_labels import LABELS, STATUSES, label, localized, status_text  # noqa: F401 (the formats' one import)
from .report_text import (  # noqa: F401 (the formats' one import)
    MASK, codelist_lines, codelist_rows, codelists_text, column_range, follow_ons_text, quoted_value,
    related_text, repr_value, run_text, value_text, values_text, versions_text, visible, visible_all,
    warning_texts,
)
from .finding_block import FindingBlock
from .finding_store import FindingList
from .report_rows import AllRows, RuleRows
from .reports import ReportOptions


# The columns of a listed finding, in every format that has columns: the keys of
# Finding.as_dict, taken from it so that CSV, xlsx and JSON cannot drift apart.
FINDING_COLUMNS = tuple(Finding("", "", "", None, None, None, None, None, "").as_dict())


def shown_value(
    finding: Finding, identifying: tuple[str, ...], options: ReportOptions, escape_controls: bool = True
) -> str | None:
    """The value as a report shows it: masked when the field identifies a person, control characters visible."""
    return _shown(finding.ddid, finding.value, identifying, options, escape_controls)


def _shown(ddid: str | None, value: str | None, identifying: tuple[str, ...], options: ReportOptions,
           escape_controls: bool) -> str | None:
    if value is None:
        return None
    if ddid in identifying and value.strip() and not options.show_identifiers:
        return MASK
    return visible(value, escape_controls)


def field_name(ddid: str | None, dutch: str | None, names_en: dict[str, str], options: ReportOptions) -> str | None:
    """A field's name in the report's language (the GA's Dutch name where there is no English one)."""
    if options.lang == "en" and ddid in names_en:
        return names_en[ddid]
    return dutch


def shown_values(ddid: str | None, values: list, identifying: tuple[str, ...], options: ReportOptions,
                 escape_controls: bool = True) -> list:
    """`_shown` of each of `values` of one field, in bulk."""
    if ddid in identifying and not options.show_identifiers:
        return [None if v is None else MASK if v.strip() else visible(v, escape_controls) for v in values]
    return visible_all(values, escape_controls)


def block_parts(block: FindingBlock, info: RuleInfo, identifying: tuple[str, ...], options: ReportOptions,
                escape_controls: bool = True, names_en: dict[str, str] | None = None):
    """A block's findings as `finding_row` makes them, in parts: (the row of its template, with line,
    value and the related values None; the lines; the values shown; per finding the related values
    shown, or None).
    None when a finding's row depends on more than its value (a reader id's detailed message)."""
    head = block.head
    if head.rule in ZIP_LEVEL_DETAILS:
        return None
    row = finding_row(head, info, identifying, options, escape_controls, names_en)
    values = shown_values(head.ddid, block.values, identifying, options, escape_controls)
    related = None
    if block.related:
        columns = [shown_values(ddid, list(column), identifying, options, escape_controls)
                   for (ddid, _, _), column in zip(head.related, zip(*block.related))]
        related = list(zip(*columns))
    return row, block.lines, values, related


def finding_row(
    finding: Finding, info: RuleInfo, identifying: tuple[str, ...], options: ReportOptions,
    escape_controls: bool = True, names_en: dict[str, str] | None = None,
) -> dict:
    """One finding with the keys of `Finding.as_dict`, its values masked and its message localized.

    A finding's message may add details after the rule's own text; in English
    the rule's text is translated and the details are kept. `names_en` gives
    the fields' English names.
    """
    names_en = names_en or {}
    english = options.lang == "en"
    # Built directly in the order of Finding.as_dict (FINDING_COLUMNS): a report may make millions.
    row = {
        "rule": finding.rule, "type": finding.type, "severity": finding.severity, "file": finding.file,
        "line": finding.line, "column": finding.column, "column_end": finding.column_end, "ddid": finding.ddid,
        "field": names_en.get(finding.ddid, finding.field) if english else finding.field,
        "value": _shown(finding.ddid, finding.value, identifying, options, escape_controls),
        "message": None, "expected": finding.expected,
        "related": [
            {"ddid": d, "field": names_en.get(d, name) if english else name,
             "value": _shown(d, v, identifying, options, escape_controls)}
            for d, name, v in finding.related
        ],
        "cause": finding.cause,
    }
    message = finding.message
    if options.lang == "en" and info.message_en:
        detail = ZIP_LEVEL_DETAILS.get(finding.rule)
        if detail is not None and message.startswith(info.message):
            # A reader id's detail is a template of its own: its Dutch words are not kept in English.
            message = info.message_en + detail[1].format(found=finding.value, expected=finding.expected)
        elif message.startswith(info.message):
            message = info.message_en + message[len(info.message):]
        elif not message:
            message = info.message_en
    row["message"] = message
    return row


@dataclass(frozen=True)
class RuleLine:
    """One rule as a report shows it: what it checks, how to fix it and how often it fired."""

    info: RuleInfo
    count: int
    listed: int
    description: str
    hint: str
    reason: str
    values: tuple[tuple[str | None, int], ...] = ()  # distinct failing values, most frequent first
    other_values: int = 0  # findings whose value is not among `values`

    @property
    def not_listed(self) -> int:
        """Findings of this rule that were counted but not listed."""
        return self.count - self.listed


@dataclass
class ReportView:
    """A validation or quality report, ready to lay out: every format reads this and nothing else."""

    kind: str  # "validation" | "quality"
    result: ValidationResult
    options: ReportOptions
    rules: list[RuleLine]  # every rule, in the rules file's order, then ids only findings name
    fired: list[RuleLine]  # rules with at least one finding: ERR first, then most frequent
    not_evaluated: list[RuleLine]
    # The listed findings as rows (see `finding_row`), in delivery order, made as a format iterates:
    # they may be millions, read back from disk (see report_rows).
    findings: AllRows
    by_rule: RuleRows  # the listed rows of each rule
    severity_counts: dict[str, int]  # uncapped; ERR and WRN always present

    @property
    def title(self) -> str:
        """'Validatierapport' or 'Kwaliteitsrapport' in the report's language."""
        return label(self.kind, self.options)

    @property
    def not_listed(self) -> dict[str, int]:
        """Per rule, how many findings are counted but not listed (only rules that left some out)."""
        return {r.info.rule: r.not_listed for r in self.fired if r.not_listed}

    @property
    def files(self) -> list[str]:
        """The delivery's files, then any other file a finding names."""
        names = list(self.result.records)
        named = set().union(*(self.by_rule.facts(r.info.rule, r.description)["files"] for r in self.fired))
        names += sorted(f for f in named if f not in names)
        return names

    def facts(self, line: RuleLine) -> dict:
        """What a layout needs to know of a rule's listed rows before writing them (see `RuleRows.facts`)."""
        return self.by_rule.facts(line.info.rule, line.description)

    def label(self, key: str, **values) -> str:
        """A heading in the report's language."""
        return label(key, self.options, **values)

    def codelist_rows(self) -> list[dict]:
        """The codelist releases used (see `codelist_rows`)."""
        return codelist_rows(self.result.codelists)


# id(report) -> {(options, escape_controls, state): view}; an entry leaves with its report (weakref.finalize)
_VIEWS: dict[int, dict[tuple, ReportView]] = {}


def validation_view(
    report: ValidationResult | QualityReport, options: ReportOptions, escape_controls: bool = True
) -> ReportView:
    """Decide once what every format shows of a validation (or quality) report.

    `escape_controls=False` keeps control characters in values as they are,
    for a format that can carry them losslessly (JSON escapes them itself).

    A report written in several formats is looked at once: the view is kept
    for as long as the report lives and handed to every format that asks with
    the same options (a view is only read). A report changed in place since
    (its assessment, findings, counts or warnings) gets a new view.
    """
    given = report.result if isinstance(report, QualityReport) else report
    key = (options, escape_controls, given.assessment, id(given.findings), len(given.findings),
           len(given.counts), len(given.warnings), len(given.rules))
    views = _VIEWS.get(id(report))
    if views is None:
        views = {}
        try:
            # The entry goes when the report does: a view must not keep a report's findings alive.
            weakref.finalize(report, _VIEWS.pop, id(report), None)
        except TypeError:  # a report that cannot be weakly referenced is not kept
            return _build_view(report, options, escape_controls)
        _VIEWS[id(report)] = views
    view = views.get(key)
    if view is None:
        view = views[key] = _build_view(report, options, escape_controls)
    return view


def _build_view(
    report: ValidationResult | QualityReport, options: ReportOptions, escape_controls: bool
) -> ReportView:
    kind = "quality" if isinstance(report, QualityReport) else "validation"
    given = report.result if isinstance(report, QualityReport) else report
    result = _visible_result(given, escape_controls)
    infos = _rule_infos(result, given.findings, escape_controls)
    names_en = getattr(result, "field_names_en", None)

    def row(finding: Finding) -> dict:
        return finding_row(finding, infos[finding.rule], result.identifying, options, escape_controls, names_en)

    def parts(block: FindingBlock):
        return block_parts(block, infos[block.head.rule], result.identifying, options, escape_controls, names_en)

    by_rule = RuleRows(result.findings, options.max_examples, row, parts)
    not_evaluated = {r.rule for r in result.not_evaluated}
    lines = {}
    for rule, info in infos.items():
        shown = by_rule.listed(rule)
        lines[rule] = RuleLine(
            info=info,
            count=max(result.counts.get(rule, 0), shown),
            listed=shown,
            description=localized(info.message, info.message_en, options),
            hint=localized(info.hint, info.hint_en, options),
            reason=note_text(info.reason, options.lang) if isinstance(info.reason, Note)
            else localized(info.reason, info.reason_en, options),
            **_value_counts(result, info, options, escape_controls),
        )
    fired = sorted(
        (line for line in lines.values() if line.count),
        key=lambda r: (r.info.severity != "ERR", -r.count, r.info.rule),
    )
    severity = {"ERR": 0, "WRN": 0}
    for line in fired:
        severity[line.info.severity] = severity.get(line.info.severity, 0) + line.count
    return ReportView(
        kind=kind, result=result, options=options, rules=list(lines.values()), fired=fired,
        not_evaluated=[line for rule, line in lines.items() if rule in not_evaluated],
        findings=AllRows(by_rule), by_rule=by_rule, severity_counts=severity,
    )


def _visible_result(result: ValidationResult, controls: bool) -> ValidationResult:
    """The result with every name and message that came from the delivery made `visible`.

    Values are left to `finding_row`, which masks identifying ones first.
    """
    def shown(text):
        return visible(text, controls)

    visible_findings = _VisibleFindings(controls)
    return dataclasses.replace(
        result,
        delivery=shown(result.delivery),
        records={shown(name): n for name, n in result.records.items()},
        records_with={shown(name): n for name, n in result.records_with.items()},
        findings=FindingList.of(result.findings).mapped(visible_findings, visible_findings.block),
        warnings=[w if isinstance(w, Note) else shown(w) for w in result.warnings],  # a Note is disval's own text
    )


def _visible_finding(f: Finding, controls: bool) -> Finding:
    """The finding with its file name and message made `visible`."""
    file, message = visible(f.file, controls), visible(f.message, controls)
    if file == f.file and message == f.message:
        return f  # the common case: nothing to escape, no copy
    return dataclasses.replace(f, file=file, message=message)


class _VisibleFindings:
    """`_visible_finding` for a stream of findings: a file name and a message are each looked at once
    (a report may list millions of findings of a few files and messages)."""

    def __init__(self, controls: bool):
        self.controls = controls
        self.seen: dict[tuple, tuple[str | None, str | None] | None] = {}

    def __call__(self, f: Finding) -> Finding:
        key = (f.file, f.message)
        try:
            shown = self.seen[key]
        except KeyError:
            file, message = visible(f.file, self.controls), visible(f.message, self.controls)
            shown = None if file == f.file and message == f.message else (file, message)
            if len(self.seen) < 10_000:  # a message with a detail per finding must not grow this for ever
                self.seen[key] = shown
        if shown is None:
            return f
        return dataclasses.replace(f, file=shown[0], message=shown[1])

    def block(self, block: FindingBlock) -> FindingBlock:
        """The block with its template's file name and message made visible."""
        head = self(block.head)
        return block if head is block.head else block.with_head(head)


def visible_import(report: ImportReport, controls: bool = True) -> ImportReport:
    """The import report with its delivery, provider, file names and warnings made `visible`."""
    def shown(text):
        return visible(text, controls)

    return dataclasses.replace(
        report, delivery=shown(report.delivery), provider=shown(report.provider),
        files=[dataclasses.replace(f, file=shown(f.file)) for f in report.files],
        warnings=[w if isinstance(w, Note) else shown(w) for w in report.warnings],
    )


# How many distinct failing values a report lists per rule; the rest are summed as "other values".
TOP_VALUES = 20


def _value_counts(result: ValidationResult, info: RuleInfo, options: ReportOptions, escape: bool = True) -> dict:
    """The rule's most frequent failing values, masked like the listed ones (an identifying field's
    values are not listed at all: one count per hidden value would still tell them apart)."""
    counted = getattr(result, "values", {}).get(info.rule, {})
    if not counted or (info.ddid in result.identifying and not options.show_identifiers):
        return {}
    ranked = sorted(counted.items(), key=lambda kv: (-kv[1], kv[0] is None, kv[0] or ""))
    shown = tuple((visible(v, escape), n)
                  for v, n in ranked[:TOP_VALUES])
    other = sum(n for _, n in ranked[TOP_VALUES:]) + getattr(result, "other_values", {}).get(info.rule, 0)
    return {"values": shown, "other_values": other}


def _rule_infos(result: ValidationResult, given=(), controls: bool = True) -> dict[str, RuleInfo]:
    """Every rule the result knows, plus ids that only findings or counts name (zip-level, reader).

    Ids only findings name come in the order of their first finding in `given` (the findings as the
    caller handed them); a FindingList is in delivery order, so its rules' first findings say it
    without a pass over all of them.
    """
    infos: dict[str, RuleInfo] = {}
    for info in (*result.rules, *result.not_evaluated):
        infos.setdefault(info.rule, info)
    first: dict[str, Finding] = {}
    if isinstance(given, FindingList):
        findings = result.findings
        firsts = ((rule, next(iter(findings.by_rule(rule)), None)) for rule in findings.rules)
        first = dict(sorted(((r, f) for r, f in firsts if f is not None), key=lambda kv: kv[1].sort_key()))
    else:
        for f in given:
            if f.rule not in first:
                first[f.rule] = _visible_finding(f, controls)
    for rule in (*first, *result.counts):
        if rule not in infos:
            f = first.get(rule)
            infos[rule] = RuleInfo(
                rule=rule, type=f.type if f else "V", severity=f.severity if f else "ERR",
                file=f.file if f else None, ddid=f.ddid if f else None, status="active",
                message=ZIP_LEVEL.get(rule, f.message if f else rule), message_en=ZIP_LEVEL_EN.get(rule, ""),
                hint=ZIP_LEVEL_HINTS.get(rule, ("", ""))[0], hint_en=ZIP_LEVEL_HINTS.get(rule, ("", ""))[1],
            )
    return infos
