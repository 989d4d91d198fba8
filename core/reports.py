"""Report formats: functions of a result, written atomically.

A `ReportFormat` is what the `disval_report_formats` hook returns. Reports
never re-run validation; they only read the result they are given.

Every format shows the same content, decided once in `report_view.py`.
"""
from __future__ import annotations

import io
import os
import stat
import sys
import tempfile
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Callable, Iterator

from .findings import ValidationResult
from .plugins import by_name
from .gate.processing_reports import ImportReport, QualityReport


@dataclass(frozen=True)
class ReportOptions:
    """What the user asked of a report."""

    lang: str = "nl"  # nl | en
    show_identifiers: bool = False
    max_examples: int | None = None  # per rule, in the listing; counts are never capped


@dataclass(frozen=True)
class ReportFormat:
    """A named way of writing a report.

    `render(report, options)` returns the whole report as bytes. `kinds` says
    which reports it can write: "validation" (a ValidationResult), "import"
    and "quality" (delivery processing). `write(report, options, out)`, when
    given, writes the same bytes to the binary file `out` as it goes: disval
    then streams the report to its file, so that a report of millions of
    findings is never in memory whole (see `render_to`).
    """

    name: str
    extension: str
    media_type: str
    render: Callable[[Any, ReportOptions], bytes]
    kinds: tuple[str, ...] = ("validation",)
    binary: bool = False  # True when the output is not text for a terminal
    description: str = ""
    write: Callable[[Any, ReportOptions, BinaryIO], None] | None = None


def render_to(fmt: ReportFormat, report: Any, options: ReportOptions, out: BinaryIO) -> None:
    """Write `report` in `fmt` to the binary file `out`: streamed when the format can, else rendered whole."""
    if fmt.write is not None:
        fmt.write(report, options, out)
        return
    data = fmt.render(report, options)
    if not isinstance(data, bytes):
        raise TypeError(f"report format {fmt.name!r} returned {type(data).__name__}, not bytes")
    out.write(data)


def streamed(write: Callable[[Any, ReportOptions, BinaryIO], None]) -> Callable[[Any, ReportOptions], bytes]:
    """A format's `render` made from its `write`: the same bytes, in memory."""
    def render(report: Any, options: ReportOptions) -> bytes:
        out = io.BytesIO()
        write(report, options, out)
        return out.getvalue()

    render.__doc__ = f"The report as bytes, as `{write.__module__}.{write.__name__}` writes it."
    return render


def write_atomically(path: Path, data: bytes) -> None:
    """Write `data` to `path` so that a reader sees the old file or the whole new one, never half."""
    with atomic_file(path) as out:
        out.write(data)


