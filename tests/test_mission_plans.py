"""Comply or justify: plans and justifications, the workflow and its permission rules for every role and
transition, revisions and the audit log, what the public sees, ICBs with nothing filed, plan against actual."""

from __future__ import annotations

import datetime as dt
import itertools

import pandas as pd
import pytest
from sqlalchemy import select
from test_mission_support import ADMIN, mission_workflow, small_store

from uptake.errors import UptakeError
from uptake.mission.permissions import (
    ALL_ROLES,
    FILING_TRANSITIONS,
    NotPermitted,
    Who,
    filing_problem,
    may_act_on_filing,
    may_see_filing,
)
from uptake.mission.plans import (
    filing_history,
    filings,
    get_filing,
    icbs_with_nothing_filed,
    plan_against_actual,
    review_queue,
    save_filing,
    track_plan,
    transition,
)
from uptake.store import AuditEvent, audit_trail, session_scope
from uptake.store.mission_models import ComplyOrJustifyRevision

ANALYST = Who(role="icb-analyst", email="analyst@alpha.nhs.uk", scope_org_code="QAA")
OTHER_ANALYST = Who(role="icb-analyst", email="analyst@beta.nhs.uk", scope_org_code="QBB")
PROVIDER = Who(role="provider-lead", email="lead@unit.nhs.uk", scope_org_code="U01")
INNOVATOR = Who(role="innovator", email="maker@example.com", scope_innovation="thrombolysis")
PUBLIC = Who()
EVERYONE = {"national-admin": ADMIN, "icb-analyst (own ICB)": ANALYST, "icb-analyst (other ICB)": OTHER_ANALYST,
            "provider-lead": PROVIDER, "innovator": INNOVATOR, "public": PUBLIC}

PLAN = {
    "summary": "Every unit in the footprint adopts the benchmark hyperacute pathway.",
    "actions": [
        {"description": "Pre-alert from ambulance to CT", "owner": "Stroke network manager", "due": "2022-06-30"},
        {"description": "Telestroke cover overnight", "owner": "Medical director, Unit U05", "due": "2022-12-31"},
    ],
    "funding": {"amount_pounds": 450000, "source": "ICB transformation budget", "years": "2022/23-2023/24"},
    "support": "Peer support from the best unit in the footprint (U01); shared training; time to innovate.",
    "expected_trajectory": [{"date": "2020-12-31", "value": 0.15}, {"date": "2021-12-31", "value": 0.17},
                            {"date": "2022-12-31", "value": 0.19}],
}
JUSTIFICATION = {
    "reason_category": "service-configuration",
    "reason": "Hyperacute care is being centralised; thrombolysis moves to the new centre in 2023.",
    "evidence": ["Reconfiguration business case (2021)", "London stroke reconfiguration evaluation"],
    "alternative": "Direct transfer to the comprehensive stroke centre within 45 minutes.",
    "review_date": "2023-04-01",
}

# --- the permission rules, for every role and every transition ------------------------------------------

STATUSES = [None, "draft", "submitted", "accepted", "challenged", "resubmitted", "published"]


def expected_allowed(name: str, action: str, status: str | None) -> bool:
    allowed_from, _ = FILING_TRANSITIONS[action]
    if status not in allowed_from:
        return False
    if action in ("create", "edit", "submit", "resubmit"):
        return name == "icb-analyst (own ICB)"
    return name == "national-admin"


@pytest.mark.parametrize("name, action, status", list(itertools.product(EVERYONE, FILING_TRANSITIONS, STATUSES)))
def test_filing_permissions_for_every_role_action_and_status(name, action, status) -> None:
    who = EVERYONE[name]
    assert may_act_on_filing(who, action, "QAA", status) is expected_allowed(name, action, status)
    problem = filing_problem(who, action, "QAA", status)
    assert (problem is None) is expected_allowed(name, action, status)


@pytest.mark.parametrize("name, status", list(itertools.product(EVERYONE, STATUSES[1:])))
def test_who_sees_a_filing(name, status) -> None:
    expected = status == "published" or name in ("national-admin", "icb-analyst (own ICB)")
    assert may_see_filing(EVERYONE[name], "QAA", status) is expected


def test_every_role_is_covered() -> None:
    assert {w.role for w in EVERYONE.values()} == set(ALL_ROLES)


