"""The reports processing keeps with a delivery: rendered in the requested formats, kept by content hash.

`Reports` renders each report (validation, import, quality) in every format
the delivery's request named and keeps it in the store; `write_stored_reports`
writes kept reports out (`disval submit --output-dir`, `disval report`).
"""
from __future__ import annotations

from pathlib import Path

from ..reports import ReportOptions, default_stem, formats_by_name, report_kind, write_atomically
from ..store.delivery_store import DeliveryStore
from ..workdir import NAME_MAX, fitting_name
from .receiving import DEFAULT_FORMATS, DEFAULT_MAX_EXAMPLES


class Reports:
    """Renders reports in the requested formats and keeps each in the store, by content hash."""

    def __init__(self, store: DeliveryStore, pm, request: dict):
        self.store = store
        available = formats_by_name(pm)  # a format the submitter had but this process lacks is left out
        self.formats = [available[f] for f in request.get("formats") or DEFAULT_FORMATS if f in available]
        self.options = ReportOptions(max_examples=request.get("max_examples", DEFAULT_MAX_EXAMPLES))
        self.kept: dict[str, str] = {}

    def add(self, report) -> None:
        """Render `report` in every requested format that writes its kind, and keep it."""
        kind, stem = report_kind(report), default_stem(report)
        for fmt in self.formats:
            if kind in fmt.kinds:
                self.kept[f"{stem}.{fmt.extension}"] = self.store.put_blob(fmt.render(report, self.options))


def write_stored_reports(store: DeliveryStore, reports: dict[str, str], output_dir: Path) -> list[Path]:
    """Write the kept reports (file name -> sha256) into `output_dir`; return the paths.

    A name too long for the file system (a zip named so) is shortened in the middle, with room
    for the temporary name it is written under first.
    """
    paths = []
    for name, sha256 in reports.items():
        path = Path(output_dir) / fitting_name(name, NAME_MAX - 24)
        write_atomically(path, store.read_blob(sha256))
        paths.append(path)
    return paths
