"""The plugin manager: built-ins and installed plugins, registered through the same hooks."""
from __future__ import annotations

import importlib

import pluggy

from . import hookspecs

hookimpl = pluggy.HookimplMarker("disval")

# Built-in behaviour, each a plugin module like any third-party one.
DEFAULT_PLUGINS = (
    "disval.plugins.ga_ohw_gbg",
    "disval.plugins.ga_dbc_ggz",
    "disval.plugins.codelists_dir",
    "disval.plugins.fixed_width",
    "disval.plugins.reports.text",
    "disval.plugins.reports.json",
    "disval.plugins.stores.sqlite",
    "disval.plugins.stores.postgresql",
    "disval.plugins.reports.csv",
    "disval.plugins.reports.xlsx",
    "disval.plugins.reports.html",
    "disval.plugins.reports.junit",
    "disval.plugins.delivery_progress",
    "disval.plugins.mail",
)


def get_plugin_manager(extra: tuple = (), load_entry_points: bool = True) -> pluggy.PluginManager:
    """Build a plugin manager: specs, built-ins, the `disval` entry-point group, then `extra` objects.

    `check_pending()` makes a misspelt hook implementation fail loudly.
    """
    pm = pluggy.PluginManager("disval")
    pm.add_hookspecs(hookspecs)
    for name in DEFAULT_PLUGINS:
        pm.register(importlib.import_module(name), name=name)
    if load_entry_points:
        pm.load_setuptools_entrypoints("disval")
    for plugin in extra:
        pm.register(plugin)
    pm.check_pending()
    return pm


def by_name(groups, what: str, key=lambda item: item.name) -> dict:
    """Flatten the lists a collecting hook returned into {name: item}; two plugins naming one item is an error."""
    out: dict = {}
    for group in groups:
        for item in group or ():
            name = key(item)
            if name in out:
                raise ValueError(f"two plugins provide {what} {name!r}")
            out[name] = item
    return out


def close_plugins(plugins) -> None:
    """Call `close()` on each plugin object that has one: what `disval_serve_configure` made for a
    `disval serve` or `disval worker`, when that process stops (the e-mail notifier sends what it holds)."""
    for plugin in plugins:
        close = getattr(plugin, "close", None)
        if callable(close):
            close()
