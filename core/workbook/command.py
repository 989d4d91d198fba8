"""`disval ga import WORKBOOK --out DIR`: a standard's layout and mechanical rules from an NZa GA workbook."""
from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from tabulate import tabulate

from .derive import Derived, Underived, derive, render_hand_header, render_rules, render_underived
from .english import ENGLISH_FILE, read_english, untranslated, untranslated_rules
from .layout_toml import LayoutNote, layout_data, render_layout
from .sheet import GaWorkbook, WorkbookError, read_workbook

LAYOUT_FILE = "layout.toml"
UNDERIVED_FILE = "underived.md"


@dataclass
class ImportResult:
    """What `import_workbook` wrote, and what it could not derive."""

    workbook: GaWorkbook
    name: str  # the rules file's stem, e.g. ga_dbc_ggz_9_0
    written: list[Path] = field(default_factory=list)
    notes: list[LayoutNote] = field(default_factory=list)
    derived: list[Derived] = field(default_factory=list)
    underived: list[Underived] = field(default_factory=list)
    english: Path | None = None  # the english.toml read, None when there was none
    # Without English: "DDID Dutch name", "codelist X", and "NAME_hand.rules: rule N message" (or not-applicable)
    untranslated: list[str] = field(default_factory=list)


def standard_name(workbook: Path) -> str:
    """A file-name stem for the standard: 'GA DBC-GGZ 9.0v1.0.xlsx' -> 'ga_dbc_ggz_9_0'."""
    m = re.match(r"GA\s+(.+?)\s*(\d+)\.(\d+)", Path(workbook).stem, re.IGNORECASE)
    if not m:
        return re.sub(r"[^a-z0-9]+", "_", Path(workbook).stem.lower()).strip("_") or "standard"
    words = re.sub(r"[^a-z0-9]+", "_", m.group(1).lower()).strip("_")
    return f"ga_{words}_{m.group(2)}_{m.group(3)}"


def import_workbook(workbook: Path, out: Path, name: str | None = None, english: Path | None = None) -> ImportResult:
    """Read `workbook` and write into `out`: layout.toml, NAME.rules, underived.md, and NAME_hand.rules if absent.

    The hand-written rules file is only created (with a header listing the numbers it must define),
    never overwritten: it holds a person's work. The English names come from `english` (default
    `out`/english.toml, if it exists); what it does not translate is listed in `untranslated`.
    """
    wb = read_workbook(workbook)
    name = name or standard_name(workbook)
    out = Path(out)
    english_path = Path(english) if english is not None else out / ENGLISH_FILE
    if english is not None and not english_path.is_file():
        raise WorkbookError(f"{english_path}: no such file")
    translation = read_english(english_path)
    result = ImportResult(wb, name, english=english_path if translation.source else None)
    data, result.notes = layout_data(wb, translation)
    out.mkdir(parents=True, exist_ok=True)
    header = (f"{_title(workbook)}: every file and attribute, imported by `disval ga import` from the NZa's\n"
              f"machine-readable workbook {Path(workbook).name}. Regenerate it; do not edit it by hand.")
    title = _title(workbook)
    _write(result, out / LAYOUT_FILE, render_layout(data, result.notes, header))
    result.derived, result.underived = derive(wb, translation)
    result.untranslated = untranslated(wb, translation, {d.codelist for d in result.derived if d.codelist})
    rules_header = (f"{title}: every validation the NZa workbook {Path(workbook).name} makes mechanical,\n"
                    f"written by `disval ga import`. Regenerate it; do not edit it by hand: the numbers it could not\n"
                    f"derive are in {UNDERIVED_FILE} and belong in {name}_hand.rules.")
    _write(result, out / f"{name}.rules", render_rules(wb, result.derived, rules_header))
    _write(result, out / UNDERIVED_FILE, render_underived(result.underived, title))
    hand = out / f"{name}_hand.rules"
    if not hand.exists():
        _write(result, hand, render_hand_header(result.underived, title, name))
    result.untranslated += [f"{hand.name}: {text}" for text in untranslated_rules(hand)]
    return result


