"""What of a delivery must never leave the receiving side in a mail: its records' values.

`private_values(zip_path)` reads the delivery's member files with the
standard's layout and returns (identifying values, other record values): every
value of an identifying field (a koppelnummer, ...) and every other field
value long enough to be recognisable. A test asserts that none of them occurs
in what it checks. Values that are also part of the zip's own name (its AGB
code, its creation date) are left out: the name may be shown.
"""
from __future__ import annotations

import zipfile
from pathlib import Path

from disval.core.pipeline import choose_standard
from disval.core.plugins import get_plugin_manager

MIN_LENGTH = 4  # shorter values ("1", "00", "V") occur in any text by chance


def private_values(zip_path: Path) -> tuple[set[str], set[str]]:
    """(values of identifying fields, other values of at least MIN_LENGTH characters) in the records."""
    std = choose_standard(get_plugin_manager(load_entry_points=False), zip_path.name)
    identifying, other = set(), set()
    with zipfile.ZipFile(zip_path) as z:
        for layout in std.layout.files:
            if layout.packing_slip or layout.name not in z.namelist():
                continue
            text = z.read(layout.name).decode("iso-8859-1")
            for line in text.splitlines():
                for f in layout.fields:
                    value = line[f.start:f.end].strip()
                    if not value:
                        continue
                    if f.identifying or f.ddid in std.identifying:
                        identifying.add(value)
                    elif len(value) >= MIN_LENGTH and value not in zip_path.name:
                        other.add(value)
    assert identifying, f"{zip_path.name}: no identifying values found; the check would prove nothing"
    return identifying, other


def leaked(text: str, zip_path: Path) -> list[str]:
    """The delivery's record values that occur in `text` (identifying ones first); [] when none do."""
    identifying, other = private_values(zip_path)
    return sorted(v for v in identifying if v in text) + sorted(v for v in other if v in text)
