"""Findings and the validation result: plain values that reports are functions of.

Counts are never capped; only the listed examples are (per rule), and the
result says how many were left out.
"""
from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Callable, Iterable, Sequence

from .standard import BlockingPolicy

if TYPE_CHECKING:
    from .finding_store import FindingList

# Stable ids for the zip-level validations the GA lists without a number (§6.2.2),
# and for the reader's own findings. Documented in the README; never renumbered.
ZIP_LEVEL = {
    "ZIP-NAME": "De zipfile is aangeleverd maar voldoet niet aan de standaard naamgeving, "
    "of de combinatie aanleversoort, dataset en GA versienummer is ongeldig",
    "ZIP-UNREADABLE": "Bestand niet herleidbaar: het is geen (leesbare) zipfile",
    "ZIP-EMPTY": "De zipfile is leeg aangeleverd",
    "ZIP-ENCRYPTED": "Een bestand in de zipfile is versleuteld en kan niet gelezen worden",
    "ZIP-PATH": "Een bestand in de zipfile staat in een map of heeft een ongeldige naam",
    "ZIP-BOMB": "De zipfile pakt uit tot meer dan toegestaan (mogelijk een zip bomb)",
    "ZIP-DUPLICATE": "De zipfile is ontvangen maar wordt niet verwerkt, omdat deze al eerder is aangeleverd",
    "ZIP-CUSTOMER-UNKNOWN": "Klant onbekend",
    "ZIP-CUSTOMER-INACTIVE": "Klant is niet meer actief",
    "ZIP-ORDER": "Ongeldige combinatie van datum en volgnummer",
    "ZIP-CONTRACT": "De zipfile kan niet verwerkt worden omdat dit bestand niet valt binnen de geldigheid "
    "van een contract, ofwel er moet op een contract voor een hogere versie GA worden aangeleverd",
    "ZIP-DISCARDED": "De zipfile is niet verwerkt omdat een eerder aangeleverd bestand bij ontvangst is afgewezen",
    "REC-EOL": "Regel is niet afgesloten met CR/LF",
    "REC-CHARSET": "Regel bevat tekens buiten de afdrukbare tekens van ISO-8859-1",
    "REC-LENGTH": "Regel heeft niet de recordlengte van het bestand en kan niet gelezen worden",
}
# How to fix each, (Dutch, English): a zip-level finding needs a hint as much as a numbered rule.
ZIP_LEVEL_HINTS = {
    "ZIP-NAME": ("Noem de zipfile volgens de naamgeving van de GA (§6.2.1): aanleversoort, dataset, GA-versie, "
                 "AGB-code, volgnummer instelling, creatiedatum (een bestaande datum) en volgnummer.",
                 "Name the zip as the GA prescribes (§6.2.1): delivery type, dataset, GA version, AGB code, "
                 "institution sequence number, creation date (a real date) and sequence number."),
    "ZIP-UNREADABLE": ("Maak de zipfile opnieuw met een gewoon zipprogramma (deflate, zonder wachtwoord) en "
                       "controleer dat de overdracht hem niet afkapt.",
                       "Make the zip again with an ordinary zip tool (deflate, no password) and check that the "
                       "transfer does not cut it short."),
    "ZIP-EMPTY": ("Pak de bestanden van de GA in de zipfile in.", "Put the GA's files in the zip."),
    "ZIP-ENCRYPTED": ("Lever de zipfile zonder wachtwoord of versleuteling aan.",
                      "Deliver the zip without a password or encryption."),
    "ZIP-PATH": ("Zet de bestanden direct in de zipfile, niet in een map.",
                 "Put the files in the zip itself, not in a folder."),
    "ZIP-BOMB": ("Lever alleen de bestanden van de GA aan; een zipfile die zo groot uitpakt is vrijwel zeker "
                 "verkeerd gemaakt.", "Deliver only the GA's files; a zip that unpacks this large was almost "
                 "certainly made wrong."),
    "ZIP-DUPLICATE": ("Deze aanlevering is al ontvangen. Lever nieuwe gegevens met een latere creatiedatum of "
                      "een hoger volgnummer.", "This delivery was received before. Deliver new data with a later "
                      "creation date or a higher sequence number."),
    "ZIP-CUSTOMER-UNKNOWN": ("Laat de zorgaanbieder (AGB-code en volgnummer instelling) eerst registreren.",
                             "Have the provider (AGB code and institution sequence number) registered first."),
    "ZIP-CUSTOMER-INACTIVE": ("Het account is niet meer actief; neem contact op met de ontvanger.",
                              "The account is no longer active; contact the receiving side."),
    "ZIP-ORDER": ("Geef elke aanlevering een latere creatiedatum dan de vorige, of bij dezelfde datum een hoger "
                  "volgnummer.", "Give each delivery a later creation date than the previous one, or on the "
                  "same date a higher sequence number."),
    "ZIP-CONTRACT": ("Lever eerst een TEST-aanlevering onder deze GA-versie die positief wordt beoordeeld "
                     "(aansluitfase).", "First deliver a TEST delivery under this GA version that is assessed "
                     "positive (connect phase)."),
    "ZIP-DISCARDED": ("Los de afwijzing van de eerdere aanlevering op en lever beide daarna opnieuw aan.",
                      "Solve the rejection of the earlier delivery, then deliver both again."),
    "REC-EOL": ("Sluit elke regel af met CR/LF (Windows-regeleinden), ook de laatste.",
                "End every line with CR/LF (Windows line ends), the last one too."),
    "REC-CHARSET": ("Schrijf de bestanden in ISO-8859-1 zonder stuurtekens (tab, NUL); vervang tekens die "
                    "ISO-8859-1 niet kent.", "Write the files in ISO-8859-1 without control characters (tab, "
                    "NUL); replace characters ISO-8859-1 does not have."),
    "REC-LENGTH": ("Schrijf elk record met precies de recordlengte van het bestand (velden aangevuld met "
                   "spaties of nullen), zonder regeleinden binnen een veld.",
                   "Write every record with exactly the file's record length (fields padded with spaces or "
                   "zeros), without line ends inside a field."),
}
# What a reader id's finding adds after its message, (Dutch, English), with the finding's value
# ({found}) and `expected`: the Dutch one is in the message, reports in English show the English one.
ZIP_LEVEL_DETAILS = {
    "REC-LENGTH": (": {found} posities, verwacht {expected}", ": {found} positions, expected {expected}"),
}
# The messages in English, for --lang en.
ZIP_LEVEL_EN = {
    "ZIP-NAME": "The zip file was delivered but does not follow the naming convention, "
    "or the combination of delivery type, dataset and GA version number is invalid",
    "ZIP-UNREADABLE": "File cannot be traced: it is not a (readable) zip file",
    "ZIP-EMPTY": "The zip file was delivered empty",
    "ZIP-ENCRYPTED": "A file in the zip file is encrypted and cannot be read",
    "ZIP-PATH": "A file in the zip file is in a folder or has an invalid name",
    "ZIP-BOMB": "The zip file unpacks to more than allowed (possibly a zip bomb)",
    "ZIP-DUPLICATE": "The zip file was received but is not processed, because it was delivered before",
    "ZIP-CUSTOMER-UNKNOWN": "Customer unknown",
    "ZIP-CUSTOMER-INACTIVE": "Customer is no longer active",
    "ZIP-ORDER": "Invalid combination of date and sequence number",
    "ZIP-CONTRACT": "The zip file cannot be processed because it does not fall within the validity of a "
    "contract, or it must be delivered under a contract for a higher GA version",
    "ZIP-DISCARDED": "The zip file was not processed because an earlier delivered file was rejected at receipt",
    "REC-EOL": "Line is not ended by CR/LF",
    "REC-CHARSET": "Line contains characters outside ISO-8859-1's printable characters",
    "REC-LENGTH": "Line does not have the file's record length and cannot be read",
}


