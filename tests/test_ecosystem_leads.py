"""Innovation leads: a lead for an unknown organisation refused at the field, contributions with their
competency statements and linked results, and the portfolio for appraisal."""

from __future__ import annotations

import pandas as pd
import pytest
from sqlalchemy import func, select

from ecosystem_support import ADMIN, LEAD_U01, small_world
from uptake.ecosystem.frontline_rules import FieldProblems, NotAllowed
from uptake.ecosystem.leads import add_contribution, add_lead, portfolio
from uptake.mission.permissions import Who
from uptake.mission.results import reading
from uptake.store import AuditEvent, session_scope
from uptake.store.ecosystem_award_models import InnovationLead, LeadContribution
from uptake.workspace import Workspace

LEAD = {"org_code": "U01", "name": "Dr A Example", "job_title": "Stroke consultant", "email": "",
        "started_on": "2024-04-01"}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    ws = Workspace(root=tmp_path_factory.mktemp("leads") / "ws").ensure()
    engine, store = small_world(ws)
    yield engine, store
    engine.dispose()


def test_a_lead_for_an_unknown_organisation_is_refused_at_the_field(world) -> None:
    engine, _ = world
    with session_scope(engine) as session:
        with pytest.raises(FieldProblems) as caught:
            add_lead(session, ADMIN, {**LEAD, "org_code": "XYZ99", "email": "not-an-address"})
        assert caught.value.problems[0] == ("org_code", "There is no organisation XYZ99: enter an ODS code Uptake "
                                                        "knows")
        assert [f for f, _ in caught.value.problems] == ["org_code", "email"]
        with pytest.raises(NotAllowed):
            add_lead(session, Who(role="icb-analyst", email="a@icb.nhs.uk", scope_org_code="QAA"), LEAD)
        assert session.scalar(select(func.count()).select_from(InnovationLead)) == 0


def test_contributions_evidence_competencies_and_link_to_results(world) -> None:
    engine, store = world
    with session_scope(engine) as session:
        lead = add_lead(session, LEAD_U01, LEAD)
        lead_id = lead.id
        with pytest.raises(FieldProblems) as caught:
            add_contribution(session, LEAD_U01, lead_id, {"kind": "taught", "innovation": "nope",
                                                          "peer_org_code": "U01", "description": "",
                                                          "occurred_on": "2999-01-01"})
        assert [f for f, _ in caught.value.problems] == ["innovation", "peer_org_code", "description",
                                                         "occurred_on"]
        assert session.scalar(select(func.count()).select_from(LeadContribution)) == 0
        taught = add_contribution(session, LEAD_U01, lead_id, {
            "kind": "taught", "innovation": "thrombolysis", "commitment": "stroke/thrombolysis",
            "peer_org_code": "U05", "description": "Taught U05's team our door-to-needle protocol.",
            "occurred_on": "2024-06-01"})
        assert taught.competencies == ["SPREAD-3", "SPREAD-4"]
        adopted = add_contribution(session, ADMIN, lead_id, {"kind": "adopted", "innovation": "thrombolysis",
                                                             "description": "24-hour CT rota.",
                                                             "occurred_on": "2024-05-01"})
        assert adopted.competencies == ["SPREAD-1"]
        with pytest.raises(NotAllowed):
            add_contribution(session, Who(role="provider-lead", email="x@u02.nhs.uk", scope_org_code="U02"), lead_id,
                             {"kind": "adopted", "innovation": "thrombolysis", "description": "x",
                              "occurred_on": "2024-05-01"})
    with session_scope(engine) as session, reading(store) as cur:
        folio = portfolio(session, cur, lead_id)
        rows = folio.contributions.set_index("kind")
        # a taught contribution's result is the peer's (U05, below the minimum: off trajectory or missed)
        assert rows.loc["taught", "result_org"] == "U05"
        assert rows.loc["taught", "result_value"] == pytest.approx(15 / 500)
        assert pd.isna(rows.loc["adopted", "result_source"])  # not linked to a commitment
        evidenced = {s.id: ids for s, ids in folio.statements}
        assert evidenced["SPREAD-2"] == [] and evidenced["SPREAD-3"] == [taught.id]
        table = folio.frame()
        assert list(table["section"]).count("competency") == 4
        actions = session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("lead.%"))).all()
        assert actions == ["lead.add", "lead.contribution", "lead.contribution"]
