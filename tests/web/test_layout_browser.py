"""Tables that fit, or scroll inside their own container, on a desktop and on a phone (Playwright for Python
driving Debian's Chromium at /usr/bin/chromium).

Every page is opened at 1,400 x 900 (a desktop) and at 390 x 844 (a phone), screenshotted into
test-artifacts/web/layout/, and measured in the page:

- the document never scrolls sideways (``document.documentElement.scrollWidth <= innerWidth``);
- every ``<table>`` is inside a scroll region (``.uptake-table-scroll``: ``overflow-x: auto``, keyboard
  focusable with ``tabindex="0"``, ``role="region"`` and a name, the GOV.UK and NHS.UK pattern for a region
  that scrolls), and that region fits inside the page;
- at 1,400 px no table is wider than its scroll region: every column is on screen, none hidden behind a
  scroll bar. On a phone a wide table may scroll inside its region (and only there).

The main pages use the web tests' workspace (tests/web/conftest.py) and are also opened signed in as a
national admin (the innovation pack's tables); the mission pages (National Service Frameworks, ratings,
plans, availability) use the mission tests' small workspace with published ratings (as
tests/test_mission_pages.py builds it).
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest
from browser_support import BackgroundServer, Watched, demo_server, needs_chromium, sign_in

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "web" / "layout"
TESTS = Path(__file__).resolve().parents[1]

pytestmark = needs_chromium

VIEWPORTS = {"desktop": {"width": 1400, "height": 900}, "phone": {"width": 390, "height": 844}}

#: the web tests' workspace: (name, address, signed in as)
PAGES = [
    ("home", "/", None),
    ("innovation-doacs", "/innovations/doacs", None),
    ("innovation-doacs-icb", "/innovations/doacs?indicator=doac-share&level=icb", None),
    ("innovation-dementia", "/innovations/dementia-diagnosis", None),
    ("innovation-narcolepsy", "/innovations/narcolepsy-medicines", None),
    ("innovation-doacs-admin", "/innovations/doacs", "national-admin"),
    ("organisations", "/organisations", None),
    ("organisation-region", "/organisations/Y56", None),
    ("organisation-icb", "/organisations/QMJ", None),
    ("organisation-sub-icb", "/organisations/MJ0?indicator=doac-share", None),
    ("organisation-practice", "/organisations/PMJ00", None),
    ("organisation-trust", "/organisations/RAL?indicator=narcolepsy-newer-share", None),
    ("organisation-sub-icb-admin", "/organisations/MJ0?indicator=doac-share", "national-admin"),
    ("profile-icb", "/organisations/QMJ/profile", None),
    ("profile-icb-practices", "/organisations/QMJ/profile?level=practice", None),
    ("profile-practice", "/organisations/PMJ00/profile", None),
    ("profile-sub-icb-peers", "/organisations/MJ0/profile?benchmark=peers", None),
    ("profile-icb-region", "/organisations/QMJ/profile?benchmark=region", None),
    ("organisation-sub-icb-icb", "/organisations/MJ0?indicator=doac-share&benchmark=icb", None),
    ("compare", "/compare?codes=QMJ,QKK,QSL,QUY", None),
    ("data", "/data", None),
    ("stroke-pathway", "/models/stroke-pathway?scenario=onset", None),
    ("about", "/about", None),
    ("health-and-wealth", "/health-and-wealth", None),
    ("value-across-organisations", "/value-across-organisations", None),
    ("simulator", "/simulator", "national-admin"),
    ("groups", "/groups", "national-admin"),
    ("groups-new", "/groups/new", "national-admin"),
    ("fund", "/fund", None),
    ("fund-admin", "/fund", "national-admin"),
    ("fund-apply", "/fund/apply", "icb-analyst"),
    ("alerts", "/alerts", "national-admin"),
    ("sign-in", "/sign-in", None),
    ("account-admin", "/account", "national-admin"),
    ("admin-users", "/admin/users", "national-admin"),
    ("admin-audit", "/admin/audit", "national-admin"),
    # networks, the Health Innovation Challenge, barriers and adopters (uptake.web.ecosystem)
    ("networks", "/networks?priority=doac-share", None),
    ("network-footprint", "/networks/footprint/QMJ?priority=doac-share", None),
    ("challenge", "/challenge", None),
    ("challenge-new", "/challenge/new", "national-admin"),
    ("barriers", "/barriers", None),
    ("barriers-new", "/barriers/new", "icb-analyst"),
    ("adopters", "/adopters?innovation=doacs&org=MJ0", "icb-analyst"),
    ("adopters-new", "/adopters/new", "provider-lead"),
    ("adopters-near-organisation", "/adopters/near/organisation/MJ0", None),
    ("adopters-near-innovation", "/adopters/near/innovation/doacs", None),
]

#: the mission tests' workspace
MISSION_PAGES = [
    ("nsf-index", "/nsf"),
    ("nsf-framework", "/nsf/stroke"),
    ("nsf-commitment", "/nsf/stroke/thrombolysis"),
    ("nsf-commitment-icb", "/nsf/stroke/thrombolysis?level=icb"),
    ("ratings", "/ratings"),
    ("ratings-search", "/ratings?q=U0&level=stroke-unit"),
    ("rating", "/ratings/stroke-unit/U05"),
    ("plans", "/plans"),
    ("availability", "/availability"),
    ("assessments", "/assessments"),
    ("mission-sign-in", "/sign-in"),
]

#: the frontline people's workspace (the mission's small world, an award decided, a lead, time recorded)
FRONTLINE_PAGES = [
    ("award", "/award"),
    ("award-fairness", "/award/fairness"),
    ("award-nomination", "/award/nominations/1"),
    ("leads", "/leads"),
    ("lead", "/leads/1"),
    ("time-to-innovate", "/time-to-innovate"),
]

#: Measured in the page. A table's container is its nearest ancestor that clips or scrolls sideways.
MEASURE = """() => {
  const width = window.innerWidth;
  const out = {width, scrollWidth: document.documentElement.scrollWidth, tables: []};
  for (const table of document.querySelectorAll('table')) {
    const caption = table.querySelector('caption');
    const name = (caption ? caption.textContent : (table.id || table.className)).trim().replace(/\\s+/g, ' ');
    let box = table.parentElement;
    while (box && box !== document.body) {
      const overflow = getComputedStyle(box).overflowX;
      if (overflow === 'auto' || overflow === 'scroll' || overflow === 'hidden' || overflow === 'clip') break;
      box = box.parentElement;
    }
    const region = box && box !== document.body ? box : null;
    const rect = region ? region.getBoundingClientRect() : null;
    out.tables.push({
      name: name.slice(0, 80),
      tableWidth: Math.ceil(table.getBoundingClientRect().width),
      container: region ? {
        overflowX: getComputedStyle(region).overflowX,
        clientWidth: region.clientWidth,
        scrollWidth: region.scrollWidth,
        left: Math.floor(rect.left), right: Math.ceil(rect.right),
        scrollClass: region.classList.contains('uptake-table-scroll'),
        tabindex: region.getAttribute('tabindex'),
        role: region.getAttribute('role'),
        label: region.getAttribute('aria-label') || region.getAttribute('aria-labelledby'),
      } : null,
    });
  }
  return out;
}"""


def layout_problems(measured: dict, viewport: str) -> list[str]:
    """What is wrong with a page's layout at one viewport (empty when every table fits or scrolls properly)."""
    problems = []
    if measured["scrollWidth"] > measured["width"]:
        problems.append(f"the page is {measured['scrollWidth']} px wide in a {measured['width']} px window")
    for t in measured["tables"]:
        box = t["container"]
        if box is None:
            problems.append(f"table {t['name']!r} ({t['tableWidth']} px) is in no scroll container")
            continue
        if not box["scrollClass"] or box["overflowX"] not in ("auto", "scroll"):
            problems.append(f"table {t['name']!r} is clipped by a container that does not scroll "
                            f"(overflow-x {box['overflowX']})")
        if box["tabindex"] != "0" or box["role"] != "region" or not box["label"]:
            problems.append(f"table {t['name']!r}: its scroll region is not focusable and named "
                            f"(tabindex {box['tabindex']}, role {box['role']}, label {box['label']!r})")
        if box["left"] < 0 or box["right"] > measured["width"]:
            problems.append(f"table {t['name']!r}: its scroll region spans {box['left']}-{box['right']} px, "
                            f"outside the {measured['width']} px window")
        if viewport == "desktop" and max(t["tableWidth"], box["scrollWidth"]) > box["clientWidth"]:
            problems.append(f"table {t['name']!r} is {max(t['tableWidth'], box['scrollWidth'])} px wide in a "
                            f"{box['clientWidth']} px container: columns are cut off at {measured['width']} px")
    return problems


