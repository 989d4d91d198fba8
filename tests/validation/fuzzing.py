"""Mutate delivery zips the way a hostile provider would, and run one through disval (issue 11).

One mutation engine serves the fuzz test in the suite (hypothesis hands it a
seeded `random.Random`) and the long-running script `tests/bench/fuzz_long.py`
(a plain seeded `random.Random`). A mutant starts from a real delivery (the
shipped examples, a freshly generated one) and is changed at one of two
levels, or both:

- members: line ends removed or doubled, lines cut, bytes set to control or
  high characters, lines repeated, names replaced (case, control characters,
  NUL, folders, empty), members dropped or duplicated, packed stored, deflate,
  bzip2 or LZMA;
- bytes of the zip: flipped, overwritten with boundary values (0, 0xFF...,
  2**31, 2**63) at header fields, cut short, spliced.

`run_one` validates the mutant through the public API and renders every
report format; its only documented outcome is a `ValidationResult` whose
reports all read back (see `rendering.problems`). Anything else is a crash.
"""
from __future__ import annotations

import io
import random
import time
import warnings
import zipfile
from pathlib import Path

from disval.core.cli import DEFAULT_MAX_FINDINGS
from disval.core.pipeline import validate
from disval.core.plugins import hookimpl
from disval.core.reports import ReportOptions

from rendering import problems, render_every_format

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((REPO / "contrib" / "examples").rglob("*.zip"))
NAMES = ("BEHANDELTRAJECT.txt", "GELEVERD_ZORGPROFIEL.txt", "PAKBON.txt")
METHODS = (zipfile.ZIP_DEFLATED, zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA)
ODD_NAMES = ("", "\x00", "BEHANDELTRAJECT.txt\x00.exe", "sub/PAKBON.txt", "../PAKBON.txt", "\x1b[2JPAKBON.txt",
             "pakbon.TXT", "PAKBON.txt/", "\\PAKBON.txt", "é" * 300, "PAKBON.txt ", "\u202eTXT.NOBKAP")
ODD_BYTES = (b"\x00", b"\r", b"\n", b"\r\n", b"\x1a", b"\x7f", b"\x85", b"\xff", b"\x1b[31m", b" " * 7, b"9" * 9)
BOUNDARY = (0, 1, 0xFF, 0xFFFF, 0xFFFFFFFF, 1 << 31, (1 << 63) + 1, (1 << 64) - 1)


def seed_deliveries(tmp: Path) -> list[tuple[str, list[tuple[str, bytes]]]]:
    """(zip name, members) of each delivery mutants start from: the shipped examples and a generated one."""
    from disval.core.generate import generate_delivery

    paths = list(EXAMPLES) + [generate_delivery(tmp, trajects=6, profiles=9, seed=11)]
    out = []
    for path in paths:
        with zipfile.ZipFile(path) as zf:
            out.append((path.name, [(i.filename, zf.read(i)) for i in zf.infolist()]))
    return out


def mutant(rng: random.Random, seeds) -> tuple[str, bytes]:
    """A zip name and the bytes of a mutated delivery."""
    name, members = rng.choice(seeds)
    members = list(members)
    if rng.random() < 0.8:
        for _ in range(rng.randint(1, 4)):
            members = _mutate_members(rng, members)
    data = _pack(rng, members)
    if rng.random() < 0.5:
        for _ in range(rng.randint(1, 6)):
            data = _mutate_bytes(rng, data)
    if rng.random() < 0.05:
        name = rng.choice(("delivery.zip", name.lower(), name[:-4] + "\x1b[0m.zip", name.replace("_01", "_1")))
    return name, data


def _mutate_members(rng: random.Random, members: list) -> list:
    if not members:
        return [(rng.choice(NAMES), b"")]
    k = rng.randrange(len(members))
    member, data = members[k]
    how = rng.randrange(10)
    if how == 0:  # line ends: bare LF, bare CR, none, doubled
        data = data.replace(b"\r\n", rng.choice((b"\n", b"\r", b"", b"\r\n\r\n", b"\n\n")))
    elif how == 1 and data:  # cut
        data = data[:rng.randrange(len(data))]
    elif how == 2 and data:  # odd bytes somewhere
        at = rng.randrange(len(data))
        odd = rng.choice(ODD_BYTES)
        data = data[:at] + odd + data[at + (len(odd) if rng.random() < 0.5 else 0):]
    elif how == 3:  # many copies of a line, or of bare line ends
        piece = rng.choice((data[:rng.randint(1, 400)] or b"\n", b"\n", b"\r\n"))
        data = data + piece * rng.randint(1, 3000)
    elif how == 4:  # renamed
        member = rng.choice(ODD_NAMES + NAMES)
    elif how == 5:  # dropped
        return members[:k] + members[k + 1:]
    elif how == 6:  # duplicated
        return members + [(member, data)]
    elif how == 7 and data:  # a field overwritten with a boundary-looking value
        at = rng.randrange(len(data))
        data = data[:at] + rng.choice((b"00000000", b"99999999", b"-1", b"        ", b"20180231")) + data[at + 8:]
    elif how == 8:  # empty
        data = b""
    else:  # one long line
        data = data + b"A" * rng.randint(1, 70_000)
    return members[:k] + [(member, data)] + members[k + 1:]


