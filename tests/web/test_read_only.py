"""No web request opens the workspace's analytics store file: pages, downloads and the JSON API, the mission's
included, read the in-memory snapshot (uptake.web.snapshot), so ``uptake compute`` or ``uptake ratings
compute`` can write the file while the site serves (DuckDB lets a process write a file only while no other
process has it open, even read-only).

Every GET route of the app is requested, anonymously and as a national admin, on two workspaces: the
mission's small one (frameworks, attainment, ratings, a plan) and the web tests' one (every pipeline table),
with ``duckdb.connect`` and ``AnalyticsStore`` watched for the analytics file. A route this test has no
address for fails it, so a new route is covered when it is added.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from uptake.analytics.store import AnalyticsStore
from uptake.web import tables as web_tables

TESTS = Path(__file__).resolve().parents[1]
MISSION_DOWNLOADS = ("attainment", "ratings", "watch-list", "missed-opportunities", "gaps", "assessments", "filings")
PLAN = {
    "summary": "Every unit in the footprint adopts the benchmark hyperacute pathway.",
    "actions": [{"description": "Pre-alert from ambulance to CT", "owner": "Stroke network manager",
                 "due": "2022-06-30"}],
    "funding": {"amount_pounds": 450000, "source": "ICB transformation budget", "years": "2022/23-2023/24"},
    "support": "Peer support from the best unit in the footprint.",
    "expected_trajectory": [{"date": "2020-12-31", "value": 0.15}, {"date": "2021-12-31", "value": 0.17}],
}


def _mission_support():
    """tests/test_mission_support.py by path (tests/ and tests/web each have a conftest, so a plain import
    depends on which directories pytest happened to put on sys.path)."""
    spec = importlib.util.spec_from_file_location("uptake_test_mission_support_ro", TESTS / "test_mission_support.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _walk(routes) -> Iterator:
    for route in routes:
        if hasattr(route, "original_router"):  # FastAPI keeps included routers as branches
            yield from _walk(route.original_router.routes)
        else:
            yield route


def _addresses(app, v: dict[str, str]) -> list[str]:
    """Addresses for every GET route of the app, with the site's values ``v`` in the path and the query."""
    ind, lv, org, icb, inn, filing = v["indicator"], v["level"], v["org"], v["icb"], v["innovation"], v["filing"]
    table_query = f"indicator={ind}&level={lv}&code={org}&codes={org},{icb}&near=NW3"
    known = {
        "/static/{path:path}": ["/static/none.css"],
        "/assets/{path:path}": ["/assets/none.woff2"],
        "/geo/{level}.json": ["/geo/icb.json"],
        "/api/v1/organisations": ["/api/v1/organisations", f"/api/v1/organisations?q={org}"],
        "/api/v1/organisations/{code}": [f"/api/v1/organisations/{org}", "/api/v1/organisations/NOPE"],
        "/api/v1/innovations/{innovation_id}": [f"/api/v1/innovations/{inn}"],
        "/api/v1/indicators/{indicator_id}": [f"/api/v1/indicators/{ind}"],
        "/api/v1/values": [f"/api/v1/values?indicator={ind}", f"/api/v1/values?indicator={ind}&org_code={org}"],
        "/api/v1/funnel": [f"/api/v1/funnel?indicator={ind}&level={lv}"],
        "/api/v1/spc": [f"/api/v1/spc?indicator={ind}&org_code={org}"],
        "/api/v1/peers": [f"/api/v1/peers?org_code={org}"],
        "/api/v1/opportunity": [f"/api/v1/opportunity?indicator={ind}"],
        "/api/v1/opportunity/totals": [f"/api/v1/opportunity/totals?indicator={ind}"],
        "/api/v1/adoption": [f"/api/v1/adoption?indicator={ind}"],
        "/api/v1/changes": ["/api/v1/changes", f"/api/v1/changes?indicator={ind}&history=true"],
        "/api/v1/equity": [f"/api/v1/equity?indicator={ind}"],
        "/api/v1/improvement": [f"/api/v1/improvement?indicator={ind}&level={lv}"],
        "/api/v1/nearest": ["/api/v1/nearest?q=NW3", "/api/v1/nearest?q=ZZ9"],
        "/innovations/{innovation_id}": [f"/innovations/{inn}", f"/innovations/{inn}?indicator={ind}&level={lv}"],
        "/organisations": ["/organisations", f"/organisations?q={org}", "/organisations?near=NW3+2QG"],
        "/organisations/{code}": [f"/organisations/{org}", f"/organisations/{org}?indicator={ind}",
                                  f"/organisations/{icb}"],
        "/organisations/{code}/profile": [f"/organisations/{org}/profile", f"/organisations/{icb}/profile"],
        "/organisations/{code}/pack.pdf": [f"/organisations/{icb}/pack.pdf"],
        "/api/v1/organisations/{code}/profile": [f"/api/v1/organisations/{org}/profile"],
        "/api/v1/organisations/{code}/rug": [f"/api/v1/organisations/{icb}/rug"],
        "/api/v1/organisations/{code}/deciles": [f"/api/v1/organisations/{org}/deciles?indicator={ind}"],
        "/compare": [f"/compare?codes={org},{icb}&indicator={ind}"],
        "/download/{name}.{fmt}": [f"/download/{name}.csv?{table_query}" for name in web_tables.BUILDERS],
        "/api/v1/nsf/{framework_id}": ["/api/v1/nsf/stroke"],
        "/api/v1/nsf/{framework_id}/attainment": ["/api/v1/nsf/stroke/attainment",
                                                  "/api/v1/nsf/stroke/attainment?commitment=thrombolysis&level=icb"],
        "/api/v1/nsf/{framework_id}/progress": ["/api/v1/nsf/stroke/progress",
                                                "/api/v1/nsf/stroke/progress?by_region=true"],
        "/api/v1/ratings": ["/api/v1/ratings", "/api/v1/ratings?status=all"],
        "/api/v1/ratings/missed-opportunities": ["/api/v1/ratings/missed-opportunities",
                                                 "/api/v1/ratings/missed-opportunities?level=stroke-unit"],
        "/api/v1/plans/{filing_id}": [f"/api/v1/plans/{filing}"],
        "/api/v1/assessments/gaps": ["/api/v1/assessments/gaps", "/api/v1/assessments/gaps?include_caught_up=true"],
        "/nsf/{framework_id}": ["/nsf/stroke"],
        "/nsf/{framework_id}/{commitment_id}": ["/nsf/stroke/thrombolysis", "/nsf/stroke/thrombolysis?level=icb",
                                                "/nsf/stroke/thrombolysis?level=stroke-unit"],
        "/ratings": ["/ratings", "/ratings?level=stroke-unit"],
        "/ratings/{level}/{org_code}": ["/ratings/stroke-unit/U05", "/ratings/icb/QAA"],
        "/plans/{filing_id}": [f"/plans/{filing}"],
        "/availability": ["/availability", "/availability?include_caught_up=true"],
        "/mission/download/{name}.csv": [f"/mission/download/{name}.csv" for name in MISSION_DOWNLOADS],
        # the frontline people's pages (uptake.web.ecosystem.award, leads, time_to_innovate)
        "/award/nominations/{nomination_id}": ["/award/nominations/1"],
        "/award/download/{name}.{fmt}": ["/award/download/awards.csv", "/award/download/fairness.xlsx",
                                         "/award/download/nominations.csv"],
        "/leads/{lead_id}": ["/leads/1"],
        "/leads/{lead_id}/contributions/new": ["/leads/1/contributions/new"],
        "/leads/download/leads.{fmt}": ["/leads/download/leads.csv"],
        "/leads/{lead_id}/portfolio.{fmt}": ["/leads/1/portfolio.csv"],
        "/time-to-innovate/download/time.{fmt}": ["/time-to-innovate/download/time.xlsx"],
        "/api/v1/leads/{lead_id}": ["/api/v1/leads/1"],
        # networks, the Health Innovation Challenge, barriers and adopters (uptake.web.ecosystem)
        "/networks": ["/networks", f"/networks?priority={ind}"],
        "/networks/footprint/{code}": [f"/networks/footprint/{icb}?priority={ind}"],
        "/networks/download/{name}.{fmt}": [f"/networks/download/summary.csv?priority={ind}",
                                            f"/networks/download/members.xlsx?priority={ind}&code={icb}"],
        "/api/v1/networks/{footprint}": [f"/api/v1/networks/{icb}?priority={ind}"],
        "/challenge/{round_id}": ["/challenge/1"],
        "/challenge/{round_id}/download/{name}.{fmt}": ["/challenge/1/download/partnerships.csv"],
        "/api/v1/challenge/rounds/{round_id}": ["/api/v1/challenge/rounds/1"],
        "/barriers/download/{name}.{fmt}": [f"/barriers/download/{n}.csv" for n in ("assessments", "trends",
                                                                                     "association")],
        "/adopters": ["/adopters", f"/adopters?innovation={inn}&org={org}"],
        "/adopters/near/organisation/{code}": [f"/adopters/near/organisation/{org}"],
        "/adopters/near/innovation/{innovation}": [f"/adopters/near/innovation/{inn}"],
        "/adopters/download/{name}.{fmt}": ["/adopters/download/log.csv", f"/adopters/download/cases.csv?innovation={inn}",
                                            f"/adopters/download/near.csv?innovation={inn}&org={org}"],
        "/api/v1/adopters/near": [f"/api/v1/adopters/near?innovation={inn}&org={org}"],
        # the policy simulator (uptake.web.models.simulator): scenario 1 may not exist (a 404 is fine)
        "/api/v1/scenarios/{scenario_id}": ["/api/v1/scenarios/1"],
        "/simulator/{scenario_id}": ["/simulator/1"],
        "/simulator/{scenario_id}/status": ["/simulator/1/status"],
        "/simulator/{scenario_id}/download/{table}.csv": ["/simulator/1/download/summary.csv"],
        "/simulator/{scenario_id}/download/{table}.xlsx": ["/simulator/1/download/targets.xlsx"],
        # custom groups (uptake.web.groups): none saved in these workspaces, so these answer 404
        "/groups/{group_id}": ["/groups/1"],
        "/groups/{group_id}/edit": ["/groups/1/edit"],
        "/groups/{group_id}/download.csv": ["/groups/1/download.csv"],
        "/groups/shared/{token}": ["/groups/shared/nope"],
        "/groups/shared/{token}/download.csv": ["/groups/shared/nope/download.csv"],
        "/groups/{group_id}/pack.pdf": ["/groups/1/pack.pdf"],
        "/groups/shared/{token}/pack.pdf": ["/groups/shared/nope/pack.pdf"],
        "/api/v1/groups/{group_id}": ["/api/v1/groups/1"],
        "/api/v1/groups/shared/{token}": ["/api/v1/groups/shared/nope"],
        # the transformation fund (uptake.web.fund): application 1 may not exist (a 404 is fine)
        "/fund/applications/{application_id}": ["/fund/applications/1"],
        "/fund/applications/{application_id}/edit": ["/fund/applications/1/edit"],
        "/fund/download/{table}.{fmt}": ["/fund/download/decisions.csv", "/fund/download/years.xlsx"],
        "/api/v1/fund/applications/{application_id}": ["/api/v1/fund/applications/1"],
        # alerts (uptake.web.alerts): no digest sent in these workspaces, so this answers 404
        "/alerts/unsubscribe/{token}": ["/alerts/unsubscribe/nope"],
    }
    out: list[str] = []
    for route in _walk(app.routes):
        if "GET" not in (getattr(route, "methods", None) or set()):
            continue
        if route.path in known:
            out += known[route.path]
        else:
            assert "{" not in route.path, f"test_read_only has no address for {route.path}: add one"
            out.append(route.path)
    return out


