"""The hooks are honest: the core calls every hook, built-ins use nothing else, `disval plugins` tells the truth."""
from __future__ import annotations

import ast
import importlib
import json

import pluggy
import pytest
from contrib_packages import ROOT

from disval.core import hookspecs
from disval.core.cli import main
from disval.core.plugins import DEFAULT_PLUGINS, get_plugin_manager

HOOKS = sorted(name for name in vars(hookspecs) if name.startswith("disval_"))
CORE = ROOT / "core"

# Core modules that import a built-in plugin module, and why that is not reaching around a hook.
# Anything else that imports disval.plugins.* from core/ fails the test below.
ALLOWED_PLUGIN_IMPORTS = {
    # The CLI registers the progress display as a plugin object, through get_plugin_manager(extra=...);
    ("cli.py", "disval.plugins.progress"),
    ("gate/commands.py", "disval.plugins.progress"),  # and so do submit and revalidate
}


@pytest.fixture
def hook_calls(monkeypatch):
    """The name of every hook called through any plugin manager built while the test runs."""
    calls: list[str] = []

    class Monitored(pluggy.PluginManager):
        def __init__(self, project_name):
            super().__init__(project_name)
            self.add_hookcall_monitoring(lambda name, impls, kwargs: calls.append(name), lambda *a: None)

    monkeypatch.setattr(pluggy, "PluginManager", Monitored)
    return calls


def test_the_core_calls_every_hook(hook_calls, ga_delivery, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("DISVAL_STORE", f"sqlite:///{tmp_path / 'store.db'}")
    assert main(["validate", str(ga_delivery), "--format", "json"]) == 0
    assert main(["validate", str(ga_delivery), "--format", "text,json", "--output-dir", str(tmp_path)]) == 0
    assert main(["rules", "--standard", "GA-OHW-GBG-1.0"]) == 0
    assert main(["plugins"]) == 0
    assert main(["generate", "--trajects", "1", "--profiles", "1", "-o", str(tmp_path / "gen")]) == 0
    try:
        from disval.core.store.delivery_store import open_store
    except ImportError:  # the delivery store is not part of this checkout
        pass
    else:
        store = open_store()
        getattr(store, "close", lambda: None)()
        # The gate: a connect-phase delivery, then a production one, which is imported.
        assert main(["provider", "add", "94001234", "00", "--user", "gbg94001234"]) == 0
        for phase, day in (("test", "2018-02-01"), ("production", "2018-03-01")):
            out = tmp_path / phase
            assert main(["generate", "--trajects", "2", "--profiles", "3", "--phase", phase, "--created", day,
                         "-o", str(out)]) == 0
            assert main(["submit", "--no-require-real-codelists", str(next(out.glob("*.zip")))]) == 0
    try:
        import uvicorn
    except ImportError:  # the serve extra is not installed: the serve hooks are not called
        pass
    else:  # the portal, up to where it would start serving
        monkeypatch.setattr(uvicorn, "run", lambda app, **kw: None)
        assert main(["serve", "--no-worker", "--secret-key", "k" * 40]) == 0
    capsys.readouterr()
    assert sorted(set(hook_calls)) == HOOKS, f"never called: {sorted(set(HOOKS) - set(hook_calls))}"


@pytest.mark.parametrize("name", DEFAULT_PLUGINS)
def test_every_built_in_is_a_plugin_that_implements_hooks(name):
    pm = get_plugin_manager(load_entry_points=False)
    plugin = pm.get_plugin(name)
    assert plugin is importlib.import_module(name)
    hooks = [caller.name for caller in pm.get_hookcallers(plugin)]
    assert hooks, f"{name} is registered but implements no hook"
    for caller in pm.get_hookcallers(plugin):
        if caller.spec.opts.get("firstresult"):
            impl = next(i for i in caller.get_hookimpls() if i.plugin is plugin)
            assert impl.trylast, f"{name}.{caller.name} is a built-in default of a firstresult hook: mark it trylast"


def _plugin_imports(source: str, package: str):
    """Every `disval.plugins...` module that the source of a module in `package` imports."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level:  # relative: resolve against the package
            base = package.split(".")[: len(package.split(".")) - node.level + 1]
            names = [".".join(base + ([node.module] if node.module else []))]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module]
        else:
            continue
        yield from (n for n in names if n == "disval.plugins" or n.startswith("disval.plugins."))


def _core_plugin_imports() -> set[tuple[str, str]]:
    found = set()
    for path in sorted(CORE.rglob("*.py")):
        package = ".".join(("disval", "core", *path.relative_to(CORE).parent.parts))
        found |= {(str(path.relative_to(CORE)), m) for m in _plugin_imports(path.read_text(encoding="utf-8"), package)}
    return found


def test_no_core_module_reaches_around_the_hooks():
    reaching = _core_plugin_imports() - ALLOWED_PLUGIN_IMPORTS
    assert not reaching, f"core/ imports built-in plugins directly; call the hook (pm.hook....) instead: {reaching}"


@pytest.mark.parametrize("source, package, expected", [
    ("import disval.plugins.codelists_dir", "disval.core", ["disval.plugins.codelists_dir"]),
    ("from disval.plugins import progress", "disval.core", ["disval.plugins"]),
    ("from ..plugins import codelists_dir", "disval.core", ["disval.plugins"]),
    ("from ...plugins.reports import text", "disval.core.engine", ["disval.plugins.reports"]),
    ("from .reader import read_records", "disval.core", []),
    ("from ..codelists import Codelist", "disval.core.engine", []),
])
def test_the_import_check_resolves_relative_imports(source, package, expected):
    assert list(_plugin_imports(source, package)) == expected


def test_disval_plugins_lists_every_plugin_with_its_hooks(capsys, installed):
    installed("disval_org_example")
    assert main(["plugins", "--format", "json"]) == 0
    rows = {row["plugin"]: row for row in json.loads(capsys.readouterr().out)["plugins"]}
    pm = get_plugin_manager()
    for name in DEFAULT_PLUGINS:
        expected = sorted(c.name for c in pm.get_hookcallers(pm.get_plugin(name)))
        assert rows[name] == {"plugin": name, "distribution": "built-in", "hooks": expected}
    assert rows["org_example"] == {"plugin": "org_example", "distribution": "disval-org-example",
                                   "hooks": ["disval_extra_rules"]}


def test_disval_plugins_text_names_formats_and_standards(capsys):
    assert main(["plugins"]) == 0
    out = capsys.readouterr().out
    assert "disval.plugins.fixed_width" in out and "disval_record_reader" in out
    assert "report formats: " in out and "json" in out
    assert "standards: GA-DBC-GGZ-9.0, GA-OHW-GBG-1.0" in out


def test_installed_plugins_are_loaded_from_the_entry_point_group(installed):
    installed("disval_dataset_csv")
    pm = get_plugin_manager()
    plugin = pm.get_plugin("dataset_csv")
    assert plugin is importlib.import_module("disval_dataset_csv")
    assert [d.project_name for p, d in pm.list_plugin_distinfo() if p is plugin] == ["disval-dataset-csv"]
    assert get_plugin_manager(load_entry_points=False).get_plugin("dataset_csv") is None
