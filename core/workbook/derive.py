"""The mechanical validations of a GA workbook, as rules; and the table of the numbers left to a person.

A validation is derived only when its text has one of the forms the NZa uses
for a mechanical check and every field it names is in the layout, so that the
rule checks exactly what the text says:

=====  ================================================================  =================================
type   GA text                                                           rule
=====  ================================================================  =================================
V      De totale regellengte komt niet overeen ... (a file's own row)    record length of F is wrong
V      Aantal records in F is ongelijk aan D ... volgens de pakbon       count(F) != D
M      D Naam is niet gevuld                                             D is empty
S      D Naam bevat een voor DIS ongeldige datum (a D field)             D is not a date
S      D Naam bevat geen numerieke waarde (an N field)                   D is not a number
S      D Naam bevat geen geldige waarde / een voor DIS ongeldige         D does not match 'NN' (digit
       waarde                                                            pattern) or D not in ('J', 'N')
                                                                         (a pattern that lists values)
UK     D Naam is niet uniek binnen de aanlevering                        D is not unique
FK     D Naam is niet meegeleverd in F                                   D not in file F
R      D Naam komt niet voor of is niet (meer) geldig in codelijst X     D not in CL_X... at P
       (peildatum P a date field of the same record or the packing slip)
R      D Naam komt niet overeen met de naam van de zipfile               D != zip.<part>
R      D Naam komt niet overeen met E Naam in de pakbon                  D != E
=====  ================================================================  =================================

Everything else goes to the table with the reason: business rules (BR),
omhanging (OH) and pseudonymisation (PVM) checks, the PVM's own checks on the
source data (texts that start with "PVM"), composite keys, codelists that
are external registers, a peildatum in another file, and patterns the
language cannot state. Nothing is emitted that pretends to check something.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from .english import English
from .layout_toml import PACKING_SLIP, foreign_keys
from .sheet import OPEN_BEGIN, OPEN_END, Attribute, GaWorkbook, Validation

DERIVED_TYPES = ("V", "M", "S", "UK", "FK", "R")
# The zip name's parts (disval.core.standard.ZipNaming) that a packing-slip attribute of this name must equal.
ZIP_PARTS = {
    "declarerende instelling": "provider", "instelling volgnr dis": "branch", "creatiedatum": "created",
    "volgnummer": "sequence", "versienummer ga": "ga_version", "zipfilenaam": "name",
}

_LENGTH = re.compile(r"^De totale regellengte komt niet overeen", re.IGNORECASE)
_COUNT = re.compile(r"^Aantal records in (\S+\.txt) is ongelijk aan (\d{4}) .+ volgens de pakbon$", re.IGNORECASE)
_EMPTY = re.compile(r"^(\d{4}) (.+?) is niet gevuld\.?$")
_DATE = re.compile(r"^(\d{4}) (.+?) bevat een voor DIS ongeldige datum$")
_NUMBER = re.compile(r"^(\d{4}) (.+?) bevat geen numerieke waarde$")
_VALUE = re.compile(r"^(\d{4}) (.+?) bevat (?:geen geldige|een voor DIS ongeldige) waarde$")
_UNIQUE = re.compile(r"^(\d{4}) (.+?) is niet uniek binnen de aanlevering\b.*$")
_REFERENCE = re.compile(r"^(\d{4}) (.+?) is niet meegeleverd in (\S+\.txt)$", re.IGNORECASE)
_CODELIST = re.compile(r"^(\d{4}) (.+?) komt niet voor of is niet \(meer\) geldig in (?:de )?codelijst (.+)$")
_REGISTER = re.compile(r"^\d{4} .+? komt niet voor of is niet \(meer\) geldig in (?:het |tabel )(.+)$")
_ZIP = re.compile(r"^(\d{4}) (.+?) komt niet overeen met de naam van de zipfile$")
_SLIP = re.compile(r"^(\d{4}) (.+?) komt niet overeen met (\d{4}) (.+?) in de pakbon$")
_PEILDATUM_FIELD = re.compile(r"^(\d{4}) [^\d].*$")
_DIGIT_PATTERN = re.compile(r"^N[N.\-/:]*$")


@dataclass(frozen=True)
class Derived:
    """A validation written as a rule."""

    validation: Validation
    violation: str  # the rule's left side
    message_en: str
    file: str  # the file it reports on, for grouping
    codelist: str = ""  # the codelist name the GA text cites ("Zorgtype"), for the list of what is untranslated

    def source(self) -> str:
        """The rule as one line of the rule language."""
        v = self.validation
        out = f'{self.violation} => {v.severity} {v.number} {v.type} {_text(v.text)}'
        if v.valid_from != OPEN_BEGIN:
            out += f" from {v.valid_from.isoformat()}"
        if v.valid_until != OPEN_END:
            out += f" until {v.valid_until.isoformat()}"
        return out + f" en {_text(self.message_en)}"


@dataclass(frozen=True)
class Underived:
    """A validation left to a person, and why."""

    validation: Validation
    reason: str


def derive(wb: GaWorkbook, english: English | None = None) -> tuple[list[Derived], list[Underived]]:
    """Split the workbook's validations into rules and the table of what is left, each in number order.

    A rule's English message names its fields and codelists in English where `english` has them.
    """
    english = english or English()
    derived, left = [], []
    keys = {f.name: [a for a in f.attributes if "PK" in a.key.upper()] for f in wb.files}
    references = foreign_keys(wb)
    for number in sorted(wb.validations, key=int):
        v = wb.validations[number]
        out = _derive_one(wb, v, keys, references, english)
        if isinstance(out, Derived):
            derived.append(out)
        else:
            left.append(Underived(v, out))
    return derived, left


def _derive_one(wb: GaWorkbook, v: Validation, keys, references, english: English) -> Derived | str:
    if v.type not in DERIVED_TYPES:
        return {"BR": "business rule: written by hand", "OH": "omhanging: needs the delivery store",
                "PVM": "pseudonymisation check (type PVM): written by hand"}.get(v.type, f"type {v.type}")
    if v.text.upper().startswith("PVM "):
        return "a check the PVM makes on the source data before pseudonymising, not a field of the delivery"
    if v.type == "V":
        return _volume(wb, v, english)
    m = re.match(r"(\d{4}) ", v.text)
    a = wb.attribute(m.group(1)) if m else None
    if a is None:
        return "the text does not start with a delivered attribute"
    label = f"{a.ddid} {english.name(a.ddid, a.name)}"
    file = wb.file_of(a.ddid).name
    if v.type == "M":
        if _EMPTY.match(v.text):
            return Derived(v, f"{a.ddid} is empty", f"{label} is empty", file)
        return "not of the form 'D Naam is niet gevuld'"
    if v.type == "S":
        return _structure(v, a, label, file)
    if v.type == "UK":
        if "+" in v.text:
            return "unique over a composite key: the language checks one field"
        if _UNIQUE.match(v.text):
            return Derived(v, f"{a.ddid} is not unique", f"{label} is not unique within the delivery", file)
        return "not of the form 'D Naam is niet uniek binnen de aanlevering'"
    if v.type == "FK":
        m = _REFERENCE.match(v.text)
        if not m:
            return "not of the form 'D Naam is niet meegeleverd in F'"
        target = m.group(3)
        if len(keys.get(_file_name(wb, target), ())) != 1:
            return f"{target} has a composite key: a reference to it needs a composite lookup"
        return Derived(v, f"{a.ddid} not in file {_file_name(wb, target)}", f"{label} is not included in {target}", file)
    return _referential(wb, v, a, label, file, english)


def _volume(wb: GaWorkbook, v: Validation, english: English) -> Derived | str:
    if _LENGTH.match(v.text) and not v.ddid and v.file:
        return Derived(v, f"record length of {v.file} is wrong",
                       "The total line length does not match the GA version the delivery was made under", v.file)
    m = _COUNT.match(v.text)
    if m and wb.attribute(m.group(2)) is not None:
        file, ddid = _file_name(wb, m.group(1)), m.group(2)
        name = english.name(ddid, wb.attribute(ddid).name)
        return Derived(v, f"count({file}) != {ddid}",
                       f"The number of records in {file} differs from {ddid} {name} in the packing slip", file)
    return "not a record length or record count check"


def _structure(v: Validation, a: Attribute, label: str, file: str) -> Derived | str:
    if _DATE.match(v.text):
        if a.type != "D":
            return f"a date check on {a.type} field {a.ddid} with pattern {a.pattern or '(none)'}"
        return Derived(v, f"{a.ddid} is not a date", f"{label} contains a date that is invalid for DIS", file)
    if _NUMBER.match(v.text):
        if a.type != "N":
            return f"a number check on {a.type} field {a.ddid}"
        return Derived(v, f"{a.ddid} is not a number", f"{label} does not contain a numeric value", file)
    if not _VALUE.match(v.text):
        return "not of a structure form the importer knows"
    pattern = a.pattern
    if _DIGIT_PATTERN.match(pattern) and len(pattern) <= a.end - a.begin + 1:
        return Derived(v, f"{a.ddid} does not match '{pattern}'", f"{label} does not contain a valid value", file)
    values = _listed_values(pattern)
    if values:
        listed = ", ".join(f"'{x}'" for x in values)
        return Derived(v, f"{a.ddid} not in ({listed})", f"{label} does not contain a valid value", file)
    return f"pattern {pattern!r} of {a.ddid} has no form in the rule language" if pattern else \
        f"{a.ddid} has no pattern or value list to check against"


def _listed_values(pattern: str) -> tuple[str, ...]:
    """"'J' of 'N' of [spatie]" -> ('J', 'N'); "[spatie] of 'V'" -> ('V',); anything else -> ().

    A blank field is never checked against a list (the M rules judge blanks), so [spatie] needs no entry.
    """
    parts = [p.strip() for p in re.split(r",|\bof\b", pattern) if p.strip()]
    values = []
    for p in parts:
        if p.lower() == "[spatie]":
            continue
        m = re.fullmatch(r"'([^']+)'", p)
        if not m:
            return ()
        values.append(m.group(1))
    return tuple(values)


def _referential(wb: GaWorkbook, v: Validation, a: Attribute, label: str, file: str,
                 english: English) -> Derived | str:
    m = _ZIP.match(v.text)
    if m:
        part = ZIP_PARTS.get(a.name.lower())
        if part is None or file.lower() != PACKING_SLIP.lower():
            return f"no zip name part is known for {label}"
        return Derived(v, f"{a.ddid} != zip.{part}", f"{label} does not match the name of the zip file", file)
    m = _SLIP.match(v.text)
    if m:
        other = wb.attribute(m.group(3))
        if other is None or wb.file_of(other.ddid).name.lower() != PACKING_SLIP.lower():
            return f"{m.group(3)} is not an attribute of the packing slip"
        other_label = f"{other.ddid} {english.name(other.ddid, other.name)}"
        return Derived(v, f"{a.ddid} != {other.ddid}", f"{label} does not match {other_label} in the packing slip",
                       file)
    if "klantensysteem" in v.text:
        return "the NZa's customer registry (klantensysteem): needs the delivery store"
    m = _REGISTER.match(v.text)
    if m:
        return f"an external register or table ({m.group(1)}), not a codelist the standard reads"
    if "+" in v.text.split(" komt ")[0]:
        return "a codelist lookup by several fields"
    m = _CODELIST.match(v.text)
    if not m:
        return "not a codelist, zip name or packing slip check: written by hand"
    listed = m.group(3)
    if re.search(r"\bterwijl\b|\ben\b|\bbij\b", listed):
        return "a codelist check under a condition: written by hand"
    wanted = "CL_" + re.sub(r"[^A-Z0-9]+", "_", listed.upper()).strip("_")
    codelists = re.findall(r"\bCL_[A-Z0-9_]+", a.codetable)
    if not any(c == wanted or c.startswith(wanted + "_") for c in codelists):
        return f"codelist {listed!r} is not one of {a.ddid}'s code tables ({a.codetable or 'none'}): an external register"
    peil = _PEILDATUM_FIELD.match(v.peildatum)
    if not peil or " of " in v.peildatum or len(v.peildatum.split()) > 1 + len(_peil_name(wb, v.peildatum).split()):
        return f"peildatum {v.peildatum!r} is not one date field"
    at = wb.attribute(v.peildatum.split()[0])
    if at is None or at.type != "D":
        return f"peildatum {v.peildatum!r} is not a date attribute of the GA"
    at_file = wb.file_of(at.ddid).name
    if at_file != file and at_file.lower() != PACKING_SLIP.lower():
        return f"peildatum {at.ddid} {at.name} is in {at_file}: a field of the parent record"
    return Derived(v, f"{a.ddid} not in {' or '.join(codelists)} at {at.ddid}",
                   f"{label} does not occur in, or is no longer valid in, the {english.codelist(listed)} codelist",
                   file, codelist=listed)


def _peil_name(wb: GaWorkbook, peildatum: str) -> str:
    a = wb.attribute(peildatum.split()[0])
    return a.name if a else ""


def _file_name(wb: GaWorkbook, name: str) -> str:
    return next((f.name for f in wb.files if f.name.lower() == name.lower()), name)


def _text(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


# ---------------------------------------------------------------- writing


def render_rules(wb: GaWorkbook, derived: list[Derived], header: str) -> str:
    """The rules file: a header, then per file (in layout order) its rules, by type and number."""
    order = {f.name: i for i, f in enumerate(wb.files)}
    type_order = {t: i for i, t in enumerate(DERIVED_TYPES)}
    lines = [f"# {line}".rstrip() for line in header.splitlines()]
    for name in sorted({d.file for d in derived}, key=lambda n: order.get(n, len(order))):
        lines += ["", f"# {'-' * 64} {name}", ""]
        group = sorted((d for d in derived if d.file == name),
                       key=lambda d: (type_order[d.validation.type], int(d.validation.number)))
        lines += [d.source() for d in group]
    return "\n".join(lines) + "\n"


def render_underived(left: list[Underived], title: str) -> str:
    """The table of numbers left to write by hand, as Markdown."""
    lines = [f"# {title}: validations `disval ga import` did not derive", "",
             f"{len(left)} numbers, to be written by hand (or declared with the reason they cannot be checked).", "",
             "| number | type | severity | file | GA text | peildatum | why not derived |",
             "|---|---|---|---|---|---|---|"]
    for u in left:
        v = u.validation
        cells = [v.number, v.type, v.severity, v.file, v.text, v.peildatum, u.reason]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n"


def render_hand_header(left: list[Underived], title: str, rules_name: str) -> str:
    """The comment header of a new hand-written rules file: which numbers it must define."""
    lines = [f"# {title}: hand-written rules.", "#",
             f"# {rules_name}.rules holds every validation `disval ga import` derived; this file holds the",
             "# rest, each live or declared with its reason, and each with its English (en \"...\"; a",
             "# not-applicable reason also as not-applicable en \"...\"). The importer could not derive these numbers:",
             "#"]
    by_type: dict[str, list[str]] = {}
    for u in left:
        by_type.setdefault(u.validation.type, []).append(u.validation.number)
    for typ, numbers in sorted(by_type.items()):
        row = f"#   {typ:<3} ({len(numbers)}):"
        for n in numbers:
            if len(row) + len(n) + 1 > 100:
                lines.append(row)
                row = "#            "
            row += f" {n}"
        lines.append(row)
    return "\n".join(lines) + "\n"