def _watch(monkeypatch: pytest.MonkeyPatch, path: Path) -> list[str]:
    """Record every opening of the DuckDB file at ``path`` (and every read-write AnalyticsStore on it)."""
    target = path.resolve()
    opened: list[str] = []
    real_connect = duckdb.connect
    real_init = AnalyticsStore.__init__

    def is_target(database) -> bool:
        return str(database) not in ("", ":memory:") and Path(str(database)).resolve() == target

    def connect(database=":memory:", read_only=False, **kwargs):
        if is_target(database):
            opened.append(f"duckdb.connect({str(database)!r}, read_only={read_only})")
        return real_connect(database, read_only=read_only, **kwargs)

    def init(self, store_path, *, read_only=False):
        if is_target(store_path) and not read_only:
            opened.append(f"AnalyticsStore({str(store_path)!r}) (read-write)")
        real_init(self, store_path, read_only=read_only)

    monkeypatch.setattr(duckdb, "connect", connect)
    monkeypatch.setattr(AnalyticsStore, "__init__", init)
    return opened


def _request_everything(app, clients: dict[str, dict[str, str]], values: dict[str, str]) -> tuple[int, set]:
    """GET every address as each client: how many requests, and those that failed with a server error."""
    addresses = _addresses(app, values)
    errors = set()
    with TestClient(app, base_url="http://testserver", raise_server_exceptions=False) as client:
        for who, headers in clients.items():
            for address in addresses:
                if client.get(address, headers=headers, follow_redirects=False).status_code >= 500:
                    errors.add((who, address))
    return len(addresses) * len(clients), errors


