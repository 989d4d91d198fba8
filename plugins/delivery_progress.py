"""Built-in plugin: how far each delivery's processing is, written to the store for every process to read.

Whichever process processes a delivery (a `disval submit`, the portal's
worker, a worker on another machine), this plugin follows it on the gate's own
hooks: `disval_delivery_event` says which delivery a thread is processing and
hands over its store, the validation and import hooks how far it is. It
writes the figure (stage, records read or written, records expected) to the
store's live state (`disval.core.store.live`), on a connection of its own so
that it never joins the import's transaction, and at most once every
`INTERVAL` seconds per delivery besides the moments its stage changes. The
portal's timeline reads it from there, so a page served by any process shows
"validating, 45%", and "stalled" when the figure stops moving.

A store without live state (`DeliveryStore.live()` is None) gets no figures.
"""
from __future__ import annotations

import logging
import threading
import time

from disval.core.plugins import hookimpl
from disval.core.workdir import pause_point

log = logging.getLogger("disval.progress")

INTERVAL = 1.0  # seconds between two figures of one delivery (a stage change is written at once)


class _Run:
    """The delivery this thread processes, and what was last written of it."""

    def __init__(self, delivery_id: int, live):
        self.delivery, self.live = delivery_id, live
        self.stage, self.expected = "receipt", 0
        self.read: dict[str, int] = {}  # file -> records read (validating)
        self.written: dict[str, int] = {}  # file -> records written (importing)
        self.last = 0.0  # time.monotonic() of the last figure written

    def records(self) -> int:
        return sum((self.written if self.stage == "importing" else self.read).values())

    def write(self, *, force: bool = False, new: bool = False) -> None:
        now = time.monotonic()
        if force or now - self.last >= INTERVAL:
            self.last = now
            self.live.put_progress(self.delivery, self.stage, self.records(), self.expected, new=new)
            pause_point("delivery-progress")  # a test holds the process here to read the figure elsewhere


_local = threading.local()  # the gate processes one delivery per thread at a time


def _run() -> _Run | None:
    return getattr(_local, "run", None)


@hookimpl
def disval_delivery_event(event, delivery, store):
    """Start following a delivery when its processing starts; clear its figure when it ended."""
    try:
        if event == "started":
            live = store.live()
            _local.run = _Run(delivery.id, live) if live is not None else None
            if _local.run is not None:
                _local.run.write(force=True, new=True)
        elif event == "processed":
            run = _run()
            if run is not None and run.delivery == delivery.id:
                run.live.clear_progress(delivery.id)
                _local.run = None
    except Exception:  # a figure is never worth a failed delivery
        log.exception("could not follow the progress of delivery %s", delivery.id)
        _local.run = None


@hookimpl
def disval_validation_started(delivery, standard, expected):
    """The zip is open: from here on, records are counted against the packing slip's totals."""
    run = _run()
    if run is not None:
        run.stage, run.expected = "validating", sum((expected or {}).values())
        run.write(force=True)


@hookimpl
def disval_records_read(file, records):
    """Another batch of `file` was checked."""
    run = _run()
    if run is not None:
        run.read[file] = records
        run.write()


@hookimpl
def disval_validation_finished(result):
    """Validation is done; reports (and for a production delivery, the import) follow."""
    run = _run()
    if run is not None:
        run.stage = "reports"
        run.write(force=True)


@hookimpl
def disval_records_imported(delivery, file, records, total):
    """The import wrote `records` of `file`'s `total`: counted against the totals of the files begun so far."""
    run = _run()
    if run is not None:
        begins = run.stage != "importing"
        if begins:
            run.stage, run.expected = "importing", 0
        if file not in run.written:
            run.expected += total
        run.written[file] = records
        run.write(force=begins)
