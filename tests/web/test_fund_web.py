"""The transformation fund over HTTP (uptake.web.fund) on the web test workspace: an ICB's analyst applies for
their own ICB (CSRF checked, bad input answered at the field with nothing saved), submits; a national reviewer
declines with a reason (without one: refused), the analyst justifies, the reviewer approves; a stale form
answers 409 and changes nothing; other roles are refused; the page, its downloads and the API show the
allocation with each decision explained."""

from __future__ import annotations

import io
import re

import pandas as pd
import pytest
from sqlalchemy import func, select
from web_support import csrf_of

from uptake.store.db import make_engine, session_scope
from uptake.store.fund_models import FundApplication, FundReview
from uptake.store.models import AuditEvent


def _count(demo, model, *where) -> int:
    engine = make_engine(demo.workspace.database_url)
    try:
        with session_scope(engine) as s:
            return s.scalar(select(func.count()).select_from(model).where(*where))
    finally:
        engine.dispose()


FORM = {"org_code": "QMJ", "innovation_id": "doacs", "title": "DOACs across North Central London",
        "first_year": "2026", "last_year": "2027", "cost_implementation_1": "2000000",
        "cost_double_running_1": "300000", "cost_decommissioning_2": "100000", "benefit": "9.5",
        "benefit_low": "6", "benefit_high": "13", "benefit_source": "outcome-model",
        "benefit_reference": "cardiovascular-disease/anticoagulation-doacs"}


def _apply(client, **changes):
    page = client.get("/fund/apply")
    assert page.status_code == 200, page.text[:500]
    return client.post("/fund/apply", data={**FORM, **changes, "csrf_token": csrf_of(page.text)},
                       follow_redirects=False)


def _step(client, app_id: int, action: str, comment: str = "", version: int | None = None):
    page = client.get(f"/fund/applications/{app_id}")
    if version is None:
        version = int(re.search(r'name="version" value="(\d+)"', page.text).group(1))
    return client.post(f"/fund/applications/{app_id}/step", data={
        "action": action, "comment": comment, "version": str(version), "csrf_token": csrf_of(page.text)},
        follow_redirects=False)


def test_apply_review_and_allocate_through_the_forms(signed_in, demo, client) -> None:
    lead, reviewer = signed_in("icb-analyst"), signed_in("national-admin")
    before = _count(demo, FundApplication)
    bad = _apply(lead, cost_implementation_1="-10", org_code="QZZ")
    assert bad.status_code == 400 and "There is a problem" in bad.text and "negative" in bad.text
    assert "unknown organisation" in bad.text and _count(demo, FundApplication) == before
    response = _apply(lead)
    assert response.status_code == 303, response.text[:2000]
    app_id = int(response.headers["location"].rsplit("/", 1)[1])
    # a draft: not for the public, nor in the allocation
    assert client.get(f"/fund/applications/{app_id}").status_code == 404
    # the draft is changed through its edit form (against the version read); a stale copy answers 409
    edit = lead.get(f"/fund/applications/{app_id}/edit")
    assert edit.status_code == 200 and 'value="DOACs across North Central London"' in edit.text
    version = re.search(r'name="version" value="(\d+)"', edit.text).group(1)
    changed = lead.post(f"/fund/applications/{app_id}/edit", data={
        **FORM, "title": "DOACs in North Central London", "version": version, "csrf_token": csrf_of(edit.text)},
        follow_redirects=False)
    assert changed.status_code == 303
    assert lead.post(f"/fund/applications/{app_id}/edit", data={
        **FORM, "title": "stale", "version": version, "csrf_token": csrf_of(edit.text)}).status_code == 409
    assert reviewer.get(f"/fund/applications/{app_id}/edit").status_code == 403
    assert _step(lead, app_id, "submit").status_code == 303
    refused = _step(reviewer, app_id, "decline", "")
    assert refused.status_code == 400 and "reason" in refused.text
    assert _step(reviewer, app_id, "decline", "double running not explained").status_code == 303
    assert _step(lead, app_id, "approve").status_code == 403  # not the applicant's step
    version = int(re.search(r'name="version" value="(\d+)"', lead.get(f"/fund/applications/{app_id}").text).group(1))
    assert _step(lead, app_id, "justify", "two years of parallel running").status_code == 303
    stale = _step(reviewer, app_id, "approve", version=version)
    assert stale.status_code == 409
    assert _step(reviewer, app_id, "approve", "fine").status_code == 303
    page = client.get(f"/fund/applications/{app_id}")
    assert page.status_code == 200 and 'id="fund-status">approved' in page.text
    assert demo.users["icb-analyst"].email not in page.text and "a national reviewer" in page.text  # roles only
    steps = ["create", "edit", "submit", "decline", "justify", "approve"]
    assert _count(demo, FundReview, FundReview.application_id == app_id) == len(steps)
    assert _count(demo, AuditEvent, AuditEvent.entity_type == "fund-application",
                  AuditEvent.entity_id == str(app_id)) == len(steps)
    fund = client.get("/fund")
    assert fund.status_code == 200 and f'data-application="{app_id}"' in fund.text
    assert "How was this calculated?" in fund.text and "2026/27" in fund.text
    body = client.get("/api/v1/fund/allocation").json()
    decision = next(d for d in body["decisions"] if d["id"] == app_id)
    assert decision["funded"] and decision["explanation"] and decision["binding"]
    assert isinstance(decision["flips_within_interval"], bool)
    assert any(a["id"] == app_id for a in client.get("/api/v1/fund/applications").json()["applications"])
    assert client.get(f"/api/v1/fund/applications/{app_id}").json()["history"][-1]["action"] == "approve"
    csv = client.get("/fund/download/decisions.csv")
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    frame = pd.read_csv(io.StringIO(csv.text))
    assert app_id in frame["id"].tolist() and "explanation" in frame.columns
    xlsx = client.get("/fund/download/years.xlsx")
    years = pd.read_excel(io.BytesIO(xlsx.content))
    assert list(years["year"]) == ["2026/27", "2027/28", "2028/29", "2029/30"]
    assert client.get("/fund/download/nothing.csv").status_code == 404


