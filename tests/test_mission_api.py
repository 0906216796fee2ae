"""The mission's JSON API on a small workspace, mounted on a bare FastAPI app whose `state.web` gives the
engine, the workspace and the principal (as uptake.web.app.Web does): what each role may read and write."""

from __future__ import annotations

import json

from pathlib import Path
from types import SimpleNamespace

import pytest
from fastapi import FastAPI, HTTPException, Request
from fastapi.testclient import TestClient
from test_mission_plans import JUSTIFICATION, PLAN
from test_mission_support import ADMIN, mission_workflow, small_store

from uptake.web.mission.api import router
from uptake.mission.demo import NATIONAL_ASSESSMENTS
from uptake.mission.ratings import compute_ratings, publish_ratings, review_ratings
from uptake.store import session_scope
from uptake.web.snapshot import SnapshotHolder
from uptake.web.state import LRUCache
from uptake.workspace import Workspace

PEOPLE = {
    "reviewer@england.nhs.uk": SimpleNamespace(role="national-admin", email="reviewer@england.nhs.uk",
                                               scope_org_code=None, scope_innovation=None,
        signed_in=True, cache_key="reviewer@england.nhs.uk"),
    "analyst@alpha.nhs.uk": SimpleNamespace(role="icb-analyst", email="analyst@alpha.nhs.uk", scope_org_code="QAA",
                                            scope_innovation=None,
        signed_in=True, cache_key="analyst@alpha.nhs.uk"),
    "analyst@beta.nhs.uk": SimpleNamespace(role="icb-analyst", email="analyst@beta.nhs.uk", scope_org_code="QBB",
                                           scope_innovation=None,
        signed_in=True, cache_key="analyst@beta.nhs.uk"),
    "lead@unit.nhs.uk": SimpleNamespace(role="provider-lead", email="lead@unit.nhs.uk", scope_org_code="U01",
                                        scope_innovation=None,
        signed_in=True, cache_key="lead@unit.nhs.uk"),
}
PUBLIC = SimpleNamespace(role="public", email=None, scope_org_code=None, scope_innovation=None, signed_in=False,
                         cache_key="")


class StubWeb:
    """The parts of uptake.web.app.Web the router uses (the workflow database, the workspace and the results
    snapshot the router reads, as the web app's pages do); the test's bearer token is the user's email."""

    def __init__(self, engine, workspace: Workspace):
        self.engine = engine
        self.workspace = workspace
        self.snapshots = SnapshotHolder(workspace.analytics_path)
        self.cache = LRUCache(16 * 1024 * 1024)  # the public answers' cache, as the web app's

    def fresh_cache(self) -> LRUCache:
        return self.cache

    async def principal_async(self, request: Request):
        return self.principal(request)

    async def shared(self, key: str, read):
        return read()

    async def variant_stamp(self, variant, version=None):
        return variant()

    def principal(self, request: Request):
        header = request.headers.get("authorization")
        if header is not None:
            person = PEOPLE.get(header.removeprefix("Bearer "))
            if person is None:  # as uptake.web.app.Web does for an unknown token
                raise HTTPException(401, "the API token is unknown or revoked")
            return person
        if "x-test-session" in request.headers:  # a signed-in browser session (without a CSRF token)
            return PEOPLE[request.headers["x-test-session"]]
        return PUBLIC


@pytest.fixture
def client(workflow_engine, tmp_path: Path) -> TestClient:
    engine = mission_workflow(workflow_engine)
    ws = Workspace(root=tmp_path / "ws")
    ws.analytics_path.parent.mkdir(parents=True)
    store = small_store(ws.analytics_path)
    with session_scope(engine) as session:
        compute_ratings(session, store, who=ADMIN)
        review_ratings(session, ADMIN, level="stroke-unit")
        publish_ratings(session, ADMIN)
    app = FastAPI()
    app.include_router(router)
    app.state.web = StubWeb(engine, ws)
    return TestClient(app)


def as_(email: str) -> dict[str, str]:
    return {"authorization": f"Bearer {email}"}


