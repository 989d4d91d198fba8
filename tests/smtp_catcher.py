"""A real SMTP server on loopback (aiosmtpd) that keeps what arrives, for the mail and portal tests.

    with MailCatcher() as mail:            # listens on 127.0.0.1:<a free port>
        ... send to mail.port ...
        messages = mail.wait_for(2)        # the parsed messages, once two have arrived

`answers` scripts what DATA is answered with, one answer per message in turn
("451 ..." a passing refusal the sender should retry, "550 ..." a refusal for
good); when it runs out, every message is accepted.
"""
from __future__ import annotations

import email
import email.policy
import socket
import threading
import time
from email.message import EmailMessage

import pytest

aiosmtpd = pytest.importorskip("aiosmtpd.controller", reason="aiosmtpd is not installed (the test extra has it)")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MailCatcher:
    """An SMTP server on 127.0.0.1 keeping every accepted message (with its envelope recipients)."""

    def __init__(self, answers: list[str] | None = None, port: int | None = None):
        self.port = port or free_port()
        self.messages: list[EmailMessage] = []
        self.envelopes: list[list[str]] = []
        self.answers = list(answers or [])
        self.refused = 0
        self._arrived = threading.Condition()
        self._controller = aiosmtpd.Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's handler name)
        """aiosmtpd's hook: accept or refuse a message as scripted, and keep what is accepted."""
        if self.answers:
            answer = self.answers.pop(0)
            if not answer.startswith("250"):
                self.refused += 1
                return answer
        message = email.message_from_bytes(envelope.original_content or envelope.content,
                                           policy=email.policy.default)
        with self._arrived:
            self.messages.append(message)
            self.envelopes.append(list(envelope.rcpt_tos))
            self._arrived.notify_all()
        return "250 Message accepted for delivery"

    def wait_for(self, count: int, timeout: float = 30.0) -> list[EmailMessage]:
        """The messages once `count` have arrived; AssertionError after `timeout` seconds with fewer."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self.messages) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{len(self.messages)} mail(s) arrived in {timeout:.0f} s, "
                                         f"expected {count}: {[m['Subject'] for m in self.messages]}")
                self._arrived.wait(left)
            return list(self.messages)

    def start(self) -> "MailCatcher":
        """Listen (returns self)."""
        self._controller.start()
        return self

    def stop(self) -> None:
        """Stop listening."""
        self._controller.stop()

    def __enter__(self) -> "MailCatcher":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def body(message: EmailMessage) -> str:
    """The plain-text body of a message as a reader sees it."""
    part = message.get_body(preferencelist=("plain",))
    return part.get_content().replace("\r\n", "\n") if part is not None else ""


def everything(message: EmailMessage) -> str:
    """The whole message as text (headers and decoded body): what must not hold a patient's data."""
    return str(message) + "\n" + body(message)
