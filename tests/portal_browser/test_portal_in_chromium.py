"""A data manager in a real browser: signs in, delivers TEST then production, watches each timeline reach
its end, reads and filters the HTML report, downloads the Excel report, and gets the e-mails; the server is
`disval serve` itself, on a store of each kind."""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import openpyxl
import pytest
from live_portal import PASSWORD, LivePortal
from private_values import leaked
from smtp_catcher import body, everything

from disval.core.generate import generate_delivery

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "contrib" / "examples"
AGB, BRANCH = "94001234", "00"
GOOD_TEST = EXAMPLES / "DIS_GBG_OHW_TEST_010_94001234_00_20180201_01.zip"
FAULTY_TEST = EXAMPLES / "faulty" / "DIS_GBG_OHW_TEST_010_94001234_00_20180301_01.zip"


@pytest.fixture
def portal(store_url, tmp_path, mail_server):
    """`disval serve` on the store, with provider 94001234 00, its data manager and a viewer of it."""
    live = LivePortal(store_url, tmp_path / "serve", mail_port=mail_server.port)
    live.add_provider(AGB, BRANCH)
    live.add_user("dm", provider=(AGB, BRANCH), role="data_manager", email="dm@praktijk.example")
    live.add_user("kijker", provider=(AGB, BRANCH), role="viewer", email="kijker@praktijk.example")
    with live:
        yield live
    assert "Traceback" not in live.output(), live.output()[-3000:]


def sign_in(page, portal, login="dm"):
    page.goto(portal.url + "/")
    assert page.url.endswith("/login")
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", PASSWORD)
    page.click("button:has-text('Sign in')")
    page.wait_for_url("**/providers")


def deliver(page, zip_path, phase: str) -> str:
    """Upload through the provider page's form; wait until the live timeline says the delivery is done."""
    page.click(f"a[href='/providers/{AGB}/{BRANCH}']")
    page.check(f"input[name=phase][value={phase}]")
    page.set_input_files("input[name=zip]", str(zip_path))
    page.click("button:has-text('Upload')")
    page.wait_for_url(re.compile(r".*/deliveries/\d+$"))
    assert page.inner_text(".zipname") == zip_path.name
    # status.js polls the status JSON and, once the delivery is done, reloads the page with its reports:
    # the test itself never reloads
    page.wait_for_selector("#reports a[href*='/reports/']", timeout=120_000)
    assert page.get_attribute("#timeline", "data-done") == "true"
    return page.inner_text("#state")


def test_a_data_manager_delivers_test_then_production_in_chromium(portal, page, mail_server, tmp_path):
    sign_in(page, portal)
    assert f"{AGB}" in page.inner_text("main")

    # TEST: the shipped example, accepted; the timeline shows its steps in plain words
    assert deliver(page, GOOD_TEST, "test") == "accepted"
    steps = page.locator("#timeline li").all_inner_texts()
    assert len(steps) >= 2 and any("accepted" in s.lower() for s in steps), steps

    # a faulty TEST: assessed negative; its HTML report opens in a tab of its own and filters by file
    assert deliver(page, FAULTY_TEST, "test") == "assessed negative"
    with page.context.expect_page() as opened:
        page.click(f"#reports a[href$='/{FAULTY_TEST.stem}.html']")  # the view link; download has ?download=1
    report = opened.value
    report.wait_for_load_state()
    report.wait_for_selector("body[data-filters='ready']")
    assert report.get_attribute("body", "data-shown-rules") == "5"
    report.select_option("#file-filter", "BEHANDELTRAJECT.txt")
    assert report.get_attribute("body", "data-shown-rules") == "1"
    assert report.is_visible("#rule-1769") and report.is_hidden("#rule-1651")
    report.select_option("#file-filter", "")
    report.uncheck("#filters input[name=severity][value=ERR]")
    assert report.get_attribute("body", "data-shown-rules") == "0" and report.is_hidden("#rule-1769")
    report.close()

    # production: a generated delivery after the positive TEST, imported; its Excel report downloaded
    prod = generate_delivery(tmp_path / "prod", phase="production", provider=AGB, branch=BRANCH,
                             created=dt.date(2018, 4, 1), trajects=8, profiles=20, seed=3)
    assert deliver(page, prod, "production") == "imported"
    with page.expect_download() as downloading:
        page.click(f"#reports a[href$='/{prod.stem}.xlsx?download=1']")
    saved = tmp_path / downloading.value.suggested_filename
    downloading.value.save_as(saved)
    assert saved.suffix == ".xlsx"
    workbook = openpyxl.load_workbook(saved, read_only=True)
    assert workbook.sheetnames  # a real workbook
    cells = " ".join(str(c) for ws in workbook.worksheets for row in ws.iter_rows(values_only=True) for c in row
                     if c is not None)
    assert prod.name in cells
    workbook.close()

    # the e-mails: received and processed for each of the three, to the data manager only
    mails = mail_server.wait_for(6, timeout=60)
    assert {m["To"] for m in mails} == {"dm@praktijk.example"}
    processed = {m["Subject"] for m in mails if m["X-Disval-Event"] == "processed"}
    assert processed == {f"Delivery {GOOD_TEST.name}: accepted", f"Delivery {FAULTY_TEST.name}: assessed negative",
                         f"Delivery {prod.name}: accepted and imported"}
    prod_mail = next(m for m in mails if m["X-Disval-Event"] == "processed" and prod.name in m["Subject"])
    assert leaked(everything(prod_mail), prod) == []
    link = re.search(r"http://127\.0\.0\.1:\d+/deliveries/\d+", body(prod_mail)).group()
    page.goto(link)  # the link in the mail opens the delivery for the signed-in data manager
    assert page.inner_text(".zipname") == prod.name and page.inner_text("#state") == "imported"


def test_the_link_in_a_mail_asks_a_stranger_to_sign_in_first(portal, page, chromium, mail_server):
    own = page
    sign_in(own, portal)
    deliver(own, GOOD_TEST, "test")
    mail = next(m for m in mail_server.wait_for(2) if m["X-Disval-Event"] == "processed")
    link = re.search(r"http://127\.0\.0\.1:\d+/deliveries/\d+", body(mail)).group()
    stranger = chromium.new_context().new_page()
    stranger.goto(link)
    assert "/login" in stranger.url and GOOD_TEST.name not in stranger.content()
    stranger.context.close()
