"""Importing a delivery into the typed tables: full load or mutations, in one transaction.

    stage   every record, column-wise, into a temporary table per file (no
            lock held: SQLite temp tables live outside the database file,
            PostgreSQL's are the session's own)
    merge   one transaction: count what changes, apply the standard's import
            mode, then `finish` (the gate renders the import and quality
            reports and keeps them), then the delivery becomes `imported`

A kill -9 at any moment leaves the previous state: before the merge commits
nothing of this delivery is in the tables, and the temporary tables vanish
with the connection. Because the reports are written inside the merge, an
imported delivery always has them.

Import modes (declared by the standard, `Standard.import_mode`):

- `full`: the delivery's records replace all of the provider's records of
  the standard (GA OHW-GBG §5.2.1).
- `mutations` (GA DBC-GGZ §5.3): in a file with a status vlag, ' ' inserts or
  replaces the record and 'V' deletes it with everything under it (children
  found through the layout's foreign keys, `Field.references`, recursively);
  a parent delivered again with ' ' replaces its dependent records, those of
  child files without a status vlag of their own (a DBC-traject's profiles
  and diagnoses), while children with their own status vlag stay; a file
  without a status vlag (the patient) is only inserted or replaced; records
  not delivered stay. Deletes and cascades are applied
  before the inserts, so a record moved to another parent ('V' under the old,
  ' ' under the new) ends under the new one.

A row's `delivery_id` is the delivery that last inserted or changed it: a
record delivered again exactly as stored is not written again.

Counts per file, against the state before the import: delivered (records
written), inserted (keys new to the provider), changed, unchanged, deleted.
Records that repeat a key within one delivery (possible under a policy that
does not block on it) count once: the last one wins.
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Mapping, Sequence

from .delivery_store import StoreError
from .staging import DELETE, LIVE, Stage
from .import_deletes import full_load, mutations
from .tables import FileTable, ensure_tables

if TYPE_CHECKING:  # pragma: no cover
    from ..standard import Standard
    from .sql import SqlStore

IMPORT_MODES = ("full", "mutations")
PART = 100_000  # staged records written by one statement, where the stage can be read in parts


@dataclass(frozen=True)
class FileCounts:
    """What an import did to one file's records of the provider."""

    delivered: int = 0  # records written (each key once)
    inserted: int = 0
    changed: int = 0
    unchanged: int = 0
    deleted: int = 0

    def as_dict(self) -> dict[str, int]:
        """The counts by name, as kept with the delivery."""
        return asdict(self)


# (file name, {DDID: typed values}, line numbers or None): a batch of records, column by column
ColumnBatch = tuple[str, Mapping[str, Sequence], Sequence[int] | None]
Finish = Callable[[dict[str, FileCounts]], Mapping[str, Any]]
Progress = Callable[[str, int, int], None]  # (file, records written, records to write)


def _quiet(file: str, written: int, total: int) -> None:
    """No progress display."""


def import_delivery(store: "SqlStore", delivery_id: int, standard: "Standard",
                    batches: Iterable[ColumnBatch] | Stage, finish: Finish | None = None,
                    progress: Progress | None = None) -> dict[str, FileCounts]:
    """Import an accepted production delivery's records (see the module docstring); returns counts per file.

    `batches` are the records, or the `Stage` this store's `stage(standard)` returned, filled
    (while the delivery was validated): it is used and dropped. `finish`, if given, is called
    inside the import's transaction with the counts and returns more changes to the delivery
    (e.g. `reports`), kept in the same transaction. `progress(file, written, total)` is called
    as each file's records are written.
    """
    mode = standard.import_mode
    if mode not in IMPORT_MODES:
        raise StoreError(f"standard {standard.id} declares import mode {mode!r}; disval knows {IMPORT_MODES}")
    d = _importable(store, delivery_id)
    tables = ensure_tables(store, standard)
    if isinstance(batches, Stage):
        if batches.store is not store or batches.standard != standard.id:
            raise StoreError(f"the records were staged for {batches.standard} in another store")
        if batches.fresh and batches.delivery_id != delivery_id:
            raise StoreError(f"the records were staged for delivery {batches.delivery_id}, not {delivery_id}")
        staged = batches
    else:
        staged = Stage(store, tables, store._provider_id(d.agb, d.branch), delivery_id)
    try:
        if staged is not batches:
            for file, columns, lines in batches:
                staged.add(file, columns, lines)
        with store._transaction():
            d = _importable(store, delivery_id)
            provider_id = store._provider_id(d.agb, d.branch)
            if staged.fresh:
                counts = _fresh(store, tables, staged, provider_id, progress or _quiet)
            else:
                counts = _merge(store, tables, staged, provider_id, delivery_id, mode, progress or _quiet)
            changes = dict(finish(counts)) if finish else {}
            _mark_imported(store, delivery_id, counts, changes)
        staged.commit()  # a fresh delivery's records were written in a transaction the stage began
    finally:
        staged.drop()
    return counts


