"""The store's live state: progress figures and failed sign-ins that every process on a store shares,
written beside the deliveries, never inside their transactions, and never waiting for an import."""
from __future__ import annotations

import time

from disval.core.store.delivery_store import open_store
from disval.plugins import delivery_progress


def test_a_figure_written_by_one_store_object_is_read_by_another(store_url):
    with open_store(store_url) as writer, open_store(store_url) as reader:
        assert writer.live().put_progress(7, "validating", 40, 81, new=True)
        [figure] = reader.live().progress([7, 8]).values()
        assert (figure.delivery, figure.stage, figure.records, figure.expected, figure.percent) == \
            (7, "validating", 40, 81, 49)
        assert abs(figure.updated - time.time()) < 5  # in this process's clock, whatever the server's says
        writer.live().clear_progress(7)
        assert reader.live().progress([7]) == {}


def test_a_figure_is_written_while_an_import_holds_the_store(store_url):
    """An import is one long write transaction; its own figures must not wait for it to commit (SQLite has
    one writer per file: that is why its live state is a file of its own) nor be part of it."""
    with open_store(store_url) as importing, open_store(store_url) as portal:
        with importing._transaction():  # what an import holds while it writes
            importing.add_provider("94001234", "00", "gbg94001234")
            started = time.monotonic()
            assert importing.live().put_progress(1, "importing", 500, 1000, new=True)
            assert time.monotonic() - started < 2, "the figure waited for the import"
            assert portal.live().progress([1])[1].records == 500  # visible before the import commits
            assert portal.provider("94001234", "00") is None
        assert portal.provider("94001234", "00") is not None


def test_sign_in_failures_expire_after_the_window(store_url):
    with open_store(store_url) as one, open_store(store_url) as two:
        keys = ("login:dm", "client:192.0.2.1")
        for _ in range(3):
            one.live().sign_in_failed(keys, window=900)
        assert two.live().sign_in_wait(keys, limit=3, window=900) > 800
        assert two.live().sign_in_wait(keys, limit=4, window=900) == 0
        time.sleep(1.2)
        assert two.live().sign_in_wait(keys, limit=3, window=1) == 0  # older than the window: forgotten
        two.live().sign_in_succeeded("login:dm")
        assert one.live().sign_in_wait(("login:dm",), limit=1, window=900) == 0


class _CountingLive:
    def __init__(self):
        self.writes, self.cleared = [], []

    def put_progress(self, delivery_id, stage, records, expected, *, new=False):
        self.writes.append((stage, records, expected))
        return True

    def clear_progress(self, delivery_id):
        self.cleared.append(delivery_id)


class _Store:
    def __init__(self, live):
        self._live = live

    def live(self):
        return self._live


class _Delivery:
    id = 3


def test_the_plugin_writes_at_most_one_figure_a_second_besides_stage_changes(monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(delivery_progress.time, "monotonic", lambda: clock[0])
    live = _CountingLive()
    delivery_progress.disval_delivery_event("started", _Delivery(), _Store(live))
    delivery_progress.disval_validation_started("D.zip", None, {"A.txt": 5000, "B.txt": 5000})
    for n in range(1, 101):  # 100 batches in 5 seconds
        clock[0] += 0.05
        delivery_progress.disval_records_read("A.txt", n * 50)
    delivery_progress.disval_validation_finished(None)
    delivery_progress.disval_delivery_event("processed", _Delivery(), _Store(live))
    stages = [w[0] for w in live.writes]
    assert stages[0] == "receipt" and stages[1] == "validating" and stages[-1] == "reports"
    between = [w for w in live.writes if w[0] == "validating"][1:]
    assert 4 <= len(between) <= 5, live.writes  # one a second over five seconds, not a hundred
    assert all(expected == 10000 for _, _, expected in between) and between[-1][1] >= 4000  # at most a second behind
    assert live.cleared == [3]


def test_a_live_state_that_fails_never_fails_the_delivery(monkeypatch, caplog):
    class Broken:
        def put_progress(self, *a, **k):
            raise OSError("the side file's disk is full")

        def clear_progress(self, delivery_id):
            raise OSError("still full")

    delivery_progress.disval_delivery_event("started", _Delivery(), _Store(Broken()))
    delivery_progress.disval_records_read("A.txt", 10)  # nothing followed any more: no error either
    delivery_progress.disval_delivery_event("processed", _Delivery(), _Store(Broken()))
    assert "could not follow the progress of delivery 3" in caplog.text


def test_an_unwritable_side_file_costs_the_figure_only(tmp_path):
    store_path = tmp_path / "disval.db"
    with open_store(f"sqlite:///{store_path}") as store:
        (tmp_path / "disval.db.live").mkdir()  # something in the way: the side file cannot be opened
        assert store.live().put_progress(1, "validating", 1, 2, new=True) is False
