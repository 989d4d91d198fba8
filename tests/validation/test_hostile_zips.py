"""Hostile zips (issue 11): every broken zip is a located finding and exit 1, never a traceback.

Points 2 and 3 of the issue, and the NUL name of point 8: the zips are built
byte by byte (`hostile`), run through the command line as a user would, and
their JSON report read.
"""
from __future__ import annotations

import bz2
import subprocess
import sys
import textwrap
import zipfile

import pytest

from hostile import garbled, renamed, restamped, version_needed, zip64_offset, zip_bytes
from planting import BT, GZ, PB
from test_bad_input import check, where


def hostile_zip(clean, tmp_path, data: bytes):
    path = tmp_path / clean.name
    path.write_bytes(data)
    return path


def unreadable(report) -> dict:
    """file (None: the zip itself) -> message of every ZIP-UNREADABLE finding."""
    return {f["file"]: f["message"] for f in report["findings"] if f["rule"] == "ZIP-UNREADABLE"}


# ---------------------------------------------------------------- point 2: the zip layer never raises


@pytest.mark.parametrize("attack, member, says", [
    # zipfile: NotImplementedError while reading the directory
    (lambda data: version_needed(data, BT), None, "NotImplementedError"),
    # a zip64 extra field puts the local header past 2**63: OverflowError/ValueError when seeking
    (lambda data: zip64_offset(data, BT), BT, "offset"),
    # the local header's name is not UTF-8 although its flag says so: UnicodeDecodeError on open
    (lambda data: renamed(data, BT, b"\xff" + BT.encode()[1:], local_too=True, utf8_flag=True), BT, "utf-8"),
    # the directory's name is not UTF-8 although its flag says so
    (lambda data: renamed(data, BT, b"\xff" + BT.encode()[1:], utf8_flag=True), None, "utf-8"),
    # the local header's name differs from the directory's
    (lambda data: renamed(data, BT, b"X" + BT.encode()[1:], local_too=True), BT, "differ"),
    # deflate data garbled from the middle: zlib.error, or a CRC error at the end
    (lambda data: garbled(data, GZ, start=40, step=7), GZ, ""),
    # the directory cut short
    (lambda data: data[:-30], None, ""),
])
def test_broken_zip_is_a_located_finding(attack, member, says, clean, tmp_path):
    report = check(hostile_zip(clean, tmp_path, attack(zip_bytes(clean.members))))
    messages = unreadable(report)
    assert member in messages, report["findings"]
    assert says.lower() in messages[member].lower()
    assert report["assessment"] == "negative"


def test_empty_member_name(clean, tmp_path):
    """A member without a name is refused (ZIP-PATH), so the file it was meant to be is missing (726)."""
    report = check(hostile_zip(clean, tmp_path, renamed(zip_bytes(clean.members), BT, b"")))
    assert where(report) == {("ZIP-PATH", "", None), ("726", BT, None)}


def test_member_name_with_nul(clean, tmp_path):
    """zipfile cuts a name at NUL; 'BEHANDELTRAJECT.txt\\0.exe' is not BEHANDELTRAJECT.txt."""
    nul_name = BT + "\x00.exe"
    report = check(hostile_zip(clean, tmp_path, renamed(zip_bytes(clean.members), BT, nul_name.encode())))
    assert where(report) == {("ZIP-PATH", nul_name, None), ("726", BT, None)}
    assert BT not in report["records"]


# ---------------------------------------------------------------- point 3: bomb limits on what is produced


@pytest.mark.parametrize("method, name", [(zipfile.ZIP_BZIP2, "bzip2"), (zipfile.ZIP_LZMA, "LZMA")])
def test_methods_other_than_stored_and_deflate_are_refused(method, name, clean, tmp_path):
    """Each member packed with another method is one located ZIP-UNREADABLE that names the method."""
    report = check(hostile_zip(clean, tmp_path, zip_bytes(clean.members, method)))
    messages = unreadable(report)
    assert set(messages) == {BT, GZ, PB}
    assert all(name in m and "deflate" in m for m in messages.values())


def test_stored_members_are_read(clean, tmp_path):
    report = check(hostile_zip(clean, tmp_path, zip_bytes(clean.members, zipfile.ZIP_STORED)), exit_code=0)
    assert report["findings"] == []


@pytest.fixture(scope="module")
def bzip2_bomb(clean, tmp_path_factory):
    """160 MiB of zeros as a bzip2 member of a few hundred bytes whose directory entry declares 1,000 bytes."""
    packer = bz2.BZ2Compressor(9)
    block = b"\0" * (1 << 20)
    packed = b"".join(packer.compress(block) for _ in range(160)) + packer.flush()
    members = [(n, packed if n == GZ else d) for n, d in clean.members]
    data = restamped(zip_bytes(members, zipfile.ZIP_STORED), GZ, method=zipfile.ZIP_BZIP2, declared=1000)
    path = tmp_path_factory.mktemp("bzip2") / clean.name
    path.write_bytes(data)
    return path


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads the peak RSS from /proc/self/status")
def test_small_declared_bzip2_member_is_not_inflated(bzip2_bomb):
    """A bzip2 member declaring 1,000 bytes that inflates to 160 MiB is refused unread: memory stays low."""
    # VmHWM, not ru_maxrss: after fork and exec Linux keeps the parent's (pytest's) high-water mark in the
    # latter, the former is this process's own.
    script = textwrap.dedent("""
        import re, sys
        from disval.core.pipeline import validate
        result = validate(sys.argv[1])
        print(sorted({(f.rule, f.file) for f in result.findings}))
        print(re.search(r"VmHWM:\\s+(\\d+) kB", open("/proc/self/status").read()).group(1))
    """)
    done = subprocess.run([sys.executable, "-c", script, str(bzip2_bomb)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    found, peak_kib = done.stdout.strip().splitlines()
    assert ("ZIP-UNREADABLE", GZ) in eval(found)
    assert int(peak_kib) / 1024 < 140, f"peak RSS {int(peak_kib) / 1024:.0f} MiB"
