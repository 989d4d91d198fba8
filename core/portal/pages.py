"""The pages a provider's people use: sign in, their providers, upload, a delivery's timeline, reports, tokens."""
from __future__ import annotations

import shutil
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from ..gate.receiving import receive
from ..store import accounts as book
from ..workdir import working_directory
from .accounts import authenticate, create_token
from .uploads import MAYBE_KEPT, NOT_KEPT, UploadFailed, check_upload, failed_upload, log, safe_filename
from .web import (
    back_to, check_csrf, portal, readable_delivery, render, session_principal, signed_in, visible_provider,
)

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8", ".txt": "text/plain; charset=utf-8", ".json": "application/json",
    ".csv": "text/csv; charset=utf-8", ".xml": "application/xml",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
# A report viewed in the browser runs in a sandbox (an opaque origin: no cookies, no portal pages), with
# its own inline script and styles allowed, e.g. the HTML report's filter.
REPORT_CSP = ("sandbox allow-scripts allow-downloads; default-src 'none'; script-src 'unsafe-inline'; "
              "style-src 'unsafe-inline'; img-src data:")


# ---------------------------------------------------------------- signing in


def _safe_next(target: str | None) -> str:
    """Only a path on this site: never an open redirect to another."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def login_page(request: Request):
    """The sign-in form."""
    return render(request, "login.html", next=_safe_next(request.query_params.get("next")), error=None)


async def login(request: Request):
    """Check the password; a wrong one counts towards the limit of attempts."""
    form = await request.form()
    check_csrf(request, form)
    p = portal(request)
    login_name = str(form.get("login", "")).strip()[:200]
    password = str(form.get("password", ""))
    client = request.client.host if request.client else "?"
    target = _safe_next(str(form.get("next", "")))
    # The throttle counts in the store (shared by every process serving it): off the event loop.
    wait = await run_in_threadpool(p.throttle.wait, login_name, client)
    if wait:
        return render(request, "login.html", status_code=429, next=target,
                      error=f"Too many failed attempts. Try again in {wait // 60 + 1} minute(s).")
    u = await run_in_threadpool(lambda: authenticate(p.store(), login_name, password))
    if u is None:
        await run_in_threadpool(p.throttle.failed, login_name, client)
        await run_in_threadpool(p.audit_sign_in, login_name or "?", "sign-in failed", client)
        return render(request, "login.html", status_code=401, next=target,
                      error="The login or password is wrong.")
    await run_in_threadpool(p.throttle.succeeded, login_name)
    request.session.clear()  # a new session on sign-in: no fixation
    request.session["login"] = u.login
    await run_in_threadpool(p.audit_sign_in, u.login, "signed in", client)
    return RedirectResponse(target, status_code=303)


async def logout(request: Request):
    """Sign out (a form with the CSRF token, so that another site cannot sign you out)."""
    form = await request.form()
    check_csrf(request, form)
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


# ---------------------------------------------------------------- providers and deliveries


def home(request: Request):
    """Operators to the queue; everyone else to their providers."""
    who = session_principal(request)
    if who is None:
        return RedirectResponse("/login", status_code=303)
    if who.operator:
        return RedirectResponse("/operator", status_code=303)
    return RedirectResponse("/providers", status_code=303)


def providers(request: Request):
    """The providers the user may see."""
    who = signed_in(request)
    return render(request, "providers.html", who=who, providers=who.providers(portal(request).store()))


def provider_page(request: Request):
    """One provider: its deliveries, newest first, and the upload form."""
    who = signed_in(request)
    agb, branch = request.path_params["agb"], request.path_params["branch"]
    return render(request, "provider.html", **provider_context(request, who, agb, branch), checked=None)


def provider_context(request: Request, who, agb: str, branch: str) -> dict:
    """What the provider page shows: the provider, its deliveries newest first with their status, its settings."""
    provider = visible_provider(request, who, agb, branch)
    p = portal(request)
    store = p.store()
    ds = list(reversed(store.deliveries(agb, branch)))
    rows = list(zip(ds, p.statuses(ds, operator=who.operator)))
    return dict(who=who, provider=provider, rows=rows, settings=store.provider_settings(agb, branch),
                can_upload=who.can_upload(agb, branch), can_tokens=who.can_manage_tokens(agb, branch))


async def upload(request: Request):
    """Stream the zip to disk, check at once what can be, keep and queue it; the worker does the rest."""
    who = await run_in_threadpool(signed_in, request)
    agb, branch = request.path_params["agb"], request.path_params["branch"]
    await run_in_threadpool(visible_provider, request, who, agb, branch)
    if not who.can_upload(agb, branch):
        raise HTTPException(403, "Your role for this provider may not deliver.")
    async with request.form(max_files=1, max_fields=8) as form:
        check_csrf(request, form)
        phase = {"test": "test", "production": "production"}.get(str(form.get("phase", "")))
        if phase is None:
            raise HTTPException(400, "Choose TEST (connect phase) or production.")
        file = form.get("zip")
        if file is None or isinstance(file, str):
            raise HTTPException(400, "Choose the delivery zip to upload.")
        done = await run_in_threadpool(accept_upload, portal(request), who, file, agb, branch, phase)
    checked, delivery = done
    if delivery is None:  # refused at once: the page again, saying why; nothing was kept
        context = await run_in_threadpool(provider_context, request, who, agb, branch)
        return render(request, "provider.html", status_code=422, **context, checked=checked)
    request.session["notes"] = checked.notes
    return back_to(f"/deliveries/{delivery.id}")


def accept_upload(p, who, file, agb: str, branch: str, phase: str | None):
    """Check the uploaded file at once; keep and queue it when it passes. Returns (checked, delivery or None).

    Shared by the upload page and the API. The spooled upload is copied to a private working
    directory under a plain name first: the delivery's own name is kept in the store, never used as a path.
    """
    name = safe_filename(file.filename)
    where = f"{name!r} for {agb} {branch}"
    store = p.store()
    d = None
    try:
        with working_directory("upload") as tmp:
            path = Path(tmp) / "upload.zip"
            file.file.seek(0)
            with open(path, "wb") as out:
                shutil.copyfileobj(file.file, out, 1 << 20)
            checked = check_upload(path, name, agb, branch, phase, store, p.pm)
            if checked.refused:
                p.audit(who, "upload refused", f"{agb} {branch}", f"{name!r}: {checked.refused}")
                return checked, None
            try:  # keeping it is one transaction, but what follows it inside `receive` may fail after it
                d = receive(path, store, pm=p.pm, request=p.settings.request, name=name, wake=p.wake)
            except Exception:
                raise failed_upload(MAYBE_KEPT, where) from None
    except UploadFailed:
        raise
    except Exception:
        if d is None:  # it failed before `receive`: nothing of it was kept
            raise failed_upload(NOT_KEPT, where) from None
        log.exception("upload %s: delivery %s was kept, but removing its working copy failed", where, d.id)
    try:
        p.audit(who, "uploaded", f"{agb} {branch}", f"delivery {d.id} {d.name} ({d.size} bytes)")
        if p.worker is not None:
            p.worker.wake()
    except Exception:  # it is kept and queued: say so, or the sender sends it again and gets ZIP-DUPLICATE
        log.exception("upload %s: delivery %s was kept, but noting it failed", where, d.id)
    return checked, d


def delivery_page(request: Request):
    """A delivery's timeline (live while it runs) and its reports."""
    who = signed_in(request)
    d = readable_delivery(request, who, int(request.path_params["delivery"]))
    notes = request.session.pop("notes", None) or []
    return render(request, "delivery.html", who=who, d=d, status=portal(request).status(d, operator=who.operator),
                  notes=notes)


