"""The delivery store: the receiving side's memory (GA §4.3, the production phase).

Providers and their NZa accounts, every submitted zip with what became of it,
the technical settings fixed in the connect phase, and the records imported
from each provider's last positively assessed production delivery.

`DeliveryStore` is the interface the submit pipeline uses. `SqlStore`
implements it once, in SQL that SQLite and PostgreSQL both accept; a backend
(`disval.plugins.stores.sqlite`, `...postgresql`) only supplies a connection,
a `Dialect` and a per-provider lock. Stores are opened from a URL through the
`disval_store` hook: `open_store(url)`.

Decisions, and why:

- Zips are kept inside the database (`blobs`: content-addressed by sha256, in
  parts of 1 MiB), not in a directory. A delivery row and its zip are written
  in one transaction, so neither exists without the other; a PostgreSQL
  installation needs no shared file system; one backup holds everything.
- Imported records share one generic table, `records(provider, delivery, file,
  record_key, fields)`, rather than a table per layout file. A full load is
  then one DELETE of the provider's rows and batched INSERTs in the same
  transaction, for any standard, and a new standard needs no migration. The
  history rules look records up through the index on (provider, file,
  record_key) and compare the other attribute in Python.
- Key values are compared without trailing spaces: AN fields are padded on the
  right (GA §4.2), and a padded and a trimmed value must be the same key.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
import os
from abc import ABC, abstractmethod
from collections import Counter
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, ContextManager, Iterable, Iterator
from urllib.parse import urlsplit, urlunsplit

if TYPE_CHECKING:  # pragma: no cover
    import pluggy

    from .history import History
    from .standard import ZipName

# queued: kept, receipt not yet decided. accepted: passed receipt and not assessed negative (a TEST
# delivery ends here when positive; a production one until it is imported). rejected: failed receipt.
# discarded: queued behind a delivery that was rejected at receipt (GA §4.3.2). imported: full load done.
STATUSES = ("queued", "accepted", "rejected", "discarded", "imported", "assessed_negative")
RECEIVED = ("accepted", "imported", "assessed_negative")  # passed receipt: what later ones must follow
ACCEPTED = ("accepted", "imported")  # passed receipt and assessed positive (or not yet assessed)
ASSESSMENTS = ("positive", "negative")
BLOB_PART = 1 << 20
KEY_BATCH = 500  # keys per IN (...) list: well under every backend's parameter limit


class StoreError(RuntimeError):
    """A store that cannot be opened or used as asked; the message says what to do."""


def disval_version() -> str:
    """The installed disval's version, as recorded with schema upgrades and deliveries."""
    try:
        return metadata.version("disval")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "unknown"


# ---------------------------------------------------------------- values


@dataclass(frozen=True)
class Provider:
    """A registered provider: AGB code + instelling volgnr DIS, with its NZa account (3341)."""

    agb: str
    branch: str
    username: str  # gebruikersnaam NZa: the account that may deliver for this AGB + volgnr (rule 1819)
    name: str
    active: bool  # may deliver now (receipt: "klant is niet meer actief")
    created_at: dt.datetime
    deactivated_at: dt.date | None = None

    def active_on(self, day: dt.date) -> bool:
        """Whether the account is valid on `day`: not deactivated on or before it."""
        return self.deactivated_at is None or day < self.deactivated_at


@dataclass(frozen=True)
class ProviderSettings:
    """The technical settings the first positive connect delivery fixed (standard, software)."""

    standard: str
    supplier: str | None  # 3339 softwareleverancier
    package: str | None  # 3334 softwarepakket
    delivery_id: int | None
    fixed_at: dt.datetime


@dataclass(frozen=True)
class SoftwareNotice:
    """A provider told the NZa it changes software (lifts rules 1812/1813 for the next delivery)."""

    agb: str
    branch: str
    supplier: str | None
    package: str | None
    noticed_at: dt.datetime


@dataclass(frozen=True)
class Delivery:
    """One submitted zip and what became of it."""

    id: int
    name: str
    sha256: str
    size: int
    agb: str | None  # from the zip name; None when the name could not be read
    branch: str | None
    phase: str | None  # test | production
    created: dt.date | None  # creatiedatum from the name
    sequence: str | None  # volgnummer from the name
    standard: str | None
    status: str
    reasons: list[str]  # receipt: the zip-level ids or messages it was rejected or discarded for
    assessment: str | None  # positive | negative
    counts: dict[str, Any]  # whatever the pipeline reports per file (processed, rejected, ...)
    imported: dict[str, int]  # records imported per file, written by the full load itself
    packing_slip: dict[str, str]  # pakbon DDID -> value, for rules 1812/1813 of later deliveries
    reports: dict[str, str]  # report kind -> path
    disval: str  # the disval version that received it
    submitted_at: dt.datetime
    processed_at: dt.datetime | None

    @property
    def order(self) -> tuple[dt.date | None, str | None]:
        """Processing order within a provider: creation date, then sequence number (GA §4.3.1)."""
        return (self.created, self.sequence)


