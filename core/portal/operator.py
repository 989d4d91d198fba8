"""The operator's pages (the receiving side): every provider and the queue, registering and deactivating
providers, their connect-phase settings, requeue, revalidate, and the audit log. Anyone who is not an
operator gets 404: for them these pages do not exist."""
from __future__ import annotations

import datetime as dt
import re

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.routing import Route

from ..gate import failures
from ..gate.revalidation import revalidate
from ..store import accounts as book
from ..store.delivery_store import StoreError
from .web import back_to, check_csrf, operator_only, portal, render

_AGB, _BRANCH = re.compile(r"\d{8}"), re.compile(r"\d{2}")


def queue_page(request: Request):
    """Every provider with its settings and latest delivery; the queue; the newest deliveries."""
    who = operator_only(request)
    p = portal(request)
    store = p.store()
    providers = [(x, store.provider_settings(x.agb, x.branch)) for x in store.providers()]
    queued = [d for d in (store.delivery(i) for i in book.queued_deliveries(store)) if d]
    recent = [d for d in (store.delivery(i) for i in book.recent_deliveries(store, 50)) if d]
    return render(request, "operator.html", who=who, providers=providers,
                  queued=list(zip(queued, p.statuses(queued, operator=True))),
                  recent=list(zip(recent, p.statuses(recent, operator=True))))


async def _operator_form(request: Request):
    """The signed-in operator (anyone else is refused) and the posted form, CSRF-checked."""
    who = await run_in_threadpool(operator_only, request)
    form = await request.form()
    check_csrf(request, form)
    return who, form


async def provider_add(request: Request):
    """Register a provider (AGB code + volgnr, the NZa account it delivers with)."""
    who, form = await _operator_form(request)
    agb, branch = str(form.get("agb", "")).strip(), str(form.get("branch", "")).strip()
    username, name = str(form.get("username", "")).strip(), str(form.get("name", "")).strip()
    if not _AGB.fullmatch(agb) or not _BRANCH.fullmatch(branch) or not username:
        raise HTTPException(400, "An AGB code is 8 digits, a volgnr 2 digits, and the NZa user name is needed.")
    p = portal(request)

    def add():
        try:
            p.store().add_provider(agb, branch, username, name)
        except StoreError as exc:
            return str(exc)
        p.audit(who, "provider registered", f"{agb} {branch}", f"user {username}")
        return f"Registered {agb} {branch}."

    request.session["message"] = await run_in_threadpool(add)
    return back_to("/operator")


async def provider_active(request: Request):
    """Deactivate (from today) or activate a provider."""
    who, form = await _operator_form(request)
    agb, branch = request.path_params["agb"], request.path_params["branch"]
    active = request.path_params["action"] == "activate"
    p = portal(request)

    def change():
        store = p.store()
        if store.provider(agb, branch) is None:
            raise HTTPException(404, "There is no such provider.")
        if active:
            store.activate_provider(agb, branch)
        else:
            store.deactivate_provider(agb, branch, dt.date.today())
        p.audit(who, "provider activated" if active else "provider deactivated", f"{agb} {branch}")

    await run_in_threadpool(change)
    request.session["message"] = f"{agb} {branch} is {'active' if active else 'deactivated'}."
    return back_to("/operator")


async def requeue(request: Request):
    """Put a failed delivery back in its provider's queue; the worker processes it."""
    who, form = await _operator_form(request)
    delivery_id = int(request.path_params["delivery"])
    p = portal(request)

    def back():
        store = p.store()
        try:
            failures.failed_delivery(store, delivery_id, "requeued")
        except Exception as exc:  # not failed, or no such delivery: say so
            return str(exc)
        with store.transaction():  # queued again and, with the job queue, its provider's drain deferred
            d = failures.requeue(store, delivery_id)
            if p.wake is not None and d.agb is not None:
                p.wake(store, d.agb, d.branch)
        p.audit(who, "requeued", f"delivery {delivery_id}")
        if p.worker is not None:
            p.worker.wake()
        return f"Delivery {delivery_id} is queued again."

    request.session["message"] = await run_in_threadpool(back)
    return back_to(f"/deliveries/{delivery_id}")


async def revalidate_delivery(request: Request):
    """Validate a kept delivery again with the rules of its time; show the assessment."""
    who, form = await _operator_form(request)
    delivery_id = int(request.path_params["delivery"])
    p = portal(request)

    def again():
        try:
            result = revalidate(delivery_id, p.store(), pm=p.pm)
        except Exception as exc:  # never validated, standard gone: one line
            return f"Delivery {delivery_id} could not be revalidated: {exc}"
        counts = result.severity_counts()
        p.audit(who, "revalidated", f"delivery {delivery_id}", f"assessment {result.assessment}")
        notes = "; ".join(str(w) for w in result.warnings)
        return (f"Revalidated delivery {delivery_id} with the rules of its time: assessment {result.assessment}, "
                f"{counts.get('ERR', 0)} error(s), {counts.get('WRN', 0)} warning(s)." + (f" {notes}" if notes else ""))

    request.session["message"] = await run_in_threadpool(again)
    return back_to(f"/deliveries/{delivery_id}")


def audit_page(request: Request):
    """Who did what, newest first."""
    who = operator_only(request)
    return render(request, "audit.html", who=who, entries=book.audit_log(portal(request).store(), 500))


ROUTES = [
    Route("/operator", queue_page, name="operator"),
    Route("/operator/providers", provider_add, methods=["POST"], name="provider_add"),
    Route("/operator/providers/{agb:agb}/{branch:branch}/{action:activeness}", provider_active, methods=["POST"],
          name="provider_active"),
    Route("/operator/deliveries/{delivery:int}/requeue", requeue, methods=["POST"], name="requeue"),
    Route("/operator/deliveries/{delivery:int}/revalidate", revalidate_delivery, methods=["POST"],
          name="revalidate"),
    Route("/operator/audit", audit_page, name="audit"),
]
