"""A delivery's records staged for its import: temporary tables, one per data file, filled batch by batch.

The gate fills the stage while the delivery is validated (`SqlStore.stage`,
fed by `pipeline.validate(records_sink=...)`): the zip is read once, and a
batch's typed rows go to the database as soon as the rules have seen them, so
no more than a batch is held in memory. The merge into the typed tables
(`importing`) reads the stage, and so do the history rules
(`history.StoreHistory.stored_with_other_at`): the delivered keys are in the
database already, no second copy of them is made for the lookup.

The stage holds no lock and writes nothing durable: SQLite keeps temporary
tables outside the database file, PostgreSQL's belong to the session. A
process killed while staging leaves nothing behind; each batch is its own
short transaction, so a history lookup between batches sees a consistent stage.

A provider's first delivery of a standard (the provider holds no record in
any of its tables) is written straight into the typed tables instead
(`fresh`): there is nothing to compare it with, delete or cascade to, so the
stage and the merge would only copy every record a second time. The stage
then opens the import's transaction when it is made and keeps it open while
the delivery is validated; `import_delivery` commits it, `drop` rolls it back
(a negative assessment, an error). Killed at any moment, the process leaves
the store as it was: the transaction was never committed. The history rules
know that the provider held nothing (`StoreHistory`), so the rows being
written are never taken for stored ones.
"""
from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Iterable, Mapping, Sequence

import numpy as np

from . import copy_text
from .delivery_store import StoreError
from .tables import SQL_TYPES, FileTable
from .typed_columns import column

if TYPE_CHECKING:  # pragma: no cover
    from ..layout import FileLayout
    from .sql import SqlStore

DELETE = "V"  # the status vlag of a deletion (GA DBC-GGZ §5.3.1)
LIVE = f"(s.flag IS NULL OR s.flag <> '{DELETE}')"  # a staged record `s` that is not a deletion


