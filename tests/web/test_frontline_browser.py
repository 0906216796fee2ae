"""The Innovation Award, innovation leads and time to innovate in a real browser (Playwright driving Debian's
Chromium at /usr/bin/chromium), on the mission's small world (stroke units U01-U12 with three years of
thrombolysis results, attainment computed, the illustrative award scheme loaded).

Journeys, each by filling in and clicking the real forms, as the role that owns it:

- award: the provider lead of U01 nominates (a bad form first: the error summary, nothing saved), reads the
  nomination's explanation; the national admin sees it ranked and decides the awards; the public sees the
  award and the fairness audit, but not the nomination's groups;
- leads: the provider lead names a lead (an unknown organisation first: refused at the field), records a
  contribution taught to a peer, and downloads the portfolio as PDF;
- time: the provider lead records time to innovate (bad numbers first), and the public sees it and its cost.

Refusals per role: the forms answer 403 to the public, an ICB analyst and an innovator; the provider lead of
U05 cannot see U01's nomination before it is awarded (404), cannot record for U01 (403 on the lead's
contribution form) and cannot decide the awards (403). Every page logs no console error and makes no request
off this machine; every write is in the audit log.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import browser_support
import pytest
from browser_support import BackgroundServer, needs_chromium, sign_in

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from ecosystem_support import small_world  # noqa: E402

pytestmark = needs_chromium

PASSWORD = "correct horse battery staple"
ADMIN, LEAD, OTHER_LEAD = "admin@england.nhs.uk", "lead@u01.nhs.uk", "lead@u05.nhs.uk"
ANALYST, INNOVATOR = "analyst@qaa.nhs.uk", "innovator@example.org"
PEOPLE = {ADMIN: ("national-admin", None, None), LEAD: ("provider-lead", "U01", None),
          OTHER_LEAD: ("provider-lead", "U05", None), ANALYST: ("icb-analyst", "QAA", None),
          INNOVATOR: ("innovator", None, "thrombolysis")}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    from uptake.store import session_scope
    from uptake.web.accounts import create_user
    from uptake.web.app import create_app
    from uptake.web.security import RateLimiter
    from uptake.workspace import Workspace

    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("UPTAKE_DATABASE_URL", raising=False)
        ws = Workspace.resolve(tmp_path_factory.mktemp("frontline-browser") / "ws").ensure()
        engine, _ = small_world(ws)
        with session_scope(engine) as session:
            for email, (role, org, innovation) in PEOPLE.items():
                create_user(session, email=email, name=email.split("@")[0].title(), role=role, password=PASSWORD,
                            scope_org_code=org, scope_innovation=innovation, actor="test")
        app = create_app(ws, secret_key="test-secret-key-" + "x" * 32)
        app.state.web.signin_by_address = RateLimiter(10_000, 300)
        with BackgroundServer(app) as server:
            server.engine = engine
            yield server
        engine.dispose()


@pytest.fixture(scope="module")
def people(site, browser):
    def sign_in_as(context, email: str) -> None:
        page = context.new_page()
        sign_in(page, site.url, email, PASSWORD)
        page.close()

    yield from browser_support.people_contexts(browser, sign_in_as, accept_downloads=True)


class Visit(browser_support.Visit):
    def submit(self, button: str = "main form button[type=submit]") -> int:
        with self.page.expect_navigation() as navigation:
            self.page.click(button)
        status = navigation.value.status
        self.forget(status)
        return status

    def errors(self) -> list[str]:
        return [t.strip() for t in self.page.locator(".nhsuk-error-summary__list a").all_inner_texts()]


@pytest.fixture
def visit(site, people):
    yield from browser_support.visits(site, people, Visit)


def audit_actions(site, prefix: str) -> list[str]:
    from sqlalchemy import select

    from uptake.store import AuditEvent, session_scope

    with session_scope(site.engine) as session:
        return list(session.scalars(select(AuditEvent.action).where(AuditEvent.action.like(prefix + "%"))
                                    .order_by(AuditEvent.id)))


def test_award_nominate_explain_decide_and_audit(site, visit):
    lead = visit(LEAD)
    lead.goto("/award")
    lead.page.click("text=Nominate a team or person")
    assert lead.page.url == site.url + "/award/nominate"
    assert lead.page.locator("#org_code").input_value() == "U01"
    lead.page.fill("#org_code", "")
    assert lead.submit() == 400
    problems = lead.errors()
    assert "Enter the name of the person or team nominated" in problems
    assert any("evidence" in p for p in problems) and any("sex" in p for p in problems)
    assert audit_actions(site, "award.nominate") == []  # nothing saved

    lead.page.fill("#nominee_name", "Thrombolysis team")
    lead.page.select_option("#nominee_kind", "team")
    lead.page.fill("#org_code", "U01")
    lead.page.select_option("#commitment", "stroke/thrombolysis")
    lead.page.fill("#evidence", "Door-to-needle protocol with a 24-hour CT rota since 2019.")
    for field, value in (("sex", "female"), ("ethnic_group", "asian"), ("profession", "doctor"),
                         ("region", "london"), ("trust_type", "prefer-not-to-say")):
        lead.page.select_option(f"#{field}", value)
    assert lead.submit() == 200
    match = re.fullmatch(re.escape(site.url) + r"/award/nominations/(\d+)", lead.page.url)
    assert match
    nomination = match.group(1)
    explanation = lead.page.locator("#explanation").inner_text()
    assert "Attainment" in explanation and "status met" in explanation and "result_values" in explanation
    assert "proposed" in lead.page.locator("#award").inner_text()

    # another provider lead may not see it before it is awarded; nor decide
    other = visit(OTHER_LEAD)
    other.goto(f"/award/nominations/{nomination}", status=404)
    response = other.page.request.post(site.url + "/award/decide", form={"csrf_token": "x"})
    assert response.status == 403

    admin = visit(ADMIN)
    admin.goto("/award")
    assert "Thrombolysis team" in admin.page.locator("#ranking").inner_text()
    assert admin.submit("form.uptake-decide button") == 200
    assert "Thrombolysis team" in admin.page.locator("#awards").inner_text()

    public = visit(None)
    public.goto("/award")
    assert "Thrombolysis team" in public.page.locator("#awards").inner_text()
    public.goto(f"/award/nominations/{nomination}")
    assert "Recorded for the audit" not in public.page.content()  # the groups are not public
    public.goto("/award/fairness")
    assert "Wilson" in public.page.content() and public.page.locator("#audit-sex").is_visible()
    assert audit_actions(site, "award.") == ["award.scheme-load", "award.nominate", "award.decide"]


def test_a_lead_records_contributions_and_downloads_the_portfolio(site, visit):
    lead = visit(LEAD)
    lead.goto("/leads")
    lead.page.click("text=Name an innovation lead")
    lead.page.fill("#org_code", "NOPE1")
    lead.page.fill("#name", "Dr Example")
    lead.page.fill("#job_title", "Stroke consultant")
    lead.page.fill("#started_on", "2024-04-01")
    assert lead.submit() == 400
    assert lead.errors() == ["There is no organisation NOPE1: enter an ODS code Uptake knows"]
    assert lead.page.locator("#org_code-error").is_visible()
    lead.page.fill("#org_code", "U01")
    assert lead.submit() == 200
    lead_page = lead.page.url
    lead.page.click("text=Record a contribution")
    lead.page.select_option("#kind", "taught")
    lead.page.select_option("#innovation", "thrombolysis")
    lead.page.select_option("#commitment", "stroke/thrombolysis")
    lead.page.fill("#peer_org_code", "U05")
    lead.page.fill("#description", "Taught U05's team the door-to-needle protocol.")
    lead.page.fill("#occurred_on", "2024-06-01")
    assert lead.submit() == 200
    assert lead.page.url == lead_page
    assert "SPREAD-3" in lead.page.locator("#contributions").inner_text()
    assert "U05" in lead.page.locator("#contributions").inner_text()
    with lead.page.expect_download() as download:
        lead.page.click("text=PDF")
    assert Path(download.value.path()).read_bytes()[:4] == b"%PDF"

    # the provider lead of U05 may read the portfolio but not record for U01's lead
    other = visit(OTHER_LEAD)
    other.goto(lead_page.removeprefix(site.url))
    assert other.page.locator("text=Record a contribution").count() == 0
    other.goto(lead_page.removeprefix(site.url) + "/contributions/new", status=403)
    assert audit_actions(site, "lead.") == ["lead.add", "lead.contribution"]


def test_time_to_innovate_planned_then_seen(site, visit):
    lead = visit(LEAD)
    lead.goto("/time-to-innovate/record")
    for field, value in (("year_start", "2025-04-01"), ("staff_fte", "1200"), ("staff_source", "NHS Workforce "
                         "Statistics, June 2025"), ("planned_share", "120"), ("planned_hours", "7.5")):
        lead.page.fill(f"#{field}", value)
    assert lead.submit() == 400
    assert lead.errors() == ["Share of staff given time (%) must be between 0 and 100"]
    lead.page.fill("#planned_share", "20")
    assert lead.submit() == 200
    assert lead.page.url == site.url + "/time-to-innovate"
    public = visit(None)
    public.goto("/time-to-innovate")
    row = public.page.locator("#time").inner_text()
    assert "U01" in row and "£1,975,200 a year" in row  # 1200 * 0.2 * (7.5 / 37.5) * 41,150
    assert "£1,720,000,000" in public.page.locator("#national").inner_text()
    assert audit_actions(site, "time.") == ["time.record"]


@pytest.mark.parametrize("email", [None, ANALYST, INNOVATOR])
def test_the_forms_are_refused_to_roles_that_do_not_own_them(site, visit, email):
    v = visit(email)
    for path in ("/award/nominate", "/leads/new", "/time-to-innovate/record"):
        v.goto(path, status=403)
    v.goto("/award")
    assert v.page.locator("text=Nominate a team or person").count() == 0
    assert v.page.locator("form.uptake-decide").count() == 0
