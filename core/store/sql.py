"""`DeliveryStore` implemented once, in SQL that SQLite and PostgreSQL both accept.

A backend subclasses `SqlStore` with a connection, a `Dialect` and
`lock_provider`. The imported records live in typed tables made from each
standard's layout (`tables`), written by `importing` and read by
`history` for the history rules.
"""
from __future__ import annotations

from contextlib import contextmanager, suppress
from typing import Any, ContextManager, Iterable, Iterator

from .delivery_store import (
    ASSESSMENTS, RECEIVED, Delivery, DeliveryStore, StoreError, disval_version,
    redact_url,
)
from .blobs import SqlBlobs
from .provider_rows import SqlProviders
from .history import StoreHistory
from .values import (
    _check_status, _delivery, _dumps, _loads, _marks, _now, _typed,
)
from .schema import MIGRATIONS, SCHEMA_VERSION_TABLE, Dialect, Migration
from .tables import catalogue, ensure_tables

KEY_SEPARATOR = "|"  # between the values of a composite key, in `records()`


_DELIVERY = (
    "id, name, sha256, size, agb, branch, phase, created, sequence, standard, status, reasons, assessment,"
    " counts, imported, packing_slip, reports, disval, submitted_at, processed_at, started_at, validation,"
    " failure_type, failure_message, failure_where, attempts"
)
_UPDATABLE = (
    "status", "reasons", "assessment", "counts", "packing_slip", "reports", "standard", "validation",
    "started_at", "processed_at", "failure", "attempts",
)
_JSON = ("reasons", "counts", "packing_slip", "reports", "validation")
_TIMES = ("started_at", "processed_at")


