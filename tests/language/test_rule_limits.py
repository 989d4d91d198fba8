"""Hostile rules files (issue 11, point 6): very long or deeply nested conditions and files that are not UTF-8
are located compiler errors or simply work, never a RecursionError or a location of `:0:0`."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from disval.core.language import ast
from disval.core.language.compiler import compile_rulebook, compile_text
from disval.core.language.parser import MAX_NESTING, RuleError, parse_rules
from disval.plugins.ga_ohw_gbg import standard

EXAMPLE = Path(__file__).resolve().parents[2] / "contrib" / "examples" / "DIS_GBG_OHW_TEST_010_94001234_00_20180201_01.zip"
HEADER = "# organisation rules\n"


def _rule(condition: str, number: str = "9001") -> str:
    return f'{condition} => ERR {number} BR "m"'


@pytest.mark.parametrize("word", ["and", "or"])
def test_a_chain_of_thousands_of_and_or_compiles_flat(word):
    condition = f" {word} ".join(f"3262 > {'3233' if i % 2 else '3263'}" for i in range(5000))
    (compiled,) = compile_text(standard(), _rule(condition))
    assert len(compiled.check.items) == 5000
    (rule,) = parse_rules(str(compiled.rule))
    assert rule == compiled.rule


def test_parenthesised_chains_flatten_and_print_back():
    (rule,) = parse_rules(_rule("(3262 > 3233 and 3263 > 3233) and (3262 is empty and 3263 is empty)"))
    assert isinstance(rule.violation, ast.AllOf) and len(rule.violation.items) == 4
    assert parse_rules(str(rule)) == [rule]


@pytest.mark.parametrize("nots", [MAX_NESTING + 1, 450, 5000])
def test_too_many_nots_is_a_located_error(nots):
    text = HEADER + _rule("not " * nots + "3262 > 3233")
    with pytest.raises(RuleError) as info:
        compile_text(standard(), text, "org.rules")
    err = info.value
    # the first `not` past the limit, on line 2
    assert (err.source, err.line, err.column) == ("org.rules", 2, 4 * MAX_NESTING + 1)
    assert f"more than {MAX_NESTING} levels" in err.message
    rendered = err.render().splitlines()
    assert rendered[0].startswith(f"org.rules:2:{4 * MAX_NESTING + 1}: error: ")
    assert rendered[2].index("^") - 4 == 4 * MAX_NESTING


def test_nested_alternation_of_and_and_or_is_a_located_error():
    condition = "(3262 > 3233 and (3263 > 3233 or " * 600 + "3262 is empty" + "))" * 600
    with pytest.raises(RuleError) as info:
        compile_text(standard(), HEADER + _rule(condition), "org.rules")
    assert info.value.line == 2 and info.value.column > 1
    assert "levels deep" in info.value.message


def test_a_long_chain_of_arithmetic_is_a_located_error():
    condition = "3262 > " + " + ".join(["1"] * 2000)
    with pytest.raises(RuleError) as info:
        compile_text(standard(), HEADER + _rule(condition), "org.rules")
    assert info.value.line == 2 and "levels deep" in info.value.message


def test_parentheses_alone_do_not_nest():
    (compiled,) = compile_text(standard(), _rule("(" * 3000 + "3262 > 3233" + ")" * 3000))
    assert str(compiled.rule.violation) == "3262 > 3233"


def _validate(tmp_path, rules: str, *extra):
    path = tmp_path / "org.rules"
    path.write_bytes(rules.encode("utf-8") if isinstance(rules, str) else rules)
    return subprocess.run([sys.executable, "-m", "disval.core.cli", "validate", str(EXAMPLE), "--rules", str(path),
                           *extra], capture_output=True, text=True, timeout=120)


def test_the_deepest_allowed_rule_and_a_long_chain_evaluate(tmp_path):
    # 3262 > 3233 holds on no record of the clean example; `not` an even number of times keeps it
    deep = MAX_NESTING - 4  # with the comparison and its fields below the last `not`, well inside the limit
    rules = "\n".join([
        _rule("not " * deep + "3262 > 3233", "9001"),
        _rule("not " * (deep - 1) + "3262 > 3233", "9002"),
        _rule(" or ".join(["3262 > 3233"] * 3000 + ["3262 is filled"]), "9003"),
    ])
    done = _validate(tmp_path, rules, "--format", "json")
    assert "Traceback" not in done.stderr
    report = json.loads(done.stdout)
    by_rule = report["counts"]["by_rule"]
    trajects = report["records"]["BEHANDELTRAJECT.txt"]
    assert "9001" not in by_rule
    assert by_rule["9002"] == trajects and by_rule["9003"] == trajects


def test_a_deep_rule_on_the_command_line_exits_2_with_the_location(tmp_path):
    done = _validate(tmp_path, HEADER + _rule("not " * 2000 + "3262 > 3233"))
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and "RecursionError" not in done.stderr
    assert f"org.rules:2:{4 * MAX_NESTING + 1}: error: the rule nests" in done.stderr
    assert "^" in done.stderr


def test_a_rules_file_that_is_not_utf8_is_located(tmp_path):
    path = tmp_path / "org.rules"
    path.write_bytes(HEADER.encode() + _rule('3262 > 3233').encode()[:-2] + ' café"'.encode("latin-1") + b"\n")
    with pytest.raises(RuleError) as info:
        compile_rulebook(standard(), (path,))
    err = info.value
    col = len(_rule("3262 > 3233")) - 2 + len(" caf") + 1
    assert (err.source, err.line, err.column) == (str(path), 2, col)
    assert "0xE9" in err.message and "UTF-8" in err.message
    rendered = err.render().splitlines()
    assert rendered[0].startswith(f"{path}:2:{col}: error: ")
    assert rendered[2].index("^") - 4 == col - 1


def test_a_rules_file_that_is_not_utf8_on_the_command_line(tmp_path):
    done = _validate(tmp_path, b'3262 > 3233 => ERR 9001 BR "\xe9"\n')
    assert done.returncode == 2
    assert "org.rules:1:29: error: byte 0xE9 is not UTF-8" in done.stderr
    assert ":0:0" not in done.stderr


def test_a_missing_rules_file_names_the_file_without_a_fake_location(tmp_path):
    done = subprocess.run([sys.executable, "-m", "disval.core.cli", "validate", str(EXAMPLE), "--rules",
                           str(tmp_path / "nope.rules")], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert f"{tmp_path / 'nope.rules'}: error: cannot read rules file" in done.stderr
    assert ":0:0" not in done.stderr
