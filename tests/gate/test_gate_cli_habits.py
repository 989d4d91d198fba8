"""The gate's command line refuses what would go wrong silently: a mistyped store path, an AGB
code or volgnr of the wrong form, and a positive assessment on sample codelists."""
from __future__ import annotations

from gate_support import AGB, BRANCH, DISVAL, delivery, outcome_json

import os
import subprocess


def _disval(*args, store_url: str) -> subprocess.CompletedProcess:
    """`disval` exactly as given, with its own defaults (no gate test configuration, see conftest.py)."""
    env = {**{k: v for k, v in os.environ.items() if k != "DISVAL_CONFIG"}, "DISVAL_STORE": store_url}
    return subprocess.run([*DISVAL, *map(str, args)], env=env, capture_output=True, text=True, timeout=120)


def test_a_store_that_does_not_exist_is_refused_not_created(tmp_path):
    typo = tmp_path / "disvl.db"
    for args in (["provider", "list"], ["deliveries", AGB, BRANCH], ["submit", delivery(tmp_path, "test")]):
        done = _disval(*args, store_url=f"sqlite:///{typo}")
        assert done.returncode == 2 and f"there is no store at {typo}" in done.stderr, args
        assert done.stderr.count("\n") == 1 and not typo.exists()
    assert _disval("provider", "list", "--create", store_url=f"sqlite:///{typo}").returncode == 0
    assert typo.exists()
    other = tmp_path / "new.db"
    added = _disval("provider", "add", AGB, BRANCH, "--user", "u", store_url=f"sqlite:///{other}")
    assert added.returncode == 0 and other.exists()  # registering the first provider creates the store


def test_provider_add_checks_the_agb_code_and_volgnr(tmp_path):
    url = f"sqlite:///{tmp_path}/disval.db"
    for agb, branch, message in (("9400123", "00", "AGB code must be 8 digits"), ("9400123X", "00", "8 digits"),
                                 (AGB, "0", "instelling volgnr must be 2 digits"), (AGB, "1a", "2 digits")):
        done = _disval("provider", "add", agb, branch, "--user", "u", store_url=url)
        assert done.returncode == 2 and message in done.stderr, (agb, branch, done.stderr)
        assert "Traceback" not in done.stderr
    assert not (tmp_path / "disval.db").exists()


def test_submit_refuses_a_positive_assessment_on_sample_codelists_unless_told(store_url, tmp_path):
    assert _disval("provider", "add", AGB, BRANCH, "--user", f"gbg{AGB}", store_url=store_url).returncode == 0
    first = _disval("submit", "--format", "json", delivery(tmp_path, "test", "20180201"), store_url=store_url)
    outcome = outcome_json(first)
    assert first.returncode == 1 and outcome["assessment"] == "negative"
    assert outcome["delivery"]["status"] == "assessed_negative"
    allowed = _disval("submit", "--format", "json", "--no-require-real-codelists",
                      delivery(tmp_path, "test", "20180202"), store_url=store_url)
    assert allowed.returncode == 0 and outcome_json(allowed)["assessment"] == "positive"


def test_submit_quiet_and_verbose(tmp_path):
    url = f"sqlite:///{tmp_path}/disval.db"
    assert _disval("provider", "add", AGB, BRANCH, "--user", f"gbg{AGB}", store_url=url).returncode == 0
    quiet = _disval("submit", "-q", "--no-require-real-codelists", delivery(tmp_path, "test", "20180201"),
                    store_url=url)
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, "", "")
    loud = _disval("submit", "-v", "--no-require-real-codelists", "--output-dir", tmp_path / "out",
                   delivery(tmp_path, "test", "20180202"), store_url=url)
    assert loud.returncode == 0
    reports = [line for line in loud.stdout.splitlines() if line.startswith("  report ")]
    assert len(reports) == 2 and all(str(tmp_path / "out") in line for line in reports)