def test_the_reasons_are_readable() -> None:
    assert filing_problem(OTHER_ANALYST, "edit", "QAA", "draft") == "they are an analyst of QBB, not of QAA"
    assert filing_problem(ANALYST, "submit", "QAA", "accepted") == (
        "the filing is accepted; submit needs it to be draft")
    assert "national reviewer" in filing_problem(ANALYST, "accept", "QAA", "submitted")


# --- the workflow in the database -------------------------------------------------------------------------


def test_plan_workflow_with_challenge_and_audit(workflow_engine) -> None:
    engine = mission_workflow(workflow_engine)
    with session_scope(engine) as session:
        filing = save_filing(session, ANALYST, "stroke", "thrombolysis", "QAA", "plan", PLAN)
        filing_id = filing.id
        assert (filing.status, filing.revision) == ("draft", 1)
        with pytest.raises(NotPermitted, match="analyst of QBB, not of QAA"):
            save_filing(session, OTHER_ANALYST, "stroke", "thrombolysis", "QAA", "plan", PLAN)
        with pytest.raises(NotPermitted, match="national reviewer"):
            transition(session, ANALYST, filing_id, "accept")
        transition(session, ANALYST, filing_id, "submit")
        assert [f.id for f in review_queue(session, ADMIN)] == [filing_id]
        with pytest.raises(NotPermitted):
            save_filing(session, ANALYST, "stroke", "thrombolysis", "QAA", "plan", PLAN)  # submitted: no edits
        with pytest.raises(UptakeError, match="a challenge needs a comment"):
            transition(session, ADMIN, filing_id, "challenge")
        transition(session, ADMIN, filing_id, "challenge", "Funding covers one year of a two-year plan.")
        changed = dict(PLAN, funding={"amount_pounds": 900000, "source": "ICB transformation budget",
                                      "years": "2022/23-2023/24"})
        save_filing(session, ANALYST, "stroke", "thrombolysis", "QAA", "plan", changed)
        transition(session, ANALYST, filing_id, "resubmit")
        transition(session, ADMIN, filing_id, "accept", "Thank you.")
        with pytest.raises(UptakeError, match="there is no filing"):
            get_filing(session, PUBLIC, filing_id)  # accepted but not yet published: not public
        transition(session, ADMIN, filing_id, "publish")
    with session_scope(engine) as session:
        filing = get_filing(session, PUBLIC, filing_id)
        assert (filing.status, filing.revision, filing.published_by) == ("published", 2, ADMIN.actor)
        assert filing.content["funding"]["amount_pounds"] == 900000
        history = filing_history(session, PUBLIC, filing_id)
        assert [(r.action, r.status, r.actor) for r in history] == [
            ("create", "draft", ANALYST.actor), ("submit", "submitted", ANALYST.actor),
            ("challenge", "challenged", ADMIN.actor), ("edit", "challenged", ANALYST.actor),
            ("resubmit", "resubmitted", ANALYST.actor), ("accept", "accepted", ADMIN.actor),
            ("publish", "published", ADMIN.actor),
        ]
        assert history[0].content["funding"]["amount_pounds"] == 450000  # earlier content kept
        events = list(reversed(audit_trail(session, "cj-filing", str(filing_id))))
        assert [e.action for e in events] == [f"cj.filing.{r.action}" for r in history]
        assert all(e.occurred_at.tzinfo is not None for e in events)
        assert events[2].details["comment"] == "Funding covers one year of a two-year plan."


def test_justification_and_what_each_person_sees(workflow_engine) -> None:
    engine = mission_workflow(workflow_engine)
    with session_scope(engine) as session:
        justified = save_filing(session, OTHER_ANALYST, "stroke", "thrombolysis", "QBB", "justification",
                                JUSTIFICATION)
        planned = save_filing(session, ANALYST, "cardiovascular-disease", "anticoagulation-doacs", "QAA", "plan",
                              PLAN)
        transition(session, OTHER_ANALYST, justified.id, "submit")
        transition(session, ADMIN, justified.id, "accept")
        transition(session, ADMIN, justified.id, "publish")
    with session_scope(engine) as session:
        assert {f.icb_code for f in filings(session, PUBLIC)} == {"QBB"}
        assert {f.icb_code for f in filings(session, ANALYST)} == {"QAA", "QBB"}  # own draft + published
        assert {f.icb_code for f in filings(session, OTHER_ANALYST)} == {"QBB"}
        assert {f.icb_code for f in filings(session, ADMIN)} == {"QAA", "QBB"}
        assert get_filing(session, PROVIDER, justified.id).content["reason_category"] == "service-configuration"
        with pytest.raises(NotPermitted):
            review_queue(session, ANALYST)


