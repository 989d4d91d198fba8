"""What an import removes before it writes: the provider's records a full load no longer holds, and a
mutation delivery's deletions ('V') with their cascades to the records under them (GA DBC-GGZ §5.3.1).
The writes follow in `importing`."""
from __future__ import annotations

from .staging import DELETE, LIVE, Stage
from .tables import FileTable, children


def full_load(store, tables, staged: Stage, provider_id: int, empty: set[str]) -> None:
    """Remove the provider's records that the delivery does not hold (the writes follow): only what
    differs is written, so a re-delivery that is mostly the same costs lookups, not writes."""
    for t in reversed(tables):
        if t.file in empty:  # nothing to remove
            continue
        stage = staged.stages.get(t.file)
        if stage is None:
            store._exec(f"DELETE FROM {t.table} WHERE provider_id = ?", (provider_id,))
            continue
        staged.index(t.file)
        # NOT EXISTS, not NOT IN: PostgreSQL runs a NOT IN whose list exceeds work_mem row by row.
        join = " AND ".join(f"s.{k} = {t.table}.{k}" for k in t.key)
        store._exec(f"DELETE FROM {t.table} WHERE provider_id = ? AND NOT EXISTS"
                    f" (SELECT 1 FROM {stage} s WHERE {join} AND {LIVE})", (provider_id,))


def mutations(store, tables, staged: Stage, provider_id: int, empty: set[str]) -> None:
    """Apply the deletions and cascades (the writes follow)."""
    if all(t.file in empty for t in tables):  # the provider holds nothing: nothing to delete
        return
    for t in tables:  # parents first: a parent's cascade runs before its children's own deletes
        stage = staged.stages.get(t.file)
        if stage is None or not t.status_flag:  # a file without a status vlag is only ever mutated
            continue
        staged.index(t.file)
        # 'V': the record and everything under it go (GA DBC-GGZ §5.3.1).
        _cascade(store, tables, t, f"FROM {stage} s WHERE s.flag = '{DELETE}'", [], provider_id, {t.file})
        # ' ': a parent delivered again brings its whole set of dependent records (the files without a
        # status vlag of their own, e.g. a DBC-traject's profiles and diagnoses); the stored set goes.
        _cascade(store, tables, t, f"FROM {stage} s WHERE {LIVE}", [], provider_id, {t.file}, dependent_only=True)
        keys = ", ".join(t.key)
        lhs = keys if len(t.key) == 1 else f"({keys})"
        store._exec(f"DELETE FROM {t.table} WHERE provider_id = ? AND {lhs} IN"
                    f" (SELECT {keys} FROM {stage} WHERE flag = '{DELETE}')", (provider_id,))


def _cascade(store, tables, parent: FileTable, source: str, params: list, provider_id: int, seen: set,
             dependent_only: bool = False) -> None:
    """Delete the provider's records of every file that refers to the parent rows `SELECT ... {source}`
    (with `dependent_only`, only of files without a status vlag of their own), and everything under them
    (grandchildren first, while their parents can still be found)."""
    for child, pairs in children(tables, parent.file):
        if child.file in seen or (dependent_only and child.status_flag):
            continue
        mine = ", ".join(c for c, _ in pairs)
        theirs = ", ".join(p for _, p in pairs)
        lhs = mine if len(pairs) == 1 else f"({mine})"
        where = f"provider_id = ? AND {lhs} IN (SELECT {theirs} {source})"
        child_params = [provider_id, *params]
        _cascade(store, tables, child, f"FROM {child.table} WHERE {where}", child_params, provider_id,
                 seen | {child.file})
        store._exec(f"DELETE FROM {child.table} WHERE {where}", child_params)
