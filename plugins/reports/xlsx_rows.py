"""The findings sheet's rows as XML, written straight into XlsxWriter's row file.

XlsxWriter spends some 70 µs on a row of fifteen cells (a call, checks and a
tuple per cell); `--max-findings 0` on a delivery in which every record is
faulty lists millions of rows. In constant-memory mode XlsxWriter writes each
finished row to a file of its own as `<row>` XML with inline strings, so the
findings sheet's rows are made here as exactly that XML (the same escapes,
the same attributes, in the same order: tests compare the two byte for byte)
and appended to that file, a block of findings from one template. Where
XlsxWriter's internals are not what this expects, `available` says no and
the sheet is written cell by cell as before.
"""
from __future__ import annotations

import re

from xlsxwriter.utility import _preserve_whitespace, xl_cell_to_rowcol, xl_col_to_name
from xlsxwriter.worksheet import Worksheet

from disval.core.report_view import related_text

# Stands in for the row number in a row's XML until the row's place is known (XlsxWriter writes a
# control character as _x0000_, so a cell never holds it raw).
ROW = "\x00"
# What XlsxWriter's escapes change in a string: control characters, its own _xHHHH_ escape, the two
# noncharacters, and XML's &, < and >.
_PRESERVE = ' xml:space="preserve"'
_CHANGED = re.compile("[\x00-\x08\x0b-\x1f&<>\ufffe\uffff]|_x[0-9a-fA-F]{4}_")


def available(ws) -> bool:
    """Whether the worksheet is one this module can append rows to (constant memory, XlsxWriter 3)."""
    return (isinstance(ws, Worksheet) and bool(getattr(ws, "constant_memory", False))
            and all(hasattr(ws, name) for name in ("_write_single_row", "_check_dimensions", "fh",
                                                   "_escape_control_characters", "_escape_data")))


class RowXml:
    """Makes the XML XlsxWriter writes for a row of text and numbers (the row number left as `ROW`)."""

    def __init__(self, ws, wrap_format, wrap_from: int, columns: int):
        self.ws, self.wrap_from = ws, wrap_from
        self.wrap = f' s="{wrap_format._get_xf_index()}"'
        self.refs = [f'<c r="{xl_col_to_name(c)}{ROW}"' for c in range(columns)]

    def cell(self, col: int, value) -> str:
        """One cell as `_Sheet.append` writes it through XlsxWriter ('' for an empty one)."""
        if value is None or value == "":
            return ""
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            text = str(value)
            style = self.wrap if len(text) > self.wrap_from else ""
            if _CHANGED.search(text):
                text = self.ws._escape_data(self.ws._escape_control_characters(text))
            space = ' xml:space="preserve"' if _preserve_whitespace(text) else ""
            return f'{self.refs[col]}{style} t="inlineStr"><is><t{space}>{text}</t></is></c>'
        return f"{self.refs[col]}><v>{value:.16G}</v></c>"

    def cells(self, col: int, texts: list) -> list[str]:
        """`cell(col, text)` of each of `texts` (text or None), with one search for what needs escaping."""
        if any(t is not None and type(t) is not str for t in texts) or \
                _CHANGED.search("".join([t for t in texts if t is not None])):
            return [self.cell(col, t) for t in texts]
        ref, wrap, wrap_from = self.refs[col], self.wrap, self.wrap_from
        return ["" if not t else
                f'{ref}{wrap if len(t) > wrap_from else ""} t="inlineStr"><is><t'
                f'{_PRESERVE if t[0].isspace() or t[-1].isspace() else ""}>{t}</t></is></c>'
                for t in texts]

    def row(self, values) -> str:
        """A row's XML."""
        return f'<row r="{ROW}">' + "".join([self.cell(col, v) for col, v in enumerate(values)]) + "</row>"

    def fits(self, values) -> bool:
        """Whether XlsxWriter would write the values as they are (it cuts a text beyond 32,767 UTF-16 units)."""
        return all(not isinstance(v, str) or len(v) <= 16383 for v in values)


def findings_rows(xml: RowXml, columns: tuple[str, ...], hints: dict[str, str]):
    """(render_block, render_row) of the findings sheet for `ReportView.findings.rendered`: each finding's
    row (its JSON columns as text, then the rule's hint) as XML, or None where XlsxWriter must write it."""

    def cells(row: dict) -> list:
        return [related_text(row[c]) if isinstance(row[c], list) else row[c] for c in columns] + \
            [hints.get(row["rule"], "")]

    def one(row: dict):
        values = cells(row)
        return xml.row(values) if xml.fits(values) else values

    at_line, at_value, at_related = columns.index("line"), columns.index("value"), columns.index("related")

    def block(row: dict, lines: list, values: list, related: list | None) -> list:
        head = cells(row)
        if not xml.fits(head) or not xml.fits(values):
            return [one(dict(row, line=line, value=value, related=_related(row["related"], rel)))
                    for line, value, rel in zip(lines, values, related or [()] * len(lines))]
        parts = [xml.cell(col, v).replace("%", "%%") for col, v in enumerate(head)]
        parts[at_line] = parts[at_value] = "%s"
        if related:
            parts[at_related] = "%s"
        template = f'<row r="{ROW}">' + "".join(parts) + "</row>"
        line_ref = xml.refs[at_line]
        lines_xml = [f"{line_ref}><v>{line}</v></c>" for line in lines]  # a line is a whole number
        values_xml = xml.cells(at_value, values)
        if not related:
            return [template % pair for pair in zip(lines_xml, values_xml)]
        names = row["related"]
        related_xml = [xml.cell(at_related, related_text(_related(names, rel))) for rel in related]
        return [template % triple for triple in zip(lines_xml, values_xml, related_xml)]

    return block, one


def _related(names: list[dict], values) -> list[dict]:
    return [dict(r, value=v) for r, v in zip(names, values)] if values else names


def append(ws, first_row: int, rows: list[str]) -> None:
    """Append rows' XML (from `RowXml`) to the worksheet from `first_row` on, and widen its dimensions
    by their first and last cells, as XlsxWriter does for the cells it writes."""
    if not rows:
        return
    ws._write_single_row(first_row)  # XlsxWriter's own pending row (the header) goes first
    ws.fh.write("".join([xml.replace(ROW, str(n)) for n, xml in enumerate(rows, first_row + 1)]))
    last = first_row + len(rows) - 1
    ws.previous_row = last
    firsts = {x[x.find('<c r="') + 6:x.find(ROW, x.find('<c r="'))] for x in rows}
    lasts = {x[x.rfind('<c r="') + 6:x.rfind(ROW)] for x in rows}
    for letters in firsts | lasts:
        ws._check_dimensions(last, xl_cell_to_rowcol(letters + "1")[1])
