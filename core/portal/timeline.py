"""A delivery's story in plain words: the timeline the delivery page and the status endpoint show.

    received -> waiting in the queue -> validating (a progress figure) ->
    rejected at receipt | discarded (because of which delivery) | assessed
    negative | accepted (TEST) | importing -> imported; or processing failed

"Stalled" replaces "validating" when nothing moved for `stall_after` seconds,
so that a page never spins forever. Everything here comes from the store's
delivery record and the progress figure its processing process wrote to the
store's live state (`disval.core.store.live`): no second model of the domain.
"""
from __future__ import annotations

import datetime as dt
import re
import time

TERMINAL = ("rejected", "discarded", "assessed_negative", "imported", "failed")
_DISCARDED_BY = re.compile(r"\((?P<name>.+) was rejected at receipt\)")


def state(d, moving=None, *, stall_after: float = 300.0, now: float | None = None) -> str:
    """One word for where the delivery is: queued, validating, stalled, importing, or its end status."""
    if d.status == "accepted":
        if d.phase == "production" and d.processed_at is None:
            return _running(d, moving, stall_after, now, "importing")
        return "accepted"
    if d.status != "queued":
        return d.status
    if d.started_at is None:  # not begun (or requeued: a figure left by a killed process is no news)
        return "queued"
    # The import commits with the status, so until it is done the store says "queued"; the figure knows.
    return _running(d, moving, stall_after, now, "importing" if moving is not None and moving.stage == "importing"
                    else "validating")


def _running(d, moving, stall_after, now, word) -> str:
    now = time.time() if now is None else now
    last = moving.updated if moving is not None else (d.started_at.timestamp() if d.started_at else None)
    if last is not None and now - last > stall_after:
        return "stalled"
    return word


def done(d) -> bool:
    """Whether nothing more will happen to the delivery unless an operator acts."""
    return d.status in TERMINAL or (d.status == "accepted" and not (d.phase == "production"
                                                                     and d.processed_at is None))


def discarded_because(d) -> str | None:
    """The name of the delivery whose rejection discarded this one."""
    for reason in d.reasons:
        m = _DISCARDED_BY.search(reason)
        if reason.startswith("ZIP-DISCARDED") and m:
            return m.group("name")
    return None


def _at(moment) -> str | None:
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC") if moment else None


def steps(d, moving=None, *, ahead: int | None = None, stall_after: float = 300.0,
          operator: bool = False) -> list[dict]:
    """The timeline: a list of {"step", "text", "at"} in the order they happened."""
    phase = {"test": "TEST (connect phase)", "production": "production"}.get(d.phase, "unknown phase")
    out = [{"step": "received", "text": f"Received {d.name} for {phase}.", "at": _at(d.submitted_at)}]
    now_state = state(d, moving, stall_after=stall_after)
    if now_state == "queued":
        waiting = f" ({ahead} ahead of it)" if ahead else ""
        out.append({"step": "queued", "text": f"Waiting in the queue{waiting}.", "at": None})
        return out
    if d.started_at:
        out.append({"step": "started", "text": "Processing started: receipt checks, then validation.",
                    "at": _at(d.started_at)})
    if now_state in ("validating", "stalled", "importing"):
        out.append(_running_step(now_state, moving, d))
        return out
    errors = (d.counts.get("findings") or {}).get("ERR", 0) if isinstance(d.counts, dict) else 0
    records = d.counts.get("records") if isinstance(d.counts, dict) else None
    if d.status == "rejected":
        out.append({"step": "rejected", "text": "Rejected at receipt: " + "; ".join(d.reasons or ["(no reason kept)"]),
                    "at": _at(d.processed_at)})
    elif d.status == "discarded":
        by = discarded_because(d)
        why = f"because delivery {by} was rejected at receipt" if by else "; ".join(d.reasons)
        out.append({"step": "discarded", "text": f"Discarded, not processed: {why}.", "at": _at(d.processed_at),
                    "because": by})
    elif d.status == "assessed_negative":
        out.append({"step": "assessed_negative",
                    "text": f"Assessed negative: {errors} blocking finding(s). See the reports, correct the data "
                            "and deliver again.", "at": _at(d.processed_at)})
    elif d.status == "failed":
        text = "Processing failed on the receiving side (not a fault in the delivery as far as is known); an " \
               "operator will look at it."
        if operator and d.failure is not None:
            text += f" {d.failure.summary()}"
        out.append({"step": "failed", "text": text, "at": _at(d.processed_at)})
    elif d.status == "accepted":
        out.append({"step": "accepted", "text": "Accepted: assessed positive. A TEST delivery is not imported.",
                    "at": _at(d.processed_at)})
    elif d.status == "imported":
        total = sum(d.imported.values()) if d.imported else records
        out.append({"step": "accepted", "text": "Accepted: assessed positive.", "at": None})
        out.append({"step": "imported", "text": f"Imported: {total} record(s).", "at": _at(d.processed_at)})
    return out


def _running_step(word: str, moving, d) -> dict:
    if word == "stalled":
        last = moving.updated if moving is not None else d.started_at.timestamp()
        minutes = max(1, int((time.time() - last) // 60))
        return {"step": "stalled", "text": f"Stalled: no progress for {minutes} minute(s). Nothing is lost: the "
                                           "delivery is kept, and the receiving side sees it on its queue page.",
                "at": None}
    if word == "importing":
        figure = ""
        if moving is not None and moving.records:
            figure = f": {moving.records} of {moving.expected} records written" if moving.expected else \
                f": {moving.records} records written"
        return {"step": "importing", "text": f"Assessed positive; importing the records{figure}.", "at": None}
    figure = ""
    if moving is not None and moving.expected:
        figure = f": {moving.as_dict()['percent']}% ({moving.records} of {moving.expected} records)"
    elif moving is not None and moving.records:
        figure = f": {moving.records} records checked"
    return {"step": "validating", "text": f"Validating{figure}.", "at": None}


def status(d, moving=None, *, ahead: int | None = None, stall_after: float = 300.0, operator: bool = False) -> dict:
    """The JSON the status endpoints answer: where the delivery is, its timeline and its reports."""
    return {
        "id": d.id, "name": d.name, "provider": {"agb": d.agb, "branch": d.branch}, "phase": d.phase,
        "status": d.status, "state": state(d, moving, stall_after=stall_after), "done": done(d),
        "assessment": d.assessment, "progress": moving.as_dict() if moving is not None else None,
        "timeline": steps(d, moving, ahead=ahead, stall_after=stall_after, operator=operator),
        "reports": sorted(d.reports), "imported": dict(d.imported),
    }
