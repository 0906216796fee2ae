"""Comply or justify in a real browser (Playwright for Python driving Debian's Chromium at /usr/bin/chromium).

The "done when" of the mission's comply-or-justify work: an ICB can file a plan and a justification through
the web app; a national reviewer can challenge it; the public sees only what is published. These tests show
it by filling in and clicking the real forms (no HTTP posts on anyone's behalf), in this order:

1. the analyst of ICB QAA signs in, files a plan (a draft), and the analyst of QBB can neither see nor
   submit it; QAA's analyst submits it;
2. QAA's analyst files and submits a justification for another commitment;
3. a national reviewer (national-admin: the only role that accepts, challenges and publishes, see
   uptake.mission.permissions) finds both in the review queue, challenges the plan with a comment, accepts
   and publishes the justification;
4. the public sees the published justification and nothing of the challenged plan;
5. QAA's analyst reads the challenge, edits the plan and resubmits it, and it is back in the queue;
6. the audit log (database and the admin's audit page) records every step and who took it.

That story is one test (`make test` runs pytest-xdist, which may split a module's tests between workers, so
tests here share no state). The other tests use a third ICB, QCC, whose drafts nobody else can see: a bad
form shows the problem on the form and files nothing, and axe-core finds no serious accessibility problem.
All share one server, one browser and a browser context per person (signed in once, through the sign-in
form). Screenshots go to test-artifacts/web/mission-*.png; every page must log no console error and make
no request off this machine.
"""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import browser_support
import pytest
from browser_support import ARTIFACTS, BackgroundServer, Visit, Watched, needs_chromium, sign_in

TESTS = Path(__file__).resolve().parents[1]

pytestmark = needs_chromium

PASSWORD = "correct horse battery staple"
ADMIN = "admin@england.nhs.uk"
ALPHA = "analyst@alpha.nhs.uk"  # icb-analyst of QAA
BETA = "analyst@beta.nhs.uk"  # icb-analyst of QBB
GAMMA = "analyst@gamma.nhs.uk"  # icb-analyst of QCC
PEOPLE = {ADMIN: ("national-admin", None), ALPHA: ("icb-analyst", "QAA"), BETA: ("icb-analyst", "QBB"),
          GAMMA: ("icb-analyst", "QCC")}

PLAN_COMMITMENT = "stroke/thrombolysis"
JUSTIFICATION_COMMITMENT = "dementia/dementia-diagnosis"
BAD_COMMITMENT = "cardiovascular-disease/anticoagulation-doacs"
PLAN = {
    "summary": "Pre-alert every suspected stroke and take the patient straight to CT.",
    "actions": "Pre-alert protocol with the ambulance trust | Stroke network lead | 2024-09-30\n"
               "Telestroke rota out of hours | Medical director | 2025-03-31",
    "funding_amount": "£250,000",
    "funding_source": "ICB transformation fund",
    "funding_years": "2024/25",
    "support": "Peer support from the best performing unit, and CT time protected for stroke.",
    "expected_trajectory": "2024-12-31 15%\n2025-12-31 20%",
}
JUSTIFICATION = {
    "reason_category": "population-need",
    "reason": "Our population is young: the expected prevalence of dementia is overstated for QAA.",
    "evidence": "Local prevalence audit 2023\nGP register review, March 2024",
    "alternative": "Memory assessment in every primary care network, with a locally adjusted target.",
    "review_date": "2025-06-30",
}
CHALLENGE = "Name the lead of each stroke unit, and say where the out-of-hours CT time comes from."
ACCEPT = "Accepted: the local audit is convincing. Review again in June 2025."
REVISED_SUMMARY = "Pre-alert every suspected stroke; unit leads named; CT time funded by the ICB."


