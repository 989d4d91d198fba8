"""CLI habits: --fail-on, choosing rules by number, several zips, a configuration file,
-q/-v, shell completion, and the run's date and duration in the report."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from disval.core.cli import main

from planting import BT, PB, plant, run_cli


@pytest.fixture(scope="module")
def warned(clean, tmp_path_factory):
    """A delivery whose only finding is a WRN (1788: 3337 Versienummer GA is not NN.N)."""
    return plant(clean.path, tmp_path_factory.mktemp("warned"), PB, 1, f3337="1X.2")


@pytest.fixture(scope="module")
def faulty(clean, tmp_path_factory):
    """A delivery with one ERR: 1801, a traject that begins after the packing slip's creation date."""
    return plant(clean.path, tmp_path_factory.mktemp("faulty"), BT, clean.lonely[-1], f3262="20180202", f3263="")


def _json(capsys) -> dict:
    return json.loads(capsys.readouterr().out)


def test_fail_on_makes_ci_fail_on_warnings_too(warned, capsys):
    assert main(["validate", str(warned), "--format", "json"]) == 0  # WRN never blocks under the dis policy
    assert _json(capsys)["counts"]["by_severity"] == {"ERR": 0, "WRN": 1}
    assert main(["validate", str(warned), "-q", "--fail-on", "ERR"]) == 0
    assert main(["validate", str(warned), "-q", "--fail-on", "WRN"]) == 1
    assert main(["validate", str(warned), "-q", "--fail-on", "wrn"]) == 1


def test_fail_on_err_fails_under_a_policy_that_does_not_block(faulty):
    assert main(["validate", str(faulty), "-q", "--policy", "guidance"]) == 0
    assert main(["validate", str(faulty), "-q", "--policy", "guidance", "--fail-on", "ERR"]) == 1


def test_rules_are_selected_and_skipped_by_number(faulty, capsys):
    assert main(["validate", str(faulty), "--format", "json", "--skip", "1801"]) == 0
    doc = _json(capsys)
    assert doc["findings"] == [] and doc["assessment"] == "positive"
    assert {"rule": "1801", "status": "not evaluated"}.items() <= next(
        x for x in doc["not_evaluated"] if x["rule"] == "1801").items()

    assert main(["validate", str(faulty), "--format", "json", "--select", "1801,1778"]) == 1
    doc = _json(capsys)
    assert [f["rule"] for f in doc["findings"]] == ["1801"]
    evaluated = {r["rule"] for r in doc["rules"] if r["status"] == "active"}
    assert evaluated == {"1801", "1778"} | {r for r in evaluated if not r[0].isdigit()}


def test_unknown_or_zip_level_rule_numbers_are_refused(faulty):
    for args, message in ((["--skip", "9999"], "no rule 9999"), (["--select", "ZIP-NAME"], "ZIP-NAME cannot")):
        done = run_cli("validate", str(faulty), *args)
        assert done.returncode == 2 and message in done.stderr
        assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


def test_several_zips_in_one_validate(clean, faulty, tmp_path, capsys):
    assert main(["validate", str(clean.path), str(faulty)]) == 1  # the worst of the two
    out = capsys.readouterr().out
    assert out.count("Validatierapport") == 2 and "POSITIEF" in out and "NEGATIEF" in out

    assert main(["validate", str(clean.path), str(faulty), "--format", "json,csv", "--output-dir",
                 str(tmp_path / "out")]) == 1
    assert {p.name for p in (tmp_path / "out").iterdir()} == {
        f"{clean.path.stem}.json", f"{clean.path.stem}.csv", f"{faulty.stem}.json", f"{faulty.stem}.csv"}
    assert json.loads((tmp_path / "out" / f"{faulty.stem}.json").read_text())["assessment"] == "negative"

    done = run_cli("validate", str(clean.path), str(faulty), "--format", "json")
    assert done.returncode == 2 and "--output-dir" in done.stderr and done.stdout == ""
    done = run_cli("validate", str(clean.path), str(tmp_path / "missing.zip"))
    assert done.returncode == 2 and "missing.zip: no such file" in done.stderr and done.stdout == ""


