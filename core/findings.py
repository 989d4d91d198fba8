"""Findings and the validation result: plain values that reports are functions of.

Counts are never capped; only the listed examples are (per rule), and the
result says how many were left out.
"""
from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Iterable

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
}


@dataclass(frozen=True, slots=True)
class Finding:
    """One violation: which rule, where, and what value."""

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

    def as_dict(self) -> dict:
        """The finding as the JSON contract writes it."""
        return {
            "rule": self.rule, "type": self.type, "severity": self.severity, "file": self.file,
            "line": self.line, "column": self.column, "column_end": self.column_end, "ddid": self.ddid,
            "field": self.field, "value": self.value, "message": self.message, "expected": self.expected,
            "related": [{"ddid": d, "field": name, "value": v} for d, name, v in self.related],
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
    reason: str = ""  # why not active
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

    def __init__(self, max_per_rule: int | None = None, ignore: frozenset = frozenset()):
        self.max_per_rule = max_per_rule
        self.ignore = ignore  # ids the user left out (--skip REC-EOL): neither counted nor kept
        self.counts: Counter[str] = Counter()
        self.examples: dict[str, list[Finding]] = {}
        self.values: dict[str, Counter] = {}
        self.other_values: Counter[str] = Counter()

    def count_values(self, rule: str, values: dict) -> None:
        """Count failing values of a rule: {value (str or None): how many findings had it}."""
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
        return max(0, self.max_per_rule - len(self.examples.get(rule, ())))

    def add(self, finding: Finding) -> None:
        """Count one finding and keep it if there is room."""
        if finding.rule in self.ignore:
            return
        self.counts[finding.rule] += 1
        self.count_values(finding.rule, {finding.value: 1})
        room = self.room(finding.rule)
        if room is None or room > 0:
            self.examples.setdefault(finding.rule, []).append(finding)

    def add_many(self, rule: str, total: int, make: Callable[[int | None], Iterable[Finding]],
                 values: dict | None = None) -> None:
        """Count `total` findings of a rule; `make(limit)` builds at most `limit` of them (None: all).

        `values` counts their values ({value: n}, summing to `total`); without it, each is None.
        """
        if total <= 0 or rule in self.ignore:
            return
        self.counts[rule] += total
        self.count_values(rule, values if values is not None else {None: total})
        room = self.room(rule)
        if room == 0:
            return
        self.examples.setdefault(rule, []).extend(make(room))

    def findings(self) -> list[Finding]:
        """Every kept finding, in delivery order."""
        return sorted((f for group in self.examples.values() for f in group), key=Finding.sort_key)


@dataclass
class ValidationResult:
    """Everything a report shows about one validated delivery."""

    delivery: str
    standard: str
    standard_title: str
    policy: str
    assessment: str  # positive | negative
    records: dict[str, int]
    findings: list[Finding]
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
    started: dt.datetime | None = None  # when the validation started (UTC)
    duration: float | None = None  # how long it took, in seconds

    @property
    def listed_out(self) -> dict[str, int]:
        """Per rule, how many findings were counted but not listed."""
        listed = Counter(f.rule for f in self.findings)
        return {r: n - listed[r] for r, n in self.counts.items() if n > listed[r]}

    def severity_counts(self) -> dict[str, int]:
        """Findings per severity, from the uncapped counts."""
        sev = {r.rule: r.severity for r in self.rules}
        out: Counter[str] = Counter()
        for rule, n in self.counts.items():
            out[sev.get(rule, "ERR")] += n
        return dict(out)
