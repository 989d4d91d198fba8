"""What every report format shows, decided once: the report view.

Which examples are listed (capped per rule, never the counts), in which
language messages and hints are, and which values are masked for privacy.
The formats in plugins/reports only lay this content out.
"""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from pathlib import PurePath

from .findings import (
    ZIP_LEVEL, ZIP_LEVEL_DETAILS, ZIP_LEVEL_EN, ZIP_LEVEL_HINTS, Finding, RuleInfo, ValidationResult,
)
from .notes import Note, note_text
from .gate.processing_reports import ImportReport, QualityReport
from .reports import ReportOptions


# The columns of a listed finding, in every format that has columns: the keys of
# Finding.as_dict, taken from it so that CSV, xlsx and JSON cannot drift apart.
FINDING_COLUMNS = tuple(Finding("", "", "", None, None, None, None, None, "").as_dict())

# Values of identifying fields (privacy) are replaced by this, whatever their
# length: a partial mask such as the last two characters still narrows a
# koppelnummer down, and a constant does not reveal the value's length.
MASK = "***"

# Control characters are written as \xNN: they are often the very reason for a
# finding (REC-CHARSET), a reader has to see where they are, and XML, HTML and
# xlsx cannot carry most of them raw.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# What no report can hold as text: lone surrogates (a file name that was not UTF-8, decoded
# with surrogateescape, cannot be encoded again) and the noncharacters XML forbids.
_UNENCODABLE = re.compile("[\ud800-\udfff\ufffe\uffff]")


def _escape(match: re.Match) -> str:
    code = ord(match.group())
    if 0xDC80 <= code <= 0xDCFF:  # surrogateescape keeps the original byte here
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def visible(text: str | None, controls: bool = True) -> str | None:
    """`text` with what a report cannot show as it is written as an escape (\\x1b, \\xff, \\ufffe).

    Names and values come from the delivery, so they may hold control
    characters (a terminal escape sequence, NUL) or bytes that were not UTF-8;
    `controls=False` leaves control characters alone for a format that escapes
    them itself (JSON) and only replaces what cannot be encoded at all.
    """
    if text is None:
        return None
    if controls:
        text = _CONTROL.sub(_escape, text)
    return _UNENCODABLE.sub(_escape, text)

