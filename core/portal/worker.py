"""The in-process worker: drains providers' queues through the gate, and tracks progress while it does.

`disval serve` with the default store runs one `Worker` thread. It wakes when
an upload is queued (or every `poll` seconds, for deliveries queued by another
process, e.g. `disval submit`), and for each provider with waiting deliveries
calls `disval.core.gate.process.drain`: GA order, under the provider's lock,
so a worker elsewhere on the same store never processes the same provider at
the same time. The scale-out issue runs the same `drain` from a job.

`Progress` is a plugin on the gate's own hooks: `disval_delivery_event`
tells which delivery is being processed, the validation hooks how far it is.
The portal reads it for the "validating, 45%" figure and to say "stalled"
when nothing moved for a while.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from ..gate.process import drain
from ..plugins import hookimpl
from ..store import accounts as book
from ..store.delivery_store import open_store

log = logging.getLogger("disval.portal.worker")


@dataclass
class Moving:
    """How far the processing of one delivery is."""

    delivery: int
    started: float  # time.time()
    updated: float
    expected: int = 0  # records, by the packing slip's counts (0: unknown)
    files: dict | None = None  # file -> records read so far
    stage: str = "receipt"  # receipt | validating | reports

    @property
    def records(self) -> int:
        """Records read so far, over all files."""
        return sum((self.files or {}).values())

    def as_dict(self) -> dict:
        """The figure the status endpoint shows."""
        percent = min(99, int(100 * self.records / self.expected)) if self.expected else None
        return {"records": self.records, "expected": self.expected or None, "percent": percent,
                "stage": self.stage, "updated": self.updated}


class Progress:
    """Which delivery each processing thread is at, and how far (a plugin: register it with the pm)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._by_thread: dict[int, Moving] = {}

    def of(self, delivery_id: int) -> Moving | None:
        """How far the delivery is, if this process is processing it now."""
        with self._lock:
            return next((m for m in self._by_thread.values() if m.delivery == delivery_id), None)

    def _mine(self) -> Moving | None:
        return self._by_thread.get(threading.get_ident())

    @hookimpl
    def disval_delivery_event(self, event, delivery, store):
        """Start or end tracking a delivery in this thread."""
        now = time.time()
        with self._lock:
            if event == "started":
                self._by_thread[threading.get_ident()] = Moving(delivery.id, now, now, files={})
            elif event == "processed":
                mine = self._mine()
                if mine is not None and mine.delivery == delivery.id:
                    del self._by_thread[threading.get_ident()]

    @hookimpl
    def disval_validation_started(self, delivery, standard, expected):
        """The zip is open: from here on, records are counted against the packing slip's totals."""
        with self._lock:
            mine = self._mine()
            if mine is not None:
                mine.expected, mine.stage, mine.updated = sum(expected.values()), "validating", time.time()

    @hookimpl
    def disval_records_read(self, file, records):
        """Another batch of `file` was checked."""
        with self._lock:
            mine = self._mine()
            if mine is not None:
                mine.files[file] = records
                mine.updated = time.time()

    @hookimpl
    def disval_validation_finished(self, result):
        """Validation is done; reports (and a production import) follow."""
        with self._lock:
            mine = self._mine()
            if mine is not None:
                mine.stage, mine.updated = "reports", time.time()


class Worker:
    """A thread that drains every provider's queue in the store, until `stop()`."""

    def __init__(self, store_url: str, pm, poll: float = 2.0):
        self.store_url, self.pm, self.poll = store_url, pm, poll
        self._wake, self._stop = threading.Event(), threading.Event()
        self._thread: threading.Thread | None = None
        self.idle = threading.Event()  # set while nothing is waiting (tests and the benchmark wait on it)

    def start(self) -> None:
        """Start the thread (a daemon: a stopped server does not wait for it)."""
        self._thread = threading.Thread(target=self._run, name="disval-worker", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Something was queued: look now rather than at the next poll."""
        self.idle.clear()
        self._wake.set()

    def stop(self, timeout: float = 30.0) -> None:
        """Finish the delivery at hand and stop."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        store = None
        while not self._stop.is_set():
            try:
                if store is None:
                    store = open_store(self.store_url, pm=self.pm)
                if not self.drain_once(store):
                    self.idle.set()
                    self._wake.wait(self.poll)
                    self._wake.clear()
            except Exception:  # a lost database connection: log it, reopen, go on
                log.exception("the worker could not drain the queue; trying again in %s s", self.poll)
                if store is not None:
                    store.close()
                    store = None
                self._stop.wait(self.poll)
        if store is not None:
            store.close()

    def drain_once(self, store) -> bool:
        """Drain every provider with waiting deliveries once; whether there were any."""
        waiting = book.queued_providers(store)
        for agb, branch in waiting:
            if self._stop.is_set():
                break
            drain(store, agb, branch, pm=self.pm)
        return bool(waiting)
