"""What the store tests share: opening stores, zip names, and the other processes they start.

Run as a script it is one of those processes:

    python store_support.py hold URL AGB BRANCH SECONDS   lock the provider, hold it, print times
    python store_support.py load URL DELIVERY RECORDS PAUSE_AT
        full-load RECORDS records; after PAUSE_AT of them print "mid" and wait to be killed
    python store_support.py mutate URL DELIVERY WHEN
        import a mutation delivery of the test standard (V T1, new T9, its activity) with a report;
        WHEN "merged": inside the transaction, after the merge; "committed": after the commit;
        print WHEN and wait to be killed
"""
from __future__ import annotations

import sys
import time
from functools import lru_cache
from pathlib import Path

import numpy as np
import pluggy

from disval.core import hookspecs
from disval.core.layout import load_layout
from disval.core.standard import DIS_POLICY, Standard, ZipName
from disval.core.store.delivery_store import open_store
from disval.core.store.typed_columns import column
from disval.plugins.ga_ohw_gbg import NAMING
from disval.plugins.ga_ohw_gbg import standard as ohw_gbg
from disval.plugins.stores import postgresql, sqlite

AGB, BRANCH, USER = "94001234", "00", "praktijk94001"
TRAJECT, PROFIEL = "BEHANDELTRAJECT.txt", "GELEVERD_ZORGPROFIEL.txt"

# A small standard delivering mutations, made for the tests, shaped like GA DBC-GGZ: trajects and
# their activities carry a status vlag (as zorgtraject and DBC-traject), the time records of an
# activity do not (as a DBC-traject's profiles: delivered again whole with their activity); each child
# has a foreign key to its parent (`references`).
MUTATIONS_LAYOUT = """
[[files]]
name = "TRAJECT.txt"
key = ["9101"]
status_flag = "9100"
fields = [
  { ddid = "9100", name = "Status vlag", type = "AN", length = 1, begin = 1, end = 1 },
  { ddid = "9101", name = "Zorgtrajectnummer", type = "AN", length = 10, begin = 2, end = 11, key = "PK" },
  { ddid = "9102", name = "Koppelnummer", type = "AN", length = 10, begin = 12, end = 21 },
  { ddid = "9103", name = "Begindatum zorgtraject", type = "D", length = 8, begin = 22, end = 29 },
]

[[files]]
name = "ACTIVITEIT.txt"
key = ["9201"]
status_flag = "9200"
fields = [
  { ddid = "9200", name = "Status vlag", type = "AN", length = 1, begin = 1, end = 1 },
  { ddid = "9201", name = "Activiteitnummer", type = "AN", length = 10, begin = 2, end = 11, key = "PK" },
  { ddid = "9202", name = "Zorgtrajectnummer", type = "AN", length = 10, begin = 12, end = 21, key = "FK", references = "9101" },
  { ddid = "9203", name = "Activiteitdatum", type = "D", length = 8, begin = 22, end = 29 },
  { ddid = "9204", name = "Aantal minuten", type = "N", length = 4, begin = 30, end = 33 },
]

[[files]]
name = "TIJD.txt"
key = ["9301"]
fields = [
  { ddid = "9301", name = "Tijdnummer", type = "AN", length = 10, begin = 1, end = 10, key = "PK" },
  { ddid = "9302", name = "Activiteitnummer", type = "AN", length = 10, begin = 11, end = 20, key = "FK", references = "9201" },
  { ddid = "9303", name = "Minuten", type = "N", length = 4, begin = 21, end = 24 },
]
"""
TRAJ, ACT, TIJD = "TRAJECT.txt", "ACTIVITEIT.txt", "TIJD.txt"


