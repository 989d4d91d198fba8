"""Private working directories that a killed process does not leave behind; file names that fit.

The gate validates a kept delivery from a copy on disk, and that copy holds
koppelnummers. A `tempfile.TemporaryDirectory` is removed when its `with`
block ends, but not when the process is killed (kill -9, the OOM killer, a
power cut), and the copy then stays in /tmp for good.

So each working directory holds a lock file that its process keeps locked
while it works (through `filelock`: flock on POSIX, msvcrt on Windows). The
operating system drops that lock when the process ends, however it ends. Whoever opens the next working directory first removes every directory
whose lock it can take: their owners are gone. A directory whose lock file is
not there yet belongs to a process that is just creating it, unless it is older
than `UNCLAIMED_AFTER` seconds.

Within one process (the portal serves uploads from many threads), claiming a
new directory and sweeping are mutually exclusive: the lock file exists a
moment before its lock is taken, and a sweep in another thread that looked in
that moment took the lock itself, found the directory ownerless and removed it
under its creator (issue 14: an upload answered 500). Across processes (several
`disval worker`s on one machine share its temporary directory) the same holds
through a lock file beside the directories, `disval-work.<user>.lock`: a sweep
in one process could otherwise take the lock of a directory another process
had just created the lock file of and not locked yet (issue 15: that delivery
ended `failed`, FileNotFoundError on `.owner`).
"""
from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from filelock import FileLock, Timeout

PREFIX = "disval-work-"
OWNER = ".owner"
UNCLAIMED_AFTER = 300.0
NAME_MAX = 255  # bytes in one file name on every file system disval runs on
# Held while this process claims a new directory (create it, lock its lock file) and while it sweeps.
_CLAIMING = threading.Lock()


@contextmanager
def working_directory(purpose: str, root: str | Path | None = None) -> Iterator[Path]:
    """A private directory (mode 0700) for `purpose`, removed when the block ends or, if the
    process is killed, by the next process that opens one."""
    sweep(root)
    with _claiming(root):  # no sweep (of this process or another) may look at it before it is locked
        path = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{purpose}-", dir=root))
        owner = FileLock(path / OWNER)
        owner.acquire()  # held until we are done, or dropped by the operating system if we die
    try:
        yield path
    finally:
        owner.release()  # first: Windows removes no file that is open
        shutil.rmtree(path, ignore_errors=True)


def sweep(root: str | Path | None = None) -> list[Path]:
    """Remove the working directories (in `root`, default the temporary directory) of processes
    that are gone; returns those removed. Directories of other users or live processes stay."""
    with _claiming(root):
        return _sweep(root)


@contextmanager
def _claiming(root: str | Path | None) -> Iterator[None]:
    """Held while claiming a new directory or sweeping: by one thread of this process, and by one
    process of this user on this directory (a file lock the operating system drops if we die)."""
    with _CLAIMING:
        user = os.getuid() if hasattr(os, "getuid") else os.environ.get("USERNAME", "user")
        lock: FileLock | None = FileLock(Path(root or tempfile.gettempdir()) / f"disval-work.{user}.lock")
        try:
            lock.acquire(timeout=60)
        except (Timeout, OSError):  # not ours to take (a read-only directory...): claim as before, unordered
            lock = None
        try:
            yield
        finally:
            if lock is not None:
                lock.release()


def _sweep(root: str | Path | None) -> list[Path]:
    removed = []
    for path in Path(root or tempfile.gettempdir()).glob(f"{PREFIX}*"):
        try:
            claimed = (path / OWNER).is_file()
        except OSError:  # another user's (0700): not ours to judge
            continue
        if not claimed:
            if path.is_dir() and _age(path) > UNCLAIMED_AFTER:  # its process died right after creating it
                shutil.rmtree(path, ignore_errors=True)
                removed.append(path)
            continue
        owner = FileLock(path / OWNER)
        try:
            owner.acquire(blocking=False)
        except (Timeout, OSError):  # its process is alive and working, or the lock is not ours to take
            continue
        owner.release()  # its owner is gone; released first, as Windows removes no file that is open
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed


def _age(path: Path) -> float:
    try:
        return time.time() - path.stat().st_mtime
    except OSError:
        return 0.0


def readable_name(name: str) -> str:
    """A file name as disval keeps and reports it: bytes that are not UTF-8 become U+FFFD.

    Such a name is no GA name, so it is rejected (ZIP-NAME) like any other bad name.
    """
    return os.fsencode(name).decode("utf-8", "replace")


def fitting_name(name: str, limit: int = NAME_MAX) -> str:
    """`name`, shortened in the middle if its UTF-8 form is longer than a file name may be.

    The end (".zip", ".import.json") is kept, so that what the file is stays visible.
    """
    if len(os.fsencode(name)) <= limit:
        return name
    suffixes = Path(name).suffixes
    tail = "".join(suffixes[-2:]) if len("".join(suffixes[-2:])) <= 32 else "".join(suffixes[-1:])
    tail = tail if len(os.fsencode(tail)) <= 32 else ""
    head = name[:len(name) - len(tail)]
    budget = limit - len(os.fsencode(tail)) - len("…".encode())
    cut = os.fsencode(head)[:budget].decode("utf-8", "ignore")  # never half a character
    return f"{cut}…{tail}"


PAUSE_AT = "DISVAL_PAUSE_AT"  # "<point>=<file>": see pause_point
PAUSE_LIMIT = 600.0


def pause_point(point: str) -> None:
    """A place where a test may hold the process, to kill it at a known moment instead of racing it.

    When the environment variable DISVAL_PAUSE_AT is `<point>=<file>`, the process creates `<file>`
    and waits until it is removed (at most ten minutes); otherwise nothing happens. The gate pauses
    at `gate-working-copy`, when the copy of the delivery is on disk; the built-in progress plugin
    at `delivery-progress`, after each figure it wrote to the store.
    """
    wanted, _, marker = os.environ.get(PAUSE_AT, "").partition("=")
    if wanted != point or not marker:
        return
    Path(marker).write_text(str(os.getpid()), encoding="utf-8")
    deadline = time.monotonic() + PAUSE_LIMIT
    while Path(marker).exists() and time.monotonic() < deadline:
        time.sleep(0.01)
