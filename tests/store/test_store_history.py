"""The store answers the history rules: 1656, 2054 (stored keys), 1812, 1813 (software), 1819 (account)."""
from __future__ import annotations

import datetime as dt

import pytest

from disval.plugins.ga_ohw_gbg import standard as ohw_gbg
from store_support import AGB, BRANCH, PROFIEL, TRAJECT, USER, gbg_batches, zip_name
UTC = dt.timezone.utc


@pytest.fixture
def imported(store):
    """A provider whose last production delivery holds trajects T1 (K1), T2 (K2) and components C1 (T1), C2 (T2)."""
    store.add_provider(AGB, BRANCH, USER)
    store.add_provider("03001234", "00", "ziekenhuis")
    for agb, koppel in ((AGB, "K"), ("03001234", "X")):
        z = zip_name(agb=agb)
        d = store.add_delivery(z.name, z.name.encode(), z, status="accepted", standard="GA-OHW-GBG-1.0")
        store.import_delivery(d.id, ohw_gbg(), gbg_batches(
            (TRAJECT, {"3257": "T1", "3258": f"{koppel}1"}),
            (TRAJECT, {"3257": "T2", "3258": f"{koppel}2"}),
            (PROFIEL, {"3310": "C1", "3309": "T1"}),
            (PROFIEL, {"3310": "C2", "3309": "T2"}),
        ))
    return store


def test_1656_a_traject_number_stored_under_another_koppelnummer(imported):
    history = imported.history(AGB, BRANCH)
    delivered = [("T1", "K1"), ("T2", "K9"), ("T3", "K3")]  # T2 moved to K9; T3 is new
    assert history.stored_with_other(TRAJECT, "3257", "3258", delivered) == {"T2"}


def test_1656_does_not_fire_for_the_same_koppelnummer_or_padded_values(imported):
    history = imported.history(AGB, BRANCH)
    delivered = [("T1                  ", "K1             "), ("T2", "K2")]
    assert history.stored_with_other(TRAJECT, "3257", "3258", delivered) == set()
    assert history.stored_with_other(TRAJECT, "3257", "3258", []) == set()


def test_1656_looks_only_at_this_providers_records(imported):
    # 03001234 stored T1 under X1: no concern of 94001234, whose T1 is under K1.
    assert imported.history("03001234", "00").stored_with_other(TRAJECT, "3257", "3258", [("T1", "K1")]) == {"T1"}
    assert imported.history(AGB, BRANCH).stored_with_other(TRAJECT, "3257", "3258", [("T1", "K1")]) == set()
    assert imported.history(AGB, "07").stored_with_other(TRAJECT, "3257", "3258", [("T1", "Z")]) == set()


def test_1656_returns_the_keys_as_delivered(imported):
    padded = "T2                  "
    assert imported.history(AGB, BRANCH).stored_with_other(TRAJECT, "3257", "3258", [(padded, "K9")]) == {padded}


def test_1656_over_many_keys(imported):
    delivered = [(f"N{n}", "K") for n in range(1200)] + [("T1", "K7")]
    assert imported.history(AGB, BRANCH).stored_with_other(TRAJECT, "3257", "3258", delivered) == {"T1"}


def test_2054_a_component_number_stored_under_another_traject(imported):
    history = imported.history(AGB, BRANCH)
    assert history.stored_with_other(PROFIEL, "3310", "3309", [("C1", "T2"), ("C2", "T2")]) == {"C1"}
    assert history.stored_with_other(PROFIEL, "3310", "3309", [("C1", "T1"), ("C3", "T9")]) == set()


def test_1656_and_2054_answered_from_the_staged_delivery_agree_with_the_pairs(imported):
    """The gate stages a production delivery while validating it; the history rules then join the stage
    (by line) instead of being handed every (key, other) pair: both give the same clashes."""
    stage = imported.stage(ohw_gbg())
    try:
        trajects = [("T1", "K1"), ("T2", "K9"), ("T3", "K3"), ("", "K4")]  # T2 moved to K9, T3 new, no key
        profiles = [("C1", "T2"), ("C2", "T2"), ("C5", "T5")]  # C1 moved to T2
        for file, key, other, records in ((TRAJECT, "3257", "3258", trajects), (PROFIEL, "3310", "3309", profiles)):
            stage.add(*gbg_batches(*((file, {key: k, other: o}) for k, o in records))[0])
        staged = imported.history(AGB, BRANCH, standard=ohw_gbg().id, stage=stage)
        paired = imported.history(AGB, BRANCH, standard=ohw_gbg().id)
        assert staged.stored_with_other_at(TRAJECT, "3257", "3258") == {2}  # line 2: T2 under K9
        assert paired.stored_with_other(TRAJECT, "3257", "3258", [p for p in trajects if p[0]]) == {"T2"}
        assert staged.stored_with_other_at(PROFIEL, "3310", "3309") == {1}
        assert paired.stored_with_other(PROFIEL, "3310", "3309", profiles) == {"C1"}
        # The staged records are compared with the records of the provider asked about only.
        assert imported.history("03001234", "00", standard=ohw_gbg().id, stage=stage).stored_with_other_at(
            TRAJECT, "3257", "3258") == {1, 2}  # it stored T1, T2 under X1, X2
        # A history without the stage cannot answer by line: the engine hands it the pairs.
        assert paired.stored_with_other_at(TRAJECT, "3257", "3258") is None
    finally:
        stage.drop()


