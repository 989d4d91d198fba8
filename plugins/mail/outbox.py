"""Sending mail without ever holding up the delivery it is about.

The gate calls `disval_delivery_event` in the thread that processes the
delivery; an SMTP server that is slow, down or refusing must not delay or
break that processing. So a message is only put in the outbox there, and a
thread of its own sends it: a try that fails for a passing reason (the
server unreachable, a 4xx answer) is tried again after a growing delay; a
message that could not be sent after the last try, or that the server refuses
for good (a 5xx answer), is logged and kept in `Outbox.undelivered`, never
raised into anything.
"""
from __future__ import annotations

import logging
import queue
import smtplib
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from email.message import EmailMessage

from .settings import MailSettings

log = logging.getLogger("disval.mail")


@dataclass
class Undelivered:
    """A message given up: its subject, recipients and why (no body: that stays out of logs too)."""

    subject: str
    recipients: list[str]
    reason: str
    attempts: int


class Outbox:
    """A queue of messages and the thread that sends them (started on the first `put`)."""

    def __init__(self, settings: MailSettings):
        self.settings = settings
        self.undelivered: list[Undelivered] = []
        self.sent = 0
        self._queue: queue.Queue[EmailMessage | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._closing = threading.Event()

    def put(self, message: EmailMessage) -> None:
        """Queue `message` for sending; returns at once."""
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="disval-mail", daemon=True)
                self._thread.start()
        self._queue.put(message)

    def close(self, timeout: float = 10.0) -> bool:
        """Send what is queued (waiting at most `timeout` seconds), then stop; True if all went out.

        Retry delays are cut short while closing: a message still failing is given up and logged.
        """
        self._closing.set()
        with self._lock:
            thread = self._thread
        if thread is None:
            return True
        self._queue.put(None)
        thread.join(timeout)
        if thread.is_alive():
            log.error("mail: %d message(s) still queued when the server stopped", self._queue.qsize())
            return False
        return True

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until every queued message was sent or given up (for tests and benchmarks)."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.02)
        return not self._queue.unfinished_tasks

    # ---------------------------------------------------------------- the sending thread

    def _run(self) -> None:
        while True:
            message = self._queue.get()
            try:
                if message is None:
                    return
                self._deliver(message)
            except Exception:  # a bug here must not kill the thread and silently stop all mail
                log.exception("mail: unexpected error while sending")
            finally:
                self._queue.task_done()

    def _deliver(self, message: EmailMessage) -> None:
        recipients = [a.strip() for a in str(message["To"] or "").split(",") if a.strip()]
        delay = self.settings.retry_delay
        reason = "no attempt"
        for attempt in range(1, self.settings.attempts + 1):
            try:
                self._send(message)
                self.sent += 1
                log.info("mail: sent %r to %d recipient(s)", message["Subject"], len(recipients))
                return
            except smtplib.SMTPResponseException as exc:
                reason = f"SMTP {exc.smtp_code}: {_text(exc.smtp_error)}"
                if 500 <= exc.smtp_code < 600:  # refused for good: trying again changes nothing
                    break
            except smtplib.SMTPRecipientsRefused as exc:
                reason = "recipients refused: " + ", ".join(
                    f"{a} ({code})" for a, (code, _) in exc.recipients.items())
                break
            except (OSError, smtplib.SMTPException) as exc:  # unreachable, timed out, TLS, dropped
                reason = f"{type(exc).__name__}: {exc}"
            if attempt < self.settings.attempts and not self._closing.is_set():
                log.warning("mail: try %d of %r failed (%s); trying again in %.1f s",
                            attempt, message["Subject"], reason, delay)
                self._closing.wait(delay)
                delay *= 2
            elif self._closing.is_set():
                break
        self.undelivered.append(Undelivered(str(message["Subject"]), recipients, reason, attempt))
        log.error("mail: gave up %r to %s after %d try(s): %s", message["Subject"], ", ".join(recipients),
                  attempt, reason)

    def _send(self, message: EmailMessage) -> None:
        s = self.settings
        if s.security == "ssl":
            smtp = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=ssl.create_default_context())
        else:
            smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout, local_hostname=_hostname())
        with smtp:
            if s.security == "starttls":
                smtp.starttls(context=ssl.create_default_context())
            if s.user:
                smtp.login(s.user, s.password or "")
            smtp.send_message(message)


def _text(raw) -> str:
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)


def _hostname() -> str:
    try:
        return socket.getfqdn()
    except OSError:
        return "localhost"
