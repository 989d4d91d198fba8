"""What the gate keeps beyond the first schema: processing times, what a delivery was validated with,
reports and rules files as blobs; and an upgrade of a store the first release wrote."""
from __future__ import annotations

import datetime as dt

from disval.core.store.schema import MIGRATIONS, SCHEMA_VERSION_TABLE
from store_support import AGB, BRANCH, USER, open_url, zip_name
from test_store_schema import _raw

UTC = dt.timezone.utc


def test_a_version_1_store_is_upgraded_and_keeps_its_deliveries(store_url):
    conn, dialect = _raw(store_url)  # the store as disval's first schema left it, with a delivery in it
    conn.execute(SCHEMA_VERSION_TABLE.format(**dialect.types))
    for step in MIGRATIONS[0].steps:
        conn.execute(step.format(**dialect.types))
    conn.execute(dialect.sql("INSERT INTO schema_version VALUES (?, ?, ?)"), (1, "0.1.0", "2026-01-01T00:00:00+00:00"))
    z = zip_name()
    conn.execute(dialect.sql(
        "INSERT INTO deliveries (name, sha256, size, agb, branch, phase, created, sequence, status, reasons, counts,"
        " imported, packing_slip, reports, disval, submitted_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    ), (z.name, "f" * 64, 3, AGB, BRANCH, "production", "2018-03-01", "01", "accepted", "[]", "{}", "{}", "{}",
        "{}", "0.1.0", "2026-01-01T00:00:00+00:00"))
    conn.close()

    store = open_url(store_url)
    try:
        assert store.schema_version() == len(MIGRATIONS) >= 2
        (d,) = store.deliveries(AGB, BRANCH)
        assert (d.name, d.status, d.started_at, d.validation) == (z.name, "accepted", None, {})
        assert store.last_accepted(AGB, BRANCH) == d
    finally:
        store.close()


def test_started_at_and_validation_are_kept(store):
    z = zip_name()
    d = store.add_delivery(z.name, b"zip", z, validation={"request": {"policy": "dis"}})
    assert d.validation == {"request": {"policy": "dis"}} and d.started_at is None
    began = dt.datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    d = store.update_delivery(d.id, started_at=began, validation={**d.validation, "rules": [{"file": "x"}]})
    assert d.started_at == began and d.validation["rules"] == [{"file": "x"}]


def test_blobs_are_kept_once_by_content(store):
    first = store.put_blob(b"a report")
    assert store.put_blob(b"a report") == first and store.read_blob(first) == b"a report"
    assert store._exec("SELECT COUNT(*) FROM blobs WHERE sha256 = ?", (first,)).fetchone()[0] == 1


def test_a_queued_delivery_was_not_received(store):
    store.add_provider(AGB, BRANCH, USER)
    z = zip_name()
    queued = store.add_delivery(z.name, b"zip", z)
    assert store.already_delivered(z.name, "0" * 64) == queued
    assert store.already_delivered(z.name, "0" * 64, received=True) is None
    store.update_delivery(queued.id, status="accepted")
    assert store.already_delivered(z.name, "0" * 64, received=True) == store.delivery(queued.id)
