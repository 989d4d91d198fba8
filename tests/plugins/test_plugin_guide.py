"""docs/plugins.md tells the truth: every hook with its exact signature and kind, every form of the rule language."""
from __future__ import annotations

import ast
import re
from importlib import resources

import lark
import pytest
from contrib_packages import ROOT

from disval.core.language.compiler import compile_text
from disval.core.plugins import get_plugin_manager
from disval.plugins.ga_ohw_gbg import standard as ga_standard

GUIDE = (ROOT / "docs" / "plugins.md").read_text(encoding="utf-8")
SPECS = {node.name: node for node in ast.parse((ROOT / "core" / "hookspecs.py").read_text(encoding="utf-8")).body
         if isinstance(node, ast.FunctionDef) and node.name.startswith("disval_")}


def _signature(node: ast.FunctionDef) -> str:
    """`def name(args) -> returns` as the source has it, without the quotes of forward references."""
    return f"def {node.name}({ast.unparse(node.args)}) -> {ast.unparse(node.returns)}".replace("'", "")


def _sections(level: str) -> dict[str, str]:
    """Markdown sections of one heading level, by title."""
    parts = re.split(rf"^{level} (.+)$", GUIDE, flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2]))


def _blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL)


def test_the_guide_documents_exactly_the_hooks_there_are():
    reference = _sections("##")["Hook reference"]
    documented = re.findall(r"^### (disval_\w+)$", reference, flags=re.MULTILINE)
    assert sorted(documented) == sorted(SPECS)


@pytest.mark.parametrize("name", sorted(SPECS))
def test_each_hook_is_documented_with_its_exact_signature(name):
    section = _sections("###")[name]
    assert [line for block in _blocks(section, "python") for line in block.splitlines()] == [_signature(SPECS[name])]


@pytest.mark.parametrize("name", sorted(SPECS))
def test_each_hook_is_documented_with_its_kind(name):
    opts = getattr(get_plugin_manager(load_entry_points=False).hook, name).spec.opts
    kind = re.search(r"^Kind: ([^.]+)\.", _sections("###")[name], flags=re.MULTILINE).group(1)
    assert ("firstresult" in kind) == bool(opts["firstresult"])
    assert ("historic" in kind) == bool(opts["historic"])


@pytest.mark.parametrize("name", sorted(SPECS))
def test_each_hook_is_in_the_lifecycle_picture_and_table(name):
    lifecycle = _sections("##")["The hook lifecycle"]
    picture = _blocks(lifecycle, "")[0]
    assert f"+--> {name}" in picture
    [row] = [line for line in lifecycle.splitlines() if line.startswith(f"| `{name}` |")]
    firstresult = getattr(get_plugin_manager(load_entry_points=False).hook, name).spec.opts["firstresult"]
    assert ("| firstresult |" in row) == bool(firstresult)


def test_the_lifecycle_picture_has_the_order_the_order_test_asserts():
    picture = _blocks(_sections("##")["The hook lifecycle"], "")[0]
    drawn = re.findall(r"\+--> (disval_\w+)", picture)
    assert drawn == ["disval_standards", "disval_extra_rules", "disval_codelist_provider", "disval_record_reader",
                     "disval_validation_started", "disval_records_read", "disval_validation_finished",
                     "disval_report_formats", "disval_store", "disval_records_imported", "disval_delivery_event",
                     "disval_delivery_generator", "disval_serve_options", "disval_serve_configure"]


# ---------------------------------------------------------------- the rule-language reference


def _grammar() -> tuple[lark.Lark, set[str]]:
    text = resources.files("disval.core.language").joinpath("rules.lark").read_text(encoding="utf-8")
    return lark.Lark(text, parser="lalr"), set(re.findall(r"->\s*(\w+)", text))


def test_every_form_of_the_grammar_has_an_example_in_the_guide():
    parser, aliases = _grammar()
    shown = set()
    for block in _blocks(GUIDE, "rules") + _blocks(GUIDE, "rules-ggz"):
        shown |= {tree.data for tree in parser.parse(block).iter_subtrees()}
    assert aliases - shown == set(), f"forms without an example in docs/plugins.md: {sorted(aliases - shown)}"


@pytest.mark.parametrize("block", _blocks(GUIDE, "rules"), ids=lambda b: b.splitlines()[0][:40])
def test_every_rules_example_in_the_guide_compiles_against_ga_ohw_gbg(block):
    assert compile_text(ga_standard(), block, "docs/plugins.md")


@pytest.mark.parametrize("block", _blocks(GUIDE, "rules-ggz"), ids=lambda b: b.splitlines()[0][:40])
def test_every_ggz_rules_example_in_the_guide_compiles_against_ga_dbc_ggz(block):
    from disval.plugins.ga_dbc_ggz import standard as ggz_standard

    assert compile_text(ggz_standard(), block, "docs/plugins.md")


def test_the_guide_states_the_ddid_rule():
    assert "a bare number of four or more digits is a field (ddid)" in GUIDE.lower()
    assert "`1_440`" in GUIDE
