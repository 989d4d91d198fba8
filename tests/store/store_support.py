"""What the store tests share: opening stores, zip names, and the other processes they start.

Run as a script it is one of those processes:

    python store_support.py hold URL AGB BRANCH SECONDS   lock the provider, hold it, print times
    python store_support.py load URL DELIVERY RECORDS PAUSE_AT
        full-load RECORDS records; after PAUSE_AT of them print "mid" and wait to be killed
"""
from __future__ import annotations

import sys
import time

import pluggy

from disval.core import hookspecs
from disval.core.standard import ZipName
from disval.core.store import open_store
from disval.plugins.ga_ohw_gbg import NAMING
from disval.plugins.stores import postgresql, sqlite

AGB, BRANCH, USER = "94001234", "00", "praktijk94001"


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

    def records():
        for n in range(int(total)):
            if n == int(pause_at):
                print("mid", flush=True)
                time.sleep(120)  # killed here, inside the import transaction
            yield "BEHANDELTRAJECT.txt", f"NEW{n:07d}", {"3257": f"NEW{n:07d}", "3258": "K"}

    store.full_load(int(delivery), records(), batch_size=1000)
    print("done", flush=True)


if __name__ == "__main__":
    {"hold": hold, "load": load}[sys.argv[1]](*sys.argv[2:])