@contextmanager
def atomic_file(path: Path) -> Iterator[BinaryIO]:
    """A temporary file beside `path` to write; when the block ends it replaces `path` (a reader sees the
    old file or the whole new one, never half). If the block fails the temporary file is removed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        # mkstemp creates the file readable by its owner only; a report gets the usual permissions.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def write_output(path: Path | str, data: bytes) -> None:
    """Write a report where the user pointed `-o` (see `output_file`)."""
    with output_file(path) as out:
        out.write(data)


@contextmanager
def output_file(path: Path | str) -> Iterator[BinaryIO]:
    """Where the user pointed `-o`, to write: atomically onto a regular file or a new path, directly otherwise.

    `-` is standard output. A device (`/dev/null`, a terminal), a named pipe or a
    socket is opened and written: renaming a temporary file over it, as an atomic
    write does, would replace the device with a plain file. A symbolic link to a
    regular file is kept, and the file it points to replaced.
    """
    if str(path) == "-":
        yield sys.stdout.buffer
        sys.stdout.flush()
        return
    path = Path(path)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        mode = None
    if mode is None:
        with atomic_file(path) as out:
            yield out
    elif stat.S_ISREG(mode):
        with atomic_file(Path(os.path.realpath(path))) as out:
            yield out
    elif stat.S_ISDIR(mode):
        raise IsADirectoryError(f"{path} is a directory; give a file name, or use --output-dir")
    else:
        with open(path, "wb") as out:
            yield out


def format_for_output(requested: str | None, output: Path | str | None, available: dict[str, ReportFormat],
                      default: str = "text") -> str:
    """The report format to write: the one asked for, else the one `output`'s name ends with, else `default`.

    A name whose suffix no format writes (`-o report.pdf`) is refused rather than filled with text.
    """
    if requested:
        return requested
    if output is None or str(output) == "-":
        return default
    name = Path(output).name.lower()
    if "." not in name.lstrip("."):
        return default  # no suffix: /dev/null, a pipe, a plain name
    matches = [f for f in available.values() if name.endswith("." + f.extension.lower())]
    if matches:  # the longest extension wins: junit.xml over a plain xml
        return max(matches, key=lambda f: len(f.extension)).name
    last = name.rsplit(".", 1)[1]
    matches = [f for f in available.values() if f.extension.lower().rsplit(".", 1)[-1] == last]
    if len(matches) == 1:  # report.xml: only junit.xml ends in .xml
        return matches[0].name
    known = ", ".join(sorted(f".{f.extension} ({f.name})" for f in available.values()))
    raise ValueError(f"cannot tell the report format from the name {Path(output).name!r}: give --format, "
                     f"or a name ending in one of {known}")


def formats_by_name(pm) -> dict[str, ReportFormat]:
    """Every report format the installed plugins provide, by name."""
    return by_name(pm.hook.disval_report_formats(), "a report format named")


# ---------------------------------------------------------------- writing several formats at once


def report_kind(report: Any) -> str:
    """Which kind of report a value is: "validation", "quality" or "import"."""
    if isinstance(report, ImportReport):
        return "import"
    if isinstance(report, QualityReport):
        return "quality"
    if isinstance(report, ValidationResult):
        return "validation"
    raise TypeError(f"not a report: {type(report).__name__}")


def default_stem(report: Any) -> str:
    """The file name (without extension) a report gets when the caller names none."""
    kind = report_kind(report)
    delivery = report.result.delivery if kind == "quality" else report.delivery
    stem = Path(delivery).name.removesuffix(".zip") or "delivery"
    return stem if kind == "validation" else f"{stem}.{kind}"


def write_reports(
    report: Any,
    formats: list[str],
    output_dir: Path,
    options: ReportOptions = ReportOptions(),
    pm=None,
    stem: str | None = None,
) -> list[Path]:
    """Write `report` in each named format to `output_dir/<stem>.<extension>`; return the paths.

    Every format is rendered before anything is written, so a format that
    fails leaves no file of this run behind; each file is then written
    atomically. Unknown formats, formats that cannot write this kind of
    report and two formats sharing an extension are refused up front.
    """
    if pm is None:
        from .plugins import get_plugin_manager

        pm = get_plugin_manager()
    available = formats_by_name(pm)
    kind = report_kind(report)
    chosen: list[ReportFormat] = []
    for name in dict.fromkeys(formats):  # keep the order, drop repeats
        fmt = available.get(name)
        if fmt is None:
            raise ValueError(f"unknown report format {name!r}; available: {', '.join(sorted(available))}")
        if kind not in fmt.kinds:
            raise ValueError(f"report format {name!r} cannot write {kind} reports")
        chosen.append(fmt)
    stem = stem or default_stem(report)
    paths = [Path(output_dir) / f"{stem}.{fmt.extension}" for fmt in chosen]
    if len(set(paths)) != len(paths):
        raise ValueError("two of the chosen report formats would write the same file: " + ", ".join(map(str, paths)))
    # Every format is written to a temporary file first, and only when all succeeded do they replace
    # the reports: a format that fails leaves no file of this run behind.
    with ExitStack() as stack:
        done = []
        for fmt, path in zip(chosen, paths):
            tmp = stack.enter_context(_pending_file(path))
            render_to(fmt, report, options, tmp.file)
            done.append(tmp)
        for tmp in done:
            tmp.finish()
    return paths


class _Pending:
    def __init__(self, path: Path, tmp: str, file: BinaryIO):
        self.path, self.tmp, self.file, self.finished = path, tmp, file, False

    def finish(self) -> None:
        self.file.flush()
        os.fsync(self.file.fileno())
        self.file.close()
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(self.tmp, 0o666 & ~umask)
        os.replace(self.tmp, self.path)
        self.finished = True


@contextmanager
def _pending_file(path: Path) -> Iterator[_Pending]:
    """A temporary file beside `path`, renamed onto it by `finish()`, removed if that never happens."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    pending = _Pending(path, tmp, os.fdopen(fd, "wb"))
    try:
        yield pending
    finally:
        if not pending.finished:
            pending.file.close()
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass


def emit(fmt: ReportFormat, report: Any, options: ReportOptions, output: Path | None = None) -> None:
    """Write one report to `output` (see `output_file`), or to stdout when it is text; streamed when the
    format can (see `render_to`)."""
    if not output and fmt.binary:
        raise ValueError(f"the {fmt.name} format is binary; write it with -o FILE")
    with output_file(output or "-") as out:
        render_to(fmt, report, options, out)