# Headings and fixed words, Dutch first (the GA's language), then English.
LABELS = {
    "validation": ("Validatierapport", "Validation report"),
    "quality": ("Kwaliteitsrapport", "Quality report"),
    "import": ("Importrapport", "Import report"),
    "delivery": ("Aanlevering", "Delivery"),
    "standard": ("Standaard", "Standard"),
    "provider": ("Zorgaanbieder", "Provider"),
    "policy": ("Beleid", "Policy"),
    "phase": ("Fase", "Phase"),
    "assessment": ("Beoordeling", "Assessment"),
    "positive": ("positief", "positive"),
    "negative": ("negatief", "negative"),
    "versions": ("Versies", "Versions"),
    "codelists": ("Codelijsten", "Codelists"),
    "warnings": ("Waarschuwingen", "Warnings"),
    "timestamp": ("Tijdstip", "Time"),
    "run": ("Uitgevoerd", "Run"),
    "run_at": ("{start} UTC, duur {seconds} s", "{start} UTC, took {seconds} s"),
    "sample": ("VOORBEELD, niet de lijst van de NZa", "SAMPLE, not the NZa's list"),
    "file": ("Bestand", "File"),
    "records": ("Records", "Records"),
    "records_with": ("Records met {sev}", "Records with {sev}"),
    "severity": ("Ernst", "Severity"),
    "by_severity": ("Bevindingen per ernst", "Findings per severity"),
    "findings": ("Bevindingen", "Findings"),
    "rule": ("Validatie", "Rule"),
    "rules": ("Validaties", "Rules"),
    "type": ("Type", "Type"),
    "count": ("Aantal", "Count"),
    "listed": ("Getoond", "Listed"),
    "not_listed": ("Niet getoond", "Not listed"),
    "more_not_listed": ("nog {n} niet getoond", "{n} more not listed"),
    "description": ("Omschrijving", "Description"),
    "hint": ("Hint", "Hint"),
    "line": ("Regel", "Line"),
    "columns": ("Kolommen", "Columns"),
    "column": ("Kolom", "Column"),
    "column_end": ("Kolom t/m", "Column end"),
    "ddid": ("DDID", "DDID"),
    "field": ("Veld", "Field"),
    "value": ("Waarde", "Value"),
    "expected": ("Verwacht", "Expected"),
    "related": ("Ook gelezen", "Also read"),
    "cause": ("Gevolg van", "Follow-on of"),
    "follow_ons": ("{n} hiervan volgen uit een eerdere bevinding: {causes}",
                   "{n} of these follow from an earlier finding: {causes}"),
    "values": ("Waarden", "Values"),
    "other_values": ("{n} met andere waarden", "{n} with other values"),
    "lines_times": ("{lines} ({n}×)", "{lines} ({n}×)"),
    "message": ("Melding", "Message"),
    "status": ("Status", "Status"),
    "reason": ("Reden", "Reason"),
    "not_evaluated": ("Niet beoordeeld", "Not evaluated"),
    "no_findings": ("Geen bevindingen.", "No findings."),
    "zip_level": ("(zipfile)", "(zip file)"),
    "processed": ("Verwerkt", "Processed"),
    "imported": ("Geïmporteerd", "Imported"),
    "rejected": ("Afgewezen", "Rejected"),
    "already_present": ("Al aanwezig", "Already present"),
    "inserted": ("Nieuw", "Inserted"),
    "changed": ("Gewijzigd", "Changed"),
    "deleted": ("Verwijderd", "Deleted"),
    "total": ("Totaal", "Total"),
    "masked": ("Waarden van identificerende velden zijn gemaskeerd ({mask}).",
               "Values of identifying fields are masked ({mask})."),
    "all_files": ("alle bestanden", "all files"),
    "summary": ("Samenvatting", "Summary"),
    "filter": ("Filter", "Filter"),
    "shown_of": ("{shown} van {total} validaties met bevindingen getoond",
                 "{shown} of {total} rules with findings shown"),
    "intro": ("Elke validatie is een controle uit de gegevensaanleverstandaard (GA). Per validatie staat hieronder "
              "wat er gecontroleerd wordt, hoe vaak de controle afging, de eerste voorbeelden met hun vindplaats "
              "en een hint hoe de export te verbeteren.",
              "Each rule is a check from the data delivery standard (GA). Below, per rule: what it checks, how "
              "often it fired, the first examples with their location and a hint on how to fix the export."),
    "legend": ("ERR = fout, WRN = waarschuwing. Regel = recordnummer binnen het bestand; kolommen = de posities "
               "van het veld in de regel; DDID = het nummer van het veld in de GA.",
               "ERR = error, WRN = warning. Line = record number within the file; columns = the positions of "
               "the field in the line; DDID = the field's number in the GA."),
}


# A rule's status as the rule model names it (JSON and CSV keep these words), for people.
STATUSES = {
    "active": ("actief", "active"),
    "not applicable": ("niet van toepassing", "not applicable"),
    "needs store": ("vraagt eerdere gegevens", "needs earlier data"),
    "not in force": ("niet van kracht op de creatiedatum", "not in force on the creation date"),
    "not evaluated": ("niet beoordeeld", "not evaluated"),
}


def status_text(status: str, options: ReportOptions) -> str:
    """A rule status in the report's language (unknown statuses as they are)."""
    dutch, english = STATUSES.get(status, (status, status))
    return english if options.lang == "en" else dutch


def label(key: str, options: ReportOptions, **values) -> str:
    """A heading or fixed word in the report's language."""
    dutch, english = LABELS[key]
    text = english if options.lang == "en" else dutch
    return text.format(**values) if values else text


def localized(dutch: str, english: str, options: ReportOptions) -> str:
    """`english` when the report is in English and there is one, else the GA's Dutch."""
    return english if options.lang == "en" and english else dutch


