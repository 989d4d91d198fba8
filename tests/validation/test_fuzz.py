"""Fuzzing the zip layer and the reports (issue 11): mutated deliveries never crash disval.

Seeded and bounded: hypothesis runs derandomized (the same examples on every
run) and stops after a fixed number of examples or its time budget, whichever
comes first. Each example mutates a real delivery (`fuzzing.mutant`),
validates it through the public API and renders every report format; any
exception, or an output that does not read back, fails. The inputs that
crashed disval before are kept in fuzz_cases/ and run on every test run.
`tests/bench/fuzz_long.py` runs the same mutations for as long as asked.
"""
from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fuzzing import mutant, run_one, seed_deliveries

CASES = Path(__file__).parent / "fuzz_cases"


@pytest.fixture(scope="module")
def seeds(tmp_path_factory):
    return seed_deliveries(tmp_path_factory.mktemp("seeds"))


@pytest.mark.parametrize("case", sorted(CASES.glob("*.zip")), ids=lambda p: p.stem)
def test_kept_fuzz_case(case, tmp_path):
    """A zip that once crashed disval: validated and reported like any other now."""
    assert run_one(case) == []


@settings(max_examples=120, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(rng=st.randoms(use_true_random=False))
def test_mutated_deliveries(rng: random.Random, seeds, tmp_path_factory):
    name, data = mutant(rng, seeds)
    path = tmp_path_factory.mktemp("mutant") / name
    path.write_bytes(data)
    assert run_one(path) == []
