"""Every installed inflater gives the bytes zipfile gives, and the same findings (issue 13).

disval inflates with python-isal or zlib-ng when installed, else with the
standard library's zlib. Deflate is a format, so the bytes must be the same
whichever library produced them: checked against `zipfile`'s own read on a
seeded set of members of every kind (empty, one byte, random, records,
long runs, every compression level, stored), read in pieces of many sizes,
and on the example deliveries by their findings. The bomb limit holds for
each inflater: never more than a byte past the declared size is produced.
"""
from __future__ import annotations

import os
import random
import struct
import subprocess
import sys
import zipfile
from collections import Counter
from pathlib import Path

import pytest

from disval.core import delivery_zip
from disval.core.delivery_zip import INFLATERS, MemberStream, Unreadable, inflater, inflaters
from disval.core.pipeline import validate

EXAMPLES = Path(__file__).resolve().parents[2] / "contrib" / "examples"
EXAMPLE_ZIPS = sorted(EXAMPLES.rglob("*.zip"))
INSTALLED = inflaters()


def _members(seed: int) -> list[tuple[str, bytes, int, int]]:
    """(name, bytes, method, level) of members meant to reach every corner of an inflater's loop."""
    rng = random.Random(seed)
    record = lambda: b"".join(rng.choice([b"BT", b"GZ", b"  ", b"2018", b"0000"]) for _ in range(30)) + b"\r\n"
    contents = [
        b"",
        b"x",
        rng.randbytes(1 << 16),  # incompressible: stored blocks inside deflate
        b"".join(record() for _ in range(20_000)),  # records, several MiB
        b"\0" * (3 << 20) + rng.randbytes(100) + b"\0" * 12345,  # long runs: high ratio
        bytes(rng.randrange(4) + 48 for _ in range(200_000)),  # few symbols: dynamic Huffman tables
    ]
    out = []
    for k, data in enumerate(contents):
        level = rng.choice([0, 1, 6, 9])
        method = zipfile.ZIP_STORED if k % 4 == 3 else zipfile.ZIP_DEFLATED
        out.append((f"M{k}_{level}.txt", data, method, level))
    return out


def _zip(path: Path, members) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data, method, level in members:
            zf.writestr(zipfile.ZipInfo(name, (2018, 2, 1, 0, 0, 0)), data, compress_type=method,
                        compresslevel=level if method == zipfile.ZIP_DEFLATED else None)
    return path


def _read(archive, info, name: str, size: int) -> bytes:
    with MemberStream(archive, info, inflater(name)) as stream:
        return b"".join(iter(lambda: stream.read(size), b""))


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("name", INSTALLED)
def test_inflater_gives_zipfiles_bytes(name, seed, tmp_path):
    path = _zip(tmp_path / "members.zip", _members(seed))
    rng = random.Random(seed)
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            expected = archive.read(info)
            for size in (1 << 22, rng.randrange(1, 1 << 16), 4096):
                if size < 64 and len(expected) > 1 << 20:
                    continue  # byte-sized reads of megabytes only take time
                assert _read(archive, info, name, size) == expected, (info.filename, size)
            with MemberStream(archive, info, inflater(name)) as stream:
                assert stream.read() == expected  # read() reads all that is left


def test_every_known_inflater_is_tried_and_zlib_is_always_there():
    assert INSTALLED[-1] == "zlib"
    assert INSTALLED == [n for n in INFLATERS if n in INSTALLED]
    assert inflater().name == INSTALLED[0]


@pytest.mark.parametrize("example", EXAMPLE_ZIPS, ids=lambda p: p.parent.name + "/" + p.name)
def test_example_deliveries_have_the_same_findings_whatever_the_inflater(example, monkeypatch):
    outcomes = {}
    for name in INSTALLED:
        monkeypatch.setenv("DISVAL_INFLATER", name)
        result = validate(example, max_per_rule=None)
        outcomes[name] = (Counter(result.findings), result.counts, result.records, result.assessment)
    assert all(outcome == outcomes["zlib"] for outcome in outcomes.values())
    assert outcomes["zlib"][2]  # records were read