def value_text(row: dict, options: ReportOptions) -> str:
    """A listed finding's value for a table cell: "'91'", with what was expected: "'91' (verwacht 92)"."""
    if row["value"] is None:
        return ""
    text = quoted_value(row["value"])
    if row.get("expected") is not None:
        text += f" ({label('expected', options).lower()} {row['expected']})"
    return text


def values_text(line: "RuleLine", options: ReportOptions) -> str:
    """A rule's distinct failing values with their counts: "'BC99' 1000×, 'BC98' 3×; 5 with other values"."""
    parts = [f"{'-' if v is None else repr_value(v)} {n}×" for v, n in line.values]
    text = ", ".join(parts)
    if line.other_values:
        text += "; " + label("other_values", options, n=line.other_values)
    return text


def repr_value(value: str) -> str:
    """A value quoted as reports quote it (see `quoted_value`)."""
    return quoted_value(value)


def follow_ons_text(rows: list[dict], options: ReportOptions) -> str:
    """'3 of these follow from an earlier finding: BEHANDELTRAJECT.txt:12 1643 (2), ...', or ''."""
    causes: dict[str, int] = {}
    for row in rows:
        if row.get("cause"):
            causes[row["cause"]] = causes.get(row["cause"], 0) + 1
    if not causes:
        return ""
    listed = ", ".join(f"{cause} ({n})" for cause, n in causes.items())
    return label("follow_ons", options, n=sum(causes.values()), causes=listed)


def related_text(related: list[dict]) -> str:
    """The other fields a rule read, for a cell: "3233 Creatiedatum pakbon = '20180201'; ..."."""
    return "; ".join(f"{r['ddid']} {r['field']} = " + ("-" if r["value"] is None else quoted_value(r["value"]))
                     for r in related)


def column_range(column: int | None, column_end: int | None) -> str:
    """Columns as a reader counts them: '36-43', '36', or '' for a file- or zip-level finding."""
    if column is None:
        return ""
    if column_end is None or column_end == column:
        return str(column)
    return f"{column}-{column_end}"


def versions_text(versions: dict[str, str]) -> str:
    """'disval 0.1.0, standard 1.2, rules ...' or '-'."""
    return ", ".join(f"{k} {v}" for k, v in versions.items()) or "-"


def codelists_text(codelists, options: ReportOptions = ReportOptions()) -> str:
    """Every codelist release on one line: 'CL_X 2018-01-01 (file); ...' or '-'."""
    return "; ".join(codelist_lines(codelists, options)) or "-"


def codelist_lines(codelists, options: ReportOptions = ReportOptions()) -> list[str]:
    """One line per codelist release: name, release, file name, and loudly whether it is a sample."""
    return [
        f"{c['name']} {c['release'] or '?'} ({c['source']})" + (f" - {label('sample', options)}" if c["sample"] else "")
        for c in codelist_rows(codelists)
    ]


def warning_texts(warnings, options: ReportOptions) -> list[str]:
    """The run's warnings in the report's language (see `disval.core.notes`)."""
    return [note_text(w, options.lang) for w in warnings]


def run_text(result, options: ReportOptions) -> str:
    """When the validation ran and how long it took: '2018-03-01 10:00:00 UTC, took 0.42 s', or '-'."""
    started = getattr(result, "started", None)
    if started is None:
        return "-"
    seconds = f"{result.duration:.2f}" if result.duration is not None else "?"
    return label("run_at", options, start=f"{started:%Y-%m-%d %H:%M:%S}", seconds=seconds)


def shown_value(
    finding: Finding, identifying: tuple[str, ...], options: ReportOptions, escape_controls: bool = True
) -> str | None:
    """The value as a report shows it: masked when the field identifies a person, control characters visible."""
    value = finding.value
    if value is None:
        return None
    if finding.ddid in identifying and value.strip() and not options.show_identifiers:
        return MASK
    return visible(value, escape_controls)


def field_name(ddid: str | None, dutch: str | None, names_en: dict[str, str], options: ReportOptions) -> str | None:
    """A field's name in the report's language (the GA's Dutch name where there is no English one)."""
    if options.lang == "en" and ddid in names_en:
        return names_en[ddid]
    return dutch