def _delivery(store, day, status, supplier="LEVERANCIER", package="PAKKET", at=None):
    z = zip_name(day)
    d = store.add_delivery(z.name, z.name.encode(), z, status="queued", at=at)
    d = store.update_delivery(
        d.id, status="accepted" if status == "imported" else status, packing_slip={"3339": supplier, "3334": package}
    )
    if status == "imported":
        store.import_delivery(d.id, ohw_gbg(), [])
    return store.delivery(d.id)


def test_1812_1813_no_previous_delivery_means_anything_goes(store):
    store.add_provider(AGB, BRANCH, USER)
    assert store.history(AGB, BRANCH).expected_value("3339") is None


def test_1812_1813_expect_the_previous_accepted_deliverys_software(store):
    store.add_provider(AGB, BRANCH, USER)
    _delivery(store, "20180301", "accepted", "LEVERANCIER      ", "PAKKET")
    _delivery(store, "20180302", "assessed_negative", "ANDER", "ANDERS")  # not accepted: does not count
    _delivery(store, "20180303", "rejected", "ANDER", "ANDERS")
    history = store.history(AGB, BRANCH)
    assert history.expected_value("3339") == "LEVERANCIER"
    assert history.expected_value("3334") == "PAKKET"
    assert history.expected_value("3342") is None  # not kept from that packing slip


def test_1812_1813_previous_means_before_the_delivery_being_validated(store):
    store.add_provider(AGB, BRANCH, USER)
    _delivery(store, "20180301", "imported", "EERSTE")
    current = _delivery(store, "20180401", "accepted", "TWEEDE")  # being validated: never its own previous
    _delivery(store, "20180501", "accepted", "DERDE")
    assert store.history(AGB, BRANCH, before=current.id).expected_value("3339") == "EERSTE"
    assert store.history(AGB, BRANCH).expected_value("3339") == "DERDE"


def test_1812_1813_a_notice_since_the_previous_delivery_lifts_the_check(store):
    store.add_provider(AGB, BRANCH, USER)
    _delivery(store, "20180301", "imported", at=dt.datetime(2018, 3, 1, 12, tzinfo=UTC))
    store.notify_software_change(AGB, BRANCH, supplier="NIEUW", at=dt.datetime(2018, 2, 1, tzinfo=UTC))  # before
    assert store.history(AGB, BRANCH).expected_value("3339") == "LEVERANCIER"
    store.notify_software_change(AGB, BRANCH, supplier="NIEUW", at=dt.datetime(2018, 3, 5, tzinfo=UTC))
    assert store.history(AGB, BRANCH).expected_value("3339") is None
    assert store.history(AGB, BRANCH).expected_value("3334") is None
    # The next accepted delivery, with the new software, is what later ones are held to.
    _delivery(store, "20180401", "imported", "NIEUW", at=dt.datetime(2018, 4, 1, tzinfo=UTC))
    assert store.history(AGB, BRANCH).expected_value("3339") == "NIEUW"


def test_1819_a_registered_active_account(store):
    store.add_provider(AGB, BRANCH, USER)
    history = store.history(AGB, BRANCH)
    on = dt.date(2018, 3, 1)
    assert history.account_registered(USER, AGB, BRANCH, on)
    assert history.account_registered(USER + "  ", AGB, BRANCH, on)  # AN padding
    assert not history.account_registered("someone-else", AGB, BRANCH, on)
    assert not history.account_registered(USER, AGB, "01", on)
    assert not history.account_registered(USER, "03001234", BRANCH, on)


def test_1819_an_account_is_valid_until_it_is_deactivated(store):
    store.add_provider(AGB, BRANCH, USER)
    store.deactivate_provider(AGB, BRANCH, on=dt.date(2018, 6, 1))
    history = store.history(AGB, BRANCH)
    assert history.account_registered(USER, AGB, BRANCH, dt.date(2018, 5, 31))
    assert not history.account_registered(USER, AGB, BRANCH, dt.date(2018, 6, 1))
    store.activate_provider(AGB, BRANCH)
    assert history.account_registered(USER, AGB, BRANCH, dt.date(2019, 1, 1))
