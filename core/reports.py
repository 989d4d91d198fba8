"""Report formats: functions of a result, written atomically.

A `ReportFormat` is what the `disval_report_formats` hook returns. Reports
never re-run validation; they only read the result they are given.
"""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable


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
    and "quality" (delivery processing).
    """

    name: str
    extension: str
    media_type: str
    render: Callable[[Any, ReportOptions], bytes]
    kinds: tuple[str, ...] = ("validation",)
    binary: bool = False  # True when the output is not text for a terminal
    description: str = ""


def write_atomically(path: Path, data: bytes) -> None:
    """Write `data` to `path` so that a reader sees the old file or the whole new one, never half."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def formats_by_name(pm) -> dict[str, ReportFormat]:
    """Every report format the installed plugins provide, by name."""
    out: dict[str, ReportFormat] = {}
    for group in pm.hook.disval_report_formats():
        for fmt in group or ():
            if fmt.name in out:
                raise ValueError(f"two plugins provide a report format named {fmt.name!r}")
            out[fmt.name] = fmt
    return out
