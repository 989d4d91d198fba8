"""Typed tables of imported records, made from a standard's layout (no migration written by hand).

Every data file of a standard version gets a table whose columns are its
attributes, typed (D -> DATE, N -> BIGINT, AN -> TEXT) and named so that a
query reads as the GA does: the DDID and the attribute's name, e.g.
`d3262_begindatum_behandeltraject`. Each row also carries the provider
(`provider_id`) and the delivery that last inserted or changed it (`delivery_id`); the
file's key (the layout's `key`) with the provider is the primary key. The
status vlag of a mutation file is not a column: it says what to do with a
record, it is not part of it.

Names: table `<standard>__<file>` (e.g. `ga_ohw_gbg_1_0__behandeltraject`),
and a view `<standard>_<file>` of the current records with the provider's AGB
code and volgnr and the delivery's zip name spelled out, for analysts.

The tables are recorded in `layout_tables` (standard, file, table, view,
columns). They are created the first time a standard is used with a store,
and migrated when its layout gains attributes (a column is added, the view
remade); a changed type or key is refused with a message, never guessed at.
A store upgraded from schema 2 keeps its JSON records in `legacy_records`
until a standard's tables are created: then they move into them.
"""
from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable

from ..layout import Field
from .delivery_store import StoreError
from .typed_columns import value

if TYPE_CHECKING:  # pragma: no cover
    from ..standard import Standard
    from .sql import SqlStore

MAX_NAME = 63  # PostgreSQL's identifier limit; SQLite has none
LEGACY = "legacy_records"
SQL_TYPES = {"AN": "TEXT", "N": "{bigint}", "D": "{date}"}


@dataclass(frozen=True)
class Column:
    """One typed column: the attribute it holds and its SQL name."""

    ddid: str
    name: str
    type: str  # AN, N, D
    length: int
    key: bool = False

    def field(self, file: str = "") -> Field:
        """A field of this type and length, for typing one value (`typed_columns.value`)."""
        return Field(self.ddid, self.name, self.type, self.length, 1, self.length, file)

    def as_json(self) -> dict:
        """How the catalogue records it."""
        return {"ddid": self.ddid, "column": self.name, "type": self.type, "length": self.length, "key": self.key}


@dataclass(frozen=True)
class FileTable:
    """The table of one data file of one standard version."""

    standard: str
    file: str
    table: str
    view: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]  # column names of the file's key, in the layout's order
    status_flag: str = ""  # DDID of the status vlag (mutations), not a column
    # (parent file, ((this file's column, the parent's column), ...)): foreign keys, from `Field.references`
    parents: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = ()

    def column(self, ddid: str) -> Column | None:
        """The column holding attribute `ddid`, or None."""
        return next((c for c in self.columns if c.ddid == ddid), None)

    @property
    def names(self) -> list[str]:
        """The attribute columns' names, in layout order."""
        return [c.name for c in self.columns]


def sql_name(text: str, limit: int = MAX_NAME) -> str:
    """`text` as a lower-case SQL identifier: accents dropped, anything else than [a-z0-9] an underscore."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    name = re.sub(r"[^a-z0-9]+", "_", ascii_text.lower()).strip("_")
    return name[:limit].rstrip("_")


def column_name(fld: Field) -> str:
    """`d<DDID>_<attribute name>`, e.g. d3262_begindatum_behandeltraject."""
    return sql_name(f"d{fld.ddid}_{fld.name}")


def file_tables(standard: "Standard") -> list[FileTable]:
    """The tables of `standard`'s data files (not the packing slip), parents before their children."""
    std = sql_name(standard.id, 40)
    layout = standard.layout
    tables = []
    for f in layout.files:
        if f.packing_slip:
            continue
        stem = sql_name(f.stem, MAX_NAME - len(std) - 2)
        columns = tuple(
            Column(fld.ddid, column_name(fld), fld.type, fld.length, fld.ddid in f.key)
            for fld in f.fields if fld.ddid != f.status_flag
        )
        if not f.key:  # nothing identifies a record but its place in the delivery
            columns += (Column("", "record_line", "N", 18, True),)
        names = {c.ddid: c.name for c in columns}
        parents: dict[str, list[tuple[str, str]]] = {}
        for fld in f.fields:
            target = layout.field(fld.references) if fld.references else None
            if target is not None and target.file != f.name:
                parents.setdefault(target.file, []).append((names[fld.ddid], column_name(target)))
        tables.append(FileTable(
            standard=standard.id, file=f.name, table=f"{std}__{stem}", view=f"{std}_{stem}", columns=columns,
            key=tuple(names[k] for k in f.key) if f.key else ("record_line",), status_flag=f.status_flag,
            parents=tuple((p, tuple(pairs)) for p, pairs in parents.items()),
        ))
    return _parents_first(tables)