def test_quiet_prints_nothing_and_verbose_adds_a_summary(faulty, tmp_path):
    quiet = run_cli("validate", str(faulty), "-q")
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (1, "", "")
    written = run_cli("validate", str(faulty), "-q", "--format", "json", "-o", str(tmp_path / "r.json"))
    assert written.returncode == 1 and written.stdout == "" and json.loads((tmp_path / "r.json").read_text())
    loud = run_cli("validate", str(faulty), "-v", "--format", "json")
    assert f"{faulty.name}: negative, 1 ERR, 0 WRN" in loud.stderr
    assert json.loads(loud.stdout)["assessment"] == "negative"


def test_report_says_when_it_ran_and_how_long_it_took(clean, capsys):
    main(["validate", str(clean.path), "--format", "json"])
    doc = _json(capsys)
    assert doc["started"].endswith("+00:00") and doc["started"][:4].isdigit()
    assert 0 <= doc["duration_seconds"] < 60
    main(["validate", str(clean.path), "--lang", "en"])
    run_line = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("Run "))
    assert doc["started"][:10] in run_line and "UTC, took" in run_line


# ---------------------------------------------------------------- configuration file


def _in(folder, *args):
    """`disval ARGS` run in `folder`, with no DISVAL_CONFIG from outside."""
    env = {k: v for k, v in os.environ.items() if k != "DISVAL_CONFIG"}
    return subprocess.run([sys.executable, "-m", "disval.core.cli", *map(str, args)], cwd=folder, env=env,
                          capture_output=True, text=True, timeout=120)


def test_disval_toml_gives_the_flags_defaults_and_a_flag_still_wins(faulty, tmp_path):
    project = tmp_path / "project"
    (project / "sub").mkdir(parents=True)
    (project / "disval.toml").write_text('format = "json"\nlang = "en"\nskip = ["1801"]\n')
    done = _in(project / "sub", "validate", faulty)  # found in a parent directory
    doc = json.loads(done.stdout)
    assert done.returncode == 0 and doc["findings"] == []  # 1801 skipped by the file
    done = _in(project / "sub", "validate", faulty, "--format", "text")
    assert done.stdout.startswith("Validation report")  # the flag wins; lang still from the file
    done = _in(project / "sub", "--no-config", "validate", faulty)
    assert done.returncode == 1 and done.stdout.startswith("Validatierapport")


def test_pyproject_tool_disval_table_and_relative_paths(faulty, tmp_path):
    from disval.plugins.ga_ohw_gbg import HERE

    project = tmp_path / "vendor"
    project.mkdir()
    shutil.copytree(HERE / "codelists", project / "lists")
    (project / "pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[tool.disval]\ncodelists = "lists"\nfail-on = "WRN"\n\n'
        '[tool.disval.validate]\nformat = "json"\n')
    done = _in(project, "validate", faulty)
    doc = json.loads(done.stdout)
    assert done.returncode == 1
    assert {c["source"] for c in doc["codelists"]} == {p.name for p in (project / "lists").glob("*.txt")}


def test_a_mistake_in_the_configuration_file_is_one_located_line(faulty, tmp_path):
    cases = {
        'formt = "json"\n': "unknown key 'formt'",
        'max-findings = "many"\n': "max-findings",
        'lang = "fr"\n': "lang must be one of nl, en",
        "format = \n": "not valid TOML",
        '[validate]\nstore = "x"\n': "'disval validate' has no option --store",
    }
    for text, message in cases.items():
        (tmp_path / "disval.toml").write_text(text)
        done = _in(tmp_path, "validate", faulty)
        assert done.returncode == 2, text
        assert str(tmp_path / "disval.toml") in done.stderr and message in done.stderr, done.stderr
        assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


# ---------------------------------------------------------------- shell completion


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_bash_completion_completes_commands_options_and_choices(tmp_path):
    script = tmp_path / "disval.bash"
    script.write_text(run_cli("completion", "bash").stdout)

    def complete(*words: str) -> set[str]:
        array = " ".join(f"'{w}'" for w in ("disval", *words))
        probe = f'source "{script}"; COMP_WORDS=({array}); COMP_CWORD={len(words)}; _disval; echo "${{COMPREPLY[@]}}"'
        return set(subprocess.run(["bash", "-c", probe], capture_output=True, text=True).stdout.split())

    assert complete("val") == {"validate"}
    assert {"--fail-on", "--format"} <= complete("validate", "--f")
    assert complete("validate", "--lang", "") == {"nl", "en"}
    assert complete("validate", "--fail-on", "") == {"ERR", "WRN"}
    assert complete("provider", "a") == {"add", "activate"}
    assert complete("provider", "add", "--us") == {"--user"}
