"""A delivery's records as the store imports them: fields decoded per DDID, keyed, counted per file.

The records come through the same `disval_record_reader` hook as validation,
so a standard with another record format imports unchanged. Each record
becomes (file, key, {DDID: value}) with the padding spaces removed (GA §4.2);
the key is the file's primary key (joined with '|' when it has several
fields), the value the history rules 1656 and 2054 look records up by.

A line that is not a record of its file's length cannot be cut into fields:
it is counted as processed and rejected, never imported. Every other record
of a positively assessed delivery is imported (this GA delivers full loads
only, §5.2.1).
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np

from .layout import FileLayout
from .pipeline import record_readers
from .processing_reports import FileImport
from .reader import Limits, open_delivery
from .standard import Standard

KEY_SEPARATOR = "|"


@dataclass
class DeliveryRecords:
    """The records of one kept delivery zip, read on demand; counts fill in as they are read."""

    path: Path
    standard: Standard
    pm: object
    batch_records: int = 1 << 16
    processed: Counter = field(default_factory=Counter)
    rejected: Counter = field(default_factory=Counter)

    def packing_slip(self) -> dict[str, str]:
        """The packing slip's fields (DDID -> value) when it is one readable record, else {}."""
        slip = self.standard.layout.packing_slip
        if slip is None:
            return {}
        rows = list(self._read(slip, count=False))
        return rows[0][1] if len(rows) == 1 else {}

    def __iter__(self) -> Iterator[tuple[str, str, dict[str, str]]]:
        """(file, key, fields) of every record of every file but the packing slip, in file order."""
        for layout in self.standard.layout.files:
            if layout.packing_slip:
                continue
            key_fields = layout.key or ()
            for line, fields in self._read(layout):
                key = KEY_SEPARATOR.join(fields.get(k, "") for k in key_fields) if key_fields else str(line)
                yield layout.name, key, fields

    def file_imports(self, imported: dict[str, int], previous: "PreviousRecords | None" = None) -> list[FileImport]:
        """One row per data file for the import report, after the records were read and imported."""
        return [
            FileImport(file=f.name, processed=self.processed[f.name], imported=imported.get(f.name, 0),
                       rejected=self.rejected[f.name],
                       already_present=previous.unchanged[f.name] if previous is not None else 0)
            for f in self.standard.layout.files if not f.packing_slip
        ]

    def _read(self, layout: FileLayout, count: bool = True) -> Iterator[tuple[int, dict[str, str]]]:
        readers = record_readers(self.pm, self.standard)
        ddids = [f.ddid for f in layout.fields]
        with open_delivery(self.path, self.standard) as delivery:
            if layout.name not in delivery.members:
                return
            for chunk in readers[layout.name](delivery, layout, Limits(), self.batch_records):
                if count:
                    self.processed[layout.name] += chunk.line_count
                    self.rejected[layout.name] += len(chunk.bad_lines)
                if not len(chunk.lines):
                    continue
                columns = [_texts(chunk.rows, f) for f in layout.fields]
                for line, values in zip(chunk.lines.tolist(), zip(*columns)):
                    yield line, dict(zip(ddids, values))


class PreviousRecords:
    """The provider's records before an import, to count the delivered records it already held unchanged.

    Kept as hashes of (file, key, fields), so memory stays at a few dozen bytes a record.
    """

    def __init__(self, stored: Iterator[tuple[str, str, dict[str, str]]]):
        self._seen = {_fingerprint(file, key, fields) for file, key, fields in stored}
        self.unchanged: Counter = Counter()

    def watch(self, records: Iterator[tuple[str, str, dict[str, str]]]) -> Iterator[tuple[str, str, dict[str, str]]]:
        """Pass `records` through, counting those that were already stored exactly so."""
        for file, key, fields in records:
            if _fingerprint(file, key, fields) in self._seen:
                self.unchanged[file] += 1
            yield file, key, fields


def _fingerprint(file: str, key: str, fields: dict[str, str]) -> int:
    return hash((file, key.rstrip(" "), tuple(sorted(fields.items()))))


def _texts(rows: np.ndarray, fld) -> list[str]:
    """One field of every row, decoded from ISO-8859-1, without padding spaces."""
    raw = np.ascontiguousarray(rows[:, fld.start:fld.end]).view(f"S{fld.length}").reshape(-1)
    return [v.decode("latin-1").strip(" ") for v in raw.tolist()]