# Slots and no `frozen`: a frozen dataclass sets each of its 14 fields through object.__setattr__, which
# made building a finding cost ~4 µs, and `--max-findings 0` on a faulty delivery builds millions (and
# reads as many back from disk). A finding is still a value: nothing changes one once it is made (use
# dataclasses.replace), and it hashes by its fields as it did when frozen.
@dataclass(slots=True, unsafe_hash=True)
class Finding:
    """One violation: which rule, where, and what value. Treat it as immutable (see above)."""

    rule: str
    type: str
    severity: str
    file: str | None
    line: int | None  # 1-based record number within its file; None for file- and zip-level findings
    column: int | None  # 1-based first column of the field
    ddid: str | None
    value: str | None
    message: str
    column_end: int | None = None
    field: str | None = None  # the field's name
    expected: str | None = None  # what the GA expects where `value` is what was found (a length, a count)
    # The other fields the rule read, as (ddid, name, value): a two-field rule shows both values.
    related: tuple[tuple[str, str, str | None], ...] = ()
    # For a follow-on finding, the finding that caused it: "BEHANDELTRAJECT.txt:12 1643" (a profile
    # fails 1987 because the traject it names is on a line of the wrong length).
    cause: str | None = None

    def as_dict(self) -> dict:
        """The finding as the JSON contract writes it."""
        return {
            "rule": self.rule, "type": self.type, "severity": self.severity, "file": self.file,
            "line": self.line, "column": self.column, "column_end": self.column_end, "ddid": self.ddid,
            "field": self.field, "value": self.value, "message": self.message, "expected": self.expected,
            "related": [{"ddid": d, "field": name, "value": v} for d, name, v in self.related],
            "cause": self.cause,
        }

    def sort_key(self):
        """Delivery order: zip level first, then by file, line, column, rule."""
        return (self.file or "", self.line or 0, self.column or 0, self.rule)


