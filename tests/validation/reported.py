"""Every report of one validation, as bytes that do not depend on when it ran (issue 11: warm caches).

Used by test_warm_process.py in two ways: called in the test's own process,
where rule books, rule descriptions, engines' walks of the checks and report
views are kept from one validation to the next, and run as a script in a
fresh process, where nothing is kept (`python reported.py CASE_JSON`, which
prints {format: text} as JSON). The two must give the same reports.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from rendering import render_every_format  # noqa: E402

# The two things a report says that depend on the moment it ran, fixed for the comparison.
STARTED = dt.datetime(2020, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)


def reports(case: dict) -> dict[str, str]:
    """Validate `case` (validate()'s keywords, dates as ISO text, plus `path` and `options`) and render it
    in every format but xlsx (whose file records when it was written): {format: text}."""
    from disval.core.pipeline import validate
    from disval.core.reports import ReportOptions

    kwargs = dict(case)
    path = kwargs.pop("path")
    options = ReportOptions(**kwargs.pop("options", {}))
    if "today" in kwargs:
        kwargs["today"] = dt.date.fromisoformat(kwargs["today"])
    for key in ("extra_rules", "select", "skip"):
        if key in kwargs:
            kwargs[key] = tuple(kwargs[key])
    result = validate(path, **kwargs)
    result = dataclasses.replace(result, started=STARTED, duration=0.25)
    out = render_every_format(result, options, skip=("xlsx",))
    return {name: data.decode("utf-8") for name, data in out.items()}


def digest(outputs: dict[str, str]) -> dict[str, str]:
    """A short fingerprint per format, for messages."""
    return {name: hashlib.sha256(text.encode()).hexdigest()[:12] for name, text in outputs.items()}


if __name__ == "__main__":
    print(json.dumps(reports(json.loads(sys.argv[1]))))
