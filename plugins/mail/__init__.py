"""Built-in plugin: e-mail to a provider's data managers when a delivery is received and when it is processed.

Registered like any third-party plugin: through `disval_serve_options` it
gives `disval serve` its `--smtp-*` options (which the configuration file and
the environment fill in as well, see `settings.py`), and through
`disval_serve_configure` it makes, from what was given, the `MailNotifier`
(`notifier.py`) that the portal registers as a plugin object on
`disval_delivery_event`. Without an SMTP host there is none, and a
`disval submit` on the command line sends no mail.

Recipients are the provider's active users with the role `data_manager` or
`org_admin` and an e-mail address (`disval.core.store.accounts.members`).
What a mail says is in `message.py` (no patient data), how it is sent in
`outbox.py` (never blocking or breaking the processing).

This module is imported at every start of disval (it is a built-in), so it
imports only the settings; the notifier, the message and the outbox (email,
smtplib, ssl) are imported when `disval serve` makes a notifier.
"""
from __future__ import annotations

from importlib import import_module

from ...core.plugins import hookimpl
from .settings import MailSettings, add_mail_options, settings_from

__all__ = ["MailNotifier", "MailSettings", "add_mail_options", "settings_from", "notifier_from", "recipients", "listening_url",
           "compose", "delivery_path"]

# Names importable from here that live in the modules imported on first use.
_LATER = {"MailNotifier": "notifier", "notifier_from": "notifier", "recipients": "notifier",
          "NOTIFIED_ROLES": "notifier", "EVENTS": "notifier", "compose": "message", "delivery_path": "message"}


def __getattr__(name: str):
    if name in _LATER:
        return getattr(import_module(f"{__name__}.{_LATER[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def listening_url(host: str | None, port: int | None) -> str | None:
    """The address a reader can follow to a server listening on `host`:`port` (None: not serving).

    A server on every interface (0.0.0.0, ::) is reached by the machine's name, not by that address,
    which a mail reader's browser cannot open; `--base-url` says better still.
    """
    if not host or not port:
        return None
    if host in ("0.0.0.0", "::", "[::]"):
        import socket

        host = socket.getfqdn()
    elif ":" in host and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 address in a URL
    return f"http://{host}:{port}"


@hookimpl
def disval_serve_options(parser):
    """The mail options of `disval serve` (`--smtp-host`, ...), in a group of their own."""
    add_mail_options(parser)


@hookimpl
def disval_serve_configure(options):
    """The e-mail notifier made from the mail options over the environment; none without an SMTP host.

    Links in the mails point at `--base-url`, else at the address the server listens on (a `disval
    worker` listens nowhere: its mails link only with `--base-url`)."""
    from .notifier import notifier_from

    notifier = notifier_from(options, default_url=listening_url(getattr(options, "host", None),
                                                               getattr(options, "port", None)))
    return [notifier] if notifier is not None else []
