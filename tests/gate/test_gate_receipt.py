"""Receipt criteria (GA §4.3.2, §6.2.2): each rejects under its own id; later queued deliveries go with it."""
from __future__ import annotations

import shutil

import pytest

from disval.core.gate.process import submit, submit_many
from disval.core.pipeline import rulebook, standards
from disval.core.gate.receipt import packing_slip_rules
from gate_support import AGB, BRANCH, GZ, PAKBON, delivery, register, with_field


@pytest.fixture
def connected(store, tmp_path, pm):
    """A registered provider past its connect phase (a positive TEST delivery fixed its settings)."""
    register(store)
    assert submit(delivery(tmp_path, "test", "20180201"), store, pm=pm).status == "accepted"
    return store


def reasons(outcome) -> list[str]:
    return [r.rule for r in outcome.reasons]


def test_a_good_delivery_passes_receipt(connected, tmp_path, pm):
    o = submit(delivery(tmp_path), connected, pm=pm)
    assert (o.receipt, o.status, o.reasons, o.exit_code) == ("accepted", "imported", [], 0)


def test_unknown_provider(store, tmp_path, pm):
    o = submit(delivery(tmp_path, "test"), store, pm=pm)
    assert (o.receipt, o.status, reasons(o)) == ("rejected", "rejected", ["ZIP-CUSTOMER-UNKNOWN"])
    assert "disval provider add 94001234 00" in o.reasons[0].message
    assert o.exit_code == 1 and o.assessment is None


def test_inactive_provider(connected, tmp_path, pm):
    connected.deactivate_provider(AGB, BRANCH)
    o = submit(delivery(tmp_path), connected, pm=pm)
    assert reasons(o) == ["ZIP-CUSTOMER-INACTIVE"]
    connected.activate_provider(AGB, BRANCH)
    assert submit(delivery(tmp_path), connected, pm=pm).status == "imported"  # may be offered again


def test_duplicate_by_name(connected, tmp_path, pm):
    first = delivery(tmp_path)
    assert submit(first, connected, pm=pm).status == "imported"
    again = with_field(first, tmp_path / "changed", GZ, 1, "3348", "OTHER")  # same name, other content
    o = submit(again, connected, pm=pm)
    assert reasons(o) == ["ZIP-DUPLICATE"] and "the same name" in o.reasons[0].message


def test_duplicate_by_content_under_another_name(connected, tmp_path, pm):
    first = delivery(tmp_path)
    assert submit(first, connected, pm=pm).status == "imported"
    renamed = tmp_path / "renamed" / first.name.replace("_20180301_01", "_20180302_01")
    renamed.parent.mkdir()
    shutil.copy(first, renamed)
    o = submit(renamed, connected, pm=pm)
    assert reasons(o) == ["ZIP-DUPLICATE"] and f"the same content as {first.name}" in o.reasons[0].message


def test_a_rejected_delivery_is_no_duplicate_of_its_corrected_self(store, tmp_path, pm):
    zip_path = delivery(tmp_path, "test")
    assert reasons(submit(zip_path, store, pm=pm)) == ["ZIP-CUSTOMER-UNKNOWN"]
    register(store)
    assert submit(zip_path, store, pm=pm).status == "accepted"


@pytest.mark.parametrize("day, seq", [("20180228", "05"), ("20180301", "01"), ("20180301", "02")])
def test_out_of_order(connected, tmp_path, pm, day, seq):
    assert submit(delivery(tmp_path, day="20180301", seq="03"), connected, pm=pm).status == "imported"
    o = submit(delivery(tmp_path, day=day, seq=seq, seed=2), connected, pm=pm)
    assert reasons(o) == ["ZIP-ORDER"]
    assert "20180301 03" in o.reasons[0].message


def test_order_is_kept_per_phase(connected, tmp_path, pm):
    assert submit(delivery(tmp_path, day="20180305"), connected, pm=pm).status == "imported"
    assert submit(delivery(tmp_path, "test", day="20180302"), connected, pm=pm).status == "accepted"


