"""Where the portal's e-mail goes out: the SMTP server and how to reach it.

Every setting comes, in this order of precedence, from a `disval serve` option
(`--smtp-host`, ...), the configuration file (`smtp-host = "..."` in
`disval.toml`, `[serve]` or shared), or the environment (`DISVAL_SMTP_HOST`,
...). The password itself has no option, so that it never shows in a process
list or a shell history: give it in the environment (`DISVAL_SMTP_PASSWORD`) or
in a file named by `--smtp-password-file`. Without a host no mail is sent.
"""
from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field

from ...core.errors import UsageError

SECURITIES = ("none", "starttls", "ssl")
# The well-known submission ports imply their security; anything else is plain unless told.
_PORT_SECURITY = {465: "ssl", 587: "starttls"}
_SECURITY_PORT = {"ssl": 465, "starttls": 587, "none": 25}

# option (argparse dest) -> environment variable
ENVIRONMENT = {
    "smtp_host": "DISVAL_SMTP_HOST",
    "smtp_port": "DISVAL_SMTP_PORT",
    "smtp_from": "DISVAL_SMTP_FROM",
    "smtp_security": "DISVAL_SMTP_SECURITY",
    "smtp_user": "DISVAL_SMTP_USER",
    "smtp_password_file": "DISVAL_SMTP_PASSWORD_FILE",
    "base_url": "DISVAL_BASE_URL",
    "mail_lang": "DISVAL_MAIL_LANG",
}


@dataclass(frozen=True)
class MailSettings:
    """How to send the portal's e-mail; `host` None means: send none."""

    host: str | None = None
    port: int = 25
    sender: str = "disval@localhost"
    security: str = "none"  # none | starttls | ssl
    user: str | None = None
    password: str | None = field(default=None, repr=False)  # never in a log line or a traceback's locals
    public_url: str = "http://127.0.0.1:8000"  # the portal as a provider reaches it (--base-url): links in mails
    lang: str = "nl"
    timeout: float = 20.0  # seconds per SMTP conversation: a hung server must not hold the outbox for long
    attempts: int = 5  # tries per message before it is given up (and logged as not sent)
    retry_delay: float = 2.0  # seconds before the second try; doubled each time after

    @property
    def enabled(self) -> bool:
        """Whether mail is sent at all (a host is set)."""
        return bool(self.host)

    def link(self, path: str) -> str:
        """The absolute address of the portal page at `path` (which starts with '/')."""
        return self.public_url.rstrip("/") + path


def add_mail_options(parser) -> None:
    """Give `parser` (the `disval serve` command) the mail options; `settings_from(args)` reads them."""
    g = parser.add_argument_group("e-mail", "messages to the provider's data managers at receipt and after "
                                  "processing (none without --smtp-host; the password from "
                                  "DISVAL_SMTP_PASSWORD or --smtp-password-file)")
    g.add_argument("--smtp-host", metavar="HOST", help="SMTP server (env DISVAL_SMTP_HOST); no mail without it")
    g.add_argument("--smtp-port", metavar="PORT", type=int,
                   help="SMTP port (env DISVAL_SMTP_PORT; default 465 with ssl, 587 with starttls, else 25)")
    g.add_argument("--smtp-from", metavar="ADDRESS", help="the sender address (env DISVAL_SMTP_FROM)")
    g.add_argument("--smtp-security", choices=SECURITIES,
                   help="none, starttls or ssl (env DISVAL_SMTP_SECURITY; default from the port: 465 ssl, "
                        "587 starttls, else none)")
    g.add_argument("--smtp-user", metavar="USER", help="log in to the SMTP server as USER (env DISVAL_SMTP_USER)")
    g.add_argument("--smtp-password-file", metavar="FILE",
                   help="read the SMTP password from FILE (env DISVAL_SMTP_PASSWORD_FILE; or give the password "
                        "itself in DISVAL_SMTP_PASSWORD)")
    g.add_argument("--mail-lang", choices=("nl", "en"), help="language of the mails (env DISVAL_MAIL_LANG; "
                                                             "default nl)")


def settings_from(args=None, environ=None, *, default_url: str | None = None) -> MailSettings:
    """The mail settings from parsed options (`args`, may lack any of them) over the environment.

    The links point at `args.base_url` (`disval serve --base-url`, the portal as providers reach
    it), else DISVAL_BASE_URL, else `default_url` (the address the server listens on).
    The configuration file reaches `args` as the options' defaults (`disval.core.cli_config`).
    UsageError for a setting that cannot work: an unknown security, a port that is not a number,
    an unreadable password file, a password sent in the clear to another machine.
    """
    env = os.environ if environ is None else environ
    values = {}
    for dest, var in ENVIRONMENT.items():
        given = getattr(args, dest, None) if args is not None else None
        values[dest] = given if given not in (None, "") else (env.get(var) or None)
    security = values["smtp_security"]
    if security is not None and security not in SECURITIES:
        raise UsageError(f"SMTP security {security!r} is not one of {', '.join(SECURITIES)}")
    port = values["smtp_port"]
    if port is not None:
        try:
            port = int(port)
        except ValueError:
            raise UsageError(f"SMTP port {port!r} is not a number") from None
        if not 0 < port < 65536:
            raise UsageError(f"SMTP port {port} is out of range")
    if security is None:
        security = _PORT_SECURITY.get(port, "none")
    password = env.get("DISVAL_SMTP_PASSWORD") or None
    if values["smtp_password_file"]:
        password = _read_password(values["smtp_password_file"])
    settings = MailSettings(
        host=values["smtp_host"], port=port or _SECURITY_PORT[security],
        sender=values["smtp_from"] or MailSettings.sender, security=security,
        user=values["smtp_user"], password=password,
        public_url=values["base_url"] or default_url or MailSettings.public_url,
        lang=values["mail_lang"] or "nl")
    if settings.lang not in ("nl", "en"):
        raise UsageError(f"mail language {settings.lang!r} is not nl or en")
    if settings.enabled and settings.user and settings.security == "none" and not _loopback(settings.host):
        # A login over plain SMTP hands the password to anyone on the path.
        raise UsageError(f"refusing to log in to {settings.host} without encryption: "
                         "use --smtp-security starttls or ssl")
    return settings


def _read_password(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as f:
            return f.readline().rstrip("\r\n")  # the first line: an editor's final newline is no part of it
    except OSError as exc:
        raise UsageError(f"cannot read the SMTP password file {path}: {exc.strerror or exc}") from None


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