# ---------------------------------------------------------------- the interface


class DeliveryStore(ABC):
    """What the `disval_store` hook returns. Providers are addressed by AGB code + volgnr.

    A store object belongs to one thread; open one per process or thread.
    """

    url: str  # where it is, without a password

    # providers

    @abstractmethod
    def add_provider(self, agb: str, branch: str, username: str, name: str = "") -> Provider:
        """Register a provider and its account; StoreError if AGB + volgnr is already registered."""

    @abstractmethod
    def provider(self, agb: str, branch: str) -> Provider | None:
        """The registered provider, or None."""

    @abstractmethod
    def providers(self) -> list[Provider]:
        """Every registered provider, by AGB code and volgnr."""

    @abstractmethod
    def deactivate_provider(self, agb: str, branch: str, on: dt.date | None = None) -> Provider:
        """Make the provider inactive; its account is invalid from `on` (default today) for rule 1819."""

    @abstractmethod
    def activate_provider(self, agb: str, branch: str) -> Provider:
        """Make a deactivated provider active again, with no end date."""

    @abstractmethod
    def notify_software_change(
        self, agb: str, branch: str, supplier: str | None = None, package: str | None = None,
        at: dt.datetime | None = None,
    ) -> SoftwareNotice:
        """Register that the provider changes software supplier or package (rules 1812/1813)."""

    @abstractmethod
    def software_notices(self, agb: str, branch: str) -> list[SoftwareNotice]:
        """The provider's software-change notices, oldest first."""

    @abstractmethod
    def provider_settings(self, agb: str, branch: str) -> ProviderSettings | None:
        """The settings fixed by the provider's first positive connect delivery; None: still connecting."""

    @abstractmethod
    def fix_provider_settings(
        self, agb: str, branch: str, standard: str, supplier: str | None, package: str | None,
        delivery_id: int | None = None,
    ) -> ProviderSettings:
        """Fix (or, after a new connect phase, replace) the provider's technical settings."""

    # deliveries

    @abstractmethod
    def add_delivery(
        self, name: str, content: bytes | Path, zip_name: "ZipName | None" = None, *,
        standard: str | None = None, status: str = "queued", reasons: Iterable[str] = (),
        at: dt.datetime | None = None,
    ) -> Delivery:
        """Keep a submitted zip and its delivery record in one transaction.

        `content` is the zip (bytes or a path); it is stored under its sha256.
        `zip_name` is the parsed name (None when it does not parse): provider,
        phase, creation date and sequence come from it.
        """

    @abstractmethod
    def delivery(self, delivery_id: int) -> Delivery | None:
        """The delivery with this id, or None."""

    @abstractmethod
    def deliveries(self, agb: str, branch: str, statuses: Iterable[str] | None = None) -> list[Delivery]:
        """The provider's deliveries (optionally only those in `statuses`) in processing order."""

    @abstractmethod
    def already_delivered(self, name: str, sha256: str, exclude: int | None = None) -> Delivery | None:
        """The earliest delivery with the same zip name or the same content, other than `exclude`.

        Deliveries rejected at receipt or discarded do not count: they were not
        processed and may be offered again once the problem is solved (GA §4.3.2).
        """

    @abstractmethod
    def last_accepted(
        self, agb: str, branch: str, *, phase: str | None = None, before: int | None = None
    ) -> Delivery | None:
        """The provider's last delivery that passed receipt, by creation date then sequence number.

        Receipt criterion: a new delivery must come after it (GA §4.3.2). Counts
        accepted, imported and negatively assessed deliveries; with `phase`, only
        that phase; with `before` (a delivery id), only those ordered before it.
        """

    @abstractmethod
    def update_delivery(self, delivery_id: int, **changes: Any) -> Delivery:
        """Record a delivery's outcome: any of status, reasons, assessment, counts, packing_slip,
        reports, standard, processed_at. Status `imported` is only ever set by `full_load`."""

    @abstractmethod
    def discard_after(self, delivery_id: int, reason: str) -> list[Delivery]:
        """Discard the provider's queued deliveries ordered after this one, which was rejected at
        receipt (GA §4.3.2: "alle volgende al aangeleverde bestanden"). Returns the discarded ones."""

    @abstractmethod
    def read_blob(self, sha256: str) -> bytes:
        """The kept zip with this content hash."""

    @abstractmethod
    def save_blob(self, sha256: str, dest: Path) -> Path:
        """Write the kept zip with this content hash to `dest`, part by part."""

    # imported data and history

    @abstractmethod
    def full_load(
        self, delivery_id: int, records: Iterable[tuple[str, str, dict[str, str]]], batch_size: int = 5000
    ) -> dict[str, int]:
        """Import an accepted production delivery: its records replace all of the provider's.

        `records` yields (file, record key value, {DDID: value}). One
        transaction: the old records, the new ones and the delivery's status
        `imported` change together or not at all, even if the process is killed.
        Returns the records imported per file.
        """

    @abstractmethod
    def records(self, agb: str, branch: str, file: str | None = None) -> Iterator[tuple[str, str, dict]]:
        """The provider's imported records as (file, record key, fields)."""

    @abstractmethod
    def history(self, agb: str, branch: str, before: int | None = None) -> "History":
        """What the store knows of this provider, for the history rules (`disval.core.history`).

        With `before` (the id of the delivery being validated), "previous" means
        ordered before that delivery, which itself never counts.
        """

    @abstractmethod
    def lock_provider(self, agb: str, branch: str) -> ContextManager[None]:
        """Hold the provider's processing lock: one delivery per provider at a time, across
        processes (GA §4.3.1); other providers are not blocked. Not re-entrant."""

    @abstractmethod
    def schema_version(self) -> int:
        """The schema version of the open store."""

    @abstractmethod
    def close(self) -> None:
        """Release the connection."""

    def __enter__(self) -> "DeliveryStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# ---------------------------------------------------------------- schema


