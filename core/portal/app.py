"""The portal's ASGI app: `create_app(store_url, ...)` builds it; `disval serve` runs it with uvicorn.

URL map (pages for people, `/api/v1` for tokens; see `pages`, `operator`, `api`):

    /login /logout /providers /providers/{agb}/{branch}[/upload|/tokens]
    /deliveries/{id}[/status.json|/reports/{name}]
    /operator[/providers|/deliveries/{id}/requeue|/deliveries/{id}/revalidate|/audit]
    /api/v1/providers/{agb}/{branch}/deliveries /api/v1/deliveries/{id}[/reports[/{name}]]
    /api/openapi.json /static/...
"""
from __future__ import annotations

import contextlib
import html
import logging
import os
import secrets

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from ..gate.receiving import make_request
from ..plugins import get_plugin_manager
from ..reports import formats_by_name
from ..store.delivery_store import default_store_url, open_store
from . import api, operator, pages
from .uploads import DEFAULT_MAX_UPLOAD, BodyLimit, UploadFailed
from .web import STATIC, Portal, Settings
from .worker import Worker

log = logging.getLogger("disval.portal")
SESSION_HOURS = 8
PAGE_CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'"




def create_app(store_url: str | None = None, *, pm=None, secret_key: str | None = None, worker: bool = True,
               max_upload: int = DEFAULT_MAX_UPLOAD, stall_after: float = 300.0, report_formats=None,
               codelists: str | None = None, policy: str | None = None, require_real_codelists: bool = False,
               poll: float = 2.0, base_url: str = "", https_only: bool | None = None, plugins=()) -> Starlette:
    """The portal app on the store at `store_url` (default: `default_store_url()`).

    `worker`: run the in-process worker that drains the queue (one thread); on a PostgreSQL store with the
    job queue uploads are also deferred as jobs, and the provider's lock keeps the two from overlapping.
    `secret_key` signs the session cookies (default: DISVAL_SECRET_KEY, else a
    random key: sessions then end when the server restarts). `report_formats`:
    the formats every delivery's reports are kept in (default: every installed
    format, plugins' too). `stall_after`: seconds without progress before a
    running delivery shows "stalled". `codelists`, `policy`,
    `require_real_codelists` as for `disval submit`. `plugins`: objects registered with the plugin
    manager for this app (e.g. an e-mail notifier on `disval_delivery_event`); `base_url`: the portal's
    address as users reach it, for links (`app.state.portal.settings.base_url`). `https_only`: the session
    cookie is sent over HTTPS only (default: when `base_url` is an https:// address).
    """
    store_url = store_url or default_store_url()
    pm = pm or get_plugin_manager()
    for plugin in plugins:
        pm.register(plugin)
    formats = list(report_formats or formats_by_name(pm))
    request = make_request(pm, codelists=codelists, policy=policy, formats=formats,
                           require_real_codelists=require_real_codelists)
    settings = Settings(max_upload=max_upload, stall_after=stall_after, request=request, base_url=base_url)
    with open_store(store_url, pm=pm) as store:  # create or upgrade the schema once, before any request
        # On a PostgreSQL store with the job queue an upload is received and its provider's drain deferred in
        # one transaction, for the `disval worker`s (`disval serve` then runs no in-process worker).
        wake = _job_queue(store)
    runner = Worker(store_url, pm, poll=poll) if worker else None
    portal = Portal(store_url, pm, settings, runner, wake=wake)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        if runner is not None:
            runner.start()
        try:
            yield
        finally:
            if runner is not None:
                runner.stop()
            portal.close()

    key = secret_key or os.environ.get("DISVAL_SECRET_KEY")
    if not key:
        log.warning("no secret key given (--secret-key or DISVAL_SECRET_KEY): sessions end when the server stops")
        key = secrets.token_urlsafe(32)
    app = Starlette(
        routes=[*pages.ROUTES, *operator.ROUTES, *api.ROUTES, Mount("/static", StaticFiles(directory=STATIC),
                                                                   name="static")],
        middleware=[
            Middleware(BodyLimit, upload_limit=max_upload),
            Middleware(SessionMiddleware, secret_key=key, session_cookie="disval_session",
                       max_age=SESSION_HOURS * 3600, same_site="lax",
                       https_only=base_url.startswith("https://") if https_only is None else https_only),
            Middleware(_SecurityHeaders),
        ],
        exception_handlers={HTTPException: _http_error, UploadFailed: _upload_failed, Exception: _server_error},
        lifespan=lifespan,
    )
    app.state.portal = portal
    return app


def _job_queue(store):
    """`defer_drain` when the store drains through jobs (PostgreSQL with procrastinate), else None."""
    from ..workers.wakeups import defer_drain, uses_jobs

    return defer_drain if uses_jobs(store) else None


class _SecurityHeaders:
    """Headers every response carries: no framing, no sniffing, no referrer, a strict CSP for pages."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def with_headers(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                extra = {b"x-content-type-options": b"nosniff", b"x-frame-options": b"DENY",
                         b"referrer-policy": b"no-referrer", b"content-security-policy": PAGE_CSP.encode(),
                         b"cache-control": b"no-store"}
                headers += [(k, v) for k, v in extra.items() if k not in names]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.url.path.endswith(".json")


async def _http_error(request: Request, exc: HTTPException):
    """A refusal in the caller's terms: JSON for the API, a short page for people; redirects as they are."""
    if 300 <= exc.status_code < 400:
        return RedirectResponse(exc.headers.get("Location", "/"), status_code=exc.status_code)
    detail = exc.detail if isinstance(exc.detail, str) else "The request was refused."
    if exc.status_code == 404 and detail == "Not Found":
        detail = "There is no such page."
    if exc.status_code == 405:
        detail = "That is not allowed here."
    if _wants_json(request):
        return JSONResponse({"error": detail}, status_code=exc.status_code, headers=exc.headers)
    page = (f"<!doctype html><html lang=en><head><meta charset=utf-8><title>disval: {exc.status_code}</title>"
            f"<link rel=stylesheet href=/static/portal.css></head><body><main><h1>{exc.status_code}</h1>"
            f"<p class=error>{html.escape(detail)}</p><p><a href=/>Back to the portal</a></p></main></body></html>")
    return HTMLResponse(page, status_code=exc.status_code, headers=exc.headers)


async def _server_error(request: Request, exc: Exception):
    """Anything unexpected: logged here, a plain apology there (no traceback, no detail leaks out)."""
    log.exception("error serving %s %s", request.method, request.url.path)
    # Nothing here knows how far the request got, so no promise that nothing was lost.
    return _apology(request, "Something went wrong on the receiving side, and what you asked may not have been "
                             "done. Try again later.")


async def _upload_failed(request: Request, exc: UploadFailed):
    """An upload that failed on the receiving side (logged where it failed): whether it was kept, as far as known."""
    return _apology(request, exc.answer)


def _apology(request: Request, detail: str):
    if _wants_json(request):
        return JSONResponse({"error": detail}, status_code=500)
    return HTMLResponse(f"<!doctype html><title>disval: 500</title><p>{html.escape(detail)}</p>", status_code=500)
