"""Providers, their accounts, connect-phase settings and software-change notices."""
from __future__ import annotations

import datetime as dt

import pytest

from disval.core.store.delivery_store import StoreError
from store_support import AGB, BRANCH, USER


def test_add_get_and_list_providers(store):
    added = store.add_provider(AGB, BRANCH, USER, "Praktijk De Linde")
    assert (added.agb, added.branch, added.username, added.name) == (AGB, BRANCH, USER, "Praktijk De Linde")
    assert added.active
    assert added.deactivated_at is None and added.created_at.tzinfo is not None
    store.add_provider(AGB, "01", "praktijk94001b")
    store.add_provider("03001234", "00", "ziekenhuis")
    assert store.provider(AGB, BRANCH) == added
    assert store.provider(AGB, "02") is None
    assert [(p.agb, p.branch) for p in store.providers()] == [("03001234", "00"), (AGB, "00"), (AGB, "01")]


def test_a_provider_is_registered_once(store):
    store.add_provider(AGB, BRANCH, USER)
    with pytest.raises(StoreError, match="already registered"):
        store.add_provider(AGB, BRANCH, "someone-else")


def test_deactivate_and_activate(store):
    store.add_provider(AGB, BRANCH, USER)
    gone = store.deactivate_provider(AGB, BRANCH, on=dt.date(2018, 6, 1))
    assert not gone.active and gone.deactivated_at == dt.date(2018, 6, 1)
    assert gone.active_on(dt.date(2018, 5, 31)) and not gone.active_on(dt.date(2018, 6, 1))
    assert store.deactivate_provider(AGB, BRANCH).deactivated_at == dt.date.today()
    back = store.activate_provider(AGB, BRANCH)
    assert back.active and back.deactivated_at is None


def test_unknown_providers_are_named_in_the_error(store):
    with pytest.raises(StoreError, match=f"provider {AGB} {BRANCH} is not registered"):
        store.deactivate_provider(AGB, BRANCH)
    with pytest.raises(StoreError, match="not registered"):
        store.notify_software_change(AGB, BRANCH, supplier="X")


def test_settings_are_fixed_by_the_connect_phase_and_replaced_by_a_new_one(store):
    store.add_provider(AGB, BRANCH, USER)
    assert store.provider_settings(AGB, BRANCH) is None  # still connecting
    fixed = store.fix_provider_settings(AGB, BRANCH, "GA-OHW-GBG-1.0", "LEVERANCIER", "PAKKET")
    assert (fixed.standard, fixed.supplier, fixed.package) == ("GA-OHW-GBG-1.0", "LEVERANCIER", "PAKKET")
    assert fixed.delivery_id is None
    again = store.fix_provider_settings(AGB, BRANCH, "GA-OHW-GBG-1.1", "LEVERANCIER", "NIEUW")
    assert (again.standard, again.package) == ("GA-OHW-GBG-1.1", "NIEUW")


def test_software_change_notices_are_kept_in_order(store):
    store.add_provider(AGB, BRANCH, USER)
    later = dt.datetime(2018, 5, 1, 12, tzinfo=dt.timezone.utc)
    store.notify_software_change(AGB, BRANCH, supplier="B", at=later)
    first = store.notify_software_change(AGB, BRANCH, package="P", at=dt.datetime(2018, 4, 1))  # naive: UTC
    assert first.noticed_at == dt.datetime(2018, 4, 1, tzinfo=dt.timezone.utc)
    notices = store.software_notices(AGB, BRANCH)
    assert [(n.supplier, n.package, n.noticed_at) for n in notices] == [
        (None, "P", dt.datetime(2018, 4, 1, tzinfo=dt.timezone.utc)), ("B", None, later),
    ]
