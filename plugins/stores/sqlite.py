"""The SQLite store (standard library): the embedded default, one file per installation.

URL: `sqlite:///relative/path.db` or `sqlite:////absolute/path.db` (three
slashes, then the path). WAL mode, so readers never wait for the one writer;
foreign keys on. The per-provider processing lock is a locked file in
`<db>.locks/` (through `filelock`: flock on POSIX, msvcrt on Windows): one
file per provider, so different providers never wait for each other, and the
operating system drops the lock when its process dies, even by kill -9.
SQLite still serialises the writes themselves (an import holds the
write lock while it runs); other writers wait up to BUSY_TIMEOUT seconds.

Waiting is never silent: after NOTICE_AFTER seconds a command says on stderr
what it waits for and for whom, the process holding the lock as the kernel
lists it in /proc/locks (on Linux; elsewhere "another process").
"""
from __future__ import annotations

import os
import re
import sqlite3
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from disval.core.plugins import hookimpl
from disval.core.store.delivery_store import StoreError, say_waiting
from disval.core.store.live import TABLES as LIVE_TABLES, LiveState
from disval.core.store.schema import MIGRATIONS, Dialect, Migration
from disval.core.store.sql import SqlStore

from . import sqlite_blocks
from .sqlite_writer import Guarded, Writer

SCHEME = "sqlite:///"
BUSY_TIMEOUT = 600.0
NOTICE_AFTER = 1.0  # seconds a write may wait for the lock before the user is told
# The page size of a new store (SQLite's default is 4096; a store made before keeps its own, as SQLite
# changes it only by a VACUUM, which a WAL database cannot do). A first import of a million records
# writes a tenth less into its b-trees with 64 KiB pages (fewer pages to split and link) and commits in
# half the time (fewer WAL frames to write, sync and copy back); a single row costs a 64 KiB page read
# from the file system instead of 4 KiB, and a small transaction writes its pages whole into the WAL.
PAGE_SIZE = 65536
CACHE_KIB = 64 * 1024  # page cache per database (main, temp) of a connection; see SqliteStore
# The temporary database's page cache while a delivery is staged (`stage`): the stage is only appended
# to then, and the validation's own memory peaks at the same time; the merge gets CACHE_KIB back.
STAGING_CACHE_KIB = 16 * 1024
LIVE_BUSY_TIMEOUT = 5.0  # seconds a write to the live file waits for another: a progress figure then skips a beat
# The database's clock in seconds since the epoch (julianday counts days from 4714 BC; 2440587.5 is 1970).
LIVE_NOW = "((julianday('now') - 2440587.5) * 86400.0)"
WAL_WRITE_LOCK = 120  # the byte of the -shm file a WAL writer locks (SQLite's os_unix.c: UNIX_SHM_BASE)

SQLITE = Dialect(
    name="sqlite",
    placeholder="?",
    begin="BEGIN IMMEDIATE",  # take the write lock up front: no deadlock when a reader starts writing
    types={
        "id": "INTEGER PRIMARY KEY", "ref": "INTEGER", "bool": "INTEGER", "date": "DATE",
        "timestamp": "TIMESTAMP", "json": "TEXT", "blob": "BLOB", "bigint": "INTEGER",
    },
    has_table="SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
    # The rows are stored in the order of their key: one b-tree to write instead of a table and an index.
    table_options=" WITHOUT ROWID",
    upsert_merge=True,
    stage_order="rowid",
)