class Stage:
    """Temporary tables holding one delivery's records until the merge; `add` a batch at a time."""

    def __init__(self, store: "SqlStore", tables: list[FileTable], provider_id: int | None = None,
                 delivery_id: int | None = None):
        self.store, self.tables = store, {t.file: t for t in tables}
        self.standard = tables[0].standard if tables else ""
        self.stages: dict[str, str] = {}  # file -> temporary table
        self.hashes: dict[str, list[np.ndarray]] = {}  # key hashes of the live records, to spot repeated keys
        self.staged: dict[str, int] = {}  # file -> records staged
        self._indexed: set[str] = set()
        self._analyzed: dict[str, int] = {}  # file -> records staged when its statistics were taken
        # Fresh: file -> rows written into its table, None when a write may have replaced one (an upsert).
        self.written: dict[str, int | None] = {}
        self.provider_id, self.delivery_id = provider_id, delivery_id
        self._seen: dict[str, np.ndarray] = {}  # file -> sorted key hashes written so far (fresh only)
        self._hashed: dict[str, str] = {}  # file -> how its keys were hashed (`_repeats`)
        self._staged_kind: dict[str, str] = {}  # the same for `hashes` (`_hash_kind`)
        self._mixed: set[str] = set()
        self._open = False  # this stage began the transaction the fresh records are written in
        # Fresh: the provider holds nothing of this standard, so its records go straight into the tables.
        self.fresh = bool(tables) and provider_id is not None and delivery_id is not None and not any(
            store._exec(f"SELECT 1 FROM {t.table} WHERE provider_id = ? LIMIT 1", (provider_id,)).fetchone()
            for t in tables)
        if self.fresh and not store._in_transaction:
            store._begin()
            store._in_transaction = self._open = True

    def add(self, file: str, columns: Mapping[str, Sequence], lines: Sequence[int] | None) -> None:
        """Stage one batch of `file`'s records ({DDID: typed values}, their line numbers); a file the
        standard's layout does not import is an error."""
        t = self.tables.get(file)
        if t is None:
            raise StoreError(f"{file} is not a data file of {self.standard}")
        n = len(lines) if lines is not None else len(next(iter(columns.values()), ()))
        if n == 0:
            return
        store = self.store
        line_col = lines if lines is not None else range(self.staged.get(file, 0) + 1,
                                                          self.staged.get(file, 0) + n + 1)
        if self.fresh:
            self._write(t, columns, line_col, n)
            self.staged[file] = self.staged.get(file, 0) + n
            return
        own = not store._in_transaction
        if own:
            store._exec("BEGIN")
        try:
            stage = self.stages.get(file) or self._create(t)
            flags = columns[t.status_flag] if t.status_flag else itertools.repeat(None, n)
            values = [line_col if c.name == "record_line" else columns.get(c.ddid) or itertools.repeat(None, n)
                      for c in t.columns]
            store._stage_rows(stage, ["line", "flag", *t.names], zip(line_col, flags, *values))
            if own:
                store._exec("COMMIT")
        except BaseException:
            if own:
                store._exec("ROLLBACK")
            raise
        self.staged[file] = self.staged.get(file, 0) + n
        self._hash_kind(file, "typed")
        hashes = _key_hashes(t, columns, line_col, n)
        if t.status_flag:
            hashes = hashes[np.array([f != DELETE for f in columns[t.status_flag]], bool)]
        self.hashes.setdefault(file, []).append(hashes)

    def add_rows(self, layout: "FileLayout", rows: np.ndarray, lines: np.ndarray) -> None:
        """Stage one batch of `layout`'s records as read (uint8, one record per row; their line numbers).
        A fresh delivery's go to a backend that takes COPY text (`SqlStore.copy_text`) as text made from
        their bytes (`copy_text`), or to one that takes the records as read (`SqlStore.takes_blocks`);
        any other batch is typed column by column and `add`ed."""
        t = self.tables.get(layout.name)
        n = len(lines)
        blocks = self.store.takes_blocks
        if t is None or not n or not (self.store.copy_text or blocks) or t.key == ("record_line",):
            return self._add_typed(layout, rows, lines)
        fields = {f.ddid: f for f in layout.fields}
        if not self.fresh:
            return self._stage_text(t, layout, fields, rows, lines)
        keep = np.ones(n, bool)
        if t.status_flag:  # 'V' deletes what the provider does not hold: nothing to write
            keep &= np.fromiter((f != DELETE for f in column(rows, fields[t.status_flag])), bool, count=n)
        for c in t.columns:
            if c.key and c.type != "AN":  # not a number or date: no key
                keep &= np.fromiter((x is not None for x in column(rows, fields[c.ddid], True)), bool, count=n)
        if not keep.all():
            rows, lines = rows[keep], lines[keep]
        if blocks:  # the backend types the records itself; a repeated key replaces the earlier record
            if not self.store._write_block(t, [fields[c.ddid] for c in t.columns], set(layout.key), rows,
                                           self.provider_id, self.delivery_id):
                keys = set(layout.key)
                self._write(t, {f.ddid: column(rows, f, f.ddid in keys) for f in layout.fields}, lines.tolist(),
                            len(lines), True)
            self.staged[t.file] = self.staged.get(t.file, 0) + n
            return
        may_repeat = self._repeats(t, copy_text.key_hashes(rows, [fields[c.ddid] for c in t.columns if c.key]), "raw")
        prefix = f"{self.provider_id}\t{self.delivery_id}\t".encode()
        text = None if may_repeat else copy_text.lines(rows, [fields[c.ddid] for c in t.columns], set(layout.key), prefix)
        if text is None:  # a key that may repeat, or bytes COPY text would have to escape
            keys = set(layout.key)
            typed = {f.ddid: column(rows, f, f.ddid in keys) for f in layout.fields}
            self._write(t, typed, lines.tolist(), len(lines), may_repeat)
        else:
            self.store._copy_text(t.table, ["provider_id", "delivery_id", *t.names], text)
            self._wrote(t.file, len(rows))
        self.staged[t.file] = self.staged.get(t.file, 0) + n

    def _wrote(self, file: str, n: int | None) -> None:
        """Count `n` rows written into `file`'s table (None: a number of them replaced others)."""
        before = self.written.get(file, 0)
        self.written[file] = None if n is None or before is None else before + n

    def _stage_text(self, t: FileTable, layout: "FileLayout", fields: dict, rows: np.ndarray,
                    lines: np.ndarray) -> None:
        """Stage a batch as COPY text made from the records' bytes, or as they were read where the backend
        takes them so (`SqlStore.takes_blocks`); typed (`add`) when it cannot take them so."""
        flag = fields.get(t.status_flag)
        store, n = self.store, len(lines)
        if store.takes_blocks:
            stage = self.stages.get(t.file) or self._create(t)
            if not store._stage_block(stage, ["flag", *t.names] if flag else t.names,
                                      [flag, *(fields[c.ddid] for c in t.columns)] if flag else
                                      [fields[c.ddid] for c in t.columns], set(layout.key), rows, lines):
                return self._add_typed(layout, rows, lines)
            return self._staged_raw(t, fields, flag, rows, n)
        text = copy_text.lines(rows, [fields[c.ddid] for c in t.columns], set(layout.key), numbers=lines, flag=flag)
        if text is None:
            return self._add_typed(layout, rows, lines)
        # No transaction around it: a COPY is one statement, all or nothing, and the backend may still be
        # sending it when this returns (the validation goes on meanwhile); the next statement waits for it.
        stage = self.stages.get(t.file) or self._create(t)
        store._copy_text(stage, ["line", "flag", *t.names], text)
        self._staged_raw(t, fields, flag, rows, n)

    def _staged_raw(self, t: FileTable, fields: dict, flag, rows: np.ndarray, n: int) -> None:
        """Count a batch staged from its bytes and keep its live records' key hashes."""
        self.staged[t.file] = self.staged.get(t.file, 0) + n
        if flag is not None:
            rows = rows[np.fromiter((f != DELETE for f in column(rows, flag)), bool, count=n)]
        self._hash_kind(t.file, "raw")
        self.hashes.setdefault(t.file, []).append(copy_text.key_hashes(rows, [fields[c.ddid] for c in t.columns
                                                                              if c.key]))

    def _hash_kind(self, file: str, kind: str) -> None:
        """Note how `file`'s staged keys were hashed: of two kinds, `repeats_keys` cannot tell."""
        if self._staged_kind.setdefault(file, kind) != kind:
            self._mixed.add(file)

    def _add_typed(self, layout: "FileLayout", rows: np.ndarray, lines: np.ndarray) -> None:
        if len(lines):
            keys = set(layout.key)
            self.add(layout.name, {f.ddid: column(rows, f, f.ddid in keys) for f in layout.fields}, lines.tolist())

    def _write(self, t: FileTable, columns: Mapping[str, Sequence], line_col: Sequence, n: int,
               may_repeat: bool | None = None) -> None:
        """Write one batch of a fresh delivery's records into `t`: the live ones with a key, in the
        order delivered (a repeated key: the last one wins, as in the merge). `may_repeat`: whether a
        key may repeat an earlier one, when the caller knows."""
        values = [line_col if c.name == "record_line" else columns.get(c.ddid) or itertools.repeat(None, n)
                  for c in t.columns]
        keep = np.ones(n, bool)
        if t.status_flag:  # 'V' deletes what the provider does not hold: nothing to write
            keep &= np.fromiter((f != DELETE for f in columns[t.status_flag]), bool, count=n)
        for c, v in zip(t.columns, values):
            if c.key and c.type != "AN" and c.name != "record_line":  # not a number or date: no key
                keep &= np.fromiter((x is not None for x in v), bool, count=n)
        rows: Iterable = zip(itertools.repeat(self.provider_id), itertools.repeat(self.delivery_id), *values)
        if not keep.all():
            rows = itertools.compress(rows, keep.tolist())
        if may_repeat is None:
            may_repeat = True
            if self.store.bulk_needs_unique_keys:  # a bulk path that cannot take a repeated key (COPY)
                may_repeat = self._repeats(t, _key_hashes(t, columns, line_col, n)[keep], "typed")
        self.store._write_rows(t, ["provider_id", "delivery_id", *t.names], rows, may_repeat)
        self._wrote(t.file, None if may_repeat else int(keep.sum()))  # unique keys: each row is a record

    def _repeats(self, t: FileTable, hashes: np.ndarray, kind: str) -> bool:
        """Whether a key of this batch may repeat one of the batch or of an earlier batch of `t` (a hash
        collision only costs the slower write); remembers the batch's keys. `kind` names the hash
        function: a file whose batches were hashed by two cannot tell, so it says they may repeat."""
        if self._hashed.setdefault(t.file, kind) != kind:
            return True
        ordered = np.sort(hashes)
        seen = self._seen.get(t.file, np.empty(0, np.int64))
        repeat = bool((ordered[1:] == ordered[:-1]).any())
        if not repeat and len(seen):
            at = np.minimum(np.searchsorted(seen, ordered), len(seen) - 1)
            repeat = bool((seen[at] == ordered).any())
        # Two sorted runs: the stable sort merges them in linear time.
        self._seen[t.file] = np.sort(np.concatenate([seen, ordered]), kind="stable")
        return repeat

    def commit(self) -> None:
        """Commit the transaction this stage began (a fresh delivery's import is done)."""
        if self._open:
            self._open = False
            self.store._in_transaction = False
            self.store._exec("COMMIT")

    def _create(self, t: FileTable) -> str:
        name = f"disval_stage_{len(self.stages)}"
        cols = ", ".join(f"{c.name} {SQL_TYPES[c.type].format(**self.store.dialect.types)}" for c in t.columns)
        self.store._exec(f"DROP TABLE IF EXISTS {name}")  # one a failed import of this session left
        self.store._exec(f"CREATE TEMP TABLE {name} (line {self.store.dialect.types['bigint']}, flag TEXT, {cols})")
        self.stages[t.file] = name
        return name

    def index(self, file: str) -> None:
        """Index the stage of `file` by key, for the merge's lookups of staged records by key (deletes of
        what was not delivered, cascades, repeated keys): without it SQLite scans the stage once per stored
        record. Only a merge that looks records up pays for it."""
        if file in self._indexed or file not in self.stages:
            return
        stage = self.stages[file]
        self.store._exec(f"CREATE INDEX {stage}_key ON {stage} ({', '.join(self.tables[file].key)})")
        self.analyze(file)
        self._indexed.add(file)

    def analyze(self, file: str) -> None:
        """Give the planner the stage's statistics, where the backend needs them for a join."""
        if self.store.dialect.analyze and file in self.stages:
            if self._analyzed.get(file) == self.staged.get(file):  # the history lookup took them already
                return
            self.store._exec(self.store.dialect.analyze.format(table=self.stages[file]))
            self._analyzed[file] = self.staged.get(file, 0)

    def repeats_keys(self, file: str) -> bool:
        """Whether a key may occur twice among the live records (a hash collision only costs a dedupe)."""
        chunks = self.hashes.get(file)
        if not chunks:
            return False
        if file in self._mixed:
            return True
        # Sorted neighbours, not np.unique: numpy 2's hash-based unique took seconds for a million keys.
        ordered = np.sort(np.concatenate(chunks))
        return bool((ordered[1:] == ordered[:-1]).any())

    def drop(self) -> None:
        """Remove the temporary tables (they go with the connection anyway); roll back the records of a
        fresh delivery that were not committed (`commit`)."""
        if self._open:
            self._open = False
            self.store._in_transaction = False
            try:
                self.store._exec("ROLLBACK")
            except Exception:  # a dead connection: the server rolls back
                pass
        self._seen.clear()
        for stage in self.stages.values():
            try:
                self.store._exec(f"DROP TABLE IF EXISTS {stage}")
            except Exception:  # a dead connection has dropped them already
                break
        self.stages.clear()
        self._analyzed.clear()
        self.hashes.clear()


def _key_hashes(t: FileTable, columns: Mapping[str, Sequence], line_col: Sequence, n: int) -> np.ndarray:
    """A hash of every record's key, in the batch's order."""
    keys = [line_col if k == "record_line" else columns.get(_ddid(t, k)) or itertools.repeat(None, n)
            for k in t.key]
    return np.fromiter(map(hash, zip(*keys) if len(keys) > 1 else keys[0]), np.int64, count=n)


def _ddid(t: FileTable, column: str) -> str:
    return next(c.ddid for c in t.columns if c.name == column)