def _mission_support():
    """tests/test_mission_support.py by path (tests/ and tests/web each have a conftest, so a plain import
    depends on which directories pytest happened to put on sys.path)."""
    spec = importlib.util.spec_from_file_location("uptake_test_mission_support", TESTS / "test_mission_support.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- fixtures ---------------------------------------------------------------------------------------------


class Site:
    def __init__(self, server: BackgroundServer, engine):
        self.server = server
        self.engine = engine
        self.url = server.url


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    from uptake.web.mission.pages import mount
    from uptake.mission.ratings import compute_ratings
    from uptake.store import make_engine, session_scope, upgrade
    from uptake.web.accounts import create_user
    from uptake.web.app import create_app
    from uptake.web.security import RateLimiter
    from uptake.workspace import Workspace

    support = _mission_support()
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("UPTAKE_DATABASE_URL", raising=False)
        ws = Workspace.resolve(tmp_path_factory.mktemp("mission-browser") / "ws").ensure()
        store = support.small_store(ws.analytics_path)
        upgrade(ws.database_url)
        engine = support.mission_workflow(make_engine(ws.database_url))
        with session_scope(engine) as session:
            for email, (role, scope) in PEOPLE.items():
                create_user(session, email=email, name=email.split("@")[0].title(), role=role, password=PASSWORD,
                            scope_org_code=scope, actor="test")
            compute_ratings(session, store, who=support.ADMIN)  # attainment, for the commitment page's map
        app = create_app(ws, secret_key="test-secret-key-" + "x" * 32)
        mount(app)
        app.state.web.signin_by_address = RateLimiter(10_000, 300)
        with BackgroundServer(app) as server:
            yield Site(server, engine)
        engine.dispose()


@pytest.fixture(scope="module")
def people(site, browser):
    """people(email) -> a browser context signed in as that person through the sign-in form (once each);
    people(None) -> a context of a member of the public (never signed in)."""

    def sign_in_as(context, email: str) -> None:
        watched = Watched(context, site.url)
        sign_in(watched.page, site.url, email, PASSWORD)
        role, _ = PEOPLE[email]
        assert f"({role})" in watched.page.locator("header.nhsuk-header").inner_text()
        watched.check()
        watched.page.close()

    yield from browser_support.people_contexts(browser, sign_in_as)


@pytest.fixture
def visit(site, people):
    """visit(email) -> a watched page in that person's context (browser_support.Visit), closed at the end of
    the test."""
    yield from browser_support.visits(site, people, check=False)


# --- helpers ----------------------------------------------------------------------------------------------


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"mission-{name}.png"), full_page=True)


def filing_id_of(page, site: Site) -> int:
    match = re.fullmatch(re.escape(site.url) + r"/plans/(\d+)", page.url)
    assert match, f"not on a filing's page: {page.url}"
    return int(match.group(1))


def status_of(page) -> str:
    """The status tag at the top of a filing's page."""
    return page.locator("main p.nhsuk-body strong.nhsuk-tag").first.inner_text().strip()


def history_of(page) -> list[str]:
    heading = page.locator("h2", has_text="History")
    return [item.strip() for item in heading.locator("xpath=following-sibling::ul[1]/li").all_inner_texts()]


def buttons_of(page) -> list[str]:
    """The review and workflow buttons of a filing's page (the forms posting to /plans/{id}/{step})."""
    return [b.strip() for b in page.locator("form.uptake-step button[type=submit]").all_inner_texts()]


def fill_plan(page, plan: dict[str, str]) -> None:
    for field, value in plan.items():
        page.fill(f"#{field}", value)


def fill_justification(page, justification: dict[str, str]) -> None:
    page.select_option("#reason_category", justification["reason_category"])
    for field in ("reason", "evidence", "alternative", "review_date"):
        page.fill(f"#{field}", justification[field])


def start_filing(v: Visit, commitment: str, kind: str) -> None:
    """From the list of filings, follow the analyst's button to the form and choose what to file."""
    v.goto("/plans")
    v.page.get_by_role("link", name=re.compile(r"File a plan or justification for")).click()
    v.page.wait_for_url(v.site.url + "/plans/new")
    v.page.select_option("#commitment", commitment)
    v.page.select_option("#kind", kind)
    other = "justification" if kind == "plan" else "plan"
    assert v.page.locator(f"fieldset[data-kind='{kind}']").is_visible()  # the form shows the chosen kind's part
    assert v.page.locator(f"fieldset[data-kind='{other}']").is_hidden()


