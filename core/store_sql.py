"""`DeliveryStore` implemented once, in SQL that SQLite and PostgreSQL both accept.

A backend subclasses `SqlStore` with a connection, a `Dialect` and
`lock_provider`. `StoreHistory` answers the history rules from the same
tables. Key values are compared without trailing spaces: AN fields are padded
on the right (GA §4.2), and a padded and a trimmed value must be the same key.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
from collections import Counter
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, Iterable, Iterator

from .store import (
    ACCEPTED, ASSESSMENTS, RECEIVED, STATUSES, Delivery, DeliveryStore, Failure, Provider, ProviderSettings,
    SoftwareNotice, StoreError, disval_version, redact_url,
)
from .store_schema import MIGRATIONS, SCHEMA_VERSION_TABLE, Dialect, Migration

BLOB_PART = 1 << 20
KEY_BATCH = 500  # keys per IN (...) list: well under every backend's parameter limit


_PROVIDER = "agb, branch, username, name, active, created_at, deactivated_at"
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


class SqlStore(DeliveryStore):
    """`DeliveryStore` in portable SQL; a backend subclass supplies the connection and `lock_provider`.

    The connection runs in autocommit mode; every write is an explicit
    transaction opened with `Dialect.begin`.
    """

    def __init__(self, conn: Any, dialect: Dialect, url: str, migrations: tuple[Migration, ...] = MIGRATIONS):
        self._conn, self.dialect, self.url = conn, dialect, redact_url(url)
        self._in_transaction = False
        try:
            self._migrate(migrations)
        except BaseException:
            self.close()
            raise

    # plumbing

    def _exec(self, query: str, params: tuple | list = ()):
        return self._conn.execute(self.dialect.sql(query), params)

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        if self._in_transaction:  # part of the caller's transaction
            yield
            return
        self._begin()
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
        with suppress(Exception):
            self._conn.close()

    # providers

    def _provider_id(self, agb: str, branch: str) -> int:
        row = self._exec("SELECT id FROM providers WHERE agb = ? AND branch = ?", (agb, branch)).fetchone()
        if row is None:
            raise StoreError(f"provider {agb} {branch} is not registered (disval provider add {agb} {branch} ...)")
        return row[0]

    def add_provider(self, agb, branch, username, name=""):
        with self._transaction():
            if self.provider(agb, branch) is not None:
                raise StoreError(f"provider {agb} {branch} is already registered")
            self._exec(
                f"INSERT INTO providers ({_PROVIDER}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (agb, branch, username, name, True, _now(), None),
            )
        return self.provider(agb, branch)

    def provider(self, agb, branch):
        row = self._exec(f"SELECT {_PROVIDER} FROM providers WHERE agb = ? AND branch = ?", (agb, branch)).fetchone()
        return _provider(row) if row else None

    def providers(self):
        return [_provider(r) for r in self._exec(f"SELECT {_PROVIDER} FROM providers ORDER BY agb, branch")]

    def deactivate_provider(self, agb, branch, on=None):
        return self._set_active(agb, branch, False, (on or dt.date.today()).isoformat())

    def activate_provider(self, agb, branch):
        return self._set_active(agb, branch, True, None)

    def _set_active(self, agb, branch, active, until):
        with self._transaction():
            pid = self._provider_id(agb, branch)
            self._exec("UPDATE providers SET active = ?, deactivated_at = ? WHERE id = ?", (active, until, pid))
        return self.provider(agb, branch)

    def notify_software_change(self, agb, branch, supplier=None, package=None, at=None):
        noticed_at = _now(at)
        with self._transaction():
            self._exec(
                "INSERT INTO software_notices (provider_id, supplier, package, noticed_at) VALUES (?, ?, ?, ?)",
                (self._provider_id(agb, branch), supplier, package, noticed_at),
            )
        return SoftwareNotice(agb, branch, supplier, package, _ts(noticed_at))

    def software_notices(self, agb, branch):
        rows = self._exec(
            "SELECT supplier, package, noticed_at FROM software_notices WHERE provider_id = ? ORDER BY noticed_at, id",
            (self._provider_id(agb, branch),),
        )
        return [SoftwareNotice(agb, branch, r[0], r[1], _ts(r[2])) for r in rows]

    def provider_settings(self, agb, branch):
        row = self._exec(
            "SELECT standard, supplier, package, delivery_id, fixed_at FROM provider_settings WHERE provider_id = ?",
            (self._provider_id(agb, branch),),
        ).fetchone()
        return ProviderSettings(row[0], row[1], row[2], row[3], _ts(row[4])) if row else None

    def fix_provider_settings(self, agb, branch, standard, supplier, package, delivery_id=None):
        with self._transaction():
            self._exec(
                "INSERT INTO provider_settings (provider_id, standard, supplier, package, delivery_id, fixed_at)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (provider_id) DO UPDATE SET standard = excluded.standard,"
                " supplier = excluded.supplier, package = excluded.package, delivery_id = excluded.delivery_id,"
                " fixed_at = excluded.fixed_at",
                (self._provider_id(agb, branch), standard, supplier, package, delivery_id, _now()),
            )
        return self.provider_settings(agb, branch)

    # deliveries

    def add_delivery(self, name, content, zip_name=None, *, standard=None, status="queued", reasons=(), at=None,
                     validation=None):
        _check_status(status)
        if status == "imported":
            raise StoreError("a delivery becomes imported through full_load only")
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
                raise StoreError("a delivery becomes imported through full_load only")
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

    # blobs

    def _put_blob(self, content: bytes | Path) -> tuple[str, int]:
        digest, size = hashlib.sha256(), 0
        for part in _parts(content):
            digest.update(part)
            size += len(part)
        sha256 = digest.hexdigest()
        if self._exec("SELECT 1 FROM blobs WHERE sha256 = ? AND part = 0", (sha256,)).fetchone() is None:
            for number, part in enumerate(_parts(content)):
                self._exec(
                    "INSERT INTO blobs (sha256, part, data) VALUES (?, ?, ?) ON CONFLICT (sha256, part) DO NOTHING",
                    (sha256, number, part),
                )
        return sha256, size

    def put_blob(self, content):
        with self._transaction():
            return self._put_blob(content)[0]

    def read_blob(self, sha256):
        rows = self._exec("SELECT data FROM blobs WHERE sha256 = ? ORDER BY part", (sha256,)).fetchall()
        if not rows:
            raise StoreError(f"no zip with sha256 {sha256} is kept in {self.url}")
        return b"".join(bytes(r[0]) for r in rows)

    def save_blob(self, sha256, dest):
        dest = Path(dest)
        with dest.open("wb") as out:
            for number in itertools.count():  # part by part: a large zip never sits in memory whole
                row = self._exec("SELECT data FROM blobs WHERE sha256 = ? AND part = ?", (sha256, number)).fetchone()
                if row is None:
                    break
                out.write(bytes(row[0]))
        if number == 0:
            dest.unlink()
            raise StoreError(f"no zip with sha256 {sha256} is kept in {self.url}")
        return dest

    # imported data and history

    def full_load(self, delivery_id, records, batch_size=5000):
        counts: Counter[str] = Counter()
        with self._transaction():
            d = self.delivery(delivery_id)
            if d is None:
                raise StoreError(f"there is no delivery {delivery_id}")
            if d.phase != "production" or d.status != "accepted":
                raise StoreError(
                    f"delivery {delivery_id} ({d.name}) is a {d.phase} delivery with status {d.status}: only an "
                    "accepted production delivery is imported"
                )
            provider_id = self._provider_id(d.agb, d.branch)
            self._exec("DELETE FROM records WHERE provider_id = ?", (provider_id,))
            batch: list[tuple] = []
            for file, key, fields in records:
                batch.append((provider_id, delivery_id, file, _key(key), _dumps(fields)))
                counts[file] += 1
                if len(batch) >= batch_size:
                    self._insert_records(batch)
                    batch.clear()
            if batch:
                self._insert_records(batch)
            if self.dialect.after_import:
                self._exec(self.dialect.after_import)
            self._exec(
                "UPDATE deliveries SET status = 'imported', imported = ?, processed_at = ? WHERE id = ?",
                (_dumps(dict(counts)), _now(), delivery_id),
            )
        return dict(counts)

    def _insert_records(self, rows: list[tuple]) -> None:
        """Insert (provider_id, delivery_id, file, record_key, fields) rows; a backend may do it faster."""
        self._conn.cursor().executemany(
            self.dialect.sql(
                "INSERT INTO records (provider_id, delivery_id, file, record_key, fields) VALUES (?, ?, ?, ?, ?)"
            ),
            rows,
        )

    def records(self, agb, branch, file=None):
        query, params = "SELECT file, record_key, fields FROM records WHERE provider_id = ?", [
            self._provider_id(agb, branch)
        ]
        if file is not None:
            query += " AND file = ?"
            params.append(file)
        for row in self._exec(query + " ORDER BY file, record_key", params).fetchall():
            yield row[0], row[1], _loads(row[2])

    def history(self, agb, branch, before=None):
        return StoreHistory(self, agb, branch, before)


class StoreHistory:
    """`disval.core.history.History` answered from a `SqlStore`, for one provider."""

    def __init__(self, store: SqlStore, agb: str, branch: str, before: int | None = None):
        self._store, self.agb, self.branch, self.before = store, agb, branch, before

    def stored_with_other(self, file: str, key: str, other: str, pairs: Iterable[tuple[str, str]]) -> set[str]:
        """Of the delivered (key, other) pairs, the key values (as delivered) that the provider's
        imported records of `file` hold under a different `other` value (rules 1656, 2054).

        `key` is the DDID whose value the records were imported under (the file's primary key).
        """
        delivered: dict[str, list[tuple[str, str]]] = {}
        for k, o in pairs:
            delivered.setdefault(_key(k), []).append((k, _key(o)))
        store = self._store
        row = store._exec("SELECT id FROM providers WHERE agb = ? AND branch = ?", (self.agb, self.branch)).fetchone()
        if row is None or not delivered:
            return set()
        provider_id, keys, hits = row[0], list(delivered), set()
        for start in range(0, len(keys), KEY_BATCH):
            chunk = keys[start:start + KEY_BATCH]
            rows = store._exec(
                "SELECT record_key, fields FROM records WHERE provider_id = ? AND file = ?"
                f" AND record_key IN ({_marks(chunk)})",
                [provider_id, file, *chunk],
            ).fetchall()
            for record_key, fields in rows:
                stored = _key(_loads(fields).get(other) or "")
                hits.update(k for k, o in delivered[record_key] if o != stored)
        return hits

    def expected_value(self, ddid: str) -> str | None:
        """The previous accepted delivery's packing-slip value of `ddid` (rules 1812, 1813); None when
        there is none, or when a software change was registered since that delivery was submitted."""
        store = self._store
        previous = store._latest(self.agb, self.branch, ACCEPTED, before=self.before)
        if previous is None or ddid not in previous.packing_slip:
            return None
        if any(n.noticed_at > previous.submitted_at for n in store.software_notices(self.agb, self.branch)):
            return None
        return previous.packing_slip[ddid].rstrip()

    def account_registered(self, user: str, provider: str, branch: str, on: dt.date) -> bool:
        """Whether user + AGB + volgnr is a registered account, valid on `on` (rule 1819)."""
        registered = self._store.provider(_key(provider), _key(branch))
        return registered is not None and registered.username == _key(user) and registered.active_on(on)


# ---------------------------------------------------------------- helpers


def _marks(values) -> str:
    return ", ".join("?" for _ in values)


def _key(value: str) -> str:
    return value.rstrip(" ")


def _check_status(status: str) -> None:
    if status not in STATUSES:
        raise ValueError(f"status must be one of {STATUSES}, not {status!r}")


def _now(at: dt.datetime | str | None = None) -> str:
    """A timestamp as both backends take it: ISO 8601 in UTC."""
    if isinstance(at, str):
        at = dt.datetime.fromisoformat(at)
    at = at or dt.datetime.now(dt.timezone.utc)
    if at.tzinfo is None:
        at = at.replace(tzinfo=dt.timezone.utc)
    return at.astimezone(dt.timezone.utc).isoformat()


def _ts(value) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value.astimezone(dt.timezone.utc)


def _date(value) -> dt.date | None:
    return dt.date.fromisoformat(value) if isinstance(value, str) else value


def _dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _loads(value):
    return json.loads(value) if isinstance(value, (str, bytes)) else value


def _parts(content: bytes | Path) -> Iterator[bytes]:
    """The zip in parts of BLOB_PART bytes; at least one part, so that an empty zip is kept too."""
    if isinstance(content, (bytes, bytearray, memoryview)):
        data = bytes(content)
        yield from (data[i:i + BLOB_PART] for i in range(0, max(len(data), 1), BLOB_PART))
        return
    with Path(content).open("rb") as fh:
        part = fh.read(BLOB_PART)
        yield part
        while part := fh.read(BLOB_PART):
            yield part


def _provider(row) -> Provider:
    return Provider(row[0], row[1], row[2], row[3], bool(row[4]), _ts(row[5]), _date(row[6]))


def _delivery(row) -> Delivery:
    return Delivery(
        id=row[0], name=row[1], sha256=row[2], size=row[3], agb=row[4], branch=row[5], phase=row[6],
        created=_date(row[7]), sequence=row[8], standard=row[9], status=row[10], reasons=_loads(row[11]),
        assessment=row[12], counts=_loads(row[13]), imported=_loads(row[14]), packing_slip=_loads(row[15]),
        reports=_loads(row[16]), disval=row[17], submitted_at=_ts(row[18]), processed_at=_ts(row[19]),
        started_at=_ts(row[20]), validation=_loads(row[21]) or {},
        failure=Failure(row[22], row[23] or "", row[24] or "") if row[22] else None, attempts=row[25] or 0,
    )
