"""Networks, the Health Innovation Challenge, barriers and adopters over HTTP (the web test workspace: made-up
hierarchy, no NSF frameworks, so each catalogue indicator is a priority): pages and downloads answer; each
write is refused to the roles that do not own it, and for the roles that do, bad input is answered at the
field with nothing saved, and a good form saves with an audit entry."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select
from web_support import csrf_of

from uptake.store.db import make_engine, session_scope
from uptake.store.ecosystem_network_models import AdoptionRecord, AnchorRound, BarrierAssessment
from uptake.store.models import AuditEvent

PAGES = ["/networks", "/networks?priority=doac-share", "/networks/footprint/QMJ?priority=doac-share", "/challenge",
         "/barriers", "/adopters", "/adopters?innovation=doacs&org=MJ0", "/adopters/near/organisation/MJ0",
         "/adopters/near/innovation/doacs"]
BARRIER = {"org_code": "MJ0", "innovation": "doacs", "assessed_on": "2025-01-15",
           "risk_averse_culture": "major", "complexity_not_invented_here": "present", "lack_of_resource": "absent",
           "nasss_condition": "complicated", "nasss_technology": "simple", "nasss_value_proposition": "simple",
           "nasss_adopters": "complicated", "nasss_organisation": "complex", "nasss_wider_system": "complicated",
           "nasss_embedding": "simple", "notes": "Pharmacists stretched."}
ADOPTION = {"org_code": "MJ0", "innovation": "dementia-diagnosis", "adopted_on": "2024-04-01",
            "what": "Memory clinic in primary care", "adaptations": "Ran it from two hub practices, not every one",
            "cost_pounds": "12,500", "contact_name": "A Lead", "contact_email": "lead@nhs.net"}


def count(demo, model) -> int:
    engine = make_engine(demo.workspace.database_url)
    try:
        with session_scope(engine) as s:
            return s.scalar(select(func.count()).select_from(model))
    finally:
        engine.dispose()


def audits(demo, action: str) -> int:
    engine = make_engine(demo.workspace.database_url)
    try:
        with session_scope(engine) as s:
            return s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action))
    finally:
        engine.dispose()


@pytest.mark.parametrize("path", PAGES)
def test_pages_answer(client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200, (path, response.text[:2000])


def test_networks_page_shows_icb_footprints(client) -> None:
    page = client.get("/networks?priority=doac-share").text
    assert "NHS North Central London ICB" in page and "ICB footprint" in page
    members = client.get("/networks/footprint/QMJ?priority=doac-share").text
    assert all(code in members for code in ("MJ0", "MJ1", "MJ2")) and "KK0" not in members


@pytest.mark.parametrize("path", ["/networks/download/summary.csv?priority=doac-share",
                                  "/networks/download/members.xlsx?priority=doac-share&code=QMJ",
                                  "/barriers/download/association.csv", "/barriers/download/trends.xlsx",
                                  "/barriers/download/assessments.csv", "/adopters/download/log.xlsx",
                                  "/adopters/download/cases.csv?innovation=doacs",
                                  "/adopters/download/near.csv?innovation=doacs&org=MJ0"])
def test_downloads(client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200, response.text[:500]
    if ".xlsx" in path:
        from openpyxl import load_workbook

        assert load_workbook(io.BytesIO(response.content)).sheetnames[-1] == "About"
    else:
        assert response.headers["content-type"].startswith("text/csv")


@pytest.mark.parametrize("path", ["/challenge/new", "/barriers/new", "/adopters/new"])
def test_forms_are_refused_to_the_public(client, path: str) -> None:
    assert client.get(path).status_code == 403


@pytest.mark.parametrize("role", ["icb-analyst", "provider-lead", "innovator"])
def test_only_a_national_admin_runs_a_round(signed_in, demo, role: str) -> None:
    c = signed_in(role)
    assert c.get("/challenge/new").status_code == 403
    token = csrf_of(c.get("/challenge").text)
    before = count(demo, AnchorRound)
    response = c.post("/challenge/new", data={"csrf_token": token, "title": "x", "priority": "doac-share",
                                              "capacity": "2", "funding": "1000"}, follow_redirects=False)
    assert response.status_code == 403 and count(demo, AnchorRound) == before


def test_a_round_capacity_zero_is_a_field_error_then_a_round_runs(signed_in, demo) -> None:
    admin = signed_in("national-admin")
    form = admin.get("/challenge/new")
    assert form.status_code == 200
    token = csrf_of(form.text)
    before, audited = count(demo, AnchorRound), audits(demo, "anchor-round.run")
    bad = admin.post("/challenge/new", data={"csrf_token": token, "title": "Round", "priority": "doac-share",
                                             "capacity": "0", "funding": "25000"})
    assert bad.status_code == 400
    assert 'href="#capacity"' in bad.text and 'id="capacity-error"' in bad.text
    assert count(demo, AnchorRound) == before and audits(demo, "anchor-round.run") == audited
    good = admin.post("/challenge/new", data={"csrf_token": token, "title": "DOAC round", "priority": "doac-share",
                                              "capacity": "2", "funding": "25000"}, follow_redirects=False)
    assert good.status_code == 303, good.text[:3000]
    page = admin.get(good.headers["location"])
    assert page.status_code == 200 and "DOAC round" in page.text
    assert count(demo, AnchorRound) == before + 1 and audits(demo, "anchor-round.run") == audited + 1
    round_id = good.headers["location"].rsplit("/", 1)[1]
    assert admin.get(f"/challenge/{round_id}/download/partnerships.csv").status_code == 200
    assert admin.get(f"/api/v1/challenge/rounds/{round_id}").json()["capacity"] == 2


@pytest.mark.parametrize("role", ["innovator"])
def test_recording_is_refused_to_innovators(signed_in, demo, role: str) -> None:
    c = signed_in(role)
    for path in ("/barriers/new", "/adopters/new"):
        assert c.get(path).status_code == 403
    token = csrf_of(c.get("/barriers").text)
    before = count(demo, BarrierAssessment), count(demo, AdoptionRecord)
    assert c.post("/barriers/new", data={"csrf_token": token, **BARRIER}).status_code == 403
    assert c.post("/adopters/new", data={"csrf_token": token, **ADOPTION}).status_code == 403
    assert (count(demo, BarrierAssessment), count(demo, AdoptionRecord)) == before


def test_a_provider_lead_may_not_record_for_another_organisation(signed_in, demo) -> None:
    c = signed_in("provider-lead")  # of RAL
    token = csrf_of(c.get("/adopters/new").text)
    before = count(demo, AdoptionRecord)
    response = c.post("/adopters/new", data={"csrf_token": token, **ADOPTION})
    assert response.status_code == 403 and "records only for RAL" in response.text
    assert count(demo, AdoptionRecord) == before


def test_barrier_for_an_innovation_not_used_is_refused_at_the_field(signed_in, demo) -> None:
    c = signed_in("icb-analyst")  # of QMJ
    token = csrf_of(c.get("/barriers/new").text)
    before = count(demo, BarrierAssessment)
    # MJ0 is a sub-ICB location: it has DOAC results, but narcolepsy medicines are measured in trusts
    response = c.post("/barriers/new", data={"csrf_token": token, **BARRIER, "innovation": "narcolepsy-medicines"})
    assert response.status_code == 400
    assert 'id="innovation-error"' in response.text and "does not use" in response.text
    assert count(demo, BarrierAssessment) == before
    bad = c.post("/barriers/new", data={"csrf_token": token, **BARRIER, "lack_of_resource": "",
                                        "assessed_on": "2025-02-30"})
    assert bad.status_code == 400 and 'href="#lack_of_resource"' in bad.text and 'href="#assessed_on"' in bad.text
    assert count(demo, BarrierAssessment) == before
    audited = audits(demo, "barrier-assessment.add")
    good = c.post("/barriers/new", data={"csrf_token": token, **BARRIER}, follow_redirects=False)
    assert good.status_code == 303
    assert count(demo, BarrierAssessment) == before + 1 and audits(demo, "barrier-assessment.add") == audited + 1


def test_adoption_bad_input_at_the_field_then_saved(signed_in, demo, client) -> None:
    c = signed_in("icb-analyst")
    token = csrf_of(c.get("/adopters/new").text)
    before = count(demo, AdoptionRecord)
    bad = c.post("/adopters/new", data={"csrf_token": token, **ADOPTION, "org_code": "NOPE", "cost_pounds": "lots",
                                        "contact_email": "not an email"})
    assert bad.status_code == 400
    for field in ("org_code", "cost_pounds", "contact_email"):
        assert f'id="{field}-error"' in bad.text
    assert count(demo, AdoptionRecord) == before
    good = c.post("/adopters/new", data={"csrf_token": token, **ADOPTION}, follow_redirects=False)
    assert good.status_code == 303 and count(demo, AdoptionRecord) == before + 1
    assert "lead@nhs.net" in c.get("/adopters?innovation=dementia-diagnosis").text
    public = client.get("/adopters?innovation=dementia-diagnosis").text
    assert "Ran it from two hub practices" in public and "lead@nhs.net" not in public


def test_api_writes_need_a_signed_in_role(client) -> None:
    assert client.post("/api/v1/barriers", json=BARRIER).status_code == 401
    assert client.post("/api/v1/adopters/log", json=ADOPTION).status_code == 401
    assert client.post("/api/v1/challenge/rounds", json={"title": "x", "priority": "doac-share", "capacity": 1,
                                                         "funding_per_partnership": 0}).status_code == 401


def test_a_round_through_the_api_explains_each_pair(signed_in, demo) -> None:
    from uptake.web.security import CSRF_HEADER

    admin = signed_in("national-admin")
    token = csrf_of(admin.get("/challenge").text)
    bad = admin.post("/api/v1/challenge/rounds", headers={CSRF_HEADER: token},
                     json={"title": "API", "priority": "doac-share", "capacity": 0, "funding_per_partnership": 1})
    assert bad.status_code == 422 and bad.json()["detail"][0]["where"] == "body.capacity"
    made = admin.post("/api/v1/challenge/rounds", headers={CSRF_HEADER: token},
                      json={"title": "API", "priority": "doac-share", "capacity": 1, "funding_per_partnership": 5000})
    assert made.status_code == 201, made.text
    body = made.json()
    anchors = {d["org_code"] for d in body["designations"] if d["designated"]}
    assert anchors, body["designations"]
    assert body["partnerships"]
    for p in body["partnerships"]:
        assert p["anchor"] in anchors and p["partner"] not in anchors
        assert p["explanation"].startswith(p["partner"]) and p["pilot_funding_pounds"] == 5000
    per_anchor = [p["anchor"] for p in body["partnerships"]]
    assert max(per_anchor.count(a) for a in anchors) <= 1


def test_api_records_and_reads_barriers_and_adoptions(signed_in, demo, client) -> None:
    from uptake.web.security import CSRF_HEADER

    admin = signed_in("national-admin")
    token = csrf_of(admin.get("/barriers").text)
    before = count(demo, BarrierAssessment)
    refused = admin.post("/api/v1/barriers", headers={CSRF_HEADER: token},
                         json={**BARRIER, "org_code": "KK1", "innovation": "narcolepsy-medicines"})
    assert refused.status_code == 400 and refused.json()["detail"].startswith("innovation:")
    assert count(demo, BarrierAssessment) == before
    bad_level = admin.post("/api/v1/barriers", headers={CSRF_HEADER: token}, json={**BARRIER, "nasss_technology": "easy"})
    assert bad_level.status_code == 422 and bad_level.json()["detail"][0]["where"] == "body.nasss_technology"
    made = admin.post("/api/v1/barriers", headers={CSRF_HEADER: token}, json={**BARRIER, "org_code": "KK1"})
    assert made.status_code == 201, made.text
    assert count(demo, BarrierAssessment) == before + 1
    public = client.get("/api/v1/barriers").json()
    assert any(r["org_code"] == "KK1" for r in public) and all("notes" not in r for r in public)
    assert "association" in client.get("/api/v1/barriers/association").json()

    body = {**ADOPTION, "org_code": "KK2", "cost_pounds": 1200.0, "innovation": "doacs"}
    added = admin.post("/api/v1/adopters/log", headers={CSRF_HEADER: token}, json=body)
    assert added.status_code == 201, added.text
    log = client.get("/api/v1/adopters/log?innovation=doacs").json()
    assert any(r["org_code"] == "KK2" for r in log) and all("contact_email" not in r for r in log)
    near = client.get("/api/v1/adopters/near?innovation=doacs&org=KK1").json()
    kk2 = [r for r in near["found"] if r["org_code"] == "KK2"]
    assert kk2 and kk2[0]["in_log"] and kk2[0]["distance_km"] is not None
    assert client.get("/api/v1/adopters/near?innovation=doacs&org=NOPE").status_code == 404


def test_the_spread_readers_give_what_the_full_series_give(demo) -> None:
    """read.spread's narrow reads (fast path) against result_values in full (the reference): the risers and the
    uptake percentiles are the same."""
    import duckdb
    import pandas as pd

    from uptake.ecosystem.adopters import risers
    from uptake.ecosystem.barriers import uptake_percentiles
    from uptake.results import read

    indicators = ["doac-share", "dementia-diagnosis-rate", "narcolepsy-newer-share"]
    polarity = {i.id: i.polarity.value for i in demo.built.catalogue.indicators.values()}
    columns = ["indicator", "level", "org_code", "org_name", "period", "value", "ci95_low", "ci95_high", "synthetic"]
    with duckdb.connect(str(demo.workspace.analytics_path), read_only=True) as con:
        full = read.values.values_frame(con, columns, indicators)
        ends = read.spread.quartile_ends_frame(con, indicators, min_orgs=3)
        latest = read.spread.latest_values_frame(con, indicators)
    key = ["indicator", "level", "org_code"]
    a = risers(full, polarity, min_orgs=3).sort_values(key).reset_index(drop=True)
    b = risers(ends, polarity, min_orgs=3).sort_values(key).reset_index(drop=True)
    assert len(a) > 0
    pd.testing.assert_frame_equal(a, b, check_dtype=False)
    p = uptake_percentiles(full, polarity).sort_values(key).reset_index(drop=True)
    q = uptake_percentiles(latest, polarity).sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(p, q, check_dtype=False)
    assert len(ends) < len(full)
