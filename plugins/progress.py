"""Progress on stderr while a delivery is read: records read, records per second, and, when the
packing slip says how many there are, the percentage done and the time left; and, when the gate
imports it, the records written of each file.

Registered by the command line only when stderr is a terminal or `--progress`
asks for it, so a piped run prints nothing extra. On a terminal the line is
redrawn in place; elsewhere (a CI log, a file) a plain line is written every
`every` seconds, so a log does not fill with carriage returns.
"""
from __future__ import annotations

import time

from disval.core.plugins import hookimpl
from disval.core.report_view import visible


class Progress:
    """A progress display: one line redrawn at most every `interval` seconds on a terminal, else
    a line of its own at most every `every` seconds."""

    def __init__(self, stream, interval: float = 0.2, every: float = 5.0, clock=time.monotonic):
        self.stream, self.clock = stream, clock
        isatty = getattr(stream, "isatty", None)
        self.terminal = bool(isatty and isatty())
        self.interval = interval if self.terminal else every
        self.start = self.last = 0.0
        self.done: dict[str, int] = {}
        self.expected: dict[str, int] = {}
        self.delivery = ""
        self.import_start = 0.0

    @hookimpl
    def disval_validation_started(self, delivery, standard, expected):
        self.start = self.last = self.clock()
        self.done.clear()
        self.expected = dict(expected or {})
        self.delivery = delivery

    @hookimpl
    def disval_records_read(self, file, records):
        self.done[file] = records
        now = self.clock()
        if now - self.last >= self.interval:
            self.last = now
            self._draw(now, file)

    @hookimpl
    def disval_validation_finished(self, result):
        # The last line always: a run too short to redraw still says how much it read.
        self._draw(self.clock(), "done")
        if self.terminal:
            self.stream.write("\n")
            self.stream.flush()

    @hookimpl
    def disval_records_imported(self, delivery, file, records, total):
        now = self.clock()
        if records == 0:
            self.import_start = now
        # A file's start and its end always: the log then says what was imported, however fast.
        if records == 0 or records >= total or now - self.last >= self.interval:
            self.last = now
            text = self.import_line(now, delivery, file, records, total)
            if self.terminal:
                self.stream.write(f"\r{text:<100}" + ("\n" if records >= total else ""))
            else:
                self.stream.write(text + "\n")
            self.stream.flush()

    def import_line(self, now: float, delivery: str, file: str, records: int, total: int) -> str:
        """The import's progress line: records written of the file's total, and the rate."""
        text = f"{visible(delivery)}: importing {visible(file)}: {records:,} of {total:,} records written"
        if total:
            text += f" ({min(records / total, 1.0):.0%}"
            elapsed = now - self.import_start
            text += f", {records / elapsed:,.0f}/s)" if records and elapsed > 0 else ")"
        return text

    def line(self, now: float, file: str) -> str:
        """The progress line: records, rate, and with a known total the percentage and time left."""
        total = sum(self.done.values())
        elapsed = max(now - self.start, 1e-9)
        rate = total / elapsed
        # Names come from the delivery: no terminal escape of theirs reaches the terminal.
        text = f"{visible(self.delivery)}: {total:,} records read ({rate:,.0f}/s)"
        expected = sum(self.expected.values())
        if expected and file != "done":
            share = min(total / expected, 1.0)
            left = elapsed * (1 - share) / share if share > 0 else None
            text += f", {share:.0%}" + (f", about {_duration(left)} left" if left is not None else "")
        return f"{text} {visible(file)}"

    def _draw(self, now: float, file: str) -> None:
        text = self.line(now, file)
        if self.terminal:
            self.stream.write(f"\r{text:<100}")
        else:
            self.stream.write(text + "\n")
        self.stream.flush()


def _duration(seconds: float) -> str:
    """'42 s', '3 min 05 s', '1 h 02 min'."""
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def progress_plugins(wanted: bool | None, stream) -> tuple:
    """The plugins a command registers for `--progress/--no-progress` (None: only on a terminal)."""
    isatty = getattr(stream, "isatty", None)
    if wanted or (wanted is None and isatty and isatty()):
        return (Progress(stream),)
    return ()
