"""The findings sheet's rows as SpreadsheetML, the texts they repeat kept once in a shared-strings table.

`--max-findings 0` on a delivery in which every record is faulty lists
millions of rows, and a finding's row mostly says what its rule's other
findings say too: rule, type, severity, file, field, message, hint. Those
texts go into the workbook's shared-strings part once and a cell refers to one
by number (`<c t="s"><v>12</v></c>`); what differs per finding (the
value, the related values) is written in the cell itself (an inline string).
A block of findings is made from one template, its values escaped in bulk.

A cell says what XlsxWriter writing it cell by cell would show: the same
escapes (Excel's `_xHHHH_` for control characters, XML's &, < and >), the
same wrap format for a long text, the same cut at Excel's 32,767 UTF-16
units. The tests read both with openpyxl and compare cell by cell.
"""
from __future__ import annotations

import re
from itertools import repeat
from xml.sax.saxutils import escape as xml_escape

from disval.core.report_text import related_texts
from disval.core.report_view import related_text

# Joins texts to search them at once (an escaped text never holds it raw: a control character becomes _x0000_).
ROW = "\x00"
# A row and its cells carry no `r` reference: SpreadsheetML lets a reader number them in order (a row after
# the one before, a cell after the one before it), as Excel and openpyxl do, so a row is made before its place
# is known and written as made, with no numbering pass over millions of rows. An empty cell in the middle is
# therefore written (`EMPTY`) where a numbered sheet would skip it.
ROW_START = "<row>"
EMPTY = "<c/>"
SHARED_MAX = 1 << 16  # texts in the shared-strings table at most; later new texts are written in their cells
TEXT_MAX = 32767  # Excel's limit on a cell's text, in UTF-16 units

_LOOKS_ESCAPED = re.compile("_x[0-9a-fA-F]{4}_")
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f]")
# What `escape` changes: control characters, text that looks like Excel's own escape, the two noncharacters,
# and XML's &, < and >.
_CHANGED = re.compile("[\x00-\x08\x0b-\x1f&<>\ufffe\uffff]|_x[0-9a-fA-F]{4}_")
# The ASCII characters `escape` leaves as they are (all but &, < and > and the controls other than tab and LF).
_UNCHANGED_ASCII = bytes(c for c in range(0x80) if chr(c) not in "&<>" and (c >= 0x20 or c in (9, 10)))
_EDGE_SPACE = re.compile(r"^\s|\s$")
# A space at either end of any of texts joined by ROW (which no plain text holds: it is a control character).
_SPACE_AT_EDGE = re.compile(r"(?:^|\x00)\s|\s(?:\x00|$)")
_PRESERVE = ' xml:space="preserve"'


def escape(text: str) -> str:
    """`text` as the XML of a cell's text: Excel's `_xHHHH_` for a control character or a noncharacter
    (and `_x005F` before text that already looks like such an escape, so that it reads back as itself),
    then XML's &, < and >."""
    if not _CHANGED.search(text):
        return text
    text = _LOOKS_ESCAPED.sub(r"_x005F\g<0>", text)
    text = _CONTROL.sub(lambda m: f"_x{ord(m.group()):04X}_", text)
    return xml_escape(text.replace("\ufffe", "_xFFFE_").replace("\uffff", "_xFFFF_"))


def fitted(text: str) -> str:
    """`text` cut to what a cell holds: 32,767 UTF-16 units (a character beyond U+FFFF counts two)."""
    if len(text) <= TEXT_MAX // 2:  # cannot be too long: skip counting
        return text
    units = 0
    for at, char in enumerate(text):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > TEXT_MAX:
            return text[:at]
    return text


def text_xml(text: str) -> str:
    """The `<t>` element of an escaped text."""
    return f"<t{_PRESERVE if _EDGE_SPACE.search(text) else ''}>{text}</t>"


class SharedStrings:
    """The workbook's shared-strings table: each text once, numbered in the order first used.

    Bounded (`SHARED_MAX`), so that millions of findings with texts of their own cannot grow it: a text
    that does not fit is written in its cell instead. A text that looks like Excel's `_xHHHH_` escape is
    always written in its cell, where every reader reads the escape of its underscore alike.
    """

    def __init__(self, limit: int | None = None):
        self.numbers: dict[str, int] = {}
        self.limit = SHARED_MAX if limit is None else limit

    def number(self, text: str) -> int | None:
        """The number of `text` in the table (added if new), or None if it is to be written in its cell."""
        n = self.numbers.get(text)
        if n is None and len(self.numbers) < self.limit and not _LOOKS_ESCAPED.search(text):
            n = self.numbers[text] = len(self.numbers)
        return n

    def part(self) -> bytes:
        """The shared-strings part (xl/sharedStrings.xml)."""
        items = "".join([f"<si>{text_xml(escape(text))}</si>" for text in self.numbers])
        return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
                f'uniqueCount="{len(self.numbers)}">{items}</sst>').encode("utf-8")


