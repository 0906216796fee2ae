"""Value assessment: records and who may add them, the 90-day due date, duplicate local assessments, and
the availability-gap report."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from test_mission_support import ADMIN, UNITS, mission_workflow, small_store

from uptake.catalogue import load_catalogue
from uptake.errors import UptakeError
from uptake.mission.assessments import (
    DUE_DAYS,
    add_assessment,
    assessments_frame,
    availability_gap_report,
    availability_gaps,
    due_date,
    duplicates,
)
from uptake.mission.permissions import NotPermitted, Who
from uptake.store import audit_trail, session_scope

ANALYST = Who(role="icb-analyst", email="analyst@alpha.nhs.uk", scope_org_code="QAA")
TA264 = dict(innovation_id="thrombolysis", body="NICE", scope="national", decision="recommended",
             decided_on=dt.date(2012, 9, 26), reference="TA264", threshold=30000.0)


def test_due_ninety_days_after_national_approval() -> None:
    assert DUE_DAYS == 90
    assert due_date(dt.date(2012, 9, 26)) == dt.date(2012, 12, 25)


@pytest.mark.parametrize(
    "who, scope, org, allowed",
    [
        (ADMIN, "national", None, True),
        (ADMIN, "local", "QBB", True),
        (ANALYST, "local", "QAA", True),
        (ANALYST, "local", "QBB", False),
        (ANALYST, "national", None, False),
        (Who("provider-lead", "lead@unit.nhs.uk", "U01"), "local", "U01", False),
        (Who("innovator", "maker@example.com", scope_innovation="thrombolysis"), "national", None, False),
        (Who(), "local", "QAA", False),
    ],
)
def test_who_may_record_assessments(workflow_engine, who, scope, org, allowed) -> None:
    engine = mission_workflow(workflow_engine)
    args = dict(TA264, scope=scope, org_code=org, body="NICE" if scope == "national" else "Area prescribing committee")
    with session_scope(engine) as session:
        if allowed:
            added = add_assessment(session, who, **args)
            assert audit_trail(session, "value-assessment")[0].actor == who.actor
            assert added.assessment.id
        else:
            with pytest.raises(NotPermitted):
                add_assessment(session, who, **args)


def test_local_assessments_after_a_national_one_are_duplicates(workflow_engine) -> None:
    engine = mission_workflow(workflow_engine)
    local = dict(innovation_id="doacs", body="Alpha area prescribing committee", scope="local", decision="optimised",
                 org_code="QAA", icer=4200.0, threshold=20000.0)
    with session_scope(engine) as session:
        early = add_assessment(session, ANALYST, **local, decided_on=dt.date(2014, 6, 1))
        late = add_assessment(session, ANALYST, **local, decided_on=dt.date(2016, 3, 1))
        assert early.duplicate_of is None and late.duplicate_of is None  # nothing national yet
        national = add_assessment(session, ADMIN, innovation_id="doacs", body="NICE", scope="national",
                                  decision="recommended", decided_on=dt.date(2015, 9, 23), reference="TA355")
        assert [a.id for a in national.flagged] == [late.assessment.id]  # the 2014 one came first
        after = add_assessment(session, ANALYST, **local, decided_on=dt.date(2022, 1, 10))
        assert after.duplicate_of.id == national.assessment.id
    with session_scope(engine) as session:
        flagged = duplicates(session)
        assert sorted(flagged["id"]) == sorted([late.assessment.id, after.assessment.id])
        assert set(flagged["national_reference"]) == {"TA355"}
        frame = assessments_frame(session).set_index("id")
        assert frame.loc[national.assessment.id, "due_date"] == dt.date(2015, 12, 22)
        assert frame.loc[early.assessment.id, "within_threshold"] is True or frame.loc[early.assessment.id,
                                                                                       "within_threshold"]
        assert pd.isna(frame.loc[early.assessment.id, "due_date"])  # local: no due date
        assert audit_trail(session, "value-assessment", str(late.assessment.id))[0].action == \
            "assessment.flag-duplicate"


def test_assessments_are_checked(workflow_engine) -> None:
    engine = mission_workflow(workflow_engine)
    with session_scope(engine) as session:
        with pytest.raises(UptakeError, match="no innovation 'hope'"):
            add_assessment(session, ADMIN, **dict(TA264, innovation_id="hope"))
        with pytest.raises(UptakeError, match="decision must be one of"):
            add_assessment(session, ADMIN, **dict(TA264, decision="maybe"))
        with pytest.raises(UptakeError, match="cannot be negative"):
            add_assessment(session, ADMIN, **dict(TA264, icer=-5.0))
        with pytest.raises(UptakeError, match="needs the organisation"):
            add_assessment(session, ADMIN, **dict(TA264, scope="local"))


def _values(rows):
    return pd.DataFrame(rows, columns=["org_code", "period", "value"]).assign(
        indicator="thrombolysis-rate", level="stroke-unit", org_name=lambda d: "Unit " + d["org_code"],
        synthetic=False)


def test_availability_gaps() -> None:
    assessments = pd.DataFrame([dict(id=1, innovation="thrombolysis", body="NICE", scope="national",
                                     decision="recommended", decided_on=dt.date(2016, 6, 1), reference="TA264")])
    values = _values([
        ("A", dt.date(2016, 1, 1), 0.25), ("A", dt.date(2017, 1, 1), 0.25),      # always at 20%+
        ("B", dt.date(2016, 1, 1), 0.10), ("B", dt.date(2017, 1, 1), 0.22),      # caught up in 2017
        ("C", dt.date(2016, 1, 1), 0.12), ("C", dt.date(2017, 1, 1), 0.15),      # still low
        ("D", dt.date(2017, 1, 1), 0.0),                                          # none
        ("E", dt.date(2015, 1, 1), 0.05),                                         # nothing after the due date
    ])
    organisations = pd.DataFrame({"code": list("ABCDEF"), "level": "stroke-unit", "name": [f"Unit {c}" for c in "ABCDEF"]})
    gaps = availability_gaps(assessments, values, organisations, load_catalogue(), include_caught_up=True)
    assert set(gaps["indicator"]) == {"thrombolysis-rate"}  # thrombolysis-rate-all-admissions has no results
    by_org = gaps.set_index("org_code")
    assert by_org.loc["C", "gap"] == "low uptake" and by_org.loc["C", "periods_below_since_due"] == 2
    assert by_org.loc["D", "gap"] == "no uptake"
    assert by_org.loc["E", "gap"] == "no result" and by_org.loc["F", "gap"] == "no result"
    assert by_org.loc["B", "gap"] == "caught up"
    assert by_org.loc["B", "first_period_at_threshold"] == dt.date(2017, 1, 1)
    assert by_org.loc["C", "due_date"] == dt.date(2016, 8, 30) and by_org.loc["C", "threshold"] == 0.2
    # 2016 ends 31 December 2016, after the due date: it counts
    assert by_org.loc["A", "days_after_due"] == (dt.date(2016, 1, 1) - dt.date(2016, 8, 30)).days
    only_gaps = availability_gaps(assessments, values, organisations, load_catalogue())
    assert set(only_gaps["org_code"]) == {"C", "D", "E", "F"}
    assert list(only_gaps["gap"]) == ["no result", "no result", "no uptake", "low uptake"]
    not_approved = assessments.assign(decision="not-recommended")
    assert availability_gaps(not_approved, values, organisations, load_catalogue()).empty


def test_availability_gap_report_lists_organisations(workflow_engine, tmp_path) -> None:
    engine = mission_workflow(workflow_engine)
    store = small_store(tmp_path / "a.duckdb")
    with session_scope(engine) as session:
        add_assessment(session, ADMIN, **TA264)
        report = availability_gap_report(session, store)
    low = {code for code, (_, numerators) in UNITS.items() if numerators[-1] / 500 < 0.2}
    assert set(report["org_code"]) == low
    assert set(report["gap"]) == {"low uptake"}
