"""`disval worker`: drain providers' queues as procrastinate jobs, on a PostgreSQL store.

Runs until SIGTERM or SIGINT (the jobs at hand are finished first; a second
signal ends the process at once), or with `--until-empty` until no drain job is
waiting or running. One
line per job start and end, and per sweep action, goes to stderr.
"""
from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import sys
from concurrent.futures import ThreadPoolExecutor

from ..errors import UsageError
from ..store.delivery_store import StoreError, default_store_url
from .job_app import StorePerThread, make_app
from .job_schema import available
from .sweeper import sweep
from .wakeups import QUEUE, uses_jobs

log = logging.getLogger("disval.worker")

DEFAULT_SWEEP_INTERVAL = 30.0
DEFAULT_HEARTBEAT_TIMEOUT = 30.0
DEFAULT_KEEP_JOBS = 168.0  # hours a drain job that ended is kept (a week); the run log keeps the history
RESTART_PAUSE = 5.0  # seconds before procrastinate's worker is started again after it stopped by itself


def add_worker_command(subparsers) -> None:
    """Register `disval worker` with the `disval` parser."""
    import argparse

    store = argparse.ArgumentParser(add_help=False)
    store.add_argument("--store", metavar="URL", help="postgresql://USER@HOST/DB (default: $DISVAL_STORE)")
    store.add_argument("--create", action="store_true", help=argparse.SUPPRESS)  # what the store opener reads
    w = subparsers.add_parser("worker", parents=[store],
                              help="process deliveries queued on a PostgreSQL store, as jobs (several may run)")
    w.add_argument("--concurrency", type=_positive(int), default=1, metavar="N",
                   help="providers drained at once by this worker (default 1)")
    w.add_argument("--sweep-interval", type=_positive(float), default=DEFAULT_SWEEP_INTERVAL, metavar="S",
                   help="seconds between sweeps for stalled jobs and providers without a job (default 30)")
    w.add_argument("--heartbeat-timeout", type=_positive(float), default=DEFAULT_HEARTBEAT_TIMEOUT, metavar="S",
                   help="a worker silent this long is dead: its job is failed and its providers woken "
                        "(default 30; heartbeats go every third of it)")
    w.add_argument("--keep-jobs", type=_positive(float, zero=True), default=DEFAULT_KEEP_JOBS, metavar="HOURS",
                   help="drain jobs that ended are deleted this many hours later (default 168, a week; "
                        "0 deletes them at the next sweep); what happened stays in the run log")
    w.add_argument("--until-empty", action="store_true",
                   help="stop when no drain job is waiting or running (scripts and tests)")
    # The mail after processing is sent by whoever processed: the worker takes the portal's plugin options
    # (the built-in mail plugin's --smtp-*) through the same hooks as `disval serve`.
    w.add_argument("--base-url", default="", help="the portal's address as users reach it (for links in mail)")
    w.set_defaults(host=None, port=None)  # a worker listens nowhere; plugins see that it is not serving
    from ..plugins import get_plugin_manager

    get_plugin_manager().hook.disval_serve_options(parser=w)
    from ..gate.commands import _guarded

    guarded = _guarded(_worker)
    w.set_defaults(func=lambda args: _refuse_embedded(args) or guarded(args))


def _refuse_embedded(args) -> None:
    """UsageError for an SQLite store, before it is opened (an absent file is no reason to say otherwise)."""
    url = args.store or default_store_url()
    if url.startswith("sqlite:"):
        raise UsageError(f"{url}: the embedded store needs no workers: 'disval submit' processes in process "
                         "(workers are for a PostgreSQL store: --store postgresql://USER@HOST/DB)")


def _positive(kind, zero: bool = False):
    """An argparse type: `kind`, greater than zero (or, with `zero`, not negative)."""
    def parse(text: str):
        value = kind(text)
        if value < 0 or (value == 0 and not zero):
            raise ValueError(text)
        return value
    parse.__name__ = kind.__name__
    return parse


def _worker(args, store) -> int:
    if getattr(getattr(store, "dialect", None), "name", None) != "postgresql":
        raise UsageError(f"{store.url}: the embedded store needs no workers: 'disval submit' processes in process "
                         "(workers are for a PostgreSQL store: --store postgresql://USER@HOST/DB)")
    if not available():
        raise UsageError("disval worker needs procrastinate: pip install 'disval[postgresql]'")
    if not uses_jobs(store):  # pragma: no cover - the store applies the tables when procrastinate is installed
        raise UsageError(f"{store.url} has no job tables; open it once with procrastinate installed")
    from ..plugins import close_plugins, get_plugin_manager

    # Plugins configure themselves from their options (the mail plugin returns its notifier, or nothing
    # without an SMTP host); UsageError for settings that cannot work, before anything runs.
    extra = [plugin for made in get_plugin_manager().hook.disval_serve_configure(options=args)
             for plugin in made or ()]
    _log_to_stderr()
    url = args.store or default_store_url()  # store.url has the password taken out
    pm = get_plugin_manager(extra=extra)
    try:
        run_worker(url, pm, store, concurrency=args.concurrency, sweep_interval=args.sweep_interval,
                   heartbeat_timeout=args.heartbeat_timeout, until_empty=args.until_empty,
                   keep_jobs=args.keep_jobs)
    finally:
        close_plugins(extra)  # e.g. the e-mail queued goes out before the process ends
    return 0