def _parents_first(tables: list[FileTable]) -> list[FileTable]:
    done: list[FileTable] = []
    pending = list(tables)
    while pending:
        ready = [t for t in pending if all(p in {d.file for d in done} or p == t.file or
                                           p not in {x.file for x in tables} for p, _ in t.parents)]
        if not ready:  # a cycle of references: keep the layout's order for the rest
            ready = pending[:1]
        done += ready
        pending = [t for t in pending if t not in ready]
    return done


def children(tables: Iterable[FileTable], parent: str) -> list[tuple[FileTable, tuple[tuple[str, str], ...]]]:
    """The tables whose foreign keys refer to `parent`, with (their column, the parent's column) pairs."""
    return [(t, pairs) for t in tables for p, pairs in t.parents if p == parent and t.file != parent]


# ---------------------------------------------------------------- creating and migrating


def ensure_tables(store: "SqlStore", standard: "Standard") -> list[FileTable]:
    """Create or migrate `standard`'s tables in `store` (one transaction), move legacy records in."""
    wanted = file_tables(standard)
    if not store._in_transaction and _up_to_date(store, standard, wanted):
        return wanted  # the usual case: no write transaction, so no wait behind a running import
    with store._transaction():
        if store.dialect.migration_lock:
            store._exec(store.dialect.migration_lock)
        known = {row[0]: row for row in store._exec(
            "SELECT file, table_name, view_name, columns FROM layout_tables WHERE standard = ?", (standard.id,))}
        for t in wanted:
            if t.file not in known:
                _create(store, t)
            else:
                _migrate(store, t, _loads(known[t.file][3]))
        if store._exec(store.dialect.has_table, (LEGACY,)).fetchone() is not None:
            _move_legacy(store, standard, wanted)
    return wanted


def _up_to_date(store: "SqlStore", standard: "Standard", wanted: list[FileTable]) -> bool:
    known = {row[0]: _loads(row[1]) for row in store._exec(
        "SELECT file, columns FROM layout_tables WHERE standard = ?", (standard.id,))}
    return (store._exec(store.dialect.has_table, (LEGACY,)).fetchone() is None
            and all(t.file in known and [c["column"] for c in known[t.file]][:len(t.columns)] == t.names
                    for t in wanted))


def _ddl_type(store: "SqlStore", col: Column) -> str:
    return SQL_TYPES[col.type].format(**store.dialect.types)


def _create(store: "SqlStore", t: FileTable) -> None:
    cols = ", ".join(f"{c.name} {_ddl_type(store, c)}{' NOT NULL' if c.key else ''}" for c in t.columns)
    types = store.dialect.types
    # No FOREIGN KEY to providers and deliveries: PostgreSQL checks one with a trigger per row, which
    # made a bulk import several times slower; neither is ever deleted, and only the import writes here.
    store._exec(
        f"CREATE TABLE {t.table} (provider_id {types['ref']} NOT NULL, delivery_id {types['ref']} NOT NULL, {cols},"
        f" PRIMARY KEY (provider_id, {', '.join(t.key)})){store.dialect.table_options}"
    )
    for n, (_, pairs) in enumerate(t.parents):  # cascades and 2054 look children up by their parent
        store._exec(f"CREATE INDEX {t.table[:MAX_NAME - 5]}_fk{n} ON {t.table}"
                    f" (provider_id, {', '.join(c for c, _ in pairs)})")
    _create_view(store, t)
    store._exec(
        "INSERT INTO layout_tables (standard, file, table_name, view_name, columns, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (t.standard, t.file, t.table, t.view, _dumps([c.as_json() for c in t.columns]), _now()),
    )


