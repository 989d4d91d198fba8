"""The portal in real headless Chromium: `disval serve` as its own process, driven by Playwright.

Playwright cannot download its own browser here, so it launches Debian's
`chromium` (`executable_path`); without it, or without the `playwright`
package, these tests skip and say why.
"""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent.parent))

pytest.importorskip("uvicorn", reason="the portal needs the serve extra: pip install -e '.[serve]'")
sync_api = pytest.importorskip("playwright.sync_api", reason="the browser tests need playwright (the test extra)")

from smtp_catcher import MailCatcher  # noqa: E402

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="session")
def chromium():
    """Headless Chromium (Debian's), launched once per session."""
    if CHROMIUM is None:
        pytest.skip("no `chromium` on PATH: install the Debian chromium package to run the portal's browser tests")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium):
    """A fresh browser context (its own cookies) and a page in it; downloads allowed."""
    context = chromium.new_context(accept_downloads=True)
    context.set_default_timeout(30_000)
    yield context.new_page()
    context.close()


@pytest.fixture
def mail_server():
    """An SMTP server on loopback that the portal sends to."""
    with MailCatcher() as server:
        yield server