def test_layout_problems_are_found():
    """The check itself: a table wider than its region at 1,400 px, a table in no region, a region with no
    name, and a page that scrolls sideways are each reported; a wide table in a proper region on a phone
    is not."""
    region = {"overflowX": "auto", "clientWidth": 300, "scrollWidth": 600, "left": 10, "right": 310,
              "scrollClass": True, "tabindex": "0", "role": "region", "label": "League table"}
    wide = {"name": "League table", "tableWidth": 600, "container": region}
    assert layout_problems({"width": 390, "scrollWidth": 390, "tables": [wide]}, "phone") == []
    assert "cut off" in layout_problems({"width": 1400, "scrollWidth": 1400, "tables": [wide]}, "desktop")[0]
    loose = {"name": "x", "tableWidth": 100, "container": None}
    assert "no scroll container" in layout_problems({"width": 390, "scrollWidth": 390, "tables": [loose]}, "phone")[0]
    unnamed = {**wide, "container": {**region, "label": None, "scrollWidth": 300}, "tableWidth": 300}
    assert "not focusable and named" in layout_problems({"width": 1400, "scrollWidth": 1400,
                                                          "tables": [unnamed]}, "desktop")[0]
    assert "window" in layout_problems({"width": 390, "scrollWidth": 500, "tables": []}, "phone")[0]


