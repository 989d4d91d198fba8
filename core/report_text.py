"""How a report writes a value, a range, a list: the small text forms every format shares.

Values come from the delivery, so they are made `visible` (control characters
and what cannot be encoded as escapes) and quoted the same way everywhere.
"""
from __future__ import annotations

import itertools
import re
from pathlib import PurePath
from typing import TYPE_CHECKING

from .notes import note_text
from .report_labels import label
from .reports import ReportOptions

if TYPE_CHECKING:
    from .report_view import RuleLine

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
_PRINTABLE_ASCII = bytes(range(0x20, 0x7f))  # ASCII but what _CONTROL finds


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

def visible_all(texts: list, controls: bool = True) -> list:
    """`visible` of each of `texts` (None stays None): one search over all of them when none needs an
    escape, which is what a report of millions of values mostly finds."""
    joined = "".join([t for t in texts if t is not None])
    if joined.isascii():
        # What a delivery mostly holds: nothing unencodable, and a control character is found by deleting
        # the printable bytes (C speed, where the pattern's search is many times slower).
        if not (controls and joined.encode("ascii").translate(None, _PRINTABLE_ASCII)):
            return texts
    elif not (controls and _CONTROL.search(joined)) and not _UNENCODABLE.search(joined):
        return texts
    return [visible(t, controls) for t in texts]


def value_text(row: dict, options: ReportOptions) -> str:
    """A listed finding's value for a table cell: "'91'", with what was expected: "'91' (verwacht 92)"."""
    if row["value"] is None:
        return ""
    text = quoted_value(row["value"])
    if row.get("expected") is not None:
        text += f" ({label('expected', options).lower()} {row['expected']})"
    return text


def values_text(line: RuleLine, options: ReportOptions) -> str:
    """A rule's distinct failing values with their counts: "'BC99' 1000×, 'BC98' 3×; 5 with other values"."""
    parts = [f"{'-' if v is None else repr_value(v)} {n}×" for v, n in line.values]
    text = ", ".join(parts)
    if line.other_values:
        text += "; " + label("other_values", options, n=line.other_values)
    return text


def repr_value(value: str) -> str:
    """A value quoted as reports quote it (see `quoted_value`)."""
    return quoted_value(value)


def follow_ons_text(rows: list[dict], options: ReportOptions, counts: list[int] | None = None) -> str:
    """'3 of these follow from an earlier finding: BEHANDELTRAJECT.txt:12 1643 (2), ...', or ''.
    `counts`: how many findings each row stands for (default one)."""
    causes: dict[str, int] = {}
    for row, n in zip(rows, counts or itertools.repeat(1)):
        if row.get("cause"):
            causes[row["cause"]] = causes.get(row["cause"], 0) + n
    if not causes:
        return ""
    listed = ", ".join(f"{cause} ({n})" for cause, n in causes.items())
    return label("follow_ons", options, n=sum(causes.values()), causes=listed)


def related_text(related: list[dict]) -> str:
    """The other fields a rule read, for a cell: "3233 Creatiedatum pakbon = '20180201'; ..."."""
    return "; ".join(f"{r['ddid']} {r['field']} = " + ("-" if r["value"] is None else quoted_value(r["value"]))
                     for r in related)


def related_texts(names: list[dict], values: list[tuple]) -> list[str]:
    """`related_text` of each finding of a block: its related fields `names` (the template's, values None)
    with each finding's values (a tuple per finding, in the order of `names`); a field's name part is made
    once for the block, not once per finding."""
    heads = [f"{r['ddid']} {r['field']} = " for r in names]
    return ["; ".join([h + ("-" if v is None else quoted_value(v)) for h, v in zip(heads, finding)])
            for finding in values]


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


def quoted_value(value: str) -> str:
    """A value between single quotes, as the human-readable reports show it: leading spaces stay visible."""
    return f"'{value}'"


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