def _pack(rng: random.Random, members) -> bytes:
    out = io.BytesIO()
    method = rng.choice(METHODS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # duplicate names are the point
        with zipfile.ZipFile(out, "w", compression=method) as zf:
            for name, data in members:
                # zipfile writes no empty name (test_hostile_zips builds that one by hand)
                info = zipfile.ZipInfo(name or "x", date_time=(2018, 2, 1, 0, 0, 0))
                info.compress_type = rng.choice((method, method, zipfile.ZIP_STORED))
                zf.writestr(info, data)
    return out.getvalue()


def _mutate_bytes(rng: random.Random, data: bytes) -> bytes:
    if not data:
        return data
    data = bytearray(data)
    how = rng.randrange(5)
    if how == 0:  # flip a few bits
        for _ in range(rng.randint(1, 8)):
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
    elif how == 1:  # a header field set to a boundary value
        starts = [i for sig in (b"PK\x01\x02", b"PK\x03\x04", b"PK\x05\x06", b"PK\x06\x06", b"PK\x06\x07")
                  for i in _find_all(data, sig)]
        at = rng.choice(starts) + rng.randrange(4, 46) if starts else rng.randrange(len(data))
        width = rng.choice((1, 2, 4, 8))
        value = rng.choice(BOUNDARY) % (1 << (8 * width))
        field = value.to_bytes(width, "little")
        data[at:at + width] = field[:max(0, len(data) - at)]
    elif how == 2:  # cut short
        del data[rng.randrange(len(data)):]
    elif how == 3:  # a span repeated or moved
        a = rng.randrange(len(data))
        b = min(len(data), a + rng.randint(1, 200))
        at = rng.randrange(len(data))
        data[at:at] = data[a:b]
    else:  # random bytes over a span
        at = rng.randrange(len(data))
        data[at:at + 16] = bytes(rng.randrange(256) for _ in range(16))
    return bytes(data)


def _find_all(data: bytearray, sig: bytes):
    pos = data.find(sig)
    while pos >= 0:
        yield pos
        pos = data.find(sig, pos + 1)


_PM = []


class _CodelistsOnce:
    """Hands every validation of this process the same codelist provider, built once per standard.

    The provider reads and parses the codelist files on first use and keeps
    them (it is built to be reused); building a fresh one per mutant would
    re-read the same files on every run, a fifth of a small validation's time,
    for nothing the mutant can change.
    """

    def __init__(self, pm):
        # the providers as installed, without this plugin: what each run would otherwise get
        self._built = {}
        self._pm = pm

    @hookimpl(tryfirst=True)
    def disval_codelist_provider(self, standard, location):
        """The provider the installed plugins give for (standard, location), built on first request."""
        key = (standard.id, location)
        if key not in self._built:
            installed = self._pm.subset_hook_caller("disval_codelist_provider", remove_plugins=[self])
            self._built[key] = installed(standard=standard, location=location)
        return self._built[key]


def plugin_manager():
    """One plugin manager for every run of this process, reusing its codelist provider (see `_CodelistsOnce`)."""
    if not _PM:  # building it is most of a small validation's time
        from disval.core.plugins import get_plugin_manager

        pm = get_plugin_manager()
        pm.register(_CodelistsOnce(pm), name="fuzz-codelists-once")
        _PM.append(pm)
    return _PM[0]


def run_one(path: Path, xlsx: bool = True, stages: dict | None = None, seen=None) -> list[str]:
    """Validate `path` and render every report format; return what went wrong (exceptions propagate).

    `xlsx=False` leaves out the xlsx report, whose writing and reading back take two thirds of a run.
    `stages` (a dict), when given, gains the CPU seconds of each step: validate, render and check
    each format (`tests/bench/fuzz_long.py --profile` prints them). `seen` (a Counter), when given,
    counts the assessment and each rule that found something: how far into disval the mutants get.
    """
    pm = plugin_manager()
    began = time.process_time()
    # As many listed findings as the command line lists by default: `None` would build every one of
    # a member's million bad lines as a Finding, which is what a caller asking for all of them gets.
    result = validate(path, pm=pm, max_per_rule=DEFAULT_MAX_FINDINGS)
    if stages is not None:
        stages["validate"] = stages.get("validate", 0.0) + time.process_time() - began
    assert result.assessment in ("positive", "negative")
    if seen is not None:
        seen.update([result.assessment, *(rule for rule, n in result.counts.items() if n)])
    found = []
    skip = () if xlsx else ("xlsx",)
    for name, output in render_every_format(result, ReportOptions(max_examples=20), skip, stages).items():
        began = time.process_time()
        found += problems(name, output)
        if stages is not None:
            stages[f"check {name}"] = stages.get(f"check {name}", 0.0) + time.process_time() - began
    return found
