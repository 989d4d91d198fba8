"""Validating a kept delivery again, with the rules files and codelist source of its time (`disval revalidate`)."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from ..errors import UsageError
from ..findings import ValidationResult
from ..notes import Note
from ..pipeline import validate
from ..plugins import get_plugin_manager
from ..store.delivery_store import DeliveryStore
from ..workdir import fitting_name, working_directory
from .process import DEFAULT_MAX_EXAMPLES, _standard


def _validated_on(d) -> dt.date | None:
    """The date a kept delivery was validated on: rules that read `today` judge it as of then."""
    when = d.validation.get("date") if isinstance(d.validation, dict) else None
    if when:
        return dt.date.fromisoformat(when)
    moment = d.started_at or d.submitted_at
    return moment.date() if hasattr(moment, "date") else None


def revalidate(delivery_id: int, store: DeliveryStore, *, pm=None, codelists: str | None = None) -> ValidationResult:
    """Validate a kept delivery again, with the rules files it was validated with and its codelist source.

    The rules come from the store (kept with the delivery when it was
    validated); the codelists from the same source, where the release is
    chosen by the delivery's date as before (`codelists` names another source,
    e.g. when the old one moved). A release that differs from the one used
    then is a warning in the result. The rules that need history are not
    evaluated: the provider's records have been replaced since.
    """
    pm = pm or get_plugin_manager()
    d = store.delivery(delivery_id)
    if d is None:
        raise UsageError(f"there is no delivery {delivery_id} in {store.url}")
    kept = d.validation.get("rules")
    if not kept:
        raise UsageError(f"delivery {d.id} ({d.name}, {d.status}) was never validated: no rules of its time are kept")
    std = _standard(pm, d)
    request = d.validation.get("request", {})
    with working_directory("revalidate") as tmp:
        files = []
        for n, rules in enumerate(kept):  # a directory each: two rules files may share a name
            path = Path(tmp, "rules", str(n), rules["file"])
            path.parent.mkdir(parents=True)
            path.write_bytes(store.read_blob(rules["sha256"]))
            files.append(path)
        result = validate(
            store.save_blob(d.sha256, tmp / fitting_name(d.name)), pm=pm, standard=std.id,
            codelists=codelists or request.get("codelists"), policy=request.get("policy"),
            max_per_rule=request.get("max_examples", DEFAULT_MAX_EXAMPLES), rule_files=tuple(files),
            require_real_codelists=request.get("require_real_codelists", False),
            today=_validated_on(d),
        )
    then = {c["name"]: c["release"] for c in d.validation.get("codelists", [])}
    for c in result.codelists:
        release = c.release.isoformat() if c.release else None
        if c.name in then and then[c.name] != release:
            result.warnings.append(Note("release_changed", name=c.name, now=release, then=then[c.name],
                                        day=f"{d.started_at or d.submitted_at:%Y-%m-%d}"))
    return result
