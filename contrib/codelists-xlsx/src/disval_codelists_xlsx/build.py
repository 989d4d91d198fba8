"""Build an NZa-style codelist workbook from a directory of NZa codelist text files.

    python -m disval_codelists_xlsx.build plugins/ga_ohw_gbg/codelists /tmp
    -> /tmp/20180101 codelijsten.xlsx

One sheet per list, holding the text file's header and rows cell for cell:
dates and `selecteerbaar` as numbers (as a spreadsheet would hold them),
everything else as text, so that codes such as '001' keep their zeros. Of
each list the newest release dated on or before `--on` is taken (default:
the newest); the workbook is named after the newest release it holds.
"""
from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

from disval.plugins.codelists_dir import DirectoryCodelistProvider, lines_of

_NUMERIC = ("begindatum", "einddatum", "selecteerbaar")


def build_workbook(directory, target, on: dt.date | None = None, specs=None) -> Path:
    """Write the workbook; `target` is a directory (the workbook gets its dated name there) or an .xlsx path.

    `specs` (a standard's codelist declarations) lets lists whose headers imply no name be read.
    """
    import openpyxl

    chosen = {}
    for release in DirectoryCodelistProvider(Path(directory), specs).releases():  # by name, then release date
        if on is None or release.release <= on:
            chosen[release.name] = release
    if not chosen:
        raise ValueError(f"{directory}: no codelist files" + (f" dated on or before {on}" if on else ""))
    target = Path(target)
    if target.suffix.lower() != ".xlsx":
        newest = max(r.release for r in chosen.values())
        target = target / f"{newest:%Y%m%d} codelijsten.xlsx"
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, release in sorted(chosen.items()):
        sheet = book.create_sheet(name.lower()[:31])  # Excel's limit on a sheet title
        lines = lines_of(release.path.read_bytes())  # not splitlines(): 0x85 is no line end
        header = lines[0].lstrip("\u00ef\u00bb\u00bf").split("|")
        numeric = [h.strip().lower().endswith(_NUMERIC) for h in header]
        sheet.append(header)
        for line in lines[1:]:
            if line.strip():
                sheet.append([int(v) if i < len(numeric) and numeric[i] and v.strip().isdigit() else v
                              for i, v in enumerate(line.split("|"))])
    target.parent.mkdir(parents=True, exist_ok=True)
    book.save(target)
    return target


def main(argv: list[str] | None = None) -> int:
    """Command line: build_workbook(DIR, TARGET, --on)."""
    p = argparse.ArgumentParser(prog="python -m disval_codelists_xlsx.build", description=__doc__.splitlines()[0])
    p.add_argument("directory", type=Path, help="a directory of NZa codelist text files")
    p.add_argument("target", type=Path, help="a directory, or the .xlsx file to write")
    p.add_argument("--on", type=dt.date.fromisoformat, help="take the releases in force on this date (YYYY-MM-DD)")
    args = p.parse_args(argv)
    try:
        print(build_workbook(args.directory, args.target, args.on))
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
