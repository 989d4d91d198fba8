"""Every attribute of every shipped standard becomes a typed column holding the delivered value."""
from __future__ import annotations

import datetime as dt

import pytest

from disval.core.store.tables import file_tables
from disval.plugins.ga_dbc_ggz import standard as dbc_ggz
from disval.plugins.ga_ohw_gbg import standard as ohw_gbg
from store_support import AGB, BRANCH, USER, batch, zip_name

DECLARED = {  # how each backend names the declared type -> the layout's type
    "sqlite": {"TEXT": "AN", "INTEGER": "N", "DATE": "D"},
    "postgresql": {"text": "AN", "bigint": "N", "date": "D"},
}


def sample(fld, n: int, key: bool) -> str:
    """Record n's value of a field, as a delivery writes it unpadded; record 5 leaves non-keys empty."""
    if n == 5 and not key:
        return ""
    if fld.type == "D":
        return (dt.date(2018, 1, 1) + dt.timedelta(days=n * 37)).strftime("%Y%m%d")
    if fld.type == "N":
        return str((n * 7 + 1) % 10 ** fld.length)
    return (f"R{n}" if key else f"{fld.ddid}ë{n}")[:fld.length]


def expected(text: str, fld):
    """The GA's reading of one value, written out plainly (the import does it per column, in numpy)."""
    if not text.strip():
        return None
    if fld.type == "D":
        return dt.datetime.strptime(text, "%Y%m%d").date()
    return int(text) if fld.type == "N" else text


def declared_types(store, table):
    if store.dialect.name == "sqlite":
        return {r[1]: r[2] for r in store._exec(f"PRAGMA table_info({table})").fetchall()}
    return dict(store._exec("SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ?",
                            (table,)).fetchall())


@pytest.mark.parametrize("std", [ohw_gbg(), dbc_ggz()], ids=lambda s: s.id)
def test_every_attribute_is_a_typed_column_with_the_delivered_value(store, std):
    store.add_provider(AGB, BRANCH, USER)
    z = zip_name()
    d = store.add_delivery(z.name, z.name.encode(), z, status="accepted", standard=std.id)
    files = [f for f in std.layout.files if not f.packing_slip]
    delivered = {
        f.name: [{fld.ddid: " " if fld.ddid == f.status_flag else sample(fld, n, fld.ddid in f.key)
                  for fld in f.fields} for n in range(6)]
        for f in files
    }
    counts = store.import_delivery(d.id, std, [batch(std, f.name, delivered[f.name]) for f in files])
    for t in file_tables(std):
        layout = std.layout.file(t.file)
        assert counts[t.file].inserted == 6, t.file
        types = declared_types(store, t.table)
        for fld in layout.fields:
            if fld.ddid == layout.status_flag:
                assert t.column(fld.ddid) is None  # what to do with a record, not part of it
            else:
                assert DECLARED[store.dialect.name][types[t.column(fld.ddid).name]] == fld.type, fld.label
        cursor = store._exec(f"SELECT * FROM {t.view}")
        names = [c[0] for c in cursor.description]
        assert names[:3] == ["provider_agb", "provider_branch", "delivery"] and names[3:] == t.names
        got = {}
        for row in cursor.fetchall():
            values = {c.ddid: dt.date.fromisoformat(v) if c.type == "D" and isinstance(v, str) else v
                      for c, v in zip(t.columns, row[3:])}
            got[tuple(values[k] for k in layout.key)] = values
        want = {}
        for rec in delivered[t.file]:
            values = {f.ddid: expected(rec[f.ddid], f) for f in layout.fields if f.ddid != layout.status_flag}
            want[tuple(values[k] for k in layout.key)] = values
        assert got == want, t.file


