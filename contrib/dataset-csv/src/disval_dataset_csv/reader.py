"""A record reader for CSV members: header row, `;` between values, UTF-8.

Each row becomes a fixed-width record of the file's layout (AN and D values
left-aligned, N right-aligned, padded with spaces), so the columnar engine
and every rule work on it unchanged. The columns are the layout's fields in
order; the header row must name them (`Field.name`, case and surrounding
spaces aside).

What does not fit the layout is reported here, located, with ids of its own
(findings without a validation number, like the core's ZIP-... and REC-...):

    CSV-HEADER  the header row is missing or does not name the layout's columns
                in order; the file is not read
    CSV-SYNTAX  the file is not valid CSV (a quoted value never closed, a value
                past the csv module's 131,072 characters); reading stops there
    CSV-FIELDS  a row with more or fewer values than the layout has columns
    CSV-WIDTH   a value longer than its column (column, DDID and field named)

A row with CSV-FIELDS or CSV-WIDTH is counted as a record but gets no field
findings, as a fixed-width record of the wrong length gets none.

`line` is the line in the file where the row starts, as an editor shows it:
the header is line 1, the first record line 2. `column` is the field's
column in the record the row is read into (as for every finding of the
standard), so the DDID and field name are what point at the CSV column.
Characters outside ISO-8859-1 become the control character SUB (0x1A) in
the record, so the core's REC-CHARSET check reports them where they stand.
"""
from __future__ import annotations

import csv
import io
from typing import Iterator

import numpy as np

from disval.core.findings import Finding
from disval.core.delivery_zip import Unreadable
from disval.core.layout import FileLayout
from disval.core.reader import BadRecord, Delivery, Limits, RecordChunk

NAME = "csv"
SEPARATOR = ";"
ENCODING = "utf-8-sig"  # a byte order mark, which spreadsheet exports write, is allowed
_SUB = "\x1a"
MESSAGES = {
    "CSV-HEADER": "De kopregel ontbreekt of noemt niet de kolommen van de indeling, in volgorde",
    "CSV-SYNTAX": "Het bestand is geen geldige CSV; het is vanaf deze regel niet gelezen",
    "CSV-FIELDS": "De regel heeft een ander aantal waarden dan de indeling kolommen heeft",
    "CSV-WIDTH": "De waarde is langer dan de kolom toestaat",
}


def read_csv_records(delivery: Delivery, layout: FileLayout, limits: Limits = Limits(),
                     batch_records: int = 1 << 16) -> Iterator[RecordChunk]:
    """Stream the rows of one CSV member as chunks of fixed-width records (the `RecordReader` contract)."""
    found_as = delivery.found_as[layout.name]
    fields = sorted(layout.fields, key=lambda f: f.begin)
    width = layout.record_length
    try:
        with delivery.open_member(layout.name) as raw:
            text = io.TextIOWrapper(io.BufferedReader(raw), encoding=ENCODING, errors="replace", newline="")
            rows = csv.reader(text, delimiter=SEPARATOR, quotechar='"', strict=True)
            try:
                header = next(rows, None)
                if not _header_ok(header, fields):
                    found = SEPARATOR.join(header) if header else "(no header row)"
                    delivery.findings.append(_finding("CSV-HEADER", found_as, 1, found[:200]))
                    delivery.unreadable.add(layout.name)
                    return
                yield from _records(rows, fields, width, found_as, delivery, batch_records)
            except csv.Error as exc:
                delivery.findings.append(_finding("CSV-SYNTAX", found_as, rows.line_num, str(exc)))
                delivery.unreadable.add(layout.name)
    except Unreadable as exc:  # the only exception reading a member raises, whatever its bytes
        delivery.unreadable_member(layout.name, exc)


def _header_ok(header: list[str] | None, fields) -> bool:
    return header is not None and [h.strip().lower() for h in header] == [f.name.lower() for f in fields]


def _records(rows, fields, width, found_as, delivery, batch_records) -> Iterator[RecordChunk]:
    image = bytearray()
    lines: list[int] = []
    bad: list[BadRecord] = []
    last = rows.line_num  # the header's last line
    for row in rows:
        line, last = last + 1, rows.line_num
        if not row or row == [""]:
            continue  # a blank line is not a record
        record = _record(row, fields, found_as, line, delivery)
        if record is None:
            bad.append(BadRecord(line, len(row), reported=True))  # counted, checked no further: found above
        else:
            image += record
            lines.append(line)
        if len(lines) + len(bad) >= batch_records:
            yield _chunk(image, lines, bad, width)
            image, lines, bad = bytearray(), [], []
    if lines or bad:
        yield _chunk(image, lines, bad, width)


def _record(row: list[str], fields, found_as: str, line: int, delivery: Delivery) -> bytes | None:
    """The row as a fixed-width record, or None (with a finding) when it does not fit the layout."""
    if len(row) != len(fields):
        delivery.findings.append(_finding("CSV-FIELDS", found_as, line, f"{len(row)} waarden, verwacht {len(fields)}"))
        return None
    out = []
    for fld, value in zip(fields, row):
        value = value.strip()
        if len(value) > fld.length:
            delivery.findings.append(Finding(
                rule="CSV-WIDTH", type="V", severity="ERR", file=found_as, line=line, column=fld.begin,
                column_end=fld.end, ddid=fld.ddid, field=fld.name, value=value[:200],
                message=f"{MESSAGES['CSV-WIDTH']} ({fld.ddid} {fld.name}: ten hoogste {fld.length} tekens)"))
            return None
        out.append(value.rjust(fld.length) if fld.type == "N" else value.ljust(fld.length))
    return _latin1("".join(out))


def _latin1(text: str) -> bytes:
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return "".join(c if ord(c) < 256 else _SUB for c in text).encode("latin-1")


def _chunk(image: bytearray, lines: list[int], bad: list[BadRecord], width: int) -> RecordChunk:
    rows = np.frombuffer(bytes(image), dtype=np.uint8).reshape(-1, width)
    return RecordChunk(rows, np.array(lines, dtype=np.int64), bad)


def _finding(rule: str, file: str, line: int | None, value: str | None) -> Finding:
    return Finding(rule=rule, type="V", severity="ERR", file=file, line=line, column=None, ddid=None,
                   value=value, message=MESSAGES[rule])
