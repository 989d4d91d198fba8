"""Synthetic GA DBC-GGZ 9.0 deliveries: this standard's `disval_delivery_generator`.

One count, `records`, sets the size: the activity records (geleverd
zorgprofiel) of the four GZP files; patients, zorgtrajecten, DBC-trajecten,
nevendiagnoses and overige verrichtingen follow in proportion. Every record
refers to a parent that exists, and the dates nest: a zorgtraject begins
before its DBC's, its DBC's follow one another and end before the creation
date, each activity lies within its DBC. PATIENT.txt is written as the
provider gives it to the PVM (GA §2.2), which is what disval validates: names,
initials, a BSN that passes the 11-proef, a Dutch postcode and house number.

Codes come from the codelists `--codelists` gives, drawn valid on the date
they are used at; without codelists a few fixed codes are written, and the
codelist rules are then not evaluated.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np

from disval.core import synthetic as syn
from disval.core.generate import GeneratorSize

from .codes import FOLLOW_UP, INITIAL, Codes

ACTIVITY_FILES = (  # file, share of the activity records, activiteitsoort in CL_ACTIVITEIT_GGZ
    ("GELEVERD_ZORGPROFIEL_TIJDSCHRIJVEN.txt", 85, "Tijdschrijven"),
    ("GELEVERD_ZORGPROFIEL_DAGBESTEDING.txt", 5, "Dagbesteding"),
    ("GELEVERD_ZORGPROFIEL_VERBLIJFSDAGEN.txt", 4, "Verblijfsdag"),
    ("GELEVERD_ZORGPROFIEL_VERRICHTINGEN.txt", 6, "Verrichting"),
)
# Activiteitnummers are unique across the four files (GA 1357/1358: "binnen de totale aanlevering").
ACTIVITY_PREFIX = {"Tijdschrijven": b"TS", "Dagbesteding": b"DB", "Verblijfsdag": b"VB", "Verrichting": b"VR"}
SURNAMES = [("Jansen", ""), ("Vries", "de"), ("Bakker", ""), ("Visser", ""), ("Berg", "van den"), ("Smit", ""),
            ("Meijer", ""), ("Dijk", "van"), ("Mulder", ""), ("Bos", "")]
INITIALS = ["A.", "J.M.", "P.", "H.J.", "M.", "E.C.", "W."]
DAY = 1


class GgzGenerator:
    """Writes all ten files of a GA DBC-GGZ 9.0 delivery."""

    sizes = {"records": GeneratorSize(1000, "activity records (geleverd zorgprofiel), the rest in proportion")}
    default_created = dt.date(2019, 6, 3)  # GA 9.0 is valid from 15 April 2019

    def generate(self, path_or_dir, standard, *, sizes, seed, phase, provider, branch, created, sequence,
                 codelists) -> Path:
        """Write the delivery; see `disval.core.generate.generate_delivery`."""
        token = {v: k for k, v in standard.naming.phases.items()}[phase]
        name = f"DIS_GGZ_DBC_{token}_090_{provider}_{branch}_{created:%Y%m%d}_{sequence}.zip"
        zipname = standard.naming.parse(name)
        if zipname is None:
            raise ValueError(f"{name} does not follow GA §6.2.1: provider must be 8 digits (AGB), branch 2 digits, "
                             "sequence 2 digits")
        plan = _Plan(sizes["records"], np.random.default_rng(seed), syn.day(created))
        codes = Codes(standard.layout, codelists, created, (plan.start, plan.created))
        layout = standard.layout
        counts = {}
        target = syn.delivery_target(Path(path_or_dir), name)
        with syn.delivery_zip(target) as zf:
            def write(file_name, n, build):
                file = layout.file(file_name)
                counts[file_name] = n
                syn.stream(zf, file, created, n, lambda first, k: build(file, first, k))

            write("PATIENT.txt", plan.patients, lambda f, i, n: _patients(f, i, n, plan, zipname.parts))
            write("ZORGTRAJECT.txt", plan.zorgtrajecten, lambda f, i, n: _zorgtrajecten(f, i, n, plan, codes))
            write("DBC_TRAJECT.txt", plan.dbcs, lambda f, i, n: _dbcs(f, i, n, plan, codes))
            for (file_name, _, soort), count in zip(ACTIVITY_FILES, plan.activities):
                write(file_name, count, lambda f, i, n, s=soort: _activities(f, i, n, plan, codes, s))
            write("DIAGNOSE.txt", plan.diagnoses, lambda f, i, n: _diagnoses(f, i, n, plan, codes))
            write("OVERIGE_VERRICHTING.txt", plan.overige, lambda f, i, n: _overige(f, i, n, plan))
            slip = layout.packing_slip
            zf.writestr(syn.member(slip.name, created), _packing_slip(slip, zipname.parts, counts))
        return target


class _Plan:
    """How many records of each kind, who belongs to whom, and the dates of every DBC."""

    def __init__(self, records: int, rng, created: int):
        self.rng, self.created = rng, created
        self.start = created - 730
        self.dbcs = max(1, records // 8) if records else 0
        self.zorgtrajecten = max(1, self.dbcs * 4 // 5) if self.dbcs else 0
        self.patients = max(1, self.zorgtrajecten * 9 // 10) if self.zorgtrajecten else 0
        shares = [share for _, share, _ in ACTIVITY_FILES]
        self.activities = [records * s // 100 for s in shares]
        self.activities[0] += records - sum(self.activities)
        self.diagnoses = self.dbcs // 2
        self.overige = records // 50 if self.patients else 0
        # Zorgtraject j: begins between two years and 120 days before the creation date.
        zt = self.zorgtrajecten
        self.zt_begin = rng.integers(self.start, created - 120 + 1, zt) if zt else np.empty(0, np.int64)
        self.zt_patient = np.arange(zt, dtype=np.int64) * self.patients // max(zt, 1)
        # DBC i belongs to zorgtraject i * zt // dbcs; a zorgtraject's DBCs split its time in turn.
        i = np.arange(self.dbcs, dtype=np.int64)
        self.dbc_zt = i * zt // max(self.dbcs, 1)
        first = (np.arange(zt + 1, dtype=np.int64) * self.dbcs + zt - 1) // max(zt, 1)
        per_zt = np.diff(first)
        rank = i - first[self.dbc_zt]
        n_in = per_zt[self.dbc_zt]
        begin = self.zt_begin[self.dbc_zt]
        span = np.minimum(created - 1 - begin, 300 * n_in)
        self.dbc_begin = begin + rank * span // n_in
        self.dbc_end = begin + (rank + 1) * span // n_in - DAY
        self.dbc_last = rank == n_in - 1
        self.dbc_first = rank == 0
        self.zt_closed = rng.random(zt) < 0.5 if zt else np.empty(0, bool)
        self.zt_end = np.full(zt, created, dtype=np.int64)
        last = self.dbc_last
        self.zt_end[self.dbc_zt[last]] = self.dbc_end[last]

    def owner(self, first: int, n: int, count: int, parents: int) -> np.ndarray:
        """Parent index of records first..first+n of `count`, grouped in order over `parents`."""
        return np.arange(first, first + n, dtype=np.int64) * parents // max(count, 1)

    def within(self, begin: np.ndarray, end: np.ndarray) -> np.ndarray:
        """A day in each [begin, end]."""
        return begin + (self.rng.random(len(begin)) * (end - begin + 1)).astype(np.int64)


def _patients(file, first, n, plan, parts):
    f = {x.ddid: x for x in file.fields}
    rng = plan.rng
    rows = syn.blank(file, n)
    index = np.arange(first, first + n, dtype=np.int64)
    syn.put_text(rows, f["1430"], parts["provider"])
    syn.put_text(rows, f["1431"], parts["branch"])
    syn.put_id(rows, f["1432"], b"K", index + 1, 12)
    name = rng.integers(0, len(SURNAMES), n)
    syn.put(rows, f["1433"], _texts(f["1433"], [s for s, _ in SURNAMES])[name])
    syn.put(rows, f["1434"], _texts(f["1434"], [p for _, p in SURNAMES])[name])
    syn.put_text(rows, f["1435"], "2")  # naam_1 is the patient's own name
    syn.put(rows, f["1439"], _texts(f["1439"], INITIALS)[rng.integers(0, len(INITIALS), n)])
    postcode = np.concatenate([syn.digits(rng.integers(1000, 10000, n), 4),
                               rng.integers(ord("A"), ord("Z") + 1, (n, 2)).astype(np.uint8)], axis=1)
    syn.put(rows, f["1440"], postcode)
    syn.put_number(rows, f["1441"], rng.integers(1, 300, n))
    syn.put_text(rows, f["1443"], "NL")
    # Adults: GA 2324 warns for a DBC that begins before the 18th birthday.
    syn.put_digits(rows, f["1444"], syn.yyyymmdd(plan.created - rng.integers(21 * 365, 80 * 365, n)))
    syn.put_number(rows, f["1445"], rng.integers(1, 3, n))
    syn.put(rows, f["1446"], _bsn(rng, n))
    return rows


def _texts(fld, texts: list[str]) -> np.ndarray:
    """Each text padded to the field, as rows of a byte matrix to index."""
    return np.frombuffer(b"".join(syn.fixed(fld, t).encode("iso-8859-1") for t in texts),
                         dtype=np.uint8).reshape(len(texts), fld.length)


def _bsn(rng, n: int) -> np.ndarray:
    """Burgerservicenummers that pass the 11-proef: 9*d1 + 8*d2 + ... + 2*d8 - d9 is a multiple of 11."""
    digits = rng.integers(0, 10, (n, 9))
    digits[:, 0] = rng.integers(1, 10, n)
    while True:
        check = (digits[:, :8] * np.arange(9, 1, -1)).sum(axis=1) % 11
        bad = check == 10  # no digit makes these pass: draw their eighth digit again
        digits[:, 8] = np.where(bad, 0, check)
        if not bad.any():
            return (digits + ord("0")).astype(np.uint8)
        digits[bad, 7] = rng.integers(0, 10, int(bad.sum()))


def _zorgtrajecten(file, first, n, plan, codes):
    f = {x.ddid: x for x in file.fields}
    rows = syn.blank(file, n)
    j = np.arange(first, first + n, dtype=np.int64)
    begin, closed = plan.zt_begin[j], plan.zt_closed[j]
    syn.put_id(rows, f["1449"], b"ZT", j + 1, 12)
    syn.put_digits(rows, f["1451"], syn.yyyymmdd(begin))
    syn.put_digits(rows, f["1452"], syn.yyyymmdd(plan.zt_end[j]), where=closed)
    syn.put_id(rows, f["1453"], b"K", plan.zt_patient[j] + 1, 12)
    syn.put(rows, f["5119"], codes.hoofdgroep("5119").draw(plan.rng, begin))
    syn.put_digits(rows, f["1458"], syn.yyyymmdd(begin))
    syn.put_digits(rows, f["4098"], syn.yyyymmdd(begin - plan.rng.integers(1, 60, n)))
    return rows


def _dbcs(file, first, n, plan, codes):
    f = {x.ddid: x for x in file.fields}
    rng = plan.rng
    rows = syn.blank(file, n)
    i = np.arange(first, first + n, dtype=np.int64)
    begin, end = plan.dbc_begin[i], plan.dbc_end[i]
    syn.put_id(rows, f["1462"], b"DBC", i + 1, 12)
    syn.put_id(rows, f["1464"], b"ZT", plan.dbc_zt[i] + 1, 12)
    syn.put_digits(rows, f["1465"], syn.yyyymmdd(begin))
    syn.put_digits(rows, f["1466"], syn.yyyymmdd(end))
    syn.put(rows, f["4091"], syn.digits(rng.integers(10**7, 10**8, n), 8))
    syn.put(rows, f["4093"], codes.picker("4093").draw(rng, begin))
    syn.put_text(rows, f["4171"], "N")
    syn.put(rows, f["4095"], syn.digits(rng.integers(1, 5, n), 2))  # 01-04: a referrer is named (4146)
    syn.put(rows, f["4146"], syn.digits(rng.integers(10**7, 10**8, n), 8))
    first_dbc = plan.dbc_first[i]
    zorgtype = codes.zorgtype("1468", FOLLOW_UP).draw(rng, begin)
    zorgtype[first_dbc] = codes.zorgtype("1468", INITIAL).draw(rng, begin[first_dbc])
    syn.put(rows, f["1468"], zorgtype)
    syn.put(rows, f["1469"], codes.picker("1469").draw(rng, begin))
    syn.put(rows, f["1470"], codes.picker("1470").draw(rng, begin))
    tariff = rng.integers(50_000, 2_000_000, n)  # cents
    syn.put_number(rows, f["1471"], tariff)
    rows[:, f["1472"].start] = rng.choice(np.frombuffer(b"JN", dtype=np.uint8), n)
    syn.put_text(rows, f["1473"], "100001")
    # GA 2068: positions 10-12 of the prestatiecode repeat positions 4-6 of the productgroepcode.
    syn.put_text(rows, f["1474"], "100001000001")
    syn.put_text(rows, f["1475"], "000101")
    syn.put_number(rows, f["1476"], tariff)
    syn.put_number(rows, f["1477"], tariff)
    syn.put_number(rows, f["3217"], tariff)
    syn.put_number(rows, f["3218"], tariff)
    return rows


def _activities(file, first, n, plan, codes, soort):
    by_name = {x.name.lower(): x for x in file.fields}
    rng = plan.rng
    rows = syn.blank(file, n)
    count = {"Tijdschrijven": plan.activities[0], "Dagbesteding": plan.activities[1],
             "Verblijfsdag": plan.activities[2], "Verrichting": plan.activities[3]}[soort]
    dbc = plan.owner(first, n, count, plan.dbcs)
    begin, end = plan.dbc_begin[dbc], plan.dbc_end[dbc]
    when = plan.within(begin, end)
    index = np.arange(first, first + n, dtype=np.int64)
    syn.put_id(rows, by_name["dbc-trajectnummer"], b"DBC", dbc + 1, 12)
    syn.put_id(rows, by_name["activiteitnummer"], ACTIVITY_PREFIX[soort], index + 1, 12)
    code = by_name["activiteitcode"]
    syn.put(rows, code, codes.activity(code.ddid, soort).draw(rng, when))
    if soort == "Verblijfsdag":
        stop = np.minimum(when + rng.integers(0, 14, n), end)
        syn.put_digits(rows, by_name["begindatum activiteit"], syn.yyyymmdd(when))
        syn.put_digits(rows, by_name["einddatum activiteit"], syn.yyyymmdd(stop))
        syn.put_number(rows, by_name["aantal (dagen)"], stop - when + 1)
        return rows
    syn.put_digits(rows, by_name["activiteitdatum"], syn.yyyymmdd(when))
    if soort == "Tijdschrijven":
        syn.put(rows, by_name["behandelaarcode"], syn.digits(rng.integers(10**7, 10**8, n), 8))
        beroep = codes.picker(by_name["beroepcode"].ddid).draw(rng, when)
        syn.put(rows, by_name["beroepcode"], beroep)
        # GA 2098: 'J' (hoofdbehandelaar) only for a profession in codelist Hoofdberoep on the DBC's begin date.
        main = codes.valid_in("CL_HOOFDBEROEPEN_GGZ", beroep, begin)
        flag = rng.choice(np.frombuffer(b"JN", dtype=np.uint8), n)
        rows[:, by_name["hoofdbehandelaar"].start] = np.where(main, flag, ord("N"))
        syn.put_number(rows, by_name["direct patiëntgebonden tijd (minuten)"], rng.integers(0, 181, n))
        syn.put_number(rows, by_name["indirect patiëntgebonden tijd - algemeen (minuten)"], rng.integers(0, 61, n))
        syn.put_number(rows, by_name["indirect patiëntgebonden tijd - reistijd (minuten)"], rng.integers(0, 31, n))
    elif soort == "Dagbesteding":
        syn.put_number(rows, by_name["aantal (uur)"], rng.integers(1, 9, n))
    else:
        syn.put_number(rows, by_name["aantal"], rng.integers(1, 4, n))
    return rows


def _diagnoses(file, first, n, plan, codes):
    f = {x.ddid: x for x in file.fields}
    rows = syn.blank(file, n)
    dbc = plan.owner(first, n, plan.diagnoses, plan.dbcs)
    syn.put_id(rows, f["1481"], b"DBC", dbc + 1, 12)
    syn.put_digits(rows, f["1482"], syn.yyyymmdd(plan.dbc_begin[dbc]))
    syn.put(rows, f["5121"], codes.hoofdgroep("5121").draw(plan.rng, plan.dbc_begin[dbc]))
    syn.put_number(rows, f["5223"], plan.rng.integers(1, 4, n))
    return rows


def _overige(file, first, n, plan):
    f = {x.ddid: x for x in file.fields}
    rng = plan.rng
    rows = syn.blank(file, n)
    k = np.arange(first, first + n, dtype=np.int64)
    when = rng.integers(plan.start, plan.created, n)
    syn.put_id(rows, f["1523"], b"OV", k + 1, 12)
    syn.put_digits(rows, f["1525"], syn.yyyymmdd(when))
    syn.put_digits(rows, f["1526"], syn.yyyymmdd(when))
    syn.put_id(rows, f["1527"], b"K", plan.owner(first, n, plan.overige, plan.patients) + 1, 12)
    syn.put_text(rows, f["1530"], "194001")
    syn.put_number(rows, f["1531"], rng.integers(1_000, 100_000, n))
    syn.put_number(rows, f["1532"], rng.integers(1, 4, n))
    return rows


def _packing_slip(file, parts: dict[str, str], counts: dict[str, int]) -> bytes:
    """PAKBON.txt: the zip name's parts, the software, and the number of records of each file."""
    by_name = {f.name.lower(): f.ddid for f in file.fields}
    values = {
        by_name["declarerende instelling"]: parts["provider"], by_name["instelling volgnr dis"]: parts["branch"],
        by_name["versienummer ga"]: parts["ga_version"], by_name["creatiedatum"]: parts["created"],
        by_name["volgnummer"]: parts["sequence"], by_name["zipfilenaam"]: parts["name"],
        by_name["softwareleverancier"]: "DISVAL", by_name["softwarepakket"]: "DISVAL GENERATE",
        by_name["softwareversie"]: "SYNTHETIC 1", by_name["gebruikersnaam"]: f"ggz{parts['provider']}",
    }
    slip_counts = {  # which Aantal-field counts which file: named in the GA's V rules ("Aantal records in X ...")
        "PATIENT.txt": "aantal patiënt", "ZORGTRAJECT.txt": "aantal zorgtraject",
        "DBC_TRAJECT.txt": "aantal dbc-traject", "DIAGNOSE.txt": "aantal diagnose",
        "GELEVERD_ZORGPROFIEL_TIJDSCHRIJVEN.txt": "aantal geleverd zorgprofiel tijdschrijven",
        "GELEVERD_ZORGPROFIEL_DAGBESTEDING.txt": "aantal geleverd zorgprofiel dagbesteding",
        "GELEVERD_ZORGPROFIEL_VERBLIJFSDAGEN.txt": "aantal geleverd zorgprofiel verblijfsdagen",
        "GELEVERD_ZORGPROFIEL_VERRICHTINGEN.txt": "aantal geleverd zorgprofiel verrichtingen",
        "OVERIGE_VERRICHTING.txt": "aantal overige verrichting",
    }
    for file_name, field_name in slip_counts.items():
        values[by_name[field_name]] = str(counts[file_name])
    return syn.record(file, values)