def _create_view(store: "SqlStore", t: FileTable) -> None:
    store._exec(
        f"CREATE VIEW {t.view} AS SELECT p.agb AS provider_agb, p.branch AS provider_branch,"
        f" d.name AS delivery, {', '.join('r.' + c for c in t.names)} FROM {t.table} r"
        " JOIN providers p ON p.id = r.provider_id JOIN deliveries d ON d.id = r.delivery_id"
    )


def _migrate(store: "SqlStore", t: FileTable, stored: list[dict]) -> None:
    """A layout that gained attributes gains columns; any other difference is refused."""
    have = {c["column"]: c for c in stored}
    for c in t.columns:
        old = have.get(c.name)
        if old is None:
            if c.key:
                raise StoreError(f"{t.standard} {t.file}: the layout's key now includes {c.ddid}; the store's "
                                 f"table {t.table} cannot change its key. Import into a new standard version.")
            store._exec(f"ALTER TABLE {t.table} ADD COLUMN {c.name} {_ddl_type(store, c)}")
        elif (old["type"], bool(old["key"])) != (c.type, c.key):
            raise StoreError(f"{t.standard} {t.file}: attribute {c.ddid} changed from {old['type']} to {c.type} "
                             f"(or in or out of the key) in the layout; the store's table {t.table} keeps the old "
                             "definition. Import into a new standard version.")
    if [c.name for c in t.columns] != [c["column"] for c in stored]:
        kept = [Column(c["ddid"], c["column"], c["type"], c["length"], c["key"]) for c in stored
                if c["column"] not in {x.name for x in t.columns}]
        store._exec(f"DROP VIEW {t.view}")
        _create_view(store, t)
        store._exec("UPDATE layout_tables SET columns = ? WHERE standard = ? AND file = ?",
                    (_dumps([c.as_json() for c in (*t.columns, *kept)]), t.standard, t.file))


def _move_legacy(store: "SqlStore", standard: "Standard", tables: list[FileTable]) -> None:
    """Records a schema-2 store kept as JSON, of deliveries of this standard, into the typed tables."""
    for t in tables:
        rows = store._exec(
            f"SELECT r.provider_id, r.delivery_id, r.fields FROM {LEGACY} r JOIN deliveries d ON d.id = r.delivery_id"
            " WHERE d.standard = ? AND r.file = ?", (standard.id, t.file),
        ).fetchall()
        if not rows:
            continue
        fields = {c.ddid: c.field(t.file) for c in t.columns}
        typed = [
            (pid, did, *[value(_loads(f).get(c.ddid), fields[c.ddid], c.key) for c in t.columns])
            for pid, did, f in rows
        ]
        names = ["provider_id", "delivery_id", *t.names]
        updates = ", ".join(f"{n} = excluded.{n}" for n in ["delivery_id", *t.names] if n not in t.key)
        store._conn.cursor().executemany(store.dialect.sql(
            f"INSERT INTO {t.table} ({', '.join(names)}) VALUES ({', '.join('?' for _ in names)})"
            f" ON CONFLICT (provider_id, {', '.join(t.key)}) DO UPDATE SET {updates}"), typed)
        store._exec(f"DELETE FROM {LEGACY} WHERE file = ? AND delivery_id IN (SELECT id FROM deliveries"
                    " WHERE standard = ?)", (t.file, standard.id))
    if store._exec(f"SELECT 1 FROM {LEGACY} LIMIT 1").fetchone() is None:
        store._exec(f"DROP TABLE {LEGACY}")


def catalogue(store: "SqlStore", file: str | None = None) -> list[FileTable]:
    """The typed tables a store holds (every standard used with it), optionally only of `file`."""
    query, params = "SELECT standard, file, table_name, view_name, columns FROM layout_tables", []
    if file is not None:
        query += " WHERE file = ?"
        params.append(file)
    out = []
    for std, name, table, view, cols in store._exec(query + " ORDER BY standard, file", params).fetchall():
        columns = tuple(Column(c["ddid"], c["column"], c["type"], c["length"], c["key"]) for c in _loads(cols))
        out.append(FileTable(std, name, table, view, columns, tuple(c.name for c in columns if c.key)))
    return out


def _dumps(v) -> str:
    return json.dumps(v, ensure_ascii=False, separators=(",", ":"))


def _loads(v):
    return json.loads(v) if isinstance(v, (str, bytes)) else v


def _now() -> str:
    import datetime as dt

    return dt.datetime.now(dt.timezone.utc).isoformat()