@dataclass(frozen=True)
class Dialect:
    """What differs between SQL backends, kept small: placeholders, how a write begins, column types."""

    name: str
    placeholder: str  # "?" (sqlite3) or "%s" (psycopg)
    begin: str  # the statement that opens a write transaction
    types: dict[str, str]  # id, ref, bool, date, timestamp, json, blob, bigint
    has_table: str  # query with one parameter, the table name; a row when it exists
    migration_lock: str | None = None  # serialises concurrent upgrades, inside the transaction
    after_import: str | None = None  # run in the import transaction, e.g. to refresh planner statistics

    def sql(self, query: str) -> str:
        """`query`, written with `?` placeholders, in this backend's parameter style."""
        return query if self.placeholder == "?" else query.replace("?", self.placeholder)


@dataclass(frozen=True)
class Migration:
    """The SQL steps that take a store from version - 1 to `version`; `{type}` names a Dialect type."""

    version: int
    description: str
    steps: tuple[str, ...]


SCHEMA_VERSION_TABLE = (
    "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, disval TEXT NOT NULL,"
    " applied_at {timestamp} NOT NULL)"
)

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "providers, settings, notices, deliveries, blobs, records", (
        "CREATE TABLE providers (id {id}, agb TEXT NOT NULL, branch TEXT NOT NULL, username TEXT NOT NULL,"
        " name TEXT NOT NULL, active {bool} NOT NULL, created_at {timestamp} NOT NULL,"
        " deactivated_at {date}, UNIQUE (agb, branch))",
        "CREATE TABLE deliveries (id {id}, name TEXT NOT NULL, sha256 TEXT NOT NULL, size {bigint} NOT NULL,"
        " agb TEXT, branch TEXT, phase TEXT CHECK (phase IN ('test', 'production')), created {date},"
        " sequence TEXT, standard TEXT, status TEXT NOT NULL CHECK (status IN"
        " ('queued', 'accepted', 'rejected', 'discarded', 'imported', 'assessed_negative')),"
        " reasons {json} NOT NULL, assessment TEXT CHECK (assessment IN ('positive', 'negative')),"
        " counts {json} NOT NULL, imported {json} NOT NULL, packing_slip {json} NOT NULL,"
        " reports {json} NOT NULL, disval TEXT NOT NULL, submitted_at {timestamp} NOT NULL,"
        " processed_at {timestamp})",
        "CREATE INDEX deliveries_name ON deliveries (name)",
        "CREATE INDEX deliveries_sha256 ON deliveries (sha256)",
        "CREATE INDEX deliveries_order ON deliveries (agb, branch, created, sequence)",
        "CREATE TABLE provider_settings (provider_id {ref} PRIMARY KEY REFERENCES providers (id),"
        " standard TEXT NOT NULL, supplier TEXT, package TEXT, delivery_id {ref} REFERENCES deliveries (id),"
        " fixed_at {timestamp} NOT NULL)",
        "CREATE TABLE software_notices (id {id}, provider_id {ref} NOT NULL REFERENCES providers (id),"
        " supplier TEXT, package TEXT, noticed_at {timestamp} NOT NULL)",
        "CREATE INDEX software_notices_provider ON software_notices (provider_id, noticed_at)",
        "CREATE TABLE blobs (sha256 TEXT NOT NULL, part INTEGER NOT NULL, data {blob} NOT NULL,"
        " PRIMARY KEY (sha256, part))",
        # No unique key: a delivery imported under a non-blocking policy may repeat a key.
        "CREATE TABLE records (provider_id {ref} NOT NULL REFERENCES providers (id),"
        " delivery_id {ref} NOT NULL REFERENCES deliveries (id), file TEXT NOT NULL,"
        " record_key TEXT NOT NULL, fields {json} NOT NULL)",
        "CREATE INDEX records_key ON records (provider_id, file, record_key)",
    )),
)


