"""A standard's English texts, kept beside the files `disval ga import` regenerates.

The NZa workbook is Dutch only. A standard's English field names and codelist
names live in a small TOML file (`english.toml`) that the import merges into
what it writes, so that regenerating the layout and the derived rules never
loses them:

    [names]             # DDID = the attribute's name in English
    1430 = "Invoicing institution"

    [codelists]         # the codelist name a GA text cites = its English name
    "Zorgtype" = "Care type"

Whatever the workbook holds that the file does not translate is listed by
`untranslated`: the import prints it and notes it in the layout, so a new GA
version's new attributes show up as work to do, not as Dutch in an English report.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

try:
    import tomllib  # novermin (3.10 takes the fallback below)
except ImportError:  # Python 3.10: the same parser, published as tomli
    import tomli as tomllib

from ..language.parser import RuleError, parse_rules
from .sheet import GaWorkbook, WorkbookError

ENGLISH_FILE = "english.toml"


@dataclass(frozen=True)
class English:
    """A standard's English names: of attributes (by DDID) and of the codelists its texts cite."""

    names: dict[str, str] = field(default_factory=dict)
    codelists: dict[str, str] = field(default_factory=dict)
    source: str = ""  # the file read, for messages; "" when there is none

    def name(self, ddid: str, dutch: str) -> str:
        """The attribute's English name, or its Dutch name when there is none (listed by `untranslated`)."""
        return self.names.get(ddid) or dutch

    def codelist(self, dutch: str) -> str:
        """The cited codelist's English name, or the Dutch one when there is none (listed by `untranslated`)."""
        return self.codelists.get(dutch) or dutch


def read_english(path: Path | None) -> English:
    """Read an english.toml; no path, or a path that does not exist, gives an empty translation.

    A file that is not TOML, or whose tables are not of strings, is a WorkbookError naming the file.
    """
    if path is None or not Path(path).is_file():
        return English()
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise WorkbookError(f"{path}: not a readable TOML file: {exc}") from None
    tables = {}
    for table in ("names", "codelists"):
        raw = data.get(table, {})
        if not isinstance(raw, dict) or not all(isinstance(v, str) and v.strip() for v in raw.values()):
            raise WorkbookError(f"{path}: [{table}] must map each key to a non-empty English text")
        tables[table] = {str(k): v.strip() for k, v in raw.items()}
    return English(tables["names"], tables["codelists"], str(path))


def untranslated(wb: GaWorkbook, english: English, cited_codelists: set[str]) -> list[str]:
    """What the workbook names that `english` does not translate: "DDID Dutch name" and "codelist X"."""
    out = [f"{a.ddid} {a.name}" for f in wb.files for a in f.attributes if a.ddid not in english.names]
    out += [f"codelist {c}" for c in sorted(cited_codelists) if c not in english.codelists]
    return out


def untranslated_rules(path: Path) -> list[str]:
    """The rules of a hand-written rules file that lack English: "NUMBER message" or "NUMBER not-applicable".

    A file that does not parse gives no list: compiling the standard reports its errors with their place.
    """
    try:
        rules = parse_rules(Path(path).read_text(encoding="utf-8"), str(path))
    except (OSError, UnicodeDecodeError, RuleError):
        return []
    out = [f"rule {r.number} message" for r in rules if r.message and not r.message_en]
    out += [f"rule {r.number} not-applicable" for r in rules if r.not_applicable and not r.not_applicable_en]
    out += [f"rule {r.number} hint" for r in rules if r.hint and not r.hint_en]
    return out