class SqlStore(SqlProviders, SqlBlobs, DeliveryStore):
    """`DeliveryStore` in portable SQL; a backend subclass supplies the connection and `lock_provider`.

    The connection runs in autocommit mode; every write is an explicit
    transaction opened with `Dialect.begin`.
    """

    def __init__(self, conn: Any, dialect: Dialect, url: str, migrations: tuple[Migration, ...] = MIGRATIONS):
        self._conn, self.dialect, self.url = conn, dialect, redact_url(url)
        self._in_transaction = False
        self._live = None
        try:
            self._migrate(migrations)
        except BaseException:
            self.close()
            raise

    # plumbing

    def _exec(self, query: str, params: tuple | list = ()):
        return self._conn.execute(self.dialect.sql(query), params)

    @contextmanager
    def _transaction(self, begin=None) -> Iterator[None]:
        if self._in_transaction:  # part of the caller's transaction
            yield
            return
        (begin or self._begin)()
        self._in_transaction = True
        try:
            yield
        except BaseException:
            self._in_transaction = False
            with suppress(Exception):  # a dead connection cannot roll back; the server does it
                self._exec("ROLLBACK")
            raise
        self._in_transaction = False
        self._exec("COMMIT")

    def transaction(self) -> ContextManager[None]:
        """One transaction for every write inside it (a write outside joins none): all or nothing.

        The job queue defers a provider's drain in the transaction that receives its delivery.
        """
        return self._transaction()

    def write_now(self, write) -> bool:
        """Run `write()` in a transaction of its own if that needs no wait for another writer; False,
        without running it, when it would wait (an import holds SQLite's one writer for its whole
        length). For notes that a later write supersedes, such as when a token was last used: a request
        of the portal or the API must not hang for the length of an import over them."""
        if self._in_transaction:
            write()
            return True
        if not self._begin_now():
            return False
        with self._transaction(begin=lambda: None):
            write()
        return True

    def _begin_now(self) -> bool:
        """Open a write transaction if no other writer holds the store, else False. A backend whose
        writers do not wait for each other's transactions (PostgreSQL locks rows) always opens one."""
        self._begin()
        return True

    def begin_run(self, delivery):
        from .runs import begin_run

        return begin_run(self, delivery)

    def end_run(self, run, status):
        from .runs import end_run

        end_run(self, run, status)

    def _begin(self) -> None:
        """Open a write transaction; a backend whose writers wait for each other may say that it waits."""
        self._exec(self.dialect.begin)

    def _migrate(self, migrations: tuple[Migration, ...]) -> None:
        if [m.version for m in migrations] != list(range(1, len(migrations) + 1)):
            raise ValueError("migrations must be numbered 1, 2, ... without gaps")
        known = len(migrations)
        current, writer = self._read_version()
        self._refuse_newer(current, writer, known)
        if current == known:
            return
        with self._transaction():  # upgrade all the way or not at all
            if self.dialect.migration_lock:
                self._exec(self.dialect.migration_lock)
            self._exec(SCHEMA_VERSION_TABLE.format(**self.dialect.types))
            current, writer = self._read_version()  # another process may have upgraded meanwhile
            self._refuse_newer(current, writer, known)
            for migration in migrations[current:]:
                try:
                    steps = migration.steps_for(self.dialect.name)
                except KeyError:
                    raise StoreError(f"schema migration {migration.version} ({migration.description}) has no steps "
                                     f"for the {self.dialect.name} backend") from None
                for step in steps:
                    self._exec(step.format(**self.dialect.types))
                self._exec(
                    "INSERT INTO schema_version (version, disval, applied_at) VALUES (?, ?, ?)",
                    (migration.version, disval_version(), _now()),
                )

    def _refuse_newer(self, current: int, writer: str | None, known: int) -> None:
        if current > known:
            raise StoreError(
                f"the store {self.url} has schema version {current}, written by disval {writer}; this is "
                f"disval {disval_version()}, which knows schema versions up to {known}. Use disval {writer} "
                f"or later: pip install --upgrade 'disval>={writer}'"
            )

    def _read_version(self) -> tuple[int, str | None]:
        if self._exec(self.dialect.has_table, ("schema_version",)).fetchone() is None:
            return 0, None
        row = self._exec("SELECT version, disval FROM schema_version ORDER BY version DESC LIMIT 1").fetchone()
        return (row[0], row[1]) if row else (0, None)

    def schema_version(self) -> int:
        return self._read_version()[0]

    def close(self) -> None:
        if self._live is not None:
            self._live.close()
            self._live = None
        with suppress(Exception):
            self._conn.close()

    def live(self):
        if self._live is None:
            self._live = self._open_live()
        return self._live

    def _open_live(self):
        """The backend's `LiveState` (on a connection of its own), or None when it keeps none."""
        return None

    # deliveries

    def add_delivery(self, name, content, zip_name=None, *, standard=None, status="queued", reasons=(), at=None,
                     validation=None):
        _check_status(status)
        if status == "imported":
            raise StoreError("a delivery becomes imported through import_delivery only")
        z = zip_name
        with self._transaction():
            sha256, size = self._put_blob(content)
            row = self._exec(
                "INSERT INTO deliveries (name, sha256, size, agb, branch, phase, created, sequence, standard, status,"
                " reasons, counts, imported, packing_slip, reports, disval, submitted_at, validation)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (name, sha256, size, z and z.provider, z and z.branch, z and z.phase, z and z.created.isoformat(),
                 z and z.sequence, standard, status, _dumps(list(reasons)), "{}", "{}", "{}", "{}",
                 disval_version(), _now(at), _dumps(validation or {})),
            ).fetchone()
        return self.delivery(row[0])

    def delivery(self, delivery_id):
        row = self._exec(f"SELECT {_DELIVERY} FROM deliveries WHERE id = ?", (delivery_id,)).fetchone()
        return _delivery(row) if row else None

    def deliveries(self, agb, branch, statuses=None):
        query, params = f"SELECT {_DELIVERY} FROM deliveries WHERE agb = ? AND branch = ?", [agb, branch]
        if statuses is not None:
            statuses = list(statuses)
            query += f" AND status IN ({_marks(statuses)})"
            params += statuses
        return [_delivery(r) for r in self._exec(query + " ORDER BY created, sequence, id", params)]

    def already_delivered(self, name, sha256, exclude=None, *, received=False):
        not_counted = "('rejected', 'discarded', 'queued', 'failed')" if received else "('rejected', 'discarded')"
        row = self._exec(
            f"SELECT {_DELIVERY} FROM deliveries WHERE (name = ? OR sha256 = ?) AND id <> ?"
            f" AND status NOT IN {not_counted} ORDER BY id LIMIT 1",
            (name, sha256, -1 if exclude is None else exclude),
        ).fetchone()
        return _delivery(row) if row else None

    def last_accepted(self, agb, branch, *, phase=None, before=None):
        return self._latest(agb, branch, RECEIVED, phase, before)

    def _latest(self, agb, branch, statuses, phase=None, before=None) -> Delivery | None:
        query = (
            f"SELECT {_DELIVERY} FROM deliveries WHERE agb = ? AND branch = ? AND created IS NOT NULL"
            f" AND status IN ({_marks(statuses)})"
        )
        params: list = [agb, branch, *statuses]
        if phase is not None:
            query += " AND phase = ?"
            params.append(phase)
        if before is not None:
            ref = self.delivery(before)
            query += " AND id <> ?"
            params.append(before)
            if ref is not None and ref.created is not None:
                query += " AND (created < ? OR (created = ? AND sequence < ?))"
                params += [ref.created.isoformat(), ref.created.isoformat(), ref.sequence]
        row = self._exec(query + " ORDER BY created DESC, sequence DESC, id DESC LIMIT 1", params).fetchone()
        return _delivery(row) if row else None

    def update_delivery(self, delivery_id, **changes):
        unknown = set(changes) - set(_UPDATABLE)
        if unknown:
            raise TypeError(f"update_delivery() cannot change {', '.join(sorted(unknown))}")
        if "status" in changes:
            _check_status(changes["status"])
            if changes["status"] == "imported":
                raise StoreError("a delivery becomes imported through import_delivery only")
        if changes.get("assessment") not in (None, *ASSESSMENTS):
            raise ValueError(f"assessment must be one of {ASSESSMENTS}, not {changes['assessment']!r}")
        values = {
            k: _dumps(v) if k in _JSON else (v and _now(v)) if k in _TIMES else v
            for k, v in changes.items() if k != "failure"
        }
        if "failure" in changes:  # typed columns, so that an operator can query what failed and why
            failure = changes["failure"]
            values.update(failure_type=failure and failure.type, failure_message=failure and failure.message,
                          failure_where=failure and failure.where)
        with self._transaction():
            if self.delivery(delivery_id) is None:
                raise StoreError(f"there is no delivery {delivery_id}")
            if values:
                assignments = ", ".join(f"{k} = ?" for k in values)
                self._exec(f"UPDATE deliveries SET {assignments} WHERE id = ?", [*values.values(), delivery_id])
        return self.delivery(delivery_id)

    def discard_after(self, delivery_id, reason):
        with self._transaction():
            ref = self.delivery(delivery_id)
            if ref is None or ref.created is None:
                return []
            day = ref.created.isoformat()
            later = [
                _delivery(r) for r in self._exec(
                    f"SELECT {_DELIVERY} FROM deliveries WHERE agb = ? AND branch = ? AND status = 'queued'"
                    " AND id <> ? AND (created > ? OR (created = ? AND sequence > ?)) ORDER BY created, sequence, id",
                    (ref.agb, ref.branch, delivery_id, day, day, ref.sequence),
                ).fetchall()
            ]
            for d in later:
                self._exec(
                    "UPDATE deliveries SET status = 'discarded', reasons = ?, processed_at = ? WHERE id = ?",
                    (_dumps([reason]), _now(), d.id),
                )
        return [self.delivery(d.id) for d in later]

    def prune_unregistered(self, before, dry_run=False):
        with self._transaction():
            pruned = [_delivery(r) for r in self._exec(
                f"SELECT {_DELIVERY} FROM deliveries d WHERE submitted_at < ?"
                " AND status IN ('rejected', 'discarded', 'failed') AND (agb IS NULL OR NOT EXISTS"
                " (SELECT 1 FROM providers p WHERE p.agb = d.agb AND p.branch = d.branch)) ORDER BY id",
                (_now(before),),
            ).fetchall()]
            if dry_run or not pruned:
                return pruned
            for d in pruned:
                self._exec("DELETE FROM processing_runs WHERE delivery_id = ?", (d.id,))
                self._exec("DELETE FROM deliveries WHERE id = ?", (d.id,))
            candidates = {d.sha256 for d in pruned} | {sha for d in pruned for sha in d.reports.values()}
            kept: set[str] = set()  # blobs are shared by content: keep what any remaining delivery refers to
            for sha256, reports, validation in self._exec(
                    "SELECT sha256, reports, validation FROM deliveries").fetchall():
                kept.add(sha256)
                kept.update(_loads(reports).values())
                kept.update(r.get("sha256") for r in (_loads(validation) or {}).get("rules", []))
            for sha256 in sorted(candidates - kept):
                self._exec("DELETE FROM blobs WHERE sha256 = ?", (sha256,))
        return pruned

    # imported data and history

    def prepare(self, standard):
        ensure_tables(self, standard)

    # Whether `_write_rows` must be told when a batch may repeat a key (its bulk path would fail on one).
    bulk_needs_unique_keys = False
    # Whether `_copy_text` takes PostgreSQL COPY text (`copy_text`): a first delivery's records then go
    # in without a Python value per field.
    copy_text = False
    # Whether `_write_block` and `_stage_block` take a delivery's records as they were read (a backend
    # that types them itself, e.g. in SQL): no Python value per field.
    takes_blocks = False

    def stage(self, standard, agb=None, branch=None, delivery_id=None):
        from .staging import Stage

        row = self._exec("SELECT id FROM providers WHERE agb = ? AND branch = ?", (agb, branch)).fetchone() if (
            agb is not None and delivery_id is not None) else None
        provider_id = row[0] if row else None  # without a registered provider: staged, never fresh
        return Stage(self, ensure_tables(self, standard), provider_id, delivery_id)

    def import_delivery(self, delivery_id, standard, batches, finish=None, progress=None):
        from .importing import import_delivery

        return import_delivery(self, delivery_id, standard, batches, finish, progress)

    def _stage_rows(self, table: str, columns: list[str], rows: Iterable[tuple]) -> None:
        """Write rows into a temporary staging table; a backend may do it faster (COPY)."""
        marks = ", ".join("?" for _ in columns)
        self._conn.cursor().executemany(
            self.dialect.sql(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"), rows)

    def _write_rows(self, t, columns: list[str], rows: Iterable[tuple], may_repeat: bool = True) -> None:
        """Write rows (`columns`: provider_id, delivery_id, then `t`'s) straight into the typed table `t`;
        a row whose key was written before replaces it. A backend may do it faster (COPY) when the
        rows repeat no key (`may_repeat` False)."""
        keys = ", ".join(t.key)
        updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in t.key and c != "provider_id")
        self._conn.cursor().executemany(self.dialect.sql(
            f"INSERT INTO {t.table} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})"
            f" ON CONFLICT (provider_id, {keys}) DO UPDATE SET {updates}"), rows)

    def _write_block(self, t, fields: list, keys: set[str], rows, provider_id: int, delivery_id: int) -> bool:
        """Write a fresh delivery's live records `rows` (uint8, one record per row; `fields`: the layout
        fields of `t`'s columns, in order; `keys`: the DDIDs of the file's key) into the typed table `t`,
        a repeated key replacing the earlier record; False when the backend cannot take this batch so
        (the caller writes it from typed values). Only where `takes_blocks`."""
        raise NotImplementedError(f"the {self.dialect.name} store takes no blocks")

    def _stage_block(self, stage: str, columns: list[str], fields: list, keys: set[str], rows, lines) -> bool:
        """Append records `rows` as read to the stage `stage`: its `line` from `lines`, then `columns`
        from `fields` (the status vlag's column `flag`, if any, and the typed columns); False when the
        backend cannot take this batch so. Only where `takes_blocks`."""
        raise NotImplementedError(f"the {self.dialect.name} store takes no blocks")

    def _copy_text(self, table: str, columns: list[str], text: bytes) -> None:
        """Write COPY text lines (`copy_text.lines`) into `table` (a typed table or a stage); only where
        `copy_text`."""
        raise NotImplementedError(f"the {self.dialect.name} store takes no COPY text")

    def records(self, agb, branch, file=None):
        provider_id = self._provider_id(agb, branch)
        for t in catalogue(self, file):
            names = ", ".join(c.name for c in t.columns)
            order = ", ".join(t.key)
            for row in self._exec(f"SELECT {names} FROM {t.table} WHERE provider_id = ? ORDER BY {order}",
                                  (provider_id,)).fetchall():
                fields = {c.ddid: _typed(c, v) for c, v in zip(t.columns, row) if c.ddid}
                key = KEY_SEPARATOR.join(str(fields.get(c.ddid, "")) for c in t.columns if c.key and c.ddid)
                yield t.file, key, fields

    def history(self, agb, branch, before=None, standard=None, stage=None):
        """See `DeliveryStore.history`; with `stage` (this store's `Stage` of the delivery being validated)
        the rules that compare the delivery with the store join its staged records."""
        return StoreHistory(self, agb, branch, before, standard, stage)
