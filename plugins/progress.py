"""Progress on stderr while a long delivery is read: records read and records per second.

Registered by the command line only when stderr is a terminal or `--progress`
asks for it, so a piped run prints nothing extra.
"""
from __future__ import annotations

import time

from disval.core.plugins import hookimpl
from disval.core.report_view import visible


class Progress:
    """A one-line progress display, redrawn at most every `interval` seconds."""

    def __init__(self, stream, interval: float = 0.2):
        self.stream, self.interval = stream, interval
        self.start = self.last = 0.0
        self.done: dict[str, int] = {}

    @hookimpl
    def disval_validation_started(self, delivery, standard):
        self.start = self.last = time.monotonic()
        self.done.clear()
        self.delivery = delivery

    @hookimpl
    def disval_records_read(self, file, records):
        self.done[file] = records
        now = time.monotonic()
        if now - self.last >= self.interval:
            self.last = now
            self._draw(now, file)

    @hookimpl
    def disval_validation_finished(self, result):
        # The last line always: a run too short to redraw still says how much it read.
        self._draw(time.monotonic(), "done")
        self.stream.write("\n")
        self.stream.flush()

    def _draw(self, now: float, file: str) -> None:
        total = sum(self.done.values())
        rate = total / max(now - self.start, 1e-9)
        # Names come from the delivery: no terminal escape of theirs reaches the terminal.
        self.stream.write(f"\r{visible(self.delivery)}: {total:,} records read ({rate:,.0f}/s) {visible(file):<30}")
        self.stream.flush()
