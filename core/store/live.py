"""What changes by the second and is shared by every process on a store: how far each delivery's
processing is, and the failed sign-ins the portal counts.

With issue 15 the gate runs in worker processes (on other machines too), and
the portal may run as several processes: a figure kept in one process's memory
is then invisible to the process that serves the page. So these live in the
store, but apart from its deliveries:

- on a connection of their own, in autocommit: a progress figure written
  during an import is never part of the import's transaction (it would only
  become visible when the import is done, and roll back with it);
- with SQLite, in a file of their own beside the database (`<db>.live`):
  SQLite has one writer per file, and an import holds that for its whole
  length, so a progress figure or a failed sign-in written to the database
  itself would wait for the import it describes. The file holds nothing that
  matters once its processes are gone: removing it loses only progress figures
  and sign-in counts;
- with PostgreSQL, in two tables of the store (schema migration 6), which
  rows of other transactions never block.

Times are seconds since the epoch by the database's clock, and ages are
computed there too, so that a worker's clock that runs wrong does not make a
delivery look stalled in a portal on another machine.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Iterable

log = logging.getLogger("disval.store.live")

# Created in the SQLite side file when it is opened (it is disposable, so it needs no migrations);
# the PostgreSQL store creates the same tables in migration 6. {real} is the column type of a time.
TABLES = (
    "CREATE TABLE IF NOT EXISTS delivery_progress (delivery_id BIGINT PRIMARY KEY, stage TEXT NOT NULL,"
    " records BIGINT NOT NULL, expected BIGINT NOT NULL, started {real} NOT NULL, updated {real} NOT NULL)",
    "CREATE TABLE IF NOT EXISTS sign_in_failures (key TEXT NOT NULL, at {real} NOT NULL)",
    "CREATE INDEX IF NOT EXISTS sign_in_failures_key ON sign_in_failures (key, at)",
)


@dataclass
class DeliveryProgress:
    """How far the processing of one delivery is, as its process last wrote it."""

    delivery: int
    stage: str  # receipt | validating | reports | importing
    records: int  # records read (validating) or written (importing) so far
    expected: int  # records expected by the packing slip's counts (0: unknown)
    started: float  # time.time() of this process when processing began
    updated: float  # time.time() of this process when the figure was last written

    @property
    def percent(self) -> int | None:
        """Share done, 0-99 (100 is for the delivery's end status to say), or None when unknown."""
        return min(99, int(100 * self.records / self.expected)) if self.expected else None

    def as_dict(self) -> dict:
        """The figure the status endpoint shows."""
        return {"records": self.records, "expected": self.expected or None, "percent": self.percent,
                "stage": self.stage, "updated": self.updated}


class LiveState:
    """The live tables on a connection of their own (autocommit); one per store object, in its thread.

    `connect()` opens that connection, in which each statement is its own transaction; it is opened
    when first needed and again after an error (a worker that lost its network and came back).
    `placeholder` is the driver's ("?" or "%s"); `now` the SQL expression of the database's clock in
    seconds since the epoch; `errors` the driver's errors (a busy table, a lost connection).
    """

    def __init__(self, connect, placeholder: str, now: str, errors=(Exception,)):
        self._connect, self._placeholder, self._now, self._errors = connect, placeholder, now, errors
        self._conn = None

    def _exec(self, query: str, params: tuple | list = ()):
        if self._conn is None:
            self._conn = self._connect()
        try:
            return self._conn.execute(query.replace("?", self._placeholder).replace("{now}", self._now), params)
        except self._errors:
            self.close()  # the next statement opens a fresh connection
            raise

    def close(self) -> None:
        """Close the connection (the next statement opens another)."""
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:  # already gone with its server
                pass

    # ------------------------------------------------------------ progress

    def put_progress(self, delivery_id: int, stage: str, records: int, expected: int, *, new: bool = False) -> bool:
        """Write the delivery's figure now (`new`: its processing begins, so it starts counting again).

        Best effort: False when the table was busy or the database unreachable (the next figure
        will do); a progress figure never stops the processing it describes."""
        try:
            # A new run starts counting again; a later figure keeps the time the run started.
            restart = ", started = excluded.started" if new else ""
            self._exec("INSERT INTO delivery_progress (delivery_id, stage, records, expected, started, updated)"
                       " VALUES (?, ?, ?, ?, {now}, {now}) ON CONFLICT (delivery_id) DO UPDATE SET"
                       " stage = excluded.stage, records = excluded.records, expected = excluded.expected,"
                       f" updated = excluded.updated{restart}",
                       (delivery_id, stage, records, expected))
            return True
        except Exception as exc:  # noqa: BLE001 - best effort, whatever went wrong
            log.warning("could not write the progress of delivery %s: %s", delivery_id, exc)
            return False

    def clear_progress(self, delivery_id: int) -> None:
        """The delivery's processing ended: its status says the rest. Best effort, as `put_progress`."""
        try:
            self._exec("DELETE FROM delivery_progress WHERE delivery_id = ?", (delivery_id,))
        except Exception as exc:  # noqa: BLE001 - best effort
            log.warning("could not clear the progress of delivery %s: %s", delivery_id, exc)

    def progress(self, delivery_ids: Iterable[int]) -> dict[int, DeliveryProgress]:
        """The figures of those of `delivery_ids` that are being processed (or whose process died at them)."""
        ids = list(dict.fromkeys(int(i) for i in delivery_ids))
        if not ids:
            return {}
        rows = self._exec("SELECT delivery_id, stage, records, expected, started, updated, {now}"
                          f" FROM delivery_progress WHERE delivery_id IN ({', '.join('?' for _ in ids)})",
                          ids).fetchall()
        local = time.time()
        out = {}
        for delivery_id, stage, records, expected, started, updated, now in rows:
            offset = local - float(now)
            out[int(delivery_id)] = DeliveryProgress(int(delivery_id), stage, int(records), int(expected),
                                                     float(started) + offset, float(updated) + offset)
        return out

    # ------------------------------------------------------------ sign-in failures

    def sign_in_failed(self, keys: Iterable[str], window: float) -> None:
        """Count a failed sign-in against each of `keys`; failures older than `window` seconds go."""
        for key in keys:
            self._exec("INSERT INTO sign_in_failures (key, at) VALUES (?, {now})", (key,))
        self._exec("DELETE FROM sign_in_failures WHERE at < {now} - ?", (window,))

    def sign_in_wait(self, keys: Iterable[str], limit: int, window: float) -> int:
        """Seconds until another sign-in may be tried for every one of `keys` (0: now): a key with
        `limit` failures in the last `window` seconds waits until the oldest that counts expires."""
        waits = []
        for key in keys:
            rows = self._exec("SELECT at, {now} FROM sign_in_failures WHERE key = ? AND at > {now} - ?"
                              " ORDER BY at DESC", (key, window)).fetchall()
            if len(rows) >= limit:
                # The failure that must expire for the count to drop below the limit.
                at, now = rows[limit - 1]
                waits.append(int(float(at) + window - float(now)) + 1)
        return max(waits, default=0)

    def sign_in_succeeded(self, key: str) -> None:
        """Forget the failures counted against `key`."""
        self._exec("DELETE FROM sign_in_failures WHERE key = ?", (key,))