def save_draft(v: Visit) -> int:
    """Click "Save draft"; the status of the page that follows (a form with problems comes back as 400, which
    Chromium logs as a console error: forget that one)."""
    with v.page.expect_navigation(wait_until="load") as nav:
        v.page.get_by_role("button", name="Save draft").click()
    status = nav.value.status if nav.value is not None else 0
    if status == 400:
        v.watched.errors = [e for e in v.watched.errors if "status of 400" not in e]
    return status


def take_step(v: Visit, step: str, comment: str | None = None) -> None:
    """Click a step's button on a filing's page (filling its comment box first if given)."""
    if comment is not None:
        v.page.fill(f"#comment-{step}", comment)
    form = v.page.locator(f"form.uptake-step[action$='/{step}']")
    with v.page.expect_navigation(wait_until="load"):
        form.get_by_role("button", name=step.capitalize()).click()


def queued(page) -> dict[int, str]:
    """The review queue: filing id -> the text of the entry (list item or table row) that links to it."""
    out = {}
    for link in page.locator("main a[href^='/plans/']").all():
        match = re.fullmatch(r"/plans/(\d+)", link.get_attribute("href") or "")
        if match:
            entry = link.locator("xpath=ancestor::*[self::li or self::tr][1]")
            out[int(match.group(1))] = " ".join(entry.inner_text().split())
    return out


def filings_table(page) -> list[list[str]]:
    rows = page.locator("table.uptake-table tbody tr")
    return [[c.strip() for c in row.locator("td").all_inner_texts()] for row in rows.all()]


def filing_rows(site: Site) -> list[int]:
    """How many filings, revisions and audit events about filings the workflow database holds."""
    from sqlalchemy import func, select

    from uptake.store import session_scope
    from uptake.store.mission_models import ComplyOrJustifyFiling, ComplyOrJustifyRevision
    from uptake.store.models import AuditEvent

    with session_scope(site.engine) as session:
        return [session.scalar(select(func.count()).select_from(ComplyOrJustifyFiling)),
                session.scalar(select(func.count()).select_from(ComplyOrJustifyRevision)),
                session.scalar(select(func.count()).select_from(AuditEvent)
                               .where(AuditEvent.entity_type == "cj-filing"))]


def _axe_source() -> str:
    from browser_support import axe_source

    return axe_source()


def serious_axe_violations(page, name: str) -> list[dict]:
    """Run axe-core on the page as it is; save all violations to test-artifacts/web/axe-mission-{name}.json
    and return the serious and critical ones."""
    page.evaluate(_axe_source())  # evaluated by the test harness, so the page's CSP still applies to the page
    violations = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map(n => n.target)}))"
    )
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / f"axe-mission-{name}.json").write_text(json.dumps(violations, indent=2), encoding="utf-8")
    return [x for x in violations if x["impact"] in ("serious", "critical")]


def axe_into(serious: dict[str, list], page, name: str) -> None:
    """serious_axe_violations, noted under `name` (for a test that asserts on them all at its end)."""
    found = serious_axe_violations(page, name)
    if found:
        serious[name] = found


# --- the story, from filing to publication ------------------------------------------------------------------


def test_comply_or_justify_from_filing_to_publication(site, visit):
    """Steps 1 to 6 of the module docstring, in order (each step a function below)."""
    serious: dict[str, list] = {}  # axe-core's serious findings on each filing page, asserted at the end
    plan_id = _icb_files_a_plan(site, visit, serious)
    _another_icb_cannot_see_or_change_the_draft(site, visit, plan_id)
    _icb_submits_the_plan(site, visit, plan_id)
    justification_id = _icb_files_and_submits_a_justification(site, visit)
    _reviewer_challenges_the_plan(site, visit, plan_id, justification_id, serious)
    _reviewer_accepts_and_publishes_the_justification(site, visit, justification_id)
    _public_sees_only_what_is_published(site, visit, plan_id, justification_id, serious)
    _icb_reads_the_challenge_edits_and_resubmits(site, visit, plan_id)
    _audit_log_records_every_step_and_who_took_it(site, visit, plan_id, justification_id)
    assert not serious, json.dumps(serious, indent=2)


