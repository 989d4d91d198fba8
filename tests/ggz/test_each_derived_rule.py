"""Every GA DBC-GGZ 9.0 rule `disval ga import` derived: plant exactly its fault, get exactly its finding.

The fault follows from the rule's form (an empty field, an impossible date, a letter in a number, a
code no list holds, a count one off, a key twice, a zip name that disagrees...), planted in record 1
of a clean generated delivery. Where taking a key away leaves children without their parent, the
expected reference findings are counted from the delivery itself: the children that pointed at it.
"""
from __future__ import annotations

import re
import zipfile
from collections import Counter
from importlib import resources

import pytest
from ggz_support import write_codelists

from disval.core.generate import generate_delivery
from disval.core.language.parser import parse_rules
from disval.core.pipeline import validate
from disval.plugins.ga_dbc_ggz import standard

RULES_FILE = "ga_dbc_ggz_9_0.rules"
RULES = parse_rules(resources.files("disval.rules").joinpath(RULES_FILE).read_text(encoding="utf-8"),
                    source=RULES_FILE)
HAND_FILE = "ga_dbc_ggz_9_0_hand.rules"
HAND = parse_rules(resources.files("disval.rules").joinpath(HAND_FILE).read_text(encoding="utf-8"), source=HAND_FILE)
NOT_IN_FORCE = {"2236": "valid until 2014-12-31; a GA 9.0 delivery is of 2019"}
LAYOUT = standard().layout
REFERENCED = {f.references for f in LAYOUT.fields if f.references}  # key fields a foreign key refers to
# Hand-written rules the same fault breaks too (ga_dbc_ggz_9_0_hand.rules): a filled 4092 needs its
# beroepcode 4094 (2200); a renamed zip no longer matches the packing slip's 1538 Zipfilenaam (450).
COMPANIONS = {"2220": {"2200"}, "369": {"450"}, "533": {"450"}, "534": {"450"}, "672": {"450"}}


def violation(rule) -> str:
    return str(rule).split(" => ")[0]


@pytest.fixture(scope="module")
def lists(tmp_path_factory):
    return write_codelists(tmp_path_factory.mktemp("lists"))


@pytest.fixture(scope="module")
def clean(tmp_path_factory, lists):
    path = generate_delivery(tmp_path_factory.mktemp("clean"), standard="GA-DBC-GGZ-9.0", records=100, seed=7,
                             codelists=lists)
    result = validate(path, codelists=str(lists))
    assert result.assessment == "positive" and not result.findings
    return path


def members(path) -> dict[str, list[bytes]]:
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name).split(b"\r\n")[:-1] for name in zf.namelist()}


def write(path, lines: dict[str, list[bytes]]):
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, recs in lines.items():
            zf.writestr(name, b"".join(r + b"\r\n" for r in recs))
    return path


def set_field(record: bytes, ddid: str, value: str) -> bytes:
    fld = LAYOUT.field(ddid)
    raw = value.encode("iso-8859-1")
    raw = raw.rjust(fld.length) if fld.type == "N" else raw.ljust(fld.length)
    assert len(raw) == fld.length, (ddid, value)
    return record[:fld.start] + raw + record[fld.end:]


def get(record: bytes, ddid: str) -> bytes:
    fld = LAYOUT.field(ddid)
    return record[fld.start:fld.end]


def not_a_pattern(pattern: str) -> str:
    """A value that breaks a digit pattern in its first position ('NN.N' -> 'XN.N' -> 'X0.0')."""
    return ("X" + pattern[1:]).replace("N", "0")


