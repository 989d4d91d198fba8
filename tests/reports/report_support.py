"""Report test data: a validation result built by hand, shaped like one of a GA OHW-GBG 1.0 test delivery.

Several rules fire, one of them more often than its examples were kept (5
counted, 3 listed); a koppelnummer (3258, identifying) carries a value with a
control character; a member-level finding has no line; two rules are not
evaluated; one rule has no English message (the report falls back to Dutch).
"""
from __future__ import annotations

import datetime as dt

from disval.core.findings import CodelistRelease, Finding, RuleInfo, ValidationResult

REPORT_MODULES = ("text", "json", "csv", "xlsx", "html", "junit")
DELIVERY = "DIS_GBG_OHW_TEST_010_94001234_00_20180201_01.zip"
STANDARD = "GA-OHW-GBG-1.0"
BT, GZ, PB = "BEHANDELTRAJECT.txt", "GELEVERD_ZORGPROFIEL.txt", "PAKBON.txt"
KOPPELNUMMER = "PAT\x1b00000012345"


def rule(number, type_, severity, file, ddid, message, en="", hint="", hint_en="", status="active", reason=""):
    return RuleInfo(rule=number, type=type_, severity=severity, file=file, ddid=ddid, status=status,
                    message=message, message_en=en, hint=hint, hint_en=hint_en, reason=reason)


RULES = [
    rule("739", "V", "ERR", None, None, "Onbekende bestand(en) aanwezig in de zipfile",
         en="Unknown file(s) present in the zip file",
         hint="Pak alleen de drie bestanden van de GA in.", hint_en="Zip only the three files of the GA."),
    rule("1630", "UK", "ERR", BT, "3257", "3257 Behandeltrajectnummer is niet uniek binnen de aanlevering",
         en="3257 Treatment trajectory number is not unique within the delivery",
         hint="Elk behandeltraject mag maar één keer voorkomen.", hint_en="Deliver each trajectory once."),
    rule("1775", "M", "ERR", BT, "3258", "3258 Koppelnummer is niet gevuld",
         en="3258 Link number is empty", hint="Vul het koppelnummer.", hint_en="Fill in the link number."),
    rule("1801", "BR", "ERR", BT, "3262", "3262 Begindatum behandeltraject > 3233 Creatiedatum pakbon",
         en="3262 Start date of treatment trajectory > 3233 Creation date of the packing slip",
         hint="Een traject kan niet beginnen na de aanmaakdatum van de aanlevering.",
         hint_en="A trajectory cannot start after the delivery was created."),
    rule("1771", "BR", "ERR", BT, "3262", "3262 Begindatum behandeltraject > 3263 Einddatum behandeltraject",
         en="3262 Start date > 3263 End date of treatment trajectory"),
    # No English message and no hint: English reports fall back to the GA's Dutch.
    rule("1987", "FK", "ERR", GZ, "3309", "3309 Behandeltrajectnummer is niet meegeleverd in BEHANDELTRAJECT.txt"),
    rule("1758", "R", "ERR", GZ, "3314", "3314 Beroepcode komt niet voor of is niet (meer) geldig in codelijst Beroep",
         en="3314 Profession code does not occur or is no longer valid in codelist Beroep",
         hint="Gebruik een beroepcode uit de codelijst die geldig is op de behandelcomponentdatum.",
         hint_en="Use a profession code valid on the component date."),
    rule("1788", "S", "WRN", PB, "3337", "3337 Versienummer GA bevat geen geldige waarde",
         en="3337 GA version number has no valid value", hint="Schrijf het versienummer als NN.N, bv. 01.0.",
         hint_en="Write the version as NN.N, e.g. 01.0."),
    rule("1812", "BR", "ERR", PB, "3339", "3339 Softwareleverancier is gewijzigd zonder de NZa hierover te informeren",
         en="3339 Software supplier changed without informing the NZa", status="needs store",
         reason="needs earlier deliveries of the provider"),
    rule("1767", "FK", "ERR", BT, "3258", "3258 Koppelnummer is niet meegeleverd in PATIENT.txt",
         en="3258 Link number is not delivered in PATIENT.txt", status="not applicable",
         reason="PATIENT.txt is not part of GA OHW-GBG 1.0"),
]
INFO = {r.rule: r for r in RULES}