def _icb_files_a_plan(site, visit, serious) -> int:
    v = visit(ALPHA)
    v.goto("/plans")
    assert v.page.get_by_role("link", name="Review queue").count() == 0  # reviewing is not the analyst's
    assert filings_table(v.page) == [["No filings to show."]]
    shot(v.page, "plans-as-icb-analyst")
    start_filing(v, PLAN_COMMITMENT, "plan")
    assert "for QAA" in v.page.locator("h1").inner_text()
    fill_plan(v.page, PLAN)
    shot(v.page, "plan-form")
    assert save_draft(v) == 200
    plan_id = filing_id_of(v.page, site)

    page = v.page
    assert page.locator("h1").inner_text().startswith("Plan of QAA")
    assert "stroke / thrombolysis" in page.locator("h1").inner_text()
    assert status_of(page) == "draft"
    assert PLAN["summary"] in page.locator("main").inner_text()
    actions = page.locator("table", has=page.locator("caption", has_text="Actions")).locator("tbody tr")
    assert [[c.strip() for c in r.locator("td").all_inner_texts()] for r in actions.all()] == [
        ["Pre-alert protocol with the ambulance trust", "Stroke network lead", "2024-09-30", "planned"],
        ["Telestroke rota out of hours", "Medical director", "2025-03-31", "planned"],
    ]
    funding = page.locator(".nhsuk-summary-list__row", has_text="Funding").locator("dd").inner_text()
    assert funding == "£250,000 from ICB transformation fund, 2024/25"
    expected = page.locator("table", has=page.locator("caption", has_text="Plan against actual"))
    assert expected.locator("tbody td:nth-child(2)").all_inner_texts() == ["15.0%", "20.0%"]
    # the analyst may edit or submit a draft; no review step is offered to them
    assert page.get_by_role("link", name="Edit").count() == 1
    assert buttons_of(page) == ["Submit"]
    assert history_of(page)[0].endswith(f"create by {ALPHA} (draft, revision 1)")
    shot(page, "plan-draft")
    axe_into(serious, page, "plan-draft")
    v.check()
    return plan_id


def _another_icb_cannot_see_or_change_the_draft(site, visit, plan_id: int) -> None:
    v = visit(BETA)
    v.goto("/plans")
    assert filings_table(v.page) == [["No filings to show."]]  # QAA's draft is not listed for QBB
    v.goto(f"/plans/{plan_id}", status=404)
    shot(v.page, "plan-draft-as-other-icb")
    # Nor can QBB's analyst submit it: the server refuses even a well-formed post with QBB's own CSRF token.
    v.goto("/plans/new")
    assert "for QBB" in v.page.locator("h1").inner_text()  # the form files for the analyst's own ICB only
    token = v.page.locator("form[action='/plans/new'] input[type=hidden]").first
    refused = v.page.request.post(f"{site.url}/plans/{plan_id}/submit",
                                  form={token.get_attribute("name"): token.get_attribute("value")})
    assert refused.status == 404  # a write to a filing it cannot see answers as a read does (issue 12)
    assert "QAA" not in refused.text() and "thrombolysis" not in refused.text()  # and names nothing of it
    v.check()
    # ... and the public sees nothing of a draft
    public = visit(None)
    public.goto(f"/plans/{plan_id}", status=404)
    public.check()


def _icb_submits_the_plan(site, visit, plan_id: int) -> None:
    v = visit(ALPHA)
    v.goto(f"/plans/{plan_id}")
    assert status_of(v.page) == "draft"  # the refused submit changed nothing
    take_step(v, "submit")
    assert filing_id_of(v.page, site) == plan_id
    assert status_of(v.page) == "submitted"
    assert v.page.get_by_role("link", name="Edit").count() == 0  # no edits while it is with the reviewer
    assert buttons_of(v.page) == []
    assert history_of(v.page)[-1].endswith(f"submit by {ALPHA} (submitted, revision 1)")
    shot(v.page, "plan-submitted")
    v.check()


