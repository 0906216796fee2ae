"""Barriers to spread, assessed per organisation and innovation (IPPR, The innovation lottery, 2020, section 3,
and the NASSS framework), their trends, and their association with uptake.

An assessment rates the IPPR's three local barriers (a risk-averse culture; the NHS's complexity, few
networks and "not invented here"; a lack of resource) as absent, present or major, and the seven NASSS
domains (Greenhalgh et al. 2017: condition, technology, value proposition, adopters, organisation, wider
system, embedding and adaptation over time) as simple, complicated or complex. An organisation assesses an
innovation it **uses**: its published results for one of the innovation's indicators count at least one
patient or item (numerator above 0 in some period), or the adoption log records it adopting the innovation;
an assessment of an innovation it does not use is refused at the innovation field.

**Trends**: the share of assessments rating each barrier or domain at each level, by calendar year.
**Association with uptake**: each organisation's latest assessment of an innovation beside its uptake
percentile (where its latest value of the innovation's indicator stands among all organisations of its
level, 100 the best by the indicator's polarity), the mean percentile at each level of each barrier, and
Spearman's rank correlation with its 95% interval (Fisher's z, n - 3 degrees). An association, not an
effect: organisations that find a barrier major may differ in other ways.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from uptake.catalogue import Catalogue
from uptake.dates import parse_date
from uptake.ecosystem.anchors import FieldProblems
from uptake.ecosystem.local_records import actor_of, org_exists, require_record
from uptake.results import read
from uptake.store.ecosystem_network_models import (
    BARRIER_LEVELS,
    IPPR_BARRIERS,
    NASSS_DOMAINS,
    NASSS_LEVELS,
    AdoptionRecord,
    BarrierAssessment,
)
from uptake.store.models import Innovation, utcnow
from uptake.store.repository import record_audit

ENTITY = "barrier-assessment"
FACTORS: dict[str, str] = {**IPPR_BARRIERS, **NASSS_DOMAINS}
#: the scale of each factor, lowest first (its ordinal score is the position: 0, 1, 2)
SCALES: dict[str, tuple[str, ...]] = {**{k: BARRIER_LEVELS for k in IPPR_BARRIERS},
                                      **{k: NASSS_LEVELS for k in NASSS_DOMAINS}}
FIELD_LABELS: dict[str, str] = {"org_code": "Organisation", "innovation": "Innovation", "assessed_on": "Date assessed",
                                **FACTORS, "notes": "Notes"}
COLUMNS = ["id", "org_code", "innovation", "assessed_on", *FACTORS, "complexity_score", "notes", "synthetic",
           "created_by"]


def uses_innovation(session: Session, cur: Any | None, catalogue: Catalogue, org_code: str,
                    innovation_id: str) -> bool:
    """Whether the organisation uses the innovation: the adoption log says so, or its published results for an
    indicator of the innovation count at least one (numerator above 0 in some period)."""
    logged = session.scalar(select(AdoptionRecord.id).where(AdoptionRecord.org_code == org_code,
                                                            AdoptionRecord.innovation_id == innovation_id).limit(1))
    if logged is not None:
        return True
    if cur is None or "result_values" not in read.tables(cur):
        return False
    org = read.organisations.organisation(cur, org_code)
    if org is None:
        return False
    for indicator in catalogue.indicators.values():
        if indicator.innovation != innovation_id:
            continue
        for row in read.values.series(cur, indicator.id, org["level"], [org_code]):
            if row["numerator"] is not None and row["numerator"] > 0:
                return True
    return False


def check_assessment(session: Session, cur: Any | None, catalogue: Catalogue, form: dict[str, Any],
                     today: dt.date | None = None) -> dict[str, Any]:
    """The assessment a form or API body describes, checked: FieldProblems with every problem at its field."""
    today = today or dt.date.today()
    problems: list[tuple[str, str]] = []
    org = str(form.get("org_code") or "").strip().upper()
    innovation = str(form.get("innovation") or "").strip()
    if not org:
        problems.append(("org_code", "Enter the organisation's code, like RAL"))
    elif len(org) > 64 or not org_exists(session, org):
        problems.append(("org_code", f"There is no current organisation {org[:64]!r}: check the ODS code"))
        org = ""
    if not innovation:
        problems.append(("innovation", "Choose the innovation assessed"))
    elif session.get(Innovation, innovation[:64]) is None:
        problems.append(("innovation", f"There is no innovation {innovation[:64]!r} in the catalogue"))
        innovation = ""
    if org and innovation and not uses_innovation(session, cur, catalogue, org, innovation):
        problems.append(("innovation", f"{org} does not use {innovation}: its results count none, and the adoption "
                                       "log has no entry for it. Record the adoption first, or choose an innovation "
                                       "it uses"))
    day = None
    try:
        day = parse_date(str(form.get("assessed_on") or "").strip())
        if day is None:
            problems.append(("assessed_on", "Enter the date assessed, like 2025-03-31"))
        elif day > today:
            problems.append(("assessed_on", "Date assessed must be today or in the past"))
    except (ValueError, TypeError):
        problems.append(("assessed_on", "Date assessed must be a date like 2025-03-31"))
    levels: dict[str, str] = {}
    for key, label in FACTORS.items():
        value = str(form.get(key) or "").strip()
        if value not in SCALES[key]:
            problems.append((key, f"{label}: choose {', '.join(SCALES[key])}"))
        levels[key] = value
    notes = str(form.get("notes") or "").strip() or None
    if notes and len(notes) > 5000:
        problems.append(("notes", "Notes must be 5,000 characters or fewer"))
    if problems:  # in the order of the form
        order = list(FIELD_LABELS)
        raise FieldProblems(sorted(problems, key=lambda item: order.index(item[0]) if item[0] in order else 99))
    return {"org_code": org, "innovation": innovation, "assessed_on": day, "notes": notes, **levels}


def record_assessment(session: Session, who: Any, cur: Any | None, catalogue: Catalogue, form: dict[str, Any], *,
                      synthetic: bool = False, today: dt.date | None = None) -> BarrierAssessment:
    """Check and store an assessment, with an audit entry (Refused if the person may not record for the
    organisation; FieldProblems, and nothing saved, if the form is wrong)."""
    checked = check_assessment(session, cur, catalogue, form, today=today)
    require_record(session, who, checked["org_code"], "record a barrier assessment")
    row = BarrierAssessment(org_code=checked["org_code"], innovation_id=checked["innovation"],
                            assessed_on=checked["assessed_on"], notes=checked["notes"], synthetic=synthetic,
                            created_by=actor_of(who), created_at=utcnow(), **{k: checked[k] for k in FACTORS})
    session.add(row)
    session.flush()
    record_audit(session, actor_of(who), "barrier-assessment.add", ENTITY, str(row.id), {
        "org_code": row.org_code, "innovation": row.innovation_id, "assessed_on": row.assessed_on.isoformat(),
        **{k: checked[k] for k in FACTORS}, "synthetic": synthetic})
    return row


def complexity_score(frame: pd.DataFrame) -> pd.Series:
    """The NASSS complexity score of each assessment: 0 per simple, 1 per complicated, 2 per complex domain
    (0 to 14)."""
    return sum(frame[k].map({v: i for i, v in enumerate(NASSS_LEVELS)}) for k in NASSS_DOMAINS)


def assessments_frame(session: Session) -> pd.DataFrame:
    rows = [{"id": a.id, "org_code": a.org_code, "innovation": a.innovation_id, "assessed_on": a.assessed_on,
             **{k: getattr(a, k) for k in FACTORS}, "notes": a.notes, "synthetic": a.synthetic,
             "created_by": a.created_by}
            for a in session.scalars(select(BarrierAssessment).order_by(BarrierAssessment.assessed_on,
                                                                        BarrierAssessment.id))]
    frame = pd.DataFrame(rows, columns=[c for c in COLUMNS if c != "complexity_score"])
    frame.insert(len(FACTORS) + 4, "complexity_score",
                 complexity_score(frame).astype("Int64") if len(frame) else pd.Series(dtype="Int64"))
    return frame


def trends(frame: pd.DataFrame) -> pd.DataFrame:
    """year, factor, label, level, assessments, share: the share of a year's assessments at each level."""
    out = []
    if frame.empty:
        return pd.DataFrame(columns=["year", "factor", "label", "level", "assessments", "of", "share", "synthetic"])
    years = pd.to_datetime(frame["assessed_on"]).dt.year
    for year, g in frame.groupby(years, sort=True):
        for key, label in FACTORS.items():
            counts = g[key].value_counts()
            for level in SCALES[key]:
                n = int(counts.get(level, 0))
                out.append({"year": int(year), "factor": key, "label": label, "level": level, "assessments": n,
                            "of": len(g), "share": n / len(g), "synthetic": bool(g["synthetic"].astype(bool).any())})
    return pd.DataFrame(out)