def _canary(path: Path, opened: list[str]) -> None:
    """The watch sees an opening (so the assertions above could fail)."""
    before = len(opened)
    with AnalyticsStore(path, read_only=True).connect():
        pass
    assert len(opened) == before + 1, opened


# --- the mission's workspace -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mission_site(tmp_path_factory):
    from uptake.mission.assessments import add_assessment
    from uptake.mission.demo import NATIONAL_ASSESSMENTS
    from uptake.mission.permissions import Who
    from uptake.mission.plans import save_filing, transition
    from uptake.mission.ratings import compute_ratings, publish_ratings, review_ratings
    from uptake.store import add_user, issue_api_token, make_engine, session_scope, upgrade
    from uptake.web.app import create_app
    from uptake.workspace import Workspace

    support = _mission_support()
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("UPTAKE_DATABASE_URL", raising=False)
        ws = Workspace.resolve(tmp_path_factory.mktemp("read-only") / "ws").ensure()
        store = support.small_store(ws.analytics_path)
        upgrade(ws.database_url)
        engine = support.mission_workflow(make_engine(ws.database_url))
        with session_scope(engine) as session:
            admin = add_user(session, "admin@england.nhs.uk", "Admin", "national-admin", None, actor="test")
            token = issue_api_token(session, admin, "test", actor="test")
            compute_ratings(session, store, who=support.ADMIN)
            review_ratings(session, support.ADMIN, level="stroke-unit")
            publish_ratings(session, support.ADMIN)
            add_assessment(session, support.ADMIN, **NATIONAL_ASSESSMENTS[0])
        with session_scope(engine) as session:
            analyst = Who(role="icb-analyst", email="analyst@alpha.nhs.uk", scope_org_code="QAA")
            filing = save_filing(session, analyst, "stroke", "thrombolysis", "QAA", "plan", PLAN)
            transition(session, analyst, filing.id, "submit")
            filing_id = filing.id
        engine.dispose()
        app = create_app(ws, secret_key="test-secret-key-" + "x" * 32)
        yield app, ws.analytics_path, {"authorization": f"Bearer {token}"}, filing_id


