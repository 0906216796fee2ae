"""Networks, the Health Innovation Challenge, barriers and adopters in a real browser (Playwright driving Debian's
Chromium), on the web test workspace (a made-up hierarchy; the demo users of each role: the analyst of ICB
QMJ, the lead of trust RAL, the innovator of doacs, a national admin):

1. the public reads the networks of a priority and one network's members, and is refused every form;
2. a national admin runs a Health Innovation Challenge round: capacity 0 is shown at the field and nothing is
   saved; then the round runs and its page explains each partnership; the other roles see no button and are
   refused the form;
3. the ICB's analyst records a barrier assessment: an innovation its sub-ICB location does not use is
   refused at the innovation field and nothing is saved; then it is saved and the barriers page lists it;
   the innovator is refused;
4. the trust's lead records an adoption: a bad cost and email are shown at their fields, nothing saved; then
   it is saved, the public sees it in the log without the contact, and the organisation page loads "who
   already does this near" its section.

Every page must log no console error and make no request off this machine.
"""

from __future__ import annotations

import re

import browser_support
import pytest
from browser_support import ARTIFACTS, Watched, demo_server, needs_chromium, sign_in
from web_support import PASSWORD


pytestmark = needs_chromium


@pytest.fixture(scope="module")
def site(demo):
    yield from demo_server(demo)


@pytest.fixture(scope="module")
def people(site, browser, demo):
    """people(role) -> a browser context signed in as that role's demo user; people(None): the public."""

    def sign_in_as(context, role: str) -> None:
        watched = Watched(context, site.url)
        sign_in(watched.page, site.url, demo.users[role].email, PASSWORD)
        watched.check()
        watched.page.close()

    yield from browser_support.people_contexts(browser, sign_in_as)


class Visit(browser_support.Visit):
    def submit(self, button: str) -> int:
        with self.page.expect_navigation(wait_until="load") as nav:
            self.page.get_by_role("button", name=button).click()
        status = nav.value.status if nav.value is not None else 0
        self.forget(status)
        return status


@pytest.fixture
def visit(site, people):
    yield from browser_support.visits(site, people, Visit)


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"ecosystem-{name}.png"), full_page=True)


def errors_shown(page) -> list[str]:
    """The links of the error summary: the field ids they point to."""
    return [a.get_attribute("href") for a in page.locator(".nhsuk-error-summary a").all()]


def test_the_public_reads_networks_and_is_refused_every_form(visit):
    v = visit(None)
    v.goto("/networks")
    v.page.select_option("#priority", "catalogue/doac-share")
    with v.page.expect_navigation(wait_until="load"):
        v.page.get_by_role("button", name="Show networks").click()
    assert "NHS North Central London ICB" in v.page.locator("main").inner_text()
    with v.page.expect_navigation(wait_until="load"):
        v.page.get_by_role("link", name="NHS North Central London ICB").click()
    members = v.page.locator("main table").inner_text()
    assert "MJ0" in members and "KK0" not in members
    shot(v.page, "network")
    for path in ("/challenge/new", "/barriers/new", "/adopters/new"):
        v.goto(path, status=403)
    v.goto("/challenge")
    assert v.page.get_by_role("link", name="Run a round").count() == 0


@pytest.mark.parametrize("role", ["icb-analyst", "provider-lead", "innovator"])
def test_only_a_national_admin_may_run_a_round(visit, role):
    v = visit(role)
    v.goto("/challenge")
    assert v.page.get_by_role("link", name="Run a round").count() == 0
    v.goto("/challenge/new", status=403)


