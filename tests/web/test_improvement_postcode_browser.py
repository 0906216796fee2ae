"""Browser journeys (Chromium) of issue 16's pages: choosing the start of the improvement ranking on an
innovation page (htmx, no reload) and downloading it; finding the nearest organisations by postcode, a place and
a postcode that cannot be placed, on the organisations directory."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import pytest
from browser_support import Watched

CHROMIUM = Path(os.environ.get("UPTAKE_CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "web"

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason=f"browser tests need Chromium at {CHROMIUM}")


@pytest.fixture(scope="module")
def server(demo):
    from browser_support import BackgroundServer
    from web_support import make_app

    with BackgroundServer(make_app(demo)) as running:
        yield running


@pytest.fixture(scope="module")
def browser():
    from browser_support import launch_chromium

    yield from launch_chromium(CHROMIUM)


@pytest.fixture
def context(browser):
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    yield ctx
    ctx.close()


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_choose_the_start_of_the_improvement_ranking_and_download_it(server, context):
    watched = Watched(context, server.url)
    page = watched.page
    page.goto(server.url + "/innovations/doacs?indicator=doac-share&level=sub-icb", wait_until="networkidle")
    caption = page.locator("#improvement-table caption")
    assert "December 2021 to December 2022" in caption.inner_text()
    page.evaluate("window.__marker = 'same page'")
    with page.expect_response(lambda r: "since=2021-03-01" in r.url):
        page.select_option("#since", "2021-03-01")
    page.locator("#improvement-table caption", has_text="March 2021 to December 2022").wait_for()
    assert page.evaluate("window.__marker") == "same page" and "since=2021-03-01" in page.url
    rows = page.locator("#improvement-table tbody tr")
    assert rows.count() == 12
    assert page.locator("#improvement-table tbody tr").first.locator("td").first.inner_text().strip() == "1"
    page.locator("#improvement").scroll_into_view_if_needed()
    shot(page, "innovation-improvement-ranking")
    with page.expect_download() as info:
        page.locator("a[href^='/download/improvement.csv']").click()
    data = list(csv.DictReader(io.StringIO(Path(info.value.path()).read_text(encoding="utf-8-sig"))))
    assert len(data) == 12 and data[0]["period_start"] == "2021-03-01" and data[0]["rank"] == "1"
    watched.check()


def test_find_the_nearest_organisations_by_postcode_and_place(server, context):
    watched = Watched(context, server.url)
    page = watched.page
    page.goto(server.url + "/organisations", wait_until="networkidle")
    page.fill("#near-input", "se1 7eh")
    page.click("#near-submit")
    page.locator("#nearest-table").wait_for()
    assert "the postcode of Guy's and St Thomas' NHS Foundation Trust" in page.locator("#near-location").inner_text()
    first = page.locator("#nearest-table tbody tr").first
    assert "RJ1" in first.inner_text() and first.locator("td").first.inner_text().strip() == "0.0"
    assert page.locator("#district-practices-table tbody tr").count() == 9
    shot(page, "organisations-find-by-postcode")
    # a postcode that cannot be placed: the error summary and the field say why, and no table is shown
    page.fill("#near-input", "ZZ9 9ZZ")
    page.click("#near-submit")
    page.locator("#near-error").wait_for()
    assert "cannot place ZZ9 9ZZ" in page.locator("#near-error").inner_text()
    assert page.locator("#nearest-table").count() == 0
    shot(page, "organisations-find-by-postcode-error")
    # a place name, trusts only
    page.fill("#near-input", "Somerset")
    page.select_option("#near-level", "trust")
    page.click("#near-submit")
    page.locator("#nearest-table").wait_for()
    assert "RH5" in page.locator("#nearest-table tbody tr").first.inner_text()
    page.locator("#nearest-table tbody tr").first.locator("a").click()
    page.wait_for_url("**/organisations/RH5")
    watched.check()
