"""The JSON report: the public contract of `disval validate --format json`.

Tools parse this, so its shape only changes together with its `"schema"`.
A validation report, schema `disval.validation/1`, is one object:

    schema                 "disval.validation/1"
    delivery               the zip's file name
    standard               the standard's id, e.g. "GA-OHW-GBG-1.0"
    assessment             "positive" | "negative"
    policy                 the blocking policy that decided it, e.g. "dis"
    phase                  "test" | "production" | null (zip name not readable)
    records                {file: records read}
    records_with_findings  {file: {"ERR": n, "WRN": n}}, records with at least one finding
    counts                 {"by_rule": {rule: n}, "by_severity": {"ERR": n, "WRN": n}}, never capped
    findings               [{rule, type, severity, file, line, column, column_end, ddid, field,
                             value, message, expected, related}], the listed findings in delivery
                             order; line, column, column_end, ddid, field, value and expected are
                             null where a finding has none (file- and zip-level findings have no
                             line); expected is what the GA expects where value is what was found
                             (a record length, the packing slip's count); related lists the other
                             fields the rule read, [{ddid, field, value}]; cause, for a
                             follow-on finding, the finding that caused it ("FILE:LINE RULE")
    not_listed             {rule: n}, findings counted but not listed (only rules that left some out)
    not_evaluated          [{rule, status, reason, message}]
    rules                  [{rule, type, severity, file, ddid, status, count, listed, message, hint,
                             values, other_values}], every rule the validation knew, so a tool can
                             explain a number; values: the 20 most frequent failing values
                             [{value, count}] over all findings, listed or not (none for an
                             identifying field), other_values: findings with any other value
    codelists              [{name, release (YYYY-MM-DD or null), source (file name), sample}]
    versions               {"disval", "standard", "rules"}
    warnings               [text], in the report's language
    started                when the validation started, ISO 8601 UTC (null if unknown)
    duration_seconds       how long it took (null if unknown)

`message` and `hint` follow `--lang` (English falls back to the GA's Dutch);
`value` is "***" for an identifying field unless `--show-identifiers`, and is
otherwise exact (JSON escapes control characters itself). A quality report
has the same shape under `disval.quality/1`. The JSON Schemas of these
documents ship with disval (`json_schema(kind)`, files in `schemas/`). An import report,
`disval.import/1`, is {schema, delivery, provider, standard, phase,
timestamp, files: {file: {processed, imported, rejected, already_present, inserted, changed, deleted}},
totals, codelists, versions, warnings}.
"""
from __future__ import annotations

import json
from collections.abc import Sequence

from disval.core.plugins import hookimpl
from disval.core.gate.processing_reports import IMPORT_COUNTS, ImportReport
from disval.core.reports import ReportFormat, ReportOptions, streamed
from disval.core.report_view import FINDING_COLUMNS, ReportView, codelist_rows, validation_view, visible_import, warning_texts

SCHEMAS = {"validation": "disval.validation/1", "quality": "disval.quality/1", "import": "disval.import/1"}
# The JSON Schema of each, shipped beside this module (schemas/*.schema.json).
SCHEMA_FILES = {"validation": "disval.validation-1.schema.json", "quality": "disval.validation-1.schema.json",
                "import": "disval.import-1.schema.json"}


def json_schema(kind: str = "validation") -> dict:
    """The JSON Schema (draft 2020-12) of the `kind` report ("validation", "quality" or "import")."""
    from importlib.resources import files

    return json.loads(files("disval.plugins.reports").joinpath("schemas", SCHEMA_FILES[kind]).read_text("utf-8"))


def write(report, options: ReportOptions, out) -> None:
    """Write the report as one JSON object, UTF-8, ending in a newline, to the binary file `out`.

    The listed findings are written one by one as they are read (there may be
    millions); the bytes are exactly those of `json.dumps(document(view),
    ensure_ascii=False, indent=2)`.
    """
    if isinstance(report, ImportReport):
        doc = import_document(visible_import(report, controls=False))
        out.write((json.dumps(doc, ensure_ascii=False, indent=2) + "\n").encode("utf-8"))
        return
    # A value is given exactly; JSON writes a control character as \u00NN itself.
    view = validation_view(report, options, escape_controls=False)
    text = _dumps(_document(view, _PLACEHOLDER), 0) + "\n"
    # With its raw line end and key the placeholder cannot be inside a string of the document.
    head, tail = text.split(_KEY + _string(_PLACEHOLDER), 1)
    out.write((head + _KEY).encode("utf-8"))
    buffer, first, size = [], True, 0
    for texts in view.findings.rendered(_block, _finding):
        if not texts:
            continue
        buffer.append("[\n" if first else ",\n")
        text = texts.joined() if type(texts) is _Items else ",\n".join(texts)
        first = False
        if len(text) >= _FLUSH_SIZE:
            # A whole block: written as it is, not copied into the buffer's join first.
            out.write("".join(buffer).encode("utf-8"))
            out.write(text.encode("utf-8"))
            buffer.clear()
            size = 0
            continue
        buffer.append(text)
        size += len(text)
        if size >= _FLUSH_SIZE:
            out.write("".join(buffer).encode("utf-8"))
            buffer.clear()
            size = 0
    buffer.append("[]" if first else "\n  ]")
    out.write("".join(buffer).encode("utf-8"))
    out.write(tail.encode("utf-8"))