def uptake_percentiles(values: pd.DataFrame, polarity: dict[str, str]) -> pd.DataFrame:
    """indicator, level, org_code, period, value, percentile (0-100, 100 the best by polarity) in each
    indicator's and level's latest period, from ``values`` (indicator, level, org_code, period, value)."""
    v = values.dropna(subset=["value"])
    if v.empty:
        return pd.DataFrame(columns=["indicator", "level", "org_code", "period", "value", "percentile"])
    latest = v.groupby(["indicator", "level"])["period"].transform("max")
    v = v.loc[v["period"] == latest].copy()
    sign = v["indicator"].map(lambda i: -1.0 if polarity.get(i) == "low-is-good" else 1.0)
    signed = sign * v["value"]
    ranks = signed.groupby([v["indicator"], v["level"]]).rank(method="average")
    n = v.groupby(["indicator", "level"])["value"].transform("count")
    v["percentile"] = np.where(n > 1, 100 * (ranks - 1) / (n - 1).where(n > 1, 1), 100.0)
    return v[["indicator", "level", "org_code", "period", "value", "percentile"]].reset_index(drop=True)


def with_uptake(frame: pd.DataFrame, percentiles: pd.DataFrame, catalogue: Catalogue) -> pd.DataFrame:
    """Each organisation's latest assessment of each innovation with its uptake percentile (the mean over the
    innovation's indicators measured for it)."""
    if frame.empty:
        return frame.assign(uptake_percentile=pd.Series(dtype=float))
    latest = frame.sort_values(["assessed_on", "id"]).groupby(["org_code", "innovation"]).tail(1)
    of_innovation = {i.id: i.innovation for i in catalogue.indicators.values()}
    p = percentiles.assign(innovation=percentiles["indicator"].map(of_innovation))
    mean = p.groupby(["org_code", "innovation"])["percentile"].mean().rename("uptake_percentile")
    return latest.join(mean, on=["org_code", "innovation"]).reset_index(drop=True)