def _write(result: ImportResult, path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
    result.written.append(path)


def _by_type(validations) -> str:
    counts: dict[str, int] = {}
    for v in validations:
        counts[v.type] = counts.get(v.type, 0) + 1
    return ", ".join(f"{t} {n}" for t, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def _short(text: str, width: int = 70) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _title(workbook: Path) -> str:
    m = re.match(r"(GA\s+.+?\s*\d+\.\d+)", Path(workbook).stem, re.IGNORECASE)
    return m.group(1) if m else Path(workbook).stem


# ---------------------------------------------------------------- command line


def add_ga_commands(subparsers) -> argparse.ArgumentParser:
    """Register `disval ga import` on an argparse subparsers object."""
    ga = subparsers.add_parser("ga", help="work with NZa GA publications (import a machine-readable workbook)")
    sub = ga.add_subparsers(title="ga commands", metavar="COMMAND")
    imp = sub.add_parser(
        "import", help="write a standard's layout, mechanical rules and the table of what is left from a GA workbook",
        description="Read an NZa machine-readable GA workbook (xlsx) and write, into --out: layout.toml (every "
                    "file and attribute), NAME.rules (every validation the workbook makes mechanical) and "
                    "underived.md (every validation number left to write by hand, with its GA text). Field and "
                    f"codelist names in English come from DIR/{ENGLISH_FILE} (or --english FILE); what it lacks "
                    "is listed.",
    )
    imp.add_argument("workbook", type=Path, help="the NZa GA workbook (.xlsx)")
    imp.add_argument("--out", type=Path, required=True, metavar="DIR", help="directory to write into")
    imp.add_argument("--english", type=Path, metavar="FILE",
                     help=f"the standard's English names (default DIR/{ENGLISH_FILE}, if it exists)")
    imp.add_argument("--name", metavar="NAME", help="stem of the rules file (default from the workbook's name, "
                                                    "e.g. ga_dbc_ggz_9_0)")
    imp.set_defaults(func=_run_import)
    ga.set_defaults(func=lambda args: (ga.print_help(), 2)[1])
    return imp


def _run_import(args) -> int:
    if not args.workbook.is_file():
        print(f"disval ga import: error: {args.workbook}: no such file", file=sys.stderr)
        return 2
    try:
        result = import_workbook(args.workbook, args.out, args.name, args.english)
    except WorkbookError as exc:
        print(f"disval ga import: error: {exc}", file=sys.stderr)
        return 2
    wb = result.workbook
    print(f"{wb.source}: {len(wb.files)} files, {sum(len(f.attributes) for f in wb.files)} attributes, "
          f"{len(wb.validations)} validation numbers")
    for note in result.notes:
        print(f"  note {note.ddid}: {note.text}")
    print(f"derived {len(result.derived)} rules ({_by_type(v.validation for v in result.derived)}); "
          f"{len(result.underived)} numbers left to write by hand ({_by_type(u.validation for u in result.underived)}):")
    print(tabulate([[u.validation.number, u.validation.type, u.validation.severity, _short(u.validation.text),
                     _short(u.reason, 60)] for u in result.underived],
                   headers=["number", "type", "sev", "GA text", "why not derived"]))
    _print_untranslated(result)
    for path in result.written:
        print(f"wrote {path}")
    return 0


def _print_untranslated(result: ImportResult) -> None:
    """Say which names stay Dutch under --lang en, so that a new GA version's new texts are work to do."""
    source = result.english or f"{ENGLISH_FILE} (none found)"
    if not result.untranslated:
        print(f"English: every name translated by {source}, every hand-written rule has its English")
        return
    print(f"English: {len(result.untranslated)} texts without English (names belong in {source}, a rule's in "
          f"its rules file); reports in English show them in Dutch until they are added:")
    for text in result.untranslated:
        print(f"  {text}")