def finding(number, file, line, ddid, value, field=None, column=None, column_end=None, message=None):
    info = INFO.get(number)
    return Finding(
        rule=number, type=info.type if info else "V", severity=info.severity if info else "ERR", file=file,
        line=line, column=column, ddid=ddid, value=value, message=message or (info.message if info else number),
        column_end=column_end, field=field,
    )


def make_result() -> ValidationResult:
    findings = [
        finding("739", "LEESMIJ.txt", None, None, None,
                message="Onbekende bestand(en) aanwezig in de zipfile: LEESMIJ.txt"),
        finding("1630", BT, 12, "3257", "BT000000000000000012", "Behandeltrajectnummer", 1, 20),
        finding("1630", BT, 31, "3257", "BT000000000000000012", "Behandeltrajectnummer", 1, 20),
        finding("1775", BT, 4, "3258", "", "Koppelnummer", 21, 35),
        finding("REC-CHARSET", BT, 7, "3258", KOPPELNUMMER, "Koppelnummer", 21, 35,
                message="Regel bevat tekens buiten de afdrukbare tekens van ISO-8859-1"),
        finding("1801", BT, 2, "3262", "20180305", "Begindatum behandeltraject", 36, 43),
        finding("1801", BT, 9, "3262", "20180402", "Begindatum behandeltraject", 36, 43),
        finding("1801", BT, 17, "3262", "20190101", "Begindatum behandeltraject", 36, 43),
        finding("1987", GZ, 5, "3309", "BT999", "Behandeltrajectnummer", 21, 40),
        finding("1987", GZ, 88, "3309", "=HYPERLINK(\"http://x\")", "Behandeltrajectnummer", 21, 40),
        finding("1758", GZ, 3, "3314", "MB.09", "Beroepcode", 69, 88),
        finding("1758", GZ, 14, "3314", "MB.09", "Beroepcode", 69, 88),
        finding("1758", GZ, 15, "3314", "GZ.99", "Beroepcode", 69, 88),
        finding("1758", GZ, 40, "3314", "XX.01", "Beroepcode", 69, 88),
        finding("1788", PB, 1, "3337", "1.0 ", "Versienummer GA", 11, 14),
    ]
    counts = {"739": 1, "1630": 2, "1775": 1, "REC-CHARSET": 1, "1801": 5, "1987": 2, "1758": 4, "1788": 1}
    return ValidationResult(
        delivery=DELIVERY,
        standard=STANDARD,
        standard_title="GA OHW-GBG 1.0 v1.2 (NZa, DIS onderhanden werk GBG)",
        policy="dis",
        assessment="negative",
        records={BT: 40, GZ: 120, PB: 1},
        findings=findings,
        counts=counts,
        rules=list(RULES),
        not_evaluated=[INFO["1812"], INFO["1767"]],
        records_with={BT: {"ERR": 8, "WRN": 0}, GZ: {"ERR": 6, "WRN": 0}, PB: {"ERR": 0, "WRN": 1}},
        codelists=[
            CodelistRelease("CL_BEROEP_GBG", dt.date(2018, 1, 1), "20180101 cl beroep_gbg v20171201.txt"),
            CodelistRelease("CL_DIAGNOSE_GBG", dt.date(2017, 7, 1), "20170701 cl diagnose_gbg v20170601.txt"),
            CodelistRelease("CL_REDENSLUITEN_GBG", None, "redensluiten.txt"),
        ],
        warnings=["CL_REDENSLUITEN_GBG is a sample shipped with disval; replace it by the NZa release"],
        phase="test",
        versions={"disval": "0.1.0", "standard": "1.2", "rules": "ga_ohw_gbg_1_0.rules 2018-01-23"},
        identifying=("3258",),
    )
