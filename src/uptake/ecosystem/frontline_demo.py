"""The frontline people's part of ``uptake demo``: the bundled (illustrative) award scheme, SYNTHETIC nominations
of real organisations scored from their real results, a decided round, SYNTHETIC innovation leads with
contributions, and SYNTHETIC time-to-innovate records. Every made-up record is flagged ``synthetic`` and shown
labelled SYNTHETIC; the scores, linked results and uptake beside them are the organisations' real published
results. Runs once per workspace (nothing is added when demo nominations exist)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from uptake.ecosystem import time as tti
from uptake.ecosystem.award import all_nominations, bundled_scheme, decide, load_scheme, nominate, score_nominations
from uptake.ecosystem.leads import add_contribution, add_lead
from uptake.results import read
from uptake.store.ecosystem_award_models import GROUPS, PREFER_NOT, AwardNomination


@dataclass(frozen=True)
class _DemoActor:
    role: str = "national-admin"
    actor: str = "demo@uptake.invalid"
    scope_org_code: str | None = None


DEMO = _DemoActor()
COMMITMENTS = ("stroke/thrombolysis", "cardiovascular-disease/anticoagulation-doacs")


def _spread(frame, n: int) -> list[str]:
    """``n`` organisations spread across the range of values (lowest to highest)."""
    ordered = frame.dropna(subset=["value"]).sort_values(["value", "org_code"])["org_code"].tolist()
    if len(ordered) <= n:
        return ordered
    return [ordered[int(i)] for i in np.linspace(0, len(ordered) - 1, n)]


def seed_frontline(session: Session, cur) -> list[str]:
    lines: list[str] = []
    scheme = bundled_scheme()
    load_scheme(session, DEMO, scheme)
    if session.scalar(select(AwardNomination.id).where(AwardNomination.synthetic.is_(True)).limit(1)) is not None:
        return ["frontline demo records already there"]
    rng = np.random.default_rng(2020)
    weights = {"sex": [0.55, 0.4, 0.01, 0.04], "ethnic_group": [0.2, 0.07, 0.04, 0.63, 0.03, 0.03]}
    nominated = 0
    for commitment in COMMITMENTS:
        framework, _, key = commitment.partition("/")
        rows = read.attainment.attainment(cur, framework=framework, commitment=key)
        if rows.empty:
            continue
        latest = rows[rows["period"] == rows["period"].max()]
        levels = set(latest["level"])
        level = next((lv for lv in ("stroke-unit", "sub-icb", "trust", "icb") if lv in levels), min(levels))
        chosen = _spread(latest[latest["level"] == level], 10)
        names = dict(zip(latest["org_code"], latest["org_name"]))
        for code in chosen:
            groups = {}
            for name, values in GROUPS.items():
                p = weights.get(name)
                groups[name] = str(rng.choice(values, p=p)) if p else str(rng.choice(values))
            if groups["profession"] == PREFER_NOT:
                groups["profession"] = "nurse-or-midwife"
            nominate(session, DEMO, scheme, {
                "nominee_name": f"DEMO team: {names.get(code) or code}", "nominee_kind": "team", "org_code": code,
                "commitment": commitment, **groups,
                "evidence": "SYNTHETIC demo nomination: made up to show the award; the score is from the "
                            "organisation's real published results."}, synthetic=True)
            nominated += 1
    lines.append(f"{nominated} SYNTHETIC award nominations")
    if nominated:
        nominations = all_nominations(session, scheme)
        round_ = decide(session, DEMO, scheme, score_nominations(cur, scheme, nominations), synthetic=True)
        lines.append(f"award round {round_.id}: {sum(1 for d in round_.decisions if d.level)} awarded "
                     f"(£{round_.awarded_pounds:,.0f} of £{round_.budget_pounds:,.0f})")
        units = all_nominations(session, scheme)
        thrombolysis = units[units["commitment"] == "thrombolysis"]["org_code"].tolist()
        leads = 0
        for i, code in enumerate(thrombolysis[-3:]):
            lead = add_lead(session, DEMO, {"org_code": code, "name": f"DEMO lead {i + 1}",
                                            "job_title": "Stroke physician and innovation lead",
                                            "started_on": "2023-04-01"}, synthetic=True)
            add_contribution(session, DEMO, lead.id, {
                "kind": "adopted", "innovation": "thrombolysis", "commitment": "stroke/thrombolysis",
                "description": "SYNTHETIC: adopted a pre-alert pathway with the ambulance service.",
                "occurred_on": "2023-09-01"}, synthetic=True)
            add_contribution(session, DEMO, lead.id, {
                "kind": "adapted", "innovation": "thrombolysis",
                "description": "SYNTHETIC: adapted the door-to-needle protocol for out-of-hours CT.",
                "occurred_on": "2024-01-15"}, synthetic=True)
            if thrombolysis and thrombolysis[0] != code:
                add_contribution(session, DEMO, lead.id, {
                    "kind": "taught", "innovation": "thrombolysis", "commitment": "stroke/thrombolysis",
                    "peer_org_code": thrombolysis[i % max(1, len(thrombolysis) - 3)],
                    "description": "SYNTHETIC: taught a peer unit the protocol over three visits.",
                    "occurred_on": "2024-06-01"}, synthetic=True)
            leads += 1
        lines.append(f"{leads} SYNTHETIC innovation leads with contributions")
    trusts: list[str] = []
    at_trusts = sorted({r["indicator"] for r in read.values.indicator_levels(cur) if r["level"] == "trust"})
    if at_trusts:  # trusts spread across the range of the first trust-level indicator (so uptake varies)
        indicator = at_trusts[0]
        period = read.values.latest_period(cur, indicator, "trust")
        rows, _ = read.values.values(cur, indicator=indicator, level="trust", period=period)
        trusts = _spread(pd.DataFrame([{"org_code": r["org_code"], "value": r["value"]} for r in rows],
                                      columns=["org_code", "value"]), 12)
    year = tti.financial_year(dt.date.today())
    for code in trusts:
        staff = float(rng.integers(2_000, 12_000))
        planned_share = float(rng.choice([5, 10, 20]))
        used_share = round(planned_share * float(rng.uniform(0.4, 1.0)), 1)
        tti.record_time(session, DEMO, {
            "org_code": code, "year_start": year.isoformat(), "staff_fte": str(staff),
            "staff_source": "SYNTHETIC demo figure (not NHS Workforce Statistics)", "planned_share": str(planned_share),
            "planned_hours": "7.5", "used_share": str(used_share), "used_hours": str(round(float(rng.uniform(3, 7.5)), 1))},
            synthetic=True)
    lines.append(f"{len(trusts)} SYNTHETIC time-to-innovate records")
    return lines
