"""Remembered keys beyond a memory budget: hash partitions in files of a private working directory.

Uniqueness and references need every key of a file. Most deliveries' keys
fit the budget and stay in memory (keys.py). When the keys held by a run
pass the budget, the column that grows spills: its keys are written out in
segments, each segment's records grouped by partition (the top bits of the
key's hash). Equal keys always have equal hashes, so they always land in
the same partition: duplicates and references can be checked one partition
at a time, with only that partition's keys in memory.

The budget is `DISVAL_KEY_MEMORY` MiB (default 128); 0 spills every key,
which the engine-equivalence tests use to run the spill path.

A disk that fills up (or a quota) while keys are written out is `SpillFailed`:
an OSError whose message says whose keys, which file, how many bytes were
being written and how much room is left, and what to do about it; the
command line prints it as one line, without a traceback.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import weakref
from contextlib import ExitStack
from pathlib import Path

import numpy as np

from ..workdir import working_directory

DEFAULT_MIB = 128
PART_BITS = 7  # (at most 8) 128 partitions: a 16 GiB member of 128-byte records leaves ~1M keys to a partition
PARTS = 1 << PART_BITS
SEGMENT_BYTES = 16 << 20  # a spilled column's keys are buffered up to this, then written as one segment


def budget_bytes() -> int:
    """The memory budget for remembered keys, from DISVAL_KEY_MEMORY (MiB; default 128)."""
    raw = os.environ.get("DISVAL_KEY_MEMORY", "").strip()
    try:
        mib = float(raw) if raw else DEFAULT_MIB
    except ValueError:
        mib = DEFAULT_MIB  # a malformed setting must not stop a validation: the default holds
    return max(0, int(mib * (1 << 20)))


def partition_of(h: np.ndarray) -> np.ndarray:
    """The partition of each key hash (its top bits)."""
    return (h >> np.uint64(64 - PART_BITS)).astype(np.uint8)  # uint8: numpy's stable sort is a radix sort


class SpillFailed(OSError):
    """Remembered keys could not be written to disk: whose, where, how many bytes, and the room left."""

    def __init__(self, whose: str, path: Path, needed: int, cause: OSError):
        try:
            free = f"{_mib(shutil.disk_usage(path.parent).free)} free there"
        except OSError:
            free = "the room left there unknown"
        reason = cause.strerror or str(cause) or type(cause).__name__
        self.message = (
            f"cannot put the remembered keys of {whose} aside on disk: writing {_mib(needed)} to {path} failed "
            f"({reason}; {free}). Make room there, point TMPDIR to a larger disk, or raise DISVAL_KEY_MEMORY "
            f"(now {budget_bytes() / (1 << 20):g} MiB) to keep more keys in memory")
        super().__init__(cause.errno, self.message)
        self.whose, self.path, self.needed = whose, path, needed

    def __str__(self) -> str:
        return self.message


def _mib(n: int) -> str:
    return f"{n / (1 << 20):.1f} MiB" if n >= 1 << 20 else f"{n:,} bytes"


class KeyMemory:
    """The bytes of keys one run holds in memory, against its budget; the working directory spills go to.

    The directory is made on the first spill only and removed by `close` (or,
    if the process is killed, by the next run that opens one: core/workdir.py).
    """

    def __init__(self, limit: int | None = None):
        self.limit = budget_bytes() if limit is None else limit
        self.used = 0
        self.peak = 0
        self._stack: ExitStack | None = None
        self._dir: Path | None = None
        self._files = 0

    def take(self, nbytes: int) -> None:
        """Account for `nbytes` more held in memory."""
        self.used += nbytes
        self.peak = max(self.peak, self.used)

    def give(self, nbytes: int) -> None:
        """Account for `nbytes` released."""
        self.used -= nbytes

    @property
    def over(self) -> bool:
        """True when the keys held pass the budget."""
        return self.used > self.limit

    def new_file(self) -> Path:
        """A fresh file name in the run's working directory (made on first use)."""
        if self._dir is None:
            stack = ExitStack()
            self._dir = stack.enter_context(working_directory("keys"))
            self._stack = stack
            # Removed even when the run ends in an exception before `close`.
            self._finalizer = weakref.finalize(self, self._stack.close)
        self._files += 1
        return self._dir / f"{self._files}.keys"

    def write(self, records: np.ndarray | list[np.ndarray], whose: str) -> Path:
        """Write `records` (an array, or arrays one after the other) to a new file of the working
        directory; `SpillFailed` when the disk refuses."""
        pieces = records if isinstance(records, list) else [records]
        path = None
        try:
            path = self.new_file()
            with open(path, "wb") as out:
                for piece in pieces:
                    out.write(memoryview(np.ascontiguousarray(piece)).cast("B"))
        except OSError as exc:
            where = path if path is not None else Path(tempfile.gettempdir()) / "disval-work-keys-..."
            failed = SpillFailed(whose, where, sum(p.nbytes for p in pieces), exc)
            self.close()  # the run ends here: what was written goes now, not when the run is collected
            raise failed from None
        return path

    @property
    def spilled(self) -> bool:
        """Whether any key went to disk in this run."""
        return self._dir is not None

    def close(self) -> None:
        """Remove the working directory and everything spilled into it."""
        if self._dir is not None:
            self._finalizer()
            self._dir = None


class Segments:
    """A spilled column's keys on disk: segments of (line, key) records grouped by partition."""

    def __init__(self, memory: KeyMemory, width: int, whose: str = "a key column"):
        self.memory, self.whose = memory, whose
        self.dtype = np.dtype([("line", "<u4"), ("key", f"S{width}")])
        self._segments: list[tuple[Path, np.ndarray]] = []  # (file, first record of each partition + end)
        self.count = 0  # records written

    def write(self, lines: np.ndarray, keys: np.ndarray, h: np.ndarray) -> None:
        """Write one segment: the records in reading order within each partition."""
        if not len(lines):
            return
        part = partition_of(h)
        order = np.argsort(part, kind="stable")  # stable: a partition's records stay in reading order
        rec = np.empty(len(lines), self.dtype)
        rec["line"], rec["key"] = lines[order], keys[order]
        bounds = np.zeros(PARTS + 1, np.int64)
        np.cumsum(np.bincount(part, minlength=PARTS), out=bounds[1:])
        path = self.memory.write(rec, self.whose)
        self._segments.append((path, bounds))
        self.count += len(lines)

    def partition(self, p: int) -> list[tuple[np.ndarray, np.ndarray]]:
        """(lines, keys) of partition `p`, one pair per segment, in reading order."""
        out = []
        size = self.dtype.itemsize
        for path, bounds in self._segments:
            count = int(bounds[p + 1] - bounds[p])
            if count:
                rec = np.fromfile(path, self.dtype, count=count, offset=int(bounds[p]) * size)
                out.append((np.ascontiguousarray(rec["line"]), np.ascontiguousarray(rec["key"])))
        return out