def test_ga_dbc_ggz_mutations_follow_its_5_3(store):
    """§5.3: 'V' on a zorgtraject removes its DBC-trajecten with their profiles and diagnoses; a DBC-traject
    delivered again brings its whole set of profiles and diagnoses; a patient is only ever mutated."""
    std = dbc_ggz()
    store.add_provider(AGB, BRANCH, USER)
    days = iter(range(1, 28))

    def deliver(**files):
        z = zip_name(f"201803{next(days):02d}")
        d = store.add_delivery(z.name, z.name.encode(), z, status="accepted", standard=std.id)
        return store.import_delivery(d.id, std, [batch(std, f, recs) for f, recs in files.items()])

    def keys(file):
        return sorted(k for _, k, _ in store.records(AGB, BRANCH, file))

    patient = {"1430": AGB, "1431": BRANCH, "1432": "P1"}
    deliver(**{
        "PATIENT.txt": [patient],
        "ZORGTRAJECT.txt": [{"1450": " ", "1449": "Z1", "1453": "P1"}, {"1450": " ", "1449": "Z2", "1453": "P1"}],
        "DBC_TRAJECT.txt": [{"1463": " ", "1462": "D1", "1464": "Z1"}, {"1463": " ", "1462": "D2", "1464": "Z2"}],
        "GELEVERD_ZORGPROFIEL_TIJDSCHRIJVEN.txt": [{"1488": "D1", "1489": "A1"}, {"1488": "D1", "1489": "A2"},
                                                   {"1488": "D2", "1489": "A3"}],
        "DIAGNOSE.txt": [{"1481": "D1", "5121": "G1"}, {"1481": "D2", "5121": "G2"}],
    })
    # D1 again, with one profile: A2 goes, A4 comes; its diagnose set is now empty.
    counts = deliver(**{"DBC_TRAJECT.txt": [{"1463": " ", "1462": "D1", "1464": "Z1"}],
                        "GELEVERD_ZORGPROFIEL_TIJDSCHRIJVEN.txt": [{"1488": "D1", "1489": "A1"},
                                                                   {"1488": "D1", "1489": "A4"}]})
    assert keys("GELEVERD_ZORGPROFIEL_TIJDSCHRIJVEN.txt") == ["A1", "A3", "A4"]
    assert keys("DIAGNOSE.txt") == ["D2|G2"]
    assert counts["GELEVERD_ZORGPROFIEL_TIJDSCHRIJVEN.txt"].deleted == 1
    # Z2 deleted: D2, A3 and G2 go with it; Z1 and the patient stay.
    deliver(**{"PATIENT.txt": [patient], "ZORGTRAJECT.txt": [{"1450": "V", "1449": "Z2", "1453": "P1"}]})
    assert keys("ZORGTRAJECT.txt") == ["Z1"] and keys("DBC_TRAJECT.txt") == ["D1"]
    assert keys("GELEVERD_ZORGPROFIEL_TIJDSCHRIJVEN.txt") == ["A1", "A4"] and keys("DIAGNOSE.txt") == []
    assert keys("PATIENT.txt") == [f"{AGB}|{BRANCH}|P1"]


def test_a_key_with_a_leading_space_is_stored_as_the_key_validation_compares(store):
    """Keys compare without leading spaces (README, "Alignment and padding"): ` BT1` is traject BT1, and a
    profile's ` BT1` joins it; other AN values keep what was delivered."""
    std = ohw_gbg()
    store.add_provider(AGB, BRANCH, USER)
    z = zip_name()
    d = store.add_delivery(z.name, z.name.encode(), z, status="accepted", standard=std.id)
    trajects = [{"3257": " BT1", "3258": " K1"}, {"3257": "BT2", "3258": "K2"}]
    profiles = [{"3310": "  BC1", "3309": " BT1", "3311": " BC01"}, {"3310": "BC2", "3309": "BT2", "3311": "BC01"}]
    store.import_delivery(d.id, std, [batch(std, "BEHANDELTRAJECT.txt", trajects),
                                      batch(std, "GELEVERD_ZORGPROFIEL.txt", profiles)])
    tables = {t.file: t for t in file_tables(std)}
    bt, gz = tables["BEHANDELTRAJECT.txt"], tables["GELEVERD_ZORGPROFIEL.txt"]
    key, koppel = bt.column("3257").name, bt.column("3258").name
    assert sorted(store._exec(f"SELECT {key}, {koppel} FROM {bt.table}").fetchall()) == [("BT1", "K1"), ("BT2", "K2")]
    own, ref, code = gz.column("3310").name, gz.column("3309").name, gz.column("3311").name
    joined = store._exec(f"SELECT p.{own}, p.{code}, t.{key} FROM {gz.table} p JOIN {bt.table} t ON t.{key} = p.{ref}"
                         f" ORDER BY p.{own}").fetchall()
    assert joined == [("BC1", " BC01", "BT1"), ("BC2", "BC01", "BT2")]
