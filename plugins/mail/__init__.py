"""Built-in plugin: e-mail to a provider's data managers when a delivery is received and when it is processed.

It listens on `disval_delivery_event` like any plugin would. Nothing is sent
until a server is configured (`configure(settings)`, which `disval serve`
calls with its `--smtp-*` options, configuration file and environment;
see `settings.py`): a `disval submit` on the command line sends no mail.

Recipients are the provider's active users with the role `data_manager` or
`org_admin` and an e-mail address (`disval.core.store.accounts.members`).
What a mail says is in `message.py` (no patient data), how it is sent in
`outbox.py` (never blocking or breaking the processing).
"""
from __future__ import annotations

import logging
import threading

from ...core.plugins import hookimpl
from .message import compose, delivery_path
from .outbox import Outbox
from .settings import MailSettings, add_mail_options, settings_from

__all__ = ["MailSettings", "add_mail_options", "settings_from", "configure", "shutdown", "outbox",
           "recipients", "compose", "delivery_path"]

log = logging.getLogger("disval.mail")

# The roles whose members hear about every delivery of their provider.
NOTIFIED_ROLES = ("data_manager", "org_admin")
EVENTS = ("received", "processed")

_outbox: Outbox | None = None
_lock = threading.Lock()


def configure(settings: MailSettings) -> Outbox | None:
    """Send mail with `settings` from now on (replacing an earlier configuration, whose queue is sent first).

    Returns the outbox (None when `settings` has no host: then no mail is sent).
    """
    global _outbox
    with _lock:
        old, _outbox = _outbox, (Outbox(settings) if settings.enabled else None)
    if old is not None:
        old.close()
    return _outbox


def shutdown(timeout: float = 10.0) -> bool:
    """Stop sending: what is queued goes out first (at most `timeout` seconds); True if nothing was left."""
    global _outbox
    with _lock:
        old, _outbox = _outbox, None
    return old.close(timeout) if old is not None else True


def outbox() -> Outbox | None:
    """The outbox mail goes to now (None: mail is off)."""
    return _outbox


def recipients(store, agb: str | None, branch: str | None) -> list[str]:
    """The addresses of the provider's active data managers (and organisation admins), each once."""
    if not agb or not branch:
        return []
    from ...core.store import accounts

    out = []
    for user, role in accounts.members(store, agb, branch):
        if role in NOTIFIED_ROLES and user.active and "@" in (user.email or "") and user.email not in out:
            out.append(user.email)
    return out


@hookimpl
def disval_delivery_event(event, delivery, store):
    """Queue the mail about a received or processed delivery; never raises, never waits for the server."""
    box = _outbox
    if box is None or event not in EVENTS:
        return
    try:
        to = recipients(store, delivery.agb, delivery.branch)
        if not to:
            log.info("mail: nobody to tell about delivery %s (%s): no data manager with an address",
                     delivery.id, event)
            return
        box.put(compose(event, delivery, box.settings, to, delivery_path(delivery.id)))
    except Exception:  # a store without accounts, a bug: the delivery's processing goes on regardless
        log.exception("mail: could not prepare the %s mail of delivery %s", event, delivery.id)
