"""Issue 11, point 8: the zips of unregistered providers are not kept forever (`disval store prune`)."""
from __future__ import annotations

import shutil

import pytest

from disval.core.cli import main
from disval.core.gate.process import submit
from disval.core.store.delivery_store import StoreError
from gate_support import AGB, BRANCH, OTHER_AGB, delivery, register


def test_prune_forgets_old_zips_of_unregistered_providers_only(store, store_url, tmp_path, pm, capsys):
    register(store)
    mine = submit(delivery(tmp_path, "test", "20180201"), store, pm=pm)
    stranger = submit(delivery(tmp_path, "test", "20180201", agb=OTHER_AGB), store, pm=pm)
    nameless_zip = tmp_path / "not-a-ga-name.zip"
    shutil.copy(delivery(tmp_path, "test", "20180202", agb=OTHER_AGB), nameless_zip)
    nameless = submit(nameless_zip, store, pm=pm)
    # the same content as my delivery under a stranger's name: the shared zip must stay
    copycat_zip = tmp_path / "copy" / delivery(tmp_path, "test", "20180203", agb="03009999").name
    copycat_zip.parent.mkdir()
    shutil.copy(delivery(tmp_path, "test", "20180201"), copycat_zip)
    copycat = submit(copycat_zip, store, pm=pm)
    assert [o.reasons[0].rule for o in (stranger, nameless, copycat)] == ["ZIP-CUSTOMER-UNKNOWN", "ZIP-NAME",
                                                                          "ZIP-CUSTOMER-UNKNOWN"]
    shas = [store.delivery(o.delivery).sha256 for o in (stranger, nameless)]
    capsys.readouterr()

    assert main(["store", "prune", "--store", store_url, "--unregistered-older-than", "30"]) == 0
    assert "0 deliveries" in capsys.readouterr().err  # all submitted today: nothing is old enough
    assert main(["store", "prune", "--store", store_url, "--unregistered-older-than", "0", "--dry-run"]) == 0
    assert capsys.readouterr().out.count("would forget") == 3
    assert store.delivery(stranger.delivery) is not None

    assert main(["store", "prune", "--store", store_url, "--unregistered-older-than", "0"]) == 0
    assert capsys.readouterr().out.count("forgot delivery") == 3
    assert [store.delivery(o.delivery) for o in (stranger, nameless, copycat)] == [None, None, None]
    for sha256 in shas:
        with pytest.raises(StoreError):
            store.read_blob(sha256)
    kept = store.delivery(mine.delivery)
    assert kept.status == "accepted" and store.read_blob(kept.sha256)  # a registered provider's zip stays
    assert [d.id for d in store.deliveries(AGB, BRANCH)] == [mine.delivery]

    with pytest.raises(SystemExit) as refused:
        main(["store", "prune", "--store", store_url, "--unregistered-older-than", "soon"])
    assert refused.value.code == 2 and "not a number of days: 'soon'" in capsys.readouterr().err