render = streamed(write)

# Stands in for the findings while the rest of the document is dumped; they are written in its place.
_PLACEHOLDER = "\x00disval findings\x00"
_KEY = '\n  "findings": '
_FLUSH_SIZE = 1 << 18  # characters written at once: few writes, a small buffer
_INDENT = "  "


def _finding(row: dict) -> str:
    """A listed finding's row as an item of the findings list (two levels deep), as `_item` writes it:
    its keys are known, so one template and one pass over its plain values do."""
    if tuple(row) != FINDING_COLUMNS:
        return _item(row, 2)
    return _ROW % tuple([
        "null" if v is None else _string(v) if type(v) is str else int.__repr__(v) if type(v) is int
        else _dumps(v, 3) for v in row.values()
    ])


# Stand in for a block's line, value and related values in its template (see `_block`).
_HOLE = "\x00disval %s\x00"


def _block(row: dict, lines: list, values: list, related: list | None) -> Sequence[str]:
    """The items of a block of findings, as `_finding` writes each: its template (`row`) written once with
    holes where line, value and the related values go, then filled per finding."""
    holes = dict(row, line=_HOLE % "line", value=_HOLE % "value",
                 related=[dict(r, value=_HOLE % f"related {i}") for i, r in enumerate(row["related"])])
    text = _finding(holes)
    if not lines:
        return []
    # The block as one text, joined once from the template's fixed parts and, laid out between them in
    # one list, what differs per finding: no formatting of the whole template per finding.
    columns = [list(map(str, lines)), [_null if v is None else _string(v) for v in values]]
    names = ["line", "value"]
    if related:
        for i, column in enumerate(zip(*related)):
            columns.append([_null if r is None else _string(r) for r in column])
            names.append(f"related {i}")
    fixed = []
    for name in names:  # the holes come in this order in the template
        piece, text = text.split(_string(_HOLE % name), 1)
        fixed.append(piece)
    return _Items(fixed + [text], columns)


class _Items(Sequence):
    """A block's items (the texts `_finding` writes), kept as the template's fixed parts and the columns
    of what differs per finding. The writer takes the whole block as one text (`joined`), made by one
    join with no formatting of the template per finding; a finding's own text is only made when the
    block is merged with another rule's findings into delivery order."""

    def __init__(self, fixed: list[str], columns: list[list[str]]):
        self.fixed, self.columns = fixed, columns

    def __len__(self) -> int:
        return len(self.columns[0])

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        fixed = self.fixed
        return fixed[0] + "".join([x for k, column in enumerate(self.columns)
                                   for x in (column[index], fixed[k + 1])])

    def __iter__(self):
        fixed = self.fixed
        template = "%s".join(piece.replace("%", "%%") for piece in fixed)
        return (template % item for item in zip(*self.columns))

    def joined(self) -> str:
        """The items joined by ",\\n" (as the findings list writes them), in one join."""
        fixed, columns = self.fixed, self.columns
        step = 2 * len(columns)
        # fixed[0] opens each item: it goes after the separator that closes the one before.
        parts = [None, *[x for piece in fixed[1:-1] for x in (piece, None)], fixed[-1] + ",\n" + fixed[0]]
        parts *= len(self)
        for k, column in enumerate(columns):
            parts[2 * k::step] = column
        parts[0] = fixed[0] + parts[0]
        parts[-1] = fixed[-1]
        return "".join(parts)


_null = "null"


def _item(value, level: int) -> str:
    """`value` as `json.dumps(..., ensure_ascii=False, indent=2)` writes it `level` levels deep, with the
    leading indent, fast for the plain values a report holds (C string escaping, no encoder object:
    json's C encoder does not indent, and its Python one is most of a small report's time)."""
    return _INDENT * level + _dumps(value, level)