class RowXml:
    """Makes the XML of a row of text and numbers, its cells in column order without references."""

    def __init__(self, shared: SharedStrings, wrap_style: int, wrap_from: int, columns: int):
        self.shared, self.wrap_from = shared, wrap_from
        self.wrap = f' s="{wrap_style}"'
        self.refs = ["<c"] * columns  # no reference: see ROW_START

    def cell(self, col: int, value, share: bool = True) -> str:
        """One cell (`EMPTY` for an empty one): a number, or a text, shared if `share` and the table takes it.
        Text is always text, never a formula or a link."""
        if value is None or value == "":
            return EMPTY
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            text = str(value)
            style = self.wrap if len(text) > self.wrap_from else ""
            text = fitted(text)
            n = self.shared.number(text) if share else None
            if n is not None:
                return f'{self.refs[col]}{style} t="s"><v>{n}</v></c>'
            return f'{self.refs[col]}{style} t="inlineStr"><is>{text_xml(escape(text))}</is></c>'
        return f"{self.refs[col]}><v>{value:.16G}</v></c>"

    def cells(self, col: int, texts: list, simple: bool | None = None) -> list[str]:
        """`cell(col, text, share=False)` of each of `texts` (text or None), with one search for what
        needs escaping (`simple`: what `simple(texts)` says, if known)."""
        if not (_simple(texts) if simple is None else simple):
            return [self.cell(col, t, share=False) for t in texts]
        ref, wrap, wrap_from = self.refs[col], self.wrap, self.wrap_from
        distinct = set(texts)
        # A block's values repeat (a wrong code in every record): each distinct one made once.
        made = {t: EMPTY if not t else
                f'{ref}{wrap if len(t) > wrap_from else ""} t="inlineStr"><is><t'
                f'{_PRESERVE if t[0].isspace() or t[-1].isspace() else ""}>{t}</t></is></c>'
                for t in distinct}
        return list(map(made.__getitem__, texts))

    def plain(self, texts: list, simple: bool | None = None) -> bool:
        """Whether each of `texts` is a text that needs no escape, no wrap and no kept spaces (its cell
        is `<c r=.. t="inlineStr"><is><t>TEXT</t></is></c>`): a block's values mostly are. `simple`:
        what `simple(texts)` says, if known."""
        return (_simple(texts) if simple is None else simple) and all(texts) and \
            max(map(len, texts), default=0) <= self.wrap_from and \
            not _SPACE_AT_EDGE.search(ROW.join(texts))


def _simple(texts: list) -> bool:
    """Whether `texts` are texts or None, none too long for a cell and none with anything to escape
    (C-speed checks: a block holds up to 65,536 values)."""
    if not set(map(type, texts)) <= {str, type(None)}:
        return False
    present = list(filter(None, texts))
    joined = "".join(present)
    if joined.isascii():
        # Mostly so: in ASCII only control characters, &, < and > or "_x" can need an escape; the bytes
        # without the others are found at C speed, where the pattern's search is many times slower.
        if joined.encode("ascii").translate(None, _UNCHANGED_ASCII) or "_x" in joined and _CHANGED.search(joined):
            return False
    elif _CHANGED.search(joined):
        return False
    return max(map(len, present), default=0) <= TEXT_MAX // 2


def findings_rows(xml: RowXml, columns: tuple[str, ...], hints: dict[str, str]):
    """(render_block, render_row) of the findings sheet for `ReportView.findings.rendered`: each finding's
    row (its JSON columns as text, then the rule's hint) as XML, unnumbered (see `ROW_START`)."""
    at_line, at_value, at_related = columns.index("line"), columns.index("value"), columns.index("related")
    own = {at_value, at_related}  # what differs per finding: written in the cell, not shared

    def cells(row: dict) -> list:
        return [related_text(row[c]) if isinstance(row[c], list) else row[c] for c in columns] + \
            [hints.get(row["rule"], "")]

    def one(row: dict) -> str:
        return ROW_START + "".join([xml.cell(col, v, col not in own)
                                             for col, v in enumerate(cells(row))]) + "</row>"

    def block(row: dict, lines: list, values: list, related: list | None) -> list[str]:
        # The row's constant pieces around what differs per finding (line, value, related values), joined
        # with each finding's: "".join copies where a %-template would scan its every character again.
        parts = [xml.cell(col, v, col not in own) for col, v in enumerate(cells(row))]
        line_ref = xml.refs[at_line] + "><v>"  # a line is a whole number
        pieces = [ROW_START + "".join(parts[:at_line]) + line_ref,
                  "</v></c>" + "".join(parts[at_line + 1:at_value])]
        n = len(lines)
        line_texts = map(str, lines)
        simple = _simple(values)
        if not related and xml.plain(values, simple):  # the common case: the value's cell is constant but its text
            pieces[1] += f'{xml.refs[at_value]} t="inlineStr"><is><t>'
            end = "</t></is></c>" + "".join(parts[at_value + 1:]) + "</row>"
            return list(map("".join, zip(repeat(pieces[0], n), line_texts, repeat(pieces[1], n), values,
                                         repeat(end, n))))
        values_xml = xml.cells(at_value, values, simple)
        if not related:
            end = "".join(parts[at_value + 1:]) + "</row>"
            return list(map("".join, zip(repeat(pieces[0], n), line_texts, repeat(pieces[1], n), values_xml,
                                         repeat(end, n))))
        names = row["related"]
        related_xml = [xml.cell(at_related, text, share=False) for text in related_texts(names, related)]
        middle = "".join(parts[at_value + 1:at_related])
        end = "".join(parts[at_related + 1:]) + "</row>"
        return list(map("".join, zip(repeat(pieces[0], n), line_texts, repeat(pieces[1], n), values_xml,
                                     repeat(middle, n), related_xml, repeat(end, n))))

    return block, one