def quoted_value(value: str) -> str:
    """A value between single quotes, as the human-readable reports show it: leading spaces stay visible."""
    return f"'{value}'"


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
    row = finding.as_dict()
    row["value"] = shown_value(finding, identifying, options, escape_controls)
    row["field"] = field_name(finding.ddid, finding.field, names_en, options)
    row["related"] = [
        {**r, "field": field_name(r["ddid"], r["field"], names_en, options),
         "value": shown_value(Finding("", "", "", None, None, None, r["ddid"], r["value"], ""), identifying,
                              options, escape_controls)}
        for r in row["related"]
    ]
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
    findings: list[dict]  # the listed findings, in delivery order (see `finding_row`)
    by_rule: dict[str, list[dict]]  # the listed findings of each rule
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
        names += sorted({f["file"] for f in self.findings if f["file"] and f["file"] not in names})
        return names

    def label(self, key: str, **values) -> str:
        """A heading in the report's language."""
        return label(key, self.options, **values)

    def codelist_rows(self) -> list[dict]:
        """The codelist releases used (see `codelist_rows`)."""
        return codelist_rows(self.result.codelists)


def codelist_rows(codelists) -> list[dict]:
    """Codelist releases as name / release (ISO date, or None) / source / sample.

    The source is its last part, the file name (or `workbook[sheet]`): which
    release it was says enough, and a server's directory layout is none of a
    report reader's business.
    """
    return [
        {"name": c.name, "release": c.release.isoformat() if c.release else None,
         "source": PurePath(c.source).name or c.source, "sample": bool(getattr(c, "sample", False))}
        for c in codelists
    ]


def validation_view(
    report: ValidationResult | QualityReport, options: ReportOptions, escape_controls: bool = True
) -> ReportView:
    """Decide once what every format shows of a validation (or quality) report.

    `escape_controls=False` keeps control characters in values as they are,
    for a format that can carry them losslessly (JSON escapes them itself).
    """
    kind = "quality" if isinstance(report, QualityReport) else "validation"
    result = _visible_result(report.result if isinstance(report, QualityReport) else report, escape_controls)
    infos = _rule_infos(result)
    limit = options.max_examples
    by_rule: dict[str, list[dict]] = {}
    listed: list[dict] = []
    for finding in sorted(result.findings, key=Finding.sort_key):
        rows = by_rule.setdefault(finding.rule, [])
        if limit is None or len(rows) < limit:
            row = finding_row(finding, infos[finding.rule], result.identifying, options, escape_controls,
                              getattr(result, "field_names_en", None))
            rows.append(row)
            listed.append(row)
    not_evaluated = {r.rule for r in result.not_evaluated}
    lines = {}
    for rule, info in infos.items():
        shown = len(by_rule.get(rule, ()))
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
        findings=listed, by_rule=by_rule, severity_counts=severity,
    )


def _visible_result(result: ValidationResult, controls: bool) -> ValidationResult:
    """The result with every name and message that came from the delivery made `visible`.

    Values are left to `finding_row`, which masks identifying ones first.
    """
    def shown(text):
        return visible(text, controls)

    return dataclasses.replace(
        result,
        delivery=shown(result.delivery),
        records={shown(name): n for name, n in result.records.items()},
        records_with={shown(name): n for name, n in result.records_with.items()},
        findings=[dataclasses.replace(f, file=shown(f.file), message=shown(f.message)) for f in result.findings],
        warnings=[w if isinstance(w, Note) else shown(w) for w in result.warnings],  # a Note is disval's own text
    )


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


def _rule_infos(result: ValidationResult) -> dict[str, RuleInfo]:
    """Every rule the result knows, plus ids that only findings or counts name (zip-level, reader)."""
    infos: dict[str, RuleInfo] = {}
    for info in (*result.rules, *result.not_evaluated):
        infos.setdefault(info.rule, info)
    first = {}
    for f in result.findings:
        first.setdefault(f.rule, f)
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