def plant(rule, data: dict[str, list[bytes]], name: str) -> tuple[str, dict]:
    """Plant the rule's fault in `data` (in place); return the zip name and the keys taken away {ddid: value}."""
    v = violation(rule)
    gone: dict[str, bytes] = {}

    def change(ddid, value, line=0):
        file = LAYOUT.field(ddid).file
        old = data[file][line]
        if ddid in REFERENCED or (ddid in LAYOUT.file(file).key and LAYOUT.file(file).key == (ddid,)):
            gone[ddid] = get(old, ddid)
        data[file][line] = set_field(old, ddid, value)

    if m := re.fullmatch(r"(\d{4}) is empty", v):
        change(m.group(1), "")
    elif m := re.fullmatch(r"(\d{4}) is not a date", v):
        change(m.group(1), "20190231")
    elif m := re.fullmatch(r"(\d{4}) is not a number", v):
        change(m.group(1), "1a")
    elif m := re.fullmatch(r"(\d{4}) does not match '([^']+)'", v):
        change(m.group(1), not_a_pattern(m.group(2)))
    elif m := re.fullmatch(r"(\d{4}) not in \('[^)]*\)", v):
        change(m.group(1), "X")
    elif m := re.fullmatch(r"(\d{4}) not in CL_\S+( or CL_\S+)* at \d{4}", v):
        change(m.group(1), "ZZZ")
    elif m := re.fullmatch(r"(\d{4}) is not unique", v):
        ddid = m.group(1)
        change(ddid, get(data[LAYOUT.field(ddid).file][1], ddid).decode().strip())  # record 2's key
    elif m := re.fullmatch(r"(\d{4}) not in file \S+", v):
        change(m.group(1), "NOSUCHPARENT")
    elif m := re.fullmatch(r"count\((\S+)\) != (\d{4})", v):
        change(m.group(2), str(len(data[m.group(1)]) + 1))
    elif m := re.fullmatch(r"record length of (\S+) is wrong", v):
        file = LAYOUT.file(m.group(1))
        for key in file.key:
            if len(file.key) == 1 or key in REFERENCED:
                gone[key] = get(data[file.name][0], key)
        data[file.name][0] = data[file.name][0] + b" "
    elif m := re.fullmatch(r"(\d{4}) != zip\.(\w+)", v):
        # The zip is renamed, so the packing slip (and every other rule) stays as it was.
        part = "version" if m.group(2) == "ga_version" else m.group(2)
        other = {"provider": "94001235", "branch": "01", "created": "20190604", "version": "091"}[part]
        name = name.replace(f"_{standard().naming.parse(name).parts[part]}_", f"_{other}_", 1)
    elif m := re.fullmatch(r"(\d{4}) != (\d{4})", v):
        change(m.group(1), "1" * LAYOUT.field(m.group(1)).length)  # well-formed digits, unlike the slip's
    else:
        raise AssertionError(f"no plant for the form {v!r}")
    return name, gone


def cascade(data, gone: dict[str, bytes]) -> Counter:
    """Reference findings the planted fault causes: children of a key value that is no longer there."""
    out: Counter = Counter()
    for rule in RULES + HAND:  # the references to PATIENT.txt's koppelnummer (372, 373) are hand-written
        m = re.fullmatch(r"(\d{4}) not in file \S+", violation(rule))
        if not m:
            continue
        child = LAYOUT.field(m.group(1))
        if child.references in gone:
            out[rule.number] += sum(get(r, child.ddid).strip() == gone[child.references].strip()
                                    for r in data[child.file])
    return out


DECIDABLE = [r for r in RULES if r.number not in NOT_IN_FORCE]


def test_every_derived_number_is_planted_or_said_why_not():
    assert {r.number for r in RULES} == {r.number for r in DECIDABLE} | set(NOT_IN_FORCE)
    assert len(RULES) == 186


@pytest.mark.parametrize("rule", DECIDABLE, ids=lambda r: f"{r.number}-{r.type}")
def test_the_planted_fault_gives_exactly_its_finding(rule, clean, lists, tmp_path):
    data = members(clean)
    name, gone = plant(rule, data, clean.name)
    spoilt = write(tmp_path / name, data)
    result = validate(spoilt, codelists=str(lists))
    expected = Counter({rule.number: 1}) + cascade(data, gone) + Counter(COMPANIONS.get(rule.number, ()))
    assert Counter(result.counts) == expected, [(f.rule, f.file, f.line, f.value) for f in result.findings[:6]]
    [finding] = [f for f in result.findings if f.rule == rule.number]
    assert finding.severity == rule.severity and finding.type == rule.type
    assert result.assessment == ("negative" if "ERR" in {f.severity for f in result.findings} else "positive")


def test_2236_is_not_in_force_on_a_2019_delivery(clean, lists, tmp_path):
    data = members(clean)
    data["OVERIGE_VERRICHTING.txt"][0] = set_field(data["OVERIGE_VERRICHTING.txt"][0], "1530", "ZZZ")
    result = validate(write(tmp_path / clean.name, data), codelists=str(lists))
    assert not result.findings
    assert {r.rule: r.status for r in result.not_evaluated}["2236"] == "not in force"
