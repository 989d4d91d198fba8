"""Every hook has a test of its own: a plugin that implements just that hook changes what disval does."""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re

import pytest

from disval.core import hookspecs
from disval.core.codelists import Codelist
from disval.core.pipeline import UsageError, choose_standard, record_readers, rulebook, standards, validate
from disval.core.plugins import get_plugin_manager, hookimpl
from disval.core.reader import read_records
from disval.core.reports import ReportFormat, formats_by_name, write_reports
from disval.plugins.ga_ohw_gbg import standard as ga_standard

HOOKS = sorted(name for name in vars(hookspecs) if name.startswith("disval_"))


def test_every_hook_has_a_test_of_its_own():
    tested = {name.removeprefix("test_hook_") for name in globals() if name.startswith("test_hook_")}
    assert not set(HOOKS) - tested, f"hooks without a test_hook_<name> here: {sorted(set(HOOKS) - tested)}"
    assert not tested - set(HOOKS), f"tests of hooks that no longer exist: {sorted(tested - set(HOOKS))}"


def _pm(*plugins):
    return get_plugin_manager(extra=plugins, load_entry_points=False)


# ---------------------------------------------------------------- set-up


def test_hook_disval_standards():
    other = dataclasses.replace(ga_standard(), id="GA-OHW-GBG-1.0-COPY",
                                naming=dataclasses.replace(ga_standard().naming, claims=re.compile(r"COPY_.*")))

    class Plugin:
        @hookimpl
        def disval_standards(self):
            return [other]

    pm = _pm(Plugin())
    assert set(standards(pm)) == {"GA-OHW-GBG-1.0", "GA-DBC-GGZ-9.0", "GA-OHW-GBG-1.0-COPY"}
    assert choose_standard(pm, "COPY_1.zip") is other
    assert choose_standard(pm, "DIS_GBG_OHW_TEST_010_94001234_00_20180201_01.zip").id == "GA-OHW-GBG-1.0"

    class Clash:
        @hookimpl
        def disval_standards(self):
            return [ga_standard()]

    with pytest.raises(UsageError, match="two plugins provide a standard named .GA-OHW-GBG-1.0."):
        standards(_pm(Clash()))


def test_hook_disval_extra_rules(tmp_path, ga_delivery):
    rules = tmp_path / "extra.rules"
    rules.write_text('3257 is filled => WRN 9999 BR "every traject"\n', encoding="utf-8")
    seen = []

    class Plugin:
        @hookimpl
        def disval_extra_rules(self, standard):
            seen.append(standard.id)
            return [rules]

    pm = _pm(Plugin())
    assert rulebook(pm, ga_standard()).rules[-1].number == "9999"
    result = validate(ga_delivery, pm=pm)
    assert result.counts == {"9999": 6}
    assert seen and set(seen) == {"GA-OHW-GBG-1.0"}


def test_hook_disval_codelist_provider(ga_delivery):
    class EmptyLists:
        def codelist(self, name, delivery_date):
            return Codelist(name, dt.date(2018, 1, 1), "nowhere")  # no codes at all

        def describe(self):
            return "an empty source"

    class Plugin:
        @hookimpl
        def disval_codelist_provider(self, standard, location):
            return EmptyLists()

    result = validate(ga_delivery, pm=_pm(Plugin()))
    # Every coded field is now unknown: the plugin won over the built-in directory provider.
    assert {"1778", "1753", "1758"} <= set(result.counts)
    assert {c.source for c in result.codelists} == {"nowhere"}
    assert validate(ga_delivery, pm=_pm()).counts == {}


def test_hook_disval_record_reader(ga_delivery):
    asked = []

    class Plugin:
        @hookimpl
        def disval_record_reader(self, standard, layout):
            asked.append(layout.name)

            def reader(delivery, layout, limits, batch_records):
                for chunk in read_records(delivery, layout, limits, batch_records):
                    yield dataclasses.replace(chunk, rows=chunk.rows[:0], lines=chunk.lines[:0])  # reads nothing
            return reader if layout.name == "GELEVERD_ZORGPROFIEL.txt" else None

    result = validate(ga_delivery, pm=_pm(Plugin()))
    assert asked == [f.name for f in ga_standard().layout.files]
    assert result.records["GELEVERD_ZORGPROFIEL.txt"] == 0  # the plugin's reader was used for that file
    assert result.records["BEHANDELTRAJECT.txt"] == 6  # the built-in one for the others
    assert set(result.counts) == {"1651"}  # the packing slip says 12 profiles

    no_reader = dataclasses.replace(ga_standard(), reader="punched-cards")
    with pytest.raises(UsageError, match="no installed plugin reads BEHANDELTRAJECT.txt .*punched-cards"):
        record_readers(_pm(), no_reader)


