"""The reports of delivery processing: the import report and the quality report.

After a positive assessment in production the receiving side imports the
delivery and sends back an import report (per file: records processed,
imported, rejected, already present unchanged, and what the import did to the
provider's records: inserted, changed, deleted) and a quality report (the findings that
did not block the delivery). Delivery processing builds these values; the
report formats behind the `disval_report_formats` hook write them, like a
validation report.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..findings import CodelistRelease, ValidationResult

if TYPE_CHECKING:  # pragma: no cover
    from ..standard import BlockingPolicy


# The counts of a FileImport, in the order every import report shows them.
IMPORT_COUNTS = ("processed", "imported", "rejected", "already_present", "inserted", "changed", "deleted")


@dataclass(frozen=True)
class FileImport:
    """What happened to the records of one file (GA: subbestand) during import."""

    file: str
    processed: int
    imported: int
    rejected: int = 0
    already_present: int = 0  # records the store already held unchanged (registry: "already existing")
    inserted: int = 0  # keys the store did not hold for the provider
    changed: int = 0  # keys it held with other values
    deleted: int = 0  # records the import removed (full load: not delivered again; mutations: 'V', cascades)

    def counts(self) -> list[int]:
        """The counts in IMPORT_COUNTS order."""
        return [getattr(self, name) for name in IMPORT_COUNTS]


@dataclass
class ImportReport:
    """Importrapport: per file how many records were processed and what became of them."""

    delivery: str
    provider: str
    files: list[FileImport]
    timestamp: dt.datetime
    standard: str = ""
    phase: str | None = None
    versions: dict[str, str] = field(default_factory=dict)  # disval, standard, rules
    codelists: list[CodelistRelease] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def totals(self) -> FileImport:
        """The sums over every file, as a row named '' (so a report can print it under the files)."""
        return FileImport(
            file="",
            processed=sum(f.processed for f in self.files),
            imported=sum(f.imported for f in self.files),
            rejected=sum(f.rejected for f in self.files),
            already_present=sum(f.already_present for f in self.files),
            inserted=sum(f.inserted for f in self.files),
            changed=sum(f.changed for f in self.files),
            deleted=sum(f.deleted for f in self.files),
        )


@dataclass(frozen=True)
class QualityReport:
    """Kwaliteitsrapport: a validation result narrowed to the findings that did not block.

    `result` is a complete ValidationResult (counts, records with findings,
    rules), so every validation format can write it; `policy` names the
    blocking policy that decided what 'non-blocking' means.
    """

    result: ValidationResult
    policy: str


def quality_view(result: ValidationResult, policy: "BlockingPolicy") -> QualityReport:
    """The quality report of an imported delivery: `result` without the findings `policy` blocks on.

    Counts stay uncapped: a rule's count is kept whole when its findings do
    not block and dropped when they do, so the listed examples and the
    numbers agree.
    """
    severity = {r.rule: r.severity for r in (*result.rules, *result.not_evaluated)}
    for f in result.findings:  # zip-level ids are not in the rules file
        severity.setdefault(f.rule, f.severity)

    def passes(rule: str) -> bool:
        return not policy.blocks(severity.get(rule, "ERR"), rule)

    records_with = {
        file: {sev: n for sev, n in per_severity.items() if not policy.blocks(sev, "")}
        for file, per_severity in result.records_with.items()
    }
    narrowed = dataclasses.replace(
        result,
        findings=[f for f in result.findings if not policy.blocks(f.severity, f.rule)],
        counts={rule: n for rule, n in result.counts.items() if passes(rule)},
        records_with=records_with,
        policy=policy.name,
    )
    return QualityReport(result=narrowed, policy=policy.name)