def _icb_files_and_submits_a_justification(site, visit) -> int:
    v = visit(ALPHA)
    start_filing(v, JUSTIFICATION_COMMITMENT, "justification")
    fill_justification(v.page, JUSTIFICATION)
    shot(v.page, "justification-form")
    assert save_draft(v) == 200
    justification_id = filing_id_of(v.page, site)
    page = v.page
    assert page.locator("h1").inner_text().startswith("Justification of QAA")
    assert "dementia / dementia-diagnosis" in page.locator("h1").inner_text()
    assert status_of(page) == "draft"

    def value(key: str):
        return page.locator(".nhsuk-summary-list__row", has=page.locator("dt", has_text=key)).locator("dd")

    assert value("Reason").inner_text() == f"Population need: {JUSTIFICATION['reason']}"
    assert value("Evidence").locator("li").all_inner_texts() == JUSTIFICATION["evidence"].splitlines()
    assert value("Alternative").inner_text() == JUSTIFICATION["alternative"]
    assert value("Review date").inner_text() == JUSTIFICATION["review_date"]
    take_step(v, "submit")
    assert status_of(page) == "submitted"
    shot(page, "justification-submitted")
    v.check()
    return justification_id


def _reviewer_challenges_the_plan(site, visit, plan_id: int, justification_id: int, serious) -> None:
    v = visit(ADMIN)
    page = v.page
    v.goto("/plans")
    assert page.get_by_role("link", name=re.compile("File a plan")).count() == 0  # filing is the ICB's
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("link", name="Review queue").click()
    assert page.url == site.url + "/plans/queue"
    assert page.locator(f"main a[href='/plans/{plan_id}']").inner_text() == "QAA: plan for stroke / thrombolysis"
    assert (page.locator(f"main a[href='/plans/{justification_id}']").inner_text()
            == "QAA: justification for dementia / dementia-diagnosis")
    waiting = queued(page)
    assert sorted(waiting) == sorted([plan_id, justification_id])
    assert all("submitted" in text for text in waiting.values())
    shot(page, "queue")

    with page.expect_navigation(wait_until="load"):
        page.locator(f"a[href='/plans/{plan_id}']").click()
    assert status_of(page) == "submitted"
    assert buttons_of(page) == ["Accept", "Challenge"]
    assert page.get_by_role("link", name="Edit").count() == 0  # reviewers do not edit the ICB's plan
    assert PLAN["summary"] in page.locator("main").inner_text()
    axe_into(serious, page, "plan-review")

    # A challenge without a comment is refused by the browser (the box is required); the server's own
    # refusal, which re-shows the filing with the problem, is tested in tests/test_mission_pages.py.
    comment_box = page.locator("#comment-challenge")
    assert comment_box.get_attribute("required") is not None
    page.locator("form.uptake-step[action$='/challenge'] button").click()
    assert comment_box.evaluate("el => !el.validity.valid")
    assert page.url == f"{site.url}/plans/{plan_id}"
    assert status_of(page) == "submitted"

    take_step(v, "challenge", CHALLENGE)
    assert page.url == f"{site.url}/plans/{plan_id}"
    assert status_of(page) == "challenged"
    assert page.locator(".nhsuk-inset-text").inner_text() == f"Reviewer ({ADMIN}): {CHALLENGE}"
    assert buttons_of(page) == []  # now the ICB's move
    assert history_of(page)[-1].endswith(f"challenge by {ADMIN} (challenged, revision 1): {CHALLENGE}")
    shot(page, "plan-challenged-by-reviewer")
    v.goto("/plans/queue")
    assert sorted(queued(page)) == [justification_id]
    v.check()


def _reviewer_accepts_and_publishes_the_justification(site, visit, justification_id: int) -> None:
    v = visit(ADMIN)
    page = v.page
    v.goto("/plans/queue")
    with page.expect_navigation(wait_until="load"):
        page.locator(f"a[href='/plans/{justification_id}']").click()
    assert status_of(page) == "submitted"
    take_step(v, "accept", ACCEPT)
    assert status_of(page) == "accepted"
    assert buttons_of(page) == ["Publish"]  # publishing is a separate step
    assert page.locator(".nhsuk-inset-text").inner_text() == f"Reviewer ({ADMIN}): {ACCEPT}"
    take_step(v, "publish")
    assert status_of(page) == "published"
    assert buttons_of(page) == []
    assert [h.split(": ", 1)[1].split(" (")[0] for h in history_of(page)] == [
        f"create by {ALPHA}", f"submit by {ALPHA}", f"accept by {ADMIN}", f"publish by {ADMIN}"]
    shot(page, "justification-published")
    v.goto("/plans/queue")
    assert queued(page) == {}
    assert "Nothing is waiting for review." in page.locator("main").inner_text()
    v.check()


