"""Malformed lines cost array operations, not Python objects per line (issue 11, point 4).

A member of nothing but bare line ends is within the zip limits and yet
millions of malformed records: each must be counted (its length finding,
REC-EOL, records with ERR) in bounded memory, and every mixture of good and
bad lines must be cut exactly as a plain line-by-line reading would.
"""
from __future__ import annotations

import json
import random
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from disval.core.engine.common import RecordMarks
from disval.core.reader import open_delivery, read_records
from disval.plugins.ga_ohw_gbg import standard

from planting import BT, GZ, write_zip

WIDTH = {BT: 92, GZ: 126}


def plain_cut(data: bytes, width: int):
    """The oracle: (good lines, {bad line: length}, lines without CR/LF), read one line at a time."""
    good, bad, eol = [], {}, []
    lines = data.split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    for number, raw in enumerate(lines, start=1):
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        else:
            eol.append(number)
        if len(raw) == width:
            good.append((number, raw))
        else:
            bad[number] = len(raw)
    return good, bad, sorted(set(eol))


def disval_cut(path, name: str, batch_records: int):
    std = standard()
    layout = std.layout.file(name)
    good, bad, eol = [], {}, []
    with open_delivery(path, std) as delivery:
        for chunk in read_records(delivery, layout, batch_records=batch_records):
            assert chunk.line_count <= max(batch_records, 1), "a chunk holds at most a batch of lines"
            good += [(int(n), row.tobytes()) for n, row in zip(chunk.lines, chunk.rows)]
            bad.update(zip(chunk.bad_lines.tolist(), chunk.bad_lengths.tolist()))
            eol += chunk.eol.tolist()
    return good, bad, sorted(set(eol))


def random_member(rng: random.Random, clean_line: bytes) -> bytes:
    pieces = []
    for _ in range(rng.randint(0, 400)):
        kind = rng.randrange(7)
        if kind < 3:
            pieces.append(clean_line + b"\r\n")
        elif kind == 3:
            pieces.append(rng.choice((b"\n", b"\r\n", b"\r", b"\n\n")))
        elif kind == 4:
            pieces.append(clean_line[:rng.randrange(len(clean_line))] + rng.choice((b"\n", b"\r\n")))
        elif kind == 5:
            pieces.append(clean_line + b"X" * rng.randint(1, 3) + b"\r\n")
        else:
            pieces.append(clean_line + b"\n")
    if rng.random() < 0.3 and pieces:
        pieces[-1] = pieces[-1].rstrip(b"\r\n")  # a last line without its end
    return b"".join(pieces)


@pytest.mark.parametrize("seed", range(12))
def test_any_mixture_is_cut_as_a_line_by_line_reading_would(seed, clean, tmp_path):
    rng = random.Random(seed)
    clean_line = dict(clean.members)[GZ].split(b"\r\n")[0]
    data = random_member(rng, clean_line)
    path = write_zip(tmp_path / clean.name, [(n, data if n == GZ else d) for n, d in clean.members])
    assert disval_cut(path, GZ, batch_records=rng.choice((1, 3, 50, 1 << 16))) == plain_cut(data, WIDTH[GZ])


def test_record_marks_count_each_record_once():
    """Marks in any order, repeated, across blocks: a record is counted once; a full block stays exact."""
    rng = np.random.default_rng(3)
    marks, expected = RecordMarks(), set()
    for size in (10, 70_000, 5, 200_000, 1):
        lines = rng.integers(1, 400_000, size)
        marks.mark(GZ, "ERR", lines)
        expected.update(lines.tolist())
    every = np.arange(1, 10 * RecordMarks.BLOCK + 10)  # more blocks than are kept open: packed and full ones too
    marks.mark(BT, "ERR", every)
    marks.mark(BT, "ERR", every[::7])
    assert marks.counts() == {GZ: {"ERR": len(expected)}, BT: {"ERR": len(every)}}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads the peak RSS from /proc/self/status")
def test_twenty_million_bare_line_ends_in_bounded_memory(clean, tmp_path):
    """20 MiB of bare LFs (20 million bad records, no ratio to call a bomb) is counted whole, in little memory."""
    data = bytearray(b"\n" * (20 << 20))
    data[::500] = b"A" * len(data[::500])  # a letter now and then: the member deflates under 1000:1
    lines = data.count(b"\n")
    path = write_zip(tmp_path / clean.name, [(n, bytes(data) if n == GZ else d) for n, d in clean.members])
    script = textwrap.dedent("""
        import json, re, sys
        from disval.core.pipeline import validate
        r = validate(sys.argv[1], max_per_rule=1000)  # as the command line lists by default
        print(json.dumps({"counts": r.counts, "records": r.records, "with": r.records_with}))
        print(re.search(r"VmHWM:\\s+(\\d+) kB", open("/proc/self/status").read()).group(1))
    """)
    done = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    report, peak_kib = done.stdout.strip().splitlines()
    report = json.loads(report)
    assert report["records"][GZ] == lines
    assert report["counts"]["1652"] == lines  # every line has the wrong length...
    assert report["counts"]["REC-EOL"] == lines  # ...and no CR
    assert report["with"][GZ]["ERR"] == lines
    assert int(peak_kib) / 1024 < 250, f"peak RSS {int(peak_kib) / 1024:.0f} MiB"