def test_frameworks_attainment_progress(client: TestClient) -> None:
    frameworks = client.get("/api/v1/nsf").json()
    assert [f["id"] for f in frameworks] == ["cancer", "cardiovascular-disease", "dementia", "stroke"]
    stroke = client.get("/api/v1/nsf/stroke").json()
    assert stroke["definition"]["commitments"][0]["target"] == 0.2
    assert stroke["versions"][0]["changes"]["first_version"] is True
    assert client.get("/api/v1/nsf/nope").status_code == 404
    rows = client.get("/api/v1/nsf/stroke/attainment", params={"level": "stroke-unit", "per_page": 5}).json()
    assert rows["total"] == 36 and len(rows["items"]) == 5 and rows["items"][0]["period"] == "2019-01-01"
    progress = client.get("/api/v1/nsf/stroke/progress", params={"level": "icb"}).json()
    assert {p["status"] for p in progress} <= {"met", "on-trajectory", "not-distinguishable", "off-trajectory", "missed"}
    assert sum(p["organisations"] for p in progress) == 9


def test_attainment_pages_cut_in_sql_are_the_whole_ordered_table_in_slices(client: TestClient) -> None:
    """/nsf/{id}/attainment and /ratings/missed-opportunities read one page in SQL (issue 17: never the whole
    framework per request); their pages, put together, are the slow reference: every row, ordered, sliced."""
    from uptake.results import read

    web = client.app.state.web
    with web.snapshots.cursor() as (_, cur):
        whole = read.attainment.attainment(cur, framework="stroke", ordered=True)
        missed = read.attainment.missed_opportunities(cur, ordered=True)
    for path, reference in (("/api/v1/nsf/stroke/attainment", whole),
                            ("/api/v1/ratings/missed-opportunities", missed)):
        got: list[tuple] = []
        for page in range(1, 100):
            answer = client.get(path, params={"page": page, "per_page": 7}).json()
            assert answer["total"] == len(reference) and answer["pages"] == -(-len(reference) // 7)
            if not answer["items"]:
                break
            got += [(r["commitment"], r["level"], r["org_code"], r["period"]) for r in answer["items"]]
        expected = [(r.commitment, r.level, r.org_code, r.period.date().isoformat() if hasattr(r.period, "date")
                     else str(r.period)) for r in reference.itertuples()]
        assert len(reference) > 7 and got == expected, path


def test_rating_pages_cut_in_sql_are_the_whole_table_in_slices(client: TestClient) -> None:
    """/api/v1/ratings reads one page in SQL and counts in SQL (issue 17: not every rating with its trace per
    request); its pages, put together, are the whole table (ratings_table, unpaged) in order, for the public's
    published ratings and for a national admin's every rating of a run."""
    from uptake.mission.permissions import ANYONE
    from uptake.mission.ratings import ratings_table

    web = client.app.state.web
    admin = as_("reviewer@england.nhs.uk")
    for params, headers, acting in (({}, {}, ANYONE), ({"status": "all"}, admin, ADMIN)):
        with session_scope(web.engine) as session, web.snapshots.cursor() as (_, shown):
            whole = ratings_table(session, acting, status=params.get("status", "published"), results=shown)
        expected = [(r["org_code"], r["level"], str(r["period"]), r["rating"], r["run_id"], r["status"])
                    for r in whole.to_dict("records")]
        got: list[tuple] = []
        for page in range(1, 100):
            answer = client.get("/api/v1/ratings", params={**params, "page": page, "per_page": 5}, headers=headers).json()
            assert answer["total"] == len(expected) and answer["pages"] == -(-len(expected) // 5)
            if not answer["items"]:
                break
            got += [(r["org_code"], r["level"], r["period"], r["rating"], r["run_id"], r["status"])
                    for r in answer["items"]]
        assert len(expected) > 5 and got == expected, params


def test_only_published_ratings_are_public(client: TestClient) -> None:
    public = client.get("/api/v1/ratings").json()
    assert public["total"] == 36 and {r["level"] for r in public["items"]} == {"stroke-unit"}
    assert public["items"][0]["trace"]["rule_set"]["id"] == "innovation-ratings"
    assert client.get("/api/v1/ratings", params={"status": "draft"}).status_code == 403
    drafts = client.get("/api/v1/ratings", params={"status": "draft"}, headers=as_("reviewer@england.nhs.uk")).json()
    assert drafts["total"] == 13
    assert client.get("/api/v1/ratings", params={"status": "draft"}, headers=as_("analyst@alpha.nhs.uk")).status_code == 403
    assert {r["org_code"] for r in client.get("/api/v1/ratings/watch-list").json()} == {"U05", "03C"}
    assert client.get("/api/v1/ratings/missed-opportunities", params={"level": "stroke-unit"}).json()["total"] > 0


def test_comply_or_justify_through_the_api(client: TestClient) -> None:
    body = {"framework": "stroke", "commitment": "thrombolysis", "icb": "QAA", "kind": "plan", "content": PLAN}
    assert client.post("/api/v1/plans", json=body).status_code == 401
    assert client.post("/api/v1/plans", json=body, headers={"x-test-session": "analyst@alpha.nhs.uk"}).status_code == 403
    refused = client.post("/api/v1/plans", json=body, headers=as_("analyst@beta.nhs.uk"))
    assert refused.status_code == 403 and "not of QAA" in refused.json()["detail"]
    created = client.post("/api/v1/plans", json=body, headers=as_("analyst@alpha.nhs.uk"))
    assert created.status_code == 201
    filing = created.json()["id"]
    assert client.get(f"/api/v1/plans/{filing}").status_code == 404  # a draft is not public
    assert client.get(f"/api/v1/plans/{filing}", headers=as_("analyst@beta.nhs.uk")).status_code == 404
    assert client.post(f"/api/v1/plans/{filing}/submit", headers=as_("analyst@alpha.nhs.uk")).json()["status"] == "submitted"
    assert client.post(f"/api/v1/plans/{filing}/accept", headers=as_("analyst@alpha.nhs.uk")).status_code == 403
    challenged = client.post(f"/api/v1/plans/{filing}/challenge", json={"comment": "More funding detail."},
                             headers=as_("reviewer@england.nhs.uk"))
    assert challenged.json()["status"] == "challenged"
    justification = dict(body, kind="justification", content=JUSTIFICATION)
    assert client.post("/api/v1/plans", json=justification, headers=as_("analyst@alpha.nhs.uk")).json()["revision"] == 2
    client.post(f"/api/v1/plans/{filing}/resubmit", headers=as_("analyst@alpha.nhs.uk"))
    client.post(f"/api/v1/plans/{filing}/accept", json={}, headers=as_("reviewer@england.nhs.uk"))
    assert client.post(f"/api/v1/plans/{filing}/publish", headers=as_("reviewer@england.nhs.uk")).json()["status"] == \
        "published"
    shown = client.get(f"/api/v1/plans/{filing}").json()
    assert shown["kind"] == "justification" and [h["action"] for h in shown["history"]] == [
        "create", "submit", "challenge", "edit", "resubmit", "accept", "publish"]
    assert [f["id"] for f in client.get("/api/v1/plans").json()] == [filing]
    # the public sees roles, not email addresses; the reviewer sees who
    assert "@" not in json.dumps(shown) and shown["published_by"] is None
    assert [h["actor"] for h in shown["history"]][-3:] == ["the ICB", "a national reviewer", "a national reviewer"]
    inside = client.get(f"/api/v1/plans/{filing}", headers=as_("reviewer@england.nhs.uk")).json()
    assert inside["published_by"] == "reviewer@england.nhs.uk" and inside["history"][0]["actor"] == "analyst@alpha.nhs.uk"
    missing = client.get("/api/v1/plans/missing").json()
    assert {"icb_code": "QBB", "framework_id": "stroke", "commitment_key": "thrombolysis"}.items() <= missing[0].items() \
        or any(m["icb_code"] == "QBB" and m["commitment_key"] == "thrombolysis" for m in missing)
    assert not any(m["icb_code"] == "QAA" and m["commitment_key"] == "thrombolysis" for m in missing)
    bad = client.post("/api/v1/plans", json=dict(body, content={"summary": "x"}), headers=as_("analyst@beta.nhs.uk"))
    assert bad.status_code in (400, 403)


def test_plan_against_actual_in_the_api(client: TestClient) -> None:
    body = {"framework": "stroke", "commitment": "thrombolysis", "icb": "QAA", "kind": "plan", "content": PLAN}
    filing = client.post("/api/v1/plans", json=body, headers=as_("analyst@alpha.nhs.uk")).json()["id"]
    shown = client.get(f"/api/v1/plans/{filing}", headers=as_("analyst@alpha.nhs.uk")).json()
    assert [p["judgement"] for p in shown["plan_against_actual"]][:1] in (["ahead"], ["on plan"], ["behind"])


def test_assessments_and_gaps_in_the_api(client: TestClient) -> None:
    ta264 = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in NATIONAL_ASSESSMENTS[0].items()}
    ta264["innovation"] = ta264.pop("innovation_id")
    assert client.post("/api/v1/assessments", json=ta264, headers=as_("analyst@alpha.nhs.uk")).status_code == 403
    added = client.post("/api/v1/assessments", json=ta264, headers=as_("reviewer@england.nhs.uk"))
    assert added.status_code == 201 and added.json()["due_date"] == "2012-12-25"
    local = dict(ta264, body="Alpha committee", scope="local", org_code="QAA", decided_on="2014-01-01")
    assert client.post("/api/v1/assessments", json=local, headers=as_("analyst@alpha.nhs.uk")).json()["duplicate_of"] == \
        added.json()["id"]
    assert len(client.get("/api/v1/assessments").json()) == 2
    gaps = client.get("/api/v1/assessments/gaps").json()
    assert "U05" in {g["org_code"] for g in gaps["items"]} and "U01" not in {g["org_code"] for g in gaps["items"]}
    assert client.post("/api/v1/assessments", json=dict(ta264, decision="perhaps"),
                       headers=as_("reviewer@england.nhs.uk")).status_code == 400


def test_no_request_makes_a_server_error(client: TestClient) -> None:
    """schemathesis, as tests/web/test_schemathesis.py drives it: valid and invalid requests to every
    operation of the mission's API, as the public, an ICB analyst and a national admin."""
    schemathesis = pytest.importorskip("schemathesis")
    from hypothesis import HealthCheck, given, settings
    from hypothesis.errors import Unsatisfiable
    from schemathesis.generation import GenerationMode

    schema = schemathesis.openapi.from_asgi("/openapi.json", client.app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 17
    failures: list[str] = []
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                strategy = operation.as_strategy(generation_mode=mode)
            except Exception:
                continue

            @given(case=strategy)
            @settings(max_examples=15, deadline=None, database=None, suppress_health_check=list(HealthCheck))
            def run(case) -> None:
                for who in (None, "analyst@alpha.nhs.uk", "reviewer@england.nhs.uk"):
                    headers = dict(case.headers or {})
                    if who:
                        headers["authorization"] = f"Bearer {who}"
                    response = case.call(headers=headers)
                    if response.status_code >= 500:
                        failures.append(f"{case.method} {case.formatted_path} {case.query} {case.body!r} as {who}: "
                                        f"{response.status_code} {response.text[:200]}")

            try:
                run()
            except Unsatisfiable:
                pass
    assert not failures, "\n".join(failures[:10])


def test_a_write_to_a_filing_the_caller_cannot_see_answers_404_as_a_read_does(client: TestClient) -> None:
    """No refusal names the ICB, framework or commitment of a filing the caller may not see, nor says that it
    exists; a filing the caller may see but may not act on is refused with the reason (403)."""
    body = {"framework": "stroke", "commitment": "thrombolysis", "icb": "QAA", "kind": "plan", "content": PLAN}
    beta, lead = as_("analyst@beta.nhs.uk"), as_("lead@unit.nhs.uk")
    before = client.post("/api/v1/plans", json=body, headers=beta)  # nothing filed for QAA yet
    filing = client.post("/api/v1/plans", json=body, headers=as_("analyst@alpha.nhs.uk")).json()["id"]
    # the same refusal whether or not QAA has a draft ("may not edit" would say that it has)
    after = client.post("/api/v1/plans", json=body, headers=beta)
    assert (after.status_code, after.json()) == (before.status_code, before.json())
    assert after.status_code == 403 and "edit" not in after.json()["detail"]
    for headers in (beta, lead):
        read = client.get(f"/api/v1/plans/{filing}", headers=headers)
        assert read.status_code == 404
        unknown = client.post("/api/v1/plans/999999/submit", headers=headers)
        for action in ("submit", "resubmit", "accept", "challenge", "publish"):
            for step in ({"comment": "More detail."}, None):
                written = client.post(f"/api/v1/plans/{filing}/{action}", json=step, headers=headers)
                assert (written.status_code, written.json()) == (404, read.json()), (action, written.text)
                assert not any(word in written.text for word in ("QAA", "stroke", "thrombolysis", "draft"))
        assert unknown.status_code == 404
    # a filing the caller may see but may not act on: 403 with the reason
    refused = client.post(f"/api/v1/plans/{filing}/accept", headers=as_("reviewer@england.nhs.uk"))
    assert refused.status_code == 403 and "the filing is draft" in refused.json()["detail"]
    client.post(f"/api/v1/plans/{filing}/submit", headers=as_("analyst@alpha.nhs.uk"))
    refused = client.post(f"/api/v1/plans/{filing}/accept", headers=as_("analyst@alpha.nhs.uk"))
    assert refused.status_code == 403 and "national reviewer" in refused.json()["detail"]
    # still invisible once submitted, and nothing was changed by the refused writes
    assert client.post(f"/api/v1/plans/{filing}/accept", headers=beta).status_code == 404
    shown = client.get(f"/api/v1/plans/{filing}", headers=as_("reviewer@england.nhs.uk")).json()
    assert [h["action"] for h in shown["history"]] == ["create", "submit"]


def test_a_filing_against_a_draft_framework_answers_as_reading_the_framework_does(client: TestClient) -> None:
    from uptake.mission.framework_files import read_frameworks
    from uptake.mission.framework_repository import load_frameworks

    dementia = next(f for f in read_frameworks() if f.id == "dementia")
    with session_scope(client.app.state.web.engine) as session:
        draft = type(dementia).model_validate(dementia.model_dump() | {"id": "memory", "status": "draft"})
        load_frameworks(session, [draft], actor="reviewer@england.nhs.uk")
    alpha = as_("analyst@alpha.nhs.uk")
    read = client.get("/api/v1/nsf/memory", headers=alpha)
    body = {"framework": "memory", "commitment": "dementia-diagnosis", "icb": "QAA", "kind": "plan", "content": PLAN}
    written = client.post("/api/v1/plans", json=body, headers=alpha)
    assert read.status_code == written.status_code == 404
    assert written.json()["detail"] == read.json()["detail"] == "no framework 'memory'"
    assert client.get("/api/v1/nsf/memory", headers=as_("reviewer@england.nhs.uk")).status_code == 200


def test_the_public_missing_list_shows_only_what_the_public_may_know(client: TestClient) -> None:
    """The public learns which ICBs have published nothing for a commitment, never that one has a draft or a
    filing under review; the national reviewer and an ICB's own analyst see what they may see."""
    def missing(headers=None) -> dict[tuple[str, str, str], str]:
        answer = client.get("/api/v1/plans/missing", headers=headers)
        assert answer.status_code == 200
        return {(m["icb_code"], m["framework_id"], m["commitment_key"]): m["state"] for m in answer.json()}

    public_before = missing()
    assert set(public_before.values()) == {"nothing published"} and len(public_before) == 21
    body = {"framework": "stroke", "commitment": "thrombolysis", "icb": "QAA", "kind": "plan", "content": PLAN}
    client.post("/api/v1/plans", json=body, headers=as_("analyst@alpha.nhs.uk"))  # a draft
    submitted = client.post("/api/v1/plans", json=dict(body, icb="QBB"), headers=as_("analyst@beta.nhs.uk"))
    client.post(f"/api/v1/plans/{submitted.json()['id']}/submit", headers=as_("analyst@beta.nhs.uk"))
    assert missing() == public_before  # neither the draft nor the submission shows
    assert missing(as_("lead@unit.nhs.uk")) == public_before
    thrombolysis = ("stroke", "thrombolysis")
    admin = missing(as_("reviewer@england.nhs.uk"))
    assert admin[("QAA", *thrombolysis)] == "draft only" and ("QBB", *thrombolysis) not in admin
    assert admin[("QCC", *thrombolysis)] == "nothing"
    alpha = missing(as_("analyst@alpha.nhs.uk"))  # its own ICB as it is; the others as the public sees them
    assert alpha[("QAA", *thrombolysis)] == "draft only"
    assert alpha[("QBB", *thrombolysis)] == alpha[("QCC", *thrombolysis)] == "nothing published"
    beta = missing(as_("analyst@beta.nhs.uk"))
    assert ("QBB", *thrombolysis) not in beta and beta[("QAA", *thrombolysis)] == "nothing published"