def _public_sees_only_what_is_published(site, visit, plan_id: int, justification_id: int, serious) -> None:
    v = visit(None)
    page = v.page
    v.goto("/plans")
    assert "Sign in" in page.locator("header.nhsuk-header").inner_text()  # not signed in
    rows = filings_table(page)
    assert [row[:4] for row in rows] == [["QAA", "dementia / dementia-diagnosis", "justification", "published"]]
    assert page.locator(f"a[href='/plans/{plan_id}']").count() == 0
    assert page.get_by_role("link", name=re.compile("File a plan|Review queue")).count() == 0
    shot(page, "plans-public")
    with page.expect_navigation(wait_until="load"):
        page.locator(f"a[href='/plans/{justification_id}']").click()
    assert status_of(page) == "published"
    assert JUSTIFICATION["alternative"] in page.locator("main").inner_text()
    assert buttons_of(page) == [] and page.get_by_role("link", name="Edit").count() == 0
    main = page.locator("main").inner_text()
    assert "@" not in main, "the public sees who acted by role, not by email address"
    assert "submit by the ICB" in main and "publish by a national reviewer" in main
    shot(page, "justification-public")
    axe_into(serious, page, "justification-public")
    v.goto(f"/plans/{plan_id}", status=404)
    assert CHALLENGE not in page.content() and PLAN["summary"] not in page.content()
    v.goto("/plans/queue", status=403)
    v.goto("/plans/new", status=403)
    # the CSV of the filings holds what the page shows, no more
    csv = page.request.get(site.url + "/mission/download/filings.csv").text()
    assert JUSTIFICATION["alternative"] in csv and PLAN["summary"] not in csv
    v.check()
    # another ICB's analyst sees the same as the public: the published justification, not QAA's plan
    other = visit(BETA)
    other.goto("/plans")
    assert [row[:4] for row in filings_table(other.page)] == [
        ["QAA", "dementia / dementia-diagnosis", "justification", "published"]]
    other.goto(f"/plans/{plan_id}", status=404)
    other.check()


def _icb_reads_the_challenge_edits_and_resubmits(site, visit, plan_id: int) -> None:
    v = visit(ALPHA)
    page = v.page
    v.goto("/plans")
    row = page.locator("table.uptake-table tbody tr", has=page.locator(f"a[href='/plans/{plan_id}']"))
    assert row.locator("strong.nhsuk-tag").inner_text() == "challenged"
    with page.expect_navigation(wait_until="load"):
        row.locator("a").click()
    assert status_of(page) == "challenged"
    assert page.locator(".nhsuk-inset-text").inner_text() == f"Reviewer ({ADMIN}): {CHALLENGE}"
    assert buttons_of(page) == ["Resubmit"]
    shot(page, "plan-challenged-as-icb")

    with page.expect_navigation(wait_until="load"):
        page.get_by_role("link", name="Edit").click()
    assert page.url.startswith(site.url + "/plans/new?")
    assert page.locator("#commitment").input_value() == PLAN_COMMITMENT
    assert page.locator("#kind").input_value() == "plan"
    # (the form does not start from the plan as filed: see test_editing_starts_from_what_was_filed)
    revised = dict(PLAN, summary=REVISED_SUMMARY,
                   actions=PLAN["actions"] + "\nName a lead in every stroke unit | Stroke network lead | 2024-07-31")
    fill_plan(page, revised)
    assert save_draft(v) == 200
    assert filing_id_of(page, site) == plan_id  # the same filing, edited
    assert status_of(page) == "challenged"
    assert "revision 2" in page.locator("main p.nhsuk-body").first.inner_text()
    assert REVISED_SUMMARY in page.locator("main").inner_text()
    assert "Name a lead in every stroke unit" in page.locator("main table").first.inner_text()
    take_step(v, "resubmit")
    assert status_of(page) == "resubmitted"
    assert buttons_of(page) == []
    assert history_of(page)[-2].endswith(f"edit by {ALPHA} (challenged, revision 2)")
    assert history_of(page)[-1].endswith(f"resubmit by {ALPHA} (resubmitted, revision 2)")
    shot(page, "plan-resubmitted")
    v.check()

    reviewer = visit(ADMIN)
    reviewer.goto("/plans/queue")
    waiting = queued(reviewer.page)
    assert list(waiting) == [plan_id]
    assert "resubmitted" in waiting[plan_id]
    shot(reviewer.page, "queue-resubmitted")
    reviewer.check()
    public = visit(None)
    public.goto(f"/plans/{plan_id}", status=404)  # resubmitted is still not published
    public.check()