class SqliteStore(SqlStore):
    """A delivery store in one SQLite file."""

    def __init__(self, path: Path, migrations: tuple[Migration, ...] = MIGRATIONS):
        self.path = Path(path)
        self._block_sql: dict[tuple, str] = {}  # (table, a block's shape) -> its INSERT
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # Shared with the writer thread (`sqlite_writer`), never used by both at once.
            conn = sqlite3.connect(self.path, isolation_level=None, timeout=BUSY_TIMEOUT, check_same_thread=False)
            if conn.execute("PRAGMA page_count").fetchone()[0] == 0:  # a new store: see PAGE_SIZE
                conn.execute(f"PRAGMA page_size = {PAGE_SIZE}")
            conn.execute("PRAGMA journal_mode = WAL")
            # SQLite's default page cache is 2 MB per database: an import of a million records then
            # rereads its own b-trees (the typed table's key order, the stage and its index) from the
            # file system for every page it touches. The cache grows only as far as it is used.
            conn.execute(f"PRAGMA main.cache_size = {-CACHE_KIB}")
            conn.execute(f"PRAGMA temp.cache_size = {-CACHE_KIB}")
            # Debian's and others' SQLite overwrite every freed page with zeros (SECURE_DELETE): right for
            # the store, where a deleted record should not linger, but the temporary database (the stage)
            # is a file already unlinked and gone with the connection, and dropping a stage of a million
            # records then wrote it whole once more (0.14 s instead of 0.02 s).
            conn.execute("PRAGMA temp.secure_delete = OFF")
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open the SQLite store {self.path}: {exc}") from None
        # Foreign keys go on after the migrations: a migration that rebuilds a table (SQLite cannot
        # alter a constraint) must run with them off, as SQLite's documentation prescribes.
        self._writer = Writer(conn, before=sqlite_blocks.OFFSETS_SQL)
        super().__init__(Guarded(conn, self._writer), SQLITE, f"{SCHEME}{self.path}", migrations)
        conn.execute("PRAGMA foreign_keys = ON")

    takes_blocks = True

    def stage(self, standard, agb=None, branch=None, delivery_id=None):
        """See `SqlStore.stage`; a stage that is not fresh is appended to with a smaller page cache for
        the temporary database (STAGING_CACHE_KIB): the re-delivery's peak memory is the validation's
        plus the caches, and pages the stage spills go to its file, not lost."""
        made = super().stage(standard, agb, branch, delivery_id)
        if not made.fresh:
            self._conn.execute(f"PRAGMA temp.cache_size = {-STAGING_CACHE_KIB}")
        return made

    def import_delivery(self, delivery_id, standard, batches, finish=None, progress=None):
        """See `SqlStore.import_delivery`: the merge reads the stage and its index with the full cache."""
        self._conn.execute(f"PRAGMA temp.cache_size = {-CACHE_KIB}")
        return super().import_delivery(delivery_id, standard, batches, finish, progress)

    def _write_block(self, t, fields, keys, rows, provider_id, delivery_id):
        """The records as a block typed by SQL (`sqlite_blocks`), written on the writer thread while the
        validation goes on; False for a batch that is not printable ASCII or a field SQL cannot type."""
        return self._submit_block(t.table, lambda shape: sqlite_blocks.insert_sql(t.table, t.names, t.key, shape),
                                  fields, keys, rows, None, {"p": provider_id, "d": delivery_id})

    def _stage_block(self, stage, columns, fields, keys, rows, lines):
        """As `_write_block`, into the stage `stage` (its `line` from `lines`, then `columns`), one
        statement a batch: atomic by itself, so the stage is consistent between batches."""
        return self._submit_block(stage, lambda shape: sqlite_blocks.stage_sql(stage, ["line", *columns], shape),
                                  fields, keys, rows, lines, {})

    def _submit_block(self, table, make_sql, fields, keys, rows, numbers, params) -> bool:
        """Queue `rows` as one block for the writer thread, by the statement `make_sql(shape)` made once per
        table and `Block.shape`; False when the batch cannot go as a block."""
        if not sqlite_blocks.fits(fields):
            return False
        made = sqlite_blocks.block(rows, fields, keys, numbers=numbers)
        if made is None:
            return False
        sql = self._block_sql.get((table, made.shape))
        if sql is None:
            sql = self._block_sql[table, made.shape] = make_sql(made.shape)
        self._writer.submit(sql, {**sqlite_blocks.params(made), **params})
        return True

    @classmethod
    def from_url(cls, url: str, migrations: tuple[Migration, ...] = MIGRATIONS) -> "SqliteStore":
        """Open the store at `sqlite:///PATH`."""
        path = url[len(SCHEME):]
        if not url.startswith(SCHEME) or not path:
            raise StoreError(f"not an SQLite store URL: {url!r} (expected sqlite:///PATH)")
        return cls(Path(path), migrations)

    def _open_live(self):
        # A file of its own: the database's one writer may be held by an import for minutes, and a
        # progress figure of that import must not wait for it (see disval.core.store.live).
        path = self.path.with_name(self.path.name + ".live")

        def connect():
            conn = sqlite3.connect(path, isolation_level=None, timeout=LIVE_BUSY_TIMEOUT)
            conn.execute("PRAGMA journal_mode = WAL")
            # A figure or a sign-in count need not survive a power cut, so no sync to disk per write (in WAL
            # mode NORMAL syncs only at checkpoints, and still never leaves the file corrupt).
            conn.execute("PRAGMA synchronous = NORMAL")
            for table in LIVE_TABLES:
                conn.execute(table.format(real="REAL"))
            return conn

        return LiveState(connect, "?", LIVE_NOW, errors=(sqlite3.Error,))

    @contextmanager
    def _busy_timeout(self, seconds: float):
        """Let a write wait at most `seconds` for another writer inside the block, BUSY_TIMEOUT after."""
        self._conn.execute(f"PRAGMA busy_timeout = {int(seconds * 1000)}")
        try:
            yield
        finally:
            self._conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT * 1000)}")

    def _begin(self):
        try:
            with self._busy_timeout(NOTICE_AFTER):
                self._conn.execute(SQLITE.begin)
            return
        except sqlite3.OperationalError as exc:
            if not _busy(exc):
                raise
        shm = self.path.with_name(self.path.name + "-shm")
        holder = lock_holder(shm, WAL_WRITE_LOCK)
        say_waiting(f"waiting for the SQLite store {self.path}: {holder} is writing to it "
                    f"(up to {BUSY_TIMEOUT:.0f} s)")
        try:
            self._conn.execute(SQLITE.begin)
        except sqlite3.OperationalError as exc:
            if _busy(exc):
                raise StoreError(f"the SQLite store {self.path} stayed locked for {BUSY_TIMEOUT:.0f} s by "
                                 f"{lock_holder(shm, WAL_WRITE_LOCK)}; try again when it is done") from None
            raise

    def _begin_now(self):
        try:
            with self._busy_timeout(0):
                self._conn.execute(SQLITE.begin)
            return True
        except sqlite3.OperationalError as exc:
            if not _busy(exc):
                raise
            return False

    @contextmanager
    def lock_provider(self, agb, branch):
        locks = self.path.with_name(self.path.name + ".locks")
        locks.mkdir(exist_ok=True)
        name = "_".join(re.sub(r"[^0-9A-Za-z]", "-", part) for part in (agb, branch))
        lock = FileLock(locks / f"{name}.lock")
        try:
            lock.acquire(blocking=False)
        except Timeout:  # another process is processing this provider's deliveries: say so, then wait
            say_waiting(f"waiting for provider {agb} {branch}: {lock_holder(Path(lock.lock_file))} is processing "
                        "its deliveries")
            lock.acquire()
        try:
            yield
        finally:
            lock.release()


