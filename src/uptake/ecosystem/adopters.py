"""Adopters recognised and supported ("Against the odds", Health Foundation 2022; "Delivering innovation the NHS
way"): the adoption and adaptation log, a case library of successful spread, and "who already does this near
me".

- **The log**: what an organisation adopted and when, what it changed to make it work locally, what it cost
  (pounds, as the organisation reports it) and whom to contact.
- **The case library**: organisations that moved from the bottom quartile to the top quartile of an
  indicator's results (``risers``: bottom quarter, by the indicator's polarity, in the first period in which
  at least ``MIN_ORGS`` organisations of the level have a result; top quarter in the latest period), each
  with what the log says they changed; and the log's entries for organisations not among them.
- **Who already does this near me**: for an innovation and an organisation, the organisations of the
  indicator's level that do it: at or beyond the adoption threshold in the latest published period (the
  results), or recorded in the log; with the distance from the organisation (great-circle km between the
  registry's coordinates: the organisation's own, or its nearest ancestor's that has them, as practices and
  PCNs have none), whether each is one of its similar peers (NHS RightCare-style "similar 10", result_peers),
  and when the results first counted it an adopter (result_adoption).
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
from uptake.ecosystem.anchors import FieldProblems, great_circle_km
from uptake.ecosystem.local_records import actor_of, org_exists, require_record
from uptake.store.ecosystem_network_models import AdoptionRecord
from uptake.store.models import Innovation, utcnow
from uptake.store.repository import record_audit

ENTITY = "adoption-record"
#: organisations of a level that must have a result in a period for its quartiles to count
MIN_ORGS = 8
FIELD_LABELS: dict[str, str] = {
    "org_code": "Organisation", "innovation": "Innovation", "adopted_on": "Date adopted", "what": "What was adopted",
    "adaptations": "What was changed to make it work locally", "cost_pounds": "What it cost (pounds)",
    "contact_name": "Contact name", "contact_email": "Contact email",
}
LOG_COLUMNS = ["id", "org_code", "innovation", "adopted_on", "what", "adaptations", "cost_pounds", "contact_name",
               "contact_email", "synthetic", "created_by"]


def check_record(session: Session, form: dict[str, Any], today: dt.date | None = None) -> dict[str, Any]:
    """The log entry a form or API body describes, checked: FieldProblems with every problem at its field."""
    today = today or dt.date.today()
    problems: list[tuple[str, str]] = []
    org = str(form.get("org_code") or "").strip().upper()
    innovation = str(form.get("innovation") or "").strip()
    if not org:
        problems.append(("org_code", "Enter the organisation's code, like RAL"))
    elif len(org) > 64 or not org_exists(session, org):
        problems.append(("org_code", f"There is no current organisation {org[:64]!r}: check the ODS code"))
    if not innovation:
        problems.append(("innovation", "Choose the innovation adopted"))
    elif session.get(Innovation, innovation[:64]) is None:
        problems.append(("innovation", f"There is no innovation {innovation[:64]!r} in the catalogue"))
    day = None
    try:
        day = parse_date(str(form.get("adopted_on") or "").strip())
        if day is None:
            problems.append(("adopted_on", "Enter the date adopted, like 2024-04-01"))
        elif day > today:
            problems.append(("adopted_on", "Date adopted must be today or in the past"))
        elif day < dt.date(1948, 7, 5):
            problems.append(("adopted_on", "Date adopted cannot be before the NHS began (5 July 1948)"))
    except (ValueError, TypeError):
        problems.append(("adopted_on", "Date adopted must be a date like 2024-04-01"))
    texts = {}
    for key, limit in (("what", 2000), ("adaptations", 5000), ("contact_name", 255)):
        value = str(form.get(key) or "").strip()
        if not value:
            problems.append((key, f"Enter {FIELD_LABELS[key][0].lower() + FIELD_LABELS[key][1:]}"))
        elif len(value) > limit:
            problems.append((key, f"{FIELD_LABELS[key]} must be {limit:,} characters or fewer"))
        texts[key] = value
    email = str(form.get("contact_email") or "").strip().lower()
    if not email or "@" not in email or "." not in email.rpartition("@")[2] or len(email) > 320 or " " in email:
        problems.append(("contact_email", "Enter the contact's email address, like name@nhs.net"))
    raw_cost = str(form.get("cost_pounds") if form.get("cost_pounds") is not None else "").strip()
    cost = None
    if raw_cost:
        try:
            cost = float(raw_cost.replace(",", "").replace("£", ""))
            if cost < 0 or math.isnan(cost) or cost > 1e10:
                problems.append(("cost_pounds", "What it cost must be an amount of pounds of 0 or more"))
        except ValueError:
            problems.append(("cost_pounds", "What it cost must be an amount in pounds, like 12500"))
    if problems:  # in the order of the form
        order = list(FIELD_LABELS)
        raise FieldProblems(sorted(problems, key=lambda item: order.index(item[0]) if item[0] in order else 99))
    return {"org_code": org, "innovation": innovation, "adopted_on": day, "cost_pounds": cost,
            "contact_email": email, **texts}


def record_adoption(session: Session, who: Any, form: dict[str, Any], *, synthetic: bool = False,
                    today: dt.date | None = None) -> AdoptionRecord:
    """Check and store a log entry with an audit entry (Refused if the person may not record for the
    organisation; FieldProblems, and nothing saved, if the form is wrong)."""
    checked = check_record(session, form, today=today)
    require_record(session, who, checked["org_code"], "record an adoption")
    row = AdoptionRecord(org_code=checked["org_code"], innovation_id=checked["innovation"],
                         adopted_on=checked["adopted_on"], what=checked["what"], adaptations=checked["adaptations"],
                         cost_pounds=checked["cost_pounds"], contact_name=checked["contact_name"],
                         contact_email=checked["contact_email"], synthetic=synthetic, created_by=actor_of(who),
                         created_at=utcnow())
    session.add(row)
    session.flush()
    record_audit(session, actor_of(who), "adoption-record.add", ENTITY, str(row.id), {
        "org_code": row.org_code, "innovation": row.innovation_id, "adopted_on": row.adopted_on.isoformat(),
        "cost_pounds": row.cost_pounds, "synthetic": synthetic})
    return row


def log_frame(session: Session, *, innovation: str | None = None, org_codes: list[str] | None = None) -> pd.DataFrame:
    query = select(AdoptionRecord).order_by(AdoptionRecord.adopted_on.desc(), AdoptionRecord.id.desc())
    if innovation:
        query = query.where(AdoptionRecord.innovation_id == innovation)
    if org_codes is not None:
        query = query.where(AdoptionRecord.org_code.in_(org_codes))
    rows = [{"id": r.id, "org_code": r.org_code, "innovation": r.innovation_id, "adopted_on": r.adopted_on,
             "what": r.what, "adaptations": r.adaptations, "cost_pounds": r.cost_pounds,
             "contact_name": r.contact_name, "contact_email": r.contact_email, "synthetic": r.synthetic,
             "created_by": r.created_by} for r in session.scalars(query)]
    return pd.DataFrame(rows, columns=LOG_COLUMNS)


# --- the case library --------------------------------------------------------------------------------------


def risers(values: pd.DataFrame, polarity: dict[str, str], min_orgs: int = MIN_ORGS) -> pd.DataFrame:
    """Organisations that moved from the bottom quartile to the top quartile: per indicator and level, the
    first period with at least ``min_orgs`` results and the latest period; percentiles by polarity (0 the
    worst, 100 the best; bottom quartile at most 25, top at least 75). ``values``: indicator, level, org_code,
    org_name, period, value, synthetic."""
    cols = ["indicator", "level", "org_code", "org_name", "first_period", "first_value", "first_percentile",
            "latest_period", "latest_value", "latest_percentile", "gain_points", "synthetic"]
    out = []
    v = values.dropna(subset=["value"])
    for (indicator, level), g in v.groupby(["indicator", "level"], sort=True):
        if level in ("england", "region"):
            continue
        counts = g.groupby("period")["org_code"].nunique()
        enough = counts[counts >= min_orgs]
        if len(enough) < 2:
            continue
        first, latest = enough.index.min(), enough.index.max()
        sign = -1.0 if polarity.get(indicator) == "low-is-good" else 1.0

        def pct(period):
            s = g.loc[g["period"] == period].set_index("org_code")["value"]
            r = (sign * s).rank(method="average")
            return s, 100 * (r - 1) / (len(s) - 1)

        v0, p0 = pct(first)
        v1, p1 = pct(latest)
        rose = p0[p0 <= 25].index.intersection(p1[p1 >= 75].index)
        names = g.drop_duplicates("org_code", keep="last").set_index("org_code")["org_name"]
        synthetic = bool(g["synthetic"].any()) if "synthetic" in g else False
        for code in sorted(rose):
            out.append({"indicator": indicator, "level": level, "org_code": code, "org_name": names.get(code),
                        "first_period": first, "first_value": float(v0[code]), "first_percentile": float(p0[code]),
                        "latest_period": latest, "latest_value": float(v1[code]),
                        "latest_percentile": float(p1[code]),
                        "gain_points": float(sign * (v1[code] - v0[code]) * 100), "synthetic": synthetic})
    return pd.DataFrame(out, columns=cols)


def case_library(rose: pd.DataFrame, log: pd.DataFrame, catalogue: Catalogue) -> pd.DataFrame:
    """Cases of successful spread: each riser (source "results") with the log's entries of the organisation and
    the innovation joined in (what it changed, cost, contact); then each log entry not already shown (source
    "log")."""
    of_innovation = {i.id: i.innovation for i in catalogue.indicators.values()}
    cases = []
    used: set[int] = set()
    for r in rose.to_dict("records"):
        innovation = of_innovation.get(r["indicator"])
        entries = log.loc[(log["org_code"] == r["org_code"]) & (log["innovation"] == innovation)]
        used.update(int(i) for i in entries["id"])
        cases.append({"source": "results", "innovation": innovation, **r,
                      "log_ids": [int(i) for i in entries["id"]],
                      "adaptations": " / ".join(entries["adaptations"]) or None,
                      "what": " / ".join(entries["what"]) or None,
                      "cost_pounds": float(entries["cost_pounds"].sum()) if entries["cost_pounds"].notna().any()
                      else None,
                      "demo": bool(entries["synthetic"].any()) if len(entries) else False})
    for e in log.to_dict("records"):
        if int(e["id"]) in used:
            continue
        cases.append({"source": "log", "innovation": e["innovation"], "indicator": None, "level": None,
                      "org_code": e["org_code"], "org_name": None, "first_period": None, "first_value": None,
                      "first_percentile": None, "latest_period": e["adopted_on"], "latest_value": None,
                      "latest_percentile": None, "gain_points": None, "synthetic": False, "log_ids": [int(e["id"])],
                      "adaptations": e["adaptations"], "what": e["what"], "cost_pounds": e["cost_pounds"],
                      "demo": bool(e["synthetic"])})
    columns = ["source", "innovation", "indicator", "level", "org_code", "org_name", "first_period", "first_value",
               "first_percentile", "latest_period", "latest_value", "latest_percentile", "gain_points", "what",
               "adaptations", "cost_pounds", "log_ids", "synthetic", "demo"]
    return pd.DataFrame(cases, columns=columns)


# --- who already does this near me -----------------------------------------------------------------------------


def choose_indicator(indicators: list[Any], level: str, measured: set[tuple[str, str]]) -> tuple[Any, str]:
    """The indicator to search an innovation by for an organisation of ``level``, and the level to search: one
    measured at the organisation's own level (with results first), else the innovation's first with results.
    ``measured``: (indicator, level) pairs with results."""
    same = [i for i in indicators if level in [lv.value for lv in i.levels]]
    if same:
        return sorted(same, key=lambda i: ((i.id, level) not in measured, i.id))[0], level
    chosen = sorted(indicators, key=lambda i: ((i.id, i.levels[0].value) not in measured, i.id))[0]
    return chosen, chosen.levels[0].value


def located(organisations: pd.DataFrame, links: pd.DataFrame) -> pd.DataFrame:
    """code, lat, lon for every current organisation: its own coordinates, or else those of its nearest
    ancestor that has them (sub-ICB, then ICB, then region). ``organisations``: code, level, lat, lon;
    ``links``: child_code, parent_code, parent_level."""
    own = organisations.set_index("code")[["lat", "lon"]]
    out = own.copy()
    for parent_level in ("pcn", "sub-icb", "icb", "region"):
        missing = out["lat"].isna()
        if not missing.any():
            break
        up = links.loc[links["parent_level"] == parent_level].drop_duplicates("child_code").set_index("child_code")
        parent = up["parent_code"].reindex(out.index[missing])
        coords = own.reindex(parent.to_numpy())
        out.loc[missing, "lat"] = coords["lat"].to_numpy()
        out.loc[missing, "lon"] = coords["lon"].to_numpy()
    return out.reset_index()


def near_me(org_code: str, indicator: str, level: str, values: pd.DataFrame, log: pd.DataFrame,
            places: pd.DataFrame, peers: pd.DataFrame, adoption: pd.DataFrame, *, threshold: float | None,
            polarity: str, innovation: str, max_km: float | None = None, peers_only: bool = False,
            limit: int = 25) -> pd.DataFrame:
    """Who already does ``innovation`` near ``org_code``: organisations of ``level`` at or beyond the adoption
    threshold in the latest period of ``indicator`` (``values``: org_code, org_name, period, value, ci95_low,
    ci95_high, synthetic), or with a log entry for it; nearest first. ``places``: code, lat, lon (``located``);
    ``peers``: org_code, peer_code (the organisation's similar peers); ``adoption``: org_code, first_adopted."""
    cols = ["org_code", "org_name", "distance_km", "similar_peer", "in_results", "in_log", "latest_period",
            "latest_value", "ci95_low", "ci95_high", "first_adopted", "log_ids", "synthetic"]
    v = values.dropna(subset=["value"])
    latest = v.loc[v["period"] == v["period"].max()] if len(v) else v
    if threshold is None:
        doing = latest.iloc[0:0]
    else:
        doing = latest.loc[latest["value"] >= threshold] if polarity != "low-is-good" else \
            latest.loc[latest["value"] <= threshold]
    logged = log.loc[log["innovation"] == innovation]
    codes = sorted((set(doing["org_code"]) | set(logged["org_code"])) - {org_code})
    if not codes:
        return pd.DataFrame(columns=cols)
    found = pd.DataFrame({"org_code": codes})
    similar = set(peers.loc[peers["org_code"] == org_code, "peer_code"])
    found["similar_peer"] = found["org_code"].isin(similar)
    if peers_only:
        found = found.loc[found["similar_peer"]]
    where = places.drop_duplicates("code").set_index("code")[["lat", "lon"]]
    here = where.reindex([org_code])
    there = where.reindex(found["org_code"])
    if len(found) and here["lat"].notna().all():
        found["distance_km"] = np.round(great_circle_km(float(here["lat"].iloc[0]), float(here["lon"].iloc[0]),
                                                        there["lat"].to_numpy(float), there["lon"].to_numpy(float)), 1)
    else:
        found["distance_km"] = np.nan
    if max_km is not None:
        found = found.loc[found["distance_km"].notna() & (found["distance_km"] <= max_km)]
    found = found.sort_values(["distance_km", "org_code"], na_position="last").head(limit)
    shown = set(found["org_code"])
    now = latest.loc[latest["org_code"].isin(shown)].drop_duplicates("org_code").set_index("org_code")
    found["in_results"] = found["org_code"].isin(set(doing["org_code"]))
    found["in_log"] = found["org_code"].isin(set(logged["org_code"]))
    ids = logged.groupby("org_code")["id"].agg(lambda x: [int(i) for i in x]) if len(logged) else pd.Series(dtype=object)
    found["log_ids"] = [ids.get(c, []) for c in found["org_code"]]
    for out, column in (("latest_period", "period"), ("latest_value", "value"), ("ci95_low", "ci95_low"),
                        ("ci95_high", "ci95_high")):
        by_code = now[column].to_dict() if column in now else {}
        found[out] = [by_code.get(c) for c in found["org_code"]]
    synthetic = now["synthetic"].to_dict() if "synthetic" in now else {}
    found["synthetic"] = [bool(synthetic.get(c) or False) for c in found["org_code"]]
    named = v.loc[v["org_code"].isin(shown)] if len(v) else v
    names = named.drop_duplicates("org_code", keep="last").set_index("org_code")["org_name"].to_dict() \
        if len(named) else {}
    found["org_name"] = [names.get(c) for c in found["org_code"]]
    first = adoption.drop_duplicates("org_code").set_index("org_code")["first_adopted"].to_dict() \
        if len(adoption) else {}
    found["first_adopted"] = [first.get(c) for c in found["org_code"]]
    found["distance_km"] = found["distance_km"].astype(object).where(found["distance_km"].notna(), None)
    return found[cols].reset_index(drop=True)