# --- fixtures ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(demo):
    yield from demo_server(demo)


def _mission_support():
    """tests/test_mission_support.py by path (tests/ and tests/web each have a conftest)."""
    spec = importlib.util.spec_from_file_location("uptake_test_mission_support", TESTS / "test_mission_support.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def mission_server(tmp_path_factory):
    from uptake.mission.assessments import add_assessment
    from uptake.mission.demo import NATIONAL_ASSESSMENTS
    from uptake.mission.ratings import compute_ratings, publish_ratings, review_ratings
    from uptake.store import make_engine, session_scope, upgrade
    from uptake.web.app import create_app
    from uptake.workspace import Workspace

    support = _mission_support()
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("UPTAKE_DATABASE_URL", raising=False)
        ws = Workspace.resolve(tmp_path_factory.mktemp("layout-mission") / "ws").ensure()
        store = support.small_store(ws.analytics_path)
        upgrade(ws.database_url)
        engine = support.mission_workflow(make_engine(ws.database_url))
        with session_scope(engine) as session:
            compute_ratings(session, store, who=support.ADMIN)
            review_ratings(session, support.ADMIN, level="stroke-unit")
            publish_ratings(session, support.ADMIN)
            add_assessment(session, support.ADMIN, **NATIONAL_ASSESSMENTS[0])
        engine.dispose()
        app = create_app(ws, secret_key="test-secret-key-" + "x" * 32)
        with BackgroundServer(app) as running:
            yield running


@pytest.fixture(scope="module")
def frontline_server(tmp_path_factory):
    import sys

    sys.path.insert(0, str(TESTS))
    from ecosystem_support import ADMIN, small_world

    from uptake.ecosystem import time as tti
    from uptake.ecosystem.award import all_nominations, current_scheme, decide, nominate, score_nominations
    from uptake.ecosystem.leads import add_contribution, add_lead
    from uptake.mission.results import reading
    from uptake.store import session_scope
    from uptake.web.app import create_app
    from uptake.workspace import Workspace

    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("UPTAKE_DATABASE_URL", raising=False)
        ws = Workspace.resolve(tmp_path_factory.mktemp("layout-frontline") / "ws").ensure()
        engine, store = small_world(ws)
        with session_scope(engine) as session, reading(store) as cur:
            scheme = current_scheme(session)
            for code in ("U01", "U02", "U05", "U11"):
                nominate(session, ADMIN, scheme, {
                    "nominee_name": f"Stroke team of unit {code}", "nominee_kind": "team", "org_code": code,
                    "commitment": "stroke/thrombolysis", "evidence": "A door-to-needle protocol, audited monthly.",
                    "sex": "female", "ethnic_group": "white", "profession": "doctor", "region": "london",
                    "trust_type": "acute"})
            decide(session, ADMIN, scheme, score_nominations(cur, scheme, all_nominations(session, scheme)))
            lead = add_lead(session, ADMIN, {"org_code": "U01", "name": "Dr A Example", "job_title": "Consultant "
                                             "stroke physician and innovation lead", "started_on": "2024-04-01"})
            add_contribution(session, ADMIN, lead.id, {
                "kind": "taught", "innovation": "thrombolysis", "commitment": "stroke/thrombolysis",
                "peer_org_code": "U05", "description": "Taught the door-to-needle protocol over three visits.",
                "occurred_on": "2024-06-01"})
            for code, share in (("U01", "20"), ("U05", "10")):
                tti.record_time(session, ADMIN, {
                    "org_code": code, "year_start": "2025-04-01", "staff_fte": "1500", "staff_source": "NHS "
                    "Workforce Statistics, June 2025", "planned_share": share, "planned_hours": "7.5",
                    "used_share": share, "used_hours": "6"})
        engine.dispose()
        app = create_app(ws, secret_key="test-secret-key-" + "x" * 32)
        with BackgroundServer(app) as running:
            yield running


@pytest.fixture(scope="module")
def contexts(browser, server, demo):
    """contexts(viewport, role) -> a browser context of that size, signed in as the role's demo user (None: the
    public), made once each."""
    made: dict[tuple[str, str | None], object] = {}

    def get(viewport: str, role: str | None):
        key = (viewport, role)
        if key not in made:
            ctx = browser.new_context(viewport=VIEWPORTS[viewport])
            if role is not None:
                page = ctx.new_page()
                sign_in(page, server.url, demo.users[role].email, demo.users[role].password, wait_until="networkidle")
                page.close()
            made[key] = ctx
        return made[key]

    yield get
    for ctx in made.values():
        ctx.close()


def _visit(context, base: str, name: str, address: str, viewport: str) -> None:
    watched = Watched(context, base)
    page = watched.page
    try:
        response = page.goto(base + address, wait_until="networkidle")
        assert response.status == 200, f"{address}: {response.status}"
        for chart in page.locator("[data-chart], [data-map]").all():
            chart.locator(".main-svg").first.wait_for(timeout=15_000)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{name}-{viewport}.png"), full_page=True)
        measured = page.evaluate(MEASURE)
        problems = layout_problems(measured, viewport)
        assert not problems, f"{address} at {measured['width']} px:\n" + "\n".join(problems)
        watched.check()
    finally:
        page.close()


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
@pytest.mark.parametrize("name, address, role", PAGES, ids=[p[0] for p in PAGES])
def test_tables_fit_or_scroll_inside_their_container(server, contexts, name, address, role, viewport):
    _visit(contexts(viewport, role), server.url, name, address, viewport)


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
@pytest.mark.parametrize("name, address", MISSION_PAGES, ids=[p[0] for p in MISSION_PAGES])
def test_mission_tables_fit_or_scroll_inside_their_container(mission_server, browser, name, address, viewport):
    context = browser.new_context(viewport=VIEWPORTS[viewport])
    try:
        _visit(context, mission_server.url, name, address, viewport)
    finally:
        context.close()


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
@pytest.mark.parametrize("name, address", FRONTLINE_PAGES, ids=[p[0] for p in FRONTLINE_PAGES])
def test_frontline_tables_fit_or_scroll_inside_their_container(frontline_server, browser, name, address, viewport):
    context = browser.new_context(viewport=VIEWPORTS[viewport])
    try:
        _visit(context, frontline_server.url, name, address, viewport)
    finally:
        context.close()


#: GET routes that are not pages to check: a redirect, files, the API documentation (Swagger UI, checked in
#: test_browser.py), and the comply-or-justify forms and queue, which need filings made through the forms
#: (test_mission_browser.py): their tables use the same scroll region; and the board pack, a PDF
#: (test_board_pack.py reads its pages back as images)
NOT_PAGES = {"/innovations", "/static/{path:path}", "/assets/{path:path}", "/favicon.ico", "/geo/{level}.json",
             "/docs", "/healthz", "/download/{name}.{fmt}", "/mission/download/{name}.csv", "/plans/new",
             "/plans/queue", "/plans/{filing_id}", "/organisations/{code}/pack.pdf",
             # the frontline people's forms (no tables; each filled in and checked in test_frontline_browser.py)
             # and their downloads (CSV, Excel, the portfolio's PDF)
             "/award/nominate", "/leads/new", "/leads/{lead_id}/contributions/new", "/time-to-innovate/record",
             "/award/download/{name}.{fmt}", "/leads/download/leads.{fmt}", "/leads/{lead_id}/portfolio.{fmt}",
             "/time-to-innovate/download/time.{fmt}",
             # downloads; and a round's page, which needs a round run through the form (test_ecosystem_browser.py
             # checks its layout the same way)
             "/networks/download/{name}.{fmt}", "/barriers/download/{name}.{fmt}", "/adopters/download/{name}.{fmt}",
             "/challenge/{round_id}/download/{name}.{fmt}", "/challenge/{round_id}",
             # a scenario's pages need a simulation run through the form (test_simulator_web.py runs one in
             # Chromium), a group's need a saved group (test_groups.py); their downloads and the job's status
             # fragment are not pages
             "/simulator/{scenario_id}", "/simulator/{scenario_id}/status",
             "/simulator/{scenario_id}/download/{table}.csv", "/simulator/{scenario_id}/download/{table}.xlsx",
             "/groups/{group_id}", "/groups/{group_id}/edit", "/groups/{group_id}/download.csv",
             "/groups/shared/{token}", "/groups/shared/{token}/download.csv",
             # an application's pages need an application made through the form (test_fund_browser.py makes one
             # in Chromium and goes through its review there); the fund's downloads are not pages
             "/fund/applications/{application_id}", "/fund/applications/{application_id}/edit",
             "/fund/download/{table}.{fmt}",
             # the unsubscribe confirm page needs a digest sent through SMTP (test_alerts.py sends one); the
             # download is not a page
             "/alerts/unsubscribe/{token}", "/alerts/download.csv",
             # a group's board pack, a PDF (test_benchmark_packs.py reads its pages back as images)
             "/groups/{group_id}/pack.pdf", "/groups/shared/{token}/pack.pdf"}


def _page_paths(routes, prefix=""):
    """The app's GET paths outside the API (walking included routers)."""
    for route in routes:
        if hasattr(route, "original_router"):  # FastAPI's included router
            yield from _page_paths(route.original_router.routes, prefix + route.include_context.prefix)
        elif hasattr(route, "methods") and hasattr(route, "path"):
            if "GET" in (route.methods or ()) and not (prefix + route.path).startswith("/api/"):
                yield prefix + route.path
        elif hasattr(route, "routes"):
            yield from _page_paths(route.routes, prefix + getattr(route, "path", ""))


def test_every_page_is_covered(server):
    """Every page of the app is in one of the lists above (or named in NOT_PAGES, with the reason), so a new
    page cannot skip the layout check."""
    covered = ({re.sub(r"\?.*", "", address) for _, address, _ in PAGES} | {a for _, a in MISSION_PAGES}
               | {a for _, a in FRONTLINE_PAGES})
    paths = set(_page_paths(server.server.config.app.routes))
    assert {"/", "/organisations/{code}", "/nsf/{framework_id}/{commitment_id}", "/availability"} <= paths
    missing = []
    for path in sorted(paths - NOT_PAGES):
        pattern = re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", path) + "$")
        if not any(pattern.match(address) for address in covered):
            missing.append(path)
    assert not missing, f"pages with no layout check: {missing}"