@dataclass(frozen=True)
class RuleInfo:
    """What reports need to know about a rule besides its findings."""

    rule: str
    type: str
    severity: str
    file: str | None
    ddid: str | None
    status: str  # active | not applicable | needs store | not in force | not evaluated
    message: str
    message_en: str = ""
    hint: str = ""
    hint_en: str = ""
    reason: str = ""  # why not active (a disval.core.notes.Note says it in either language)
    reason_en: str = ""  # the reason in English, when `reason` is the rules file's Dutch
    source: str = ""  # the rule as written


@dataclass(frozen=True)
class CodelistRelease:
    """Which release of a codelist a validation used."""

    name: str
    release: dt.date | None
    source: str
    sample: bool = False  # an invented list, not the registry's (see Codelist.sample)


# Distinct failing values counted per rule; a value first seen after this many is counted as "other",
# so that a rule failing on a million different keys does not keep a million values.
MAX_DISTINCT = 1000


class FindingCollector:
    """Counts every finding and keeps the first `max_per_rule` of each rule as examples.

    It also counts, per rule, how often each distinct value failed (up to
    MAX_DISTINCT values; the rest under `other_values`), over every finding,
    listed or not.
    """

    def __init__(self, max_per_rule: int | None = None, ignore: frozenset = frozenset(),
                 budget: int | None = None):
        from .finding_store import FindingStore  # it builds on Finding, defined here

        self.max_per_rule = max_per_rule
        self.ignore = ignore  # ids the user left out (--skip REC-EOL): neither counted nor kept
        self.counts: Counter[str] = Counter()
        # The kept examples: beyond `budget` findings in memory they spill to disk (see finding_store).
        self.examples = FindingStore(budget)
        self.values: dict[str, Counter] = {}
        self.other_values: Counter[str] = Counter()
        self.renamed: dict[str, str] = {}

    def name_files(self, found_as: dict[str, str]) -> None:
        """Name member files in findings kept from now on as they were found in the zip (case may differ)."""
        self.renamed = {k: v for k, v in found_as.items() if k != v}

    def count_values(self, rule: str, values: dict, other: int = 0) -> None:
        """Count failing values of a rule: {value (str or None): how many findings had it}, and
        `other` findings whose values were not told apart."""
        self.other_values[rule] += other
        seen = self.values.setdefault(rule, Counter())
        for value, n in values.items():
            if value in seen or len(seen) < MAX_DISTINCT:
                seen[value] += int(n)
            else:
                self.other_values[rule] += int(n)

    def room(self, rule: str) -> int | None:
        """How many more examples of this rule will be kept (None: no limit)."""
        if self.max_per_rule is None:
            return None
        return max(0, self.max_per_rule - self.examples.kept[rule])

    def add(self, finding: Finding) -> None:
        """Count one finding and keep it if there is room."""
        if finding.rule in self.ignore:
            return
        self.counts[finding.rule] += 1
        self.count_values(finding.rule, {finding.value: 1})
        room = self.room(finding.rule)
        if room is None or room > 0:
            self.examples.add(self._as_found(finding))

    def add_many(self, rule: str, total: int, make: Callable[[int | None], Iterable[Finding]],
                 values: tuple[dict, int] | dict | None = None) -> None:
        """Count `total` findings of a rule; `make(limit)` builds at most `limit` of them (None: all).

        `values` counts their values, {value: n}, or ({value: n}, findings with other values) as
        `disval.core.engine.common.distinct_values` gives them; without it, each value is None.
        """
        room = self._counted(rule, total, values)
        if room == 0:
            return
        made = make(room)
        self.examples.extend(rule, map(self._as_found, made) if self.renamed else made)

    def add_block(self, rule: str, block, values: tuple[dict, int] | dict | None = None,
                  total: int | None = None) -> None:
        """Count `total` findings of `rule` (default: the block's) and keep those of the
        `disval.core.finding_block.FindingBlock` there is room for (the columnar kernels' way of
        `add_many`: no object per finding; the block may hold only the first ones, as many as `room`)."""
        total = len(block) if total is None else total
        room = self._counted(rule, total, values)
        if room == 0:
            return
        if room is not None and room < total:
            block = block.sliced(0, room)
        if self.renamed and block.head.file in self.renamed:
            block = block.with_head(self._as_found(block.head))
        self.examples.extend_block(rule, block)

    def _counted(self, rule: str, total: int, values) -> int | None:
        """Count `total` findings of `rule` and their values; the room left to keep them (0: none)."""
        if total <= 0 or rule in self.ignore:
            return 0
        self.counts[rule] += total
        counted, other = values if isinstance(values, tuple) else (values, 0)
        self.count_values(rule, counted if counted is not None else {None: total}, other)
        return self.room(rule)

    def rewrite(self, rule: str, fn: Callable[[Finding], Finding]) -> None:
        """Replace each kept finding `f` of `rule` by `fn(f)` (a follow-on's cause, found later)."""
        self.examples.rewrite(rule, fn)

    def _as_found(self, finding: Finding) -> Finding:
        renamed = self.renamed.get(finding.file) if self.renamed else None
        return finding if renamed is None else replace(finding, file=renamed)

    def findings(self) -> "FindingList":
        """Every kept finding, in delivery order: a sequence read from memory and disk as it is used."""
        from .finding_store import FindingList

        return FindingList(self.examples)