def test_hook_disval_report_formats(ga_delivery, tmp_path):
    fmt = ReportFormat(name="counts", extension="counts.json", media_type="application/json",
                       render=lambda result, options: json.dumps(result.records).encode())

    class Plugin:
        @hookimpl
        def disval_report_formats(self):
            return [fmt]

    pm = _pm(Plugin())
    assert formats_by_name(pm)["counts"] is fmt
    [path] = write_reports(validate(ga_delivery, pm=pm), ["counts"], tmp_path, pm=pm)
    assert json.loads(path.read_text())["BEHANDELTRAJECT.txt"] == 6


# ---------------------------------------------------------------- validation


class Recorder:
    def __init__(self):
        self.calls = []


def test_hook_disval_validation_started(ga_delivery):
    class Plugin(Recorder):
        @hookimpl
        def disval_validation_started(self, delivery, standard, expected):
            self.calls.append((delivery, standard.id, expected))

    plugin = Plugin()
    result = validate(ga_delivery, pm=_pm(plugin))
    # The packing slip's counts, which for a valid delivery are the records read.
    assert plugin.calls == [(ga_delivery.name, "GA-OHW-GBG-1.0", result.records)]


def test_hook_disval_records_read(ga_delivery):
    class Plugin(Recorder):
        @hookimpl
        def disval_records_read(self, file, records):
            self.calls.append((file, records))

    plugin = Plugin()
    validate(ga_delivery, pm=_pm(plugin), batch_records=5)
    by_file = {}
    for file, records in plugin.calls:
        by_file.setdefault(file, []).append(records)
    # A running total per file, after every batch of at most five records.
    assert by_file == {"PAKBON.txt": [1], "BEHANDELTRAJECT.txt": [5, 6], "GELEVERD_ZORGPROFIEL.txt": [5, 10, 12]}


def test_hook_disval_validation_finished(ga_delivery):
    class Plugin(Recorder):
        @hookimpl
        def disval_validation_finished(self, result):
            self.calls.append(result)

    plugin = Plugin()
    result = validate(ga_delivery, pm=_pm(plugin))
    assert plugin.calls == [result]


# ---------------------------------------------------------------- processing


def test_hook_disval_store(tmp_path):
    store_module = pytest.importorskip("disval.core.store.delivery_store")
    sentinel = object()

    class Plugin:
        @hookimpl
        def disval_store(self, url):
            return sentinel if url.startswith("memory:") else None

    pm = _pm(Plugin())
    assert store_module.open_store("memory:", pm=pm) is sentinel
    # Other schemes still reach the built-in stores, which are trylast.
    builtin = store_module.open_store(f"sqlite:///{tmp_path / 'store.db'}", pm=pm)
    assert builtin is not sentinel
    close = getattr(builtin, "close", None)
    if close:
        close()
    with pytest.raises(store_module.StoreError, match="no store plugin handles"):
        store_module.open_store("gopher://nowhere", pm=pm)


def test_hook_disval_records_imported(tmp_path):
    from disval.core.gate.process import submit
    from disval.core.generate import generate_delivery
    from disval.core.store.delivery_store import open_store

    class Plugin(Recorder):
        @hookimpl
        def disval_records_imported(self, delivery, file, records, total):
            self.calls.append((delivery, file, records, total))

    plugin = Plugin()
    pm = _pm(plugin)
    store = open_store(f"sqlite:///{tmp_path / 'store.db'}", pm=pm)
    try:
        store.add_provider("94001234", "00", "gbg94001234")
        made = {phase: generate_delivery(tmp_path / phase, trajects=4, profiles=9, seed=1, phase=phase,
                                         provider="94001234", branch="00", created=dt.date(2018, month, 1))
                for phase, month in (("test", 2), ("production", 3))}
        assert submit(made["test"], store, pm=pm).status == "accepted"
        assert plugin.calls == []  # a connect-phase delivery is never imported
        outcome = submit(made["production"], store, pm=pm)
    finally:
        store.close()
    assert outcome.status == "imported"
    name = made["production"].name
    # Per file, parents first: its start (0 written) and its end (all written) of the records it imports.
    assert plugin.calls[0] == (name, "BEHANDELTRAJECT.txt", 0, 4) and plugin.calls[-1] == (
        name, "GELEVERD_ZORGPROFIEL.txt", 9, 9)
    assert [c for c in plugin.calls if c[2] == c[3]] == [(name, "BEHANDELTRAJECT.txt", 4, 4),
                                                        (name, "GELEVERD_ZORGPROFIEL.txt", 9, 9)]
    assert outcome.imported == {"BEHANDELTRAJECT.txt": 4, "GELEVERD_ZORGPROFIEL.txt": 9}