def test_contents_are_checked(workflow_engine) -> None:
    engine = mission_workflow(workflow_engine)
    with session_scope(engine) as session:
        with pytest.raises(UptakeError, match="actions: List should have at least 1 item"):
            save_filing(session, ANALYST, "stroke", "thrombolysis", "QAA", "plan", dict(PLAN, actions=[]))
        with pytest.raises(UptakeError, match="reason_category: Input should be"):
            save_filing(session, ANALYST, "stroke", "thrombolysis", "QAA", "justification",
                        dict(JUSTIFICATION, reason_category="we would rather not"))
        with pytest.raises(UptakeError, match="does not apply to ICBs|no commitment"):
            save_filing(session, ANALYST, "stroke", "no-such-commitment", "QAA", "plan", PLAN)
        with pytest.raises(UptakeError, match="not an ICB"):
            save_filing(session, Who("icb-analyst", "x@nhs.net", "U01"), "stroke", "thrombolysis", "U01", "plan", PLAN)
    with session_scope(engine) as session:
        assert session.scalars(select(ComplyOrJustifyRevision)).first() is None
        assert session.scalars(select(AuditEvent).where(AuditEvent.entity_type == "cj-filing")).first() is None


def test_icbs_with_nothing_filed(workflow_engine) -> None:
    engine = mission_workflow(workflow_engine)
    with session_scope(engine) as session:
        before = icbs_with_nothing_filed(session)
        # 7 commitments apply to ICBs, 3 ICBs
        assert len(before) == 21 and {m.state for m in before} == {"nothing"}
        draft = save_filing(session, ANALYST, "stroke", "thrombolysis", "QAA", "plan", PLAN)
        submitted = save_filing(session, OTHER_ANALYST, "stroke", "thrombolysis", "QBB", "plan", PLAN)
        transition(session, OTHER_ANALYST, submitted.id, "submit")
        after = {(m.icb_code, m.framework_id, m.commitment_key): m.state for m in icbs_with_nothing_filed(session)}
        assert after[("QAA", "stroke", "thrombolysis")] == "draft only"
        assert ("QBB", "stroke", "thrombolysis") not in after
        assert after[("QCC", "stroke", "thrombolysis")] == "nothing"
        assert draft.id


def test_track_plan_against_results() -> None:
    actual = pd.DataFrame({"period": pd.to_datetime(["2019-01-01", "2020-01-01", "2021-01-01"]),
                           "value": [0.14, 0.16, 0.15], "ci95_low": [0.13, 0.155, 0.14],
                           "ci95_high": [0.15, 0.165, 0.16]})
    points = [{"date": dt.date(2020, 6, 30), "value": 0.13}, {"date": dt.date(2020, 12, 31), "value": 0.15},
              {"date": dt.date(2021, 12, 31), "value": 0.17}, {"date": dt.date(2023, 12, 31), "value": 0.2}]
    tracked = track_plan(points, actual, period="year", as_of=dt.date(2022, 6, 1))
    assert list(tracked["judgement"]) == ["on plan", "ahead", "behind", "not due"]
    assert tracked["period"].iloc[0] == dt.date(2019, 1, 1)  # 2020 had not ended on 30 June 2020
    assert tracked["difference"].iloc[2] == pytest.approx(-0.02)
    low_is_good = track_plan(points[1:2], actual, period="year", high_is_good=False)
    assert low_is_good["judgement"].iloc[0] == "behind"
    early = track_plan([{"date": dt.date(2018, 12, 31), "value": 0.1}], actual, period="year")
    assert early["judgement"].iloc[0] == "no result yet"


def test_plan_against_actual_reads_the_icb_results(workflow_engine, tmp_path) -> None:
    engine = mission_workflow(workflow_engine)
    store = small_store(tmp_path / "a.duckdb")
    with session_scope(engine) as session:
        filing = save_filing(session, ANALYST, "stroke", "thrombolysis", "QAA", "plan", PLAN)
        tracked = plan_against_actual(session, store, ANALYST, filing.id)
    # QAA pooled: (110+105+100+75+20)/2500 = 16.4% in 2020 ... see test_mission_support.UNITS
    assert list(tracked["period"]) == [dt.date(2020, 1, 1), dt.date(2021, 1, 1), dt.date(2021, 1, 1)]
    assert tracked["actual"].iloc[0] == pytest.approx((115 + 110 + 104 + 80 + 18) / 2500)