# ---------------------------------------------------------------- the SQL implementation

_PROVIDER = "agb, branch, username, name, active, created_at, deactivated_at"
_DELIVERY = (
    "id, name, sha256, size, agb, branch, phase, created, sequence, standard, status, reasons, assessment,"
    " counts, imported, packing_slip, reports, disval, submitted_at, processed_at"
)
_UPDATABLE = ("status", "reasons", "assessment", "counts", "packing_slip", "reports", "standard", "processed_at")


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
        self._exec(self.dialect.begin)
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
                for step in migration.steps:
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

    def add_delivery(self, name, content, zip_name=None, *, standard=None, status="queued", reasons=(), at=None):
        _check_status(status)
        if status == "imported":
            raise StoreError("a delivery becomes imported through full_load only")
        z = zip_name
        with self._transaction():
            sha256, size = self._put_blob(content)
            row = self._exec(
                "INSERT INTO deliveries (name, sha256, size, agb, branch, phase, created, sequence, standard, status,"
                " reasons, counts, imported, packing_slip, reports, disval, submitted_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (name, sha256, size, z and z.provider, z and z.branch, z and z.phase, z and z.created.isoformat(),
                 z and z.sequence, standard, status, _dumps(list(reasons)), "{}", "{}", "{}", "{}",
                 disval_version(), _now(at)),
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

    def already_delivered(self, name, sha256, exclude=None):
        row = self._exec(
            f"SELECT {_DELIVERY} FROM deliveries WHERE (name = ? OR sha256 = ?) AND id <> ?"
            " AND status NOT IN ('rejected', 'discarded') ORDER BY id LIMIT 1",
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
            k: _dumps(v) if k in ("reasons", "counts", "packing_slip", "reports")
            else (v and _now(v)) if k == "processed_at" else v
            for k, v in changes.items()
        }
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


# ---------------------------------------------------------------- opening a store


def default_store_url(environ: dict[str, str] | None = None) -> str:
    """`DISVAL_STORE`, else an SQLite file in the user's data directory (XDG_DATA_HOME or ~/.local/share)."""
    env = os.environ if environ is None else environ
    if env.get("DISVAL_STORE"):
        return env["DISVAL_STORE"]
    base = env.get("XDG_DATA_HOME", "")
    root = Path(base) if os.path.isabs(base) else Path.home() / ".local" / "share"  # XDG: relative is ignored
    return f"sqlite:///{root / 'disval' / 'disval.db'}"


def open_store(url: str | None = None, pm: "pluggy.PluginManager | None" = None) -> DeliveryStore:
    """Open the store at `url` (default: `default_store_url()`) through the `disval_store` hook."""
    url = url or default_store_url()
    if pm is None:
        from .plugins import get_plugin_manager

        pm = get_plugin_manager()
    store = pm.hook.disval_store(url=url)
    if store is None:
        raise StoreError(
            f"no store plugin handles {redact_url(url)}: use sqlite:///PATH or postgresql://USER@HOST/DB"
        )
    return store


def redact_url(url: str) -> str:
    """`url` without its password, fit for messages and reports."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


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
    )
