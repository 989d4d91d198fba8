"""The in-process worker: drains providers' queues through the gate.

`disval serve` with the default store runs one `Worker` thread. It wakes when
an upload is queued (or every `poll` seconds, for deliveries queued by another
process, e.g. `disval submit`), and for each provider with waiting deliveries
calls `disval.core.gate.process.drain`: GA order, under the provider's lock,
so a worker elsewhere on the same store never processes the same provider at
the same time. The scale-out issue runs the same `drain` from a job.

How far a delivery is ("validating, 45%", "stalled") is written to the store
by the built-in plugin `disval.plugins.delivery_progress`, whichever process
processes it, and the portal reads it from there.
"""
from __future__ import annotations

import logging
import threading

from ..gate.process import drain
from ..store import accounts as book
from ..store.delivery_store import open_store

log = logging.getLogger("disval.portal.worker")


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