@dataclass
class ValidationResult:
    """Everything a report shows about one validated delivery."""

    delivery: str
    standard: str
    standard_title: str
    policy: str
    assessment: str  # positive | negative
    records: dict[str, int]
    # The listed findings in delivery order: a list, or from `validate()` a FindingList that reads
    # them back from memory and disk as they are iterated (see disval.core.finding_store).
    findings: Sequence[Finding]
    counts: dict[str, int]  # per rule, never capped
    rules: list[RuleInfo]
    not_evaluated: list[RuleInfo]
    records_with: dict[str, dict[str, int]] = field(default_factory=dict)  # file -> {"ERR": n, "WRN": n}
    codelists: list[CodelistRelease] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    phase: str | None = None
    versions: dict[str, str] = field(default_factory=dict)  # disval, standard, rules
    # Per rule, how often each distinct value failed (every finding, listed or not), and how
    # many findings had a value beyond the ones counted (see MAX_DISTINCT).
    values: dict[str, dict] = field(default_factory=dict)
    other_values: dict[str, int] = field(default_factory=dict)
    # DDIDs whose values reports mask unless asked (privacy): the layout's identifying
    # fields plus Standard.identifying, e.g. 3258 Koppelnummer.
    identifying: tuple[str, ...] = ()
    field_names_en: dict[str, str] = field(default_factory=dict)  # DDID -> English name, for --lang en
    started: dt.datetime | None = None  # when the validation started (UTC)
    duration: float | None = None  # how long it took, in seconds
    blocking: BlockingPolicy | None = None  # the policy that decided the assessment; None when not known

    @property
    def listed_out(self) -> dict[str, int]:
        """Per rule, how many findings were counted but not listed."""
        kept = getattr(self.findings, "kept", None)  # a FindingList knows without a pass
        listed = Counter(kept) if kept is not None else Counter(f.rule for f in self.findings)
        return {r: n - listed[r] for r, n in self.counts.items() if n > listed[r]}

    def blocks(self, severity: str, rule: str) -> bool:
        """Whether findings of this rule made (or would make) the assessment negative under the policy used."""
        if self.assessment == "positive":
            return False
        return self.blocking is None or self.blocking.blocks(severity, rule)

    def severity_counts(self) -> dict[str, int]:
        """Findings per severity, from the uncapped counts."""
        sev = {r.rule: r.severity for r in self.rules}
        out: Counter[str] = Counter()
        for rule, n in self.counts.items():
            out[sev.get(rule, "ERR")] += n
        return dict(out)