def test_no_mission_or_web_request_opens_the_store(mission_site, monkeypatch):
    app, path, admin, filing_id = mission_site
    opened = _watch(monkeypatch, path)
    values = {"indicator": "thrombolysis-rate", "level": "stroke-unit", "org": "U05", "icb": "QAA",
              "innovation": "thrombolysis", "filing": str(filing_id)}
    requested, errors = _request_everything(app, {"anonymous": {}, "national admin": admin}, values)
    assert requested > 150
    assert opened == [], f"web requests opened the analytics store: {opened}"
    assert errors == set()  # every request ran to its answer
    _canary(path, opened)


# --- the web tests' workspace ------------------------------------------------------------------------------


def test_no_request_opens_the_store_of_the_web_workspace(demo, fresh_app, monkeypatch):
    from uptake.store import issue_api_token, make_engine, session_scope
    from uptake.store.models import User

    engine = make_engine(demo.workspace.database_url)
    try:
        with session_scope(engine) as session:
            user = session.scalars(select(User).where(User.email == demo.users["national-admin"].email)).one()
            token = issue_api_token(session, user, "read-only test", actor="test")
    finally:
        engine.dispose()
    opened = _watch(monkeypatch, demo.workspace.analytics_path)
    values = {"indicator": "doac-share", "level": "sub-icb", "org": "MJ0", "icb": "QMJ", "innovation": "doacs",
              "filing": "1"}
    admin = {"authorization": f"Bearer {token}"}
    # A national admin's rating page lists draft ratings; with no rating ever computed (as in this workspace)
    # it answers 404 like everyone's, not 500.
    failing: frozenset = frozenset()
    requested, errors = _request_everything(fresh_app, {"anonymous": {}, "national admin": admin}, values)
    assert requested > 150
    assert opened == [], f"web requests opened the analytics store: {opened}"
    assert errors == failing  # every other request ran to its answer
    _canary(demo.workspace.analytics_path, opened)