def _corrupt(tmp_path: Path, how: str) -> Path:
    """A zip of one deflate member of 2 MiB of records, broken in one way."""
    data = b"".join(b"%08d BEHANDELTRAJECT record with some text\r\n" % i for i in range(40_000))
    path = _zip(tmp_path / f"{how}.zip", [("M.txt", data, zipfile.ZIP_DEFLATED, 6)])
    raw = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("M.txt")
    name_len, extra_len = struct.unpack_from("<HH", raw, info.header_offset + 26)
    start = info.header_offset + 30 + name_len + extra_len
    if how == "garbled":
        for k in range(start + 500, start + info.compress_size, 97):
            raw[k] ^= 0xA5
    elif how == "crc":
        central = raw.rfind(b"PK\x01\x02")
        struct.pack_into("<I", raw, central + 16, info.CRC ^ 1)
        struct.pack_into("<I", raw, info.header_offset + 14, info.CRC ^ 1)
    elif how == "short":  # the deflate stream cut off: its compressed data is shorter than the stream
        cut = info.compress_size // 2
        del raw[start + cut:start + info.compress_size]
        for where, at in ((info.header_offset, 18), (raw.rfind(b"PK\x01\x02"), 20)):
            struct.pack_into("<I", raw, where + at, cut)
        end = raw.rfind(b"PK\x05\x06")
        struct.pack_into("<I", raw, end + 16, struct.unpack_from("<I", raw, end + 16)[0] - (info.compress_size - cut))
    elif how == "declared-smaller":  # a bomb in miniature: 1,000 bytes declared, 2 MiB inside
        for where, at in ((info.header_offset, 22), (raw.rfind(b"PK\x01\x02"), 24)):
            struct.pack_into("<I", raw, where + at, 1000)
    elif how == "declared-larger":
        for where, at in ((info.header_offset, 22), (raw.rfind(b"PK\x01\x02"), 24)):
            struct.pack_into("<I", raw, where + at, len(data) + 10)
    path.write_bytes(bytes(raw))
    return path


@pytest.mark.parametrize("how, says", [("garbled", ""), ("crc", "crc"), ("short", "unpacks to"),
                                       ("declared-smaller", "past its declared size"),
                                       ("declared-larger", "unpacks to")])
@pytest.mark.parametrize("name", INSTALLED)
def test_broken_member_is_unreadable_with_every_inflater(name, how, says, tmp_path):
    path = _corrupt(tmp_path, how)
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("M.txt")
        stream = MemberStream(archive, info, inflater(name))
        with pytest.raises(Unreadable) as caught:
            while stream.read(1 << 16):
                # The bomb limit is on bytes produced: never more than a byte past what is declared.
                assert stream.produced <= info.file_size + 1
        stream.close()
    assert says in str(caught.value).lower()


def test_without_the_optional_libraries_zlib_inflates(monkeypatch, tmp_path):
    """On a platform without isal or zlib-ng wheels, disval falls back to zlib and reads the same."""
    monkeypatch.setitem(sys.modules, "isal", None)  # `import isal` now raises ImportError
    monkeypatch.setitem(sys.modules, "zlib_ng", None)
    monkeypatch.delenv("DISVAL_INFLATER", raising=False)
    delivery_zip._load.cache_clear()
    try:
        assert inflaters() == ["zlib"]
        assert inflater().name == "zlib"
        with pytest.raises(ValueError, match="installed: zlib"):
            inflater("isal")
        result = validate(EXAMPLE_ZIPS[0])
        assert result.assessment == "positive" and result.records["GELEVERD_ZORGPROFIEL.txt"] == 120
    finally:
        monkeypatch.undo()
        delivery_zip._load.cache_clear()
    assert inflaters() == INSTALLED


def test_unknown_inflater_is_a_clear_usage_error(tmp_path):
    done = subprocess.run([sys.executable, "-m", "disval.core.cli", "validate", str(EXAMPLE_ZIPS[0])],
                          capture_output=True, text=True, env={**os.environ, "DISVAL_INFLATER": "brotli"})
    assert done.returncode == 2
    assert "inflater 'brotli' is not installed" in done.stderr and "Traceback" not in done.stderr

