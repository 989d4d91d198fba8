"""Receiving a delivery: keep its zip and queue it, in one transaction; processing comes later (`drain`).

`disval submit` receives and then drains at once; the portal receives an
upload in the request and its worker drains; a job queue can do the same.
What a delivery is to be validated and reported with (the request:
codelists, policy, report formats) is checked before anything is kept, and
kept with the delivery, since whichever process drains it uses that.
"""
from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path
from typing import Callable, Iterable

from ..pipeline import UnclaimedName, UsageError, choose_standard, standards
from ..reports import formats_by_name
from ..store.delivery_store import Delivery, DeliveryStore
from ..workdir import readable_name

DEFAULT_FORMATS = ("json", "text")
DEFAULT_MAX_EXAMPLES = 1000


def receive(zip_path, store: DeliveryStore, *, pm, request: dict, name: str | None = None,
            wake: Callable[[DeliveryStore, str, str], object] | None = None) -> Delivery:
    """Keep one zip and insert its delivery as queued, in one transaction; nothing is processed yet.

    `request` is what `make_request` checked (codelists, policy, report formats). `name` is the
    delivery's zip name when the file on disk is named otherwise (an upload kept under a temporary
    name). `wake(store, agb, branch)`, when given, is called in the same transaction for a delivery
    that names its provider: the job queue defers the provider's drain there
    (`disval.core.workers.wakeups.defer_drain`), so that the delivery is kept if and only if its
    drain is queued. Fires `disval_delivery_event("received", ...)`. Processing is `drain`'s work,
    under the provider's lock, in whichever process takes it.
    """
    name = readable_name(name or Path(zip_path).name)
    std = claiming_standard(pm, name)
    zip_name = std and std.naming.parse(name)
    with store.transaction() if wake is not None else nullcontext():
        d = store.add_delivery(name, Path(zip_path), zip_name, standard=std and std.id,
                               validation={"request": request})
        if wake is not None and d.agb is not None:
            wake(store, d.agb, d.branch)
    pm.hook.disval_delivery_event(event="received", delivery=d, store=store)
    return d


def make_request(pm, *, codelists: str | None = None, policy: str | None = None,
                 formats: Iterable[str] = DEFAULT_FORMATS, max_examples: int | None = DEFAULT_MAX_EXAMPLES,
                 require_real_codelists: bool = False) -> dict:
    """How deliveries received with it are to be validated and reported; UsageError for a bad request."""
    request = check_request(pm, [], codelists, policy, list(formats), max_examples)
    request["require_real_codelists"] = bool(require_real_codelists)
    installed = list(standards(pm).values())
    known = []
    for std in installed:  # no zip to choose a standard by yet: the request must suit one installed at least
        try:
            std.policy(policy)
            known.append(std)
        except KeyError:
            pass
    if policy and not known:
        raise UsageError(f"no installed standard has the policy {policy!r}")
    for std in installed:
        pm.hook.disval_codelist_provider(standard=std, location=request["codelists"])  # raises for a bad location
    return request


def claiming_standard(pm, name: str):
    """The standard whose zip naming claims `name`; None when none of several installed does: ZIP-NAME."""
    try:
        return choose_standard(pm, name)
    except UnclaimedName:
        return None


def check_request(pm, paths: list[Path], codelists, policy, formats, max_examples) -> dict:
    """Check what was asked before anything is kept (UsageError); the request is kept with each delivery."""
    for p in paths:
        if not p.is_file():
            raise UsageError(f"{p}: no such file")
    available = formats_by_name(pm)
    unknown = [f for f in formats if f not in available]
    if unknown or not formats:
        raise UsageError(f"unknown report format {', '.join(unknown) or '(none)'}; "
                         f"available: {', '.join(sorted(available))}")
    location = str(Path(codelists).resolve()) if codelists else None
    claimed = [std for std in map(lambda p: claiming_standard(pm, p.name), paths) if std is not None]
    for std in {std.id: std for std in claimed}.values():
        try:
            std.policy(policy)
        except KeyError as exc:
            raise UsageError(exc.args[0]) from None
        pm.hook.disval_codelist_provider(standard=std, location=location)  # raises for a bad location
    if max_examples is not None and max_examples < 1:
        max_examples = None  # as --max-findings 0: list all (the receipt needs the packing slip's findings)
    return {"codelists": location, "policy": policy, "formats": formats, "max_examples": max_examples}