def _busy(exc: sqlite3.OperationalError) -> bool:
    return "locked" in str(exc) or "busy" in str(exc)


def lock_holder(path: Path, start: int | None = None) -> str:
    """Who holds the lock on `path` (at byte `start`, or a whole-file flock): "process PID (command)",
    from /proc/locks, which a process can read without opening the locked file. Opening it is what
    must not happen: closing any descriptor of a file drops this process's own POSIX locks on it."""
    try:
        inode = str(os.stat(path).st_ino)
        with open("/proc/locks") as listing:
            for line in listing:
                # "7: POSIX  ADVISORY  WRITE 4242 08:01:1234567 120 120"; a waiter's line has "->" after the id
                parts = line.split()
                if len(parts) < 8 or parts[3] != "WRITE" or parts[5].rsplit(":", 1)[-1] != inode:
                    continue
                if (start is None and parts[1] == "FLOCK") or (start is not None and parts[6] == str(start)):
                    return _process(parts[4])
    except OSError:
        pass
    return "another process"


def _process(pid: str) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            command = " ".join(cmdline.read().replace(b"\0", b" ").decode("utf-8", "replace").split())
    except OSError:
        command = ""
    command = command if len(command) <= 120 else command[:119] + "…"
    return f"process {pid}" + (f" ({command})" if command else "")


@hookimpl(trylast=True)
def disval_store(url: str):
    """The SQLite store for `sqlite:///...` URLs; None for any other."""
    return SqliteStore.from_url(url) if url.startswith(SCHEME) else None