@pytest.mark.parametrize("ddid, value, rule", [
    ("3233", "20180302", "1781"),  # creatiedatum differs from the zip name
    ("3344", "DIS_GBG_OHW_PROD_010_94001234_00_20180301_09.zip", "1807"),  # zipfilenaam differs
    ("3339", "", "1802"),  # softwareleverancier empty (M)
    ("3245", "x", "1796"),  # aantal geleverd zorgprofiel not a number (S)
])
def test_a_wrong_packing_slip_is_rejected_at_receipt(connected, tmp_path, pm, ddid, value, rule):
    bad = with_field(delivery(tmp_path), tmp_path / "bad", PAKBON, 1, ddid, value)
    o = submit(bad, connected, pm=pm)
    assert (o.receipt, o.status) == ("rejected", "rejected")
    assert rule in reasons(o)
    assert o.reports, "the validation report that found it is kept"
    assert list(connected.records(AGB, BRANCH)) == []


def test_a_packing_slip_of_two_lines_is_rejected(connected, tmp_path, pm):
    from disval.core.faults import rewrite_member

    bad = rewrite_member(delivery(tmp_path), tmp_path / "bad", PAKBON, lambda lines: [line * 2 for line in lines])
    assert "1654" in reasons(submit(bad, connected, pm=pm))


def test_what_the_packing_slip_does_not_cover_is_assessed_not_rejected(connected, tmp_path, pm):
    # 3345 (aantal behandeltraject) = 11 while 10 are delivered: completeness (1642), a processing criterion.
    bad = with_field(delivery(tmp_path), tmp_path / "bad", PAKBON, 1, "3345", "11")
    o = submit(bad, connected, pm=pm)
    assert (o.receipt, o.status, o.assessment) == ("accepted", "assessed_negative", "negative")


def test_a_broken_zip(connected, tmp_path, pm):
    broken = tmp_path / "DIS_GBG_OHW_PROD_010_94001234_00_20180301_01.zip"
    broken.write_bytes(b"PK\x03\x04 this is no zip")
    o = submit(broken, connected, pm=pm)
    assert reasons(o) == ["ZIP-UNREADABLE"]


def test_a_wrong_name(connected, tmp_path, pm):
    good = delivery(tmp_path)
    odd = tmp_path / "DIS_GBG_OHW_PROD_010_94001234_00_2018031_01.zip"
    shutil.copy(good, odd)
    o = submit(odd, connected, pm=pm)
    assert "ZIP-NAME" in reasons(o) and o.agb is None and o.status == "rejected"
    assert connected.delivery(o.delivery).sha256, "kept all the same"


def test_a_rejection_discards_the_later_queued_deliveries(connected, tmp_path, pm):
    earlier = delivery(tmp_path, day="20180301")
    bad = with_field(delivery(tmp_path, day="20180302"), tmp_path / "bad", PAKBON, 1, "3233", "20180303")
    later = [delivery(tmp_path, day="20180303"), delivery(tmp_path, day="20180303", seq="02")]
    other = delivery(tmp_path, "test", day="20180304", agb="03001234")
    register(connected, "03001234")
    # One submit of all five: they are queued together, then processed per provider in order.
    outcomes = submit_many([later[1], bad, other, later[0], earlier], connected, pm=pm)
    by_name = {o.name: o for o in outcomes}
    assert by_name[earlier.name].status == "imported"
    rejected = by_name[bad.name]
    assert rejected.status == "rejected" and "1781" in reasons(rejected)
    assert rejected.discarded == [later[0].name, later[1].name]
    for zip_path in later:
        o = by_name[zip_path.name]
        assert (o.receipt, o.status, reasons(o)) == ("rejected", "discarded", ["ZIP-DISCARDED"])
        assert bad.name in o.reasons[0].message
        assert o.exit_code == 1
    assert by_name[other.name].status == "accepted"  # another provider: untouched
    # Discarded deliveries were never received: once the problem is solved they may be offered again.
    fixed = delivery(tmp_path, day="20180302")
    assert [submit(z, connected, pm=pm).status for z in (fixed, *later)] == ["imported"] * 3