def _audit_log_records_every_step_and_who_took_it(site, visit, plan_id: int, justification_id: int) -> None:
    from sqlalchemy import select

    from uptake.store import session_scope
    from uptake.store.models import AuditEvent

    with session_scope(site.engine) as session:
        events = session.scalars(select(AuditEvent).where(AuditEvent.entity_type == "cj-filing")
                                 .order_by(AuditEvent.id)).all()
        trail = {entity: [(e.action, e.actor, e.details.get("status"), e.details.get("comment"))
                          for e in events if e.entity_id == str(entity)] for entity in (plan_id, justification_id)}
        qaa = {e.entity_id for e in events if e.details.get("icb") == "QAA"}
    assert qaa == {str(plan_id), str(justification_id)}
    assert trail[plan_id] == [  # (and nothing from QBB's refused submit)
        ("cj.filing.create", ALPHA, "draft", None),
        ("cj.filing.submit", ALPHA, "submitted", None),
        ("cj.filing.challenge", ADMIN, "challenged", CHALLENGE),
        ("cj.filing.edit", ALPHA, "challenged", None),
        ("cj.filing.resubmit", ALPHA, "resubmitted", None),
    ]
    assert trail[justification_id] == [
        ("cj.filing.create", ALPHA, "draft", None),
        ("cj.filing.submit", ALPHA, "submitted", None),
        ("cj.filing.accept", ADMIN, "accepted", ACCEPT),
        ("cj.filing.publish", ADMIN, "published", None),
    ]

    # and the national admin reads the same on the audit page
    v = visit(ADMIN)
    v.goto("/admin/audit")
    shown = []
    for row in v.page.locator("table.uptake-table tbody tr").all():
        cells = [c.strip() for c in row.locator("td").all_inner_texts()]
        entity = cells[3].split()
        if entity[0] == "cj-filing" and int(entity[1]) in (plan_id, justification_id):
            shown.append((int(entity[1]), cells[2], cells[1], json.loads(cells[4]).get("status")))
    assert sorted(shown) == sorted(
        [(plan_id, action, actor, status) for action, actor, status, _ in trail[plan_id]]
        + [(justification_id, action, actor, status) for action, actor, status, _ in trail[justification_id]])
    shot(v.page, "audit")
    v.check()


# --- forms that go wrong (QCC's analyst, whose drafts nobody else sees) ------------------------------------------


BAD_FORMS = {
    # name: (commitment, kind, form values, words the error must show)
    "plan-with-a-bad-date": (BAD_COMMITMENT, "plan",
                             dict(PLAN, actions="Switch the formulary | Medicines lead | 31/12/2024"),
                             ("Actions, line 1: the due date is not a date",)),
    "justification-without-a-reason": (BAD_COMMITMENT, "justification", dict(JUSTIFICATION, reason=""),
                                       ("Reason is empty",)),
}


@pytest.mark.parametrize("name", list(BAD_FORMS))
def test_a_bad_form_shows_the_problem_and_files_nothing(site, visit, name):
    commitment, kind, values, words = BAD_FORMS[name]
    before = filing_rows(site)
    v = visit(GAMMA)
    start_filing(v, commitment, kind)
    (fill_plan if kind == "plan" else fill_justification)(v.page, values)
    assert save_draft(v) == 400
    page = v.page
    assert page.url == site.url + "/plans/new"  # still on the form, not on a filing's page
    summary = page.locator(".nhsuk-error-summary")
    assert summary.is_visible()
    assert summary.get_attribute("role") == "alert"
    text = summary.inner_text()
    assert "There is a problem" in text
    for word in words:
        assert word in text, (word, text)
    # what the analyst typed is kept, and the choices too
    assert page.locator("#commitment").input_value() == commitment
    assert page.locator("#kind").input_value() == kind
    kept = "summary" if kind == "plan" else "alternative"
    assert page.locator(f"#{kept}").input_value() == values[kept]
    shot(page, f"form-error-{name}")
    assert filing_rows(site) == before  # nothing filed, nothing audited
    v.goto("/plans")
    assert not any("anticoagulation-doacs" in " ".join(row) for row in filings_table(v.page))
    v.check()


