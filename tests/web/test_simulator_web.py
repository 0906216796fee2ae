"""The policy simulator on the web, over the real DOAC series: a national analyst composes a scenario in the
browser (Chromium), runs it as a background job, watches its progress and compares it with the base on one
chart and one table; the saved scenario is listed; the API queues and reads scenarios; the downloads; bad
input gets the error summary and nothing is saved; other roles are refused."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import func, select

from browser_support import BackgroundServer, Watched
from web_support import csrf_of, sign_in
from uptake.models.simulation.example import doac_store
from uptake.reference import load_reference
from uptake.store import make_engine, session_scope, upgrade
from uptake.store.repository import sync_reference
from uptake.store.scenario_models import SimulationScenario
from uptake.web.accounts import create_user
from uptake.web.app import create_app
from uptake.web.security import RateLimiter
from uptake.workspace import Workspace

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")
CHROMIUM = Path("/usr/bin/chromium")
PASSWORD = "correct horse battery staple 42"
ADMIN, ANALYST = "analyst@england.example", "icb@icb.example"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("UPTAKE_DATABASE_URL", raising=False)
        ws = Workspace.resolve(tmp_path_factory.mktemp("simulator-web") / "ws").ensure()
        doac_store(ws.analytics_path)
        upgrade(ws.database_url)
        engine = make_engine(ws.database_url)
        reference = load_reference().current()
        with session_scope(engine) as session:
            sync_reference(session, reference.organisations, reference.relationships)
        with session_scope(engine) as session:
            create_user(session, email=ADMIN, name="Analyst", role="national-admin", password=PASSWORD, actor="test")
            create_user(session, email=ANALYST, name="Icb", role="icb-analyst", password=PASSWORD,
                        scope_org_code="QHM", actor="test")
        app = create_app(ws, secret_key="test-secret-key-" + "x" * 32)
        app.state.web.signin_by_address = RateLimiter(10_000, 300)
        yield app, engine
        engine.dispose()


def _count(engine) -> int:
    with session_scope(engine) as session:
        return session.scalar(select(func.count()).select_from(SimulationScenario))


def _wait(client: TestClient, scenario_id: int, seconds: float = 120) -> dict:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        body = client.get(f"/api/v1/scenarios/{scenario_id}").json()
        if body["status"] in ("done", "failed"):
            return body
        time.sleep(0.3)
    raise AssertionError(f"scenario {scenario_id} did not finish")


def test_api_queues_a_scenario_and_serves_its_tables(site) -> None:
    app, engine = site
    with TestClient(app) as client:
        assert client.get("/api/v1/scenarios").status_code == 401
        sign_in(client, ADMIN, PASSWORD)
        token = csrf_of(client.get("/simulator").text)
        scenario = {"name": "API mission", "indicator": "doac-share", "level": "sub-icb", "runs": 20, "months": 24,
                    "levers": [{"lever": "mission-mode", "from": "2022-10", "to": "2023-09"}]}
        assert client.post("/api/v1/scenarios", json=scenario).status_code == 403        # no CSRF header
        answer = client.post("/api/v1/scenarios", json=scenario, headers={"x-csrf-token": token})
        assert answer.status_code == 202, answer.text
        body = _wait(client, answer.json()["id"])
        assert body["status"] == "done", body["message"]
        summary = body["result"]["summary"][0]
        assert summary["lives_mean"] > 0 and summary["cost_pounds_mean"] == 24_000_000
        assert {t["arm"] for t in body["result"]["targets"]} == {"base", "scenario"}
        listed = client.get("/api/v1/scenarios").json()
        assert listed["items"][0]["name"] == "API mission"
        csv = client.get(f"/simulator/{body['id']}/download/targets.csv")
        assert csv.status_code == 200 and csv.text.splitlines()[0].startswith("scenario,arm,target")
        book = load_workbook(io.BytesIO(client.get(f"/simulator/{body['id']}/download/trajectories.xlsx").content))
        assert book.worksheets[0].max_row == 2 * 25 + 1
        # bad input: a clear 400 and nothing saved
        before = _count(engine)
        bad = dict(scenario, levers=[{"lever": "fund", "where": ["all"], "from": "2022-10", "to": "2023-09",
                                      "pounds": 2e10}])
        refused = client.post("/api/v1/scenarios", json=bad, headers={"x-csrf-token": token})
        assert refused.status_code == 400 and "over the transformation fund" in refused.text
        assert _count(engine) == before
        schema = client.get("/api/v1/openapi.json").json()
        assert "/api/v1/scenarios" in schema["paths"] and "/api/v1/scenarios/{scenario_id}" in schema["paths"]


def test_a_scenario_left_running_by_a_stopped_server_is_run_again(site) -> None:
    """A server that stops mid-run leaves its row "running"; the next server's jobs queue it again and run it
    (seeded: the result is the one it would have given); a row already claimed is not run twice."""
    from uptake.models.simulation import parse_scenario
    from uptake.store.models import utcnow
    from uptake.web.models.simulator_jobs import SimulatorJobs

    app, engine = site
    spec = parse_scenario({"name": "Left running", "indicator": "doac-share", "level": "sub-icb", "runs": 10,
                           "months": 12, "levers": [{"lever": "mission-mode", "from": "2022-10", "to": "2023-03"}]},
                          "test").as_dict()
    with session_scope(engine) as session:
        row = SimulationScenario(name="Left running", indicator_id="doac-share", level="sub-icb", spec=spec,
                                 status="running", progress=0.4, created_by=ADMIN, created_at=utcnow())
        session.add(row)
        session.flush()
        left = row.id
    jobs = SimulatorJobs(app.state.web)
    try:
        deadline = time.monotonic() + 120
        while (found := jobs.get(left)).status not in ("done", "failed"):
            assert time.monotonic() < deadline, "the interrupted scenario was not run again"
            time.sleep(0.3)
        assert found.status == "done", found.message
        assert found.result["summary"][0]["scenario"] == "Left running"
        jobs._run(left)  # a second claim of a finished row runs nothing
        assert jobs.get(left).status == "done"
    finally:
        jobs.pool.shutdown(wait=True)


def test_bad_form_input_gets_the_error_summary_and_nothing_is_saved(site) -> None:
    app, engine = site
    with TestClient(app) as client:
        sign_in(client, ADMIN, PASSWORD)
        token = csrf_of(client.get("/simulator").text)
        before = _count(engine)
        for fields, message in (
            ({"use_fund": "1", "where_fund": "NOPE1", "from_fund": "2022-10", "to_fund": "2023-03", "amount_fund": "1000"},
             "unknown organisation &#39;NOPE1&#39;"),
            ({"use_incentive": "1", "from_incentive": "2022-10", "to_incentive": "2023-03", "amount_incentive": "-4"},
             "negative"),
            ({"use_network": "1", "from_network": "2019-01", "to_network": "2019-06"}, "outside the simulated NSF period"),
        ):
            page = client.post("/simulator", data={"csrf_token": token, "name": "Bad", "indicator": "doac-share",
                                                   "level": "sub-icb", "runs": "5", "months": "12", **fields})
            assert page.status_code == 400 and "There is a problem" in page.text and message in page.text, message
        assert _count(engine) == before


def test_other_roles_are_refused(site) -> None:
    app, _ = site
    with TestClient(app) as client:
        assert client.get("/simulator").status_code == 401
        sign_in(client, ANALYST, PASSWORD)
        assert client.get("/simulator").status_code == 403
        assert client.get("/api/v1/scenarios").status_code == 403


@pytest.fixture(scope="module")
def browser():
    from browser_support import launch_chromium

    yield from launch_chromium(CHROMIUM)


def test_compose_run_and_compare_in_the_browser(site, browser) -> None:
    app, _ = site
    with BackgroundServer(app) as server:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        watched = Watched(context, server.url)
        page = watched.page
        page.goto(server.url + "/sign-in?next=/simulator", wait_until="load")
        page.fill("#email", ADMIN)
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(server.url + "/simulator")
        page.fill("#name", "Fund the North East")
        page.select_option("#level", "sub-icb")
        page.fill("#runs", "30")
        page.fill("#months", "30")
        page.check("#use_fund")
        page.fill("#where_fund", "icb:QHM")
        page.fill("#from_fund", "2022-10")
        page.fill("#to_fund", "2024-09")
        page.fill("#amount_fund", "50000000")
        page.check("#use_ringfenced-time")
        page.fill("#where_ringfenced-time", "all")
        page.fill("#from_ringfenced-time", "2023-01")
        page.fill("#to_ringfenced-time", "2023-12")
        page.fill("#amount_ringfenced-time", "0.1")
        page.click("#run-scenario")
        page.wait_for_url(server.url + "/simulator/*")
        # the job runs in the background; HTMX polls its status and reloads the page when it is done
        page.wait_for_selector("#comparison-table", timeout=120_000)
        table = page.locator("#comparison-table").inner_text()
        for words in ("chance of meeting the deadline 2025-03-31", "Lives saved", "Cost per life saved",
                      "Base (no lever)"):
            assert words in table, words
        page.wait_for_selector("#simulator-chart svg", timeout=30_000)   # the chart drawn from its spec
        page.goto(server.url + "/simulator", wait_until="load")
        assert "Fund the North East" in page.locator("#saved-scenarios").inner_text()
        watched.check()
        context.close()