@lru_cache(maxsize=1)
def mutations_standard() -> Standard:
    """The test standard that delivers mutations."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "layout.toml"
        path.write_text(MUTATIONS_LAYOUT, encoding="utf-8")
        layout = load_layout(path)
    return Standard(id="TEST-MUTATIES-1.0", title="test: mutations", version="1.0", layout=layout, rule_files=(),
                    naming=NAMING, policies={"dis": DIS_POLICY}, default_policy="dis", import_mode="mutations")


def batch(standard: Standard, file: str, records: list[dict[str, str]], first_line: int = 1):
    """A ColumnBatch of `records` ({DDID: text}) as the gate builds it: padded as the GA pads, typed per column."""
    layout = standard.layout.file(file)
    lines = []
    for rec in records:
        line = bytearray(b" " * layout.record_length)
        for f in layout.fields:
            v = rec.get(f.ddid, "").encode("latin-1")
            line[f.start:f.end] = (v.rjust(f.length) if f.type == "N" else v.ljust(f.length))[:f.length]
        lines.append(bytes(line))
    rows = np.frombuffer(b"".join(lines), np.uint8).reshape(len(lines), layout.record_length)
    keys = set(layout.key)
    return file, {f.ddid: column(rows, f, f.ddid in keys) for f in layout.fields}, list(
        range(first_line, first_line + len(lines)))


def gbg_batches(*records: tuple[str, dict[str, str]]):
    """GA OHW-GBG batches, one per file, of (file, {DDID: text}) records."""
    per_file: dict[str, list] = {}
    for file, rec in records:
        per_file.setdefault(file, []).append(rec)
    return [batch(ohw_gbg(), f, recs) for f, recs in per_file.items()]


def store_plugins() -> pluggy.PluginManager:
    """A plugin manager with only the built-in stores: the store tests need nothing else."""
    pm = pluggy.PluginManager("disval")
    pm.add_hookspecs(hookspecs)
    pm.register(sqlite, name="disval.plugins.stores.sqlite")
    pm.register(postgresql, name="disval.plugins.stores.postgresql")
    pm.check_pending()
    return pm


def open_url(url: str, **kwargs):
    """Open a store through the `disval_store` hook, or straight from its backend with `migrations=`."""
    if kwargs:
        backend = sqlite.SqliteStore if url.startswith("sqlite") else postgresql.PostgresStore
        return backend.from_url(url, **kwargs)
    return open_store(url, pm=store_plugins())


def zip_name(day="20180301", seq="01", phase="PROD", agb=AGB, branch=BRANCH) -> ZipName:
    """A GA OHW-GBG zip name taken apart."""
    return NAMING.parse(f"DIS_GBG_OHW_{phase}_010_{agb}_{branch}_{day}_{seq}.zip")


def hold(url: str, agb: str, branch: str, seconds: str) -> None:
    store = open_url(url)
    print("ready", time.time(), flush=True)
    with store.lock_provider(agb, branch):
        print("enter", time.time(), flush=True)
        time.sleep(float(seconds))
        print("exit", time.time(), flush=True)
    store.close()


def load(url: str, delivery: str, total: str, pause_at: str) -> None:
    store = open_url(url)

    def batches():
        for start in range(0, int(total), 1000):
            if start == int(pause_at):
                print("mid", flush=True)
                time.sleep(120)  # killed here, while the records are staged
            yield batch(ohw_gbg(), TRAJECT, [{"3257": f"NEW{n:07d}", "3258": "K"}
                                              for n in range(start, min(start + 1000, int(total)))], start + 1)

    def finish(counts):
        if int(pause_at) < 0:
            print("mid", flush=True)
            time.sleep(120)  # killed here, inside the import transaction, after the merge
        return {}

    store.import_delivery(int(delivery), ohw_gbg(), batches(), finish)
    print("done", flush=True)


def load_rows(url: str, delivery: str, total: str, pause_at: str) -> None:
    """As `load`, but a provider's first delivery handed over as the reader yields it (`Stage.add_rows`):
    SQLite writes its blocks on the writer thread. Paused (to be killed) once `pause_at` records were
    handed over and the writer has taken them."""
    store = open_url(url)
    std = ohw_gbg()
    stage = store.stage(std, AGB, BRANCH, int(delivery))
    layout = std.layout.file(TRAJECT)
    for start in range(0, int(total), 10000):
        if start == int(pause_at):
            store._writer.settle()  # the blocks so far are in the open transaction
            print("mid", flush=True)
            time.sleep(120)
        n = min(10000, int(total) - start)
        rows = np.full((n, layout.record_length), 32, np.uint8)
        key, koppel = layout.fields[0], layout.fields[1]
        rows[:, key.start:key.start + 10] = np.frombuffer(
            b"".join(f"NEW{start + i:07d}".encode() for i in range(n)), np.uint8).reshape(n, 10)
        rows[:, koppel.start] = ord("K")
        stage.add_rows(layout, rows, np.arange(start + 1, start + n + 1))
    store.import_delivery(int(delivery), std, stage)
    print("done", flush=True)


def mutate(url: str, delivery: str, when: str) -> None:
    store = open_url(url)
    std = mutations_standard()
    batches = [batch(std, TRAJ, [{"9100": "V", "9101": "T1"}, {"9101": "T9", "9102": "K9", "9103": "20190101"}]),
               batch(std, ACT, [{"9201": "A9", "9202": "T9", "9203": "20190102", "9204": "30"}])]

    def finish(counts):
        if when == "merged":
            print(when, flush=True)
            time.sleep(120)
        return {"reports": {"import.json": store.put_blob(b'{"import": "report"}')}}

    store.import_delivery(int(delivery), std, batches, finish)
    print(when, flush=True)
    time.sleep(120)


if __name__ == "__main__":
    {"hold": hold, "load": load, "load_rows": load_rows, "mutate": mutate}[sys.argv[1]](*sys.argv[2:])