def spearman_interval(x: np.ndarray, y: np.ndarray) -> tuple[float | None, float | None, float | None]:
    """Spearman's rho with its 95% interval by Fisher's z (standard error 1/sqrt(n - 3)); None where n < 4
    or either variable does not vary."""
    n = len(x)
    if n < 4 or np.unique(x).size < 2 or np.unique(y).size < 2:
        return None, None, None
    rx = pd.Series(x).rank().to_numpy()
    ry = pd.Series(y).rank().to_numpy()
    rho = float(np.corrcoef(rx, ry)[0, 1])
    z = math.atanh(max(min(rho, 0.999999), -0.999999))
    half = 1.959963984540054 / math.sqrt(n - 3)
    return rho, math.tanh(z - half), math.tanh(z + half)


def association(joined: pd.DataFrame) -> pd.DataFrame:
    """For each factor: the organisations (with an uptake percentile) and their mean percentile at each level,
    Spearman's rho between the level (0, 1, 2) and the percentile, with its 95% interval."""
    j = joined.dropna(subset=["uptake_percentile"])
    rows = []
    for key, label in {**FACTORS, "complexity_score": "NASSS complexity score (0-14)"}.items():
        if key == "complexity_score":
            score = j["complexity_score"].astype(float).to_numpy() if len(j) else np.array([])
            by_level = {}
        else:
            order = {v: i for i, v in enumerate(SCALES[key])}
            score = j[key].map(order).astype(float).to_numpy() if len(j) else np.array([])
            by_level = {lv: j.loc[j[key] == lv, "uptake_percentile"] for lv in SCALES[key]}
        rho, low, high = spearman_interval(score, j["uptake_percentile"].to_numpy(float)) if len(j) else (None,) * 3
        row = {"factor": key, "label": label, "organisations": len(j), "rho": rho, "rho_low": low, "rho_high": high,
               "synthetic": bool(j["synthetic"].astype(bool).any()) if "synthetic" in j and len(j) else False}
        for i, lv in enumerate(("level_0", "level_1", "level_2")):
            values = list(by_level.values())[i] if by_level else pd.Series(dtype=float)
            row[f"{lv}_n"] = len(values)
            row[f"{lv}_mean_percentile"] = float(values.mean()) if len(values) else None
        rows.append(row)
    return pd.DataFrame(rows)