def _dumps(value, level: int) -> str:
    kind = type(value)
    if kind is str:
        return _string(value)
    if value is None:
        return "null"
    if kind is int:
        return int.__repr__(value)
    if kind is dict and all(type(k) is str for k in value):  # json turns other keys to text its own way
        if not value:
            return "{}"
        inner = level + 1
        template = _TEMPLATES.get((tuple(value), level))
        if template is None:
            template = ("{\n" + ",\n".join([_key(k, inner).replace("%", "%%") + "%s" for k in value])
                        + "\n" + _INDENT * level + "}")
            if len(_TEMPLATES) < 512:  # the report's own shapes; a delivery's file names are not kept
                _TEMPLATES[(tuple(value), level)] = template
        return template % tuple([
            "null" if v is None else _string(v) if type(v) is str else int.__repr__(v) if type(v) is int
            else _dumps(v, inner) for v in value.values()
        ])
    if kind is list or kind is tuple:
        if not value:
            return "[]"
        return "[\n" + ",\n".join([_item(v, level + 1) for v in value]) + "\n" + _INDENT * level + "]"
    # Anything else (a bool, a float, a plugin's own value): as json writes it, re-indented to this depth.
    return json.dumps(value, ensure_ascii=False, indent=2).replace("\n", "\n" + _INDENT * level)


_KEYS: dict[tuple, str] = {}
_TEMPLATES: dict[tuple, str] = {}  # (keys, depth) -> an object's text with %s for each value
_ROW = (_INDENT * 2 + "{\n" + ",\n".join(_INDENT * 3 + json.dumps(c) + ": %s" for c in FINDING_COLUMNS) + "\n"
        + _INDENT * 2 + "}")


def _key(key, level: int) -> str:
    """'<indent>"key": ', made once per key and depth."""
    text = _KEYS.get((key, level))
    if text is None:
        text = _INDENT * level + _string(str(key)) + ": "
        if len(_KEYS) < 4096:  # the report's own keys; a delivery's many file names are not all kept
            _KEYS[(key, level)] = text
    return text


_string = json.encoder.encode_basestring  # the C escaper json uses with ensure_ascii=False


def document(view: ReportView) -> dict:
    """The validation (or quality) report as plain JSON values (every listed finding in one list)."""
    return _document(view, list(view.findings))


def _document(view: ReportView, findings) -> dict:
    result = view.result
    return {
        "schema": SCHEMAS[view.kind],
        "delivery": result.delivery,
        "standard": result.standard,
        "assessment": result.assessment,
        "policy": result.policy,
        "phase": result.phase,
        "records": dict(result.records),
        "records_with_findings": {file: dict(per) for file, per in result.records_with.items()},
        "counts": {
            "by_rule": {line.info.rule: line.count for line in view.fired},
            "by_severity": view.severity_counts,
        },
        "findings": findings,
        "not_listed": view.not_listed,
        "not_evaluated": [
            {"rule": line.info.rule, "status": line.info.status, "reason": line.reason, "message": line.description}
            for line in view.not_evaluated
        ],
        # What a tool needs to explain a rule number without the rules file.
        "rules": [
            {
                "rule": line.info.rule, "type": line.info.type, "severity": line.info.severity,
                "file": line.info.file, "ddid": line.info.ddid, "status": line.info.status,
                "count": line.count, "listed": line.listed, "message": line.description, "hint": line.hint,
                "values": [{"value": v, "count": n} for v, n in line.values], "other_values": line.other_values,
            }
            for line in view.rules
        ],
        "codelists": view.codelist_rows(),
        "versions": dict(result.versions),
        "warnings": warning_texts(result.warnings, view.options),
        "started": result.started.isoformat() if result.started else None,
        "duration_seconds": round(result.duration, 3) if result.duration is not None else None,
    }


def import_document(report: ImportReport) -> dict:
    """The import report as plain JSON values."""
    def counts(f):
        return dict(zip(IMPORT_COUNTS, f.counts()))

    return {
        "schema": SCHEMAS["import"],
        "delivery": report.delivery,
        "provider": report.provider,
        "standard": report.standard,
        "phase": report.phase,
        "timestamp": report.timestamp.isoformat(),
        "files": {f.file: counts(f) for f in report.files},
        "totals": counts(report.totals),
        "codelists": codelist_rows(report.codelists),
        "versions": dict(report.versions),
        "warnings": list(report.warnings),
    }


@hookimpl
def disval_report_formats():
    return [
        ReportFormat(
            name="json", extension="json", media_type="application/json", render=render, write=write,
            kinds=("validation", "quality", "import"),
            description="One JSON object, the stable contract for tools (schema disval.validation/1)",
        )
    ]
