"""The e-mail notifier: a plugin object on `disval_delivery_event` that queues the mail about each
received and processed delivery (what a mail says is in `message.py`, how it is sent in `outbox.py`).

`disval serve` makes one through the mail plugin's `disval_serve_configure` (see `__init__.py`).
"""
from __future__ import annotations

import logging

from ...core.plugins import hookimpl
from .message import compose, delivery_path
from .outbox import Outbox
from .settings import MailSettings, settings_from

log = logging.getLogger("disval.mail")

# The roles whose members hear about every delivery of their provider.
NOTIFIED_ROLES = ("data_manager", "org_admin")
EVENTS = ("received", "processed")


class MailNotifier:
    """Queues the mail about each received and processed delivery (a plugin: register it with the pm)."""

    def __init__(self, settings: MailSettings):
        if not settings.enabled:
            raise ValueError("a MailNotifier needs an SMTP host")
        self.settings = settings
        self.outbox = Outbox(settings)

    @hookimpl
    def disval_delivery_event(self, event, delivery, store):
        """Queue the mail about a received or processed delivery; never raises, never waits for the server."""
        if event not in EVENTS:
            return
        try:
            to = recipients(store, delivery.agb, delivery.branch)
            if not to:
                log.info("mail: nobody to tell about delivery %s (%s): no data manager with an address",
                         delivery.id, event)
                return
            self.outbox.put(compose(event, delivery, self.settings, to, delivery_path(delivery.id)))
        except Exception:  # a store without accounts, a bug: the delivery's processing goes on regardless
            log.exception("mail: could not prepare the %s mail of delivery %s", event, delivery.id)

    def close(self, timeout: float = 10.0) -> bool:
        """Send what is queued (at most `timeout` seconds) and stop; True if nothing was left."""
        return self.outbox.close(timeout)


def notifier_from(args=None, environ=None, *, default_url: str | None = None) -> MailNotifier | None:
    """The notifier `disval serve` registers: from its options over the environment; None without a host.

    UsageError for settings that cannot work (see `settings_from`).
    """
    settings = settings_from(args, environ, default_url=default_url)
    return MailNotifier(settings) if settings.enabled else None


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