def _importable(store: "SqlStore", delivery_id: int):
    d = store.delivery(delivery_id)
    if d is None:
        raise StoreError(f"there is no delivery {delivery_id}")
    if d.phase != "production" or d.status != "accepted":
        raise StoreError(
            f"delivery {delivery_id} ({d.name}) is a {d.phase} delivery with status {d.status}: only an "
            "accepted production delivery is imported"
        )
    return d


def _mark_imported(store: "SqlStore", delivery_id: int, counts: dict[str, FileCounts], changes: Mapping) -> None:
    extra = {k: v for k, v in changes.items() if k in ("reports", "counts")}
    sets, params = ["status = 'imported'", "imported = ?", "processed_at = ?"], [
        _dumps({f: c.delivered for f, c in counts.items()}), dt.datetime.now(dt.timezone.utc).isoformat()]
    for k, v in extra.items():
        sets.append(f"{k} = ?")
        params.append(_dumps(v))
    store._exec(f"UPDATE deliveries SET {', '.join(sets)} WHERE id = ?", [*params, delivery_id])


def _merge(store: "SqlStore", tables: list[FileTable], staged: Stage, provider_id: int, delivery_id: int,
           mode: str, progress: Progress) -> dict[str, FileCounts]:
    """Count, then apply the import mode; returns the counts per file.

    A table that holds nothing of the provider yet (a first delivery) needs no comparison: its
    counts are the stage's, and its records are inserted as they are, without a lookup each.
    """
    if mode == "full" and store.dialect.merge_statement:
        return _full_by_merge(store, tables, staged, provider_id, delivery_id, progress)
    before: dict[str, tuple[int, int, int, int]] = {}
    for t in tables:
        stage = staged.stages.get(t.file)
        n_before = _count(store, t, provider_id)
        if stage is None:
            before[t.file] = (n_before, 0, 0, 0)
            continue
        delivered = _delivered(store, staged, t, stage)
        if n_before == 0:
            before[t.file] = (0, delivered, 0, 0)
            continue
        staged.analyze(t.file)
        join = " AND ".join(f"r.{k} = s.{k}" for k in t.key)
        same = " AND ".join(store.dialect.same.format(a=f"r.{c}", b=f"s.{c}") for c in t.names if c not in t.key)
        matched, unchanged = store._exec(
            f"SELECT COUNT(*), COALESCE(SUM(CASE WHEN {same or '1 = 1'} THEN 1 ELSE 0 END), 0) FROM {stage} s"
            f" JOIN {t.table} r ON r.provider_id = ? AND {join} WHERE {LIVE}", (provider_id,),
        ).fetchone()
        before[t.file] = (n_before, delivered, matched, unchanged)
    empty = {f for f, (n_before, *_) in before.items() if n_before == 0}
    if mode == "full":  # a table whose stored records were all matched (or that held none): nothing to remove
        full_load(store, tables, staged, provider_id, {f for f, (n, _, matched, _) in before.items() if matched == n})
    else:
        mutations(store, tables, staged, provider_id, empty)
    for t in tables:
        if t.file in staged.stages:
            total = before[t.file][1]
            progress(t.file, 0, total)
            for part, parts in _parts(store, staged.stages[t.file]):
                _write(store, t, staged.stages[t.file], provider_id, delivery_id, t.file in empty, part)
                progress(t.file, total * parts[0] // parts[1], total)
    counts = {}
    for t in tables:
        n_before, delivered, matched, unchanged = before[t.file]
        inserted = delivered - matched
        n_after = _count(store, t, provider_id)
        counts[t.file] = FileCounts(delivered, inserted, matched - unchanged, unchanged, n_before + inserted - n_after)
        _restat(store, t)
    return counts


def _full_by_merge(store, tables: list[FileTable], staged: Stage, provider_id: int, delivery_id: int,
                   progress: Progress) -> dict[str, FileCounts]:
    """A full load on a backend with MERGE (`Dialect.merge_statement`): per file, one MERGE of the staged
    records, then one DELETE of the stored records the delivery does not hold, the counts from the rows
    those report and a count of the provider's records in between: inserted = after the MERGE - before,
    matched = delivered - inserted (repeated keys were dropped first, so each stored key matches at most
    one staged record), and the MERGE, which writes only new and differing records, wrote changed +
    inserted. When every stored record was matched the DELETE has nothing to do and is not run.

    The planner's statistics of a table are taken again (`Dialect.after_import`) only when the provider's
    records in it changed in number by more than a tenth: a re-delivery of about the same records leaves
    them valid, and the server's autovacuum takes them again when enough rows changed."""
    counts, restat = {}, set()
    for t in reversed(tables):  # children first, as `import_deletes.full_load` deletes
        stage = staged.stages.get(t.file)
        n_before = _count(store, t, provider_id)
        if stage is None:
            deleted = store._exec(f"DELETE FROM {t.table} WHERE provider_id = ?", (provider_id,)).rowcount
            counts[t.file] = FileCounts(deleted=deleted)
            if deleted:
                restat.add(t.file)
            continue
        delivered = _delivered(store, staged, t, stage)
        progress(t.file, 0, delivered)
        if n_before == 0:
            _write(store, t, stage, provider_id, delivery_id, True)
            counts[t.file] = FileCounts(delivered, delivered)
            restat.add(t.file)
        else:
            staged.analyze(t.file)  # a hash join of stage and table, not a lookup per record
            written = _merge_statement(store, t, stage, provider_id, delivery_id)
            inserted = _count(store, t, provider_id) - n_before
            matched = delivered - inserted
            deleted = 0
            if matched < n_before:
                join = " AND ".join(f"s.{k} = r.{k}" for k in t.key)
                deleted = store._exec(f"DELETE FROM {t.table} r WHERE r.provider_id = ? AND NOT EXISTS"
                                      f" (SELECT 1 FROM {stage} s WHERE {join} AND {LIVE})", (provider_id,)).rowcount
            changed = written - inserted
            counts[t.file] = FileCounts(delivered, inserted, changed, matched - changed, deleted)
            if abs(inserted - deleted) * 10 > n_before:
                restat.add(t.file)
        progress(t.file, delivered, delivered)
    for t in tables:
        if t.file in restat:
            _restat(store, t)
    return {t.file: counts[t.file] for t in tables}


def _merge_statement(store, t: FileTable, stage: str, provider_id: int, delivery_id: int, part: str = "") -> int:
    """One MERGE of the staged live records into `t`: a stored record that differs is changed, a new one
    inserted, one stored exactly so left alone (`Dialect.merge_statement`); returns the records written."""
    names = ", ".join(t.names)
    others = [c for c in t.names if c not in t.key]
    has_key = " AND ".join(f"s.{k} IS NOT NULL" for k in t.key) + part
    join = " AND ".join(f"r.{k} = s.{k}" for k in t.key)
    changed = ""
    if others:
        same = " AND ".join(store.dialect.same.format(a=f"r.{c}", b=f"s.{c}") for c in others)
        changed = (f" WHEN MATCHED AND NOT ({same}) THEN UPDATE SET delivery_id = ?, "
                   + ", ".join(f"{c} = s.{c}" for c in others))
    return store._exec(
        f"MERGE INTO {t.table} r USING (SELECT {names} FROM {stage} s WHERE {LIVE} AND {has_key}) s"
        f" ON r.provider_id = ? AND {join}{changed} WHEN NOT MATCHED THEN INSERT (provider_id, delivery_id,"
        f" {names}) VALUES (?, ?, {', '.join(f's.{c}' for c in t.names)})",
        (provider_id, *((delivery_id,) if others else ()), provider_id, delivery_id)).rowcount


def _delivered(store, staged: Stage, t: FileTable, stage: str) -> int:
    """The records `stage` holds for `t` with a key, once each (a repeated key's earlier records dropped)."""
    if staged.repeats_keys(t.file):
        staged.index(t.file)
        _drop_repeats(store, t, stage)
    has_key = " AND ".join(f"s.{k} IS NOT NULL" for k in t.key)
    return store._exec(f"SELECT COUNT(*) FROM {stage} s WHERE {LIVE} AND {has_key}").fetchone()[0]


def _fresh(store, tables: list[FileTable], staged: Stage, provider_id: int, progress: Progress) -> dict[str, FileCounts]:
    """The counts of a delivery written straight into the tables (`Stage.fresh`): the provider held
    nothing before, so every record it holds now is new. Where the stage knows how many rows it wrote
    (`Stage.written`: no write replaced another), that is the number; else they are counted."""
    counts = {}
    for t in tables:
        n_after = staged.written.get(t.file)
        if n_after is None:
            n_after = _count(store, t, provider_id)
        if t.file in staged.staged:  # written while validated: announced as begun and done at once
            progress(t.file, 0, n_after)
            progress(t.file, n_after, n_after)
        counts[t.file] = FileCounts(n_after, n_after, 0, 0, 0)
        _restat(store, t)
    return counts


def _restat(store, t: FileTable) -> None:
    """Take the planner's statistics of `t` again, where the backend needs them (`Dialect.after_import`:
    {table}, and {keys}: the provider, key and foreign-key columns, which the next import's joins use)."""
    if store.dialect.after_import:
        keys = dict.fromkeys(["provider_id", *t.key, *(c for _, pairs in t.parents for c, _ in pairs)])
        store._exec(store.dialect.after_import.format(table=t.table, keys=", ".join(keys)))


def _parts(store, stage: str) -> Iterator[tuple[str, tuple[int, int]]]:
    """(condition on the staged records `s`, (parts done, of parts)) for writing the stage in parts of
    about PART records, where the backend can read a range of it cheaply (`Dialect.stage_order`);
    else one part with no condition."""
    order = store.dialect.stage_order
    last = store._exec(f"SELECT MAX({order}) FROM {stage}").fetchone()[0] if order else None
    if not last:
        yield "", (1, 1)
        return
    parts = -(-last // PART)
    for n in range(parts):
        yield f" AND s.{order} > {n * PART} AND s.{order} <= {(n + 1) * PART}", (n + 1, parts)


def _count(store, t: FileTable, provider_id: int) -> int:
    return store._exec(f"SELECT COUNT(*) FROM {t.table} WHERE provider_id = ?", (provider_id,)).fetchone()[0]


def _drop_repeats(store, t: FileTable, stage: str) -> None:
    """Keep the last live record of every key (a delivery imported although it repeats keys)."""
    keys = ", ".join(t.key)
    store._exec(
        f"DELETE FROM {stage} WHERE (flag IS NULL OR flag <> '{DELETE}') AND line NOT IN"
        f" (SELECT MAX(line) FROM {stage} WHERE flag IS NULL OR flag <> '{DELETE}' GROUP BY {keys})"
    )


def _write(store, t: FileTable, stage: str, provider_id: int, delivery_id: int, empty: bool, part: str = "") -> None:
    """Write the staged live records: change the stored ones that differ, insert the new ones. A record
    stored exactly so is left as it is, with the delivery that last wrote it. Set-based statements; an
    upsert only where the backend's is cheap (`Dialect.upsert_merge`). Into a table that held nothing
    of the provider (`empty`) the records go straight in, in key order. `part` narrows the staged
    records written (`_parts`)."""
    names = ", ".join(t.names)
    join = " AND ".join(f"r.{k} = s.{k}" for k in t.key)
    others = [c for c in t.names if c not in t.key]
    has_key = " AND ".join(f"s.{k} IS NOT NULL" for k in t.key) + part
    in_key_order = f"ORDER BY {', '.join(f's.{k}' for k in t.key)}"
    if empty:
        store._exec(
            f"INSERT INTO {t.table} (provider_id, delivery_id, {names}) SELECT ?, ?, {names} FROM {stage} s"
            f" WHERE {LIVE} AND {has_key} {in_key_order}", (provider_id, delivery_id))
        return
    if store.dialect.merge_statement:
        _merge_statement(store, t, stage, provider_id, delivery_id, part)
        return
    if store.dialect.upsert_merge:
        # One pass over the stage, each record found by the typed table's primary key, changed in
        # place: SQLite's UPDATE ... FROM first builds the whole join in a temporary b-tree.
        same = "".join(" AND " + store.dialect.same.format(a=f"r.{c}", b=f"s.{c}") for c in others)
        updates = ", ".join(f"{c} = excluded.{c}" for c in ["delivery_id", *others])
        store._exec(
            f"INSERT INTO {t.table} (provider_id, delivery_id, {names}) SELECT ?, ?, {names} FROM {stage} s"
            f" WHERE {LIVE} AND {has_key} AND NOT EXISTS (SELECT 1 FROM {t.table} r WHERE r.provider_id = ?"
            f" AND {join}{same}) {in_key_order} ON CONFLICT (provider_id, {', '.join(t.key)}) DO UPDATE SET {updates}",
            (provider_id, delivery_id, provider_id))
        return
    if others:
        same = " AND ".join(store.dialect.same.format(a=f"r.{c}", b=f"s.{c}") for c in others)
        store._exec(
            f"UPDATE {t.table} AS r SET delivery_id = ?, {', '.join(f'{c} = s.{c}' for c in others)}"
            f" FROM {stage} AS s WHERE r.provider_id = ? AND {join} AND {LIVE}{part} AND NOT ({same})",
            (delivery_id, provider_id))
    store._exec(
        f"INSERT INTO {t.table} (provider_id, delivery_id, {names}) SELECT ?, ?, {names} FROM {stage} s"
        f" WHERE {LIVE} AND {has_key} AND NOT EXISTS (SELECT 1 FROM {t.table} r WHERE r.provider_id = ? AND {join})",
        (provider_id, delivery_id, provider_id))


def _dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