def run_worker(url: str, pm, store, *, concurrency: int = 1, sweep_interval: float = DEFAULT_SWEEP_INTERVAL,
               heartbeat_timeout: float = DEFAULT_HEARTBEAT_TIMEOUT, until_empty: bool = False,
               keep_jobs: float | None = DEFAULT_KEEP_JOBS) -> None:
    """Run a procrastinate worker on `url` until SIGTERM/SIGINT (or, `until_empty`, until no drain job is left).

    `store` (open on the same database) answers whether jobs are left. procrastinate's worker stops by
    itself when one of its side tasks (heartbeat, LISTEN) loses its connection; a service must outlive a
    database restart or a network cut, so it is started again here, `RESTART_PAUSE` seconds later, until
    a signal says stop. The signals are therefore handled here, not by procrastinate: the first one
    finishes the jobs at hand and stops, a second one ends the process at once. Drain jobs that ended
    over `keep_jobs` hours ago are deleted by the sweeps (None keeps them).
    """
    from procrastinate import worker as procrastinate_worker

    stores = StorePerThread(url, pm)
    app = make_app(url, pm, stores)
    sweeper = StorePerThread(url, pm)  # the sweeps' own connection, opened anew after a failure
    options = dict(queues=[QUEUE], concurrency=concurrency, name=f"disval {socket.gethostname()} pid {os.getpid()}",
                   update_heartbeat_interval=max(heartbeat_timeout / 3, 0.1),
                   stalled_worker_timeout=heartbeat_timeout, install_signal_handlers=False)

    async def main() -> None:
        stopping = asyncio.Event()
        running: list = []

        def on_signal() -> None:
            if stopping.is_set():
                log.warning("stopping now, without finishing the jobs at hand (their providers are woken again "
                            "by another worker's sweep)")
                os._exit(130)
            log.info("stopping: finishing the jobs at hand")
            stopping.set()
            for w in running:
                w.stop()

        _handle_signals(on_signal)
        # procrastinate runs a synchronous task in the loop's default executor; as many threads as jobs at
        # once (and one for the queue checks here) keep as many store connections open, not the default six.
        asyncio.get_running_loop().set_default_executor(
            ThreadPoolExecutor(concurrency + 1, thread_name_prefix="disval-job"))
        async with app.open_async():
            log.info("started on %s: concurrency %d, sweep every %g s, heartbeat timeout %g s", store.url,
                     concurrency, sweep_interval, heartbeat_timeout)
            sweeping = asyncio.create_task(_sweep_forever(sweeper, sweep_interval, heartbeat_timeout,
                                                                keep_jobs))
            try:
                if until_empty:
                    await asyncio.to_thread(sweep, store, heartbeat_timeout, keep_jobs)
                while not stopping.is_set():
                    if until_empty and not await asyncio.to_thread(_jobs_left, store):
                        break
                    w = procrastinate_worker.Worker(app=app, **options, wait=not until_empty)
                    running[:] = [w]
                    try:
                        await w.run()
                    except Exception as exc:
                        log.error("the job worker failed: %s", " ".join(str(exc).split()) or type(exc).__name__)
                    if stopping.is_set():
                        break
                    if until_empty:  # a job left is another worker's provider: look again soon
                        await asyncio.sleep(0.2)
                        continue
                    log.warning("the job worker stopped by itself (a lost database connection?): starting it "
                                "again in %g s", RESTART_PAUSE)
                    await _wait(stopping, RESTART_PAUSE)
            finally:
                sweeping.cancel()
                stores.close_all()
                sweeper.close_all()
            log.info("stopped")

    from procrastinate.exceptions import ConnectorException

    try:
        asyncio.run(main())
    except ConnectorException as exc:  # the job queue's first connection failed: one line, exit 2
        cause = exc.__cause__ or exc
        raise StoreError(f"the job queue cannot reach {store.url}: {' '.join(str(cause).split())}") from None


def _handle_signals(callback) -> None:
    """Call `callback` on SIGTERM and SIGINT (where the event loop can: not on Windows, where Ctrl-C
    interrupts as usual)."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, callback)
        except (NotImplementedError, RuntimeError):
            pass


async def _wait(event: asyncio.Event, seconds: float) -> None:
    """Sleep `seconds`, or less if `event` is set meanwhile."""
    try:
        await asyncio.wait_for(event.wait(), seconds)
    except asyncio.TimeoutError:
        pass


async def _sweep_forever(stores: StorePerThread, interval: float, heartbeat_timeout: float,
                         keep_jobs: float | None) -> None:
    """Sweep every `interval` seconds until cancelled; a failed sweep is logged and tried at the next.

    The sweeps run in one thread of their own, so that `stores` keeps one connection for them.
    """
    with ThreadPoolExecutor(1, thread_name_prefix="disval-sweep") as thread:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(interval)
            try:
                await loop.run_in_executor(thread, lambda: sweep(stores.get(), heartbeat_timeout, keep_jobs))
            except Exception as exc:  # the database went away for a while: the next round tries again
                await loop.run_in_executor(thread, stores.forget)
                log.error("sweep failed: %s", " ".join(str(exc).split()) or type(exc).__name__)


def _jobs_left(store) -> bool:
    """Whether a drain job waits or runs (`--until-empty` goes on while one does)."""
    return store._exec("SELECT EXISTS (SELECT 1 FROM procrastinate_jobs WHERE queue_name = ?"
                       " AND status IN ('todo', 'doing'))", (QUEUE,)).fetchone()[0]


def _log_to_stderr() -> None:
    """One line per job start and end, and per sweep action; procrastinate's own only when it errs."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s disval worker: %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    proc = logging.getLogger("procrastinate")
    proc.addHandler(handler)
    proc.setLevel(logging.WARNING)
