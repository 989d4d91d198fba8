"""The mail tests send to a real SMTP server on loopback (tests/smtp_catcher.py)."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent.parent))

from smtp_catcher import MailCatcher  # noqa: E402


@pytest.fixture
def mail_server():
    """An SMTP server on 127.0.0.1 that accepts and keeps every message."""
    with MailCatcher() as server:
        yield server