def test_the_error_summary_links_to_the_field_in_error(site, visit):
    v = visit(GAMMA)
    start_filing(v, BAD_COMMITMENT, "justification")
    fill_justification(v.page, dict(JUSTIFICATION, reason=""))
    assert save_draft(v) == 400
    assert v.page.locator(".nhsuk-error-summary").is_visible()
    assert v.page.locator(".nhsuk-error-summary a[href='#reason']").count() == 1
    assert v.page.locator(".nhsuk-form-group--error #reason").count() == 1
    v.check()


def test_editing_starts_from_what_was_filed(site, visit):
    v = visit(GAMMA)
    start_filing(v, PLAN_COMMITMENT, "plan")
    fill_plan(v.page, PLAN)
    assert save_draft(v) == 200
    filing_id_of(v.page, site)  # saved: on the draft's page
    with v.page.expect_navigation(wait_until="load"):
        v.page.get_by_role("link", name="Edit").click()
    assert v.page.locator("#commitment").input_value() == PLAN_COMMITMENT
    assert v.page.locator("#summary").input_value() == PLAN["summary"]
    assert v.page.locator("#actions").input_value() == PLAN["actions"]
    v.check()


# --- accessibility of the pages without filings ------------------------------------------------------------------


AXE = {"plans-public": (None, "/plans", 200), "plan-form": (GAMMA, "/plans/new", 200),
       "queue": (ADMIN, "/plans/queue", 200), "ratings-search": (None, "/ratings?q=U0&level=stroke-unit", 200),
       "assessments": (None, "/assessments", 200), "not-found": (None, "/nsf/nope", 404),
       "bad-address": (None, "/plans/missing", 422)}


@pytest.mark.parametrize("name", list(AXE))
def test_accessibility_axe(site, visit, name):
    who, path, status = AXE[name]
    v = visit(who)
    v.goto(path, status)
    serious = serious_axe_violations(v.page, name)
    assert not serious, json.dumps(serious, indent=2)
    v.check()


# --- the attainment map -----------------------------------------------------------------------------------------


def test_the_commitment_page_draws_the_attainment_map(site, visit):
    """ICBs by status, with a legend that counts each status as the table beside it does; stroke units as the
    share met or on trajectory in their ICB, on a colour bar."""
    v = visit(None)
    page = v.page
    v.goto("/nsf/stroke/thrombolysis?level=icb")
    page.locator("#attainment-map .main-svg").first.wait_for()
    legend = page.evaluate("document.getElementById('attainment-map').data"
                           ".filter(t => t.showlegend).map(t => t.name)")
    counts = {name.rsplit(" (", 1)[0].lower(): int(name.rsplit("(", 1)[1].rstrip(")")) for name in legend}
    assert list(counts) == ["met", "on trajectory", "not distinguishable", "off trajectory", "missed"]
    statuses = [cell.inner_text().strip().split("\n")[0].replace(" from the", "").strip()
                for cell in page.locator("table.uptake-table tbody tr td:nth-child(2) strong").all()]
    assert statuses and sum(counts.values()) == len(statuses)
    for status, n in counts.items():
        assert statuses.count(status) == n, (status, statuses)
    areas = page.evaluate("document.getElementById('attainment-map').data.filter(t => t.fill === 'toself').length")
    assert areas == 42  # every English ICB is drawn, with or without a result
    shot(page, "commitment-map-icb")
    v.goto("/nsf/stroke/thrombolysis")
    page.locator("#attainment-map .main-svg").first.wait_for()
    assert page.locator("#attainment-map .colorbar").count() == 1
    assert "share of" in page.locator("#attainment-map").inner_text().lower()
    shot(page, "commitment-map-stroke-units")
    v.check()
