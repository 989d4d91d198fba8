"""Read a member's next batches on a second thread while this one checks the current batch.

Reading (inflating, cutting records) and checking (the rules) used to take
turns on one thread, leaving a second core idle. Inflating and the array
work of cutting and checking run without the GIL (zlib, isal and numpy's
kernels on large arrays release it), so a reader thread that keeps a batch
or two ready lets both proceed at once.

The batches come out in the order the reader made them, so results are the
same as reading on one thread. The queue is bounded (`depth` batches), so
memory stays that of a few batches however fast the reader is. An exception
in the reader is raised in the consumer, with its own traceback; a consumer
that stops early (a break, an exception, Ctrl-C) stops the reader before it
returns, and the reader's generator is closed on its own thread.
"""
from __future__ import annotations

import queue
import threading
from typing import Callable, Iterable, Iterator, NamedTuple, TypeVar

import numpy as np

from .engine import columns
from .engine.common import Batch
from .layout import FileLayout
from .reader import RecordChunk

T = TypeVar("T")

_END = object()  # the reader is done


class _Failed:
    """The reader raised: the exception to raise again in the consumer."""

    def __init__(self, error: BaseException):
        self.error = error


def read_ahead(items: Iterable[T], depth: int = 2) -> Iterator[T]:
    """Yield `items` in order, made on a second thread up to `depth` ahead; `depth` 0: on this thread."""
    if depth <= 0:
        yield from items
        return
    ready: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def make() -> None:
        source = iter(items)
        try:
            for item in source:
                if stop.is_set():
                    break
                ready.put(item)
            ready.put(_END)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, who raises it
            ready.put(_Failed(exc))
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                close()

    worker = threading.Thread(target=make, name="disval-read-ahead", daemon=True)
    worker.start()
    try:
        while True:
            item = ready.get()
            if item is _END:
                return
            if isinstance(item, _Failed):
                raise item.error
            yield item
    finally:
        stop.set()
        # Take what the reader still puts, so that a put blocked on a full queue returns and the
        # reader sees `stop`; then it has finished with the member before this generator returns.
        while worker.is_alive():
            try:
                ready.get(timeout=0.05)
            except queue.Empty:
                pass
        worker.join()


class Prepared(NamedTuple):
    """A chunk as read, its good records as a batch for the engines, and where their bytes are not printable."""

    chunk: RecordChunk
    batch: Batch | None
    charset: tuple[np.ndarray, np.ndarray] | None  # columns.non_printable of the batch


def prepared_batches(f: FileLayout, chunks: Iterable[RecordChunk],
                     prepare: Callable[[Batch], None] | None = None) -> Iterator[Prepared]:
    """Each chunk with the work every batch needs done on the reader's side of `read_ahead`.

    The records turned field-major (what the rules read) and the search for bytes outside
    ISO-8859-1's printable range are whole-array work that runs without the GIL: done here, on the
    reader thread, they overlap with the rules of the batch before. `columns.non_printable` and
    `Batch.field_major` are what the engines would otherwise work out on the main thread;
    `prepare(batch)` is the engines' own work ahead (`ColumnarEngine.prepare`).
    """
    for chunk in chunks:
        if not len(chunk.lines):
            yield Prepared(chunk, None, None)
            continue
        batch = Batch(f, chunk.rows, chunk.lines)
        batch.field_major()
        if prepare is not None:
            prepare(batch)
        yield Prepared(chunk, batch, columns.non_printable(chunk.rows))
