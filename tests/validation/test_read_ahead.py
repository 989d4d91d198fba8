"""`read_ahead`: a member's batches made on a second thread come out as if read on one (issue 13)."""
from __future__ import annotations

import threading
import time

import pytest

from disval.core.read_ahead import SharedTasks, read_ahead


def _batches(n: int, made: list, threads: set, fail_at: int | None = None, closed: list | None = None):
    try:
        for i in range(n):
            threads.add(threading.get_ident())
            if i == fail_at:
                raise ValueError(f"broken at batch {i}")
            made.append(i)
            yield i
    finally:
        if closed is not None:
            closed.append(threading.get_ident())


def test_batches_come_in_order_from_another_thread():
    made, threads = [], set()
    assert list(read_ahead(_batches(500, made, threads), depth=2)) == list(range(500))
    assert threads and threading.get_ident() not in threads


def test_depth_zero_reads_on_this_thread():
    made, threads = [], set()
    assert list(read_ahead(_batches(5, made, threads), depth=0)) == list(range(5))
    assert threads == {threading.get_ident()}


def test_the_reader_stays_at_most_a_few_batches_ahead():
    made, threads = [], set()
    out = read_ahead(_batches(1000, made, threads), depth=2)
    next(out)
    time.sleep(0.2)  # ample time for an unbounded reader to make all 1000
    # one taken, two in the queue, one made and waiting for room
    assert len(made) <= 4
    out.close()


def test_an_error_in_the_reader_is_raised_in_the_consumer_after_the_batches_before_it():
    made, threads = [], set()
    got = []
    with pytest.raises(ValueError, match="broken at batch 7") as caught:
        for i in read_ahead(_batches(20, made, threads, fail_at=7), depth=2):
            got.append(i)
    assert got == list(range(7))
    assert any(entry.name == "_batches" for entry in caught.traceback)  # the reader's own frame


def test_a_consumer_that_stops_early_stops_the_reader_and_closes_it():
    made, threads, closed = [], set(), []
    for i in read_ahead(_batches(10_000, made, threads, closed=closed), depth=2):
        if i == 3:
            break
    # By the time the loop has been left the reader has stopped and closed its source, on its own thread.
    assert closed == list(threads)
    assert len(made) < 10
    assert not [t for t in threading.enumerate() if t.name == "disval-read-ahead"]


def test_an_error_in_the_consumer_stops_the_reader():
    made, threads, closed = [], set(), []
    with pytest.raises(KeyError):
        for i in read_ahead(_batches(10_000, made, threads, closed=closed), depth=2):
            if i == 2:
                raise KeyError("the rules failed")
    assert closed and len(made) < 10


def _with_tasks(n: int, tasks_per_item: int, ran: list):
    """Items that each carry SharedTasks; every task notes (item, task, thread) when it runs."""
    for i in range(n):
        def task(i=i, j=0):
            ran.append((i, j, threading.get_ident()))
            time.sleep(0.001)  # long enough for the other thread to claim work meanwhile
            return i * 100 + j
        yield i, SharedTasks([(j, lambda i=i, j=j: task(i, j)) for j in range(tasks_per_item)])


def test_shared_tasks_run_once_each_and_the_reader_takes_its_part_while_the_queue_is_full():
    ran = []
    results = []
    for i, tasks in read_ahead(_with_tasks(30, 8, ran), depth=2, tasks_of=lambda item: item[1]):
        for j in range(8):  # the consumer asks in its own order and gets each task's own result
            results.append(tasks.result(j))
            time.sleep(0.001)  # the consumer is the slower side, so the reader has room to help
    assert results == [i * 100 + j for i in range(30) for j in range(8)]
    assert sorted((i, j) for i, j, _ in ran) == [(i, j) for i in range(30) for j in range(8)]  # each once
    threads = {t for _, _, t in ran}
    assert threading.get_ident() in threads and len(threads) == 2  # both threads did some of them


def test_a_task_that_fails_on_the_reader_raises_where_its_result_is_asked_for():
    tasks = SharedTasks([("a", lambda: 1), ("b", lambda: 1 / 0)])
    assert tasks.help()  # the reader takes the last one, which fails on its thread
    with pytest.raises(ZeroDivisionError):
        tasks.result("b")
    assert tasks.result("a") == 1
    assert not tasks.help()  # nothing left to claim
    with pytest.raises(KeyError):
        tasks.result("not a task")
