"""The delivery store's schema, versioned: what differs per SQL backend, and every migration.

A store records its version in `schema_version`; opening an older store runs
the missing migrations in one transaction (`disval.core.store.sql.SqlStore`),
opening a newer one says which disval to install. A migration is only ever
appended, never edited.

Decisions, and why:

- Zips are kept inside the database (`blobs`: content-addressed by sha256, in
  parts of 1 MiB), not in a directory. A delivery row and its zip are written
  in one transaction, so neither exists without the other; a PostgreSQL
  installation needs no shared file system; one backup holds everything.
- A delivery that processing failed on ends in status `failed` (migration 3)
  with the error in typed columns (`failure_type`, `failure_message`,
  `failure_where`; `attempts`: how often its processing began), so that one
  bad zip never holds up its provider's queue
  and an operator can query what failed and why. SQLite cannot alter a CHECK
  constraint, so migration 3 rebuilds `deliveries` there (with foreign keys
  off while migrating, as SQLite's documentation prescribes for a rebuild;
  ids are kept, so the rows that refer to a delivery still do).
- Imported records live in typed tables, one per data file of a standard
  version, made from the layout (`disval.core.store.tables`): analysts query
  them with SQL, and a new standard still needs no migration written by hand.
  Schema 1 and 2 kept them as JSON in one generic `records` table; version 4
  renames it `legacy_records`, and its rows move into a standard's typed
  tables when that standard is first used with the store.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from .live import TABLES as LIVE_TABLES

# The storage parameter of PostgreSQL's typed tables: room on every page for a new version of each row.
PG_FILLFACTOR = "fillfactor = 50"


@dataclass(frozen=True)
class Dialect:
    """What differs between SQL backends, kept small: placeholders, how a write begins, column types."""

    name: str
    placeholder: str  # "?" (sqlite3) or "%s" (psycopg)
    begin: str  # the statement that opens a write transaction
    types: dict[str, str]  # id, ref, bool, date, timestamp, json, blob, bigint
    has_table: str  # query with one parameter, the table name; a row when it exists
    migration_lock: str | None = None  # serialises concurrent upgrades, inside the transaction
    # per imported table ({table}; {keys}: its provider, key and foreign-key columns), in the import
    # transaction: planner statistics
    after_import: str | None = None
    analyze: str | None = None  # per staged table ({table}) before the merge reads it
    same: str = "{a} IS {b}"  # equality that holds for two NULLs
    table_options: str = ""  # after CREATE TABLE (...) of a typed table
    # The merge writes the staged records with one INSERT ... ON CONFLICT DO UPDATE (SQLite: in place,
    # by primary key) instead of an UPDATE ... FROM and an INSERT (PostgreSQL: its ON CONFLICT costs a
    # speculative insert for every changed record).
    upsert_merge: bool = False
    # A column that numbers a staged table's rows in the order they were staged, which a range of can
    # be read without a scan (SQLite's rowid): the merge then writes a file's records in parts and says
    # how far it is. None: each file is written by one statement.
    stage_order: str | None = None
    # The backend has SQL MERGE (PostgreSQL 15 and later): the merge writes a file's staged records with
    # one MERGE (one join of the stage with the table, where an UPDATE ... FROM and an INSERT ... NOT
    # EXISTS made two), and a full load takes its counts from the rows its DELETE and MERGE report.
    merge_statement: bool = False

    def sql(self, query: str) -> str:
        """`query`, written with `?` placeholders, in this backend's parameter style."""
        return query if self.placeholder == "?" else query.replace("?", self.placeholder)


