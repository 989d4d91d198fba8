"""Audit entries of sign-ins, written without holding up the sign-in.

Every sign-in, good or bad, is noted in the store's audit log. On SQLite an
import holds the database's one writer for its whole length (a million records:
seconds; ten million: a minute), and a sign-in that waited for it to write its
note would hang the sign-in page as long. So the note is written at once when
the store is free, and otherwise handed to one thread of the portal that
writes it as soon as the import is done, with the time the sign-in happened.
`close` waits for what was handed over: entries are lost only if the serving
process is killed while an import holds the store.
"""
from __future__ import annotations

import datetime as dt
import logging
import queue
import threading

from ..store import accounts as book

log = logging.getLogger("disval.portal")


class AuditTrail:
    """Writes audit entries now if the store takes them without waiting, else on a thread of its own."""

    def __init__(self, open_store):
        self._open_store = open_store  # () -> a store of the calling thread's own
        self._queue: queue.Queue = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def note(self, store, actor: str, action: str, target: str, detail: str = "") -> bool:
        """Write the entry on `store` (the calling thread's) if no other writer holds it; else hand it to
        the trail's thread. True when it was written now."""
        at = dt.datetime.now(dt.timezone.utc)
        if book.audit(store, actor, action, target, detail, at=at, wait=False):
            return True
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="disval-audit-trail", daemon=True)
                self._thread.start()
            self._queue.put((actor, action, target, detail, at))
        return False

    def close(self) -> None:
        """Write what was handed over (waiting for the store as long as it takes), then end the thread."""
        with self._lock:
            thread, self._thread = self._thread, None
            if thread is not None:
                self._queue.put(None)
        if thread is not None:
            thread.join()

    def _run(self) -> None:
        store = None
        try:
            while (entry := self._queue.get()) is not None:
                actor, action, target, detail, at = entry
                try:
                    store = store or self._open_store()
                    book.audit(store, actor, action, target, detail, at=at)
                except Exception:  # noqa: BLE001 - a thread has no caller to raise to: say it in the log
                    log.exception("could not write the audit entry %r %r %r", actor, action, target)
        finally:
            if store is not None:
                store.close()
