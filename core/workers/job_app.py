"""The procrastinate app of a `disval worker`: its connector and the drain task.

The drain task is synchronous (the gate is): procrastinate runs it in a
thread of its own, one per concurrent job, and each thread keeps its own
store connection (a store object belongs to one thread). A connection that
failed is closed and opened anew by the next job of that thread.

A job that raises (the store went away mid-drain) ends `failed` and is not
retried by procrastinate: the deliveries it left are still waiting in the
store, and the sweeper wakes the provider again (`sweeper`). Running a drain
twice is harmless: a drain of an empty queue does nothing.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import time

from ..gate.process import drain
from ..store.delivery_store import open_store, redact_url
from .wakeups import DRAIN_TASK, QUEUE

log = logging.getLogger("disval.worker")

# The worker's own connections notice a vanished server within about half a minute, not the kernel's two hours.
KEEPALIVES = {"keepalives": 1, "keepalives_idle": 10, "keepalives_interval": 5, "keepalives_count": 3}


class StorePerThread:
    """One open store per worker thread, reopened after a failure."""

    def __init__(self, url: str, pm):
        self.url, self.pm = url, pm
        self._local = threading.local()
        self._all: list = []
        self._lock = threading.Lock()

    def get(self):
        """This thread's store, opened on first use, and opened anew when its connection was lost."""
        store = getattr(self._local, "store", None)
        if store is not None and not alive(store):
            self.forget()
            store = None
        if store is None:
            store = self._local.store = open_store(self.url, pm=self.pm)
            with self._lock:
                self._all.append(store)
        return store

    def forget(self) -> None:
        """Close this thread's store (its connection may be broken): the next job opens a new one."""
        store = getattr(self._local, "store", None)
        self._local.store = None
        if store is not None:
            store.close()
            with self._lock:
                if store in self._all:
                    self._all.remove(store)

    def close_all(self) -> None:
        """Close every thread's store (the worker stops)."""
        with self._lock:
            for store in self._all:
                store.close()
            self._all.clear()


def alive(store) -> bool:
    """Whether the store's connection still answers (the server may have ended it while the thread was idle)."""
    try:
        store._exec("SELECT 1").fetchone()
    except Exception:
        return False
    return True


def make_app(url: str, pm, stores: StorePerThread):
    """A procrastinate app on the store's database, with disval's drain task registered."""
    import procrastinate

    name = f"disval worker pid {os.getpid()} on {socket.gethostname()}"[:63]
    # procrastinate's pool checks a connection before lending it (psycopg_pool's check_connection): after
    # a database restart or a network cut the jobs' queries get a fresh connection, not the dead one.
    connector = procrastinate.PsycopgConnector(conninfo=url, kwargs={"application_name": name, **KEEPALIVES})
    app = procrastinate.App(connector=connector)

    @app.task(name=DRAIN_TASK, queue=QUEUE, pass_context=True)
    def drain_provider(context, agb: str, branch: str) -> int:
        """Drain one provider's queue (a wake-up: which deliveries, and their order, the store says)."""
        job = context.job.id
        log.info("job %s: drain of provider %s %s started", job, agb, branch)
        began = time.monotonic()
        store = stores.get()
        try:
            before = _done(store, agb, branch)
            drain(store, agb, branch, pm=pm)
            processed = _done(store, agb, branch) - before
        except BaseException as exc:
            stores.forget()
            log.error("job %s: drain of provider %s %s failed after %.1f s: %s", job, agb, branch,
                      time.monotonic() - began, " ".join(str(exc).split()) or type(exc).__name__)
            raise
        log.info("job %s: drain of provider %s %s ended: %d processed in %.1f s", job, agb, branch, processed,
                 time.monotonic() - began)
        return processed

    app.disval_url = redact_url(url)  # for messages
    return app


def _done(store, agb: str, branch: str) -> int:
    """How many processing runs of the provider have ended (the job's log line counts what it did)."""
    return store._exec("SELECT count(*) FROM processing_runs WHERE agb = ? AND branch = ? AND ended_at IS NOT NULL",
                       (agb, branch)).fetchone()[0]