@pytest.mark.parametrize("role", ["national-admin", "innovator"])
def test_only_the_organisations_leads_apply(signed_in, role) -> None:
    assert signed_in(role).get("/fund/apply").status_code == 403


def test_a_provider_lead_applies_for_their_trust_only(signed_in, demo) -> None:
    lead = signed_in("provider-lead")
    before = _count(demo, FundApplication)
    other = _apply(lead, org_code="RRV")
    assert other.status_code == 400 and "RAL" in other.text and _count(demo, FundApplication) == before
    assert _apply(lead, org_code="RAL").status_code == 303


def test_a_form_without_its_csrf_token_is_refused(signed_in, demo) -> None:
    lead = signed_in("icb-analyst")
    before = _count(demo, FundApplication)
    assert lead.post("/fund/apply", data=FORM).status_code == 403
    assert _count(demo, FundApplication) == before


def test_anonymous_visitors_are_sent_to_sign_in(client) -> None:
    assert client.get("/fund/apply", follow_redirects=False).status_code == 303
    assert client.post("/fund/apply", data=FORM).status_code == 403


def test_demo_applications_are_labelled_on_the_page_the_api_and_the_downloads(client, demo) -> None:
    """Last in this module: DEMO applications seeded as `uptake demo` does (they stay for the later modules,
    whose fund pages then carry them too)."""
    from uptake.models.fund_demo import seed_demo_fund

    engine = make_engine(demo.workspace.database_url)
    try:
        with session_scope(engine) as session:
            seed_demo_fund(session)
    finally:
        engine.dispose()
    page = client.get("/fund")
    assert page.status_code == 200 and "DEMO/SYNTHETIC" in page.text
    assert page.text.count(">DEMO</strong>") >= 2
    body = client.get("/api/v1/fund/allocation").json()
    assert body["synthetic"] and any(d["synthetic"] for d in body["decisions"])
    summary = pd.read_csv(io.StringIO(client.get("/fund/download/summary.csv").text))
    assert (summary.loc[summary["measure"].str.contains("funded"), "synthetic"] == "DEMO/SYNTHETIC").all()
    demo_app = next(d["id"] for d in body["decisions"] if d["synthetic"])
    assert "DEMO/SYNTHETIC" in client.get(f"/fund/applications/{demo_app}").text
