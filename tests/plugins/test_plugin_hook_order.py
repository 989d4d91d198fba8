"""One plugin implements every hook; the order in which they fire is part of the plugin contract.

docs/plugins.md draws this order; change both together.
"""
from __future__ import annotations

import pytest

from disval.core import hookspecs
from disval.core.pipeline import validate
from disval.core.plugins import get_plugin_manager, hookimpl
from disval.core.reports import write_reports


class EveryHook:
    """Records each hook call as (hook, what it was about) and changes nothing."""

    def __init__(self):
        self.calls: list[tuple[str, str]] = []

    @hookimpl
    def disval_standards(self):
        self.calls.append(("disval_standards", ""))
        return []

    @hookimpl
    def disval_extra_rules(self, standard):
        self.calls.append(("disval_extra_rules", standard.id))
        return []

    @hookimpl
    def disval_codelist_provider(self, standard, location):
        self.calls.append(("disval_codelist_provider", standard.id))

    @hookimpl
    def disval_record_reader(self, standard, layout):
        self.calls.append(("disval_record_reader", layout.name))

    @hookimpl
    def disval_report_formats(self):
        self.calls.append(("disval_report_formats", ""))
        return []

    @hookimpl
    def disval_validation_started(self, delivery, standard):
        self.calls.append(("disval_validation_started", delivery))

    @hookimpl
    def disval_records_read(self, file, records):
        self.calls.append(("disval_records_read", f"{file} {records}"))

    @hookimpl
    def disval_validation_finished(self, result):
        self.calls.append(("disval_validation_finished", result.assessment))

    @hookimpl
    def disval_store(self, url):
        self.calls.append(("disval_store", url))

    @hookimpl
    def disval_records_imported(self, delivery, file, records, total):
        self.calls.append(("disval_records_imported", f"{file} {records}/{total}"))

    @hookimpl
    def disval_delivery_event(self, event, delivery, store):
        self.calls.append(("disval_delivery_event", event))

    @hookimpl
    def disval_delivery_generator(self, standard):
        self.calls.append(("disval_delivery_generator", standard.id))

    @hookimpl
    def disval_serve_options(self, parser):
        self.calls.append(("disval_serve_options", parser.prog))

    @hookimpl
    def disval_serve_configure(self, options):
        self.calls.append(("disval_serve_configure", options.host))
        return []


def test_the_hooks_fire_in_this_order_during_validate_and_report_writing(ga_delivery, tmp_path):
    plugin = EveryHook()
    pm = get_plugin_manager(extra=(plugin,), load_entry_points=False)
    implemented = sorted(caller.name for caller in pm.get_hookcallers(plugin))
    assert implemented == sorted(n for n in vars(hookspecs) if n.startswith("disval_")), "implement every hook here"

    result = validate(ga_delivery, pm=pm, batch_records=8)
    write_reports(result, ["text", "json"], tmp_path, pm=pm)

    assert plugin.calls == [
        # set-up: which standard, its rules, codelists and readers; nothing is opened yet
        ("disval_standards", ""),
        ("disval_extra_rules", "GA-OHW-GBG-1.0"),
        ("disval_codelist_provider", "GA-OHW-GBG-1.0"),
        ("disval_record_reader", "BEHANDELTRAJECT.txt"),
        ("disval_record_reader", "GELEVERD_ZORGPROFIEL.txt"),
        ("disval_record_reader", "PAKBON.txt"),
        # validation: the packing slip first, then the files, a running count per batch
        ("disval_validation_started", ga_delivery.name),
        ("disval_records_read", "PAKBON.txt 1"),
        ("disval_records_read", "BEHANDELTRAJECT.txt 6"),
        ("disval_records_read", "GELEVERD_ZORGPROFIEL.txt 8"),
        ("disval_records_read", "GELEVERD_ZORGPROFIEL.txt 12"),
        ("disval_validation_finished", "positive"),
        # reports: the formats are looked up once for all of them
        ("disval_report_formats", ""),
    ]


def test_the_gate_fires_the_delivery_events_around_the_validation(ga_delivery, tmp_path):
    from disval.core.gate.process import submit
    from disval.core.store.delivery_store import open_store

    plugin = EveryHook()
    pm = get_plugin_manager(extra=(plugin,), load_entry_points=False)
    with open_store(f"sqlite:///{tmp_path / 'store.db'}", pm=pm) as store:
        store.add_provider("94001234", "00", "gbg94001234")
        plugin.calls.clear()
        submit(ga_delivery, store, pm=pm)
    gate = [c for c in plugin.calls if c[0] in ("disval_delivery_event", "disval_validation_started",
                                               "disval_validation_finished")]
    assert gate == [("disval_delivery_event", "received"), ("disval_delivery_event", "started"),
                    ("disval_validation_started", ga_delivery.name), ("disval_validation_finished", "positive"),
                    ("disval_delivery_event", "processed")]


def test_serve_asks_for_options_when_its_parser_is_built_then_configures_before_the_app(tmp_path, monkeypatch):
    pytest.importorskip("starlette", reason="the portal needs the serve extra")
    import uvicorn

    from disval.core.cli import main
    from disval.core.portal import commands

    plugin = EveryHook()
    monkeypatch.setattr(commands, "get_plugin_manager", lambda: get_plugin_manager(extra=(plugin,),
                                                                                    load_entry_points=False))
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: plugin.calls.append(("uvicorn.run", kw["host"])))
    store = f"sqlite:///{tmp_path / 'store.db'}"
    assert main(["serve", "--store", store, "--no-worker", "--host", "127.0.0.9", "--secret-key", "k" * 40]) == 0
    order = [name for name, _ in plugin.calls if name in ("disval_serve_options", "disval_serve_configure",
                                                          "disval_store", "uvicorn.run")]
    assert order[:3] == ["disval_serve_options", "disval_serve_configure", "disval_store"], order
    assert order[-1] == "uvicorn.run"
    assert ("disval_serve_options", "disval serve") in plugin.calls
    assert ("disval_serve_configure", "127.0.0.9") in plugin.calls
