"""Fixtures: a clean generated delivery to plant faults in (helpers in `planting`)."""
from __future__ import annotations

import pytest

from disval.core.generate import generate_delivery

from planting import CREATED, PROFILES, TRAJECTS, Clean


@pytest.fixture(scope="session")
def clean(tmp_path_factory) -> Clean:
    """A clean GA OHW-GBG 1.0 test delivery of four trajects and two profiles, created 2018-02-01."""
    path = generate_delivery(tmp_path_factory.mktemp("clean"), trajects=TRAJECTS, profiles=PROFILES, seed=7,
                             created=CREATED)
    return Clean(path)

