"""A delivery's records as the store imports them: typed column by column, counted per file.

The records come through the same `disval_record_reader` hook as validation,
so a standard with another record format imports unchanged. Each batch the
reader yields becomes (file, {DDID: typed values}, line numbers), built per
column at numpy speed (`disval.core.store.typed_columns`): no per-record objects
but the values themselves.

A line that is not a record of its file's length cannot be cut into fields:
it is counted as processed and rejected, never imported.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from ..layout import FileLayout
from ..pipeline import record_readers
from ..gate.processing_reports import FileImport
from ..reader import Limits, RecordChunk, open_delivery
from ..standard import Standard
from .typed_columns import column


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
        """The packing slip's fields (DDID -> text without padding) when it is one readable record, else {}."""
        slip = self.standard.layout.packing_slip
        if slip is None:
            return {}
        rows = [(rows, lines) for rows, lines in self._read(slip, count=False)]
        if sum(len(lines) for _, lines in rows) != 1:
            return {}
        (record, _), = [(r, n) for r, n in rows if len(n)]
        return {f.ddid: _text(record, f) for f in slip.fields}

    def batches(self) -> Iterator[tuple[str, dict[str, list], list[int]]]:
        """(file, {DDID: typed values}, line numbers) for every batch of every data file, in file order."""
        for layout in self.standard.layout.files:
            if layout.packing_slip:
                continue
            keys = set(layout.key)
            for rows, lines in self._read(layout):
                if len(lines):
                    yield layout.name, {f.ddid: column(rows, f, f.ddid in keys) for f in layout.fields}, lines.tolist()

    def sink(self, stage) -> "Callable[[FileLayout, RecordChunk], None]":
        """A `records_sink` for `pipeline.validate`: counts each data file's lines as `batches` does, and
        puts every batch's records, typed, into `stage` (`DeliveryStore.stage`), so that the import
        needs no second reading of the zip."""
        def take(layout: FileLayout, chunk: RecordChunk) -> None:
            if layout.packing_slip:
                return
            self.processed[layout.name] += chunk.line_count
            self.rejected[layout.name] += len(chunk.bad_lines)
            if not len(chunk.lines):
                return
            if hasattr(stage, "add_rows"):  # it types the records itself, or needs no Python values at all
                stage.add_rows(layout, chunk.rows, chunk.lines)
                return
            keys = set(layout.key)
            stage.add(layout.name, {f.ddid: column(chunk.rows, f, f.ddid in keys) for f in layout.fields},
                      chunk.lines.tolist())
        return take

    def file_imports(self, counts: dict) -> list[FileImport]:
        """One row per data file for the import report, after the records were read and imported.

        `counts` is what `DeliveryStore.import_delivery` returned (file -> FileCounts).
        """
        rows = []
        for f in self.standard.layout.files:
            if f.packing_slip:
                continue
            c = counts.get(f.name)
            rows.append(FileImport(
                file=f.name, processed=self.processed[f.name], imported=c.delivered if c else 0,
                rejected=self.rejected[f.name], already_present=c.unchanged if c else 0,
                inserted=c.inserted if c else 0, changed=c.changed if c else 0, deleted=c.deleted if c else 0,
            ))
        return rows

    def _read(self, layout: FileLayout, count: bool = True) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        readers = record_readers(self.pm, self.standard)
        with open_delivery(self.path, self.standard) as delivery:
            if layout.name not in delivery.members:
                return
            for chunk in readers[layout.name](delivery, layout, Limits(), self.batch_records):
                if count:
                    self.processed[layout.name] += chunk.line_count
                    self.rejected[layout.name] += len(chunk.bad_lines)
                yield chunk.rows, chunk.lines


def _text(record: np.ndarray, fld) -> str:
    """One field of one record, decoded from ISO-8859-1, without padding spaces."""
    return bytes(record[0, fld.start:fld.end]).decode("latin-1").strip(" ")
