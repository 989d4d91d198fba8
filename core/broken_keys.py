"""Keys still legible on lines of the wrong length: the causes of follow-on reference findings.

A profile that refers to a traject whose line was cut short gets a 1987
finding (the traject is not there); the cause is the broken line, so the
finding says so ("BEHANDELTRAJECT.txt:12 1930"). The keys of broken lines
are remembered as a key column (engine/keys.py), under the run's key budget
and spilled beyond it like any other; at the end they become a compact
sorted table (the key's bytes and its first line, no Python object per key)
that the reference rules' findings are looked up in, only for the files
whose references have findings at all.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from .engine.key_spill import KeyMemory
from .engine.keys import KeyColumn
from .findings import Finding


class BrokenKeys:
    """The keys on a file's broken lines, with where the first of each was found."""

    def __init__(self, file_name: str, rule: str, width: int, memory: KeyMemory, whose: str):
        self.file_name, self.rule = file_name, rule
        self.column = KeyColumn((width,), memory, f"{whose}, on lines of the wrong length")

    def add(self, lines: np.ndarray, heads: np.ndarray) -> None:
        """Remember the keys (field-major `heads[:, key]` rows as records) of broken lines at `lines`."""
        self.column.add(np.ascontiguousarray(heads.T), lines)

    def causes(self) -> "Causes":
        """The table to look findings up in (built now, from memory or disk a partition at a time)."""
        values, lines = [], []
        for piece in self.column.pieces():
            at, raw = piece.joined()  # in reading order: the first of equal keys has the lowest line
            distinct, first = np.unique(raw.view(f"V{raw.dtype.itemsize}"), return_index=True)
            # As findings show a key: without the zero bytes a short line leaves, nor surrounding spaces.
            texts = [raw[i:i + 1].tobytes().rstrip(b"\x00").decode("latin-1").strip().encode("latin-1")
                     for i in first.tolist()]
            keep = [i for i, t in enumerate(texts) if t]
            values.append(np.array([texts[i] for i in keep], dtype=f"S{raw.dtype.itemsize}"))
            lines.append(at[first[keep]])
        return Causes(self.file_name, self.rule, values, lines)


class Causes:
    """Sorted key texts of broken lines and the first line of each: `with_cause` gives a finding its cause."""

    def __init__(self, file_name: str, rule: str, values: list[np.ndarray], lines: list[np.ndarray]):
        self.file_name, self.rule = file_name, rule
        values = np.concatenate(values) if values else np.empty(0, "S1")
        lines = np.concatenate(lines) if lines else np.empty(0, np.uint32)
        order = np.lexsort((lines, values))  # by key, then line: the first of each key leads its run
        values, lines = values[order], lines[order]
        lead = np.r_[True, values[1:] != values[:-1]] if len(values) else np.zeros(0, bool)
        self.values, self.lines = values[lead], lines[lead]

    def __len__(self) -> int:
        return len(self.values)

    def with_cause(self, finding: Finding) -> Finding:
        """The finding with its key's broken line as cause, if its key is on one; else as it is."""
        if finding.value is None or not len(self.values):
            return finding
        key = finding.value.encode("latin-1", errors="replace")
        if len(key) > self.values.dtype.itemsize:
            return finding
        i = int(np.searchsorted(self.values, key))
        if i < len(self.values) and self.values[i] == key:
            return replace(finding, cause=f"{self.file_name}:{int(self.lines[i])} {self.rule}")
        return finding
