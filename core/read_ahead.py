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

Inflating and cutting cost less than checking, so a reader that only read
would wait on a full queue while the rules keep the other thread busy. An
item may therefore carry `SharedTasks`: work on it that either thread may
do (the verdicts of the rules that read only their own record). The reader,
finding the queue full, does such tasks of the batches already queued,
last first, while the consumer does them first to last and takes the
reader's results as it reaches them; each task runs once, on whichever
thread claims it. The split follows the load of the moment, so neither
core waits while the other has work that could be shared.
"""
from __future__ import annotations

import queue
import threading
import time
from typing import Callable, Iterable, Iterator, NamedTuple, TypeVar

import numpy as np

from .engine import columns
from .engine.common import Batch
from .layout import FileLayout
from .reader import RecordChunk

T = TypeVar("T")

_END = object()  # the reader is done

_spent = [0.0]  # CPU seconds of the reader threads that have ended (`reader_cpu_seconds`)
_spent_lock = threading.Lock()


def reader_cpu_seconds() -> float:
    """The CPU time used by the reader threads of this process that have ended (for the benchmark)."""
    with _spent_lock:
        return _spent[0]


class _Failed:
    """The reader raised: the exception to raise again in the consumer."""

    def __init__(self, error: BaseException):
        self.error = error


class SharedTasks:
    """Work on one item that either thread may do: each task runs once, on the thread that claims it.

    The consumer asks for each result by key (`result`), in its own order: a task no
    one has claimed yet it runs itself, one the reader is running it waits for. The
    reader claims the last task left (`help`), so the two meet only at the end. An
    exception in a task the reader ran is raised where the consumer asks for its result.
    """

    def __init__(self, tasks: Iterable[tuple[object, Callable[[], object]]]):
        self._todo = dict(tasks)  # key -> task, in the consumer's order
        self.keys = frozenset(self._todo)
        self._done: dict = {}  # key -> (result, exception) of tasks the reader ran
        self._changed = threading.Condition()

    def __len__(self) -> int:
        return len(self._todo)

    def help(self) -> bool:
        """Run the last task no one has claimed (on the reader's thread); False when none is left."""
        with self._changed:
            if not self._todo:
                return False
            key, task = self._todo.popitem()
        try:
            outcome = (task(), None)
        except BaseException as exc:  # noqa: BLE001 - raised again where the consumer asks for the result
            outcome = (None, exc)
        with self._changed:
            self._done[key] = outcome
            self._changed.notify_all()
        return True

    def result(self, key):
        """The result of the task `key`: run here if no one claimed it yet, else the reader's when it is done.

        Each result is taken once; a key that is no task of this item is a KeyError.
        """
        if key not in self.keys:
            raise KeyError(key)
        with self._changed:
            task = self._todo.pop(key, None)
            if task is None:
                while key not in self._done:
                    self._changed.wait()
                value, error = self._done.pop(key)
                if error is not None:
                    raise error
                return value
        return task()


def read_ahead(items: Iterable[T], depth: int = 2,
               tasks_of: Callable[[T], SharedTasks | None] | None = None) -> Iterator[T]:
    """Yield `items` in order, made on a second thread up to `depth` ahead; `depth` 0: on this thread.

    `tasks_of(item)`: the item's `SharedTasks`, which the reader does its part of
    while the queue is full (see the module docstring).
    """
    if depth <= 0:
        yield from items
        return
    ready: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    shared: list[SharedTasks] = []  # of the items queued (or being consumed), oldest first

    def help_once() -> bool:
        while shared:
            if shared[0].help():
                return True
            shared.pop(0)  # nothing left to claim: the consumer does (or did) the rest
        return False

    def hand_over(item) -> None:
        tasks = tasks_of(item) if tasks_of is not None else None
        if tasks is not None and len(tasks):
            shared.append(tasks)
        while True:
            try:
                ready.put(item, block=False)
                return
            except queue.Full:
                if stop.is_set() or not help_once():
                    break
        ready.put(item)

    def make() -> None:
        source = iter(items)
        try:
            for item in source:
                if stop.is_set():
                    break
                hand_over(item)
            ready.put(_END)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, who raises it
            ready.put(_Failed(exc))
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                close()
            with _spent_lock:
                _spent[0] += time.thread_time()

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
    tasks: SharedTasks | None = None  # the engines' work on the batch that either thread may do


# Where an engine finds the batch's shared tasks (`Batch.cache`), to take their results.
SHARED = "shared tasks"


def prepared_batches(f: FileLayout, chunks: Iterable[RecordChunk],
                     prepare: Callable[[Batch], list] | None = None) -> Iterator[Prepared]:
    """Each chunk with the work every batch needs done on the reader's side of `read_ahead`.

    The records turned field-major (what the rules read) and the search for bytes outside
    ISO-8859-1's printable range are whole-array work that runs without the GIL: done here, on the
    reader thread, they overlap with the rules of the batch before. `columns.non_printable` and
    `Batch.field_major` are what the engines would otherwise work out on the main thread.
    `prepare(batch)` gives the engines' work that either thread may do, as (key, task) pairs
    (`ColumnarEngine.prepare`); they become the batch's `SharedTasks`, in `batch.cache[SHARED]`.
    """
    for chunk in chunks:
        if not len(chunk.lines):
            yield Prepared(chunk, None, None)
            continue
        batch = Batch(f, chunk.rows, chunk.lines)
        cols = batch.field_major()
        tasks = None
        if prepare is not None:
            tasks = batch.cache[SHARED] = SharedTasks(prepare(batch))
        yield Prepared(chunk, batch, columns.non_printable(chunk.rows, cols), tasks)
