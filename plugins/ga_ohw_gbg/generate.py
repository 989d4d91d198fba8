"""Synthetic GA OHW-GBG 1.0 deliveries that pass every rule: this standard's `disval_delivery_generator`.

What each DDID means (a date, a traject number, a code) is this standard's
knowledge, so it lives here; column positions come from the layout and valid
codes from the codelists (the shipped ones unless told otherwise).
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np

from disval.core import synthetic as syn
from disval.core.generate import GeneratorSize

FIRST_TRAJECT_DATE = dt.date(2016, 10, 1)  # §5.2.1: only trajects opened from 1 October 2016
WRITES = {
    "BEHANDELTRAJECT.txt": ("3257", "3258", "3262", "3263", "4046", "3266", "3272"),
    "GELEVERD_ZORGPROFIEL.txt": ("3310", "3309", "3311", "3312", "3314", "3315", "3355", "3316", "3348"),
    "PAKBON.txt": ("3362", "3371", "3337", "3233", "3234", "3344", "3339", "3334", "3342", "3345", "3245",
                   "3341", "3361", "4160"),
}


class OhwGenerator:
    """Writes BEHANDELTRAJECT, GELEVERD_ZORGPROFIEL (grouped by traject, dated within it) and PAKBON."""

    sizes = {
        "trajects": GeneratorSize(1000, "BEHANDELTRAJECT records"),
        "profiles": GeneratorSize(4000, "GELEVERD_ZORGPROFIEL records"),
    }
    default_created = dt.date(2018, 2, 1)

    def generate(self, path_or_dir, standard, *, sizes, seed, phase, provider, branch, created, sequence,
                 codelists) -> Path:
        """Write the delivery; see `disval.core.generate.generate_delivery`."""
        trajects, profiles = sizes["trajects"], sizes["profiles"]
        if profiles and not trajects:
            raise ValueError("profiles need trajects to refer to (3309): give trajects > 0")
        token = {v: k for k, v in standard.naming.phases.items()}[phase]
        name = f"DIS_GBG_OHW_{token}_010_{provider}_{branch}_{created:%Y%m%d}_{sequence}.zip"
        zipname = standard.naming.parse(name)
        if zipname is None:
            raise ValueError(
                f"{name} does not follow GA §6.2.1: provider must be 8 digits (AGB), branch 2 digits, sequence 2 digits"
            )
        layout = standard.layout
        for file, ddids in WRITES.items():
            found = layout.file(file)
            missing = [d for d in ddids if found is None or d not in {f.ddid for f in found.fields}]
            if missing:
                raise ValueError(f"standard {standard.id} lacks {file} field(s) {', '.join(missing)}; "
                                 f"this generator writes GA OHW-GBG 1.0 deliveries")
        if codelists is None:
            raise ValueError(f"standard {standard.id} ships no codelists; pass codelists=DIR")
        start = min(FIRST_TRAJECT_DATE, created - dt.timedelta(days=365))
        days = (syn.day(start), syn.day(created))
        pickers = {
            ddid: syn.CodePicker(fld, [_codelist(codelists, n, created) for n in fld.codelists], days)
            for ddid, fld in ((d, layout.field(d)) for d in ("3266", "3272", "3311", "3314"))
        }
        rng = np.random.default_rng(seed)
        target = syn.delivery_target(Path(path_or_dir), name)
        with syn.delivery_zip(target) as zf:
            files = {f.name: f for f in layout.files}
            begins = np.empty(trajects, dtype=np.int32)
            stops = np.empty(trajects, dtype=np.int32)
            traject_file = files["BEHANDELTRAJECT.txt"]
            syn.stream(zf, traject_file, created, trajects, lambda i0, n: _trajects(
                traject_file, i0, n, rng, days, pickers, begins, stops))
            profile_file = files["GELEVERD_ZORGPROFIEL.txt"]
            syn.stream(zf, profile_file, created, profiles, lambda j0, n: _profiles(
                profile_file, j0, n, trajects, profiles, rng, pickers, begins, stops))
            slip = _packing_slip(layout.packing_slip, zipname.parts, trajects, profiles, rng)
            zf.writestr(syn.member(layout.packing_slip.name, created), slip)
        return target


def _codelist(source, name, created):
    found = source.codelist(name, created)
    if found is None:
        raise ValueError(f"codelist {name} is not in {source.describe()}")
    return found


def _trajects(file, first, n, rng, days, pickers, begins, stops):
    """BEHANDELTRAJECT.txt: begin in [start, created]; 55% closed with a reden sluiten; diagnosis if 4046 = J."""
    fields = {f.ddid: f for f in file.fields}
    patients = max(1, len(begins) * 4 // 5)  # some patients have more than one traject
    rows = syn.blank(file, n)
    index = np.arange(first, first + n, dtype=np.int64)
    start, created = days
    begin = rng.integers(start, created + 1, n)
    closed = rng.random(n) < 0.55
    end = begin + (rng.random(n) * (created - begin + 1)).astype(np.int64)
    begins[first:first + n] = begin
    stops[first:first + n] = np.where(closed, end, created)
    disorder = rng.choice(np.frombuffer(b"JN ", dtype=np.uint8), n, p=[0.65, 0.2, 0.15])
    syn.put_id(rows, fields["3257"], b"BT", index + 1, 10)
    syn.put_id(rows, fields["3258"], b"K", rng.integers(1, patients + 1, n), 12)
    syn.put_digits(rows, fields["3262"], syn.yyyymmdd(begin))
    syn.put_digits(rows, fields["3263"], syn.yyyymmdd(end), where=closed)
    rows[:, fields["4046"].start] = disorder
    syn.put(rows, fields["3266"], pickers["3266"].draw(rng, begin), where=disorder == ord("J"))
    syn.put(rows, fields["3272"], pickers["3272"].draw(rng, begin), where=closed)
    return rows


def _profiles(file, first, n, trajects, profiles, rng, pickers, begins, stops):
    """GELEVERD_ZORGPROFIEL.txt: grouped by traject in order, dated within their traject."""
    fields = {f.ddid: f for f in file.fields}
    rows = syn.blank(file, n)
    index = np.arange(first, first + n, dtype=np.int64)
    traject = index * trajects // profiles
    begin, stop = begins[traject].astype(np.int64), stops[traject].astype(np.int64)
    when = begin + (rng.random(n) * (stop - begin + 1)).astype(np.int64)
    syn.put_id(rows, fields["3310"], b"BC", index + 1, 12)
    syn.put_id(rows, fields["3309"], b"BT", traject + 1, 10)
    syn.put(rows, fields["3311"], pickers["3311"].draw(rng, when))
    syn.put_digits(rows, fields["3312"], syn.yyyymmdd(when))
    syn.put(rows, fields["3314"], pickers["3314"].draw(rng, when))
    syn.put_number(rows, fields["3315"], rng.integers(0, 181, n))
    syn.put_number(rows, fields["3355"], rng.integers(0, 91, n), where=rng.random(n) < 0.15)
    syn.put_number(rows, fields["3316"], rng.integers(0, 121, n))
    syn.put_id(rows, fields["3348"], b"AF", rng.integers(1, 10**8, n), 8, where=rng.random(n) < 0.7)
    return rows


def _packing_slip(file, parts: dict[str, str], trajects: int, profiles: int, rng) -> bytes:
    """PAKBON.txt: one record; the zip-name fields are taken from the parsed name itself."""
    return syn.record(file, {
        "3362": parts["provider"], "3371": parts["branch"], "3337": parts["ga_version"],
        "3233": parts["created"], "3234": parts["sequence"], "3344": parts["name"],
        "3339": "DISVAL", "3334": "DISVAL GENERATE", "3342": "SYNTHETIC 1",
        "3345": str(trajects), "3245": str(profiles), "3341": f"gbg{parts['provider']}",
        "3361": f"{int(rng.integers(10**7, 10**8)):08d}", "4160": "",
    })