def delivery_status(request: Request):
    """The delivery's status as JSON, for the page's polling script."""
    who = signed_in(request)
    d = readable_delivery(request, who, int(request.path_params["delivery"]))
    return JSONResponse(portal(request).status(d, operator=who.operator))


def report(request: Request):
    """A kept report: shown in the browser (sandboxed), or downloaded with `?download=1`."""
    who = signed_in(request)
    d = readable_delivery(request, who, int(request.path_params["delivery"]))
    return report_response(request, d, request.path_params["name"], bool(request.query_params.get("download")))


def report_response(request: Request, d, name: str, download: bool) -> Response:
    """The report named `name` of delivery `d` (404 when it has none by that name)."""
    sha = d.reports.get(name)
    if sha is None:
        raise HTTPException(404, "This delivery has no report by that name.")
    content = portal(request).store().read_blob(sha)
    suffix = Path(name).suffix.lower()
    inline = not download and suffix in (".html", ".txt", ".json", ".csv", ".xml")
    quoted = name.encode("ascii", "replace").decode().replace('"', "")
    headers = {"Content-Disposition": f'{"inline" if inline else "attachment"}; filename="{quoted}"',
               "Content-Security-Policy": REPORT_CSP, "X-Content-Type-Options": "nosniff"}
    return Response(content, media_type=CONTENT_TYPES.get(suffix, "application/octet-stream"), headers=headers)


# ---------------------------------------------------------------- API tokens


