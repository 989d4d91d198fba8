"""How a delivery store is found and opened: the default location, the `disval_store` hook, a URL
fit for messages. Imported by `delivery_store` (where these have always been importable from), so
this module imports nothing of it at its top."""
from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

if TYPE_CHECKING:  # pragma: no cover
    import pluggy

    from .delivery_store import DeliveryStore


def default_store_url(environ: dict[str, str] | None = None) -> str:
    """`DISVAL_STORE`, else an SQLite file in the user's data directory.

    The data directory is the platform's (platformdirs): `$XDG_DATA_HOME/disval`
    or `~/.local/share/disval` on Linux, `~/Library/Application Support/disval`
    on macOS, `%LOCALAPPDATA%\\disval` on Windows.
    """
    env = os.environ if environ is None else environ
    if env.get("DISVAL_STORE"):
        return env["DISVAL_STORE"]
    import platformdirs  # here, not at import: only commands that open the default store need it

    root = platformdirs.user_data_path("disval", appauthor=False)
    if not root.is_absolute():  # a relative XDG_DATA_HOME is invalid, and the XDG spec says to ignore it
        root = Path.home() / ".local" / "share" / "disval"
    return f"sqlite:///{root / 'disval.db'}"


def open_store(url: str | None = None, pm: "pluggy.PluginManager | None" = None) -> DeliveryStore:
    """Open the store at `url` (default: `default_store_url()`) through the `disval_store` hook."""
    url = url or default_store_url()
    if pm is None:
        from ..plugins import get_plugin_manager

        pm = get_plugin_manager()
    store = pm.hook.disval_store(url=url)
    if store is None:
        from .delivery_store import StoreError

        raise StoreError(
            f"no store plugin handles {redact_url(url)}: use sqlite:///PATH or postgresql://USER@HOST/DB"
        )
    prepare = getattr(store, "prepare", None)  # a plugin's store need not derive from DeliveryStore
    if prepare is None:
        return store
    try:  # the standards come from plugins: known here, not in the backend
        for std in {s.id: s for found in pm.hook.disval_standards() for s in found}.values():
            prepare(std)
    except BaseException:
        store.close()
        raise
    return store


def redact_url(url: str) -> str:
    """`url` without its password, fit for messages and reports."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))
