"""A second thread that runs an SQLite store's bulk writes while validation goes on.

A fresh delivery's records go into the typed tables as blocks
(`sqlite_blocks`), one INSERT ... SELECT each, which SQLite runs in one step:
Python's sqlite3 releases the GIL for it, so the b-tree writes and the SQL
typing of one batch take the second core while the validation reads and checks
the next. The writer owns no connection of its own: it runs the statements on
the store's connection, inside the import's open transaction, so they commit
or roll back with it (kill -9 at any moment: nothing was committed).

The connection is never used by two threads at once: the store sees it
through `Guarded`, which waits until every queued write is done (and raises
the first one that failed) before any other use. The queue is bounded, so no
more than a few batches are held in memory while SQLite catches up.
"""
from __future__ import annotations

import queue
import threading
from typing import Any, Sequence

QUEUED = 2  # blocks waiting for the writer, besides the one it writes: what memory holds at most


class Writer:
    """Runs `submit`ted statements on `conn`, in order, on a thread started by the first submit after a
    `settle`. The statements `before` make sure of what a statement needs for its parameter `n` (e.g. a
    temporary table of n rows): they run, with its parameters, before the first statement after a
    `settle` and before any whose `n` is larger than theirs was. Only the writer uses the connection
    between two settles, so nothing can undo them (a rollback) meanwhile; each `execute` costs the thread
    the GIL twice, so they do not run for every statement."""

    def __init__(self, conn: Any, before: Sequence[str] = ()):
        self._conn = conn
        self._before = tuple(before)
        self._ready = -1  # the largest n `before` ran for since the last settle
        self._queue: queue.Queue = queue.Queue(maxsize=QUEUED)
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def submit(self, sql: str, params: Any) -> None:
        """Queue one statement; raises the error of an earlier one, if any failed."""
        self._raise()
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="disval-sqlite-writer", daemon=True)
            self._thread.start()
        self._queue.put((sql, params))

    def settle(self) -> None:
        """Wait until every queued statement ran and the thread ended; raise the first error among them.
        The thread lives only while writes are queued: nothing is left running between them (a process
        forked then, or one that exits, has no writer to wait for)."""
        self.stop()
        self._ready = -1  # the connection is the caller's now: what `before` made may be rolled back
        self._raise()

    def stop(self) -> None:
        """Let the thread end once the queued statements ran."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None

    def _raise(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                self._queue.task_done()
                return
            sql, params = item
            try:
                if self._error is None:  # after a failure the rest is skipped: the transaction rolls back
                    n = params.get("n", 0) if isinstance(params, dict) else 0
                    if self._before and n > self._ready:
                        for first in self._before:
                            self._conn.execute(first, params)
                        self._ready = n
                    self._conn.execute(sql, params)
            except BaseException as exc:  # handed to the thread that waits (`settle`)
                self._error = exc
            finally:
                self._queue.task_done()


class Guarded:
    """The connection as the store uses it: every call first waits for the writer (`Writer.settle`)."""

    def __init__(self, conn: Any, writer: Writer):
        self._raw, self._writer = conn, writer

    def execute(self, *args):
        """`sqlite3.Connection.execute`, after the queued writes."""
        self._writer.settle()
        return self._raw.execute(*args)

    def cursor(self):
        """`sqlite3.Connection.cursor`, after the queued writes."""
        self._writer.settle()
        return self._raw.cursor()

    def close(self) -> None:
        """Close the connection once the queued writes are done (or failed: they roll back with it)."""
        try:
            self._writer.settle()
        finally:
            self._writer.stop()
            self._raw.close()

    def __getattr__(self, name: str):
        self._writer.settle()
        return getattr(self._raw, name)