def tokens_page(request: Request):
    """The provider's API tokens (organisation admins and operators)."""
    who = signed_in(request)
    agb, branch = request.path_params["agb"], request.path_params["branch"]
    visible_provider(request, who, agb, branch)
    if not who.can_manage_tokens(agb, branch):
        raise HTTPException(403, "Only the organisation's admin manages its API tokens.")
    return render(request, "tokens.html", **_tokens_context(request, who, agb, branch), new=None)


def _tokens_context(request: Request, who, agb: str, branch: str) -> dict:
    store = portal(request).store()
    return dict(who=who, provider=visible_provider(request, who, agb, branch), tokens=book.tokens(store, agb, branch),
                members=book.members(store, agb, branch), roles=book.ROLES)


async def _admin_form(request: Request, refusal: str):
    """The signed-in organisation admin (or operator), the provider of the path and the form, CSRF-checked."""
    who = await run_in_threadpool(signed_in, request)
    agb, branch = request.path_params["agb"], request.path_params["branch"]
    await run_in_threadpool(visible_provider, request, who, agb, branch)
    if not who.can_manage_tokens(agb, branch):
        raise HTTPException(403, refusal)
    form = await request.form()
    check_csrf(request, form)
    return who, agb, branch, form


async def member_set(request: Request):
    """Give an existing user a role for the provider, or take it away (organisation admins and operators)."""
    who, agb, branch, form = await _admin_form(request, "Only the organisation's admin manages who has access.")
    login, role = str(form.get("login", "")).strip(), str(form.get("role", ""))
    p = portal(request)

    def change() -> str:
        store = p.store()
        try:
            if role == "none":
                book.revoke_membership(store, login, agb, branch)
                p.audit(who, "role revoked", f"{agb} {branch}", login)
                return f"{login} has no role for {agb} {branch} any more."
            m = book.grant(store, login, agb, branch, role)
        except book.AccountError as exc:
            return str(exc)
        p.audit(who, "role granted", f"{agb} {branch}", f"{m.login}: {m.role}")
        return f"{m.login} is {m.role.replace('_', ' ')} for {agb} {branch}."

    request.session["message"] = await run_in_threadpool(change)
    return back_to(f"/providers/{agb}/{branch}/tokens")


async def token_create(request: Request):
    """Make a token; it is shown once, on the next page."""
    who, agb, branch, form = await _admin_form(request, "Only the organisation's admin manages its API tokens.")
    scopes = [s for s in ("upload", "read") if form.get(f"scope_{s}")]
    if not scopes:
        raise HTTPException(400, "Choose at least one scope: upload, read.")
    label = str(form.get("label", "")).strip()[:100]
    p = portal(request)
    token, _ = await run_in_threadpool(lambda: create_token(p.store(), agb, branch, scopes, label, who.name))
    # Shown once, in this answer: never put in the session cookie or a URL, where it would outlive the page.
    context = await run_in_threadpool(lambda: _tokens_context(request, who, agb, branch))
    return render(request, "tokens.html", status_code=201, **context, new=token)


async def token_revoke(request: Request):
    """Revoke one of the provider's tokens."""
    who, agb, branch, form = await _admin_form(request, "Only the organisation's admin manages its API tokens.")
    store = portal(request).store()
    t = book.token(store, int(request.path_params["token"]))
    if t is None or (t.agb, t.branch) != (agb, branch):
        raise HTTPException(404, "There is no such token.")
    book.revoke_token(store, t.id)
    portal(request).audit(who, "token revoked", f"{agb} {branch}", f"token #{t.id} ({t.hint}...)")
    return back_to(f"/providers/{agb}/{branch}/tokens")


_P = "/providers/{agb:agb}/{branch:branch}"
ROUTES = [
    Route("/", home, name="home"),
    Route("/login", login_page, methods=["GET"], name="login_page"),
    Route("/login", login, methods=["POST"], name="login"),
    Route("/logout", logout, methods=["POST"], name="logout"),
    Route("/providers", providers, name="providers"),
    Route(_P, provider_page, name="provider"),
    Route(_P + "/upload", upload, methods=["POST"], name="upload"),
    Route(_P + "/tokens", tokens_page, methods=["GET"], name="tokens"),
    Route(_P + "/tokens", token_create, methods=["POST"], name="token_create"),
    Route(_P + "/tokens/{token:int}/revoke", token_revoke, methods=["POST"], name="token_revoke"),
    Route(_P + "/members", member_set, methods=["POST"], name="member_set"),
    Route("/deliveries/{delivery:int}", delivery_page, name="delivery"),
    Route("/deliveries/{delivery:int}/status.json", delivery_status, name="delivery_status"),
    Route("/deliveries/{delivery:int}/reports/{name}", report, name="report"),
]
