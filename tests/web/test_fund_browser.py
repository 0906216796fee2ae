"""The transformation fund in a real browser (Playwright for Python driving Debian's Chromium): an ICB's analyst
signs in, fills the application form (first with a negative cost: the error summary, nothing saved), saves
and submits it; a national reviewer declines it without a reason (refused) and then approves it; the /fund
page then shows the allocation with the application funded and its explanation, and its CSV downloads. Every
request stays on this machine and the console stays free of errors."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import pytest
from browser_support import Watched
from web_support import PASSWORD

CHROMIUM = Path(os.environ.get("UPTAKE_CHROMIUM", "/usr/bin/chromium"))

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason=f"browser tests need Debian's Chromium at {CHROMIUM}")


@pytest.fixture(scope="module")
def server(demo):
    from browser_support import BackgroundServer
    from web_support import make_app

    from uptake.web.security import RateLimiter

    app = make_app(demo)
    app.state.web.signin_by_address = RateLimiter(10_000, 300)
    with BackgroundServer(app) as running:
        yield running


@pytest.fixture(scope="module")
def browser():
    from browser_support import launch_chromium

    yield from launch_chromium(CHROMIUM)


def _sign_in(page, base: str, email: str, then: str) -> None:
    page.goto(base + "/sign-in?next=" + then, wait_until="load")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(base + then)


def test_apply_review_and_allocate_in_the_browser(server, browser, demo) -> None:
    base = server.url
    lead_ctx = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    lead = Watched(lead_ctx, base)
    page = lead.page
    _sign_in(page, base, demo.users["icb-analyst"].email, "/fund")
    page.click("#fund-apply")
    page.wait_for_url(base + "/fund/apply")
    page.select_option("#innovation_id", "doacs")
    page.fill("#title", "Browser: DOACs in primary care")
    page.fill("#first_year", "2026")
    page.fill("#last_year", "2028")
    page.fill("#cost_implementation_1", "-400000")
    page.fill("#cost_double_running_2", "120000")
    page.fill("#cost_decommissioning_3", "30000")
    page.fill("#benefit", "7.5")
    page.fill("#benefit_low", "4")
    page.fill("#benefit_high", "11")
    page.fill("#benefit_reference", "cardiovascular-disease/anticoagulation-doacs")
    page.click("#fund-save")
    page.wait_for_selector(".nhsuk-error-summary")
    assert "negative" in page.locator(".nhsuk-error-summary").inner_text()
    lead.errors = [e for e in lead.errors if "status of 400" not in e]  # the refusal the form answered with
    page.fill("#cost_implementation_1", "400000")
    page.click("#fund-save")
    page.wait_for_url(base + "/fund/applications/*")
    address = page.url
    assert page.locator("#fund-status").inner_text() == "draft"
    page.click("#fund-submit")
    page.wait_for_load_state("load")
    assert page.locator("#fund-status").inner_text() == "submitted"
    lead.check()
    lead_ctx.close()

    admin_ctx = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    admin = Watched(admin_ctx, base)
    page = admin.page
    _sign_in(page, base, demo.users["national-admin"].email, "/fund")
    page.goto(address, wait_until="load")
    page.click("#fund-decline")
    page.wait_for_selector(".nhsuk-error-summary")
    assert "reason" in page.locator(".nhsuk-error-summary").inner_text()
    admin.errors = [e for e in admin.errors if "status of 400" not in e]
    assert page.locator("#fund-status").inner_text() == "submitted"
    page.fill("#comment", "Approved: the benefit is from the DOAC outcome model")
    page.click("#fund-approve")
    page.wait_for_load_state("load")
    assert page.locator("#fund-status").inner_text() == "approved"
    app_id = address.rsplit("/", 1)[1]
    page.goto(base + "/fund", wait_until="load")
    row = page.locator(f'#fund-decisions tr[data-application="{app_id}"]').inner_text()
    assert "yes" in row and "Browser: DOACs" in row
    with page.expect_download() as caught:
        page.click('a[href="/fund/download/decisions.csv"]')
    rows = list(csv.DictReader(io.StringIO(Path(caught.value.path()).read_text())))
    mine = next(r for r in rows if r["id"] == app_id)
    assert mine["funded"] == "True" and mine["explanation"] and mine["binding"]
    page.locator("details summary", has_text="How was this calculated?").click()
    assert "mixed-integer programme" in page.locator("details").last.inner_text()
    admin.check()
    admin_ctx.close()
