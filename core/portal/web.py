"""What every page and API route shares: the portal's state, who is asking, CSRF, rendering, refusals.

`Portal` is kept on `app.state.portal`. Each thread that serves requests
opens its own store (a store object belongs to one thread); the worker has
its own too.
"""
from __future__ import annotations

import hmac
import logging
import secrets
import threading
from dataclasses import dataclass, field
from pathlib import Path

import jinja2

from starlette.convertors import Convertor, register_url_convertor
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse
from starlette.templating import Jinja2Templates

from ..store import accounts as book
from ..store.delivery_store import open_store
from . import timeline
from .audit_trail import AuditTrail
from .accounts import LoginThrottle, Principal, token_hash

log = logging.getLogger("disval.portal")
TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
# URL parts the routes name: {agb:agb}, {branch:branch}; anything else is no route at all (404).
class _Digits(Convertor):
    regex, length = "", 0

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value) -> str:
        return str(value)


class AgbConvertor(_Digits):
    """An AGB code in a URL: 8 digits (anything else is no route: 404)."""

    regex = r"[0-9]{8}"


class BranchConvertor(_Digits):
    """An instelling volgnr in a URL: 2 digits."""

    regex = r"[0-9]{2}"


class ActivenessConvertor(_Digits):
    """What an operator does to a provider: activate or deactivate."""

    regex = r"activate|deactivate"


register_url_convertor("agb", AgbConvertor())
register_url_convertor("branch", BranchConvertor())
register_url_convertor("activeness", ActivenessConvertor())


NOT_FOUND = "There is no such delivery, or you may not see it."  # the same words either way: no probing


@dataclass
class Settings:
    """What `disval serve` was started with, besides the store."""

    max_upload: int
    stall_after: float  # seconds without progress before a running delivery shows "stalled"
    request: dict  # how received deliveries are validated and reported (`make_request`)
    base_url: str = ""  # for links in e-mail; "" when unknown
    extra: dict = field(default_factory=dict)  # room for plugins' settings (e.g. mail)


class Portal:
    """The portal's state: the store's URL, the plugin manager, templates, worker, sign-in throttle.

    What several processes serving one store must agree on lives in the store: the deliveries, the
    accounts, and (in its live state) the progress of running deliveries and the failed sign-ins.
    """

    def __init__(self, store_url: str, pm, settings: Settings, worker=None, wake=None):
        self.store_url, self.pm, self.settings = store_url, pm, settings
        # worker: the in-process Worker (SQLite); wake: the job queue's `defer_drain` (PostgreSQL), else None.
        self.worker, self.wake = worker, wake
        self.throttle = LoginThrottle(live=lambda: self.store().live())
        # Autoescape every template: zip names and reasons come from deliveries, i.e. from anyone.
        env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True)
        env.tests["in_kind"] = _in_kind
        self.templates = Jinja2Templates(env=env)
        self._local = threading.local()
        self._opened: list = []
        self._lock = threading.Lock()
        self._trail = AuditTrail(lambda: open_store(self.store_url, pm=self.pm))

    def store(self):
        """This thread's open store."""
        store = getattr(self._local, "store", None)
        if store is None:
            store = self._local.store = open_store(self.store_url, pm=self.pm)
            with self._lock:
                self._opened.append(store)
        return store

    def close(self) -> None:
        """Write the audit entries still held back, then close every store the serving threads opened."""
        self._trail.close()
        with self._lock:
            for store in self._opened:
                store.close()
            self._opened.clear()

    def audit(self, who: Principal | str, action: str, target: str, detail: str = "") -> None:
        """Note who did what in the audit log."""
        book.audit(self.store(), who if isinstance(who, str) else who.name, action, target, detail)

    def audit_sign_in(self, login: str, action: str, client: str) -> None:
        """Note a sign-in (or a failed one) in the audit log without waiting for an import that holds the
        store (`AuditTrail`)."""
        self._trail.note(self.store(), login, action, client)

    def status(self, d, operator: bool = False) -> dict:
        """The delivery's status JSON, with its progress figure while it is being processed."""
        return self.statuses([d], operator=operator)[0]

    def statuses(self, ds, operator: bool = False) -> list[dict]:
        """The status JSON of each of `ds`; the progress figures of those running read in one go, from
        the store's live state, wherever they are processed (this process, a `disval submit`, a worker)."""
        running = [d.id for d in ds if not timeline.done(d) and d.started_at is not None]
        moving = self._progress(running) if running else {}
        out = []
        for d in ds:
            ahead = None
            if d.status == "queued" and d.started_at is None and d.agb is not None:
                waiting = self.store().deliveries(d.agb, d.branch, statuses=("queued",))
                ahead = next((i for i, x in enumerate(waiting) if x.id == d.id), None)
            out.append(timeline.status(d, moving.get(d.id), ahead=ahead, stall_after=self.settings.stall_after,
                                       operator=operator))
        return out

    def _progress(self, delivery_ids) -> dict:
        live = self.store().live()
        if live is None:
            return {}
        try:
            return live.progress(delivery_ids)
        except Exception:  # no figure is better than no page: the status itself comes from the store
            log.exception("could not read the progress of deliveries %s", delivery_ids)
            return {}


