"""Deliveries whose processing failed: kept as `failed`, never in the way of the provider's queue.

Anything a delivery makes processing raise (a reader crash, a plugin's bug, a
database that refuses a value) ends that delivery in status `failed`, with
the error kept for the operator (`Failure`: type, message and the innermost
frames of the traceback). The gate then goes on with the provider's next
delivery: a failed delivery was not received, so it does not count for the
order criterion (ZIP-ORDER), and it discards nothing.

An operator then either puts it back in the queue (`requeue`: processed, in
the GA's order, by the next submit or by `disval requeue` itself) or gives it
up (`discard`: terminal, like a delivery discarded at receipt, so the same zip
may be offered again).
"""
from __future__ import annotations

import datetime as dt
import traceback
from pathlib import Path

from ..pipeline import UsageError
from ..store.delivery_store import Delivery, DeliveryStore, Failure

MAX_ATTEMPTS = 3  # processing begun this often and never finished: the delivery itself kills the process
FRAMES = 6  # innermost frames kept: enough to find the place, short enough to read in a table
MAX_MESSAGE = 2000
_PACKAGE = Path(__file__).resolve().parent.parent  # the disval package: its frames are named relative to it


def failure_of(exc: BaseException) -> Failure:
    """What the operator is told of an exception: its type, its message, and where it was raised."""
    cls = type(exc)
    name = cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"
    message = " ".join(str(exc).split()) or "(no message)"
    if len(message) > MAX_MESSAGE:
        message = message[:MAX_MESSAGE - 1] + "…"
    frames = traceback.extract_tb(exc.__traceback__)[-FRAMES:]
    where = "\n".join(f"{_short_path(f.filename)}:{f.lineno} in {f.name}" for f in frames)
    return Failure(type=name, message=message, where=where)


def _short_path(filename: str) -> str:
    """A frame's file relative to the disval package (disval/core/gate.py), else its last two parts."""
    path = Path(filename)
    try:
        return str(Path("disval") / path.resolve().relative_to(_PACKAGE))
    except (ValueError, OSError):
        return str(Path(*path.parts[-2:])) if len(path.parts) > 1 else filename


class Interrupted(Exception):
    """Processing of a delivery began MAX_ATTEMPTS times and never finished: every process died at it."""


def check_attempts(d: Delivery) -> None:
    """Raise `Interrupted` for a delivery that every process working on it died at.

    A kill during an import is survived by design (the next process finishes
    it); but a delivery that kills whoever processes it (memory, a crash in
    native code) would otherwise block its provider's queue for good.
    """
    if d.attempts >= MAX_ATTEMPTS:
        raise Interrupted(f"its processing began {d.attempts} times and never finished: the process doing it "
                          "died each time (killed, or out of memory?)")


def fail(store: DeliveryStore, d: Delivery, exc: BaseException) -> Delivery:
    """End `d` in status `failed` with the error kept; returns it as stored.

    A delivery whose import was already committed stays `imported` (its
    records are the provider's records now), with the error kept beside it.
    If the store itself cannot record the failure, that error propagates and
    the delivery stays as it was, to be processed by the next submit.
    """
    failure = failure_of(exc)
    current = store.delivery(d.id)
    if current is not None and current.status == "imported":
        return store.update_delivery(d.id, failure=failure)
    return store.update_delivery(d.id, status="failed", failure=failure, processed_at=_now())


def requeue(store: DeliveryStore, delivery_id: int) -> Delivery:
    """Put a failed delivery back in its provider's queue; UsageError for any other delivery."""
    d = failed_delivery(store, delivery_id, "requeued")
    return store.update_delivery(d.id, status="queued", failure=None, started_at=None, processed_at=None,
                                 attempts=0)


def discard(store: DeliveryStore, delivery_id: int) -> Delivery:
    """Give up a failed delivery for good (status `discarded`; the error stays with it)."""
    d = failed_delivery(store, delivery_id, "discarded")
    why = f"ZIP-DISCARDED: discarded by an operator after its processing failed ({d.failure.summary()})"
    return store.update_delivery(d.id, status="discarded", reasons=[why], processed_at=_now())


def failed_delivery(store: DeliveryStore, delivery_id: int, action: str) -> Delivery:
    """The failed delivery with this id; UsageError for any other ("only a failed delivery can be `action`")."""
    d = store.delivery(delivery_id)
    if d is None:
        raise UsageError(f"there is no delivery {delivery_id} in {store.url}")
    if d.status != "failed":
        raise UsageError(f"delivery {d.id} ({d.name}) is {d.status}: only a failed delivery can be {action}")
    return d


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)
