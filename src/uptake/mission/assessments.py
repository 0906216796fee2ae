"""Value assessment (IPPR recommendation 3): one central assessment, after which an innovation is due
everywhere.

Records: the innovation, the assessing body, national or local, the decision, the ICER (pounds per QALY)
and the threshold it was judged against, the date, conditions. Once an innovation is approved nationally
(recommended, or recommended for a defined group: "optimised") it is **due everywhere within 90 days**
(the period in which the NHS in England must fund a NICE technology appraisal's recommendation). The
**availability-gap report** lists the organisations with no or low uptake after that date; "low" is below
the indicator's adoption threshold (uptake.catalogue). A **local** assessment of an innovation already
assessed nationally is flagged as a duplicate of the national one (IPPR: local re-assessment "undercuts or
duplicates NICE's work").
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from uptake.catalogue import Catalogue, load_catalogue
from uptake.catalogue.schemas import Polarity
from uptake.errors import UptakeError
from uptake.mission.permissions import Who, assessment_problem, require
from uptake.mission.results import Results, no_results, reading, store_path
from uptake.mission.trajectory import period_end
from uptake.results import read
from uptake.store.mission_models import ASSESSMENT_DECISIONS, ASSESSMENT_SCOPES, ValueAssessment
from uptake.store.models import Innovation, Organisation, utcnow
from uptake.store.repository import record_audit

ENTITY = "value-assessment"
#: decisions that make an innovation available on the NHS
APPROVED = ("recommended", "optimised")
#: days after a national approval by which the innovation must be available everywhere
DUE_DAYS = 90

GAP_COLUMNS = (
    "innovation", "assessment_id", "body", "reference", "decided_on", "due_date", "indicator", "level", "org_code",
    "org_name", "threshold", "latest_period", "latest_value", "gap", "periods_below_since_due",
    "first_period_at_threshold", "days_after_due", "synthetic",
)
#: The columns of result_values the report reads.
GAP_VALUE_INPUTS = ("indicator", "level", "org_code", "org_name", "period", "value", "synthetic")


def due_date(decided_on: dt.date) -> dt.date:
    return decided_on + dt.timedelta(days=DUE_DAYS)


@dataclass(frozen=True)
class AddedAssessment:
    assessment: ValueAssessment
    #: the national assessment a local one duplicates (None if it does not)
    duplicate_of: ValueAssessment | None
    #: local assessments newly flagged because this national one came first
    flagged: list[ValueAssessment]


def add_assessment(
    session: Session,
    who: Who,
    *,
    innovation_id: str,
    body: str,
    scope: str,
    decision: str,
    decided_on: dt.date,
    icer: float | None = None,
    threshold: float | None = None,
    conditions: str | None = None,
    reference: str | None = None,
    org_code: str | None = None,
) -> AddedAssessment:
    """Record an assessment (audited). A local one of an innovation already assessed nationally (on or before
    its date) is flagged as a duplicate; a national one flags the later local ones already recorded."""
    if scope not in ASSESSMENT_SCOPES:
        raise UptakeError(f"scope must be national or local, not {scope!r}")
    if decision not in ASSESSMENT_DECISIONS:
        raise UptakeError(f"decision must be one of {', '.join(ASSESSMENT_DECISIONS)}, not {decision!r}")
    require(assessment_problem(who, scope, org_code), who, f"record a {scope} value assessment")
    if session.get(Innovation, innovation_id) is None:
        raise UptakeError(f"no innovation {innovation_id!r} in the workflow database; see `uptake catalogue list`")
    for name, value in (("icer", icer), ("threshold", threshold)):
        if value is not None and value < 0:
            raise UptakeError(f"{name} is in pounds per QALY and cannot be negative ({value})")
    if scope == "local":
        if not org_code:
            raise UptakeError("a local assessment needs the organisation that made it (org_code)")
        if session.scalar(select(Organisation.code).where(Organisation.code == org_code)) is None:
            raise UptakeError(f"no organisation {org_code!r} in the workflow database")
    elif org_code:
        raise UptakeError("a national assessment has no organisation code")
    if not body.strip():
        raise UptakeError("name the assessing body")
    for name, value, limit in (("body", body, 255), ("reference", reference, 64), ("org_code", org_code, 64)):
        if value is not None and len(value) > limit:
            raise UptakeError(f"{name} is longer than {limit} characters")

    national = None
    if scope == "local":
        national = session.scalar(
            select(ValueAssessment).where(
                ValueAssessment.innovation_id == innovation_id, ValueAssessment.scope == "national",
                ValueAssessment.decided_on <= decided_on,
            ).order_by(ValueAssessment.decided_on.desc(), ValueAssessment.id.desc()).limit(1)
        )
    row = ValueAssessment(
        innovation_id=innovation_id, body=body.strip(), scope=scope, org_code=org_code, decision=decision,
        icer=icer, threshold=threshold, decided_on=decided_on, conditions=conditions, reference=reference,
        duplicate_of_id=national.id if national else None, created_by=who.actor, created_at=utcnow(),
    )
    session.add(row)
    session.flush()
    record_audit(session, who.actor, "assessment.add", ENTITY, str(row.id), {
        "innovation": innovation_id, "scope": scope, "org_code": org_code, "decision": decision,
        "decided_on": decided_on.isoformat(), "icer": icer, "threshold": threshold, "reference": reference,
        "duplicate_of": row.duplicate_of_id,
    })
    flagged: list[ValueAssessment] = []
    if scope == "national":
        for local in session.scalars(select(ValueAssessment).where(
            ValueAssessment.innovation_id == innovation_id, ValueAssessment.scope == "local",
            ValueAssessment.duplicate_of_id.is_(None), ValueAssessment.decided_on >= decided_on,
        )):
            local.duplicate_of_id = row.id
            flagged.append(local)
            record_audit(session, who.actor, "assessment.flag-duplicate", ENTITY, str(local.id),
                         {"duplicate_of": row.id, "innovation": innovation_id})
    session.flush()
    return AddedAssessment(row, national, flagged)


def assessments_frame(session: Session) -> pd.DataFrame:
    """Every assessment, with its due date (national approvals) and whether it is within its threshold."""
    rows = []
    for a in session.scalars(select(ValueAssessment).order_by(ValueAssessment.decided_on, ValueAssessment.id)):
        approved_nationally = a.scope == "national" and a.decision in APPROVED
        rows.append({
            "id": a.id, "innovation": a.innovation_id, "body": a.body, "scope": a.scope, "org_code": a.org_code,
            "decision": a.decision, "icer": a.icer, "threshold": a.threshold,
            "within_threshold": None if a.icer is None or a.threshold is None else a.icer <= a.threshold,
            "decided_on": a.decided_on, "due_date": due_date(a.decided_on) if approved_nationally else None,
            "conditions": a.conditions, "reference": a.reference, "duplicate_of": a.duplicate_of_id,
            "created_by": a.created_by,
        })
    return pd.DataFrame(rows, columns=["id", "innovation", "body", "scope", "org_code", "decision", "icer",
                                       "threshold", "within_threshold", "decided_on", "due_date", "conditions",
                                       "reference", "duplicate_of", "created_by"])


#: What an assessment means now (``assessment_statuses``), in the order a list is read.
ASSESSMENT_STATUSES = {
    "due-everywhere": "due everywhere",
    "due-soon": "approved; not yet due",
    "not-approved": "not approved",
    "duplicate": "duplicates a national assessment",
    "local": "local decision",
}


def assessment_statuses(frame: pd.DataFrame, today: dt.date | None = None) -> pd.DataFrame:
    """``assessments_frame`` with what each assessment means on ``today`` (default: today): ``status`` (a
    key of ASSESSMENT_STATUSES) and ``status_text`` (a sentence). A national approval is due everywhere from
    its due date (90 days after the decision); a national decision that does not approve makes nothing due;
    a local assessment of an innovation already assessed nationally duplicates that assessment."""
    today = today or dt.date.today()
    by_id = frame.set_index("id") if not frame.empty else frame
    statuses, texts = [], []
    for a in frame.itertuples(index=False):
        if a.scope == "national" and a.decision in APPROVED:
            due = a.due_date
            if due <= today:
                statuses.append("due-everywhere")
                texts.append(f"due everywhere since {due.isoformat()}")
            else:
                statuses.append("due-soon")
                texts.append(f"approved; due everywhere by {due.isoformat()}")
        elif a.scope == "national":
            statuses.append("not-approved")
            texts.append(f"{a.decision.replace('-', ' ')}: nothing becomes due")
        elif a.duplicate_of is not None and not pd.isna(a.duplicate_of) and int(a.duplicate_of) in by_id.index:
            national = by_id.loc[int(a.duplicate_of)]
            named = " ".join(str(v) for v in (national["body"], national["reference"]) if _given(v))
            statuses.append("duplicate")
            texts.append(f"duplicates the national assessment {named} of {national['decided_on'].isoformat()}")
        else:
            statuses.append("local")
            texts.append(f"local decision of {a.org_code}")
    return frame.assign(status=statuses, status_text=texts)


def _given(value: Any) -> bool:
    return value is not None and not (isinstance(value, float) and np.isnan(value)) and str(value) != ""


def duplicates(session: Session) -> pd.DataFrame:
    """Local assessments of innovations already assessed nationally, with the national assessment."""
    frame = assessments_frame(session)
    local = frame.loc[frame["duplicate_of"].notna()]
    national = frame.set_index("id")
    return local.assign(
        national_body=[national.loc[int(i), "body"] for i in local["duplicate_of"]],
        national_reference=[national.loc[int(i), "reference"] for i in local["duplicate_of"]],
        national_decided_on=[national.loc[int(i), "decided_on"] for i in local["duplicate_of"]],
    )


# --- the availability gap (pure) ---------------------------------------------------------------------------


def availability_gaps(
    assessments: pd.DataFrame,
    values: pd.DataFrame,
    organisations: pd.DataFrame,
    catalogue: Catalogue,
    *,
    include_caught_up: bool = False,
) -> pd.DataFrame:
    """Organisations with no or low uptake of each nationally approved innovation after its due date.

    assessments: `assessments_frame`. values: result_values rows (indicator, level, org_code, org_name, period,
    value, synthetic). organisations: current organisations (code, level, name). For each approved national
    assessment and each indicator of its innovation that has a direction and an adoption threshold, at the
    indicator's ingest levels: every organisation whose latest result for a period ending after the due date
    is below the threshold ("low uptake"; "no uptake" at zero), or that has no such result ("no result"; an
    indicator with no results at all is left out);
    with `include_caught_up`, also those at or above it ("caught up"), with when they first got there.
    """
    approved = assessments.loc[(assessments["scope"] == "national") & assessments["decision"].isin(APPROVED)]
    parts = []
    for a in approved.itertuples(index=False):
        due = due_date(a.decided_on)
        for indicator in catalogue.indicators.values():
            if indicator.innovation != a.innovation or indicator.adoption_threshold is None:
                continue
            if indicator.polarity == Polarity.NO_JUDGEMENT:
                continue
            high = indicator.polarity == Polarity.HIGH_IS_GOOD
            for level in indicator.levels:
                parts.append(_gap_rows(a, due, indicator, level.value, high, values, organisations))
    frame = pd.concat([p for p in parts if not p.empty], ignore_index=True) if any(not p.empty for p in parts) else (
        pd.DataFrame(columns=list(GAP_COLUMNS)))
    if not include_caught_up:
        frame = frame.loc[frame["gap"] != "caught up"]
    order = {"no result": 0, "no uptake": 1, "low uptake": 2, "caught up": 3}
    frame = frame.assign(_o=frame["gap"].map(order)).sort_values(
        ["innovation", "indicator", "level", "_o", "latest_value", "org_code"], na_position="first", kind="stable")
    return frame.drop(columns="_o")[list(GAP_COLUMNS)].reset_index(drop=True)


def _gap_rows(a: Any, due: dt.date, indicator, level: str, high: bool, values: pd.DataFrame,
              organisations: pd.DataFrame) -> pd.DataFrame:
    orgs = organisations.loc[organisations["level"] == level, ["code", "name"]].rename(
        columns={"code": "org_code", "name": "org_name"})
    rows = values.loc[(values["indicator"] == indicator.id) & (values["level"] == level) & values["value"].notna(),
                      ["org_code", "org_name", "period", "value"]].copy()
    if rows.empty:  # no results loaded for the indicator: nothing to say about uptake
        return pd.DataFrame(columns=list(GAP_COLUMNS))
    rows["period"] = pd.to_datetime(rows["period"])
    rows["end"] = period_end(rows["period"].to_numpy(), indicator.period).to_numpy()
    rows = rows.loc[rows["end"] > pd.Timestamp(due)].sort_values(["org_code", "period"])
    threshold = float(indicator.adoption_threshold)
    rows["at"] = rows["value"] >= threshold if high else rows["value"] <= threshold
    latest = rows.groupby("org_code").tail(1).set_index("org_code")
    below = rows.loc[~rows["at"]].groupby("org_code").size()
    first_at = rows.loc[rows["at"]].groupby("org_code")["period"].min()
    everyone = orgs.merge(latest[["org_name", "period", "value", "end"]].rename(columns={"org_name": "result_name"}),
                          left_on="org_code", right_index=True, how="outer")
    everyone["org_name"] = everyone["org_name"].fillna(everyone["result_name"])
    value = everyone["value"].to_numpy(dtype=float)
    at = np.where(high, value >= threshold, value <= threshold)
    gap = np.select([np.isnan(value), value == 0, ~at], ["no result", "no uptake", "low uptake"], default="caught up")
    first = pd.Series(first_at.reindex(everyone["org_code"]).to_numpy(), index=everyone.index)
    days_after = np.where(
        gap == "caught up",
        (pd.to_datetime(first) - pd.Timestamp(due)).dt.days,
        (pd.to_datetime(everyone["end"]) - pd.Timestamp(due)).dt.days,
    )
    return pd.DataFrame({
        "innovation": a.innovation, "assessment_id": a.id, "body": a.body, "reference": a.reference,
        "decided_on": a.decided_on, "due_date": due, "indicator": indicator.id, "level": level,
        "org_code": everyone["org_code"].to_numpy(), "org_name": everyone["org_name"].to_numpy(),
        "threshold": threshold, "latest_period": pd.to_datetime(everyone["period"]).dt.date.to_numpy(),
        "latest_value": value, "gap": gap,
        "periods_below_since_due": below.reindex(everyone["org_code"]).fillna(0).astype(int).to_numpy(),
        "first_period_at_threshold": pd.to_datetime(first).dt.date.to_numpy(),
        "days_after_due": pd.array(days_after, dtype="Int64"),
        "synthetic": indicator.synthetic,
    })


def availability_gap_report(session: Session, results: Results, *, include_caught_up: bool = False,
                            catalogue: Catalogue | None = None) -> pd.DataFrame:
    """`availability_gaps` over the workflow database's assessments and the pipeline's results (a connection,
    or the store: see uptake.mission.results)."""
    catalogue = catalogue or load_catalogue()
    assessments = assessments_frame(session)
    innovations = set(assessments.loc[assessments["scope"] == "national", "innovation"])
    indicators = [i.id for i in catalogue.indicators.values() if i.innovation in innovations]
    with reading(results) as con:
        if "result_values" not in read.tables(con):
            raise no_results(store_path(results))
        values = read.values.values_frame(con, GAP_VALUE_INPUTS, indicators)
        organisations = read.organisations.current_frame(con, ("code", "level", "name"))
    return availability_gaps(assessments, values, organisations, catalogue, include_caught_up=include_caught_up)