def test_hook_disval_delivery_event(tmp_path):
    from disval.core.gate.process import submit_many
    from disval.core.generate import generate_delivery
    from disval.core.store.delivery_store import open_store

    seen = []

    class Plugin:
        @hookimpl
        def disval_delivery_event(self, event, delivery, store):
            seen.append((event, delivery.name, delivery.status))

    pm = _pm(Plugin())
    made = [generate_delivery(tmp_path / str(n), trajects=3, profiles=3, seed=n, phase="test",
                              provider="94001234", branch="00", created=dt.date(2018, 3, n), sequence="01",
                              pm=pm) for n in (1, 2)]
    bad = tmp_path / "bad" / made[0].name.replace("20180301", "20180303")
    bad.parent.mkdir()
    bad.write_bytes(b"not a zip")  # rejected at receipt: the later one queued behind it is discarded
    later = generate_delivery(tmp_path / "4", trajects=3, profiles=3, seed=4, phase="test", provider="94001234",
                              branch="00", created=dt.date(2018, 3, 4), sequence="01", pm=pm)
    with open_store(f"sqlite:///{tmp_path / 'store.db'}", pm=pm) as store:
        store.add_provider("94001234", "00", "gbg94001234")
        submit_many([*made, bad, later], store, pm=pm)
    names = [p.name for p in (*made, bad, later)]
    assert [e for e in seen if e[0] == "received"] == [("received", n, "queued") for n in names]
    ends = {name: status for event, name, status in seen if event == "processed"}
    assert ends == {names[0]: "accepted", names[1]: "accepted", names[2]: "rejected", names[3]: "discarded"}
    # each processed delivery was started first; the discarded one never started
    started = [name for event, name, _ in seen if event == "started"]
    assert started == names[:3]


# ---------------------------------------------------------------- tooling


def test_hook_disval_delivery_generator(tmp_path):
    from disval.core.generate import GeneratorSize, generate_delivery

    made = []

    class Plugin:
        @hookimpl
        def disval_delivery_generator(self, standard):
            class OneLine:
                sizes = {"lines": GeneratorSize(1, "lines")}
                default_created = dt.date(2018, 3, 1)

                def generate(self, path_or_dir, standard, *, sizes, created, **rest):
                    made.append((standard.id, sizes, created, rest["codelists"] is not None))
                    return path_or_dir / "made.zip"

            return OneLine()

    pm = _pm(Plugin())
    assert generate_delivery(tmp_path, pm=pm, lines=3) == tmp_path / "made.zip"
    assert made == [("GA-OHW-GBG-1.0", {"lines": 3}, dt.date(2018, 3, 1), True)]
    with pytest.raises(ValueError, match="takes lines, not trajects"):
        generate_delivery(tmp_path, pm=pm, trajects=3)
    # Without the plugin the built-in generator answers, for its own standard only.
    real = generate_delivery(tmp_path, pm=_pm(), trajects=2, profiles=2)
    assert real.name.startswith("DIS_GBG_OHW_TEST_010_") and real.is_file()


# ---------------------------------------------------------------- serving


def _serve_with(monkeypatch, plugin):
    """`disval serve`'s plugin manager with `plugin` in it (as if installed); uvicorn not started."""
    from disval.core.portal import commands

    monkeypatch.setattr(commands, "get_plugin_manager", lambda: _pm(plugin))


def test_hook_disval_serve_options(monkeypatch, capsys):
    from disval.core.cli import main

    class Plugin:
        @hookimpl
        def disval_serve_options(self, parser):
            parser.add_argument_group("acme").add_argument("--acme-level", type=int, help="how loud Acme is")

    _serve_with(monkeypatch, Plugin())
    with pytest.raises(SystemExit):
        main(["serve", "--help"])
    assert "--acme-level ACME_LEVEL" in capsys.readouterr().out
    with pytest.raises(SystemExit) as refused:  # parsed as the plugin declared it
        main(["serve", "--acme-level", "loud"])
    assert refused.value.code == 2
    assert "argument --acme-level: invalid int value: 'loud'" in capsys.readouterr().err


def test_hook_disval_serve_configure(monkeypatch, tmp_path, ga_delivery):
    pytest.importorskip("uvicorn", reason="disval serve needs the serve extra")
    import uvicorn

    from disval.core.cli import main
    from disval.core.gate.process import submit
    from disval.core.store.delivery_store import open_store

    class Listener:
        def __init__(self, port):
            self.port, self.seen = port, []

        @hookimpl
        def disval_delivery_event(self, event, delivery, store):
            self.seen.append(event)

    class Plugin:
        @hookimpl
        def disval_serve_configure(self, options):
            return [Listener(options.port)]

    _serve_with(monkeypatch, Plugin())
    served = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: served.append(app))
    store_url = f"sqlite:///{tmp_path / 'store.db'}"
    assert main(["serve", "--store", store_url, "--port", "8123", "--no-worker", "--secret-key", "k" * 40]) == 0
    pm = served[0].state.portal.pm
    [listener] = [p for p in pm.get_plugins() if isinstance(p, Listener)]
    assert listener.port == 8123  # made from the command's options
    with open_store(store_url, pm=pm) as store:  # the portal's processing tells it about deliveries
        store.add_provider("94001234", "00", "gbg94001234")
        submit(ga_delivery, store, pm=pm)
    assert listener.seen == ["received", "started", "processed"]
