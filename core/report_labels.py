"""The words of every report: headings, fixed phrases and rule statuses, in Dutch and English.

Dutch first (the GA's language), then English; `--lang` picks one.
"""
from __future__ import annotations

from .reports import ReportOptions

# Headings and fixed words, Dutch first (the GA's language), then English.
LABELS = {
    "validation": ("Validatierapport", "Validation report"),
    "quality": ("Kwaliteitsrapport", "Quality report"),
    "import": ("Importrapport", "Import report"),
    "delivery": ("Aanlevering", "Delivery"),
    "standard": ("Standaard", "Standard"),
    "provider": ("Zorgaanbieder", "Provider"),
    "policy": ("Beleid", "Policy"),
    "phase": ("Fase", "Phase"),
    "assessment": ("Beoordeling", "Assessment"),
    "positive": ("positief", "positive"),
    "negative": ("negatief", "negative"),
    "versions": ("Versies", "Versions"),
    "codelists": ("Codelijsten", "Codelists"),
    "warnings": ("Waarschuwingen", "Warnings"),
    "timestamp": ("Tijdstip", "Time"),
    "run": ("Uitgevoerd", "Run"),
    "run_at": ("{start} UTC, duur {seconds} s", "{start} UTC, took {seconds} s"),
    "sample": ("VOORBEELD, niet de lijst van de NZa", "SAMPLE, not the NZa's list"),
    "file": ("Bestand", "File"),
    "records": ("Records", "Records"),
    "records_with": ("Records met {sev}", "Records with {sev}"),
    "severity": ("Ernst", "Severity"),
    "by_severity": ("Bevindingen per ernst", "Findings per severity"),
    "findings": ("Bevindingen", "Findings"),
    "rule": ("Validatie", "Rule"),
    "rules": ("Validaties", "Rules"),
    "type": ("Type", "Type"),
    "count": ("Aantal", "Count"),
    "listed": ("Getoond", "Listed"),
    "not_listed": ("Niet getoond", "Not listed"),
    "more_not_listed": ("nog {n} niet getoond", "{n} more not listed"),
    "description": ("Omschrijving", "Description"),
    "hint": ("Hint", "Hint"),
    "line": ("Regel", "Line"),
    "columns": ("Kolommen", "Columns"),
    "column": ("Kolom", "Column"),
    "column_end": ("Kolom t/m", "Column end"),
    "ddid": ("DDID", "DDID"),
    "field": ("Veld", "Field"),
    "value": ("Waarde", "Value"),
    "expected": ("Verwacht", "Expected"),
    "related": ("Ook gelezen", "Also read"),
    "cause": ("Gevolg van", "Follow-on of"),
    "follow_ons": ("{n} hiervan volgen uit een eerdere bevinding: {causes}",
                   "{n} of these follow from an earlier finding: {causes}"),
    "values": ("Waarden", "Values"),
    "other_values": ("{n} met andere waarden", "{n} with other values"),
    "lines_times": ("{lines} ({n}×)", "{lines} ({n}×)"),
    "message": ("Melding", "Message"),
    "status": ("Status", "Status"),
    "reason": ("Reden", "Reason"),
    "not_evaluated": ("Niet beoordeeld", "Not evaluated"),
    "no_findings": ("Geen bevindingen.", "No findings."),
    "zip_level": ("(zipfile)", "(zip file)"),
    "processed": ("Verwerkt", "Processed"),
    "imported": ("Geïmporteerd", "Imported"),
    "rejected": ("Afgewezen", "Rejected"),
    "already_present": ("Al aanwezig", "Already present"),
    "inserted": ("Nieuw", "Inserted"),
    "changed": ("Gewijzigd", "Changed"),
    "deleted": ("Verwijderd", "Deleted"),
    "total": ("Totaal", "Total"),
    "masked": ("Waarden van identificerende velden zijn gemaskeerd ({mask}).",
               "Values of identifying fields are masked ({mask})."),
    "findings_sheets": ("De {n} bevindingen staan op {sheets} bladen van ten hoogste {rows} rijen: {names}.",
                        "The {n} findings are on {sheets} sheets of at most {rows} rows each: {names}."),
    "all_files": ("alle bestanden", "all files"),
    "summary": ("Samenvatting", "Summary"),
    "filter": ("Filter", "Filter"),
    "shown_of": ("{shown} van {total} validaties met bevindingen getoond",
                 "{shown} of {total} rules with findings shown"),
    "intro": ("Elke validatie is een controle uit de gegevensaanleverstandaard (GA). Per validatie staat hieronder "
              "wat er gecontroleerd wordt, hoe vaak de controle afging, de eerste voorbeelden met hun vindplaats "
              "en een hint hoe de export te verbeteren.",
              "Each rule is a check from the data delivery standard (GA). Below, per rule: what it checks, how "
              "often it fired, the first examples with their location and a hint on how to fix the export."),
    "legend": ("ERR = fout, WRN = waarschuwing. Regel = recordnummer binnen het bestand; kolommen = de posities "
               "van het veld in de regel; DDID = het nummer van het veld in de GA.",
               "ERR = error, WRN = warning. Line = record number within the file; columns = the positions of "
               "the field in the line; DDID = the field's number in the GA."),
}


# A rule's status as the rule model names it (JSON and CSV keep these words), for people.
STATUSES = {
    "active": ("actief", "active"),
    "not applicable": ("niet van toepassing", "not applicable"),
    "needs store": ("vraagt eerdere gegevens", "needs earlier data"),
    "not in force": ("niet van kracht op de creatiedatum", "not in force on the creation date"),
    "not evaluated": ("niet beoordeeld", "not evaluated"),
}


def status_text(status: str, options: ReportOptions) -> str:
    """A rule status in the report's language (unknown statuses as they are)."""
    dutch, english = STATUSES.get(status, (status, status))
    return english if options.lang == "en" else dutch


def label(key: str, options: ReportOptions, **values) -> str:
    """A heading or fixed word in the report's language."""
    dutch, english = LABELS[key]
    text = english if options.lang == "en" else dutch
    return text.format(**values) if values else text


def localized(dutch: str, english: str, options: ReportOptions) -> str:
    """`english` when the report is in English and there is one, else the GA's Dutch."""
    return english if options.lang == "en" and english else dutch