def _in_kind(name: str, marker: str | None) -> bool:
    """Whether a kept report's name is of the kind `marker` says (".import.", ".quality."; None: validation)."""
    if marker is None:
        return ".import." not in name and ".quality." not in name
    return marker in name


def portal(request: Request) -> Portal:
    """The portal serving this request."""
    return request.app.state.portal


# ---------------------------------------------------------------- who is asking


def session_principal(request: Request) -> Principal | None:
    """The signed-in, active user of this session, or None."""
    login = request.session.get("login")
    if not login:
        return None
    store = portal(request).store()
    u = book.user(store, login)
    if u is None or not u.active:
        request.session.clear()
        return None
    return Principal.of_user(store, u)


def signed_in(request: Request) -> Principal:
    """The signed-in user; otherwise the page answers with a redirect to the sign-in page."""
    who = session_principal(request)
    if who is None:
        target = request.url.path if request.method == "GET" else "/"
        raise HTTPException(303, headers={"Location": f"/login?next={target}"})
    return who


def token_principal(request: Request) -> Principal:
    """The API token in `Authorization: Bearer ...`; 401 when missing, unknown or revoked."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise HTTPException(401, "An API token is needed: Authorization: Bearer <token>.",
                            headers={"WWW-Authenticate": "Bearer"})
    store = portal(request).store()
    t = book.token_by_hash(store, token_hash(value.strip()))
    if t is None or not t.active:
        raise HTTPException(401, "The API token is unknown or revoked.", headers={"WWW-Authenticate": "Bearer"})
    provider = store.provider(t.agb, t.branch)
    if provider is None or not provider.active:
        raise HTTPException(403, "The token's provider is not active.")
    book.token_used(store, t.id)
    return Principal.of_token(t)


def readable_delivery(request: Request, who: Principal, delivery_id: int):
    """The delivery, if `who` may see it; else 404, worded as for an id that does not exist."""
    d = portal(request).store().delivery(delivery_id)
    if d is None or not (who.operator if d.agb is None else who.can_read(d.agb, d.branch)):
        raise HTTPException(404, NOT_FOUND)
    return d


def visible_provider(request: Request, who: Principal, agb: str, branch: str):
    """The registered provider, if `who` may see it; else 404."""
    p = portal(request).store().provider(agb, branch)
    if p is None or not who.can_read(agb, branch):
        raise HTTPException(404, "There is no such provider, or you may not see it.")
    return p


def operator_only(request: Request) -> Principal:
    """The signed-in operator; anyone else gets 404 (the operator pages do not exist for them)."""
    who = signed_in(request)
    if not who.operator:
        raise HTTPException(404, "There is no such page.")
    return who


# ---------------------------------------------------------------- forms and pages


def csrf_token(request: Request) -> str:
    """This session's CSRF token (made on first use); every form carries it."""
    token = request.session.get("csrf")
    if not token:
        token = request.session["csrf"] = secrets.token_urlsafe(24)
    return token


def check_csrf(request: Request, form) -> None:
    """Refuse a form without this session's CSRF token (403)."""
    sent = form.get("csrf") if form is not None else None
    kept = request.session.get("csrf")
    if not kept or not isinstance(sent, str) or not hmac.compare_digest(sent, kept):
        raise HTTPException(403, "The form has expired or did not come from this portal: reload the page and "
                                 "try again.")


def render(request: Request, template: str, status_code: int = 200, **context):
    """A page from `templates/`, with the signed-in user and the CSRF token at hand."""
    who = context.pop("who", None) or session_principal(request)
    return portal(request).templates.TemplateResponse(
        request, template, {"who": who, "csrf": csrf_token(request), "message": request.session.pop("message", None),
                            **context}, status_code=status_code)


def back_to(path: str) -> RedirectResponse:
    """After a form: to this page, with GET (a reload does not post again)."""
    return RedirectResponse(path, status_code=303)
