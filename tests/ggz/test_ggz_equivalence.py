"""The columnar engine against the reference engine on GA DBC-GGZ 9.0 with planted faults.

The GGZ rules use the forms the speed work changed (`like` matched a column
at a time, 'unique across' the four activity files, codes remembered across
batches), so both engines must report the same on a delivery where many
records break them: activity numbers repeated within and across files,
pseudonymised and space-led names, BSNs and postcodes of every shape, crisis
activity codes with long times, and random values in random fields. Batches
are small so that keys and codes cross batch boundaries.
"""
from __future__ import annotations

import random
import zipfile
from collections import Counter

import pytest
from ggz_support import write_codelists

from disval.core.faults import rewrite_member
from disval.core.generate import generate_delivery
from disval.core.pipeline import validate
from disval.plugins.ga_dbc_ggz import standard

LAYOUT = standard().layout
ACTIVITY_NUMBERS = {"GELEVERD_ZORGPROFIEL_TIJDSCHRIJVEN.txt": "1489", "GELEVERD_ZORGPROFIEL_DAGBESTEDING.txt": "1500",
                    "GELEVERD_ZORGPROFIEL_VERBLIJFSDAGEN.txt": "1508", "GELEVERD_ZORGPROFIEL_VERRICHTINGEN.txt": "1516"}
# Fields of the `like` rules: names, initials, BSN, postcode, registration months, activity code and times.
HOT = {"1433", "1436", "1439", "1446", "1440", "3182", "3183", "1490", "1493", "1494", "1495"}
SAMPLES = [b"", b"XXX", b"XXXX PIET", b"X", b" JANSEN", b"act_6.1", b"act_6.", b"act_6", b"1234AB", b"1234ab",
           b"12 4AB", b"123456789", b"12345678", b"12345678A", b"1234567A", b"201905", b"189912", b"20191", b"99999999",
           b"-5", b"2000", b"1500", b"\xe9\xe9", b"0"]


def _field(member: str, ddid: str):
    return next(f for f in LAYOUT.file(member).fields if f.ddid == ddid)


def _put(line: bytes, fld, value: bytes) -> bytes:
    return line[:fld.start] + value[:fld.length].ljust(fld.length, b" ") + line[fld.end:]


@pytest.fixture(scope="module")
def faulty(tmp_path_factory):
    work = tmp_path_factory.mktemp("ggz-equivalence")
    lists = write_codelists(work / "lists")
    clean = generate_delivery(work / "clean", standard="GA-DBC-GGZ-9.0", records=1200, seed=11, codelists=lists)
    rng = random.Random(2026)
    with zipfile.ZipFile(clean) as zf:
        members = [n for n in zf.namelist() if n != "PAKBON.txt"]
        first_numbers = {m: zf.read(m).split(b"\r\n")[0][_field(m, d).start:_field(m, d).end]
                         for m, d in ACTIVITY_NUMBERS.items() if zf.read(m)}
    path = clean
    for member in members:
        fields = LAYOUT.file(member).fields
        hot = [f for f in fields if f.ddid in HOT] or fields
        own_number = ACTIVITY_NUMBERS.get(member)
        seen: list[bytes] = []

        def transform(lines, fields=fields, hot=hot, own_number=own_number, member=member, seen=seen):
            for line in lines:
                seen.append(line)
                if rng.random() < 0.5:
                    fld = rng.choice(hot if rng.random() < 0.6 else fields)
                    roll = rng.random()
                    if roll < 0.3 and len(seen) > 1:  # a value of an earlier record: repeats, shared codes
                        value = rng.choice(seen)[fld.start:fld.end]
                    else:
                        value = rng.choice(SAMPLES)
                    line = _put(line, fld, value)
                if own_number and rng.random() < 0.05:  # another activity file's number: not unique across
                    other = rng.choice([m for m in first_numbers if m != member] or [member])
                    line = _put(line, _field(member, own_number), first_numbers.get(other, b"1").strip())
                yield line
        path = rewrite_member(path, work / "faulty", member, transform)
    return path, lists


def _outcome(path, engine, lists):
    # The columnar engine reads ahead on a second thread, as `disval validate` does; the reference on one.
    result = validate(path, engine=engine, max_per_rule=None, codelists=str(lists), batch_records=64,
                      read_ahead=2 if engine == "columnar" else 0)
    return result, Counter(result.findings)


def test_both_engines_report_the_same_on_a_faulty_ggz_delivery(faulty):
    path, lists = faulty
    col, col_findings = _outcome(path, "columnar", lists)
    ref, ref_findings = _outcome(path, "reference", lists)
    only_col = sorted(map(repr, col_findings - ref_findings))
    only_ref = sorted(map(repr, ref_findings - col_findings))
    assert not only_col and not only_ref, (only_col[:5], only_ref[:5])
    assert dict(col.counts) == dict(ref.counts)
    assert col.records_with == ref.records_with
    # The faults reach the rules this test is about.
    for number in ("1356", "1355", "1357", "1358", "1912", "774", "613", "1216", "2140", "2175"):
        assert col.counts.get(number, 0) > 0, number
