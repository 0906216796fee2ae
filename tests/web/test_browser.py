"""The pages in a real browser: Playwright for Python driving Debian's Chromium (/usr/bin/chromium).

Opens every page of the test workspace, uses the filters, downloads a CSV, signs in as each role and checks
what it can and cannot see, runs axe-core (from node_modules) on the main pages, and saves a screenshot of
each page under test-artifacts/web/. Every request the page makes must stay on this machine.
"""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import pytest
from browser_support import Watched

CHROMIUM = Path(os.environ.get("UPTAKE_CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "web"

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason=f"browser tests need Debian's Chromium at {CHROMIUM} (apt-get install chromium; `make test` installs it)",
)


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


@pytest.fixture
def context(browser):
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    yield ctx
    ctx.close()


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


PAGES = {
    "home": "/",
    "innovation": "/innovations/doacs",
    "innovation-synthetic": "/innovations/dementia-diagnosis",
    "innovation-icb-changes-equity": "/innovations/doacs?indicator=doac-share&level=icb",
    "organisations": "/organisations",
    "organisation": "/organisations/MJ0?indicator=doac-share",
    "profile": "/organisations/QMJ/profile",
    "compare": "/compare?codes=QMJ,QKK,QSL",
    "data": "/data",
    "stroke-pathway": "/models/stroke-pathway",
    "about": "/about",
    "sign-in": "/sign-in",
    "api-docs": "/docs",
}


@pytest.mark.parametrize("name", list(PAGES))
def test_every_page_in_the_browser(server, context, name):
    watched = Watched(context, server.url)
    page = watched.page
    response = page.goto(server.url + PAGES[name], wait_until="networkidle")
    assert response.status == 200
    if name == "api-docs":
        page.wait_for_selector(".swagger-ui .opblock", timeout=15_000)
    else:
        assert page.locator("header.nhsuk-header").count() == 1
        assert page.evaluate("document.body.classList.contains('js-enabled')")
    for chart in page.locator("[data-chart]").all():
        chart.locator(".main-svg").first.wait_for(timeout=15_000)
    for chart in page.locator("[data-map]").all():
        chart.locator(".main-svg").first.wait_for(timeout=15_000)
    shot(page, name)
    watched.check()


def test_map_draws_every_area(server, context):
    watched = Watched(context, server.url)
    page = watched.page
    page.goto(server.url + "/innovations/doacs", wait_until="networkidle")
    page.locator("#map .main-svg").first.wait_for()
    traces = page.evaluate("document.getElementById('map').data.length")
    assert traces == 12 + 1  # 12 sub-ICB areas and the colour bar
    watched.check()


def test_changes_and_equity_charts(server, context):
    watched = Watched(context, server.url)
    page = watched.page
    page.goto(server.url + "/innovations/doacs?indicator=doac-share&level=icb", wait_until="networkidle")
    page.locator("#equity-chart .main-svg").first.wait_for()
    page.locator("#equity-trend .main-svg").first.wait_for()
    traces = page.evaluate("document.getElementById('equity-chart').data.map(t => t.name)")
    assert traces == ["Fitted slope (SII)", "Value of each deprivation quintile"]
    rows = page.locator("#equity-table tbody tr").count()
    points = page.evaluate("document.getElementById('equity-chart').data[1].x.length")
    assert rows == points  # the chart's figures are in the table
    # a level without deprivation quintiles links to the levels that have them, through htmx
    with page.expect_response(lambda r: "level=region" in r.url):
        page.select_option("#level", "region")
    page.locator("#equity-empty a", has_text="ICBs").click()
    page.locator("#equity-chart .main-svg").first.wait_for()
    assert "level=icb" in page.url
    shot(page, "innovation-equity-via-link")
    page.goto(server.url + "/organisations/MJ0?indicator=doac-share", wait_until="networkidle")
    page.locator("#changes-chart .main-svg").first.wait_for()
    assert page.locator("#org-changes-table tbody tr").count() >= 1
    watched.check()


def test_forecast_charts_draw_with_their_band(server, context):
    """The Bass forecast: England's on the innovation page and an organisation's on its page, each drawn with
    its 95% band, fitted curve, forecast and observed values, and the figures under it in a table."""
    watched = Watched(context, server.url)
    page = watched.page
    page.goto(server.url + "/innovations/doacs?indicator=doac-share", wait_until="networkidle")
    page.locator("#forecast-chart .main-svg").first.wait_for()
    names = page.evaluate("document.getElementById('forecast-chart').data.map(t => t.name)")
    assert names == ["95% band (lower)", "95% prediction band", "Fitted Bass curve", "Forecast", "Observed"]
    ahead = page.evaluate("document.getElementById('forecast-chart').data[3].y.filter(v => v !== null).length")
    assert ahead >= 36  # three years past the data at least
    assert page.get_by_text("How was this forecast calculated?").count() == 1
    shot(page, "innovation-forecast")
    page.goto(server.url + "/organisations/MJ0?indicator=doac-share", wait_until="networkidle")
    page.locator("#org-forecast .main-svg").first.wait_for()
    band = page.evaluate("document.getElementById('org-forecast').data[1].y.filter(v => v !== null).length")
    assert band >= 24 + 36
    watched.check()


def test_filters_update_without_a_full_reload(server, context):
    watched = Watched(context, server.url)
    page = watched.page
    page.goto(server.url + "/innovations/doacs", wait_until="networkidle")
    page.evaluate("window.__marker = 'same page'")
    with page.expect_response(lambda r: "level=icb" in r.url):
        page.select_option("#level", "icb")
    # (locators, not wait_for_function: the page's CSP forbids the eval that a string predicate needs)
    page.locator("#results h2", has_text="Map: ICBs").wait_for()
    assert page.evaluate("window.__marker") == "same page"  # htmx swapped a fragment, no reload
    assert "level=icb" in page.url  # and the address can be shared
    page.locator("#s-curve .main-svg").first.wait_for()
    page.locator("#map .main-svg").first.wait_for()
    shot(page, "innovation-filtered-icb")
    with page.expect_response(lambda r: "period=" in r.url):
        page.select_option("#period", "2022-01-01")
    page.locator("#league-table caption", has_text="January 2022").wait_for()
    # the organisation search filters as you type
    page.goto(server.url + "/organisations", wait_until="networkidle")
    page.fill("#q", "somerset")
    page.locator("#organisation-list [role=status]", has_text="9 organisations found").wait_for()
    page.select_option("#level", "icb")
    page.locator("#organisation-list [role=status]", has_text="2 organisations found").wait_for()
    shot(page, "organisations-search")
    watched.check()


def test_download_a_csv(server, context):
    watched = Watched(context, server.url)
    page = watched.page
    page.goto(server.url + "/innovations/doacs", wait_until="networkidle")
    with page.expect_download() as info:
        page.locator("a[href^='/download/league.csv']").click()
    download = info.value
    assert download.suggested_filename.endswith(".csv")
    rows = list(csv.DictReader(io.StringIO(Path(download.path()).read_text(encoding="utf-8-sig"))))
    assert len(rows) == 12 and "ci95_low" in rows[0]
    watched.check()


def test_the_profile_rug_and_the_board_pack_download(server, context):
    """From the profile: choose the practices for the tartan rug, then download the board pack, a PDF."""
    from uptake.web.pdf import find_chromium

    watched = Watched(context, server.url)
    page = watched.page
    page.goto(server.url + "/organisations/QMJ/profile", wait_until="networkidle")
    assert page.locator("svg.uptake-spine").count() == 3
    page.select_option("#level", "practice")
    page.locator("#tartan-rug ~ form button").first.click()
    page.wait_for_url("**level=practice**")
    assert page.locator("#rug-table tbody tr").count() == 2 + 9  # England, the ICB, its nine practices
    shot(page, "profile-rug-practices")
    if find_chromium() is not None:
        with page.expect_download(timeout=60_000) as info:
            page.locator("#board-pack-link").click()
        download = info.value
        assert download.suggested_filename == "uptake-board-pack-QMJ.pdf"
        assert Path(download.path()).read_bytes()[:4] == b"%PDF"
    watched.check()


def test_choosing_a_benchmark_on_the_profile_and_the_organisation_page(server, context):
    """Compare with the region on the profile, then with the peers on the organisation page: each page says
    what its numbers are compared with, the board pack link carries the choice, and the deciles chart draws the
    benchmark's line."""
    watched = Watched(context, server.url)
    page = watched.page
    page.goto(server.url + "/organisations/MJ0/profile", wait_until="networkidle")
    assert "Compared with: England" in page.locator("#compared-with").inner_text()
    page.select_option("#benchmark", "region")
    page.locator("#benchmark-form button").click()
    page.wait_for_url("**benchmark=region**")
    assert "Compared with: London region" in page.locator("#compared-with").inner_text()
    assert page.locator("#profile-table th", has_text="Benchmark: London region").count() == 1
    assert "benchmark=region" in page.locator("#board-pack-link").get_attribute("href")
    shot(page, "profile-benchmark-region")
    page.goto(server.url + "/organisations/MJ0?indicator=doac-share", wait_until="networkidle")
    page.select_option("#benchmark", "peers")
    page.locator("#benchmark-form button").click()
    page.wait_for_url("**benchmark=peers**")
    assert "its similar-" in page.locator("#compared-with").inner_text()
    assert "Benchmark: its similar-" in page.locator("svg[aria-labelledby^='deciles-chart']").inner_html()
    page.select_option("#indicator", "doac-share")  # the indicator's form keeps the benchmark
    assert page.locator("#organisation-indicator ~ * input[name=benchmark], form input[name=benchmark]").count() >= 1
    shot(page, "organisation-benchmark-peers")
    watched.check()


EXPECTED = {
    # role: (sees the pack of MJ0 for doac-share, of KK0 for doac-share, of RAL for narcolepsy)
    "national-admin": (True, True, True),
    "icb-analyst": (True, False, True),
    "provider-lead": (False, False, True),
    "innovator": (True, True, False),
}


@pytest.mark.parametrize("role", list(EXPECTED))
def test_sign_in_as_each_role(server, browser, demo, role):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        watched = Watched(context, server.url)
        page = watched.page
        page.goto(server.url + "/sign-in", wait_until="networkidle")
        page.fill("#email", demo.users[role].email)
        page.fill("#password", demo.users[role].password)
        page.click("button[type=submit]")
        page.wait_for_url(server.url + "/")
        assert role in page.locator("header.nhsuk-header").inner_text()
        for (code, indicator), expected in zip(
            (("MJ0", "doac-share"), ("KK0", "doac-share"), ("RAL", "narcolepsy-newer-share")), EXPECTED[role],
            strict=True,
        ):
            page.goto(f"{server.url}/organisations/{code}?indicator={indicator}", wait_until="networkidle")
            sees = page.locator("text=Nearest organisations of the same type").count() > 0
            assert sees == expected, (role, code)
            if code == "MJ0":
                shot(page, f"organisation-as-{role}")
        admin = page.goto(server.url + "/admin/users")
        assert admin.status == (200 if role == "national-admin" else 404)
        if role != "national-admin":  # the expected 404 is logged by the browser as a console error
            watched.errors = [e for e in watched.errors if "404" not in e]
        page.goto(server.url + "/", wait_until="networkidle")
        page.click("text=Sign out")
        page.wait_for_url(server.url + "/")
        assert "Sign in" in page.locator("header.nhsuk-header").inner_text()
        watched.check()
    finally:
        context.close()


AXE_PAGES = ["/", "/innovations/doacs", "/organisations", "/organisations/MJ0?indicator=doac-share",
             "/organisations/QMJ/profile", "/compare?codes=QMJ,QKK", "/data", "/models/stroke-pathway", "/about",
             "/sign-in"]


def _axe_source() -> str:
    from browser_support import axe_source

    return axe_source()


@pytest.mark.parametrize("url", AXE_PAGES)
def test_accessibility_axe(server, browser, url):
    source = _axe_source()
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        page.goto(server.url + url, wait_until="networkidle")
        for chart in page.locator("[data-chart], [data-map]").all():
            chart.locator(".main-svg").first.wait_for(timeout=15_000)
        page.evaluate(source)  # evaluated by the test harness, so the page's CSP still applies to the page
        violations = page.evaluate(
            "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
            ".map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map(n => n.target)}))"
        )
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        name = url.strip("/").replace("/", "-").replace("?", "-").replace("=", "-").replace(",", "-") or "home"
        (ARTIFACTS / f"axe-{name}.json").write_text(json.dumps(violations, indent=2), encoding="utf-8")
        serious = [v for v in violations if v["impact"] in ("serious", "critical")]
        assert not serious, json.dumps(serious, indent=2)
    finally:
        context.close()