@dataclass(frozen=True)
class Migration:
    """The SQL steps that take a store from version - 1 to `version`; `{type}` names a Dialect type."""

    version: int
    description: str
    steps: tuple[str, ...]
    # Steps that differ per backend, by `Dialect.name`, run after `steps`: e.g. PostgreSQL can alter a
    # CHECK constraint, SQLite has to rebuild the table. A backend with no entry cannot take this migration.
    per_backend: Mapping[str, tuple[str, ...]] = field(default_factory=dict, hash=False)

    def steps_for(self, dialect: str) -> tuple[str, ...]:
        """Every step of this migration on the backend named `dialect`; KeyError if it has none."""
        if not self.per_backend:
            return self.steps
        return (*self.steps, *self.per_backend[dialect])


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
    Migration(2, "when processing of a delivery began; what it was validated with", (
        "ALTER TABLE deliveries ADD COLUMN started_at {timestamp}",
        "ALTER TABLE deliveries ADD COLUMN validation {json}",
    )),
    Migration(3, "status failed: a delivery whose processing raised, with the error kept", (
        "ALTER TABLE deliveries ADD COLUMN failure_type TEXT",
        "ALTER TABLE deliveries ADD COLUMN failure_message TEXT",
        "ALTER TABLE deliveries ADD COLUMN failure_where TEXT",
        "ALTER TABLE deliveries ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0",
    ), per_backend={
        "postgresql": (
            "ALTER TABLE deliveries DROP CONSTRAINT deliveries_status_check, ADD CONSTRAINT deliveries_status_check"
            " CHECK (status IN ('queued', 'accepted', 'rejected', 'discarded', 'imported', 'assessed_negative',"
            " 'failed'))",
        ),
        "sqlite": (
            "CREATE TABLE deliveries_v3 (id {id}, name TEXT NOT NULL, sha256 TEXT NOT NULL, size {bigint} NOT NULL,"
            " agb TEXT, branch TEXT, phase TEXT CHECK (phase IN ('test', 'production')), created {date},"
            " sequence TEXT, standard TEXT, status TEXT NOT NULL CHECK (status IN"
            " ('queued', 'accepted', 'rejected', 'discarded', 'imported', 'assessed_negative', 'failed')),"
            " reasons {json} NOT NULL, assessment TEXT CHECK (assessment IN ('positive', 'negative')),"
            " counts {json} NOT NULL, imported {json} NOT NULL, packing_slip {json} NOT NULL,"
            " reports {json} NOT NULL, disval TEXT NOT NULL, submitted_at {timestamp} NOT NULL,"
            " processed_at {timestamp}, started_at {timestamp}, validation {json}, failure_type TEXT,"
            " failure_message TEXT, failure_where TEXT, attempts INTEGER NOT NULL DEFAULT 0)",
            "INSERT INTO deliveries_v3 SELECT id, name, sha256, size, agb, branch, phase, created, sequence,"
            " standard, status, reasons, assessment, counts, imported, packing_slip, reports, disval,"
            " submitted_at, processed_at, started_at, validation, failure_type, failure_message, failure_where,"
            " attempts FROM deliveries",
            "DROP TABLE deliveries",
            "ALTER TABLE deliveries_v3 RENAME TO deliveries",
            "CREATE INDEX deliveries_name ON deliveries (name)",
            "CREATE INDEX deliveries_sha256 ON deliveries (sha256)",
            "CREATE INDEX deliveries_order ON deliveries (agb, branch, created, sequence)",
        ),
    }),
    Migration(4, "typed tables of imported records: their catalogue; the JSON records kept until moved", (
        "CREATE TABLE layout_tables (standard TEXT NOT NULL, file TEXT NOT NULL, table_name TEXT NOT NULL,"
        " view_name TEXT NOT NULL, columns {json} NOT NULL, created_at {timestamp} NOT NULL,"
        " PRIMARY KEY (standard, file))",
        "ALTER TABLE records RENAME TO legacy_records",
    )),
    # The portal's accounts live in the store, so that every process serving it (and the CLI that adds
    # users and tokens) shares them: users with argon2 password hashes, their roles per provider, API
    # tokens as sha256 hashes (a token is random, so a fast hash is enough; the token itself is shown once),
    # and the audit log of who did what.
    Migration(5, "portal accounts: users, memberships per provider, API tokens (hashed), audit log", (
        "CREATE TABLE users (id {id}, login TEXT NOT NULL UNIQUE, name TEXT NOT NULL, email TEXT NOT NULL,"
        " password_hash TEXT NOT NULL, operator {bool} NOT NULL, active {bool} NOT NULL,"
        " created_at {timestamp} NOT NULL)",
        "CREATE TABLE memberships (user_id {ref} NOT NULL REFERENCES users (id),"
        " provider_id {ref} NOT NULL REFERENCES providers (id), role TEXT NOT NULL CHECK (role IN"
        " ('data_manager', 'viewer', 'org_admin', 'vendor')), PRIMARY KEY (user_id, provider_id))",
        "CREATE TABLE api_tokens (id {id}, provider_id {ref} NOT NULL REFERENCES providers (id),"
        " token_hash TEXT NOT NULL UNIQUE, hint TEXT NOT NULL, scopes TEXT NOT NULL, label TEXT NOT NULL,"
        " created_by TEXT NOT NULL, created_at {timestamp} NOT NULL, revoked_at {timestamp},"
        " last_used_at {timestamp})",
        "CREATE TABLE audit_log (id {id}, at {timestamp} NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,"
        " target TEXT NOT NULL, detail TEXT NOT NULL)",
        "CREATE INDEX audit_log_at ON audit_log (at)",
    )),
    # Every time processing of a delivery began, by whom, and when it ended (`disval.core.store.runs`):
    # with several workers the operator (and the tests) see who processed what, and can check that no
    # two runs of one provider overlapped. A run without an end is one whose process died.
    Migration(6, "processing runs: when each processing of a delivery began and ended, and by which process", (
        "CREATE TABLE processing_runs (id {id}, delivery_id {ref} NOT NULL REFERENCES deliveries (id),"
        " agb TEXT, branch TEXT, worker TEXT NOT NULL, started_at {timestamp} NOT NULL,"
        " ended_at {timestamp}, status TEXT)",
        "CREATE INDEX processing_runs_provider ON processing_runs (agb, branch, started_at)",
        "CREATE INDEX processing_runs_delivery ON processing_runs (delivery_id)",
    )),
    # What every process on the store shares by the second (`disval.core.store.live`): progress figures of
    # running deliveries and failed sign-ins, written on a connection of their own. SQLite keeps them in a
    # file beside the database instead (its one writer is held by an import), so it has no steps here.
    Migration(7, "live state: progress of running deliveries, failed sign-ins", (), per_backend={
        "postgresql": tuple(t.format(real="DOUBLE PRECISION") for t in LIVE_TABLES),
        "sqlite": (),
    }),
    # PostgreSQL writes a changed row as a new version of it; with room on its page (HOT), the indexes are
    # not touched, which halved the time a re-delivery that changes every record takes. New typed tables get
    # the room from `Dialect.table_options`; the ones an older disval made get it here (their pages written
    # from now on; no rewrite, so the upgrade is quick).
    Migration(8, "typed tables keep half of each page free for changed records (PostgreSQL)", (), per_backend={
        "postgresql": (
            "DO $$ DECLARE t TEXT; BEGIN FOR t IN SELECT table_name FROM layout_tables LOOP EXECUTE 'ALTER TABLE '"
            " || quote_ident(t) || ' SET (" + PG_FILLFACTOR + ")'; END LOOP; END $$",
        ),
        "sqlite": (),
    }),
    # A kept zip is compressed already, but PostgreSQL tries to compress every 1 MiB part again before
    # giving up and storing it as it is: a third of the time a 32 MB zip took to keep (0.39 s -> 0.13 s).
    # EXTERNAL stores the parts out of line without the attempt; parts kept before stay as they are.
    Migration(9, "kept zips are stored without an attempt to compress them again (PostgreSQL)", (), per_backend={
        "postgresql": ("ALTER TABLE blobs ALTER COLUMN data SET STORAGE EXTERNAL",),
        "sqlite": (),
    }),
)
