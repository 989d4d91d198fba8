"""An imported delivery is queryable: a typed column per attribute, with the values the delivery holds."""
from __future__ import annotations

import datetime as dt
import zipfile

import pytest

from disval.core.gate.process import submit
from disval.core.store.tables import file_tables
from disval.plugins.ga_ohw_gbg import standard as ohw_gbg
from gate_support import AGB, BRANCH, delivery, register

SQL_TYPE = {"AN": "text", "N": "integer", "D": "date"}  # as each backend names them, after normalising


def expected(text: str, fld):
    """The GA's reading of one padded value, written out plainly (the import does it per column)."""
    if fld.type == "N":
        return int(text) if text.strip().isdigit() else None
    if fld.type == "D":
        try:
            return dt.datetime.strptime(text, "%Y%m%d").date()
        except ValueError:
            return None
    return text.rstrip(" ") or None


def declared_types(store, table: str) -> dict[str, str]:
    if store.dialect.name == "sqlite":
        rows = store._exec(f"PRAGMA table_info({table})").fetchall()
        return {r[1]: {"TEXT": "text", "INTEGER": "integer", "DATE": "date"}[r[2]] for r in rows}
    rows = store._exec("SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ?",
                       (table,)).fetchall()
    return {r[0]: {"text": "text", "bigint": "integer", "date": "date"}[r[1]] for r in rows}


def as_date(value):
    return dt.date.fromisoformat(value) if isinstance(value, str) else value


@pytest.fixture
def imported(store, tmp_path, pm):
    register(store)
    assert submit(delivery(tmp_path, "test", "20180201"), store, pm=pm).status == "accepted"
    path = delivery(tmp_path, "production", "20180301", trajects=40, profiles=120, seed=3)
    outcome = submit(path, store, pm=pm)
    assert outcome.status == "imported", outcome
    return store, path, outcome


def test_every_attribute_is_a_typed_column_holding_the_delivered_value(imported):
    store, path, outcome = imported
    std = ohw_gbg()
    tables = file_tables(std)
    assert {t.file for t in tables} == {f.name for f in std.layout.files if not f.packing_slip}
    with zipfile.ZipFile(path) as z:
        for t in tables:
            layout = std.layout.file(t.file)
            types = declared_types(store, t.table)
            for fld in layout.fields:
                assert types[t.column(fld.ddid).name] == SQL_TYPE[fld.type], fld.label
            lines = z.read(t.file).decode("latin-1").splitlines()
            want = {}
            for line in lines:
                values = {f.ddid: expected(line[f.start:f.end], f) for f in layout.fields}
                want[values[layout.key[0]]] = values
            # The view, as an analyst reads it: provider and delivery spelled out, then the attributes.
            cursor = store._exec(f"SELECT * FROM {t.view}")
            names = [c[0] for c in cursor.description]
            assert names == ["provider_agb", "provider_branch", "delivery", *t.names]
            got = {}
            for row in cursor.fetchall():
                assert row[:3] == (AGB, BRANCH, outcome.name)
                values = {c.ddid: as_date(v) if c.type == "D" else v for c, v in zip(t.columns, row[3:])}
                got[values[layout.key[0]]] = values
            assert got == want and len(got) == len(lines)


def test_column_names_read_as_the_ga_writes_them():
    names = {t.file: t.names for t in file_tables(ohw_gbg())}
    assert names["BEHANDELTRAJECT.txt"][:3] == [
        "d3257_behandeltrajectnummer", "d3258_koppelnummer", "d3262_begindatum_behandeltraject"]
    assert "d3315_direct_patientgebonden_tijd_minuten" in names["GELEVERD_ZORGPROFIEL.txt"]


def test_an_analyst_query_on_the_typed_tables(imported):
    store, path, _ = imported
    # "trajects that started in 2018, per month": no JSON to unpack.
    rows = store._exec(
        "SELECT COUNT(*) FROM ga_ohw_gbg_1_0_behandeltraject WHERE d3262_begindatum_behandeltraject >= ?"
        " AND d3262_begindatum_behandeltraject < ?", ("2018-01-01", "2019-01-01")).fetchone()
    with zipfile.ZipFile(path) as z:
        begins = [line[35:43] for line in z.read("BEHANDELTRAJECT.txt").decode("latin-1").splitlines()]
    assert rows[0] == sum(1 for b in begins if b.startswith("2018"))
    minutes = store._exec("SELECT SUM(d3315_direct_patientgebonden_tijd_minuten) FROM"
                          " ga_ohw_gbg_1_0_geleverd_zorgprofiel").fetchone()[0]
    with zipfile.ZipFile(path) as z:
        total = sum(int(line[88:94]) for line in z.read("GELEVERD_ZORGPROFIEL.txt").decode("latin-1").splitlines())
    assert minutes == total


def readme_queries() -> list[str]:
    from pathlib import Path

    text = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    block = text.split("```sql\n", 1)[1].split("```", 1)[0]
    return [q.strip() for q in block.split(";") if q.strip()]


def test_the_readmes_analyst_queries_run_and_agree_with_the_delivery(imported):
    store, path, _ = imported
    queries = readme_queries()
    assert len(queries) == 3
    results = [store._exec(q).fetchall() for q in queries]
    with zipfile.ZipFile(path) as z:
        trajects = z.read("BEHANDELTRAJECT.txt").decode("latin-1").splitlines()
        profiles = z.read("GELEVERD_ZORGPROFIEL.txt").decode("latin-1").splitlines()
    assert sum(r[3] for r in results[0]) == sum(1 for t in trajects if t[35:39] == "2018")
    assert sum(r[1] for r in results[1]) == len(profiles)
    assert sum(r[2] for r in results[1]) == sum(int(p[88:94]) for p in profiles)
    open_trajects = {t[:20].rstrip() for t in trajects if not t[43:51].strip()}
    assert {r[1] for r in results[2]} <= open_trajects