def test_queued_deliveries_are_processed_by_creation_date_then_sequence(connected, tmp_path, pm):
    zips = [delivery(tmp_path, day=d, seq=s) for d, s in
            (("20180310", "01"), ("20180302", "02"), ("20180302", "01"), ("20180305", "01"))]
    outcomes = submit_many(zips, connected, pm=pm)
    assert all(o.status == "imported" for o in outcomes)
    started = sorted(outcomes, key=lambda o: connected.delivery(o.delivery).started_at)
    assert [o.name[-15:-4] for o in started] == ["20180302_01", "20180302_02", "20180305_01", "20180310_01"]


def test_which_rules_make_the_packing_slip_incorrect(pm):
    book = rulebook(pm, standards(pm)["GA-OHW-GBG-1.0"])
    assert packing_slip_rules(book) == {
        "726", "738",  # only when they name PAKBON.txt
        "1654", "1653",  # one record, of the right length
        "1793", "1787", "1798", "1789", "1782", "1803", "1805", "1821", "1792", "1802", "1804", "1799", "1783",
        "1795", "1784", "1796", "1811",  # every field filled and well formed (ERR, types M and S)
        "1791", "1790", "1814", "1781", "1806", "1807",  # agrees with the zip name
    }


def test_a_missing_data_file_is_assessed_a_missing_packing_slip_rejected(connected, tmp_path, pm):
    from disval.core.faults import rewrite_member

    no_profiles = rewrite_member(delivery(tmp_path), tmp_path / "a", GZ, lambda lines: None)
    assert (submit(no_profiles, connected, pm=pm).status) == "assessed_negative"  # 726, processing
    no_slip = rewrite_member(delivery(tmp_path, day="20180302"), tmp_path / "b", PAKBON, lambda lines: None)
    assert reasons(submit(no_slip, connected, pm=pm)) == ["726"]


def _hostile(zip_path, tmp_path, attack: str):
    """The delivery with one member's directory entry broken the way issue 11 found (see tests/validation/hostile.py)."""
    import struct
    import zipfile

    data = bytearray(zip_path.read_bytes())
    with zipfile.ZipFile(zip_path) as zf:
        info = zf.getinfo(GZ)
    if attack == "version 255":  # central directory: 'version needed to extract'
        pos = data.find(b"PK\x01\x02")
        while data[pos + 46:pos + 46 + len(GZ)] != GZ.encode():
            pos = data.find(b"PK\x01\x02", pos + 4)
        struct.pack_into("<H", data, pos + 6, 255)
    else:  # the local header's name is not UTF-8, though its flag says it is
        start = info.header_offset
        data[start + 30] = 0xFF
        struct.pack_into("<H", data, start + 6, struct.unpack_from("<H", data, start + 6)[0] | 0x800)
    out = tmp_path / "hostile" / zip_path.name
    out.parent.mkdir(exist_ok=True)
    out.write_bytes(bytes(data))
    return out


@pytest.mark.parametrize("attack", ["version 255", "local name not UTF-8"])
def test_a_zip_the_reader_cannot_parse_is_rejected_at_receipt(attack, connected, tmp_path, pm):
    """Issue 11: a zip that made the reader raise is ZIP-UNREADABLE at receipt, and the queue goes on."""
    o = submit(_hostile(delivery(tmp_path), tmp_path, attack), connected, pm=pm)
    assert (o.receipt, o.status, o.exit_code) == ("rejected", "rejected", 1)
    assert "ZIP-UNREADABLE" in reasons(o)
    assert submit(delivery(tmp_path, day="20180302"), connected, pm=pm).status == "imported"
