"""How long the Excel report takes for many listed findings (issue 12: 100,000 must write in seconds).

    python tests/bench/xlsx_report.py [FINDINGS ...]     # default: 10000 100000

Builds a validation result with that many listed findings (spread over a few rules and files, values of
realistic length), renders it with the built-in xlsx format, reads the workbook back to check the row count,
and prints the figures: render seconds (wall and CPU: on a busy machine the CPU time is the fairer figure),
rows per second, workbook size and the peak RSS of the process.
"""
from __future__ import annotations

import io
import resource
import sys
import time

import openpyxl

from disval.core.findings import Finding, RuleInfo, ValidationResult
from disval.core.reports import ReportOptions
from disval.plugins.reports.xlsx import render

RULES = [
    RuleInfo("1801", "BR", "ERR", "BEHANDELTRAJECT.txt", "3262", "active",
             "3262 Begindatum behandeltraject > 3233 Creatiedatum pakbon",
             hint="Een traject kan niet beginnen na de aanmaakdatum van de aanlevering."),
    RuleInfo("1758", "R", "ERR", "GELEVERD_ZORGPROFIEL.txt", "3314", "active",
             "3314 Beroepcode komt niet voor of is niet (meer) geldig in codelijst Beroep",
             hint="Gebruik een beroepcode uit de codelijst die geldig is op de behandelcomponentdatum."),
    RuleInfo("1788", "S", "WRN", "GELEVERD_ZORGPROFIEL.txt", "3337", "active",
             "3337 Versienummer GA bevat geen geldige waarde"),
]


def result_with(n: int) -> ValidationResult:
    """A validation result with `n` listed findings."""
    findings = []
    for k in range(n):
        info = RULES[k % len(RULES)]
        findings.append(Finding(rule=info.rule, type=info.type, severity=info.severity, file=info.file,
                                line=k + 1, column=36, column_end=43, ddid=info.ddid, field="Veld",
                                value=f"{20180000 + k % 10000}", message=info.message))
    counts: dict[str, int] = {}
    for f in findings:
        counts[f.rule] = counts.get(f.rule, 0) + 1
    return ValidationResult(delivery="DIS_GBG_OHW_TEST_010_94001234_00_20180201_01.zip", standard="GA-OHW-GBG-1.0",
                            standard_title="", policy="dis", assessment="negative",
                            records={"BEHANDELTRAJECT.txt": n, "GELEVERD_ZORGPROFIEL.txt": n}, findings=findings,
                            counts=counts, rules=list(RULES), not_evaluated=[])


def main(sizes: list[int]) -> None:
    """Render each size once and print the figures."""
    print(f"{'findings':>9} {'render s':>9} {'CPU s':>6} {'rows/s':>9} {'MB':>6} {'peak RSS MB':>12}", flush=True)
    for n in sizes:
        result = result_with(n)
        start, cpu = time.perf_counter(), time.process_time()
        data = render(result, ReportOptions(max_examples=None))
        took, cpu = time.perf_counter() - start, time.process_time() - cpu
        sheet = openpyxl.load_workbook(io.BytesIO(data), read_only=True)["Bevindingen"]
        rows = sum(1 for _ in sheet.iter_rows(values_only=True))
        assert rows == n + 1, (rows, n)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"{n:>9,} {took:>9.2f} {cpu:>6.2f} {n / took:>9,.0f} {len(data) / 1e6:>6.1f} {peak:>12.0f}", flush=True)


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [10_000, 100_000])