def test_a_national_admin_runs_a_round(visit):
    v = visit("national-admin")
    v.goto("/challenge")
    with v.page.expect_navigation(wait_until="load"):
        v.page.get_by_role("link", name="Run a round").click()
    v.page.fill("#title", "Browser round")
    v.page.select_option("#priority", "catalogue/doac-share")
    v.page.fill("#capacity", "0")
    assert v.submit("Run the round") == 400
    assert errors_shown(v.page) == ["#capacity"]
    assert "at least 1" in v.page.locator("#capacity-error").inner_text()
    assert v.page.input_value("#title") == "Browser round"  # what was typed is kept
    v.page.fill("#capacity", "2")
    assert v.submit("Run the round") == 200
    assert re.fullmatch(re.escape(v.site.url) + r"/challenge/\d+", v.page.url)
    main = v.page.locator("main").inner_text()
    assert "Browser round" in main and "Anchor institutions" in main
    rows = v.page.locator("table[class*='uptake-table']").first.locator("tbody tr")
    assert rows.count() >= 1 and "km from" in rows.first.inner_text()
    shot(v.page, "round")
    from test_layout_browser import MEASURE, layout_problems  # the layout check of every other page

    assert layout_problems(v.page.evaluate(MEASURE), "desktop") == []


def test_an_icb_analyst_records_a_barrier_assessment(visit):
    v = visit("icb-analyst")
    v.goto("/barriers")
    with v.page.expect_navigation(wait_until="load"):
        v.page.get_by_role("link", name="Record an assessment").click()
    v.page.fill("#org_code", "MJ0")
    v.page.select_option("#innovation", "narcolepsy-medicines")
    v.page.fill("#assessed_on", "2025-02-01")
    for key in ("risk_averse_culture", "complexity_not_invented_here", "lack_of_resource"):
        v.page.select_option(f"#{key}", "present")
    for key in ("condition", "technology", "value_proposition", "adopters", "organisation", "wider_system",
                "embedding"):
        v.page.select_option(f"#nasss_{key}", "complicated")
    v.page.fill("#notes", "Browser test assessment")
    assert v.submit("Save the assessment") == 400
    assert errors_shown(v.page) == ["#innovation"]
    assert "does not use" in v.page.locator("#innovation-error").inner_text()
    shot(v.page, "barrier-refused")
    v.page.select_option("#innovation", "doacs")
    assert v.submit("Save the assessment") == 200
    assert v.page.url.startswith(v.site.url + "/barriers")
    assert "Browser test assessment" in v.page.locator("#assessments ~ div table").inner_text()


def test_an_innovator_may_not_record(visit):
    v = visit("innovator")
    v.goto("/barriers")
    assert v.page.get_by_role("link", name="Record an assessment").count() == 0
    v.goto("/barriers/new", status=403)
    v.goto("/adopters/new", status=403)


def test_a_provider_lead_records_an_adoption(visit):
    v = visit("provider-lead")
    v.goto("/adopters")
    with v.page.expect_navigation(wait_until="load"):
        v.page.get_by_role("link", name="Record an adoption").click()
    assert v.page.input_value("#org_code") == "RAL"
    v.page.select_option("#innovation", "narcolepsy-medicines")
    v.page.fill("#adopted_on", "2023-06-01")
    v.page.fill("#what", "Newer narcolepsy medicines in the sleep clinic")
    v.page.fill("#adaptations", "A nurse-led titration clinic in the browser test")
    v.page.fill("#cost_pounds", "a lot")
    v.page.fill("#contact_name", "Sleep Lead")
    v.page.fill("#contact_email", "not-an-email")
    assert v.submit("Save the adoption") == 400
    assert errors_shown(v.page) == ["#cost_pounds", "#contact_email"]
    v.page.fill("#cost_pounds", "4,000")
    v.page.fill("#contact_email", "sleep.lead@nhs.net")
    assert v.submit("Save the adoption") == 200
    assert "A nurse-led titration clinic in the browser test" in v.page.locator("main").inner_text()
    shot(v.page, "adopters")

    public = visit(None)
    public.goto("/adopters?innovation=narcolepsy-medicines")
    text = public.page.locator("main").inner_text()
    assert "A nurse-led titration clinic in the browser test" in text and "sleep.lead@nhs.net" not in text
    public.goto("/organisations/RRV")
    section = public.page.locator("#who-already-does-this")
    section.wait_for()
    assert "Who already does this near RRV" in section.inner_text()
    public.goto("/innovations/narcolepsy-medicines")
    public.page.locator("#innovation-adopters #who-already-does-this").wait_for()
