"""The API writes of the award, leads and time to innovate: a provider lead's nomination, lead and time with
an API token; a bad record answers 400 naming each field and saves nothing; other roles 403; anyone not signed
in 401; and what was written is read back from the GET routes."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from ecosystem_support import small_world  # noqa: E402


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    from uptake.store import session_scope
    from uptake.store.repository import add_user, issue_api_token
    from uptake.web.app import create_app
    from uptake.workspace import Workspace

    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("UPTAKE_DATABASE_URL", raising=False)
        ws = Workspace.resolve(tmp_path_factory.mktemp("frontline-api") / "ws").ensure()
        engine, _ = small_world(ws)
        tokens = {}
        with session_scope(engine) as session:
            for email, role, org in (("lead@u01.nhs.uk", "provider-lead", "U01"),
                                     ("analyst@qaa.nhs.uk", "icb-analyst", "QAA")):
                user = add_user(session, email, email, role, scope_org_code=org, actor="test")
                session.flush()
                tokens[role] = issue_api_token(session, user, "test", actor="test")
        app = create_app(ws, secret_key="k" * 40)
        with TestClient(app) as client:
            yield client, tokens
        engine.dispose()


NOMINATION = {"nominee_name": "Team U01", "nominee_kind": "team", "org_code": "U01",
              "commitment": "stroke/thrombolysis", "evidence": "Door-to-needle protocol, audited monthly.",
              "sex": "male"}


def test_writes_by_the_owning_role_and_refusals(api) -> None:
    client, tokens = api
    lead = {"authorization": f"Bearer {tokens['provider-lead']}"}
    analyst = {"authorization": f"Bearer {tokens['icb-analyst']}"}
    assert client.post("/api/v1/award/nominations", json=NOMINATION).status_code == 401
    assert client.post("/api/v1/award/nominations", json=NOMINATION, headers=analyst).status_code == 403
    bad = client.post("/api/v1/award/nominations", json={**NOMINATION, "org_code": "NOPE", "evidence": ""},
                      headers=lead)
    assert bad.status_code == 400
    assert "org_code: There is no organisation NOPE" in bad.json()["detail"] and "evidence:" in bad.json()["detail"]
    made = client.post("/api/v1/award/nominations", json=NOMINATION, headers=lead)
    assert made.status_code == 201
    seen = client.get("/api/v1/award/nominations", headers=lead).json()
    assert [n["id"] for n in seen] == [made.json()["id"]] and seen[0]["score"] > 0
    assert client.get("/api/v1/award/nominations", headers=analyst).json() == []  # not theirs to see

    new_lead = client.post("/api/v1/leads", json={"org_code": "U01", "name": "Dr A", "job_title": "Consultant",
                                                   "started_on": "2024-04-01"}, headers=lead)
    assert new_lead.status_code == 201
    lead_id = new_lead.json()["id"]
    contribution = {"kind": "adapted", "innovation": "thrombolysis", "description": "Out-of-hours CT rota.",
                    "occurred_on": "2024-02-01"}
    assert client.post(f"/api/v1/leads/{lead_id}/contributions", json=contribution, headers=analyst).status_code == 403
    assert client.post(f"/api/v1/leads/{lead_id + 99}/contributions", json=contribution,
                       headers=lead).status_code == 404
    added = client.post(f"/api/v1/leads/{lead_id}/contributions", json=contribution, headers=lead)
    assert added.status_code == 201 and added.json()["competencies"] == ["SPREAD-2"]
    folio = client.get(f"/api/v1/leads/{lead_id}").json()
    assert [c["kind"] for c in folio["contributions"]] == ["adapted"]

    record = {"org_code": "U01", "year_start": "2025-04-01", "staff_fte": "1000", "staff_source": "NWS",
              "planned_share": "20", "planned_hours": "7.5"}
    assert client.post("/api/v1/time-to-innovate", json={**record, "planned_hours": "40"},
                       headers=lead).status_code == 400
    saved = client.post("/api/v1/time-to-innovate", json=record, headers=lead)
    assert saved.status_code == 201 and saved.json()["planned_cost_pounds"] == pytest.approx(1000 * 0.04 * 41150)
    assert [r["org_code"] for r in client.get("/api/v1/time-to-innovate").json()] == ["U01"]
